package agreement

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// likert returns coders × units ratings on a 1–5 scale: each unit has a true
// score, each rating is off by one a third of the time, 10% are missing.
func likert(coders, units int) [][]float64 {
	r := rand.New(rand.NewPCG(1, 1))
	truth := make([]int, units)
	for u := range truth {
		truth[u] = 1 + r.IntN(5)
	}
	data := make([][]float64, coders)
	for c := range data {
		data[c] = make([]float64, units)
		for u := range data[c] {
			v := truth[u] + r.IntN(3) - 1
			data[c][u] = float64(min(5, max(1, v)))
			if r.IntN(10) == 0 {
				data[c][u] = nan
			}
		}
	}
	return data
}

func transpose(data [][]float64) [][]float64 {
	units := make([][]float64, len(data[0]))
	for u := range units {
		for c := range data {
			units[u] = append(units[u], data[c][u])
		}
	}
	return units
}

// BenchmarkAlpha: one alpha on 1,000 units × 5 coders (Likert), and on
// real-valued data with thousands of distinct values, where ratio alone
// sums over pairs of distinct values.
func BenchmarkAlpha(b *testing.B) {
	data := likert(5, 1000)
	for _, level := range allLevels() {
		b.Run("likert-1000x5/"+level.String(), func(b *testing.B) {
			for b.Loop() {
				if _, err := Alpha(data, level); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	r := rand.New(rand.NewPCG(2, 2))
	real := make([][]float64, 5)
	for c := range real {
		real[c] = make([]float64, 1000)
		for u := range real[c] {
			real[c][u] = 1 + 4*r.Float64()
		}
	}
	for _, level := range []Level{Interval, Ordinal, Ratio} {
		b.Run("real-1000x5/"+level.String(), func(b *testing.B) {
			for b.Loop() {
				if _, err := Alpha(real, level); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// The dashboard's target: agreement over 100,000 ratings.
	units := transpose(likert(3, 33334))
	b.Run("likert-100k-ratings/ordinal", func(b *testing.B) {
		for b.Loop() {
			if _, err := AlphaUnits(units, Ordinal); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBootstrap: 1,000 resamples of the statistics the leaderboard and
// the dashboard bootstrap.
func BenchmarkBootstrap(b *testing.B) {
	const resamples = 1000
	r := rand.New(rand.NewPCG(3, 3))
	x := make([]float64, 5000)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	b.Run("mean-5000-units", func(b *testing.B) {
		for b.Loop() {
			reps, err := Bootstrap(len(x), resamples, 1, meanOf(x))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := PercentileIntervals(reps, 0.95); err != nil {
				b.Fatal(err)
			}
		}
	})
	units := transpose(likert(5, 1000))
	b.Run("alpha-1000x5-ordinal", func(b *testing.B) {
		sample := make([][]float64, len(units))
		for b.Loop() {
			_, err := Bootstrap(len(units), resamples, 1, func(idx []int) ([]float64, error) {
				for i, k := range idx {
					sample[i] = units[k]
				}
				a, err := AlphaUnits(sample, Ordinal)
				return []float64{a}, err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, k := range []int{10, 50} {
		models, bs := randomBattles(rand.New(rand.NewPCG(4, 4)), k, 5000)
		b.Run(fmt.Sprintf("bradley-terry-%d-models-5000-battles", k), func(b *testing.B) {
			sub := make([]Battle, len(bs))
			for b.Loop() {
				_, err := Bootstrap(len(bs), resamples, 1, func(idx []int) ([]float64, error) {
					for i, j := range idx {
						sub[i] = bs[j]
					}
					fit, err := BradleyTerry(models, sub)
					return fit.Elo, err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCorrelations: one of each at caption level (50 captioners ×
// 5,000 images = 250,000 captions).
func BenchmarkCorrelations(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	n := 250000
	x, y := make([]float64, n), make([]float64, n)
	for i := range x {
		x[i] = float64(1 + r.IntN(5))
		y[i] = x[i]/5 + r.Float64()
	}
	for _, c := range []struct {
		name string
		f    func(x, y []float64) (float64, error)
	}{{"pearson", Pearson}, {"spearman", Spearman}, {"kendall-tau-b", KendallTauB}} {
		b.Run(c.name+"-250k", func(b *testing.B) {
			for b.Loop() {
				if _, err := c.f(x, y); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCohenMatrix: 20 annotators × 1,000 items, quadratic weights.
func BenchmarkCohenMatrix(b *testing.B) {
	data := likert(20, 1000)
	cats := []float64{1, 2, 3, 4, 5}
	for b.Loop() {
		if _, err := CohenMatrix(data, cats, Quadratic); err != nil {
			b.Fatal(err)
		}
	}
}
