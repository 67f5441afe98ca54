package annotation

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"capeval/models"
)

// Progress is the lead's view of a campaign's rating: how many tasks are
// done, in progress and remaining, the work and quality of each annotator,
// the throughput and an estimate of when the campaign completes, the live
// leases, and the tasks set aside for the lead, which the lead puts back
// in the queue or leaves out.
type Progress struct {
	store   ProgressStore
	quality *Quality
	log     *slog.Logger
	now     func() time.Time
}

// ProgressStore is what Progress needs from the database besides what its
// Quality reads.
type ProgressStore interface {
	InTx(ctx context.Context, fn func(tx *models.Store) error) error
	CampaignByID(ctx context.Context, id int64) (*models.Campaign, error)
	CampaignTaskProgress(ctx context.Context, campaignID int64, now time.Time) (regular, gold models.TaskProgress, err error)
	CampaignLiveLeases(ctx context.Context, campaignID int64, now time.Time) ([]models.AnnotatorCount, error)
	CampaignSkipCounts(ctx context.Context, campaignID int64) ([]models.AnnotatorCount, error)
	CampaignSetAsideTasks(ctx context.Context, campaignID int64, limit int) ([]models.SetAsideTask, int64, error)
	UsersByIDs(ctx context.Context, ids []int64) ([]models.User, error)
}

// NewProgress returns the progress service; quality makes the annotators'
// part of the view.
func NewProgress(store ProgressStore, quality *Quality, log *slog.Logger) *Progress {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Progress{store: store, quality: quality, log: log, now: time.Now}
}

// WithClock makes p (and its Quality) read the time from now (tests).
func (p *Progress) WithClock(now func() time.Time) *Progress {
	p.now = now
	p.quality.WithClock(now)
	return p
}

// Set-aside decisions of the lead (DecideSetAside) and their audit actions.
const (
	SetAsidePutBack  = "put_back"
	SetAsideLeaveOut = "leave_out"

	AuditPutBack  = "task.put_back"
	AuditLeaveOut = "task.leave_out"
)

// MaxSetAsideListed is how many set-aside tasks the view lists; it counts
// them all.
const MaxSetAsideListed = 200

// The throughput window: the rate of the last day (or since the first
// rating, when the campaign is younger), never over less than a few
// minutes, so that the first rating does not promise an instant end.
const (
	rateWindow    = 24 * time.Hour
	minRateWindow = 5 * time.Minute
)

// Throughput is how fast regular ratings come in. PerHour is the rate the
// estimate uses: the ratings of the last 24 hours over the hours since the
// first of them or 24 hours ago, whichever is later (at least 5 minutes);
// nil without a rating in the last 24 hours.
type Throughput struct {
	LastHour int      `json:"last_hour"`
	LastDay  int      `json:"last_day"`
	PerHour  *float64 `json:"per_hour"`
}

// Estimate is when the campaign's regular tasks will have every rating
// they want at the current rate; only a collecting campaign has one.
type Estimate struct {
	Seconds float64   `json:"seconds"`
	At      time.Time `json:"at"`
}

// AnnotatorProgress is an annotator's work and quality in the campaign,
// with the leases they hold now and their skips.
type AnnotatorProgress struct {
	AnnotatorQuality
	Leases int64 `json:"leases"`
	Skips  int64 `json:"skips"`
}

// SetAsideItem is a set-aside task for the lead to review: what it shows
// (the image by content hash, /api/v1/images/SHA256) and who skipped it
// why.
type SetAsideItem struct {
	TaskID      int64           `json:"task_id"`
	Kind        models.TaskKind `json:"kind"`
	ImageID     int64           `json:"image_id"`
	ExternalID  string          `json:"external_id"`
	ImageSHA256 string          `json:"image_sha256"`
	TextA       string          `json:"text_a"`
	TextB       string          `json:"text_b,omitempty"`
	IsGold      bool            `json:"is_gold"`
	SetAsideAt  time.Time       `json:"set_aside_at"`
	// LeftOutAt is when the lead left it out for good; nil while it waits
	// for the lead's decision.
	LeftOutAt *time.Time `json:"left_out_at"`
	Skips     []SkipView `json:"skips"`
}

