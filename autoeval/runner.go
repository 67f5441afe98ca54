package autoeval

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"capeval/models"
)

// Job kinds.
const (
	KindText = "text"
	KindCLIP = "clip"
)

// Kinds lists the job kinds in the order `capeval eval` runs them.
var Kinds = []string{KindText, KindCLIP}

// RunnerStore is what the workers need from the database.
type RunnerStore interface {
	ClaimJob(ctx context.Context, workerID string, staleBefore time.Time) (*models.EvalJob, error)
	ClaimJobByID(ctx context.Context, id int64, workerID string, staleBefore time.Time) (*models.EvalJob, error)
	JobByID(ctx context.Context, id int64) (*models.EvalJob, error)
	JobHeartbeat(ctx context.Context, id int64, workerID string, p models.JobProgress) error
	FinishJob(ctx context.Context, id int64, workerID string, status models.JobStatus, p models.JobProgress, errMsg, notes string) error
	ReleaseJob(ctx context.Context, id int64, workerID string) error
	Captioners(ctx context.Context, campaignID int64) ([]models.CaptionerSummary, error)
	Captions(ctx context.Context, captionerIDs []int64) ([]models.Caption, error)
	Images(ctx context.Context, campaignID int64, withTags bool) ([]models.Image, error)
	References(ctx context.Context, campaignID int64) ([]models.Reference, error)
	EachCaptionScore(ctx context.Context, captionerIDs []int64, metrics []string, fn func(models.CaptionScoreRow) error) error
	EvalUnreferenced(ctx context.Context, campaignID int64, limit int) ([]models.UnreferencedCaption, int64, error)
	InTx(ctx context.Context, fn func(tx *models.Store) error) error
}

// Scorers are what the jobs compute with.
type Scorers struct {
	// Text scores one captioner's captions; nil means DefaultTextScorer.
	Text TextScorer
	// CLIP computes CLIPScore and RefCLIPScore; nil means no CLIP model is
	// configured, and clip jobs fail with CLIPUnavailableMessage.
	CLIP CLIPScorer
	// ImagePath resolves an image's storage key to its file, refusing a key
	// that is not one of the store's. The image store (annotation's) is
	// the one place that knows the layout; the composition root passes its
	// Path. Clip jobs need it; nil fails them with a message.
	ImagePath func(key string) (string, error)
}

// RunnerOptions tune a Runner; zero values pick the defaults.
type RunnerOptions struct {
	// WorkerID names this process in eval_jobs.worker_id; default
	// host-pid-random. Each worker goroutine appends its index.
	WorkerID string
	// Poll is how long an idle worker waits before looking for a job
	// again; default 1 s.
	Poll time.Duration
	// Heartbeat is how often a running job's heartbeat and progress are
	// written (also after each unit of work); default 5 s.
	Heartbeat time.Duration
	// StaleAfter is how old a running job's heartbeat must be for another
	// worker to take it over; default 1 min. Keep it several heartbeats.
	StaleAfter time.Duration
	// CLIPBatch is how many captions one CLIP batch scores and stores in
	// one transaction; default 256.
	CLIPBatch int
}

func (o RunnerOptions) withDefaults() RunnerOptions {
	if o.WorkerID == "" {
		host, _ := os.Hostname()
		var b [3]byte
		_, _ = rand.Read(b[:])
		o.WorkerID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 5 * time.Second
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = time.Minute
	}
	if o.CLIPBatch <= 0 {
		o.CLIPBatch = 256
	}
	return o
}

// Runner runs auto-eval jobs: Run starts workers that claim queued (or
// stale) jobs from the database; RunJob runs one given job in the caller's
// goroutine. Several runners, in one process or many, share the queue.
type Runner struct {
	store   RunnerStore
	scorers Scorers
	log     *slog.Logger
	opts    RunnerOptions
	// abandon makes a runner that is stopped leave its job as a killed
	// process would (running, heartbeat going stale) instead of releasing
	// it: the crash tests set it.
	abandon bool
}

// NewRunner returns a Runner with default options.
func NewRunner(store RunnerStore, scorers Scorers, log *slog.Logger) *Runner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if scorers.Text == nil {
		scorers.Text = DefaultTextScorer{}
	}
	return &Runner{store: store, scorers: scorers, log: log, opts: RunnerOptions{}.withDefaults()}
}

// WithOptions sets the runner's options (defaults for zero values) and
// returns it; call it before Run.
func (r *Runner) WithOptions(o RunnerOptions) *Runner {
	r.opts = o.withDefaults()
	return r
}

// CLIPAvailable reports whether the runner can run clip jobs.
func (r *Runner) CLIPAvailable() bool { return r.scorers.CLIP != nil }

