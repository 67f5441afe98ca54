package agreement

import (
	"errors"
	"math"
	"testing"
)

func equalNaN(a, b []float64, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.IsNaN(a[i]) != math.IsNaN(b[i]) || math.Abs(a[i]-b[i]) > tol {
			return false
		}
	}
	return true
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		x    []float64
		how  Normalization
		want []float64
	}{
		// mean 2.5, population sd √1.25.
		{"zscore", []float64{1, 2, 3, 4}, ZScore, []float64{-1.5 / math.Sqrt(1.25), -0.5 / math.Sqrt(1.25), 0.5 / math.Sqrt(1.25), 1.5 / math.Sqrt(1.25)}},
		{"zscore keeps missing", []float64{1, nan, 3}, ZScore, []float64{-1, nan, 1}},
		{"minmax", []float64{2, 4, 3, 10}, MinMax, []float64{0, 0.25, 0.125, 1}},
		{"minmax keeps missing", []float64{nan, 4, 2}, MinMax, []float64{nan, 1, 0}},
		// Mid-ranks 3.5, 1, 3.5, 2 over n = 4: (r − 1)/3.
		{"rank with ties", []float64{3, 1, 3, 2}, Rank, []float64{2.5 / 3, 0, 2.5 / 3, 1.0 / 3}},
		{"rank keeps missing", []float64{0.7, nan, 0.2}, Rank, []float64{1, nan, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.x, tt.how)
			if err != nil {
				t.Fatal(err)
			}
			if !equalNaN(got, tt.want, 1e-12) {
				t.Errorf("Normalize = %v, want %v", got, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		name string
		x    []float64
		how  Normalization
		want error
	}{
		{"zero normalization", []float64{1, 2}, 0, ErrOption},
		{"constant zscore", []float64{3, 3, nan}, ZScore, ErrNoVariation},
		{"constant minmax", []float64{3, 3}, MinMax, ErrNoVariation},
		{"constant rank", []float64{3, 3}, Rank, ErrNoVariation},
		{"one value", []float64{3, nan}, MinMax, ErrNoPairable},
		{"infinite", []float64{3, math.Inf(-1)}, ZScore, ErrValue},
	} {
		if _, err := Normalize(tt.x, tt.how); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestNormalizationNames(t *testing.T) {
	for _, n := range []Normalization{ZScore, MinMax, Rank} {
		got, err := ParseNormalization(n.String())
		if err != nil || got != n {
			t.Errorf("ParseNormalization(%q) = %v, %v", n.String(), got, err)
		}
	}
	if _, err := ParseNormalization("z"); !errors.Is(err, ErrOption) {
		t.Errorf("ParseNormalization(z): %v", err)
	}
}

func TestBlend(t *testing.T) {
	human := []float64{1, 0, 0.5}
	bleu := []float64{0, 1, 0.5}
	clip := []float64{nan, 1, 0} // missing for captioner 0
	tests := []struct {
		name    string
		columns [][]float64
		weights []float64
		want    []float64
	}{
		{"equal weights", [][]float64{human, bleu}, []float64{1, 1}, []float64{0.5, 0.5, 0.5}},
		{"only ratios matter", [][]float64{human, bleu}, []float64{3, 1}, []float64{0.75, 0.25, 0.5}},
		{"only ratios matter, scaled", [][]float64{human, bleu}, []float64{0.3, 0.1}, []float64{0.75, 0.25, 0.5}},
		{"weight 0 removes a source", [][]float64{human, bleu}, []float64{1, 0}, human},
		{"weight 0 ignores its missing values", [][]float64{human, clip}, []float64{2, 0}, human},
		{"missing in a weighted source", [][]float64{human, clip}, []float64{1, 1}, []float64{nan, 0.5, 0.25}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Blend(tt.columns, tt.weights)
			if err != nil {
				t.Fatal(err)
			}
			if !equalNaN(got, tt.want, 1e-12) {
				t.Errorf("Blend = %v, want %v", got, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		name    string
		columns [][]float64
		weights []float64
		want    error
	}{
		{"weights and columns", [][]float64{human, bleu}, []float64{1}, ErrLength},
		{"ragged columns", [][]float64{human, {1}}, []float64{1, 1}, ErrLength},
		{"negative weight", [][]float64{human, bleu}, []float64{1, -1}, ErrOption},
		{"NaN weight", [][]float64{human, bleu}, []float64{1, nan}, ErrOption},
		{"all weights 0", [][]float64{human, bleu}, []float64{0, 0}, ErrOption},
		{"no columns", nil, nil, ErrOption},
		{"infinite score", [][]float64{{math.Inf(1), 0}}, []float64{1}, ErrValue},
	} {
		if _, err := Blend(tt.columns, tt.weights); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}
