package agreement

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// Level is Krippendorff's level of measurement: it picks the difference
// function δ² that alpha uses. The zero value is deliberately invalid, so a
// caller that forgets to choose gets ErrLevel instead of a silent nominal.
type Level int

// The levels of measurement.
const (
	// Nominal: δ² is 0 for equal values and 1 otherwise.
	Nominal Level = iota + 1
	// Ordinal: δ²_ck = (Σ_{g=c..k} n_g − (n_c+n_k)/2)², n_g being the
	// frequency of value g among the pairable values (Krippendorff's rank
	// metric; not the squared rank difference).
	Ordinal
	// Interval: δ²_ck = (c − k)².
	Interval
	// Ratio: δ²_ck = ((c − k)/(c + k))²; values must not be negative.
	Ratio
)

var levelNames = [...]string{Nominal: "nominal", Ordinal: "ordinal", Interval: "interval", Ratio: "ratio"}

// String returns the level's lower-case name ("nominal", …), or
// "Level(N)" for an invalid one.
func (l Level) String() string {
	if l.valid() {
		return levelNames[l]
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

func (l Level) valid() bool { return l >= Nominal && l <= Ratio }

// ParseLevel returns the Level named s ("nominal", "ordinal", "interval" or
// "ratio", as String writes them).
func ParseLevel(s string) (Level, error) {
	for l := Nominal; l <= Ratio; l++ {
		if levelNames[l] == s {
			return l, nil
		}
	}
	return 0, fmt.Errorf("level %q (want nominal, ordinal, interval or ratio): %w", s, ErrLevel)
}

// Alpha returns Krippendorff's alpha for reliability data laid out coders ×
// units: data[c][u] is coder c's value for unit u, NaN where the coder gave
// none. This is the layout of krippendorff.alpha and R's irr::kripp.alpha
// (statsmodels and irr's kappa functions take the transpose). Every row must
// have the same length. Units with fewer than two values are left out; the
// remaining values are the pairable ones.
//
// The level is required. Errors: ErrLevel, ErrLength (ragged rows),
// ErrValue (±Inf; a negative value at the Ratio level), ErrNoPairable (no
// unit has two values) and ErrNoVariation (all pairable values are equal,
// so the expected disagreement is 0 and alpha undefined); each comes with
// NaN.
func Alpha(data [][]float64, level Level) (float64, error) {
	if !level.valid() {
		return math.NaN(), fmt.Errorf("alpha: %v: %w", level, ErrLevel)
	}
	if len(data) == 0 {
		return math.NaN(), fmt.Errorf("alpha: no coders: %w", ErrNoPairable)
	}
	units := len(data[0])
	for c, row := range data {
		if len(row) != units {
			return math.NaN(), fmt.Errorf("alpha: coder %d has %d units, coder 0 has %d: %w", c, len(row), units, ErrLength)
		}
		for u, v := range row {
			if err := checkAlphaValue(v, level); err != nil {
				return math.NaN(), fmt.Errorf("alpha: coder %d, unit %d: %w", c, u, err)
			}
		}
	}
	var p pairable
	for u := 0; u < units; u++ {
		start := len(p.values)
		for c := range data {
			if v := data[c][u]; !math.IsNaN(v) {
				p.values = append(p.values, v)
			}
		}
		p.closeUnit(start)
	}
	return p.alpha(level)
}

// AlphaUnits is Alpha for data laid out units × values: units[u] holds the
// values unit u received, in any order and from distinct coders (alpha does
// not need to know which coder gave which value). NaN entries are skipped
// as missing. This is the natural form for ratings grouped by item, and for
// a bootstrap over units, which only reorders the outer slice. Errors are
// those of Alpha.
func AlphaUnits(units [][]float64, level Level) (float64, error) {
	if !level.valid() {
		return math.NaN(), fmt.Errorf("alpha: %v: %w", level, ErrLevel)
	}
	var p pairable
	for u, vals := range units {
		start := len(p.values)
		for i, v := range vals {
			if err := checkAlphaValue(v, level); err != nil {
				return math.NaN(), fmt.Errorf("alpha: unit %d, value %d: %w", u, i, err)
			}
			if !math.IsNaN(v) {
				p.values = append(p.values, v)
			}
		}
		p.closeUnit(start)
	}
	return p.alpha(level)
}

func checkAlphaValue(v float64, level Level) error {
	if math.IsInf(v, 0) {
		return fmt.Errorf("value %v: %w", v, ErrValue)
	}
	if level == Ratio && v < 0 {
		return fmt.Errorf("value %v is negative, which the ratio level does not allow: %w", v, ErrValue)
	}
	return nil
}

// pairable holds the values of the units that have at least two, unit after
// unit: unit i is values[ends[i-1]:ends[i]].
type pairable struct {
	values []float64
	ends   []int
}

// closeUnit ends the unit that started at start, dropping it when it has
// fewer than two values.
func (p *pairable) closeUnit(start int) {
	if len(p.values)-start < 2 {
		p.values = p.values[:start]
		return
	}
	p.ends = append(p.ends, len(p.values))
}

// alpha computes 1 − D_o/D_e as 1 − (n−1)·Σ_u S_u/(m_u−1) / S, where S_u is
// the sum of δ² over the ordered pairs of values within unit u and S the sum
// of δ² over all ordered pairs of pairable values. That is the
// coincidence-matrix definition with the matrix never built: for nominal,
// interval and ordinal data both sums have closed forms (counts, or sums of
// squares about the mean), so the cost is O(n log n) whatever the number of
// distinct values. Ratio has no such form and sums over distinct values.
func (p *pairable) alpha(level Level) (float64, error) {
	n := len(p.values)
	if n == 0 {
		return math.NaN(), fmt.Errorf("alpha: no unit has two values: %w", ErrNoPairable)
	}
	// Checked on the values themselves rather than on D_e, which rounding
	// could leave a hair above 0 and turn "undefined" into alpha = 1.
	lo, hi := slices.Min(p.values), slices.Max(p.values)
	if lo == hi {
		return math.NaN(), fmt.Errorf("alpha: all %d pairable values are %v: %w", n, lo, ErrNoVariation)
	}
	vals := p.values
	if level == Ordinal {
		vals = midRanks(p.values)
		level = Interval
	}
	var within, total float64
	start := 0
	for _, end := range p.ends {
		unit := vals[start:end]
		within += pairSum(unit, level) / float64(len(unit)-1)
		start = end
	}
	total = pairSum(vals, level)
	return 1 - float64(n-1)*within/total, nil
}

// smallUnit is the size up to which pairSum compares all pairs directly
// rather than sorting: a unit usually holds a handful of ratings, and a
// sort would cost an allocation per unit.
const smallUnit = 16

// pairSum returns Σ_{i≠j} δ²(v_i, v_j) over the ordered pairs of distinct
// positions of vals.
func pairSum(vals []float64, level Level) float64 {
	m := float64(len(vals))
	switch level {
	case Interval:
		// Σ_{i≠j} (v_i − v_j)² = 2m Σ (v_i − v̄)². Shifting by the first
		// value first keeps a unit of equal values at exactly 0.
		var mean float64
		for _, v := range vals {
			mean += v - vals[0]
		}
		mean /= m
		var ss float64
		for _, v := range vals {
			d := v - vals[0] - mean
			ss += d * d
		}
		return 2 * m * ss
	case Nominal:
		if len(vals) <= smallUnit {
			var differ float64
			for i := range vals {
				for j := i + 1; j < len(vals); j++ {
					if vals[i] != vals[j] {
						differ += 2
					}
				}
			}
			return differ
		}
		// Σ_{i≠j} 1[v_i ≠ v_j] = m² − Σ_c m_c².
		sorted := sortedCopy(vals)
		same := 0.0
		for i := 0; i < len(sorted); {
			j := i
			for j < len(sorted) && sorted[j] == sorted[i] {
				j++
			}
			same += float64((j - i) * (j - i))
			i = j
		}
		return m*m - same
	default: // Ratio
		if len(vals) <= smallUnit {
			var s float64
			for i := range vals {
				for j := i + 1; j < len(vals); j++ {
					if vals[i] != vals[j] {
						d := (vals[i] - vals[j]) / (vals[i] + vals[j])
						s += 2 * d * d
					}
				}
			}
			return s
		}
		sorted := sortedCopy(vals)
		var distinct, counts []float64
		for i := 0; i < len(sorted); {
			j := i
			for j < len(sorted) && sorted[j] == sorted[i] {
				j++
			}
			distinct = append(distinct, sorted[i])
			counts = append(counts, float64(j-i))
			i = j
		}
		var s float64
		for a := range distinct {
			for b := a + 1; b < len(distinct); b++ {
				d := (distinct[a] - distinct[b]) / (distinct[a] + distinct[b])
				s += counts[a] * counts[b] * d * d
			}
		}
		return 2 * s
	}
}

// midRanks maps each value to its mid-rank among vals: the number of values
// below it plus half its own frequency. Krippendorff's ordinal δ_ck is the
// difference of these mid-ranks (Σ_{g=c..k} n_g − (n_c+n_k)/2 = r_k − r_c),
// so ordinal alpha is interval alpha on them.
func midRanks(vals []float64) []float64 {
	sorted := sortedCopy(vals)
	var distinct, rank []float64
	for i := 0; i < len(sorted); {
		j := i
		for j < len(sorted) && sorted[j] == sorted[i] {
			j++
		}
		distinct = append(distinct, sorted[i])
		rank = append(rank, float64(i)+float64(j-i)/2)
		i = j
	}
	out := make([]float64, len(vals))
	for i, v := range vals {
		out[i] = rank[sort.SearchFloat64s(distinct, v)]
	}
	return out
}

func sortedCopy(vals []float64) []float64 {
	s := slices.Clone(vals)
	slices.Sort(s)
	return s
}
