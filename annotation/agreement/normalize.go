package agreement

import (
	"fmt"
	"math"
	"slices"
)

// Normalization is how a leaderboard column (one source's score per
// captioner) is put on a common scale before blending. The zero value is
// invalid.
type Normalization int

// The normalizations. Each ignores NaN (missing) entries, which stay NaN,
// and is undefined (ErrNoVariation) on a column whose present values are
// all equal: such a source cannot order the captioners.
const (
	// ZScore: (x − mean)/sd with the population standard deviation (divide
	// by n): the column is standardized as it stands, not as a sample.
	ZScore Normalization = iota + 1
	// MinMax: (x − min)/(max − min), in [0, 1].
	MinMax
	// Rank: (rank − 1)/(n − 1) with mid-ranks for ties, in [0, 1]; the
	// highest value gets 1. Robust to outliers, blind to distances.
	Rank
)

var normalizationNames = [...]string{ZScore: "zscore", MinMax: "minmax", Rank: "rank"}

// String returns "zscore", "minmax" or "rank", or "Normalization(N)".
func (n Normalization) String() string {
	if n >= ZScore && n <= Rank {
		return normalizationNames[n]
	}
	return fmt.Sprintf("Normalization(%d)", int(n))
}

// ParseNormalization returns the Normalization named s, as String writes it.
func ParseNormalization(s string) (Normalization, error) {
	for n := ZScore; n <= Rank; n++ {
		if normalizationNames[n] == s {
			return n, nil
		}
	}
	return 0, fmt.Errorf("normalization %q (want zscore, minmax or rank): %w", s, ErrOption)
}

// Normalize returns a normalized copy of x (one value per captioner; NaN =
// missing). Errors: ErrOption (how), ErrValue (±Inf), ErrNoPairable (fewer
// than two present values), ErrNoVariation (present values all equal).
func Normalize(x []float64, how Normalization) ([]float64, error) {
	if how < ZScore || how > Rank {
		return nil, fmt.Errorf("normalize: %v: %w", how, ErrOption)
	}
	var present []float64
	for i, v := range x {
		if math.IsInf(v, 0) {
			return nil, fmt.Errorf("normalize: value %d is %v: %w", i, v, ErrValue)
		}
		if !math.IsNaN(v) {
			present = append(present, v)
		}
	}
	if len(present) < 2 {
		return nil, fmt.Errorf("normalize: %d present values: %w", len(present), ErrNoPairable)
	}
	lo, hi := slices.Min(present), slices.Max(present)
	if lo == hi {
		return nil, fmt.Errorf("normalize: every value is %v: %w", lo, ErrNoVariation)
	}
	out := make([]float64, len(x))
	switch how {
	case ZScore:
		var mean, ss float64
		for _, v := range present {
			mean += v
		}
		mean /= float64(len(present))
		for _, v := range present {
			ss += (v - mean) * (v - mean)
		}
		sd := math.Sqrt(ss / float64(len(present)))
		for i, v := range x {
			out[i] = (v - mean) / sd
		}
	case MinMax:
		for i, v := range x {
			out[i] = (v - lo) / (hi - lo)
		}
	case Rank:
		r := Ranks(x)
		for i := range x {
			out[i] = (r[i] - 1) / float64(len(present)-1)
		}
	}
	return out, nil
}

// Blend returns the weighted mean of normalized columns laid out sources ×
// captioners: blended[c] = Σ_s w_s·columns[s][c] / Σ_s w_s. Only the
// weights' ratios matter. A weight of 0 removes its source entirely (its
// values may then be anything, NaN included); a captioner missing (NaN)
// in a source of positive weight gets NaN rather than a blend of the rest,
// which would silently reweigh it. Errors: ErrLength (a weight per column,
// columns of equal length), ErrOption (a negative or non-finite weight, or
// no positive weight), ErrValue (±Inf in a column of positive weight).
func Blend(columns [][]float64, weights []float64) ([]float64, error) {
	if len(weights) != len(columns) {
		return nil, fmt.Errorf("blend: %d weights for %d columns: %w", len(weights), len(columns), ErrLength)
	}
	var total float64
	for s, w := range weights {
		if !(w >= 0) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("blend: weight %d is %v (want a finite number ≥ 0): %w", s, w, ErrOption)
		}
		total += w
		if len(columns[s]) != len(columns[0]) {
			return nil, fmt.Errorf("blend: column %d has %d values, column 0 has %d: %w", s, len(columns[s]), len(columns[0]), ErrLength)
		}
	}
	if total == 0 {
		return nil, fmt.Errorf("blend: every weight is 0: %w", ErrOption)
	}
	out := make([]float64, len(columns[0]))
	for s, col := range columns {
		if weights[s] == 0 {
			continue
		}
		for c, v := range col {
			if math.IsInf(v, 0) {
				return nil, fmt.Errorf("blend: column %d, captioner %d is %v: %w", s, c, v, ErrValue)
			}
			out[c] += weights[s] * v
		}
	}
	for c := range out {
		out[c] /= total
	}
	return out, nil
}
