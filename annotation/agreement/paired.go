package agreement

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Paired holds a paired sample prepared for the bootstrap: the complete
// pairs of x and y sorted once, so that Pearson, Spearman and Kendall's
// tau-b and tau-c of any reweighting of the pairs (a resample drawing pair
// i w_i times) cost O(n log m) instead of a sort per resample, m being the
// number of distinct y values. Correlations(w) equals Pearson, Spearman
// and Kendall on the data with pair i repeated w_i times (up to rounding).
type Paired struct {
	x, y   []float64
	byX    []int32 // pair indices by x (then y)
	byY    []int32 // pair indices by y
	xGroup []int32 // per position of byX: the first position of its x tie group
	yGroup []int32
	yRank  []int32 // per pair: the dense rank of its y among the distinct y
	ny     int
}

// NewPaired prepares x and y (listwise deletion of NaN pairs, as the
// correlations do). Errors: ErrLength, ErrValue (±Inf).
func NewPaired(x, y []float64) (*Paired, error) {
	if len(x) != len(y) {
		return nil, fmt.Errorf("paired: x has %d values, y %d: %w", len(x), len(y), ErrLength)
	}
	p := &Paired{}
	for i := range x {
		if math.IsInf(x[i], 0) || math.IsInf(y[i], 0) {
			return nil, fmt.Errorf("paired: pair %d is (%v, %v): %w", i, x[i], y[i], ErrValue)
		}
		if !math.IsNaN(x[i]) && !math.IsNaN(y[i]) {
			p.x, p.y = append(p.x, x[i]), append(p.y, y[i])
		}
	}
	n := len(p.x)
	p.byX, p.byY = make([]int32, n), make([]int32, n)
	for i := range n {
		p.byX[i], p.byY[i] = int32(i), int32(i)
	}
	slices.SortFunc(p.byX, func(a, b int32) int { return cmp.Or(cmp.Compare(p.x[a], p.x[b]), cmp.Compare(p.y[a], p.y[b])) })
	slices.SortFunc(p.byY, func(a, b int32) int { return cmp.Compare(p.y[a], p.y[b]) })
	p.xGroup, p.yGroup = make([]int32, n), make([]int32, n)
	p.yRank = make([]int32, n)
	for k := range n {
		if k > 0 && p.x[p.byX[k]] == p.x[p.byX[k-1]] {
			p.xGroup[k] = p.xGroup[k-1]
		} else {
			p.xGroup[k] = int32(k)
		}
		if k > 0 && p.y[p.byY[k]] == p.y[p.byY[k-1]] {
			p.yGroup[k] = p.yGroup[k-1]
			p.yRank[p.byY[k]] = p.yRank[p.byY[k-1]]
		} else {
			p.yGroup[k] = int32(k)
			if k > 0 {
				p.yRank[p.byY[k]] = p.yRank[p.byY[k-1]] + 1
			}
			p.ny++
		}
	}
	return p, nil
}

// Len returns the number of complete pairs.
func (p *Paired) Len() int { return len(p.x) }

// PairedCorrelations are the four coefficients of a weighted paired
// sample; each is NaN where undefined.
type PairedCorrelations struct {
	Pearson, Spearman, TauB, TauC float64
}

