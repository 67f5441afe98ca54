package loadtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/png"

	"capeval/annotation"
	"capeval/models"
)

// SeedStore is what Seed writes through (models.Store).
type SeedStore interface {
	CreateCampaign(ctx context.Context, c *models.Campaign) error
	InsertImages(ctx context.Context, images []models.Image) error
	CreateCaptioner(ctx context.Context, c *models.Captioner) error
	InsertCaptions(ctx context.Context, captions []models.Caption) error
	InsertTasks(ctx context.Context, tasks []models.Task, links [][]models.TaskCaption) error
}

// Seed creates a collecting Likert campaign named name with n synthetic
// images (small PNGs in the image store), one captioner and one task per
// image wanting `wanted` ratings, open to every annotator: a queue to
// load-test. It returns the campaign.
func Seed(ctx context.Context, s SeedStore, images *annotation.ImageStore, name string, n, wanted int) (*models.Campaign, error) {
	if n <= 0 || wanted <= 0 {
		return nil, fmt.Errorf("loadtest: seed: want a positive number of tasks and ratings per task, got %d and %d", n, wanted)
	}
	c := &models.Campaign{Name: name, Mode: models.ModeLikert, Status: models.StatusCollecting,
		Instructions: "Synthetic load-test campaign: rate the caption against the picture."}
	if err := s.CreateCampaign(ctx, c); err != nil {
		return nil, fmt.Errorf("loadtest: seed campaign %q: %w", name, err)
	}
	imgs := make([]models.Image, n)
	for i := range imgs {
		b, err := seedPNG(i)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		sha := hex.EncodeToString(sum[:])
		if _, err := images.Put(bytes.NewReader(b), sha, "png", 1<<20); err != nil {
			return nil, fmt.Errorf("loadtest: seed image %d: %w", i, err)
		}
		imgs[i] = models.Image{CampaignID: c.ID, ExternalID: fmt.Sprintf("load-%06d.png", i), SHA256: sha,
			StorageKey: annotation.StorageKey(sha, "png"), Width: 8, Height: 6}
	}
	if err := s.InsertImages(ctx, imgs); err != nil {
		return nil, fmt.Errorf("loadtest: seed images: %w", err)
	}
	cap := models.Captioner{CampaignID: c.ID, Name: "loadtest", Version: "1"}
	if err := s.CreateCaptioner(ctx, &cap); err != nil {
		return nil, fmt.Errorf("loadtest: seed captioner: %w", err)
	}
	caps := make([]models.Caption, n)
	for i := range caps {
		caps[i] = models.Caption{CaptionerID: cap.ID, ImageID: imgs[i].ID, Text: fmt.Sprintf("a synthetic picture number %d", i)}
	}
	if err := s.InsertCaptions(ctx, caps); err != nil {
		return nil, fmt.Errorf("loadtest: seed captions: %w", err)
	}
	tasks := make([]models.Task, n)
	links := make([][]models.TaskCaption, n)
	for i := range tasks {
		tasks[i] = models.Task{CampaignID: c.ID, ImageID: imgs[i].ID, Kind: models.TaskSingle, CaptionID: &caps[i].ID,
			RatingsWanted: wanted, Seed: 1, Position: i + 1}
		links[i] = []models.TaskCaption{{CaptionID: caps[i].ID}}
	}
	if err := s.InsertTasks(ctx, tasks, links); err != nil {
		return nil, fmt.Errorf("loadtest: seed tasks: %w", err)
	}
	return c, nil
}

// seedPNG is an 8×6 PNG whose pixels depend on i, so that every image
// has its own hash.
func seedPNG(i int) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, 8, 6))
	for k := range img.Pix {
		img.Pix[k] = byte(i*31 + k*7)
	}
	img.Pix[0], img.Pix[1], img.Pix[2], img.Pix[3] = byte(i), byte(i>>8), byte(i>>16), 255
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("loadtest: seed image %d: %w", i, err)
	}
	return buf.Bytes(), nil
}
