package agreement

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

var nan = math.NaN()

// referenceAlpha computes alpha the long way, straight from the README's
// definition: the coincidence matrix o_ck over the distinct pairable
// values, n_c, and D_o, D_e with the δ² of each level (ordinal by its
// Σ_{g=c..k} n_g formula). It is the oracle for the closed forms of Alpha.
func referenceAlpha(data [][]float64, level Level) float64 {
	var units [][]float64
	for u := range data[0] {
		var vals []float64
		for c := range data {
			if !math.IsNaN(data[c][u]) {
				vals = append(vals, data[c][u])
			}
		}
		if len(vals) >= 2 {
			units = append(units, vals)
		}
	}
	var values []float64
	for _, u := range units {
		values = append(values, u...)
	}
	slices.Sort(values)
	values = slices.Compact(values)
	pos := func(v float64) int { i, _ := slices.BinarySearch(values, v); return i }
	V := len(values)
	o := make([][]float64, V)
	for i := range o {
		o[i] = make([]float64, V)
	}
	for _, u := range units {
		m := float64(len(u))
		for i := range u {
			for j := range u {
				if i != j {
					o[pos(u[i])][pos(u[j])] += 1 / (m - 1)
				}
			}
		}
	}
	nc := make([]float64, V)
	var n float64
	for c := range o {
		for k := range o {
			nc[c] += o[c][k]
		}
		n += nc[c]
	}
	delta := func(c, k int) float64 {
		a, b := values[c], values[k]
		switch level {
		case Nominal:
			if c == k {
				return 0
			}
			return 1
		case Interval:
			return (a - b) * (a - b)
		case Ratio:
			if a+b == 0 {
				return 0
			}
			return (a - b) * (a - b) / ((a + b) * (a + b))
		}
		lo, hi := min(c, k), max(c, k)
		var s float64
		for g := lo; g <= hi; g++ {
			s += nc[g]
		}
		s -= (nc[c] + nc[k]) / 2
		return s * s
	}
	var do, de float64
	for c := 0; c < V; c++ {
		for k := 0; k < V; k++ {
			do += o[c][k] * delta(c, k)
			de += nc[c] * nc[k] * delta(c, k)
		}
	}
	do /= n
	de /= n * (n - 1)
	return 1 - do/de
}

// randomReliability returns coders × units values from {0..levels-1}
// (shifted by 1 for ratio so that not all values are tiny), a share of
// them missing.
func randomReliability(r *rand.Rand, coders, units, levels int, missing float64) [][]float64 {
	data := make([][]float64, coders)
	for c := range data {
		data[c] = make([]float64, units)
		for u := range data[c] {
			if r.Float64() < missing {
				data[c][u] = nan
			} else {
				data[c][u] = float64(r.IntN(levels))
			}
		}
	}
	return data
}

func allLevels() []Level { return []Level{Nominal, Ordinal, Interval, Ratio} }

func TestAlphaHandValues(t *testing.T) {
	tests := []struct {
		name  string
		data  [][]float64
		level Level
		want  float64
	}{
		{"perfect nominal", [][]float64{{1, 2, 3}, {1, 2, 3}}, Nominal, 1},
		{"perfect ordinal with missing", [][]float64{{1, 2, nan, 4}, {1, 2, 3, 4}, {nan, 2, 3, 4}}, Ordinal, 1},
		{"perfect interval", [][]float64{{0.5, 7.25}, {0.5, 7.25}}, Interval, 1},
		{"perfect ratio", [][]float64{{0, 3}, {0, 3}}, Ratio, 1},
		// Two units, each with one 0 and one 1: D_o = 1, D_e = 2/3.
		{"systematic disagreement nominal", [][]float64{{0, 1}, {1, 0}}, Nominal, -0.5},
		{"systematic disagreement interval", [][]float64{{0, 1}, {1, 0}}, Interval, -0.5},
		// A unit with a single value is not pairable and has no effect.
		{"lone value ignored", [][]float64{{0, 1, 9}, {1, 0, nan}}, Interval, -0.5},
		// Units {1,1}, {1,2}: n = 4, n_1 = 3, n_2 = 1; D_o = 2/4, D_e =
		// 2·3·1/(4·3) = 1/2: alpha 0.
		{"half disagreement", [][]float64{{1, 1}, {1, 2}}, Nominal, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Alpha(tt.data, tt.level)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("Alpha = %.15g, want %v", got, tt.want)
			}
		})
	}
}

func TestAlphaMatchesCoincidenceMatrix(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		coders, units := 2+r.IntN(5), 2+r.IntN(20)
		data := randomReliability(r, coders, units, 2+r.IntN(6), 0.3)
		for _, level := range allLevels() {
			got, err := Alpha(data, level)
			if errors.Is(err, ErrNoPairable) || errors.Is(err, ErrNoVariation) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := referenceAlpha(data, level); math.Abs(got-want) > 1e-10 {
				t.Fatalf("trial %d %v: Alpha = %.15g, coincidence matrix gives %.15g\n%v", trial, level, got, want, data)
			}
		}
	}
}

