package autoeval

import (
	"context"
	"sync"
	"testing"
	"time"

	"capeval/models"
	"capeval/models/modelstest"
)

// TestRunToEnd: RunToEnd starts a job, or adopts the queued one, and runs
// it here; a job running in another worker is followed to its end; an
// interrupted run hands the job back and says so by its status.
func TestRunToEnd(t *testing.T) {
	tests := []struct {
		name string
		// prepare may queue or claim a job before RunToEnd; it returns
		// the id RunToEnd must end with (0: a new one) and, for a job
		// another worker holds, how that worker runs it once followed.
		prepare    func(t *testing.T, f *fixture) (int64, func(ctx context.Context))
		interrupt  bool // cancel the context at the second captioner
		wantStatus models.JobStatus
		wantDone   int
		wantFollow bool
	}{
		{name: "a new job", wantStatus: models.JobDone, wantDone: 192,
			prepare: func(t *testing.T, f *fixture) (int64, func(context.Context)) { return 0, nil }},
		{name: "the queued job is adopted", wantStatus: models.JobDone, wantDone: 192,
			prepare: func(t *testing.T, f *fixture) (int64, func(context.Context)) { return startJob(t, f, KindText).ID, nil }},
		{name: "a job in another worker is followed", wantStatus: models.JobDone, wantDone: 192, wantFollow: true,
			prepare: func(t *testing.T, f *fixture) (int64, func(context.Context)) {
				id := startJob(t, f, KindText).ID
				other := NewRunner(f.store, Scorers{}, nil).WithOptions(fastOptions())
				j, err := f.store.ClaimJobByID(context.Background(), id, "elsewhere/0", time.Now().Add(-time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				return id, func(ctx context.Context) { _ = other.execute(ctx, j, "elsewhere/0", nil) }
			}},
		{name: "an interrupted run hands the job back", interrupt: true, wantStatus: models.JobQueued, wantDone: 48,
			prepare: func(t *testing.T, f *fixture) (int64, func(context.Context)) { return 0, nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := modelstest.NewStore(t)
			f := seedDemo(t, s, "demo", t.TempDir())
			wantID, otherWorker := tt.prepare(t, f)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sc := &countingScorer{hook: func(ctx context.Context, call int64) error {
				if tt.interrupt && call == 2 {
					cancel()
					return ctx.Err()
				}
				return nil
			}}
			r := NewRunner(s, Scorers{Text: sc}, nil).WithOptions(fastOptions())
			var once sync.Once
			var wg sync.WaitGroup
			followed := false
			progress := func(j *Job, following bool) {
				if !following {
					return
				}
				followed = true
				if otherWorker != nil {
					// The other worker gets on with it once followed.
					once.Do(func() { wg.Add(1); go func() { defer wg.Done(); otherWorker(context.Background()) }() })
				}
			}
			end, err := r.RunToEnd(ctx, NewJobs(s, false, nil), f.campaign.ID, KindText, progress)
			wg.Wait()
			if err != nil {
				t.Fatal(err)
			}
			if end.Status != tt.wantStatus || end.Done != tt.wantDone || (wantID != 0 && end.ID != wantID) {
				t.Errorf("ended %+v, want %s with %d done (job %d)", end, tt.wantStatus, tt.wantDone, wantID)
			}
			if followed != tt.wantFollow {
				t.Errorf("followed %v, want %v", followed, tt.wantFollow)
			}
			if tt.wantFollow && sc.calls.Load() != 0 {
				t.Errorf("the follower scored %d captioners itself", sc.calls.Load())
			}
		})
	}
}
