package agreement

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestFleissRandolphHandValues(t *testing.T) {
	tests := []struct {
		name              string
		counts            [][]int
		fleiss, randolph  float64
		observed, fChance float64
	}{
		{"perfect", [][]int{{2, 0}, {0, 2}}, 1, 1, 1, 0.5},
		// Each subject split 1–1: P_i = 0.
		{"every subject split", [][]int{{1, 1}, {1, 1}}, -1, -1, 0, 0.5},
		// P_i = (4+1−3)/6 = 1/3; p = (1/2, 1/2).
		{"three raters, two categories", [][]int{{2, 1}, {1, 2}}, -1.0 / 3, -1.0 / 3, 1.0 / 3, 0.5},
		// The same with an unused third category: Fleiss unchanged,
		// Randolph's chance agreement falls to 1/3.
		{"unused category", [][]int{{2, 1, 0}, {1, 2, 0}}, -1.0 / 3, 0, 1.0 / 3, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Fleiss(tt.counts)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Randolph(tt.counts)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				what      string
				got, want float64
			}{
				{"fleiss", f.Value, tt.fleiss}, {"randolph", r.Value, tt.randolph},
				{"P̄", f.Observed, tt.observed}, {"randolph P̄", r.Observed, tt.observed},
				{"fleiss P̄_e", f.Chance, tt.fChance}, {"randolph P̄_e", r.Chance, 1 / float64(len(tt.counts[0]))},
			} {
				if math.Abs(c.got-c.want) > 1e-12 {
					t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
				}
			}
		})
	}
}

func TestFleissErrors(t *testing.T) {
	tests := []struct {
		name   string
		counts [][]int
		want   error
	}{
		{"no subjects", nil, ErrNoPairable},
		{"no categories", [][]int{{}}, ErrNoPairable},
		{"ragged", [][]int{{1, 1}, {2}}, ErrLength},
		{"negative count", [][]int{{3, -1}, {1, 1}}, ErrValue},
		{"unequal raters", [][]int{{1, 1}, {2, 1}}, ErrUnequalRaters},
		{"one rater", [][]int{{1, 0}, {0, 1}}, ErrNoPairable},
		{"one category used", [][]int{{3, 0}, {3, 0}}, ErrNoVariation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := Fleiss(tt.counts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !math.IsNaN(k.Value) {
				t.Errorf("kappa = %v with an error", k.Value)
			}
		})
	}
	if _, err := Randolph([][]int{{3}, {3}}); !errors.Is(err, ErrNoVariation) {
		t.Errorf("Randolph with one category: %v", err)
	}
	if _, err := Randolph([][]int{{1, 1}, {2, 1}}); !errors.Is(err, ErrUnequalRaters) {
		t.Errorf("Randolph unequal raters: %v", err)
	}
}

