package autoeval

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"capeval/models"
	"capeval/models/modelstest"
)

// seedSynthetic fills a campaign with images×5 references and captioners
// captions per image, from a seeded generator over a 300-word vocabulary.
func seedSynthetic(b *testing.B, s *models.Store, name string, images, captioners int) int64 {
	b.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, uint64(len(name))))
	words := make([]string, 300)
	for i := range words {
		words[i] = fmt.Sprintf("w%03d", i)
	}
	sentence := func() string {
		n := 8 + r.IntN(6)
		ws := make([]string, n)
		for i := range ws {
			ws[i] = words[r.IntN(len(words))]
		}
		return strings.Join(ws, " ") + "."
	}
	c := &models.Campaign{Name: name, Mode: models.ModeLikert}
	if err := s.CreateCampaign(ctx, c); err != nil {
		b.Fatal(err)
	}
	imgs := make([]models.Image, images)
	for i := range imgs {
		imgs[i] = models.Image{CampaignID: c.ID, ExternalID: fmt.Sprint(i), SHA256: fmt.Sprint(i), StorageKey: fmt.Sprint(i), Width: 1, Height: 1}
	}
	if err := s.InsertImages(ctx, imgs); err != nil {
		b.Fatal(err)
	}
	var refs []models.Reference
	for _, im := range imgs {
		for p := range 5 {
			refs = append(refs, models.Reference{ImageID: im.ID, Position: p, Text: sentence()})
		}
	}
	if err := s.InsertReferences(ctx, refs); err != nil {
		b.Fatal(err)
	}
	for k := range captioners {
		capt := &models.Captioner{CampaignID: c.ID, Name: fmt.Sprintf("m%d", k), Version: "1"}
		if err := s.CreateCaptioner(ctx, capt); err != nil {
			b.Fatal(err)
		}
		caps := make([]models.Caption, len(imgs))
		for i, im := range imgs {
			caps[i] = models.Caption{CaptionerID: capt.ID, ImageID: im.ID, Text: sentence()}
		}
		if err := s.InsertCaptions(ctx, caps); err != nil {
			b.Fatal(err)
		}
	}
	return c.ID
}

// BenchmarkTextJob runs a text job over 10 captioners × 2,000 images
// (20,000 captions, 120,000 stored scores): the whole job, reads, metrics
// and writes, on each database. Seeding is not timed.
func BenchmarkTextJob(b *testing.B) {
	for _, kind := range modelstest.Stores {
		b.Run(kind, func(b *testing.B) {
			s := modelstest.New(b, kind)
			ctx := context.Background()
			r := NewRunner(s, Scorers{}, nil).WithOptions(RunnerOptions{Heartbeat: time.Second})
			captions, i := 0, 0
			var elapsed time.Duration
			for b.Loop() {
				b.StopTimer()
				id := seedSynthetic(b, s, fmt.Sprintf("bench%d", i), 2000, 10)
				i++
				j := &models.EvalJob{CampaignID: id, Kind: KindText}
				if err := s.CreateJob(ctx, j); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				end, err := r.RunJob(ctx, j.ID, nil)
				elapsed += time.Since(start)
				if err != nil || end.Status != models.JobDone {
					b.Fatalf("job = %+v, %v", end, err)
				}
				captions += end.Done
			}
			b.ReportMetric(float64(captions)/elapsed.Seconds(), "captions/s")
		})
	}
}
