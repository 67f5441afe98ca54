package agreement

import (
	"fmt"
	"math"
)

// Kappa is a multi-rater kappa with its two ingredients: Value =
// (Observed − Chance)/(1 − Chance), Observed the mean pairwise agreement P̄
// over subjects and Chance the agreement expected by chance P̄_e.
type Kappa struct {
	Value    float64
	Observed float64
	Chance   float64
}

// Fleiss returns Fleiss' kappa for a table laid out subjects × categories:
// counts[i][j] is the number of raters who put subject i in category j.
// Every row must have the same total n ≥ 2 (Fleiss' kappa is not defined
// otherwise: use Alpha when ratings are missing). Chance agreement is
// Σ_j p_j², p_j being category j's share of all ratings, so a category no
// one used has no effect.
//
// Errors: ErrNoPairable (no subjects, or fewer than two raters), ErrLength
// (ragged rows), ErrValue (a negative count), ErrUnequalRaters, and
// ErrNoVariation when every rating falls in one category (Chance = 1).
func Fleiss(counts [][]int) (Kappa, error) {
	pbar, n, err := observedAgreement(counts)
	if err != nil {
		return nanKappa(), fmt.Errorf("fleiss kappa: %w", err)
	}
	total := float64(len(counts)) * float64(n)
	var chance float64
	for j := range counts[0] {
		var col float64
		for i := range counts {
			col += float64(counts[i][j])
		}
		p := col / total
		chance += p * p
	}
	if chance == 1 {
		return nanKappa(), fmt.Errorf("fleiss kappa: every rating is in one category: %w", ErrNoVariation)
	}
	return Kappa{Value: (pbar - chance) / (1 - chance), Observed: pbar, Chance: chance}, nil
}

// Randolph returns Randolph's free-marginal multi-rater kappa for the same
// subjects × categories table as Fleiss. Chance agreement is 1/k, k being
// the number of columns, i.e. the categories of the scheme: an unused
// category column does change this value, unlike Fleiss'. Errors are those
// of Fleiss, with ErrNoVariation for a single-column table.
func Randolph(counts [][]int) (Kappa, error) {
	pbar, _, err := observedAgreement(counts)
	if err != nil {
		return nanKappa(), fmt.Errorf("randolph kappa: %w", err)
	}
	k := len(counts[0])
	if k < 2 {
		return nanKappa(), fmt.Errorf("randolph kappa: %d category: %w", k, ErrNoVariation)
	}
	chance := 1 / float64(k)
	return Kappa{Value: (pbar - chance) / (1 - chance), Observed: pbar, Chance: chance}, nil
}

func nanKappa() Kappa { return Kappa{Value: math.NaN(), Observed: math.NaN(), Chance: math.NaN()} }

// observedAgreement checks the table and returns P̄ = mean over subjects of
// (Σ_j n_ij² − n)/(n(n−1)), and the raters per subject n.
func observedAgreement(counts [][]int) (float64, int, error) {
	if len(counts) == 0 {
		return 0, 0, fmt.Errorf("no subjects: %w", ErrNoPairable)
	}
	k := len(counts[0])
	if k == 0 {
		return 0, 0, fmt.Errorf("no categories: %w", ErrNoPairable)
	}
	n := -1
	var sum float64
	for i, row := range counts {
		if len(row) != k {
			return 0, 0, fmt.Errorf("subject %d has %d categories, subject 0 has %d: %w", i, len(row), k, ErrLength)
		}
		rowTotal, sq := 0, 0
		for j, c := range row {
			if c < 0 {
				return 0, 0, fmt.Errorf("subject %d, category %d: count %d: %w", i, j, c, ErrValue)
			}
			rowTotal += c
			sq += c * c
		}
		if n < 0 {
			n = rowTotal
		} else if rowTotal != n {
			return 0, 0, fmt.Errorf("subject %d has %d ratings, subject 0 has %d: %w", i, rowTotal, n, ErrUnequalRaters)
		}
		sum += float64(sq - n)
	}
	if n < 2 {
		return 0, 0, fmt.Errorf("%d rater per subject: %w", n, ErrNoPairable)
	}
	return sum / (float64(len(counts)) * float64(n) * float64(n-1)), n, nil
}