// Correlations returns the coefficients of the sample in which complete
// pair i counts w[i] times (w indexes the complete pairs, in their order
// in x and y; nil means once each). Weights are counts: whole numbers ≥ 0.
// A coefficient that is undefined on the reweighted sample (fewer than two
// pairs, a constant variable) is NaN. Errors: ErrLength (w), ErrValue (a
// negative or fractional weight).
func (p *Paired) Correlations(w []float64) (PairedCorrelations, error) {
	nan := math.NaN()
	out := PairedCorrelations{nan, nan, nan, nan}
	n := len(p.x)
	if w == nil {
		w = make([]float64, n)
		for i := range w {
			w[i] = 1
		}
	}
	if len(w) != n {
		return out, fmt.Errorf("paired: %d weights for %d pairs: %w", len(w), n, ErrLength)
	}
	var total float64
	for i, x := range w {
		if x < 0 || x != math.Trunc(x) {
			return out, fmt.Errorf("paired: weight %d is %v (want a whole number ≥ 0): %w", i, x, ErrValue)
		}
		total += x
	}
	if total < 2 {
		return out, nil
	}
	out.Pearson = weightedPearson(p.x, p.y, w, total)
	// Weighted mid-ranks: within a tie group of weight W after C, every
	// copy has rank C + (W + 1)/2.
	rx, ry := make([]float64, n), make([]float64, n)
	midRanks := func(order, group []int32, r []float64) (distinct int) {
		var before float64
		for k := 0; k < n; {
			e := k
			var gw float64
			for e < n && group[e] == group[k] {
				gw += w[order[e]]
				e++
			}
			for q := k; q < e; q++ {
				r[order[q]] = before + (gw+1)/2
			}
			if gw > 0 {
				distinct++
			}
			before += gw
			k = e
		}
		return distinct
	}
	mx := midRanks(p.byX, p.xGroup, rx)
	my := midRanks(p.byY, p.yGroup, ry)
	out.Spearman = weightedPearson(rx, ry, w, total)
	// Kendall: S = Σ over pairs of copies w_i w_j sign(Δx) sign(Δy), by x
	// group in ascending order with a Fenwick tree of the weights of the
	// earlier groups by y rank.
	tree := make([]float64, p.ny+1)
	add := func(i int, v float64) {
		for i++; i <= p.ny; i += i & -i {
			tree[i] += v
		}
	}
	below := func(i int) float64 { // weight with y rank < i
		var s float64
		for ; i > 0; i -= i & -i {
			s += tree[i]
		}
		return s
	}
	var s, seen, tiesX float64
	for k := 0; k < n; {
		e := k
		var gw float64
		for e < n && p.xGroup[e] == p.xGroup[k] {
			i := p.byX[e]
			if w[i] > 0 {
				r := int(p.yRank[i])
				lo := below(r)
				hi := seen - below(r+1)
				s += w[i] * (lo - hi)
				gw += w[i]
			}
			e++
		}
		for q := k; q < e; q++ {
			if i := p.byX[q]; w[i] > 0 {
				add(int(p.yRank[i]), w[i])
			}
		}
		seen += gw
		tiesX += gw * (gw - 1) / 2
		k = e
	}
	var tiesY float64
	for k := 0; k < n; {
		e := k
		var gw float64
		for e < n && p.yGroup[e] == p.yGroup[k] {
			gw += w[p.byY[e]]
			e++
		}
		tiesY += gw * (gw - 1) / 2
		k = e
	}
	n0 := total * (total - 1) / 2
	if d := (n0 - tiesX) * (n0 - tiesY); d > 0 {
		out.TauB = s / math.Sqrt(d)
	}
	if m := float64(min(mx, my)); m > 1 {
		out.TauC = 2 * s / (total * total * (m - 1) / m)
	}
	return out, nil
}

// weightedPearson is Pearson's correlation of x and y with pair i counted
// w[i] times; NaN when a variable is constant.
func weightedPearson(x, y, w []float64, total float64) float64 {
	var mx, my float64
	for i, wi := range w {
		mx += wi * x[i]
		my += wi * y[i]
	}
	mx /= total
	my /= total
	var sxy, sxx, syy float64
	for i, wi := range w {
		if wi == 0 {
			continue
		}
		dx, dy := x[i]-mx, y[i]-my
		sxy += wi * dx * dy
		sxx += wi * dx * dx
		syy += wi * dy * dy
	}
	if !(sxx > 0) || !(syy > 0) {
		return math.NaN()
	}
	return math.Max(-1, math.Min(1, sxy/math.Sqrt(sxx*syy)))
}
