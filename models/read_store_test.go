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

// TestCampaignReads: each read of a campaign's data sees that campaign
// only, in its stable order, streams stop when the callback says so, and
// the lookups find one row or ErrNotFound.
func TestCampaignReads(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		images, captions, err := loadCampaign(ctx, s, "a", 3, 2, 2)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := loadCampaign(ctx, s, "b", 2, 1, 1); err != nil {
			t.Fatal(err)
		}
		campaign := images[0].CampaignID
		stop := errors.New("stop")
		tests := []struct {
			name string
			read func() (string, error)
			want string
		}{
			{"captioners with counts and aggregates", func() (string, error) {
				cs, err := s.Captioners(ctx, campaign)
				var out []string
				for _, c := range cs {
					out = append(out, fmt.Sprintf("%s:%d:%v", c.Name, c.Captions, c.Scores["CIDEr"].Value))
				}
				return strings.Join(out, "|"), err
			}, "model-0:3:0.9|model-1:3:0"},
			{"captions of captioners, in ID order", func() (string, error) {
				cs, err := s.Captions(ctx, []int64{captions[3].CaptionerID, captions[0].CaptionerID})
				var out []string
				for _, c := range cs {
					out = append(out, fmt.Sprintf("%d:%s", c.ImageID-images[0].ID, c.Text))
				}
				return strings.Join(out, "|"), err
			}, "0:caption 0 by 0|1:caption 1 by 0|2:caption 2 by 0|0:caption 0 by 1|1:caption 1 by 1|2:caption 2 by 1"},
			{"caption scores of some metrics", func() (string, error) {
				var out []string
				err := s.EachCaptionScore(ctx, []int64{captions[0].CaptionerID, captions[3].CaptionerID}, []string{"CIDEr"},
					func(r models.CaptionScoreRow) error {
						out = append(out, fmt.Sprintf("%d:%s:%v:%s", r.CaptionID-captions[0].ID, r.Metric, r.Value, r.MetricVersion))
						return nil
					})
				return strings.Join(out, "|"), err
			}, "0:CIDEr:1.5:v1"},
			{"images without tags", func() (string, error) {
				is, err := s.Images(ctx, campaign, false)
				var out []string
				for _, im := range is {
					out = append(out, fmt.Sprintf("%d %s %.4s %s %v", im.ID-images[0].ID, im.ExternalID, im.SHA256, im.Tags, im.Width))
				}
				return strings.Join(out, "|"), err
			}, "0 img-000000 0000  64|1 img-000001 0000  64|2 img-000002 0000  64"},
			{"images with tags", func() (string, error) {
				is, err := s.Images(ctx, campaign, true)
				if err != nil || len(is) != 3 {
					return "", err
				}
				return string(is[0].Tags), nil
			}, "null"},
			{"images of a missing campaign", func() (string, error) {
				is, err := s.Images(ctx, 999, true)
				return fmt.Sprint(len(is)), err
			}, "0"},
			{"references by image and position", func() (string, error) {
				rs, err := s.References(ctx, campaign)
				var out []string
				for _, r := range rs {
					out = append(out, fmt.Sprintf("%d/%d %s", r.ImageID-images[0].ID, r.Position, r.Text))
				}
				return strings.Join(out, "|"), err
			}, "0/0 reference 0 of img-000000|0/1 reference 1 of img-000000|1/0 reference 0 of img-000001|1/1 reference 1 of img-000001|" +
				"2/0 reference 0 of img-000002|2/1 reference 1 of img-000002"},
			{"a reference walk stops", func() (string, error) {
				n := 0
				err := s.EachReference(ctx, campaign, func(models.Reference) error { n++; return stop })
				if !errors.Is(err, stop) {
					return "", fmt.Errorf("walk returned %v, want the callback's error", err)
				}
				return fmt.Sprint(n), nil
			}, "1"},
			{"a caption walk stops", func() (string, error) {
				n := 0
				err := s.EachCaption(ctx, []int64{captions[0].CaptionerID}, func(models.Caption) error { n++; return stop })
				if err != stop {
					return "", fmt.Errorf("walk returned %v, want the callback's error as is", err)
				}
				return fmt.Sprint(n), nil
			}, "1"},
			{"captioner by name", func() (string, error) {
				c, err := s.CaptionerByName(ctx, campaign, " model-1 ", "1")
				if err != nil {
					return "", err
				}
				_, err = s.CaptionerByName(ctx, campaign, "model-1", "2")
				return fmt.Sprintln(c.Name, c.CampaignID == campaign, errors.Is(err, models.ErrNotFound)), nil
			}, "model-1 true true\n"},
			{"image by external id", func() (string, error) {
				img, err := s.ImageByExternalID(ctx, campaign, "img-000001")
				if err != nil {
					return "", err
				}
				other, err := s.ImageByExternalID(ctx, campaign+1, "img-000001")
				if err != nil {
					return "", err
				}
				_, err = s.ImageByExternalID(ctx, campaign+1, "img-000002")
				return fmt.Sprint(img.ID == images[1].ID, img.Width, other.CampaignID == campaign+1, errors.Is(err, models.ErrNotFound)), nil
			}, "true 64 true true"},
		}
		err = s.InsertScoreRows(ctx, []models.Score{{CaptionID: captions[0].ID, Metric: "CIDEr", Value: 1.5, MetricVersion: "v1"},
			{CaptionID: captions[0].ID, Metric: "Bleu_4", Value: 0.2}},
			[]models.CaptionerScore{{CaptionerID: captions[0].CaptionerID, Metric: "CIDEr", Value: 0.9, N: 3}})
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := tt.read()
				if err != nil {
					t.Fatal(err)
				}
				if got != tt.want {
					t.Errorf("got  %s\nwant %s", got, tt.want)
				}
			})
		}
	})
}
