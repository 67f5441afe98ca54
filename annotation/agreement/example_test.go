package agreement_test

import (
	"fmt"
	"math"

	"capeval/annotation/agreement"
)

// Three annotators (rows) rate five captions (columns) on a 1–5 scale; NaN
// marks a caption an annotator did not rate.
func ExampleAlpha() {
	nan := math.NaN()
	ratings := [][]float64{
		{5, 4, 2, nan, 1},
		{5, 3, 2, 4, 1},
		{4, 4, nan, 4, 2},
	}
	for _, level := range []agreement.Level{agreement.Nominal, agreement.Ordinal, agreement.Interval} {
		alpha, err := agreement.Alpha(ratings, level)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%-8s %.3f\n", level, alpha)
	}
	// Output:
	// nominal  0.429
	// ordinal  0.850
	// interval 0.883
}

// A 95% percentile interval for a mean over items, resampling items.
func ExampleBootstrap() {
	scores := []float64{3, 4, 4, 5, 2, 4, 3, 5, 4, 4}
	mean := func(idx []int) ([]float64, error) {
		var s float64
		for _, i := range idx {
			s += scores[i]
		}
		return []float64{s / float64(len(idx))}, nil
	}
	reps, err := agreement.Bootstrap(len(scores), 1000, 42, mean)
	if err != nil {
		fmt.Println(err)
		return
	}
	ci, err := agreement.PercentileIntervals(reps, 0.95)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("mean 3.8, 95%% CI [%.2f, %.2f]\n", ci[0].Low, ci[0].High)
	// Output:
	// mean 3.8, 95% CI [3.20, 4.30]
}