// CountTable turns coders × units ratings (NaN = missing, the layout of
// Alpha) into the units × categories count table that Fleiss and Randolph
// take: table[u][j] is how many coders gave unit u the value categories[j].
// A value outside categories is an ErrValue; categories must be distinct
// and finite.
func CountTable(data [][]float64, categories []float64) ([][]int, error) {
	index, err := categoryIndex(categories)
	if err != nil {
		return nil, fmt.Errorf("count table: %w", err)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("count table: no coders: %w", ErrNoPairable)
	}
	units := len(data[0])
	table := make([][]int, units)
	for u := range table {
		table[u] = make([]int, len(categories))
	}
	for c, row := range data {
		if len(row) != units {
			return nil, fmt.Errorf("count table: coder %d has %d units, coder 0 has %d: %w", c, len(row), units, ErrLength)
		}
		for u, v := range row {
			if math.IsNaN(v) {
				continue
			}
			j, ok := index[v]
			if !ok {
				return nil, fmt.Errorf("count table: coder %d, unit %d: value %v is not one of the categories %v: %w", c, u, v, categories, ErrValue)
			}
			table[u][j]++
		}
	}
	return table, nil
}

// Weighting is the disagreement weighting of Cohen's kappa. The zero value
// is invalid, so a caller must choose.
type Weighting int

// The weightings. Weights are computed from positions i, j in the ordered
// category list, never from the rating values.
const (
	// Unweighted: w_ij = 1 if i ≠ j, else 0 (plain Cohen's kappa).
	Unweighted Weighting = iota + 1
	// Linear: w_ij = |i − j| (same kappa as SAS's Cicchetti–Allison weights).
	Linear
	// Quadratic: w_ij = (i − j)² (same kappa as SAS's Fleiss–Cohen weights).
	Quadratic
)

var weightingNames = [...]string{Unweighted: "none", Linear: "linear", Quadratic: "quadratic"}

// String returns "none", "linear" or "quadratic", or "Weighting(N)".
func (w Weighting) String() string {
	if w >= Unweighted && w <= Quadratic {
		return weightingNames[w]
	}
	return fmt.Sprintf("Weighting(%d)", int(w))
}

// ParseWeighting returns the Weighting named s: "none" (or "unweighted"),
// "linear" or "quadratic".
func ParseWeighting(s string) (Weighting, error) {
	switch s {
	case "none", "unweighted":
		return Unweighted, nil
	case "linear":
		return Linear, nil
	case "quadratic":
		return Quadratic, nil
	}
	return 0, fmt.Errorf("weighting %q (want none, linear or quadratic): %w", s, ErrWeighting)
}

func (w Weighting) weight(i, j int) float64 {
	d := float64(i - j)
	switch w {
	case Unweighted:
		if i == j {
			return 0
		}
		return 1
	case Linear:
		return math.Abs(d)
	default:
		return d * d
	}
}

// Cohen returns Cohen's kappa between two raters, 1 − Σ w_ij O_ij / Σ w_ij
// E_ij, O being the observed joint distribution and E the product of the
// raters' marginals. a[i] and b[i] are the two raters' values for item i
// (NaN = missing: an item missing either value is dropped, as irr::kappa2
// does with na.omit). categories is the ordered category set, given
// explicitly because weighted kappa depends on it: weights use positions in
// this list, and a category neither rater used still counts.
//
// Errors: ErrWeighting, ErrLength (a and b differ in length), ErrValue (a
// value not in categories; categories not distinct and finite),
// ErrNoPairable (no complete pair) and ErrNoVariation (the expected
// disagreement is 0, e.g. both raters used one and the same category).
func Cohen(a, b []float64, categories []float64, w Weighting) (float64, error) {
	if w < Unweighted || w > Quadratic {
		return math.NaN(), fmt.Errorf("cohen kappa: %v: %w", w, ErrWeighting)
	}
	if len(a) != len(b) {
		return math.NaN(), fmt.Errorf("cohen kappa: rater a has %d items, rater b %d: %w", len(a), len(b), ErrLength)
	}
	index, err := categoryIndex(categories)
	if err != nil {
		return math.NaN(), fmt.Errorf("cohen kappa: %w", err)
	}
	ia, err := categoryPositions(a, index, categories)
	if err != nil {
		return math.NaN(), fmt.Errorf("cohen kappa: rater a: %w", err)
	}
	ib, err := categoryPositions(b, index, categories)
	if err != nil {
		return math.NaN(), fmt.Errorf("cohen kappa: rater b: %w", err)
	}
	return cohenPositions(ia, ib, len(categories), w)
}

