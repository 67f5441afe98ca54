package autoeval

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"capeval/models/modelstest"
)

// TestWorkerLogsAnOutageOnce: a worker polling the job queue while its
// PostgreSQL is stopped logs one warning when the outage starts and one
// line when the database is back, not an error at every poll, and claims
// again afterwards.
func TestWorkerLogsAnOutageOnce(t *testing.T) {
	c := modelstest.NewFaultCluster(t)
	s := modelstest.OpenMigrated(t, c.NewDatabase(t))
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r := NewRunner(s, Scorers{}, log).WithOptions(RunnerOptions{Poll: 20 * time.Millisecond, Heartbeat: time.Second, StaleAfter: time.Hour, WorkerID: "w"})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); r.Run(ctx, 1) }()
	defer func() { cancel(); wg.Wait() }()

	time.Sleep(100 * time.Millisecond)
	if _, err := c.Ctl("stop", "-m", "immediate", "-w"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // some 50 polls
	if _, err := c.Ctl("start", "-w"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "database reachable again") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	wg.Wait()

	out := logs.String()
	for _, want := range []struct {
		line string
		n    int
	}{
		{"level=WARN msg=\"autoeval: database unavailable; the worker waits for it\"", 1},
		{"msg=\"autoeval: database reachable again\"", 1},
		{"level=ERROR", 0},
	} {
		if got := strings.Count(out, want.line); got != want.n {
			t.Errorf("%d lines with %s, want %d; the log:\n%s", got, want.line, want.n, out)
		}
	}
}
