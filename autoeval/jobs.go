package autoeval

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"capeval/models"
)

// JobStore is what the Jobs service needs from the database.
type JobStore interface {
	CampaignByID(ctx context.Context, id int64) (*models.Campaign, error)
	CreateJob(ctx context.Context, j *models.EvalJob) error
	JobByID(ctx context.Context, id int64) (*models.EvalJob, error)
	ListJobs(ctx context.Context, campaignID int64) ([]models.EvalJob, error)
	CancelJob(ctx context.Context, id int64) (*models.EvalJob, error)
	Captioners(ctx context.Context, campaignID int64) ([]models.CaptionerSummary, error)
}

// Jobs is the service behind the job API: it queues jobs for the workers
// (see Runner), reports their progress, cancels them, and lists the
// captioners with their corpus scores.
type Jobs struct {
	store         JobStore
	clipAvailable bool
	log           *slog.Logger
	now           func() time.Time
}

// NewJobs returns the service. clipAvailable says whether a CLIP model is
// configured: without one, clip jobs are refused with CLIPUnavailableMessage.
func NewJobs(store JobStore, clipAvailable bool, log *slog.Logger) *Jobs {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Jobs{store: store, clipAvailable: clipAvailable, log: log, now: time.Now}
}

// Job is an evaluation job as the API shows it: the stored state with the
// rate and ETA of the current run.
type Job struct {
	ID         int64            `json:"id"`
	CampaignID int64            `json:"campaign_id"`
	Kind       string           `json:"kind"`
	Status     models.JobStatus `json:"status"`
	Done       int              `json:"done"`
	Total      int              `json:"total"`
	// Rate is the captions scored per second by the current (or last)
	// run, not counting the work of earlier runs of a resumed job; 0 until
	// there is something to measure.
	Rate float64 `json:"rate"`
	// ETASeconds is the time left at Rate; null while unknown.
	ETASeconds  *float64   `json:"eta_seconds"`
	Device      string     `json:"device"`
	Error       string     `json:"error"`
	Notes       string     `json:"notes"`
	Attempts    int        `json:"attempts"`
	CreatedAt   time.Time  `json:"created_at"`
	StartedAt   *time.Time `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at"`
	HeartbeatAt *time.Time `json:"heartbeat_at"`
}

// Ended reports whether the job is done, failed or cancelled.
func (j *Job) Ended() bool {
	switch j.Status {
	case models.JobDone, models.JobFailed, models.JobCancelled:
		return true
	}
	return false
}

// NewJobView derives the API view of a stored job.
func NewJobView(j *models.EvalJob) *Job {
	v := &Job{ID: j.ID, CampaignID: j.CampaignID, Kind: j.Kind, Status: j.Status, Done: j.Done, Total: j.Total,
		Device: j.Device, Error: j.Error, Notes: j.Notes, Attempts: j.Attempts, CreatedAt: j.CreatedAt,
		StartedAt: j.StartedAt, FinishedAt: j.FinishedAt, HeartbeatAt: j.HeartbeatAt}
	// The rate of this run: work since the claim over time since the claim,
	// up to the last sign of life (the heartbeat, or the end).
	// A queued job (new, or handed back by a worker that stopped) has no
	// current run: no rate, no ETA.
	if j.ClaimedAt != nil && j.Status != models.JobQueued {
		until := j.HeartbeatAt
		if j.FinishedAt != nil {
			until = j.FinishedAt
		}
		if until != nil {
			if secs := until.Sub(*j.ClaimedAt).Seconds(); secs > 0 && j.Done > j.ClaimDone {
				v.Rate = float64(j.Done-j.ClaimDone) / secs
			}
		}
	}
	switch {
	case v.Ended():
		if j.Status == models.JobDone {
			zero := 0.0
			v.ETASeconds = &zero
		}
	case v.Rate > 0:
		eta := float64(j.Total-j.Done) / v.Rate
		v.ETASeconds = &eta
	}
	return v
}

// ValidKind checks a job kind, with a message naming the known ones.
func ValidKind(kind string) error {
	if !slices.Contains(Kinds, kind) {
		return fmt.Errorf("%w: kind %q: want %s or %s", ErrInvalid, kind, KindText, KindCLIP)
	}
	return nil
}

// Start queues a job of kind for a campaign and returns it. An unknown kind
// is ErrInvalid, a missing campaign ErrNotFound, a clip job without a CLIP
// model ErrUnavailable, a job of that kind already queued or running
// ErrConflict.
func (s *Jobs) Start(ctx context.Context, campaignID int64, kind string) (*Job, error) {
	if err := ValidKind(kind); err != nil {
		return nil, err
	}
	if kind == KindCLIP && !s.clipAvailable {
		return nil, fmt.Errorf("%w: %s", ErrUnavailable, CLIPUnavailableMessage)
	}
	j := &models.EvalJob{CampaignID: campaignID, Kind: kind}
	if err := s.store.CreateJob(ctx, j); err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return nil, fmt.Errorf("%w: campaign %d", ErrNotFound, campaignID)
		}
		return nil, storeErr(err)
	}
	s.log.InfoContext(ctx, "autoeval: job queued", "job", j.ID, "campaign", campaignID, "kind", kind)
	return NewJobView(j), nil
}

