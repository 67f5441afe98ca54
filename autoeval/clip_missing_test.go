package autoeval

import (
	"context"
	"strings"
	"testing"

	"capeval/autoeval/clip"
	"capeval/models"
	"capeval/models/modelstest"
)

// unusedCLIP is a CLIP scorer that fails the test if it is asked to score.
type unusedCLIP struct{ t *testing.T }

func (u unusedCLIP) Score(context.Context, []clip.Sample, int, clip.ImageLoader, clip.Metrics) (*clip.Scores, error) {
	u.t.Error("the CLIP scorer was called for a campaign without image files")
	return &clip.Scores{}, nil
}
func (unusedCLIP) Fingerprint() string { return "unused" }
func (unusedCLIP) Provider() string    { return "CPU" }

// TestCLIPImagesMissing: a campaign imported without its image files (text
// metrics and imported judgments only) gets its text scores, and a CLIP
// job that says, before scoring anything, that the images are missing.
func TestCLIPImagesMissing(t *testing.T) {
	s := modelstest.NewStore(t)
	ctx := context.Background()
	f := &fixture{store: s, campaign: &models.Campaign{Name: "no files", Mode: models.ModeLikert}}
	if err := s.CreateCampaign(ctx, f.campaign); err != nil {
		t.Fatal(err)
	}
	images := []models.Image{{CampaignID: f.campaign.ID, ExternalID: "1"}, {CampaignID: f.campaign.ID, ExternalID: "2"}}
	if err := s.InsertImages(ctx, images); err != nil {
		t.Fatal(err)
	}
	refs := []models.Reference{{ImageID: images[0].ID, Text: "a red square"}, {ImageID: images[1].ID, Text: "a blue circle"}}
	if err := s.InsertReferences(ctx, refs); err != nil {
		t.Fatal(err)
	}
	c := &models.Captioner{CampaignID: f.campaign.ID, Name: "m"}
	if err := s.CreateCaptioner(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertCaptions(ctx, []models.Caption{{CaptionerID: c.ID, ImageID: images[0].ID, Text: "a square"},
		{CaptionerID: c.ID, ImageID: images[1].ID, Text: "a circle"}}); err != nil {
		t.Fatal(err)
	}
	runner := NewRunner(s, Scorers{CLIP: unusedCLIP{t}, ImagePath: f.imagePath}, nil).WithOptions(fastOptions())
	text, err := runner.RunJob(ctx, startJob(t, f, KindText).ID, nil)
	if err != nil || text.Status != models.JobDone {
		t.Fatalf("text job %+v, %v: text metrics need no image files", text, err)
	}
	end, err := runner.RunJob(ctx, startJob(t, f, KindCLIP).ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if end.Status != models.JobFailed || !strings.Contains(end.Error, "2 of the campaign's 2 images were imported without their files (e.g. 1, 2)") ||
		!strings.Contains(end.Error, "CLIP metrics need the images") {
		t.Errorf("clip job %s: %q", end.Status, end.Error)
	}
}
