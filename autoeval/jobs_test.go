package autoeval

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"capeval/annotation/demo"
	"capeval/autoeval/textmetrics"
	"capeval/models"
	"capeval/models/modelstest"
)

// fixture is a campaign holding the demo dataset: 48 images with 5
// references each, 4 captioners with one caption per image.
type fixture struct {
	store    *models.Store
	campaign *models.Campaign
	data     *demo.Dataset
	imageDir string
}

func seedDemo(t testing.TB, s *models.Store, name, imageDir string) *fixture {
	t.Helper()
	return seedDemoRefs(t, s, name, imageDir, nil)
}

// seedDemoRefs is seedDemo without the references of the images (by index
// into the demo's images) for which skipRefs is true.
func seedDemoRefs(t testing.TB, s *models.Store, name, imageDir string, skipRefs func(i int) bool) *fixture {
	t.Helper()
	ctx := context.Background()
	data := demo.Generate(demo.DefaultSeed)
	f := &fixture{store: s, data: data, imageDir: imageDir}
	f.campaign = &models.Campaign{Name: name, Mode: models.ModeLikert}
	if err := s.CreateCampaign(ctx, f.campaign); err != nil {
		t.Fatal(err)
	}
	images := make([]models.Image, len(data.Images))
	for i, img := range data.Images {
		sum := sha256.Sum256(img.PNG)
		h := hex.EncodeToString(sum[:])
		key := filepath.Join(h[:2], h+".png")
		if err := os.MkdirAll(filepath.Join(imageDir, h[:2]), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(imageDir, key), img.PNG, 0o644); err != nil {
			t.Fatal(err)
		}
		images[i] = models.Image{CampaignID: f.campaign.ID, ExternalID: fmt.Sprint(img.ID), SHA256: h, StorageKey: key,
			Width: img.Width, Height: img.Height}
	}
	if err := s.InsertImages(ctx, images); err != nil {
		t.Fatal(err)
	}
	byDemoID := map[int]int64{}
	var refs []models.Reference
	for i, img := range data.Images {
		byDemoID[img.ID] = images[i].ID
		if skipRefs != nil && skipRefs(i) {
			continue
		}
		for pos, text := range img.References {
			refs = append(refs, models.Reference{ImageID: images[i].ID, Position: pos, Text: text})
		}
	}
	if err := s.InsertReferences(ctx, refs); err != nil {
		t.Fatal(err)
	}
	for _, c := range data.Captioners {
		capt := &models.Captioner{CampaignID: f.campaign.ID, Name: c.Name, Version: c.Version}
		if err := s.CreateCaptioner(ctx, capt); err != nil {
			t.Fatal(err)
		}
		rows := make([]models.Caption, len(c.Captions))
		for i, cp := range c.Captions {
			rows[i] = models.Caption{CaptionerID: capt.ID, ImageID: byDemoID[cp.ImageID], Text: cp.Text}
		}
		if err := s.InsertCaptions(ctx, rows); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// imagePath resolves storage keys under the fixture's image folder, as the
// image store's Path does under DATA_DIR/images.
func (f *fixture) imagePath(key string) (string, error) { return filepath.Join(f.imageDir, key), nil }

// want returns what `capeval score` computes for each demo captioner's
// results file: ScoreText over its captions in file order.
func (f *fixture) want(t testing.TB) map[string]*textmetrics.Result {
	t.Helper()
	refs := map[int][]string{}
	for _, img := range f.data.Images {
		refs[img.ID] = img.References
	}
	out := map[string]*textmetrics.Result{}
	for _, c := range f.data.Captioners {
		items := make([]TextItem, len(c.Captions))
		for i, cp := range c.Captions {
			items[i] = TextItem{ImageID: fmt.Sprint(cp.ImageID), Hypothesis: cp.Text, References: refs[cp.ImageID]}
		}
		res, err := ScoreText(items, 1)
		if err != nil {
			t.Fatal(err)
		}
		out[c.Name] = res
	}
	return out
}

// checkScores compares the stored text scores with `capeval score`'s,
// exactly: corpus scores and every caption's.
func (f *fixture) checkScores(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	want := f.want(t)
	rep, err := CaptionerScoresReport(ctx, f.store, f.campaign.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Captioners) != len(f.data.Captioners) {
		t.Fatalf("%d captioners in the report, want %d", len(rep.Captioners), len(f.data.Captioners))
	}
	for _, c := range rep.Captioners {
		w := want[c.Name]
		for j, name := range w.Names {
			if got := c.Scores[name]; got != w.Corpus[j] || c.N[name] != len(w.ImageIDs) || c.MetricVersions[name] != TextMetricVersion {
				t.Errorf("%s %s = %v (n %d, version %q), want %v (n %d)", c.Name, name, got, c.N[name], c.MetricVersions[name], w.Corpus[j], len(w.ImageIDs))
			}
		}
		caps, err := f.store.Captions(ctx, []int64{c.ID})
		if err != nil {
			t.Fatal(err)
		}
		for j, name := range w.Names {
			vals := scoresOf(t, f.store, c.ID, name, TextMetricVersion)
			for i, cp := range caps {
				if got, ok := vals[cp.ID]; !ok || got != w.PerImage[i*len(w.Names)+j] {
					t.Errorf("%s caption %d %s = %v (stored %v), want %v", c.Name, i, name, got, ok, w.PerImage[i*len(w.Names)+j])
				}
			}
		}
	}
}

// scoresOf returns a captioner's stored values of metric at version, by
// caption ID.
func scoresOf(t testing.TB, s *models.Store, captionerID int64, metric, version string) map[int64]float64 {
	t.Helper()
	out := map[int64]float64{}
	err := s.EachCaptionScore(context.Background(), []int64{captionerID}, []string{metric}, func(r models.CaptionScoreRow) error {
		if r.MetricVersion == version {
			out[r.CaptionID] = r.Value
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// countingScorer counts calls and captions; before each call it runs hook
// (when set) with the call's number, starting at 1.
type countingScorer struct {
	calls    atomic.Int64
	captions atomic.Int64
	hook     func(ctx context.Context, call int64) error
}

func (c *countingScorer) ScoreText(ctx context.Context, items []TextItem) (*textmetrics.Result, error) {
	n := c.calls.Add(1)
	if c.hook != nil {
		if err := c.hook(ctx, n); err != nil {
			return nil, err
		}
	}
	c.captions.Add(int64(len(items)))
	return DefaultTextScorer{Workers: 1}.ScoreText(ctx, items)
}

// fastOptions make heartbeats and stale timeouts short enough for tests.
func fastOptions() RunnerOptions {
	return RunnerOptions{Poll: 10 * time.Millisecond, Heartbeat: 20 * time.Millisecond, StaleAfter: time.Hour}
}

func startJob(t testing.TB, f *fixture, kind string) *Job {
	t.Helper()
	j, err := NewJobs(f.store, true, nil).Start(context.Background(), f.campaign.ID, kind)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestTextJobEqualsScore(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := seedDemo(t, s, "demo", t.TempDir())
		j := startJob(t, f, KindText)
		sc := &countingScorer{}
		var steps []int
		r := NewRunner(s, Scorers{Text: sc}, nil).WithOptions(fastOptions())
		end, err := r.RunJob(context.Background(), j.ID, func(j *models.EvalJob) { steps = append(steps, j.Done) })
		if err != nil {
			t.Fatal(err)
		}
		if end.Status != models.JobDone || end.Done != 192 || end.Total != 192 || end.Error != "" {
			t.Fatalf("job ended %+v, want done 192/192", end)
		}
		if sc.calls.Load() != 4 {
			t.Fatalf("%d scorer calls, want 4 (one per captioner)", sc.calls.Load())
		}
		if len(steps) == 0 || steps[len(steps)-1] != 192 {
			t.Fatalf("progress steps %v, want to end at 192", steps)
		}
		f.checkScores(t)
		v := NewJobView(end)
		if v.ETASeconds == nil || *v.ETASeconds != 0 || v.Rate <= 0 {
			t.Fatalf("view of a done job: rate %v, eta %v; want a rate and ETA 0", v.Rate, v.ETASeconds)
		}

		// A second job finds everything scored and calls no scorer.
		j2 := startJob(t, f, KindText)
		if end, err = r.RunJob(context.Background(), j2.ID, nil); err != nil || end.Status != models.JobDone || end.Done != 192 {
			t.Fatalf("second job = %+v, %v", end, err)
		}
		if sc.calls.Load() != 4 {
			t.Fatalf("second job called the scorer: %d calls in all, want 4", sc.calls.Load())
		}
	})
}

// TestResumeAfterCrash kills a worker after two of four captioners (its
// job stays running, the heartbeat stops); a second runner reclaims the job
// once the heartbeat is stale and scores only the two others.
func TestResumeAfterCrash(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := seedDemo(t, s, "demo", t.TempDir())
		j := startJob(t, f, KindText)

		killCtx, kill := context.WithCancel(context.Background())
		defer kill()
		first := &countingScorer{hook: func(ctx context.Context, call int64) error {
			if call == 3 {
				kill() // the process dies while scoring the third captioner
				return ctx.Err()
			}
			return nil
		}}
		a := NewRunner(s, Scorers{Text: first}, nil).WithOptions(fastOptions())
		a.abandon = true
		a.Run(killCtx, 1)
		mid, err := s.JobByID(context.Background(), j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if mid.Status != models.JobRunning || mid.Done != 96 {
			t.Fatalf("after the crash the job is %s with %d done, want running with 96", mid.Status, mid.Done)
		}

		// A live runner does not take a job whose heartbeat is fresh…
		second := &countingScorer{}
		opts := fastOptions()
		opts.StaleAfter = 300 * time.Millisecond
		b := NewRunner(s, Scorers{Text: second}, nil).WithOptions(opts)
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); b.Run(ctx, 2) }()
		end := waitJob(t, s, j.ID, 20*time.Second)
		stop()
		wg.Wait()
		// …but takes it over once it is stale, and resumes.
		if end.Status != models.JobDone || end.Done != 192 || end.Attempts != 2 {
			t.Fatalf("resumed job ended %+v, want done 192/192 at attempt 2", end)
		}
		if second.calls.Load() != 2 || second.captions.Load() != 96 {
			t.Fatalf("resumed run scored %d captioners (%d captions), want 2 (96)", second.calls.Load(), second.captions.Load())
		}
		if end.ClaimedAt == nil || mid.HeartbeatAt == nil || end.ClaimedAt.Sub(*mid.HeartbeatAt) < opts.StaleAfter {
			t.Fatalf("reclaimed at %v, last heartbeat %v: want at least %v later", end.ClaimedAt, mid.HeartbeatAt, opts.StaleAfter)
		}
		if end.ClaimDone != 96 {
			t.Fatalf("claim_done = %d, want 96 (the rate counts this run only)", end.ClaimDone)
		}
		f.checkScores(t)
	})
}

func waitJob(t testing.TB, s *models.Store, id int64, limit time.Duration) *models.EvalJob {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		j, err := s.JobByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if NewJobView(j).Ended() {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d still %s after %v (%d/%d)", id, j.Status, limit, j.Done, j.Total)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestShutdownReleases stops a runner mid-job: the job goes back to the
// queue with its progress, and the next runner resumes at once.
func TestShutdownReleases(t *testing.T) {
	s := modelstest.NewStore(t)
	f := seedDemo(t, s, "demo", t.TempDir())
	j := startJob(t, f, KindText)
	ctx, stop := context.WithCancel(context.Background())
	sc := &countingScorer{hook: func(ctx context.Context, call int64) error {
		if call == 2 {
			stop()
			return ctx.Err()
		}
		return nil
	}}
	NewRunner(s, Scorers{Text: sc}, nil).WithOptions(fastOptions()).Run(ctx, 1)
	mid, err := s.JobByID(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mid.Status != models.JobQueued || mid.Done != 48 || mid.WorkerID != "" {
		t.Fatalf("after shutdown the job is %+v, want queued with 48 done", mid)
	}
	next := &countingScorer{}
	end, err := NewRunner(s, Scorers{Text: next}, nil).WithOptions(fastOptions()).RunJob(context.Background(), j.ID, nil)
	if err != nil || end.Status != models.JobDone || next.calls.Load() != 3 {
		t.Fatalf("resumed job = %+v, %v after %d calls; want done after 3", end, err, next.calls.Load())
	}
	f.checkScores(t)
}

// TestCancel cancels a running job through the service while the second
// captioner is being scored: the worker stops promptly, the first
// captioner's scores stay, nothing else is scored.
func TestCancel(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := seedDemo(t, s, "demo", t.TempDir())
		svc := NewJobs(s, false, nil)
		j := startJob(t, f, KindText)
		sc := &countingScorer{hook: func(ctx context.Context, call int64) error {
			if call == 2 {
				if _, err := svc.Cancel(context.Background(), j.ID); err != nil {
					return err
				}
				<-ctx.Done() // a long batch, interrupted by the heartbeat's check
				return ctx.Err()
			}
			return nil
		}}
		start := time.Now()
		end, err := NewRunner(s, Scorers{Text: sc}, nil).WithOptions(fastOptions()).RunJob(context.Background(), j.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if end.Status != models.JobCancelled || end.Done != 48 || sc.calls.Load() != 2 {
			t.Fatalf("cancelled job = %+v after %d calls, want cancelled with 48 done after 2", end, sc.calls.Load())
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("cancel took %v", d)
		}
		if _, err := svc.Cancel(context.Background(), j.ID); !errors.Is(err, ErrConflict) {
			t.Fatalf("second cancel = %v, want ErrConflict", err)
		}
		rep, err := svc.Captioners(context.Background(), f.campaign.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Captioners[0].Scores) != 6 || len(rep.Captioners[1].Scores) != 0 {
			t.Fatalf("scores after cancel: %v / %v, want the first captioner's only", rep.Captioners[0].Scores, rep.Captioners[1].Scores)
		}
		if rep.CLIP.Available || !strings.Contains(rep.CLIP.Message, "CAPEVAL_CLIP_MODEL") {
			t.Fatalf("CLIP status %+v, want unavailable with how to enable it", rep.CLIP)
		}
	})
}

// TestRunnersShareTheQueue has two runners of two workers each work through
// six jobs: every job is claimed once and every captioner scored once.
func TestRunnersShareTheQueue(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		dir := t.TempDir()
		var jobs []int64
		var fixtures []*fixture
		for i := range 6 {
			f := seedDemo(t, s, fmt.Sprintf("c%d", i), dir)
			fixtures = append(fixtures, f)
			jobs = append(jobs, startJob(t, f, KindText).ID)
		}
		sc := &countingScorer{}
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for range 2 {
			r := NewRunner(s, Scorers{Text: sc}, nil).WithOptions(fastOptions())
			wg.Add(1)
			go func() { defer wg.Done(); r.Run(ctx, 2) }()
		}
		for _, id := range jobs {
			if end := waitJob(t, s, id, 60*time.Second); end.Status != models.JobDone || end.Attempts != 1 {
				t.Errorf("job %d ended %s after %d claims, want done after 1", id, end.Status, end.Attempts)
			}
		}
		stop()
		wg.Wait()
		if got := sc.calls.Load(); got != 24 {
			t.Fatalf("%d scorer calls for 6 jobs of 4 captioners, want 24", got)
		}
		fixtures[5].checkScores(t)
	})
}

func TestJobErrors(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := seedDemo(t, s, "demo", t.TempDir())
		svc := NewJobs(s, false, nil)
		tests := []struct {
			name     string
			campaign int64
			kind     string
			want     error
			wantMsg  string
		}{
			{"unknown kind", f.campaign.ID, "bleu", ErrInvalid, `kind "bleu": want text or clip`},
			{"clip without a model", f.campaign.ID, KindCLIP, ErrUnavailable, "CAPEVAL_CLIP_MODEL"},
			{"missing campaign", f.campaign.ID + 100, KindText, ErrNotFound, "campaign"},
			{"text", f.campaign.ID, KindText, nil, ""},
			{"text again while queued", f.campaign.ID, KindText, ErrConflict, "queued already"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := svc.Start(ctx, tt.campaign, tt.kind)
				if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) || (err != nil && !strings.Contains(err.Error(), tt.wantMsg)) {
					t.Fatalf("Start = %v, want %v containing %q", err, tt.want, tt.wantMsg)
				}
			})
		}
		if _, err := svc.List(ctx, f.campaign.ID+100); !errors.Is(err, ErrNotFound) {
			t.Fatalf("List of a missing campaign = %v", err)
		}
		if _, err := svc.Get(ctx, 999); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get of a missing job = %v", err)
		}

		// Captions of images without references: the job fails before
		// scoring anything and lists them.
		g := seedDemo(t, s, "no refs", t.TempDir())
		img := &models.Image{CampaignID: g.campaign.ID, ExternalID: "lonely", SHA256: "x", StorageKey: "x.png", Width: 1, Height: 1}
		if err := s.InsertImages(ctx, []models.Image{*img}); err != nil {
			t.Fatal(err)
		}
		imgs, err := s.Images(ctx, g.campaign.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		var lonely int64
		for _, im := range imgs {
			if im.ExternalID == "lonely" {
				lonely = im.ID
			}
		}
		capts, err := s.Captioners(ctx, g.campaign.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.InsertCaptions(ctx, []models.Caption{{CaptionerID: capts[1].ID, ImageID: lonely, Text: "alone"}}); err != nil {
			t.Fatal(err)
		}
		sc := &countingScorer{}
		r := NewRunner(s, Scorers{Text: sc}, nil).WithOptions(fastOptions())
		end, err := r.RunJob(ctx, startJob(t, g, KindText).ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantMsg := "1 captions are of images without reference captions"
		if end.Status != models.JobFailed || !strings.Contains(end.Error, wantMsg) || !strings.Contains(end.Error, "image lonely") || sc.calls.Load() != 0 {
			t.Fatalf("job = %s %q after %d calls; want failed naming image lonely, nothing scored", end.Status, end.Error, sc.calls.Load())
		}
		// A clip job queued while no model is configured fails with the reason.
		cj := &models.EvalJob{CampaignID: f.campaign.ID, Kind: KindCLIP}
		if err := s.CreateJob(ctx, cj); err != nil {
			t.Fatal(err)
		}
		end, err = r.RunJob(ctx, cj.ID, nil)
		if err != nil || end.Status != models.JobFailed || !strings.Contains(end.Error, "CLIPScore is unavailable") {
			t.Fatalf("clip job without a model = %+v, %v", end, err)
		}
		if _, err := r.RunJob(ctx, cj.ID, nil); !errors.Is(err, ErrConflict) {
			t.Fatalf("RunJob of an ended job = %v, want ErrConflict", err)
		}
	})
}

