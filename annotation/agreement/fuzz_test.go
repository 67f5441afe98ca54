package agreement

import (
	"errors"
	"math"
	"testing"
)

// FuzzAlpha decodes bytes into a small coders × units matrix and checks
// what must hold for any reliability data: no panic; either an error of
// the expected kinds with NaN, or a finite alpha ≤ 1, above −1 for the
// levels whose δ² is a squared distance (nominal, ordinal, interval: there
// D_o/D_e ≤ 2(n−1)/n < 2); the same value with coders reversed and from
// AlphaUnits; and agreement with the coincidence-matrix definition.
//
// data[0] picks the level, data[1] and data[2] the shape; each further byte
// is one value: ≥ 200 is missing, otherwise the value is byte % 7 (or, when
// data[0] is odd, byte/8, for more distinct values).
func FuzzAlpha(f *testing.F) {
	f.Add([]byte{0, 2, 3, 1, 2, 3, 1, 2, 3})
	f.Add([]byte{1, 3, 2, 200, 4, 4, 200, 4, 4})
	f.Add([]byte{2, 4, 4, 1, 2, 3, 4, 5, 6, 0, 1, 255, 255, 2, 2, 3, 6, 6, 6})
	f.Add([]byte{3, 2, 2, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 3 {
			return
		}
		level := Level(1 + int(data[0]/2)%4)
		coders, units := 1+int(data[1])%6, 1+int(data[2])%12
		vals := data[3:]
		m := make([][]float64, coders)
		for c := range m {
			m[c] = make([]float64, units)
			for u := range m[c] {
				k := c*units + u
				switch {
				case k >= len(vals) || vals[k] >= 200:
					m[c][u] = math.NaN()
				case data[0]%2 == 1:
					m[c][u] = float64(vals[k] / 8)
				default:
					m[c][u] = float64(vals[k] % 7)
				}
			}
		}
		got, err := Alpha(m, level)
		if err != nil {
			if !errors.Is(err, ErrNoPairable) && !errors.Is(err, ErrNoVariation) {
				t.Fatalf("unexpected error %v for %v", err, m)
			}
			if !math.IsNaN(got) {
				t.Fatalf("alpha %v with error %v", got, err)
			}
			return
		}
		if math.IsNaN(got) || math.IsInf(got, 0) || got > 1+1e-12 {
			t.Fatalf("%v alpha %v for %v", level, got, m)
		}
		if level != Ratio && got <= -1 {
			t.Fatalf("%v alpha %v ≤ −1 for %v", level, got, m)
		}
		rev := make([][]float64, coders)
		for c := range m {
			rev[coders-1-c] = m[c]
		}
		if r, err := Alpha(rev, level); err != nil || math.Abs(r-got) > 1e-12 {
			t.Fatalf("coders reversed: %v, %v; want %v", r, err, got)
		}
		us := make([][]float64, units)
		for u := range us {
			for c := range m {
				us[u] = append(us[u], m[c][u])
			}
		}
		if a, err := AlphaUnits(us, level); err != nil || a != got {
			t.Fatalf("AlphaUnits: %v, %v; want %v", a, err, got)
		}
		if want := referenceAlpha(m, level); math.Abs(want-got) > 1e-9 {
			t.Fatalf("%v alpha %v, coincidence matrix gives %v for %v", level, got, want, m)
		}
	})
}
