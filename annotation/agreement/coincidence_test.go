package agreement

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"capeval/internal/sharedtest"
)

// domainOf returns the sorted distinct non-NaN values of units.
func domainOf(units [][]float64) []float64 {
	var d []float64
	for _, u := range units {
		for _, v := range u {
			if !math.IsNaN(v) {
				d = append(d, v)
			}
		}
	}
	slices.Sort(d)
	return slices.Compact(d)
}

func coincidencesOf(t *testing.T, units [][]float64, weights []float64) *Coincidences {
	t.Helper()
	c, err := NewCoincidences(domainOf(units))
	if err != nil {
		t.Fatal(err)
	}
	for u, vals := range units {
		w := 1.0
		if weights != nil {
			w = weights[u]
		}
		if err := c.Add(vals, w); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// Every alpha vector of ../shared/testdata/agreement gives the same alpha
// (or the same error) from the coincidence matrix as from AlphaUnits.
func TestCoincidencesMatchAlphaOnVectors(t *testing.T) {
	path := sharedtest.Path(t, "testdata", "agreement", "vectors.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []vector `json:"cases"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range file.Cases {
		if v.Metric != "krippendorff_alpha" {
			continue
		}
		n++
		t.Run(v.Name, func(t *testing.T) {
			var in struct {
				Data [][]nullable `json:"reliability_data"`
			}
			var par struct {
				Level string `json:"level_of_measurement"`
			}
			decode(t, v.Inputs, &in)
			decode(t, v.Parameters, &par)
			level, err := ParseLevel(par.Level)
			if err != nil {
				t.Fatal(err)
			}
			units := make([][]float64, len(in.Data[0]))
			for _, row := range in.Data {
				for u, x := range floats(row) {
					units[u] = append(units[u], x)
				}
			}
			want, wantErr := AlphaUnits(units, level)
			got, err := coincidencesOf(t, units, nil).Alpha(level)
			if wantErr != nil {
				if !errors.Is(err, ErrNoVariation) && !errors.Is(err, ErrNoPairable) || !math.IsNaN(got) {
					t.Errorf("Alpha = %v, %v; AlphaUnits gave %v", got, err, wantErr)
				}
				return
			}
			if err != nil || math.Abs(got-want) > 1e-12 {
				t.Errorf("Alpha = %.17g, %v; AlphaUnits = %.17g", got, err, want)
			}
		})
	}
	if n == 0 {
		t.Fatal("no alpha vectors")
	}
}

// A unit of weight k counts as k copies: on random Likert and real-valued
// data with missing values, at every level, the weighted matrix gives
// AlphaUnits of the data with each unit repeated.
func TestCoincidencesWeightsAreCopies(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	tests := []struct {
		name  string
		value func() float64
	}{
		{"likert", func() float64 { return float64(1 + r.IntN(5)) }},
		{"real", func() float64 { return math.Round(r.Float64()*400)/100 + 1 }},
	}
	for _, tt := range tests {
		for _, level := range []Level{Nominal, Ordinal, Interval, Ratio} {
			t.Run(tt.name+"/"+level.String(), func(t *testing.T) {
				units := make([][]float64, 200)
				weights := make([]float64, len(units))
				var copies [][]float64
				for u := range units {
					m := 1 + r.IntN(4)
					for range m {
						v := tt.value()
						if r.IntN(8) == 0 {
							v = math.NaN()
						}
						units[u] = append(units[u], v)
					}
					weights[u] = float64(r.IntN(3))
					for range int(weights[u]) {
						copies = append(copies, units[u])
					}
				}
				want, err := AlphaUnits(copies, level)
				if err != nil {
					t.Fatal(err)
				}
				got, err := coincidencesOf(t, units, weights).Alpha(level)
				if err != nil || math.Abs(got-want) > 1e-10 {
					t.Errorf("Alpha = %.17g, %v; AlphaUnits of the copies = %.17g", got, err, want)
				}
			})
		}
	}
}

func TestCoincidencesErrors(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name   string
		domain []float64
		units  [][]float64
		w      float64
		level  Level
		want   error
	}{
		{name: "empty domain", domain: nil, want: ErrOption},
		{name: "unsorted domain", domain: []float64{2, 1}, want: ErrValue},
		{name: "repeated domain value", domain: []float64{1, 1}, want: ErrValue},
		{name: "NaN in the domain", domain: []float64{1, nan}, want: ErrValue},
		{name: "value outside the domain", domain: []float64{1, 2}, units: [][]float64{{1, 3}}, w: 1, want: ErrValue},
		{name: "negative weight", domain: []float64{1, 2}, units: [][]float64{{1, 2}}, w: -1, want: ErrOption},
		{name: "nothing pairable", domain: []float64{1, 2}, units: [][]float64{{1, nan}, {2}}, w: 1, level: Nominal, want: ErrNoPairable},
		{name: "no variation", domain: []float64{1, 2}, units: [][]float64{{2, 2}, {2, 2, 2}}, w: 1, level: Ordinal, want: ErrNoVariation},
		{name: "weight 0 leaves a unit out", domain: []float64{1, 2}, units: [][]float64{{1, 1}, {1, 2}}, w: 0, level: Interval, want: ErrNoPairable},
		{name: "level unset", domain: []float64{1, 2}, units: [][]float64{{1, 2}}, w: 1, level: 0, want: ErrLevel},
		{name: "negative value at ratio", domain: []float64{-1, 2}, units: [][]float64{{-1, 2}}, w: 1, level: Ratio, want: ErrValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCoincidences(tt.domain)
			if err == nil {
				for _, u := range tt.units {
					if err = c.Add(u, tt.w); err != nil {
						break
					}
				}
			}
			if err == nil {
				var a float64
				a, err = c.Alpha(tt.level)
				if err != nil && !math.IsNaN(a) {
					t.Errorf("alpha %v with an error, want NaN", a)
				}
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// A refused unit changes nothing.
	c, _ := NewCoincidences([]float64{1, 2})
	_ = c.Add([]float64{1, 2}, 1)
	before, _ := c.Alpha(Interval)
	if err := c.Add([]float64{1, 9}, 1); err == nil {
		t.Fatal("a value outside the domain was added")
	}
	if after, _ := c.Alpha(Interval); after != before || c.Pairable() != 2 {
		t.Errorf("after a refused unit: alpha %v (was %v), %v pairable", after, before, c.Pairable())
	}
}
