package annotation_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"capeval/annotation"
	"capeval/models"
	"capeval/models/modelstest"
)

// benchQueue is a collecting campaign of `tasks` single tasks (the first
// `finished` of them complete) and `annotators` annotators, built with one
// bulk insert.
func benchQueue(b *testing.B, s *models.Store, tasks, finished, annotators int) (campaignID int64, users []int64) {
	b.Helper()
	ctx := context.Background()
	c := &models.Campaign{Name: "bench-queue", Mode: models.ModeLikert, Status: models.StatusCollecting}
	if err := s.CreateCampaign(ctx, c); err != nil {
		b.Fatal(err)
	}
	imgs := []models.Image{{CampaignID: c.ID, ExternalID: "img", SHA256: fmt.Sprintf("%064x", 1)}}
	if err := s.InsertImages(ctx, imgs); err != nil {
		b.Fatal(err)
	}
	k := models.Captioner{CampaignID: c.ID, Name: "m"}
	if err := s.CreateCaptioner(ctx, &k); err != nil {
		b.Fatal(err)
	}
	caps := []models.Caption{{CaptionerID: k.ID, ImageID: imgs[0].ID, Text: "a caption"}}
	if err := s.InsertCaptions(ctx, caps); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := s.GenerateTasks(ctx, c.ID, imgs[0].ID, caps[0].ID, 1, tasks, 1, finished); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d tasks (%d finished) inserted in %v", tasks, finished, time.Since(start).Round(time.Millisecond))
	for i := range annotators {
		u := &models.User{Email: fmt.Sprintf("bench%d@example.com", i), Role: models.RoleAnnotator}
		if err := s.CreateUser(ctx, u); err != nil {
			b.Fatal(err)
		}
		users = append(users, u.ID)
	}
	return c.ID, users
}

// BenchmarkQueueNext measures "next" alone at 10k and 1M tasks in the
// campaign, and at 1M of which 99% are finished: 200 annotators take turns
// on a clock that moves a lease length every 200 calls, so that about 200
// leases are live at any time (the picks walk past them) and each
// annotator's previous one has expired when its turn comes back. The cost
// must not grow with the tasks, finished or not.
func BenchmarkQueueNext(b *testing.B) {
	for _, size := range []struct {
		name            string
		tasks, finished int
	}{
		{"tasks=10k", 10_000, 0},
		{"tasks=1M", 1_000_000, 0},
		{"tasks=1M/finished=99pct", 1_000_000, 990_000},
	} {
		b.Run(size.name, func(b *testing.B) {
			s := modelstest.NewStore(b)
			const annotators = 200
			campaign, users := benchQueue(b, s, size.tasks, size.finished, annotators)
			var mu sync.Mutex
			now := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			q := annotation.NewQueue(s, nil, nil, annotation.QueueOptions{LeaseTTL: time.Minute, Now: clock})
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				mu.Lock()
				now = now.Add(time.Minute / annotators)
				mu.Unlock()
				t0 := time.Now()
				task, _, err := q.Next(ctx, users[i%annotators], campaign, 0)
				lat = append(lat, time.Since(t0))
				if err != nil || task == nil {
					b.Fatalf("next %d: %v, %v", i, task, err)
				}
			}
			b.StopTimer()
			reportLatency(b, lat)
		})
	}
}

// reportLatency adds the p50 and p99 of lat to the benchmark's figures.
func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
