package models_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"capeval/models"
	"capeval/models/modelstest"
)

// loadCampaign inserts a campaign of nImages images with refsPer references
// each and captioners × nImages captions, in one transaction, as the demo
// loader and the import do.
func loadCampaign(ctx context.Context, s *models.Store, name string, nImages, refsPer, captioners int) (images []models.Image, captions []models.Caption, err error) {
	err = s.InTx(ctx, func(tx *models.Store) error {
		c := models.Campaign{Name: name, Mode: models.ModeLikert, Rubric: models.JSON(`{"criteria":["overall"]}`)}
		if err := tx.CreateCampaign(ctx, &c); err != nil {
			return err
		}
		images = make([]models.Image, nImages)
		for i := range images {
			images[i] = models.Image{CampaignID: c.ID, ExternalID: fmt.Sprintf("img-%06d", i),
				SHA256: fmt.Sprintf("%064x", i), StorageKey: fmt.Sprintf("ab/%064x", i), Width: 64, Height: 48}
		}
		if err := tx.InsertImages(ctx, images); err != nil {
			return err
		}
		refs := make([]models.Reference, 0, nImages*refsPer)
		for _, im := range images {
			for p := 0; p < refsPer; p++ {
				refs = append(refs, models.Reference{ImageID: im.ID, Position: p, Text: fmt.Sprintf("reference %d of %s", p, im.ExternalID)})
			}
		}
		if err := tx.InsertReferences(ctx, refs); err != nil {
			return err
		}
		for k := 0; k < captioners; k++ {
			cp := models.Captioner{CampaignID: c.ID, Name: fmt.Sprintf("model-%d", k), Version: "1"}
			if err := tx.CreateCaptioner(ctx, &cp); err != nil {
				return err
			}
			batch := make([]models.Caption, nImages)
			for i, im := range images {
				batch[i] = models.Caption{CaptionerID: cp.ID, ImageID: im.ID, Text: fmt.Sprintf("caption %d by %d", i, k)}
			}
			if err := tx.InsertCaptions(ctx, batch); err != nil {
				return err
			}
			captions = append(captions, batch...)
		}
		return nil
	})
	return images, captions, err
}

func TestBulkInsertSetsIDs(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		const nImages, refsPer, captioners = 2500, 5, 2 // more than one batch of each
		images, captions, err := loadCampaign(ctx, s, "bulk", nImages, refsPer, captioners)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int64]bool{}
		for _, im := range images {
			if im.ID == 0 || seen[im.ID] {
				t.Fatalf("image %s: id %d is zero or repeated", im.ExternalID, im.ID)
			}
			seen[im.ID] = true
		}
		// Each returned ID must name the row that was written from that element.
		for _, i := range []int{0, 999, 1000, 2499} {
			var got models.Image
			if err := s.GormDB().Take(&got, images[i].ID).Error; err != nil {
				t.Fatal(err)
			}
			if got.ExternalID != images[i].ExternalID || string(got.Tags) != "null" {
				t.Errorf("image id %d holds %q (tags %s), want %q", images[i].ID, got.ExternalID, got.Tags, images[i].ExternalID)
			}
		}
		for _, i := range []int{0, 2500, 4999} {
			var got models.Caption
			if err := s.GormDB().Take(&got, captions[i].ID).Error; err != nil {
				t.Fatal(err)
			}
			if got.Text != captions[i].Text {
				t.Errorf("caption id %d holds %q, want %q", captions[i].ID, got.Text, captions[i].Text)
			}
		}
		counts := []struct {
			table string
			want  int64
		}{{"images", nImages}, {"image_references", nImages * refsPer}, {"captions", nImages * captioners}, {"captioners", captioners}}
		for _, c := range counts {
			var n int64
			if err := s.GormDB().Table(c.table).Count(&n).Error; err != nil || n != c.want {
				t.Errorf("%s: %d rows (%v), want %d", c.table, n, err, c.want)
			}
		}
		got, err := s.CampaignByName(ctx, "bulk")
		if err != nil || string(got.Rubric) != `{"criteria":["overall"]}` {
			t.Errorf("CampaignByName = %+v, %v", got, err)
		}
		if _, err := s.CampaignByName(ctx, "nope"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("CampaignByName(nope) = %v, want ErrNotFound", err)
		}
	})
}

// An import that fails half-way leaves nothing behind.
func TestBulkInsertIsAllOrNothing(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		err := s.InTx(ctx, func(tx *models.Store) error {
			c := models.Campaign{Name: "half", Mode: models.ModeLikert}
			if err := tx.CreateCampaign(ctx, &c); err != nil {
				return err
			}
			imgs := make([]models.Image, 1500)
			for i := range imgs {
				imgs[i] = models.Image{CampaignID: c.ID, ExternalID: fmt.Sprint(i)}
			}
			imgs[1400].ExternalID = "7" // a duplicate in the second batch
			return tx.InsertImages(ctx, imgs)
		})
		if !errors.Is(err, models.ErrConflict) {
			t.Fatalf("import with a duplicate = %v, want ErrConflict", err)
		}
		for _, table := range []string{"campaigns", "images"} {
			var n int64
			if err := s.GormDB().Table(table).Count(&n).Error; err != nil || n != 0 {
				t.Errorf("%s: %d rows (%v) after the failed import, want 0", table, n, err)
			}
		}

		// Outside InTx, one call is still atomic on its own.
		c := models.Campaign{Name: "alone", Mode: models.ModeLikert}
		if err := s.CreateCampaign(ctx, &c); err != nil {
			t.Fatal(err)
		}
		imgs := make([]models.Image, 1500)
		for i := range imgs {
			imgs[i] = models.Image{CampaignID: c.ID, ExternalID: fmt.Sprint(i)}
		}
		imgs[1499].ExternalID = "3"
		if err := s.InsertImages(ctx, imgs); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("InsertImages with a duplicate = %v, want ErrConflict", err)
		}
		var n int64
		if err := s.GormDB().Table("images").Count(&n).Error; err != nil || n != 0 {
			t.Errorf("images: %d rows (%v) after the failed insert, want 0", n, err)
		}
	})
}

// BenchmarkInsertCaptions100k loads 100,000 captions (20 captioners × 5,000
// images, 5 references each) in one transaction, as an import does.
func BenchmarkInsertCaptions100k(b *testing.B) {
	for _, kind := range modelstest.Stores {
		b.Run(kind, func(b *testing.B) {
			if kind == models.DialectPostgres && os.Getenv(modelstest.PostgresDSNEnv) == "" {
				b.Skipf("%s is not set", modelstest.PostgresDSNEnv)
			}
			ctx := context.Background()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := modelstest.New(b, kind)
				b.StartTimer()
				if _, _, err := loadCampaign(ctx, s, "bench", 5000, 5, 20); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/100k-captions")
		})
	}
}
