package annotation_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"capeval/annotation"
	"capeval/models"
	"capeval/models/modelstest"
)

// TestRankingNeedsCoveringScores: a captioner's aggregate that covers only
// some of its captions (RefCLIPScore of images without references, scores
// from before captions were added) is not ranked on nor compared with a
// minimum: a mean over a subset is not comparable with another
// captioner's over all. The reason says how many captions it covers.
func TestRankingNeedsCoveringScores(t *testing.T) {
	s := modelstest.NewStore(t)
	ctx := context.Background()
	f := newSelFixture(t, s, selSpec{mode: models.ModeLikert, images: 12, cider: sixCaptioners})
	ref := func(k int, v float64, n int) models.CaptionerScore {
		return models.CaptionerScore{CaptionerID: f.caps[k].ID, Metric: "RefCLIPScore", Value: v, N: n}
	}
	if err := s.PutCaptionerScores(ctx, []models.CaptionerScore{ref(0, 0.9, 6), ref(1, 0.5, 12), ref(3, 0.6, 12)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		doc     string
		kept    []string
		reasons map[string]string
	}{
		{"ranked on a partial mean", `{"rank":{"metric":"RefCLIPScore"}}`, []string{"m3", "m1"},
			map[string]string{"m0": "RefCLIPScore covers 6 of its 12 captions", "m2": "no RefCLIPScore score"}},
		{"minimum on a partial mean", `{"min_scores":{"RefCLIPScore":0.1}}`, []string{"m1", "m3"},
			map[string]string{"m0": "RefCLIPScore covers 6 of its 12 captions"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pv, err := f.svc.Preview(ctx, f.camp.ID, annotation.PreviewOptions{Thresholds: models.JSON(tt.doc)})
			if err != nil {
				t.Fatal(err)
			}
			var kept []string
			for _, c := range pv.Captioners {
				if c.Kept {
					kept = append(kept, c.Name)
				} else if want, ok := tt.reasons[c.Name]; ok && !strings.Contains(c.Reason, want) {
					t.Errorf("%s dropped for %q, want %q", c.Name, c.Reason, want)
				}
			}
			if !slices.Equal(kept, tt.kept) {
				t.Errorf("kept %v, want %v", kept, tt.kept)
			}
		})
	}
}