// Run starts n workers (at least one) and blocks until ctx is cancelled and
// every worker has stopped. A worker that is stopped hands its job back to
// the queue, with the work done so far kept.
func (r *Runner) Run(ctx context.Context, n int) {
	var wg sync.WaitGroup
	for i := range max(n, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work(ctx, fmt.Sprintf("%s/%d", r.opts.WorkerID, i))
		}()
	}
	wg.Wait()
}

func (r *Runner) work(ctx context.Context, workerID string) {
	r.log.Info("autoeval: worker started", "worker", workerID)
	defer r.log.Info("autoeval: worker stopped", "worker", workerID)
	// down: the database was unreachable at the last claim. An outage is
	// logged once when it starts and once when it ends, not at every poll.
	down := false
	for ctx.Err() == nil {
		j, err := r.store.ClaimJob(ctx, workerID, time.Now().Add(-r.opts.StaleAfter))
		switch {
		case ctx.Err() != nil:
		case models.IsUnavailable(err):
			if !down {
				r.log.Warn("autoeval: database unavailable; the worker waits for it", "worker", workerID, "err", err)
			}
			down = true
		case down:
			r.log.Info("autoeval: database reachable again", "worker", workerID)
			down = false
		}
		if err == nil {
			// execute has logged the error with the job's attributes; a worker
			// has no caller to return it to, and goes on with the queue.
			_ = r.execute(ctx, j, workerID, nil)
			continue
		}
		if !errors.Is(err, models.ErrNotFound) && !models.IsUnavailable(err) && ctx.Err() == nil {
			r.log.Error("autoeval: claim a job", "worker", workerID, "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(r.opts.Poll):
		}
	}
}

// RunJob claims job id (it must be queued, or running with a stale
// heartbeat) and runs it to its end in the caller's goroutine, calling
// progress (when not nil) after each step. It returns the job as it ended;
// a failed or cancelled job is returned with a nil error (its Status and
// Error say what happened). A job running in another worker is ErrConflict.
func (r *Runner) RunJob(ctx context.Context, id int64, progress func(*models.EvalJob)) (*models.EvalJob, error) {
	workerID := r.opts.WorkerID + "/eval"
	j, err := r.store.ClaimJobByID(ctx, id, workerID, time.Now().Add(-r.opts.StaleAfter))
	if err != nil {
		return nil, storeErr(err)
	}
	if err := r.execute(ctx, j, workerID, progress); err != nil {
		return nil, err
	}
	end, err := r.store.JobByID(context.WithoutCancel(ctx), id)
	if err != nil {
		return nil, storeErr(err)
	}
	return end, nil
}

// run is the state of one claimed job while a worker executes it.
type run struct {
	r        *Runner
	job      *models.EvalJob
	workerID string
	mu       sync.Mutex
	progress models.JobProgress
	notes    []string
	cancel   context.CancelCauseFunc
	// checkpointMu makes taking the progress snapshot and writing it one
	// step: the work and the heartbeat goroutine both checkpoint, and an
	// older snapshot written after a newer one would move progress back.
	checkpointMu sync.Mutex
	// onStep is called from the work and from the heartbeat goroutine;
	// stepMu serializes the calls, so callers need no locking of their own.
	stepMu sync.Mutex
	onStep func(*models.EvalJob)
}

// execute runs a claimed job and records how it ended. It returns (and
// logs) an error only when the end could not be recorded: the job's
// failure or end, or at shutdown its progress or its release.
func (r *Runner) execute(ctx context.Context, j *models.EvalJob, workerID string, onStep func(*models.EvalJob)) error {
	log := r.log.With("job", j.ID, "campaign", j.CampaignID, "kind", j.Kind, "worker", workerID)
	log.Info("autoeval: job claimed", "attempt", j.Attempts, "done", j.Done, "total", j.Total)
	jctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ru := &run{r: r, job: j, workerID: workerID, cancel: cancel, onStep: onStep,
		progress: models.JobProgress{Done: j.Done, Total: j.Total, Device: j.Device}}

	// The heartbeat's queries run under ctx, not jctx: the end of the work
	// cancels jctx, and must not cut a heartbeat off mid-query.
	hbStop, hbDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(hbDone)
		t := time.NewTicker(r.opts.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-hbStop:
				return
			case <-jctx.Done():
				return
			case <-t.C:
				_ = ru.checkpoint(ctx)
			}
		}
	}()

	var err error
	switch j.Kind {
	case KindText:
		err = ru.text(jctx)
	case KindCLIP:
		err = ru.clip(jctx)
	default:
		err = fmt.Errorf("unknown job kind %q (want %s or %s)", j.Kind, KindText, KindCLIP)
	}
	close(hbStop)
	<-hbDone
	cause := context.Cause(jctx)
	cancel(nil)

	bg := context.WithoutCancel(ctx)
	p := ru.snapshot()
	switch {
	case errors.Is(cause, errLost):
		log.Info("autoeval: job stopped: cancelled or taken over", "done", p.Done)
		return nil
	case ctx.Err() != nil:
		if r.abandon {
			log.Info("autoeval: worker killed mid-job", "done", p.Done)
			return nil
		}
		// Shutdown: hand the job back at once; its stored scores are kept.
		// The release is tried even when the progress could not be written:
		// a resumed job counts what is done from the stored scores, and a job
		// left running waits for its heartbeat to go stale.
		herr := r.store.JobHeartbeat(bg, j.ID, workerID, p)
		rerr := r.store.ReleaseJob(bg, j.ID, workerID)
		if errors.Is(herr, models.ErrJobLost) || errors.Is(rerr, models.ErrJobLost) {
			log.Info("autoeval: job stopped at shutdown: cancelled or taken over", "done", p.Done)
			return nil
		}
		if err := errors.Join(herr, rerr); err != nil {
			log.Error("autoeval: hand the job back at shutdown", "done", p.Done, "err", err)
			return fmt.Errorf("autoeval: hand job %d back at shutdown: %w", j.ID, err)
		}
		log.Info("autoeval: job released at shutdown", "done", p.Done)
		return nil
	case err != nil:
		log.Warn("autoeval: job failed", "err", err)
		ferr := r.store.FinishJob(bg, j.ID, workerID, models.JobFailed, p, err.Error(), ru.joinedNotes())
		if ferr != nil && !errors.Is(ferr, models.ErrJobLost) {
			log.Error("autoeval: record the job's failure", "err", ferr)
			return fmt.Errorf("autoeval: record failure of job %d: %w", j.ID, ferr)
		}
		return nil
	}
	ferr := r.store.FinishJob(bg, j.ID, workerID, models.JobDone, p, "", ru.joinedNotes())
	if ferr != nil && !errors.Is(ferr, models.ErrJobLost) {
		log.Error("autoeval: record the job's end", "err", ferr)
		return fmt.Errorf("autoeval: record end of job %d: %w", j.ID, ferr)
	}
	log.Info("autoeval: job done", "done", p.Done, "total", p.Total)
	if onStep != nil {
		if end, gerr := r.store.JobByID(bg, j.ID); gerr == nil {
			onStep(end)
		}
	}
	return nil
}

