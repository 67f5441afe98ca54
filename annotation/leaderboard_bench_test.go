package annotation

import (
	"fmt"
	"testing"

	"capeval/models"
)

// benchAnnotators returns n annotators of varied reliability.
func benchAnnotators(n int) []synthAnnotator {
	out := make([]synthAnnotator, n)
	for a := range out {
		out[a] = synthAnnotator{offset: float64(a%5-2) * 0.2, noise: 0.4 + float64(a%3)*0.2}
	}
	return out
}

// BenchmarkLeaderboard: the target, the blended leaderboard with
// 1,000 bootstrap resamples for 50 captioners × 5,000 images × 3 ratings
// (250,000 items, 750,000 ratings), human and one metric weighted; and the
// whole Leaderboard document (agreement, correlations, queues) on it.
func BenchmarkLeaderboard(b *testing.B) {
	quality := make([]float64, 50)
	for c := range quality {
		quality[c] = 2 + 2.5*float64(c)/49
	}
	sy := synth{mode: models.ModeLikert, quality: quality, images: 5000, annotators: benchAnnotators(30), perItem: 3,
		metricSign: 1, metricNoise: 0.5, seed: 21}
	j := mustBuild(b, sy.rows())
	s := synthSettings(LeaderboardSettings{Weights: map[string]float64{SourceHuman: 1, "CIDEr": 0.5}, Resamples: 1000})
	b.Run("blend-50x5000x3-1000-resamples", func(b *testing.B) {
		for b.Loop() {
			v := newView(j, s)
			if _, err := newBoard(v, nil, false, 0).run(false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("whole-document-50x5000x3", func(b *testing.B) {
		for b.Loop() {
			mustCompute(b, j, s, 0)
		}
	})
}

// BenchmarkAgreement: the dashboard over 100,000 ratings (33,334 items × 3
// ratings by 20 annotators, the default rubric's 4 criteria), 1,000
// resamples of alpha per criterion.
func BenchmarkAgreement(b *testing.B) {
	for _, annotators := range []int{20} {
		quality := make([]float64, 20)
		for c := range quality {
			quality[c] = 2 + 2.5*float64(c)/19
		}
		sy := synth{mode: models.ModeLikert, quality: quality, images: 1667, annotators: benchAnnotators(annotators), perItem: 3,
			metricSign: 1, metricNoise: 0.5, seed: 22}
		j := mustBuild(b, sy.rows())
		s := synthSettings(LeaderboardSettings{Resamples: 1000})
		b.Run(fmt.Sprintf("100k-ratings-%d-annotators-1000-resamples", annotators), func(b *testing.B) {
			if len(j.rAnn) < 100000 {
				b.Fatalf("%d ratings", len(j.rAnn))
			}
			for b.Loop() {
				computeAgreement(newView(j, s), nil, s.Resamples, s.Seed, s.Level, 0)
			}
		})
	}
}
