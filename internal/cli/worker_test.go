package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"capeval/autoeval"
	"capeval/models"
	"capeval/models/modelstest"
)

// TestWorkerProcesses builds capeval and runs real `capeval worker`
// processes on one queue:
// two workers work through ten jobs and each job is claimed once, run once
// and done (the claims and ends in the two processes' logs, the attempts
// in the database); SIGTERM stops an idle worker with exit code 0; SIGTERM
// in the middle of a long job hands it back with its progress, and the
// next worker resumes it to the end. On PostgreSQL the claims go through
// FOR UPDATE SKIP LOCKED, on SQLite through the write lock of one file.
func TestWorkerProcesses(t *testing.T) {
	bin := buildCapeval(t)
	for _, kind := range modelstest.Stores {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			dsn := "sqlite:" + filepath.Join(dir, models.SQLiteFile)
			if kind == models.DialectPostgres {
				dsn = modelstest.NewPostgresDatabase(t)
			}
			store := modelstest.OpenMigrated(t, dsn)
			ctx := context.Background()
			a, b := startWorker(t, bin, dsn, dir, "a"), startWorker(t, bin, dsn, dir, "b")
			jobs := map[int64]bool{}
			for i := range 10 {
				c := seedTextCampaign(t, store, fmt.Sprintf("w%d", i), 4, 40)
				jobs[queueText(t, store, c.ID)] = true
			}
			for id := range jobs {
				if end := waitEnded(t, store, id, 120*time.Second); end.Status != models.JobDone || end.Attempts != 1 || end.Done != end.Total || end.Total != 160 {
					t.Errorf("job %d ended %s after %d claims, %d/%d done; want done once, 160/160", id, end.Status, end.Attempts, end.Done, end.Total)
				}
			}
			for _, w := range []*workerProc{a, b} {
				if code := w.stop(t); code != 0 {
					t.Errorf("worker %s exited %d after SIGTERM:\n%s", w.name, code, w.logs())
				}
			}
			claimed, done := map[int64]int{}, map[int64]int{}
			per := map[string]int{}
			for _, w := range []*workerProc{a, b} {
				for _, l := range w.lines() {
					switch l.Msg {
					case "autoeval: job claimed":
						claimed[l.Job]++
						per[w.name]++
					case "autoeval: job done":
						done[l.Job]++
					}
				}
			}
			for id := range jobs {
				if claimed[id] != 1 || done[id] != 1 {
					t.Errorf("job %d: claimed %d times and done %d times in the workers' logs, want once each", id, claimed[id], done[id])
				}
			}
			t.Logf("jobs per worker: %v", per)

			// Shutdown mid-job: the job goes back to the queue with what is
			// done, and another worker finishes it.
			c := seedTextCampaign(t, store, "long", 40, 400)
			c1 := startWorker(t, bin, dsn, dir, "c1")
			id := queueText(t, store, c.ID)
			mid := waitJob(t, store, id, 60*time.Second, func(j *models.EvalJob) bool { return j.Status == models.JobRunning && j.Done > 0 })
			if code := c1.stop(t); code != 0 {
				t.Fatalf("worker exited %d after SIGTERM mid-job:\n%s", code, c1.logs())
			}
			back, err := store.JobByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if back.Status != models.JobQueued || back.WorkerID != "" || back.Done < mid.Done || back.Done >= back.Total {
				t.Fatalf("after SIGTERM mid-job the job is %s (worker %q) with %d/%d done, want queued, no worker, %d or more but not all done",
					back.Status, back.WorkerID, back.Done, back.Total, mid.Done)
			}
			if !c1.logged("autoeval: job released at shutdown") {
				t.Errorf("the worker did not log the hand-back:\n%s", c1.logs())
			}
			c2 := startWorker(t, bin, dsn, dir, "c2")
			end := waitEnded(t, store, id, 120*time.Second)
			if end.Status != models.JobDone || end.Attempts != 2 || end.Done != end.Total {
				t.Fatalf("resumed job ended %s after %d claims, %d/%d", end.Status, end.Attempts, end.Done, end.Total)
			}
			if code := c2.stop(t); code != 0 {
				t.Errorf("worker c2 exited %d:\n%s", code, c2.logs())
			}
			t.Logf("long job handed back at %d/%d, resumed to the end", back.Done, back.Total)
		})
	}
}

// buildCapeval builds the capeval binary into the test's temporary
// directory with the flags this test binary was built with (race detector,
// build tags, cgo), so that the build reuses the packages compiled for the
// test: a link, seconds.
func buildCapeval(t *testing.T) string {
	t.Helper()
	// go test puts its own GOROOT/bin first on the test's PATH.
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command to build capeval with: %v", err)
	}
	args := []string{"build", "-o", filepath.Join(t.TempDir(), "capeval")}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch {
			case s.Key == "-race" && s.Value == "true":
				args = append(args, "-race")
			case s.Key == "-tags" && s.Value != "":
				args = append(args, "-tags", s.Value)
			}
		}
	}
	bin := args[2]
	args = append(args, "capeval")
	start := time.Now()
	cmd := exec.Command(goCmd, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("go %s: %v", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return bin
}

// workerProc is one `capeval worker` child process and its JSON log.
type workerProc struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  []logLine
	raw  strings.Builder
	done chan int
}

