package agreement

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// bruteKendall classifies all n(n−1)/2 pairs one by one.
func bruteKendall(x, y []float64) (p, q, tx, ty, tb int64) {
	for i := range x {
		for j := i + 1; j < len(x); j++ {
			dx, dy := x[i]-x[j], y[i]-y[j]
			switch {
			case dx == 0 && dy == 0:
				tb++
			case dx == 0:
				tx++
			case dy == 0:
				ty++
			case (dx > 0) == (dy > 0):
				p++
			default:
				q++
			}
		}
	}
	return
}

func distinct(v []float64) int {
	s := slices.Clone(v)
	slices.Sort(s)
	return len(slices.Compact(s))
}

func TestKendallMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for trial := 0; trial < 300; trial++ {
		n := 2 + r.IntN(60)
		lx, ly := 1+r.IntN(8), 1+r.IntN(30)
		x, y := make([]float64, n), make([]float64, n)
		for i := range x {
			x[i] = float64(r.IntN(lx))
			y[i] = float64(r.IntN(ly)) + 0.5*x[i]
		}
		s, err := Kendall(x, y)
		if constant(x) || constant(y) {
			if !errors.Is(err, ErrNoVariation) {
				t.Fatalf("constant input: %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		p, q, tx, ty, tb := bruteKendall(x, y)
		if s.Concordant != p || s.Discordant != q || s.TiesX != tx || s.TiesY != ty || s.TiesBoth != tb {
			t.Fatalf("n=%d: got P=%d Q=%d tx=%d ty=%d tb=%d, brute force %d %d %d %d %d",
				n, s.Concordant, s.Discordant, s.TiesX, s.TiesY, s.TiesBoth, p, q, tx, ty, tb)
		}
		n0 := float64(n * (n - 1) / 2)
		n1, n2 := float64(tx+tb), float64(ty+tb)
		m := float64(min(distinct(x), distinct(y)))
		wantB := float64(p-q) / math.Sqrt((n0-n1)*(n0-n2))
		wantC := 2 * float64(p-q) / (float64(n*n) * (m - 1) / m)
		if math.Abs(s.TauB-wantB) > 1e-12 || math.Abs(s.TauC-wantC) > 1e-12 {
			t.Fatalf("tau-b %v, tau-c %v; want %v, %v", s.TauB, s.TauC, wantB, wantC)
		}
	}
}

func TestCorrelationProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	n := 40
	x, y := make([]float64, n), make([]float64, n)
	for i := range x {
		x[i] = float64(r.IntN(5))
		y[i] = x[i] + r.NormFloat64()
	}
	type coef struct {
		name string
		f    func(x, y []float64) (float64, error)
	}
	all := []coef{{"pearson", Pearson}, {"spearman", Spearman}, {"tau-b", KendallTauB}, {"tau-c", KendallTauC}}
	mapped := func(v []float64, f func(float64) float64) []float64 {
		out := make([]float64, len(v))
		for i := range v {
			out[i] = f(v[i])
		}
		return out
	}
	for _, c := range all {
		base, err := c.f(x, y)
		if err != nil {
			t.Fatal(err)
		}
		checks := []struct {
			what      string
			got, want float64
		}{
			{"symmetry", must(c.f(y, x)), base},
			{"positive affine map", must(c.f(mapped(x, func(v float64) float64 { return 3*v + 1 }), y)), base},
			{"negation", must(c.f(mapped(x, func(v float64) float64 { return -v }), y)), -base},
		}
		// Tau-c stays below 1 in magnitude when there are ties (x has 5
		// levels for 40 values), by design.
		if c.name != "tau-c" {
			checks = append(checks, []struct {
				what      string
				got, want float64
			}{
				{"perfect", must(c.f(x, x)), 1},
				{"perfect inverse", must(c.f(x, mapped(x, func(v float64) float64 { return -2 * v }))), -1},
			}...)
		}
		if c.name != "pearson" { // rank statistics ignore monotone maps
			checks = append(checks, struct {
				what      string
				got, want float64
			}{"monotone map", must(c.f(mapped(x, math.Exp), y)), base})
		}
		for _, ch := range checks {
			if math.Abs(ch.got-ch.want) > 1e-12 {
				t.Errorf("%s, %s: %v, want %v", c.name, ch.what, ch.got, ch.want)
			}
		}
		// A missing value on either side drops the pair.
		xm, ym := slices.Clone(x), slices.Clone(y)
		xm[3], ym[7] = nan, nan
		keep := func(v []float64) []float64 {
			var out []float64
			for i := range v {
				if i != 3 && i != 7 {
					out = append(out, v[i])
				}
			}
			return out
		}
		if got, want := must(c.f(xm, ym)), must(c.f(keep(x), keep(y))); got != want {
			t.Errorf("%s with NaN: %v, on the complete pairs %v", c.name, got, want)
		}
		for name, tt := range map[string]struct {
			x, y []float64
			want error
		}{
			"lengths":       {[]float64{1, 2, 3}, []float64{1, 2}, ErrLength},
			"one pair":      {[]float64{1, nan}, []float64{1, 2}, ErrNoPairable},
			"empty":         {nil, nil, ErrNoPairable},
			"infinite":      {[]float64{1, math.Inf(1)}, []float64{1, 2}, ErrValue},
			"constant":      {[]float64{1, 2, 3}, []float64{4, 4, 4}, ErrNoVariation},
			"constant left": {[]float64{0.1, 0.1, 0.1}, []float64{1, 2, 3}, ErrNoVariation},
		} {
			got, err := c.f(tt.x, tt.y)
			if !errors.Is(err, tt.want) || !math.IsNaN(got) {
				t.Errorf("%s, %s: %v, %v; want NaN, %v", c.name, name, got, err, tt.want)
			}
		}
	}
}

func must(v float64, err error) float64 {
	if err != nil {
		return math.NaN()
	}
	return v
}

func TestRanks(t *testing.T) {
	got := Ranks([]float64{10, 20, nan, 20, 5, 20})
	want := []float64{2, 4, nan, 4, 1, 4}
	for i := range want {
		if got[i] != want[i] && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
			t.Fatalf("Ranks = %v, want %v", got, want)
		}
	}
}

func TestMergeCount(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for n := 0; n < 70; n++ {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(r.IntN(10))
		}
		var want int64
		for i := range v {
			for j := i + 1; j < n; j++ {
				if v[i] > v[j] {
					want++
				}
			}
		}
		if got := mergeCount(v, make([]float64, n)); got != want || !slices.IsSorted(v) {
			t.Fatalf("n=%d: %d inversions, want %d; sorted %v", n, got, want, slices.IsSorted(v))
		}
	}
}