func TestAlphaInvariances(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	data := randomReliability(r, 4, 30, 5, 0.2)
	transform := func(f func(float64) float64) [][]float64 {
		out := make([][]float64, len(data))
		for c := range data {
			out[c] = make([]float64, len(data[c]))
			for u, v := range data[c] {
				out[c][u] = v
				if !math.IsNaN(v) {
					out[c][u] = f(v)
				}
			}
		}
		return out
	}
	permCoders := [][]float64{data[2], data[0], data[3], data[1]}
	order := r.Perm(len(data[0]))
	permUnits := transform(func(v float64) float64 { return v })
	for c := range data {
		for u, p := range order {
			permUnits[c][u] = data[c][p]
		}
	}
	tests := []struct {
		name   string
		other  [][]float64
		levels []Level
	}{
		{"coders permuted", permCoders, allLevels()},
		{"units permuted", permUnits, allLevels()},
		{"nominal relabelled", transform(func(v float64) float64 { return []float64{7, -3, 0.5, 100, 2}[int(v)] }), []Level{Nominal}},
		{"ordinal under a monotone map", transform(math.Exp), []Level{Nominal, Ordinal}},
		{"interval under an affine map", transform(func(v float64) float64 { return 2.5*v - 40 }), []Level{Nominal, Ordinal, Interval}},
		{"ratio under a scale change", transform(func(v float64) float64 { return 3 * v }), allLevels()},
	}
	for _, tt := range tests {
		for _, level := range tt.levels {
			t.Run(tt.name+"/"+level.String(), func(t *testing.T) {
				want, err := Alpha(data, level)
				if err != nil {
					t.Fatal(err)
				}
				got, err := Alpha(tt.other, level)
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(got-want) > 1e-12 {
					t.Errorf("alpha %.15g, originally %.15g", got, want)
				}
			})
		}
	}
}

func TestAlphaBinaryLevelsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	data := randomReliability(r, 3, 25, 2, 0.25)
	want, err := Alpha(data, Nominal)
	if err != nil {
		t.Fatal(err)
	}
	for _, level := range allLevels() {
		got, err := Alpha(data, level)
		if err != nil || math.Abs(got-want) > 1e-12 {
			t.Errorf("%v on 0/1 data: %v, %v; nominal gives %v", level, got, err, want)
		}
	}
}

func TestAlphaUnitsMatchesAlpha(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	data := randomReliability(r, 5, 40, 5, 0.3)
	units := make([][]float64, 40)
	for u := range units {
		for c := range data {
			if !math.IsNaN(data[c][u]) { // AlphaUnits takes the missing out or in
				units[u] = append(units[u], data[c][u])
			} else if u%2 == 0 {
				units[u] = append(units[u], nan)
			}
		}
	}
	for _, level := range allLevels() {
		want, err1 := Alpha(data, level)
		got, err2 := AlphaUnits(units, level)
		if err1 != nil || err2 != nil || got != want {
			t.Errorf("%v: AlphaUnits %v (%v), Alpha %v (%v)", level, got, err2, want, err1)
		}
	}
}

func TestAlphaErrors(t *testing.T) {
	tests := []struct {
		name  string
		data  [][]float64
		level Level
		want  error
	}{
		{"zero level", [][]float64{{1, 2}, {1, 2}}, 0, ErrLevel},
		{"unknown level", [][]float64{{1, 2}, {1, 2}}, Level(9), ErrLevel},
		{"ragged rows", [][]float64{{1, 2, 3}, {1, 2}}, Nominal, ErrLength},
		{"infinite value", [][]float64{{1, math.Inf(1)}, {1, 2}}, Interval, ErrValue},
		{"negative at ratio", [][]float64{{1, -2}, {1, 2}}, Ratio, ErrValue},
		{"no coders", nil, Nominal, ErrNoPairable},
		{"no units", [][]float64{{}, {}}, Nominal, ErrNoPairable},
		{"one coder", [][]float64{{1, 2, 3}}, Nominal, ErrNoPairable},
		{"no unit with two values", [][]float64{{1, nan}, {nan, 2}}, Interval, ErrNoPairable},
		{"no variation", [][]float64{{2, 2, 2}, {2, 2, nan}}, Ordinal, ErrNoVariation},
		// 0.1+0.1+0.1 is not 0.3 in floating point: a check on D_e could
		// see a tiny variation here and return 1.
		{"no variation, inexact value", [][]float64{{0.1, 0.1, 0.1}, {0.1, 0.1, 0.1}}, Interval, ErrNoVariation},
		{"variation only in unpairable units", [][]float64{{1, 1, 5}, {1, 1, nan}}, Interval, ErrNoVariation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Alpha(tt.data, tt.level)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !math.IsNaN(got) {
				t.Errorf("alpha = %v with an error, want NaN", got)
			}
		})
	}
	if _, err := AlphaUnits([][]float64{{1, 2}}, 0); !errors.Is(err, ErrLevel) {
		t.Errorf("AlphaUnits zero level: %v", err)
	}
	if _, err := AlphaUnits([][]float64{{1, math.Inf(-1)}}, Nominal); !errors.Is(err, ErrValue) {
		t.Errorf("AlphaUnits -Inf: %v", err)
	}
}

func TestAlphaLeavesInputAlone(t *testing.T) {
	data := [][]float64{{3, 1, nan, 2}, {3, 2, 1, 2}}
	before := [][]float64{slices.Clone(data[0]), slices.Clone(data[1])}
	if _, err := Alpha(data, Ordinal); err != nil {
		t.Fatal(err)
	}
	for c := range data {
		for u := range data[c] {
			if data[c][u] != before[c][u] && !(math.IsNaN(data[c][u]) && math.IsNaN(before[c][u])) {
				t.Fatalf("data changed: %v", data)
			}
		}
	}
}

func TestLevelNames(t *testing.T) {
	for _, l := range allLevels() {
		got, err := ParseLevel(l.String())
		if err != nil || got != l {
			t.Errorf("ParseLevel(%q) = %v, %v", l.String(), got, err)
		}
	}
	for _, s := range []string{"", "Nominal", "likert"} {
		if _, err := ParseLevel(s); !errors.Is(err, ErrLevel) {
			t.Errorf("ParseLevel(%q): %v", s, err)
		}
	}
	if s := Level(0).String(); s != "Level(0)" {
		t.Errorf("Level(0).String() = %q", s)
	}
}