func TestCountTable(t *testing.T) {
	data := [][]float64{{1, 2, nan}, {1, 3, 2}, {2, 3, 2}}
	got, err := CountTable(data, []float64{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int{{2, 1, 0}, {0, 1, 2}, {0, 2, 0}}
	for u := range want {
		for j := range want[u] {
			if got[u][j] != want[u][j] {
				t.Fatalf("CountTable = %v, want %v", got, want)
			}
		}
	}
	for name, c := range map[string]struct {
		data [][]float64
		cats []float64
		want error
	}{
		"value outside categories": {[][]float64{{1, 4}}, []float64{1, 2, 3}, ErrValue},
		"ragged":                   {[][]float64{{1, 2}, {1}}, []float64{1, 2}, ErrLength},
		"duplicate category":       {[][]float64{{1}}, []float64{1, 1}, ErrValue},
		"no categories":            {[][]float64{{1}}, nil, ErrValue},
		"no coders":                {nil, []float64{1}, ErrNoPairable},
	} {
		if _, err := CountTable(c.data, c.cats); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
		}
	}
}

func allWeightings() []Weighting { return []Weighting{Unweighted, Linear, Quadratic} }

func TestCohenHandValues(t *testing.T) {
	tests := []struct {
		name string
		a, b []float64
		cats []float64
		w    Weighting
		want float64
	}{
		{"perfect", []float64{1, 2, 3, 1}, []float64{1, 2, 3, 1}, []float64{1, 2, 3}, Quadratic, 1},
		{"opposite", []float64{0, 1}, []float64{1, 0}, []float64{0, 1}, Unweighted, -1},
		// Missing on either side drops the item: only (1,1), (2,2) remain.
		{"listwise", []float64{1, nan, 2, 1}, []float64{1, 2, 2, nan}, []float64{1, 2}, Linear, 1},
		// a = (1,1,2,2), b = (1,2,2,2): p_o = 3/4, rows (2,2), columns
		// (1,3), p_e = (2·1 + 2·3)/16 = 1/2: κ = (3/4 − 1/2)/(1/2) = 1/2.
		{"hand 2×2", []float64{1, 1, 2, 2}, []float64{1, 2, 2, 2}, []float64{1, 2}, Unweighted, 0.5},
		// The same pattern on values 1 and 3 with 2 declared but unused:
		// linear weights make their disagreement weigh 2 in both sums, so
		// the ratio, hence kappa, is unchanged.
		{"unused middle category", []float64{1, 1, 3, 3}, []float64{1, 3, 3, 3}, []float64{1, 2, 3}, Linear, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Cohen(tt.a, tt.b, tt.cats, tt.w)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("Cohen = %v, want %v", got, tt.want)
			}
		})
	}
}

func randomPair(r *rand.Rand, n, k int) (a, b []float64) {
	a, b = make([]float64, n), make([]float64, n)
	for i := range a {
		a[i] = float64(1 + r.IntN(k))
		// b agrees with a about half the time.
		if r.IntN(2) == 0 {
			b[i] = a[i]
		} else {
			b[i] = float64(1 + r.IntN(k))
		}
		if r.IntN(10) == 0 {
			a[i] = nan
		}
	}
	return a, b
}

func TestCohenProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	cats := []float64{1, 2, 3, 4, 5}
	reversed := []float64{5, 4, 3, 2, 1}
	shuffled := []float64{3, 1, 5, 2, 4}
	for trial := 0; trial < 50; trial++ {
		a, b := randomPair(r, 30, 5)
		for _, w := range allWeightings() {
			ab, err := Cohen(a, b, cats, w)
			if err != nil {
				t.Fatal(err)
			}
			ba, err := Cohen(b, a, cats, w)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(ab-ba) > 1e-12 {
				t.Fatalf("%v: Cohen(a, b) = %v, Cohen(b, a) = %v", w, ab, ba)
			}
			if ab > 1+1e-12 {
				t.Fatalf("%v: kappa %v above 1", w, ab)
			}
			// Reversing the category order keeps every |i − j|.
			rev, err := Cohen(a, b, reversed, w)
			if err != nil || math.Abs(rev-ab) > 1e-12 {
				t.Fatalf("%v: reversed categories give %v (%v), want %v", w, rev, err, ab)
			}
			// Any order leaves unweighted kappa alone.
			if w == Unweighted {
				sh, err := Cohen(a, b, shuffled, w)
				if err != nil || math.Abs(sh-ab) > 1e-12 {
					t.Fatalf("shuffled categories give %v (%v), want %v", sh, err, ab)
				}
			}
		}
	}
	// Weights follow the category list's order, not the values: in a
	// shuffled order the same data get a different weighted kappa.
	a, b := []float64{1, 2, 3, 4, 5, 1, 2}, []float64{2, 3, 4, 5, 5, 1, 1}
	k1, _ := Cohen(a, b, cats, Quadratic)
	k2, _ := Cohen(a, b, shuffled, Quadratic)
	if math.Abs(k1-k2) < 1e-6 {
		t.Errorf("quadratic kappa %v ignores the category order (%v)", k1, k2)
	}
}