// SkipView is one annotator's skip of a task.
type SkipView struct {
	Annotator UserRef   `json:"annotator"`
	Reason    string    `json:"reason"`
	Note      string    `json:"note"`
	CreatedAt time.Time `json:"created_at"`
}

// CampaignProgress is the lead's progress view of a campaign. Tasks are
// the regular tasks, Gold the gold ones; Leases counts the live leases on
// either. Remaining ratings and the estimate are those of the regular
// tasks that are not set aside.
type CampaignProgress struct {
	CampaignID   int64                 `json:"campaign_id"`
	Name         string                `json:"name"`
	Mode         models.CampaignMode   `json:"mode"`
	Status       models.CampaignStatus `json:"status"`
	Tasks        models.TaskProgress   `json:"tasks"`
	Gold         models.TaskProgress   `json:"gold"`
	Leases       int64                 `json:"leases"`
	Throughput   Throughput            `json:"throughput"`
	Estimate     *Estimate             `json:"estimate"`
	Complete     bool                  `json:"complete"`
	GoldAccuracy GoldScore             `json:"gold_accuracy"`
	PositionBias *PositionBias         `json:"position_bias,omitempty"`
	Settings     QualitySettings       `json:"settings"`
	Excluded     int                   `json:"excluded_ratings"`
	// Replaceable: the excluded ratings that ReplaceExcluded would replace.
	Replaceable   models.ReplacementCount `json:"replaceable"`
	Annotators    []AnnotatorProgress     `json:"annotators"`
	SetAside      []SetAsideItem          `json:"set_aside"`
	SetAsideTotal int64                   `json:"set_aside_total"`
	GeneratedAt   time.Time               `json:"generated_at"`
}

// Get returns the progress view of the campaign.
func (p *Progress) Get(ctx context.Context, campaignID int64) (*CampaignProgress, error) {
	now := p.now().UTC().Truncate(time.Microsecond)
	camp, err := p.store.CampaignByID(ctx, campaignID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, fmt.Errorf("%w: no campaign with id %d", ErrNotFound, campaignID)
	}
	if err != nil {
		return nil, fmt.Errorf("annotation: progress of campaign %d: %w", campaignID, err)
	}
	out := &CampaignProgress{CampaignID: camp.ID, Name: camp.Name, Mode: camp.Mode, Status: camp.Status, GeneratedAt: now}
	if out.Tasks, out.Gold, err = p.store.CampaignTaskProgress(ctx, camp.ID, now); err != nil {
		return nil, fmt.Errorf("annotation: progress of campaign %d: %w", camp.ID, err)
	}
	rep, err := p.quality.report(ctx, p.quality.store, camp, now)
	if err != nil {
		return nil, err
	}
	out.GoldAccuracy, out.PositionBias, out.Settings, out.Excluded, out.Replaceable = rep.Gold, rep.PositionBias, rep.Settings, rep.Excluded, rep.Replaceable
	out.Throughput = throughput(rep.regularTimes, now)
	out.Complete = out.Tasks.Tasks > 0 && out.Tasks.RatingsRemaining == 0
	// Only a collecting campaign will complete: a draft has not started,
	// a closed one has ended wherever it stood.
	if r := out.Throughput.PerHour; r != nil && camp.Status == models.StatusCollecting && !out.Complete && out.Tasks.RatingsRemaining > 0 {
		secs := float64(out.Tasks.RatingsRemaining) / *r * 3600
		out.Estimate = &Estimate{Seconds: math.Round(secs), At: now.Add(time.Duration(secs * float64(time.Second))).Truncate(time.Second)}
	}
	if err := p.annotators(ctx, camp.ID, now, rep, out); err != nil {
		return nil, err
	}
	if err := p.setAside(ctx, camp.ID, out); err != nil {
		return nil, err
	}
	return out, nil
}

