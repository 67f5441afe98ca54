package annotation_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"capeval/annotation"
	"capeval/models"
	"capeval/models/modelstest"
)

// Benchmark sizes from issue 5: 50 captioners × 5,000 images.
const (
	benchCaptioners = 50
	benchImages     = 5000
)

// loadBenchCampaign fills a campaign with benchImages images (tagged, with
// two references each), benchCaptioners captioners captioning every image,
// per-caption CIDEr and CLIPScore and per-captioner aggregates: synthetic,
// seeded scores.
func loadBenchCampaign(b *testing.B, s *models.Store, mode models.CampaignMode) int64 {
	b.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	var campID int64
	err := s.InTx(ctx, func(tx *models.Store) error {
		c := &models.Campaign{Name: "bench", Mode: mode}
		if err := tx.CreateCampaign(ctx, c); err != nil {
			return err
		}
		campID = c.ID
		images := make([]models.Image, benchImages)
		for i := range images {
			images[i] = models.Image{CampaignID: c.ID, ExternalID: fmt.Sprint("img", i),
				Tags: models.MustJSON([]string{fmt.Sprint("count:", i%7)})}
		}
		if err := tx.InsertImages(ctx, images); err != nil {
			return err
		}
		var refs []models.Reference
		for _, im := range images {
			refs = append(refs, models.Reference{ImageID: im.ID, Position: 0, Text: "a reference"},
				models.Reference{ImageID: im.ID, Position: 1, Text: "another reference"})
		}
		if err := tx.InsertReferences(ctx, refs); err != nil {
			return err
		}
		var capScores []models.CaptionerScore
		for k := range benchCaptioners {
			cp := models.Captioner{CampaignID: c.ID, Name: fmt.Sprintf("model%02d", k), Version: "1"}
			if err := tx.CreateCaptioner(ctx, &cp); err != nil {
				return err
			}
			captions := make([]models.Caption, benchImages)
			for i, im := range images {
				// Every tenth caption repeats a shared text: identical
				// texts across captioners, as real models produce.
				text := fmt.Sprintf("model %d says picture %d shows things", k, i)
				if i%10 == 0 {
					text = fmt.Sprintf("a generic caption of picture %d", i)
				}
				captions[i] = models.Caption{CaptionerID: cp.ID, ImageID: im.ID, Text: text}
			}
			if err := tx.InsertCaptions(ctx, captions); err != nil {
				return err
			}
			base := r.Float64()
			scores := make([]models.Score, 0, 2*len(captions))
			for _, cap := range captions {
				scores = append(scores, models.Score{CaptionID: cap.ID, Metric: "CIDEr", Value: base + r.Float64()},
					models.Score{CaptionID: cap.ID, Metric: "CLIPScore", Value: 0.5 + r.Float64()/4})
			}
			if err := tx.InsertScoreRows(ctx, scores, nil); err != nil {
				return err
			}
			capScores = append(capScores, models.CaptionerScore{CaptionerID: cp.ID, Metric: "CIDEr", Value: base + 0.5, N: benchImages},
				models.CaptionerScore{CaptionerID: cp.ID, Metric: "CLIPScore", Value: 0.6 + r.Float64()/10, N: benchImages})
		}
		return tx.InsertScoreRows(ctx, nil, capScores)
	})
	if err != nil {
		b.Fatal(err)
	}
	return campID
}

// BenchmarkSelectionPreview times the preview (the whole planning, reads
// included) of selections over 50 captioners × 5,000 images on SQLite, and
// on PostgreSQL when CAPEVAL_TEST_POSTGRES_DSN is set, and the commit of
// the first one. The setup is not timed.
func BenchmarkSelectionPreview(b *testing.B) {
	cases := []struct {
		name string
		mode models.CampaignMode
		doc  string
	}{
		{"likert_per_captioner_top10_500img", models.ModeLikert,
			`{"rank":{"weights":{"CIDEr":2,"CLIPScore":1}},"top_k":10,"images":{"count":500},"ratings_per_item":3,"gold_rate":0.1}`},
		{"likert_all_captioners_all_images_stratified", models.ModeLikert,
			`{"images":{"count":4000,"sampling":"stratified","tag_prefix":"count:"},"gold_rate":0.05}`},
		{"pairwise_all_pairs_top10_500img", models.ModePairwise, `{"top_k":10,"images":{"count":500},"pairs":"all","gold_rate":0.1}`},
		{"likert_per_image_top3_all_images", models.ModeLikert,
			`{"selection":"per_image","per_image_top_k":3,"rank":{"weights":{"CIDEr":1,"CLIPScore":1},"normalize":"zscore"}}`},
	}
	kinds := []string{models.DialectSQLite}
	if os.Getenv(modelstest.PostgresDSNEnv) != "" {
		kinds = append(kinds, models.DialectPostgres)
	}
	for _, kind := range kinds {
		b.Run(kind, func(b *testing.B) {
			s := modelstest.New(b, kind)
			stores := map[models.CampaignMode]int64{}
			for _, mode := range []models.CampaignMode{models.ModeLikert, models.ModePairwise} {
				// One campaign per mode; names must differ.
				id := loadBenchCampaign(b, s, mode)
				if err := s.UpdateCampaign(context.Background(), id, models.CampaignChanges{Name: ptr(fmt.Sprint("bench-", mode))}); err != nil {
					b.Fatal(err)
				}
				stores[mode] = id
			}
			svc := annotation.NewSelection(s, nil, nil)
			for _, c := range cases {
				b.Run(c.name, func(b *testing.B) {
					var pv *annotation.SelectionPreview
					var err error
					for b.Loop() {
						pv, err = svc.Preview(context.Background(), stores[c.mode], annotation.PreviewOptions{Thresholds: models.JSON(c.doc)})
						if err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(pv.Counts.Tasks), "tasks")
				})
			}
			// The commit of the first case: plan again inside the
			// transaction, delete the previous iteration's tasks, insert
			// the new ones with their links, audit.
			b.Run("commit_"+cases[0].name, func(b *testing.B) {
				id := stores[cases[0].mode]
				if err := s.UpdateCampaign(context.Background(), id, models.CampaignChanges{Thresholds: models.JSON(cases[0].doc)}); err != nil {
					b.Fatal(err)
				}
				var res *annotation.SelectionResult
				var err error
				for b.Loop() {
					if res, err = svc.Commit(context.Background(), 0, id, annotation.CommitOptions{Replace: true}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(res.Created), "tasks")
			})
		})
	}
}

func ptr[T any](v T) *T { return &v }