type logLine struct {
	Msg string `json:"msg"`
	Job int64  `json:"job"`
}

// startWorker starts `capeval worker` on dsn and waits for its runner.
func startWorker(t *testing.T, bin, dsn, dir, name string) *workerProc {
	t.Helper()
	cmd := exec.Command(bin, "worker")
	cmd.Env = append(os.Environ(), "CAPEVAL_DB="+dsn, "CAPEVAL_DATA_DIR="+dir,
		"CAPEVAL_LOG_FORMAT=json", "CAPEVAL_LOG_LEVEL=info", "CAPEVAL_CLIP_MODEL=")
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &workerProc{name: name, cmd: cmd, done: make(chan int, 1)}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(errPipe)
		once := sync.Once{}
		for sc.Scan() {
			var l logLine
			_ = json.Unmarshal(sc.Bytes(), &l)
			w.mu.Lock()
			w.log = append(w.log, l)
			w.raw.WriteString(sc.Text() + "\n")
			w.mu.Unlock()
			if l.Msg == "autoeval: worker started" {
				once.Do(func() { close(ready) })
			}
		}
		_ = cmd.Wait()
		w.done <- cmd.ProcessState.ExitCode()
	}()
	// Should the test fail early, the child must not outlive it.
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		t.Fatalf("worker %s did not start in 60 s:\n%s", name, w.logs())
	}
	return w
}

// stop sends SIGTERM and returns the exit code of `capeval worker`.
func (w *workerProc) stop(t *testing.T) int {
	t.Helper()
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-w.done:
		return code
	case <-time.After(30 * time.Second):
		t.Fatalf("worker %s still running 30 s after SIGTERM:\n%s", w.name, w.logs())
		return -1
	}
}

func (w *workerProc) lines() []logLine {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]logLine(nil), w.log...)
}

func (w *workerProc) logs() string { w.mu.Lock(); defer w.mu.Unlock(); return w.raw.String() }

func (w *workerProc) logged(msg string) bool {
	for _, l := range w.lines() {
		if l.Msg == msg {
			return true
		}
	}
	return false
}

// seedTextCampaign makes a campaign of n images with two references each
// and k captioners with one caption per image: enough for text jobs, which
// read no image file.
func seedTextCampaign(t *testing.T, s *models.Store, name string, k, n int) *models.Campaign {
	t.Helper()
	ctx := context.Background()
	words := strings.Fields("a the dog cat man woman red blue small large sits runs on near beside table street park ball tree car")
	r := rand.New(rand.NewPCG(uint64(len(name)), uint64(k*n)))
	sentence := func() string {
		w := make([]string, 6+r.IntN(6))
		for i := range w {
			w[i] = words[r.IntN(len(words))]
		}
		return strings.Join(w, " ")
	}
	c := &models.Campaign{Name: name, Mode: models.ModeLikert}
	if err := s.CreateCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	images := make([]models.Image, n)
	for i := range images {
		images[i] = models.Image{CampaignID: c.ID, ExternalID: fmt.Sprint(i + 1)}
	}
	if err := s.InsertImages(ctx, images); err != nil {
		t.Fatal(err)
	}
	var refs []models.Reference
	for _, img := range images {
		refs = append(refs, models.Reference{ImageID: img.ID, Position: 0, Text: sentence()},
			models.Reference{ImageID: img.ID, Position: 1, Text: sentence()})
	}
	if err := s.InsertReferences(ctx, refs); err != nil {
		t.Fatal(err)
	}
	for j := range k {
		capt := &models.Captioner{CampaignID: c.ID, Name: fmt.Sprintf("m%02d", j)}
		if err := s.CreateCaptioner(ctx, capt); err != nil {
			t.Fatal(err)
		}
		rows := make([]models.Caption, n)
		for i, img := range images {
			rows[i] = models.Caption{CaptionerID: capt.ID, ImageID: img.ID, Text: sentence()}
		}
		if err := s.InsertCaptions(ctx, rows); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func queueText(t *testing.T, s *models.Store, campaignID int64) int64 {
	t.Helper()
	j, err := autoeval.NewJobs(s, false, nil).Start(context.Background(), campaignID, autoeval.KindText)
	if err != nil {
		t.Fatal(err)
	}
	return j.ID
}

// waitJob polls job id until ok holds for it.
func waitJob(t *testing.T, s *models.Store, id int64, limit time.Duration, ok func(*models.EvalJob) bool) *models.EvalJob {
	t.Helper()
	for deadline := time.Now().Add(limit); ; time.Sleep(5 * time.Millisecond) {
		j, err := s.JobByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ok(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d is %s with %d/%d after %v", id, j.Status, j.Done, j.Total, limit)
		}
	}
}

func waitEnded(t *testing.T, s *models.Store, id int64, limit time.Duration) *models.EvalJob {
	t.Helper()
	return waitJob(t, s, id, limit, func(j *models.EvalJob) bool { return autoeval.NewJobView(j).Ended() })
}
