package models_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"capeval/models"
	"capeval/models/modelstest"
)

// TestImportQueries: the import's reads see one campaign only, in a stable
// order, and stop when the callback says so.
func TestImportQueries(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		images, _, err := loadCampaign(ctx, s, "a", 3, 2, 2)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := loadCampaign(ctx, s, "b", 2, 1, 1); err != nil {
			t.Fatal(err)
		}
		campaign := images[0].CampaignID

		keys, err := s.CampaignImageKeys(ctx, campaign)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, k := range keys {
			got = append(got, fmt.Sprintf("%d %s %.4s", k.ID-images[0].ID, k.ExternalID, k.SHA256))
		}
		if want := "0 img-000000 0000|1 img-000001 0000|2 img-000002 0000"; strings.Join(got, "|") != want {
			t.Errorf("image keys %q, want %q", strings.Join(got, "|"), want)
		}
		if keys, err := s.CampaignImageKeys(ctx, 999); err != nil || len(keys) != 0 {
			t.Errorf("keys of a missing campaign: %v, %v", keys, err)
		}

		got = nil
		err = s.EachReference(ctx, campaign, func(id int64, pos int, text string) error {
			got = append(got, fmt.Sprintf("%d/%d %s", id-images[0].ID, pos, text))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 6 || got[0] != "0/0 reference 0 of img-000000" || got[5] != "2/1 reference 1 of img-000002" {
			t.Errorf("references %q", got)
		}
		stop := errors.New("stop")
		n := 0
		if err := s.EachReference(ctx, campaign, func(int64, int, string) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
			t.Errorf("stopping the walk: %v after %d rows", err, n)
		}

		c, err := s.CaptionerByName(ctx, campaign, " model-1 ", "1")
		if err != nil || c.Name != "model-1" || c.CampaignID != campaign {
			t.Fatalf("captioner %+v, %v", c, err)
		}
		if _, err := s.CaptionerByName(ctx, campaign, "model-1", "2"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("another version: %v, want ErrNotFound", err)
		}
		got = nil
		if err := s.EachCaption(ctx, c.ID, func(id int64, text string) error {
			got = append(got, fmt.Sprintf("%d %s", id-images[0].ID, text))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if want := "0 caption 0 by 1|1 caption 1 by 1|2 caption 2 by 1"; strings.Join(got, "|") != want {
			t.Errorf("captions %q, want %q", strings.Join(got, "|"), want)
		}

		img, err := s.ImageByExternalID(ctx, campaign, "img-000001")
		if err != nil || img.ID != images[1].ID || img.Width != 64 {
			t.Errorf("image by external id: %+v, %v", img, err)
		}
		if other, err := s.ImageByExternalID(ctx, campaign+1, "img-000001"); err != nil || other.ID == images[1].ID || other.CampaignID != campaign+1 {
			t.Errorf("the same id in the other campaign: %+v, %v", other, err)
		}
		if _, err := s.ImageByExternalID(ctx, campaign+1, "img-000002"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("an id only the first campaign has: %v, want ErrNotFound", err)
		}
	})
}
