package autoeval

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"capeval/models"
	"capeval/models/modelstest"
)

// shutdownFaults is the real store with its shutdown writes failing once
// armed: the heartbeat that records the progress, or the release that
// hands the job back.
type shutdownFaults struct {
	*models.Store
	armed              atomic.Bool
	heartbeat, release error
}

func (s *shutdownFaults) JobHeartbeat(ctx context.Context, id int64, workerID string, p models.JobProgress) error {
	if s.armed.Load() && s.heartbeat != nil {
		return s.heartbeat
	}
	return s.Store.JobHeartbeat(ctx, id, workerID, p)
}

func (s *shutdownFaults) ReleaseJob(ctx context.Context, id int64, workerID string) error {
	if s.armed.Load() && s.release != nil {
		return s.release
	}
	return s.Store.ReleaseJob(ctx, id, workerID)
}

// syncBuffer is a log sink for several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestShutdownErrorsReported: when a runner stops mid-job and cannot write
// the job's progress or hand it back, RunJob returns the error and a
// worker logs it, instead of both dropping it; a failed progress write
// does not keep the job from being handed back.
func TestShutdownErrorsReported(t *testing.T) {
	errDisk := errors.New("disk on fire")
	tests := []struct {
		name               string
		heartbeat, release error
		wantQueued         bool
	}{
		{"progress write fails", errDisk, nil, true},
		{"release fails", nil, errDisk, false},
	}
	for _, tt := range tests {
		for _, via := range []string{"RunJob", "Run"} {
			t.Run(tt.name+" via "+via, func(t *testing.T) {
				s := modelstest.NewStore(t)
				f := seedDemo(t, s, "demo", t.TempDir())
				j := startJob(t, f, KindText)
				st := &shutdownFaults{Store: s, heartbeat: tt.heartbeat, release: tt.release}
				ctx, stop := context.WithCancel(context.Background())
				sc := &countingScorer{hook: func(ctx context.Context, call int64) error {
					if call == 2 {
						st.armed.Store(true)
						stop()
						return ctx.Err()
					}
					return nil
				}}
				var logs syncBuffer
				r := NewRunner(st, Scorers{Text: sc}, slog.New(slog.NewTextHandler(&logs, nil))).WithOptions(fastOptions())
				if via == "RunJob" {
					_, err := r.RunJob(ctx, j.ID, nil)
					if !errors.Is(err, errDisk) || !strings.Contains(err.Error(), "shutdown") {
						t.Errorf("RunJob = %v, want the shutdown write's error", err)
					}
				} else {
					r.Run(ctx, 1)
				}
				if out := logs.String(); !strings.Contains(out, "level=ERROR") || !strings.Contains(out, errDisk.Error()) {
					t.Errorf("the shutdown error is not logged:\n%s", out)
				}
				end, err := s.JobByID(context.Background(), j.ID)
				if err != nil {
					t.Fatal(err)
				}
				if queued := end.Status == models.JobQueued; queued != tt.wantQueued {
					t.Errorf("job %s after shutdown, want queued %t", end.Status, tt.wantQueued)
				}
			})
		}
	}
}