// Get returns the job with id (ErrNotFound).
func (s *Jobs) Get(ctx context.Context, id int64) (*Job, error) {
	j, err := s.store.JobByID(ctx, id)
	if err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return nil, fmt.Errorf("%w: job %d", ErrNotFound, id)
		}
		return nil, err
	}
	return NewJobView(j), nil
}

// List returns a campaign's jobs, newest first (ErrNotFound for a missing
// campaign).
func (s *Jobs) List(ctx context.Context, campaignID int64) ([]Job, error) {
	if err := s.campaignExists(ctx, campaignID); err != nil {
		return nil, err
	}
	rows, err := s.store.ListJobs(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	out := make([]Job, len(rows))
	for i := range rows {
		out[i] = *NewJobView(&rows[i])
	}
	return out, nil
}

// Cancel cancels a queued or running job; its worker stops at its next
// check, between batches. A job that has ended is ErrConflict.
func (s *Jobs) Cancel(ctx context.Context, id int64) (*Job, error) {
	j, err := s.store.CancelJob(ctx, id)
	if err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return nil, fmt.Errorf("%w: job %d", ErrNotFound, id)
		}
		return nil, storeErr(err)
	}
	s.log.InfoContext(ctx, "autoeval: job cancelled", "job", id)
	return NewJobView(j), nil
}

func (s *Jobs) campaignExists(ctx context.Context, campaignID int64) error {
	if _, err := s.store.CampaignByID(ctx, campaignID); err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return fmt.Errorf("%w: campaign %d", ErrNotFound, campaignID)
		}
		return err
	}
	return nil
}

// CLIPStatus says whether CLIP metrics can be computed, and if not why and
// how to enable them.
type CLIPStatus struct {
	Available bool   `json:"available"`
	Message   string `json:"message,omitempty"`
}

// CaptionerScores is a captioner with its corpus scores: score name →
// value, with the number of captions it covers and the metric version of
// each. A score that was not computed is absent, never 0; one whose N is
// below Captions is a mean over part of the captions (RefCLIPScore of
// images without references), which the selection does not rank on.
type CaptionerScores struct {
	ID             int64              `json:"id"`
	Name           string             `json:"name"`
	Version        string             `json:"version"`
	Captions       int                `json:"captions"`
	Scores         map[string]float64 `json:"scores"`
	N              map[string]int     `json:"n"`
	MetricVersions map[string]string  `json:"metric_versions"`
}

// CaptionerReport lists a campaign's captioners with their scores, for
// leads only: annotators never see model names or scores.
type CaptionerReport struct {
	Captioners []CaptionerScores `json:"captioners"`
	// Metrics lists the score names present, in report order.
	Metrics []string   `json:"metrics"`
	CLIP    CLIPStatus `json:"clip"`
}

// ScoreNames are every score name the jobs produce, in report order.
var ScoreNames = append(slices.Clone(TextNames), CLIPNames...)

// Captioners returns the campaign's captioners (in import order) with their
// corpus scores (ErrNotFound for a missing campaign).
func (s *Jobs) Captioners(ctx context.Context, campaignID int64) (*CaptionerReport, error) {
	if err := s.campaignExists(ctx, campaignID); err != nil {
		return nil, err
	}
	return CaptionerScoresReport(ctx, s.store, campaignID, s.clipAvailable)
}

// ReportStore reads what a captioner report shows.
type ReportStore interface {
	Captioners(ctx context.Context, campaignID int64) ([]models.CaptionerSummary, error)
}

// CaptionerScoresReport builds the captioner report of a campaign; Jobs
// and `capeval eval` share it.
func CaptionerScoresReport(ctx context.Context, st ReportStore, campaignID int64, clipAvailable bool) (*CaptionerReport, error) {
	captioners, err := st.Captioners(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	rep := &CaptionerReport{Captioners: make([]CaptionerScores, len(captioners)), Metrics: []string{}, CLIP: CLIPStatus{Available: clipAvailable}}
	if !clipAvailable {
		rep.CLIP.Message = CLIPUnavailableMessage
	}
	present := map[string]bool{}
	for i, c := range captioners {
		cs := CaptionerScores{ID: c.ID, Name: c.Name, Version: c.Version, Captions: c.Captions,
			Scores: map[string]float64{}, N: map[string]int{}, MetricVersions: map[string]string{}}
		for m, sc := range c.Scores {
			cs.Scores[m], cs.N[m], cs.MetricVersions[m] = sc.Value, sc.N, sc.MetricVersion
			present[m] = true
		}
		rep.Captioners[i] = cs
	}
	for _, name := range ScoreNames {
		if present[name] {
			rep.Metrics = append(rep.Metrics, name)
		}
	}
	return rep, nil
}