// throughput counts the regular ratings (times in submission order per
// annotator, so in no global order) of the last hour and day.
func throughput(times []time.Time, now time.Time) Throughput {
	var t Throughput
	hour, day := now.Add(-time.Hour), now.Add(-rateWindow)
	first := now
	for _, at := range times {
		if !at.Before(hour) {
			t.LastHour++
		}
		if !at.Before(day) {
			t.LastDay++
			if at.Before(first) {
				first = at
			}
		}
	}
	if t.LastDay > 0 {
		window := max(now.Sub(first), minRateWindow)
		r := float64(t.LastDay) / window.Hours()
		t.PerHour = &r
	}
	return t
}

// annotators merges the quality report's annotators with the live leases
// and skips of each, adding those who hold leases or skipped without
// having rated.
func (p *Progress) annotators(ctx context.Context, campaignID int64, now time.Time, rep *QualityReport, out *CampaignProgress) error {
	leases, err := p.store.CampaignLiveLeases(ctx, campaignID, now)
	if err != nil {
		return fmt.Errorf("annotation: progress of campaign %d: %w", campaignID, err)
	}
	skips, err := p.store.CampaignSkipCounts(ctx, campaignID)
	if err != nil {
		return fmt.Errorf("annotation: progress of campaign %d: %w", campaignID, err)
	}
	byID := map[int64]*AnnotatorProgress{}
	list := make([]*AnnotatorProgress, 0, len(rep.Annotators))
	for _, a := range rep.Annotators {
		ap := &AnnotatorProgress{AnnotatorQuality: a}
		byID[a.Annotator.ID] = ap
		list = append(list, ap)
	}
	var unnamed []int64
	get := func(id int64) *AnnotatorProgress {
		if ap := byID[id]; ap != nil {
			return ap
		}
		ap := &AnnotatorProgress{AnnotatorQuality: AnnotatorQuality{Annotator: UserRef{ID: id}, Flags: []Flag{},
			Qualification: Qualification{Status: "off"}, Exclusion: ExclusionState{Decision: DecisionPolicy}}}
		if rep.Settings.QualificationTasks > 0 {
			ap.Qualification = Qualification{Status: "qualifying", Tasks: rep.Settings.QualificationTasks}
		}
		if rep.Mode == models.ModePairwise {
			ap.PositionBias = &PositionBias{}
		}
		byID[id] = ap
		list = append(list, ap)
		unnamed = append(unnamed, id)
		return ap
	}
	for _, l := range leases {
		get(l.AnnotatorID).Leases = l.N
		out.Leases += l.N
	}
	for _, s := range skips {
		get(s.AnnotatorID).Skips = s.N
	}
	if len(unnamed) > 0 {
		users, err := p.store.UsersByIDs(ctx, unnamed)
		if err != nil {
			return fmt.Errorf("annotation: progress of campaign %d: %w", campaignID, err)
		}
		for _, u := range users {
			byID[u.ID].Annotator = UserRef{ID: u.ID, Email: u.Email, Name: u.Name}
		}
	}
	slices.SortFunc(list, func(a, b *AnnotatorProgress) int { return cmp.Compare(a.Annotator.ID, b.Annotator.ID) })
	out.Annotators = make([]AnnotatorProgress, len(list))
	for i, ap := range list {
		out.Annotators[i] = *ap
	}
	return nil
}