func TestCohenErrors(t *testing.T) {
	cats := []float64{1, 2, 3}
	tests := []struct {
		name string
		a, b []float64
		cats []float64
		w    Weighting
		want error
	}{
		{"zero weighting", []float64{1, 2}, []float64{1, 2}, cats, 0, ErrWeighting},
		{"unknown weighting", []float64{1, 2}, []float64{1, 2}, cats, Weighting(7), ErrWeighting},
		{"lengths", []float64{1, 2}, []float64{1}, cats, Unweighted, ErrLength},
		{"value outside categories", []float64{1, 4}, []float64{1, 2}, cats, Unweighted, ErrValue},
		{"infinite value", []float64{1, math.Inf(1)}, []float64{1, 2}, cats, Unweighted, ErrValue},
		{"no categories", []float64{1}, []float64{1}, nil, Unweighted, ErrValue},
		{"duplicate categories", []float64{1}, []float64{1}, []float64{1, 2, 1}, Unweighted, ErrValue},
		{"NaN category", []float64{1}, []float64{1}, []float64{1, nan}, Unweighted, ErrValue},
		{"no complete pair", []float64{1, nan}, []float64{nan, 2}, cats, Linear, ErrNoPairable},
		{"one category used", []float64{2, 2}, []float64{2, 2}, cats, Quadratic, ErrNoVariation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Cohen(tt.a, tt.b, tt.cats, tt.w)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !math.IsNaN(got) {
				t.Errorf("kappa = %v with an error", got)
			}
		})
	}
}

func TestCohenMatrix(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	cats := []float64{1, 2, 3, 4}
	ratings := make([][]float64, 4)
	for i := range ratings[:3] {
		ratings[i], _ = randomPair(r, 20, 4)
	}
	// Annotator 3 rated only items 0 and 1, which annotator 0 left out.
	ratings[3] = make([]float64, 20)
	for u := range ratings[3] {
		ratings[3][u] = nan
	}
	ratings[3][0], ratings[3][1] = 1, 2
	ratings[0][0], ratings[0][1] = nan, nan
	for _, w := range allWeightings() {
		m, err := CohenMatrix(ratings, cats, w)
		if err != nil {
			t.Fatal(err)
		}
		for i := range m {
			if i < 3 && m[i][i] != 1 {
				t.Errorf("%v: m[%d][%d] = %v, want 1", w, i, i, m[i][i])
			}
			for j := range m {
				if !(m[i][j] == m[j][i] || math.IsNaN(m[i][j]) && math.IsNaN(m[j][i])) {
					t.Errorf("%v: m[%d][%d] = %v, m[%d][%d] = %v", w, i, j, m[i][j], j, i, m[j][i])
				}
				if i == j || i == 3 || j == 3 {
					continue
				}
				want, err := Cohen(ratings[i], ratings[j], cats, w)
				if err != nil || m[i][j] != want {
					t.Errorf("%v: m[%d][%d] = %v, Cohen gives %v (%v)", w, i, j, m[i][j], want, err)
				}
			}
		}
		if !math.IsNaN(m[0][3]) {
			t.Errorf("%v: annotators 0 and 3 share no item, m[0][3] = %v, want NaN", w, m[0][3])
		}
	}
	if _, err := CohenMatrix(ratings, cats, 0); !errors.Is(err, ErrWeighting) {
		t.Errorf("zero weighting: %v", err)
	}
	if _, err := CohenMatrix([][]float64{{1, 2}, {1}}, cats, Linear); !errors.Is(err, ErrLength) {
		t.Errorf("ragged: %v", err)
	}
	if _, err := CohenMatrix([][]float64{{1, 9}, {1, 2}}, cats, Linear); !errors.Is(err, ErrValue) {
		t.Errorf("value outside categories: %v", err)
	}
}

func TestWeightingNames(t *testing.T) {
	for _, w := range allWeightings() {
		got, err := ParseWeighting(w.String())
		if err != nil || got != w {
			t.Errorf("ParseWeighting(%q) = %v, %v", w.String(), got, err)
		}
	}
	if got, err := ParseWeighting("unweighted"); err != nil || got != Unweighted {
		t.Errorf("ParseWeighting(unweighted) = %v, %v", got, err)
	}
	if _, err := ParseWeighting(""); !errors.Is(err, ErrWeighting) {
		t.Errorf("ParseWeighting(\"\"): %v", err)
	}
}
