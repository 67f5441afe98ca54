package agreement

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// The correlations take two paired samples: x[i] and y[i] belong to the same
// item (a caption's human consensus and its metric score, or a captioner's
// human score and its metric aggregate). A pair with NaN on either side is
// dropped (listwise deletion); ±Inf is an ErrValue. Each returns
// ErrLength when x and y differ in length, ErrNoPairable with fewer than
// two complete pairs, and ErrNoVariation when either variable is constant
// over the complete pairs, every coefficient then being undefined.

// Pearson returns the product-moment correlation of x and y.
func Pearson(x, y []float64) (float64, error) {
	xs, ys, err := completePairs("pearson", x, y)
	if err != nil {
		return math.NaN(), err
	}
	return pearson("pearson", xs, ys)
}

// Spearman returns Spearman's rank correlation: Pearson's correlation of the
// mid-ranks (tied values get the average of the ranks they span). The
// shortcut 1 − 6Σd²/(n(n²−1)) is not used, since it is wrong with ties.
func Spearman(x, y []float64) (float64, error) {
	xs, ys, err := completePairs("spearman", x, y)
	if err != nil {
		return math.NaN(), err
	}
	return pearson("spearman", Ranks(xs), Ranks(ys))
}

func pearson(name string, x, y []float64) (float64, error) {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= n
	my /= n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if constant(x) || constant(y) || sxx == 0 || syy == 0 {
		return math.NaN(), fmt.Errorf("%s: a variable is constant: %w", name, ErrNoVariation)
	}
	r := sxy / math.Sqrt(sxx*syy)
	// Rounding can put a perfect correlation a hair outside [-1, 1].
	return math.Max(-1, math.Min(1, r)), nil
}

func constant(v []float64) bool {
	for _, x := range v {
		if x != v[0] {
			return false
		}
	}
	return true
}

// Ranks returns the mid-ranks of v, 1-based: the smallest value gets 1 and
// tied values share the average of the ranks they span. NaN entries get NaN
// and do not take part.
func Ranks(v []float64) []float64 {
	order := make([]int, 0, len(v))
	for i, x := range v {
		if !math.IsNaN(x) {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(v[a], v[b]) })
	out := make([]float64, len(v))
	for i, x := range v {
		if math.IsNaN(x) {
			out[i] = math.NaN()
		}
	}
	for i := 0; i < len(order); {
		j := i
		for j < len(order) && v[order[j]] == v[order[i]] {
			j++
		}
		r := float64(i+j+1) / 2 // mean of the 1-based ranks i+1 … j
		for _, k := range order[i:j] {
			out[k] = r
		}
		i = j
	}
	return out
}

// KendallStats is what Kendall's tau is made of, over the n0 = n(n−1)/2
// pairs of n complete observations.
type KendallStats struct {
	N          int   // complete pairs used
	Concordant int64 // P: pairs ordered alike by x and y
	Discordant int64 // Q: pairs ordered oppositely
	TiesX      int64 // pairs tied on x only
	TiesY      int64 // pairs tied on y only
	TiesBoth   int64 // pairs tied on both
	// M is min(distinct x values, distinct y values) in the data, tau-c's m.
	M int
	// TauA = (P − Q)/n0, TauB = (P − Q)/√((n0 − n1)(n0 − n2)) with n1, n2
	// the pairs tied on x, on y (both counting TiesBoth), and TauC =
	// 2(P − Q)/(n²(m − 1)/m) (Stuart), as scipy's kendalltau computes them.
	TauA, TauB, TauC float64
}

