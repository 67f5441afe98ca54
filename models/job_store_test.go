package models_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"capeval/models"
	"capeval/models/modelstest"
)

func newJobCampaign(t *testing.T, s *models.Store, name string) *models.Campaign {
	t.Helper()
	c := &models.Campaign{Name: name, Mode: models.ModeLikert}
	if err := s.CreateCampaign(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCreateJob(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		c := newJobCampaign(t, s, "jobs")
		j := &models.EvalJob{CampaignID: c.ID, Kind: "text", Done: 5, WorkerID: "x"}
		if err := s.CreateJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		if j.ID == 0 || j.Status != models.JobQueued || j.Done != 0 || j.WorkerID != "" {
			t.Fatalf("created job = %+v, want a fresh queued job", j)
		}
		tests := []struct {
			name string
			job  models.EvalJob
			want error
		}{
			{"same kind while queued", models.EvalJob{CampaignID: c.ID, Kind: "text"}, models.ErrConflict},
			{"other kind", models.EvalJob{CampaignID: c.ID, Kind: "clip"}, nil},
			{"missing campaign", models.EvalJob{CampaignID: c.ID + 100, Kind: "text"}, models.ErrNotFound},
			{"empty kind", models.EvalJob{CampaignID: c.ID, Kind: ""}, models.ErrInvalid},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := s.CreateJob(ctx, &tt.job)
				if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
					t.Fatalf("CreateJob = %v, want %v", err, tt.want)
				}
			})
		}
		// Once the first job has ended, a new one of its kind may start.
		if _, err := s.CancelJob(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateJob(ctx, &models.EvalJob{CampaignID: c.ID, Kind: "text"}); err != nil {
			t.Fatalf("CreateJob after cancel: %v", err)
		}
		list, err := s.ListJobs(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 3 || list[0].ID < list[1].ID {
			t.Fatalf("ListJobs = %d jobs (%+v), want 3 newest first", len(list), list)
		}
	})
}

func TestJobLifecycle(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		c := newJobCampaign(t, s, "life")
		j := &models.EvalJob{CampaignID: c.ID, Kind: "text"}
		if err := s.CreateJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		stale := time.Now().Add(-time.Minute)
		got, err := s.ClaimJob(ctx, "w1", stale)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != j.ID || got.Status != models.JobRunning || got.WorkerID != "w1" || got.Attempts != 1 || got.StartedAt == nil {
			t.Fatalf("claimed %+v", got)
		}
		if _, err := s.ClaimJob(ctx, "w2", stale); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("second claim with a fresh heartbeat = %v, want ErrNotFound", err)
		}
		if _, err := s.ClaimJobByID(ctx, j.ID, "w2", stale); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("ClaimJobByID of a running job = %v, want ErrConflict", err)
		}
		if err := s.JobHeartbeat(ctx, j.ID, "w1", models.JobProgress{Done: 3, Total: 10, Device: "cpu"}); err != nil {
			t.Fatal(err)
		}
		if err := s.JobHeartbeat(ctx, j.ID, "w2", models.JobProgress{Done: 4, Total: 10}); !errors.Is(err, models.ErrJobLost) {
			t.Fatalf("heartbeat of another worker = %v, want ErrJobLost", err)
		}
		// The heartbeat goes stale: w2 reclaims, and w1 has lost it.
		got, err = s.ClaimJob(ctx, "w2", time.Now().Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if got.WorkerID != "w2" || got.ClaimDone != 3 || got.Done != 3 || got.Attempts != 2 || got.Device != "cpu" {
			t.Fatalf("reclaimed %+v, want w2 with 3 done at claim, attempt 2", got)
		}
		if err := s.JobHeartbeat(ctx, j.ID, "w1", models.JobProgress{Done: 5, Total: 10}); !errors.Is(err, models.ErrJobLost) {
			t.Fatalf("heartbeat of the dead worker = %v, want ErrJobLost", err)
		}
		if err := s.FinishJob(ctx, j.ID, "w1", models.JobDone, models.JobProgress{Done: 10, Total: 10}, "", ""); !errors.Is(err, models.ErrJobLost) {
			t.Fatalf("finish by the dead worker = %v, want ErrJobLost", err)
		}
		if err := s.FinishJob(ctx, j.ID, "w2", models.JobQueued, models.JobProgress{}, "", ""); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("finish as queued = %v, want ErrInvalid", err)
		}
		// Release and claim by id.
		if err := s.ReleaseJob(ctx, j.ID, "w2"); err != nil {
			t.Fatal(err)
		}
		if got, err = s.ClaimJobByID(ctx, j.ID, "w3", stale); err != nil || got.WorkerID != "w3" {
			t.Fatalf("ClaimJobByID after release = %+v, %v", got, err)
		}
		if err := s.FinishJob(ctx, j.ID, "w3", models.JobDone, models.JobProgress{Done: 10, Total: 10}, "", "note"); err != nil {
			t.Fatal(err)
		}
		end, err := s.JobByID(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if end.Status != models.JobDone || end.Done != 10 || end.Notes != "note" || end.FinishedAt == nil {
			t.Fatalf("finished job = %+v", end)
		}
		if _, err := s.CancelJob(ctx, j.ID); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("cancel of a done job = %v, want ErrConflict", err)
		}
		if _, err := s.CancelJob(ctx, j.ID+99); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("cancel of a missing job = %v, want ErrNotFound", err)
		}
		if _, err := s.ClaimJobByID(ctx, j.ID+99, "w3", stale); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("claim of a missing job = %v, want ErrNotFound", err)
		}
		// Cancel of a running job: the worker loses it.
		j2 := &models.EvalJob{CampaignID: c.ID, Kind: "text"}
		if err := s.CreateJob(ctx, j2); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ClaimJob(ctx, "w4", stale); err != nil {
			t.Fatal(err)
		}
		if cj, err := s.CancelJob(ctx, j2.ID); err != nil || cj.Status != models.JobCancelled {
			t.Fatalf("cancel running = %+v, %v", cj, err)
		}
		if err := s.JobHeartbeat(ctx, j2.ID, "w4", models.JobProgress{}); !errors.Is(err, models.ErrJobLost) {
			t.Fatalf("heartbeat after cancel = %v, want ErrJobLost", err)
		}
	})
}

