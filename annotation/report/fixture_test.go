package report

import (
	"capeval/annotation"
	"capeval/models"
)

func intp(n int) *int { return &n }

func rng(a, b int) *[2]int { return &[2]int{a, b} }

func vci(v, lo, hi float64) annotation.ValueCI {
	return annotation.ValueCI{Value: annotation.Number(v), CILow: annotation.Number(lo), CIHigh: annotation.Number(hi)}
}

// sampleLeaderboard is a leaderboard with every part filled in, names
// that try to break each format (a formula, markup, pipes) and undefined
// numbers.
func sampleLeaderboard() *annotation.Leaderboard {
	nan := annotation.NaN()
	src := func(raw, norm float64, n int) annotation.SourceScore {
		return annotation.SourceScore{Raw: annotation.Number(raw), CILow: nan, CIHigh: nan, Normalized: annotation.Number(norm), N: n}
	}
	rows := []annotation.LeaderboardRow{
		{Captioner: "accurate@1", CaptionerID: 1, Rank: intp(1), RankRange: rng(1, 1), Blended: vci(1.21, 1.02, 1.38), Items: 48, Images: 48,
			Scores: map[string]annotation.SourceScore{"human": src(4.52, 1.25, 48), "CIDEr": src(1.31, 1.18, 48), "CLIPScore": src(0.81, 1.1, 48)}},
		{Captioner: "=HYPERLINK(\"http://evil.example\",\"x\")", CaptionerID: 2, Rank: intp(2), RankRange: rng(2, 3), Blended: vci(0.18, -0.05, 0.41), Items: 48, Images: 48,
			Scores: map[string]annotation.SourceScore{"human": src(3.1, 0.2, 48), "CIDEr": src(0.72, 0.1, 48), "CLIPScore": src(0.74, 0.3, 48)}},
		{Captioner: "generic <b>|</b>", CaptionerID: 3, Rank: intp(2), RankRange: rng(2, 3), Blended: vci(-0.3, -0.52, -0.07), Items: 48, Images: 48,
			Scores: map[string]annotation.SourceScore{"human": src(2.5, -0.3, 48), "CIDEr": src(0.35, -0.4, 48), "CLIPScore": src(0.7, -0.2, 48)}},
		{Captioner: "-random", CaptionerID: 4, Rank: intp(4), RankRange: rng(4, 4), Blended: vci(-1.09, -1.3, -0.88), Items: 48, Images: 48,
			Scores: map[string]annotation.SourceScore{"human": src(1.2, -1.15, 48), "CIDEr": src(0.05, -0.88, 48), "CLIPScore": src(0.55, -1.2, 48)}},
		{Captioner: "unrated@0", CaptionerID: 5, Blended: annotation.ValueCI{Value: nan, CILow: nan, CIHigh: nan}, Note: "no human ratings",
			Scores: map[string]annotation.SourceScore{"CIDEr": src(0.5, 0, 48)}},
	}
	corr := func(metric, level string, n int, tau float64) annotation.CorrelationRow {
		return annotation.CorrelationRow{Metric: metric, Criterion: "overall", Level: level, N: n,
			Pearson: vci(tau+0.1, tau-0.1, tau+0.2), Spearman: vci(tau+0.05, tau-0.15, tau+0.15), KendallTauB: vci(tau, tau-0.2, tau+0.1), KendallTauC: vci(tau-0.01, tau-0.21, tau+0.09)}
	}
	return &annotation.Leaderboard{
		CampaignID: 7, Campaign: "Demo: coloured shapes", Mode: models.ModeLikert,
		Leaderboard: rows,
		Agreement: annotation.Agreement{
			Criteria: []annotation.CriterionAgreement{
				{Criterion: "overall", Alpha: annotation.AlphaLevels{Nominal: 0.41, Ordinal: 0.72, Interval: 0.7}, AlphaLevel: "ordinal",
					AlphaCI: annotation.Interval{Level: 0.95, Low: 0.61, High: 0.8}, FleissKappa: nan, Items: 192, Ratings: 576, Annotators: 3,
					Kappa: annotation.KappaMatrix{Weighting: "linear", Annotators: []string{"sim-careful", "sim-typical", "sim-careless"},
						Values: [][]annotation.Number{{1, 0.7, 0.05}, {0.7, 1, nan}, {0.05, nan, 1}}}},
				{Criterion: "precision", Alpha: annotation.AlphaLevels{Nominal: 0.3, Ordinal: 0.65, Interval: 0.66}, AlphaLevel: "ordinal",
					AlphaCI: annotation.Interval{Level: 0.95, Low: 0.5, High: 0.74}, FleissKappa: 0.31, Items: 192, Ratings: 576, Annotators: 3},
			},
			Annotators: []annotation.AnnotatorAgreement{
				{Annotator: "sim-careful@demo.capeval.test", AnnotatorID: 5, Ratings: 192, GoldAccuracy: 1, GoldScored: 10, Flags: []string{},
					Criteria: []annotation.AnnotatorCriterion{{Criterion: "overall", Items: 192, RestCorrelation: 0.81, AlphaWithout: 0.7, AlphaDelta: -0.02}}},
				{Annotator: "sim-careless@demo.capeval.test", AnnotatorID: 7, Ratings: 192, Excluded: true, GoldAccuracy: 0.4, GoldScored: 10,
					Flags: []string{"low_gold_accuracy", "fast"}, Criteria: []annotation.AnnotatorCriterion{{Criterion: "overall", Items: 192, RestCorrelation: 0.02, AlphaWithout: 0.85, AlphaDelta: 0.13}}},
				{Annotator: "imported:w1", Imported: true, Ratings: 20, GoldAccuracy: nan, Flags: []string{}},
			},
		},
		MetricHumanCorrelation: []annotation.CorrelationRow{
			corr("CIDEr", "caption", 192, 0.55), corr("CIDEr", "captioner", 4, 1),
			corr("CLIPScore", "caption", 192, 0.3), corr("CLIPScore", "captioner", 4, 0.67),
		},
		SuggestedWeights: annotation.SuggestedWeights{Weights: map[string]float64{"human": 1, "CIDEr": 0.34, "CLIPScore": 0.09},
			Basis: "the lower bound of each metric's caption-level Kendall tau-c with overall"},
		Slices:   []annotation.LeaderboardSlice{{Kind: annotation.SliceTag, Name: "shape:circle", Images: 20, Items: 80, Rows: rows[:2]}},
		Warnings: []string{"unrated@0 has no human ratings: it is not ranked"},
		Provenance: annotation.Provenance{Campaign: "Demo: coloured shapes", CampaignID: 7, Mode: models.ModeLikert, Rubric: annotation.DefaultRubric(),
			Thresholds: models.JSON(`{"rank":{"metric":"CIDEr"},"top_k":4}`),
			Settings: annotation.LeaderboardSettings{Weights: map[string]float64{"human": 1, "CIDEr": 0.5, "CLIPScore": 0.25}, Normalization: "zscore",
				Consensus: "mean", Criterion: "overall", Seed: 1, Resamples: 1000, Level: 0.95},
			DataSHA256: "5d41402abc4b2a76b9719d911017c592aaf0d6f3e8f1c4ab5d41402abc4b2a76", Ratings: 596, ImportedRatings: 20, Items: 212, Images: 48,
			Captioners: 5, Adjudications: 1, ExcludedRatings: 192, ExcludedAnnotators: []int64{7},
			MetricVersions: map[string][]string{"CIDEr": {"textmetrics-1"}, "CLIPScore": {"clip-ab12"}}, CapevalVersion: "test"},
	}
}