// Kendall counts concordant, discordant and tied pairs with Knight's
// O(n log n) algorithm and returns tau-a, tau-b and tau-c. Tau-b is the
// usual default (scipy, pandas, R); tau-c is what CLIPScore reports on
// Flickr8K-Expert, and can exceed tau-b when one variable has few levels.
func Kendall(x, y []float64) (KendallStats, error) {
	nan := KendallStats{TauA: math.NaN(), TauB: math.NaN(), TauC: math.NaN()}
	xs, ys, err := completePairs("kendall tau", x, y)
	if err != nil {
		return nan, err
	}
	if constant(xs) || constant(ys) {
		return nan, fmt.Errorf("kendall tau: a variable is constant: %w", ErrNoVariation)
	}
	n := len(xs)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		if c := cmp.Compare(xs[a], xs[b]); c != 0 {
			return c
		}
		return cmp.Compare(ys[a], ys[b])
	})
	var n1, n3 int64 // pairs tied on x; tied on x and y
	distinctX := 0
	for i := 0; i < n; {
		j := i
		for j < n && xs[idx[j]] == xs[idx[i]] {
			j++
		}
		distinctX++
		n1 += pairs(j - i)
		for k := i; k < j; {
			l := k
			for l < j && ys[idx[l]] == ys[idx[k]] {
				l++
			}
			n3 += pairs(l - k)
			k = l
		}
		i = j
	}
	// Sorting by y now: every swap the merge sort makes is a pair that
	// x orders one way and y the other, i.e. a discordant pair (pairs tied
	// on x are already in y order, and equal y values are never swapped).
	yv := make([]float64, n)
	for i, k := range idx {
		yv[i] = ys[k]
	}
	swaps := mergeCount(yv, make([]float64, n))
	var n2 int64
	distinctY := 0
	for i := 0; i < n; {
		j := i
		for j < n && yv[j] == yv[i] {
			j++
		}
		distinctY++
		n2 += pairs(j - i)
		i = j
	}
	n0 := pairs(n)
	s := KendallStats{
		N:          n,
		Discordant: swaps,
		Concordant: n0 - n1 - n2 + n3 - swaps,
		TiesX:      n1 - n3,
		TiesY:      n2 - n3,
		TiesBoth:   n3,
		M:          min(distinctX, distinctY),
	}
	diff := float64(s.Concordant - s.Discordant)
	nf, m := float64(n), float64(s.M)
	s.TauA = diff / float64(n0)
	s.TauB = diff / math.Sqrt(float64(n0-n1)*float64(n0-n2))
	s.TauC = 2 * diff / (nf * nf * (m - 1) / m)
	return s, nil
}

// KendallTauB returns Kendall's tau-b; see Kendall.
func KendallTauB(x, y []float64) (float64, error) {
	s, err := Kendall(x, y)
	return s.TauB, err
}

// KendallTauC returns Stuart's tau-c, m being taken from the data; see
// Kendall.
func KendallTauC(x, y []float64) (float64, error) {
	s, err := Kendall(x, y)
	return s.TauC, err
}

func pairs(n int) int64 { return int64(n) * int64(n-1) / 2 }

// mergeCount sorts v (bottom-up merge sort, stable) and returns the number
// of inversions, pairs i < j with v[i] > v[j].
func mergeCount(v, buf []float64) int64 {
	var inv int64
	n := len(v)
	for width := 1; width < n; width *= 2 {
		for lo := 0; lo < n-width; lo += 2 * width {
			mid, hi := lo+width, min(lo+2*width, n)
			i, j, k := lo, mid, lo
			for i < mid && j < hi {
				if v[i] <= v[j] {
					buf[k] = v[i]
					i++
				} else {
					buf[k] = v[j]
					inv += int64(mid - i)
					j++
				}
				k++
			}
			k += copy(buf[k:], v[i:mid])
			copy(buf[k:], v[j:hi])
			copy(v[lo:hi], buf[lo:hi])
		}
	}
	return inv
}

func completePairs(name string, x, y []float64) ([]float64, []float64, error) {
	if len(x) != len(y) {
		return nil, nil, fmt.Errorf("%s: x has %d values, y %d: %w", name, len(x), len(y), ErrLength)
	}
	xs := make([]float64, 0, len(x))
	ys := make([]float64, 0, len(y))
	for i := range x {
		if math.IsInf(x[i], 0) || math.IsInf(y[i], 0) {
			return nil, nil, fmt.Errorf("%s: pair %d is (%v, %v): %w", name, i, x[i], y[i], ErrValue)
		}
		if math.IsNaN(x[i]) || math.IsNaN(y[i]) {
			continue
		}
		xs = append(xs, x[i])
		ys = append(ys, y[i])
	}
	if len(xs) < 2 {
		return nil, nil, fmt.Errorf("%s: %d complete pairs: %w", name, len(xs), ErrNoPairable)
	}
	return xs, ys, nil
}
