package autoeval

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"capeval/models"
	"capeval/models/modelstest"
)

// TestWorkersOnOneDatabase is TestRunnersShareTheQueue with what separate
// machines have: two runners, each on a Store of its own (its own
// connection pool) on one database, work through eight jobs. On PostgreSQL
// their claims meet in FOR UPDATE SKIP LOCKED, on SQLite in the write lock
// of one file. Every job is claimed once and done, every captioner scored
// once, and the scores are those of `capeval score`.
func TestWorkersOnOneDatabase(t *testing.T) {
	tests := []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), models.SQLiteFile) }},
		{"postgres", func(t *testing.T) string { return modelstest.NewPostgresDatabase(t) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := tt.dsn(t)
			seedStore := modelstest.OpenMigrated(t, dsn)
			dir := t.TempDir()
			var fixtures []*fixture
			var jobs []int64
			for i := range 8 {
				f := seedDemo(t, seedStore, fmt.Sprintf("c%d", i), dir)
				fixtures = append(fixtures, f)
				jobs = append(jobs, startJob(t, f, KindText).ID)
			}
			ctx, stop := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			scorers := []*countingScorer{{}, {}}
			for i, sc := range scorers {
				store := modelstest.OpenMigrated(t, dsn)
				opts := fastOptions()
				opts.WorkerID = fmt.Sprintf("machine-%d", i)
				r := NewRunner(store, Scorers{Text: sc}, nil).WithOptions(opts)
				wg.Add(1)
				go func() { defer wg.Done(); r.Run(ctx, 2) }()
			}
			byWorker := map[string]int{}
			for _, id := range jobs {
				end := waitJob(t, seedStore, id, 60*time.Second)
				if end.Status != models.JobDone || end.Attempts != 1 || end.Done != end.Total {
					t.Errorf("job %d ended %s after %d claims with %d/%d, want done after 1", id, end.Status, end.Attempts, end.Done, end.Total)
				}
				byWorker[end.WorkerID[:len("machine-0")]]++
			}
			stop()
			wg.Wait()
			if got := scorers[0].calls.Load() + scorers[1].calls.Load(); got != 8*4 {
				t.Fatalf("%d scorer calls for 8 jobs of 4 captioners, want 32", got)
			}
			for _, f := range fixtures {
				f.checkScores(t)
			}
			t.Logf("jobs by machine: %v", byWorker)
		})
	}
}
