package models_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"capeval/models"
	"capeval/models/modelstest"
)

// TestMetricsSnapshot: open tasks and live leases per collecting campaign
// (complete and set-aside tasks, expired leases and other campaigns left
// out), running jobs with their progress, and the queued jobs.
func TestMetricsSnapshot(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		now := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
		ann := &models.User{Email: "m@example.com", Role: models.RoleAnnotator}
		if err := s.CreateUser(ctx, ann); err != nil {
			t.Fatal(err)
		}
		other := &models.User{Email: "o@example.com", Role: models.RoleAnnotator}
		if err := s.CreateUser(ctx, other); err != nil {
			t.Fatal(err)
		}
		mk := func(name string, status models.CampaignStatus, tasks, finished int) (*models.Campaign, []int64) {
			c := &models.Campaign{Name: name, Mode: models.ModeLikert, Status: status}
			if err := s.CreateCampaign(ctx, c); err != nil {
				t.Fatal(err)
			}
			img := []models.Image{{CampaignID: c.ID, ExternalID: "1"}}
			if err := s.InsertImages(ctx, img); err != nil {
				t.Fatal(err)
			}
			capt := &models.Captioner{CampaignID: c.ID, Name: "m"}
			if err := s.CreateCaptioner(ctx, capt); err != nil {
				t.Fatal(err)
			}
			caps := []models.Caption{{CaptionerID: capt.ID, ImageID: img[0].ID, Text: "a dog"}}
			if err := s.InsertCaptions(ctx, caps); err != nil {
				t.Fatal(err)
			}
			rows := make([]models.Task, tasks)
			for i := range rows {
				rows[i] = models.Task{CampaignID: c.ID, ImageID: img[0].ID, Kind: models.TaskSingle, CaptionID: &caps[0].ID,
					RatingsWanted: 2, Position: i + 1}
				if i < finished {
					rows[i].RatingsDone = 2
				}
			}
			if err := s.InsertTasks(ctx, rows, nil); err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, tk := range rows {
				ids = append(ids, tk.ID)
			}
			return c, ids
		}
		open, openTasks := mk("open", models.StatusCollecting, 7, 2) // 5 open
		draft, draftTasks := mk("draft", models.StatusDraft, 3, 0)
		_, _ = mk("empty", models.StatusCollecting, 1, 1) // nothing open
		// Set one open task aside: it leaves the queue.
		for _, a := range []*models.User{ann, other} {
			if _, err := s.AddSkip(ctx, &models.Skip{TaskID: openTasks[6], AnnotatorID: a.ID, Reason: models.SkipImageBroken}); err != nil {
				t.Fatal(err)
			}
		}
		lease := func(task int64, u *models.User, expires time.Time) {
			if _, err := s.TakeLease(ctx, task, u.ID, now.Add(-time.Minute), expires); err != nil {
				t.Fatal(err)
			}
		}
		lease(openTasks[2], ann, now.Add(time.Minute))
		lease(openTasks[3], other, now.Add(time.Minute))
		lease(openTasks[4], ann, now.Add(-time.Second)) // expired
		lease(draftTasks[0], ann, now.Add(time.Minute)) // not collecting
		for i, status := range []models.JobStatus{models.JobQueued, models.JobQueued} {
			if err := s.CreateJob(ctx, &models.EvalJob{CampaignID: []int64{open.ID, draft.ID}[i], Kind: "clip"}); err != nil {
				t.Fatal(err, status)
			}
		}
		job := &models.EvalJob{CampaignID: open.ID, Kind: "text"}
		if err := s.CreateJob(ctx, job); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ClaimJobByID(ctx, job.ID, "w1", now); err != nil {
			t.Fatal(err)
		}
		if err := s.JobHeartbeat(ctx, job.ID, "w1", models.JobProgress{Done: 30, Total: 120, Device: "CPU"}); err != nil {
			t.Fatal(err)
		}

		snap, err := s.MetricsSnapshot(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprint(snap.Campaigns)
		want := fmt.Sprint([]models.CampaignQueueMetrics{{ID: open.ID, Name: "open", OpenTasks: 4, LiveLeases: 2}, {ID: open.ID + 2, Name: "empty"}})
		if got != want {
			t.Errorf("campaigns %s, want %s", got, want)
		}
		if len(snap.RunningJobs) != 1 || snap.RunningJobs[0] != (models.RunningJobMetrics{ID: job.ID, CampaignID: open.ID, Kind: "text", Done: 30, Total: 120, Device: "CPU"}) {
			t.Errorf("running jobs %+v, want job %d at 30/120 on CPU", snap.RunningJobs, job.ID)
		}
		if snap.QueuedJobs != 2 {
			t.Errorf("%d queued jobs, want 2", snap.QueuedJobs)
		}
		if st := s.DBStats(); st.OpenConnections < 1 || st.MaxOpenConnections < 1 {
			t.Errorf("pool stats %+v: want an open connection and a limit", st)
		}
	})
}