// TestClaimExclusive has four workers claim twenty jobs at once: each job
// goes to exactly one worker.
func TestClaimExclusive(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		const jobs = 20
		for i := range jobs {
			c := newJobCampaign(t, s, fmt.Sprintf("c%d", i))
			if err := s.CreateJob(ctx, &models.EvalJob{CampaignID: c.ID, Kind: "text"}); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		owner := map[int64]string{}
		var wg sync.WaitGroup
		errc := make(chan error, 4)
		for w := range 4 {
			worker := fmt.Sprintf("w%d", w)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					j, err := s.ClaimJob(ctx, worker, time.Now().Add(-time.Hour))
					if errors.Is(err, models.ErrNotFound) {
						return
					}
					if err != nil {
						errc <- err
						return
					}
					mu.Lock()
					if prev, ok := owner[j.ID]; ok {
						errc <- fmt.Errorf("job %d claimed by %s and %s", j.ID, prev, worker)
					}
					owner[j.ID] = worker
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Error(err)
		}
		if len(owner) != jobs {
			t.Fatalf("%d jobs claimed, want %d", len(owner), jobs)
		}
	})
}

func TestScoreStore(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		c := newJobCampaign(t, s, "scores")
		imgs := []models.Image{
			{CampaignID: c.ID, ExternalID: "1", SHA256: "a", StorageKey: "a.png", Width: 1, Height: 1},
			{CampaignID: c.ID, ExternalID: "2", SHA256: "b", StorageKey: "b.png", Width: 1, Height: 1},
		}
		if err := s.InsertImages(ctx, imgs); err != nil {
			t.Fatal(err)
		}
		refs := []models.Reference{
			{ImageID: imgs[0].ID, Position: 1, Text: "second"},
			{ImageID: imgs[0].ID, Position: 0, Text: "first"},
		}
		if err := s.InsertReferences(ctx, refs); err != nil {
			t.Fatal(err)
		}
		capt := &models.Captioner{CampaignID: c.ID, Name: "m", Version: "1"}
		if err := s.CreateCaptioner(ctx, capt); err != nil {
			t.Fatal(err)
		}
		caps := []models.Caption{{CaptionerID: capt.ID, ImageID: imgs[1].ID, Text: "b"}, {CaptionerID: capt.ID, ImageID: imgs[0].ID, Text: "a"}}
		if err := s.InsertCaptions(ctx, caps); err != nil {
			t.Fatal(err)
		}
		put := []models.Score{
			{CaptionID: caps[0].ID, Metric: "CIDEr", Value: 1, MetricVersion: "v1"},
			{CaptionID: caps[1].ID, Metric: "CIDEr", Value: 2, MetricVersion: "v1"},
		}
		if err := s.PutScores(ctx, put); err != nil {
			t.Fatal(err)
		}
		// A rescore replaces value and version.
		if err := s.PutScores(ctx, []models.Score{{CaptionID: caps[0].ID, Metric: "CIDEr", Value: 3, MetricVersion: "v2"}}); err != nil {
			t.Fatal(err)
		}
		var got []models.CaptionScoreRow
		if err := s.EachCaptionScore(ctx, []int64{capt.ID}, []string{"CIDEr"}, func(r models.CaptionScoreRow) error {
			got = append(got, r)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(got, func(a, b models.CaptionScoreRow) int { return cmp.Compare(a.CaptionID, b.CaptionID) })
		if want := []models.CaptionScoreRow{{CaptionID: caps[0].ID, Metric: "CIDEr", Value: 3, MetricVersion: "v2"},
			{CaptionID: caps[1].ID, Metric: "CIDEr", Value: 2, MetricVersion: "v1"}}; !slices.Equal(got, want) {
			t.Fatalf("caption scores after a rescore = %+v, want %+v", got, want)
		}
		if err := s.PutScores(ctx, []models.Score{{CaptionID: caps[0].ID + 100, Metric: "CIDEr"}}); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("score of a missing caption = %v, want ErrInvalid", err)
		}
		agg := []models.CaptionerScore{{CaptionerID: capt.ID, Metric: "CIDEr", Value: 1.5, MetricVersion: "v1", N: 2}}
		if err := s.PutCaptionerScores(ctx, agg); err != nil {
			t.Fatal(err)
		}
		agg[0].Value, agg[0].N = 2.5, 1
		if err := s.PutCaptionerScores(ctx, agg); err != nil {
			t.Fatal(err)
		}
		sum, err := s.Captioners(ctx, c.ID)
		if err != nil || len(sum) != 1 || len(sum[0].Scores) != 1 || sum[0].Scores["CIDEr"].Value != 2.5 || sum[0].Scores["CIDEr"].N != 1 {
			t.Fatalf("captioner aggregates after a rescore = %+v, %v", sum, err)
		}
	})
}