// CohenMatrix returns the matrix of pairwise Cohen's kappas between
// annotators, for ratings laid out annotators × items (NaN = missing), the
// layout of Alpha. m[i][j] = Cohen(ratings[i], ratings[j], …), computed on
// the items both rated; the matrix is symmetric. A pair for which kappa is
// undefined (no common item, or no variation) gets NaN rather than an
// error, since that is ordinary in a sparse design; the diagonal is 1
// where an annotator's own kappa is defined. Errors are reserved for bad
// input: ErrWeighting, ErrLength (ragged rows), ErrValue.
func CohenMatrix(ratings [][]float64, categories []float64, w Weighting) ([][]float64, error) {
	if w < Unweighted || w > Quadratic {
		return nil, fmt.Errorf("cohen matrix: %v: %w", w, ErrWeighting)
	}
	index, err := categoryIndex(categories)
	if err != nil {
		return nil, fmt.Errorf("cohen matrix: %w", err)
	}
	pos := make([][]int, len(ratings))
	for i, row := range ratings {
		if len(row) != len(ratings[0]) {
			return nil, fmt.Errorf("cohen matrix: annotator %d has %d items, annotator 0 has %d: %w", i, len(row), len(ratings[0]), ErrLength)
		}
		if pos[i], err = categoryPositions(row, index, categories); err != nil {
			return nil, fmt.Errorf("cohen matrix: annotator %d: %w", i, err)
		}
	}
	m := make([][]float64, len(ratings))
	for i := range m {
		m[i] = make([]float64, len(ratings))
	}
	for i := range pos {
		for j := i; j < len(pos); j++ {
			// Only ErrNoPairable and ErrNoVariation can come back here: the
			// input was checked above, and both mean "undefined".
			k, _ := cohenPositions(pos[i], pos[j], len(categories), w)
			m[i][j], m[j][i] = k, k
		}
	}
	return m, nil
}

// cohenPositions computes kappa from category positions (-1 = missing).
// With counts instead of proportions, κ = 1 − N·Σ w O / Σ w r_i c_j; for
// integer weights every sum is an exact integer in float64.
func cohenPositions(a, b []int, k int, w Weighting) (float64, error) {
	joint := make([]float64, k*k)
	rowM := make([]float64, k)
	colM := make([]float64, k)
	var n float64
	for i := range a {
		if a[i] < 0 || b[i] < 0 {
			continue
		}
		joint[a[i]*k+b[i]]++
		rowM[a[i]]++
		colM[b[i]]++
		n++
	}
	if n == 0 {
		return math.NaN(), fmt.Errorf("cohen kappa: no item rated by both: %w", ErrNoPairable)
	}
	var obs, exp float64
	for i := 0; i < k; i++ {
		for j := 0; j < k; j++ {
			wt := w.weight(i, j)
			obs += wt * joint[i*k+j]
			exp += wt * rowM[i] * colM[j]
		}
	}
	if exp == 0 {
		return math.NaN(), fmt.Errorf("cohen kappa: expected disagreement is 0: %w", ErrNoVariation)
	}
	return 1 - n*obs/exp, nil
}

func categoryIndex(categories []float64) (map[float64]int, error) {
	if len(categories) == 0 {
		return nil, fmt.Errorf("no categories given: %w", ErrValue)
	}
	index := make(map[float64]int, len(categories))
	for j, c := range categories {
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return nil, fmt.Errorf("category %d is %v: %w", j, c, ErrValue)
		}
		if prev, dup := index[c]; dup {
			return nil, fmt.Errorf("categories %d and %d are both %v: %w", prev, j, c, ErrValue)
		}
		index[c] = j
	}
	return index, nil
}

func categoryPositions(vals []float64, index map[float64]int, categories []float64) ([]int, error) {
	pos := make([]int, len(vals))
	for i, v := range vals {
		if math.IsNaN(v) {
			pos[i] = -1
			continue
		}
		j, ok := index[v]
		if !ok {
			return nil, fmt.Errorf("item %d: value %v is not one of the categories %v: %w", i, v, categories, ErrValue)
		}
		pos[i] = j
	}
	return pos, nil
}
