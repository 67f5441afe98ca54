package agreement

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// Correlations with weights equal the plain functions on the data with
// each pair repeated, on data with many ties (a Likert consensus against
// a metric), continuous data and missing values.
func TestPairedMatchesTheCorrelations(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	tests := []struct {
		name string
		x, y func(i int) float64
	}{
		{"ties in both", func(int) float64 { return float64(r.IntN(5)) }, func(int) float64 { return float64(r.IntN(4)) / 3 }},
		{"continuous", func(int) float64 { return r.NormFloat64() }, func(int) float64 { return r.NormFloat64() }},
		{"missing values", func(i int) float64 {
			if i%7 == 0 {
				return math.NaN()
			}
			return float64(r.IntN(9))
		}, func(int) float64 { return r.Float64() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, y := make([]float64, 300), make([]float64, 300)
			for i := range x {
				x[i] = tt.x(i)
				y[i] = x[i]/3 + tt.y(i)
			}
			p, err := NewPaired(x, y)
			if err != nil {
				t.Fatal(err)
			}
			for round := range 4 {
				w := make([]float64, p.Len())
				var ex, ey []float64
				for i := range w {
					w[i] = float64(r.IntN(3))
					if round == 0 {
						w[i] = 1
					}
					for range int(w[i]) {
						ex, ey = append(ex, p.x[i]), append(ey, p.y[i])
					}
				}
				got, err := p.Correlations(w)
				if err != nil {
					t.Fatal(err)
				}
				pe, _ := Pearson(ex, ey)
				sp, _ := Spearman(ex, ey)
				k, _ := Kendall(ex, ey)
				for name, pair := range map[string][2]float64{"pearson": {got.Pearson, pe}, "spearman": {got.Spearman, sp},
					"tau-b": {got.TauB, k.TauB}, "tau-c": {got.TauC, k.TauC}} {
					if math.Abs(pair[0]-pair[1]) > 1e-10 {
						t.Errorf("round %d: %s = %.15g, on the repeated data %.15g", round, name, pair[0], pair[1])
					}
				}
			}
		})
	}
}

func TestPairedErrorsAndUndefined(t *testing.T) {
	if _, err := NewPaired([]float64{1}, []float64{1, 2}); !errors.Is(err, ErrLength) {
		t.Errorf("lengths: %v", err)
	}
	if _, err := NewPaired([]float64{math.Inf(1)}, []float64{1}); !errors.Is(err, ErrValue) {
		t.Errorf("Inf: %v", err)
	}
	p, _ := NewPaired([]float64{1, 2, 3}, []float64{1, 1, 1})
	if _, err := p.Correlations([]float64{1, 0.5, 1}); !errors.Is(err, ErrValue) {
		t.Errorf("fractional weight: %v", err)
	}
	if _, err := p.Correlations([]float64{1}); !errors.Is(err, ErrLength) {
		t.Errorf("weights length: %v", err)
	}
	got, err := p.Correlations(nil)
	if err != nil || !math.IsNaN(got.Pearson) || !math.IsNaN(got.Spearman) || !math.IsNaN(got.TauB) || !math.IsNaN(got.TauC) {
		t.Errorf("constant y: %+v, %v; want every coefficient NaN", got, err)
	}
	got, _ = p.Correlations([]float64{0, 1, 0})
	if !math.IsNaN(got.Pearson) {
		t.Errorf("one pair: %+v, want NaN", got)
	}
}