func TestJobView(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s int) *time.Time { v := t0.Add(time.Duration(s) * time.Second); return &v }
	tests := []struct {
		name     string
		job      models.EvalJob
		wantRate float64
		wantETA  float64 // -1: null
	}{
		{"queued", models.EvalJob{Status: models.JobQueued, Total: 10}, 0, -1},
		{"queued again after a release", models.EvalJob{Status: models.JobQueued, Done: 40, ClaimDone: 10, Total: 100, ClaimedAt: at(0), HeartbeatAt: at(10)}, 0, -1},
		{"running, nothing yet", models.EvalJob{Status: models.JobRunning, Total: 10, ClaimedAt: at(0), HeartbeatAt: at(5)}, 0, -1},
		{"running", models.EvalJob{Status: models.JobRunning, Done: 40, Total: 100, ClaimedAt: at(0), HeartbeatAt: at(10)}, 4, 15},
		{"resumed counts this run only", models.EvalJob{Status: models.JobRunning, Done: 60, ClaimDone: 40, Total: 100, ClaimedAt: at(0), HeartbeatAt: at(10)}, 2, 20},
		{"done", models.EvalJob{Status: models.JobDone, Done: 100, Total: 100, ClaimedAt: at(0), HeartbeatAt: at(30), FinishedAt: at(50)}, 2, 0},
		{"failed", models.EvalJob{Status: models.JobFailed, Done: 10, Total: 100, ClaimedAt: at(0), FinishedAt: at(10)}, 1, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewJobView(&tt.job)
			if v.Rate != tt.wantRate {
				t.Errorf("rate = %v, want %v", v.Rate, tt.wantRate)
			}
			switch {
			case tt.wantETA < 0 && v.ETASeconds != nil:
				t.Errorf("eta = %v, want null", *v.ETASeconds)
			case tt.wantETA >= 0 && (v.ETASeconds == nil || *v.ETASeconds != tt.wantETA):
				t.Errorf("eta = %v, want %v", v.ETASeconds, tt.wantETA)
			}
		})
	}
}
