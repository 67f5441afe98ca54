package agreement

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// MaxCoincidenceValues bounds the value domain of Coincidences: the
// matrix has one cell per pair of values.
const MaxCoincidenceValues = 1024

// Coincidences is Krippendorff's coincidence matrix of a set of units over
// a fixed, ordered value domain, accumulated unit by unit with a weight:
// o[c][k] = Σ_u w_u · (number of ordered pairs of values (c, k) within u)
// / (m_u − 1), and the value frequencies n_c = Σ_k o[c][k]. Alpha computed
// from it is Krippendorff's alpha of the units, each counted w_u times, and
// equals AlphaUnits on that data (up to rounding).
//
// It exists so that a bootstrap or a leave-one-out variant costs only the
// distinct units: alpha depends on the units only through this matrix, so
// a caller can group identical units (the few patterns of a Likert scale)
// and add each pattern once with the number of times a resample drew it.
// The zero value is not usable; create one with NewCoincidences.
type Coincidences struct {
	domain []float64
	o      []float64 // V×V, row-major
	n      []float64
	idx    []int // scratch: the domain positions of a unit's values
}

// NewCoincidences returns an empty matrix over domain, which must be
// sorted ascending, distinct and finite, with 1 to MaxCoincidenceValues
// values. Errors: ErrOption (size), ErrValue (order, repeats, NaN or ±Inf).
func NewCoincidences(domain []float64) (*Coincidences, error) {
	if len(domain) == 0 || len(domain) > MaxCoincidenceValues {
		return nil, fmt.Errorf("coincidences: %d domain values, want 1 to %d: %w", len(domain), MaxCoincidenceValues, ErrOption)
	}
	for i, v := range domain {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("coincidences: domain value %d is %v: %w", i, v, ErrValue)
		}
		if i > 0 && v <= domain[i-1] {
			return nil, fmt.Errorf("coincidences: domain value %d (%v) does not follow %v in ascending order without repeats: %w",
				i, v, domain[i-1], ErrValue)
		}
	}
	v := len(domain)
	return &Coincidences{domain: slices.Clone(domain), o: make([]float64, v*v), n: make([]float64, v)}, nil
}

// Reset empties the matrix, keeping its domain.
func (c *Coincidences) Reset() {
	clear(c.o)
	clear(c.n)
}

// Add adds one unit's values (NaN = missing, skipped) with weight w ≥ 0,
// the number of times the unit counts. A unit with fewer than two values
// is not pairable and adds nothing. Errors: ErrOption (w negative or not
// finite), ErrValue (a value outside the domain); the matrix is then
// unchanged.
func (c *Coincidences) Add(unit []float64, w float64) error {
	if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
		return fmt.Errorf("coincidences: weight %v (want a finite number ≥ 0): %w", w, ErrOption)
	}
	c.idx = c.idx[:0]
	for i, v := range unit {
		if math.IsNaN(v) {
			continue
		}
		k := sort.SearchFloat64s(c.domain, v)
		if k == len(c.domain) || c.domain[k] != v {
			return fmt.Errorf("coincidences: value %d (%v) is not in the domain: %w", i, v, ErrValue)
		}
		c.idx = append(c.idx, k)
	}
	m := len(c.idx)
	if m < 2 || w == 0 {
		return nil
	}
	share := w / float64(m-1)
	v := len(c.domain)
	for i, a := range c.idx {
		c.n[a] += w
		for j, b := range c.idx {
			if i != j {
				c.o[a*v+b] += share
			}
		}
	}
	return nil
}

// Pairable returns the weighted number of pairable values, Σ_c n_c.
func (c *Coincidences) Pairable() float64 {
	var s float64
	for _, x := range c.n {
		s += x
	}
	return s
}

// Alpha returns Krippendorff's alpha at level from the matrix:
// 1 − (n−1)·Σ o_ck δ²_ck / Σ n_c n_k δ²_ck, with the ordinal δ built from
// the weighted frequencies n_c. Errors are those of Alpha: ErrLevel,
// ErrValue (a negative value at the Ratio level), ErrNoPairable (nothing
// added) and ErrNoVariation (every pairable value is one and the same),
// each with NaN.
func (c *Coincidences) Alpha(level Level) (float64, error) {
	if !level.valid() {
		return math.NaN(), fmt.Errorf("alpha: %v: %w", level, ErrLevel)
	}
	var used []int
	var n float64
	for k, x := range c.n {
		if x > 0 {
			used = append(used, k)
			n += x
		}
	}
	switch {
	case len(used) == 0:
		return math.NaN(), fmt.Errorf("alpha: no unit has two values: %w", ErrNoPairable)
	case len(used) == 1:
		return math.NaN(), fmt.Errorf("alpha: all pairable values are %v: %w", c.domain[used[0]], ErrNoVariation)
	}
	if level == Ratio && c.domain[used[0]] < 0 {
		return math.NaN(), fmt.Errorf("alpha: value %v is negative, which the ratio level does not allow: %w", c.domain[used[0]], ErrValue)
	}
	// x holds the positions δ is a difference of: the values (interval),
	// or their mid-ranks among the pairable values (ordinal: Krippendorff's
	// δ_ck = Σ_{g=c..k} n_g − (n_c+n_k)/2 is the difference of mid-ranks).
	x := make([]float64, len(used))
	below := 0.0
	for i, k := range used {
		switch level {
		case Ordinal:
			x[i] = below + c.n[k]/2
			below += c.n[k]
		default:
			x[i] = c.domain[k]
		}
	}
	delta2 := func(i, j int) float64 {
		switch level {
		case Nominal:
			return 1
		case Ratio:
			d := (x[i] - x[j]) / (x[i] + x[j])
			return d * d
		default:
			d := x[i] - x[j]
			return d * d
		}
	}
	v := len(c.domain)
	var observed, expected float64
	for i, a := range used {
		for j, b := range used {
			if i == j {
				continue
			}
			d := delta2(i, j)
			observed += c.o[a*v+b] * d
			expected += c.n[a] * c.n[b] * d
		}
	}
	return 1 - (n-1)*observed/expected, nil
}