// setAside lists the set-aside tasks with their skips, gold tasks with the
// texts of their gold answer.
func (p *Progress) setAside(ctx context.Context, campaignID int64, out *CampaignProgress) error {
	rows, total, err := p.store.CampaignSetAsideTasks(ctx, campaignID, MaxSetAsideListed)
	if err != nil {
		return fmt.Errorf("annotation: progress of campaign %d: %w", campaignID, err)
	}
	out.SetAsideTotal, out.SetAside = total, make([]SetAsideItem, len(rows))
	var ids []int64
	for _, r := range rows {
		for _, s := range r.Skips {
			ids = append(ids, s.AnnotatorID)
		}
	}
	slices.Sort(ids)
	users, err := p.store.UsersByIDs(ctx, slices.Compact(ids))
	if err != nil {
		return fmt.Errorf("annotation: progress of campaign %d: %w", campaignID, err)
	}
	refs := map[int64]UserRef{}
	for _, u := range users {
		refs[u.ID] = UserRef{ID: u.ID, Email: u.Email, Name: u.Name}
	}
	for i, r := range rows {
		it := SetAsideItem{TaskID: r.TaskID, Kind: r.Kind, ImageID: r.ImageID, ExternalID: r.ExternalID, ImageSHA256: r.SHA256,
			TextA: r.TextA, TextB: r.TextB, IsGold: r.IsGold, SetAsideAt: r.SetAsideAt, LeftOutAt: r.LeftOutAt, Skips: []SkipView{}}
		if r.IsGold {
			// A gold answer the selection or CreateGold wrote; one that
			// does not decode shows no text rather than failing the view.
			var g struct {
				Text  string `json:"text"`
				TextA string `json:"text_a"`
				TextB string `json:"text_b"`
			}
			_ = json.Unmarshal(r.GoldAnswer, &g)
			it.TextA, it.TextB = g.Text, g.TextB
			if r.Kind == models.TaskPair {
				it.TextA = g.TextA
			}
		}
		for _, s := range r.Skips {
			ref, ok := refs[s.AnnotatorID]
			if !ok {
				ref = UserRef{ID: s.AnnotatorID}
			}
			it.Skips = append(it.Skips, SkipView{Annotator: ref, Reason: s.Reason, Note: s.Note, CreatedAt: s.CreatedAt})
		}
		out.SetAside[i] = it
	}
	return nil
}

// DecideSetAside applies the lead's decision about a set-aside task:
// SetAsidePutBack returns it to the queue (the annotators who skipped it
// still never get it again), SetAsideLeaveOut leaves it out for good (it
// stays set aside, no longer waiting for the lead; it can still be put
// back). Each decision is audited (task.put_back, task.leave_out) with
// the change, in one transaction. A task that is not set aside, or not of
// this campaign, is ErrNotFound; putting a task back into a closed
// campaign's queue is ErrConflict.
func (p *Progress) DecideSetAside(ctx context.Context, actorID, campaignID, taskID int64, decision string) error {
	if decision != SetAsidePutBack && decision != SetAsideLeaveOut {
		return &ValidationError{What: "set-aside decision", Problems: []Problem{{Where: "decision",
			Message: fmt.Sprintf("%q: want put_back or leave_out", decision)}}}
	}
	err := p.store.InTx(ctx, func(tx *models.Store) error {
		camp, err := tx.LockCampaign(ctx, campaignID)
		if errors.Is(err, models.ErrNotFound) {
			return fmt.Errorf("%w: no campaign with id %d", ErrNotFound, campaignID)
		}
		if err != nil {
			return err
		}
		_, leftOut, err := tx.SetAsideTaskOf(ctx, campaignID, taskID)
		if errors.Is(err, models.ErrNotFound) {
			return fmt.Errorf("%w: campaign %q has no set-aside task %d", ErrNotFound, camp.Name, taskID)
		}
		if err != nil {
			return err
		}
		before := map[string]any{"task_id": taskID, "set_aside": true, "left_out": leftOut}
		after := map[string]any{"task_id": taskID, "set_aside": true, "left_out": true}
		action := AuditLeaveOut
		if decision == SetAsidePutBack {
			if camp.Status == models.StatusClosed {
				return fmt.Errorf("%w: campaign %q is closed: its queue can no longer change", ErrConflict, camp.Name)
			}
			if err := tx.PutBackTask(ctx, campaignID, taskID); err != nil {
				return err
			}
			action, after = AuditPutBack, map[string]any{"task_id": taskID, "set_aside": false, "left_out": false}
		} else {
			if leftOut {
				return nil
			}
			if err := tx.LeaveOutTask(ctx, campaignID, taskID, actorPtr(actorID)); err != nil {
				return err
			}
		}
		return tx.AddAudit(ctx, &models.AuditEntry{ActorID: actorPtr(actorID), CampaignID: &campaignID, Action: action,
			Before: models.MustJSON(before), After: models.MustJSON(after)})
	})
	if err != nil {
		return wrapErr(err, "set-aside task %d of campaign %d", taskID, campaignID)
	}
	p.log.InfoContext(ctx, "set-aside task decided", "campaign_id", campaignID, "task_id", taskID, "decision", decision, "by", actorID)
	return nil
}