func (ru *run) snapshot() models.JobProgress {
	ru.mu.Lock()
	defer ru.mu.Unlock()
	return ru.progress
}

func (ru *run) set(fn func(p *models.JobProgress)) {
	ru.mu.Lock()
	fn(&ru.progress)
	ru.mu.Unlock()
}

func (ru *run) note(format string, args ...any) {
	ru.mu.Lock()
	ru.notes = append(ru.notes, fmt.Sprintf(format, args...))
	ru.mu.Unlock()
}

func (ru *run) joinedNotes() string {
	ru.mu.Lock()
	defer ru.mu.Unlock()
	s := ""
	for i, n := range ru.notes {
		if i > 0 {
			s += "\n"
		}
		s += n
	}
	return s
}

// checkpoint writes the heartbeat and progress; when the job is no longer
// ours it cancels the job's context and returns errLost, so a cancel by a
// lead stops the work at the next check, between batches.
func (ru *run) checkpoint(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ru.checkpointMu.Lock()
	p := ru.snapshot()
	err := ru.r.store.JobHeartbeat(ctx, ru.job.ID, ru.workerID, p)
	ru.checkpointMu.Unlock()
	switch {
	case errors.Is(err, models.ErrJobLost):
		ru.cancel(errLost)
		return errLost
	case err != nil:
		if ctx.Err() == nil {
			ru.r.log.Warn("autoeval: heartbeat", "job", ru.job.ID, "err", err)
		}
		return nil
	}
	if ru.onStep != nil {
		j := *ru.job
		j.Done, j.Total, j.Device, j.Status = p.Done, p.Total, p.Device, models.JobRunning
		now := time.Now().UTC()
		j.HeartbeatAt = &now
		ru.stepMu.Lock()
		ru.onStep(&j)
		ru.stepMu.Unlock()
	}
	return nil
}

// storeErr maps the store's sentinels to the package's.
func storeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, models.ErrNotFound):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, models.ErrConflict):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	case errors.Is(err, models.ErrInvalid):
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return err
}
