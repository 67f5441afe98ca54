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
	"strings"
	"time"
	"unicode/utf8"

	"capeval/models"
)

// Quality is the lead's control of the annotators' work: gold checks
// (scoring, lead-authored gold tasks, an optional qualification), the
// signals beyond gold (fast ratings, straight-lining, position bias, a
// daily cap), and the exclusion of an annotator's ratings from the
// results, which never deletes them and can be reversed.
//
// How a gold answer is scored (goldVerdict):
//   - Likert known_good (one of the image's own references): correct when
//     the gold criterion (the rubric's "overall", else its last) is at
//     least expect.min, the top two points of its scale (4 or 5 of 1–5);
//   - Likert known_bad (another image's reference): correct when it is at
//     most expect.max, the bottom two points (1 or 2 of 1–5);
//   - pairwise known_pair (the image's own reference against another
//     image's): correct when the choice, in the stored A/B terms whatever
//     order they were shown in, is the expected winner; tie and both_bad
//     are wrong answers.
//
// A gold answer that cannot be scored (the rubric lost its criterion, an
// answer without a value for it) counts for nothing.
type Quality struct {
	store QualityStore
	log   *slog.Logger
	now   func() time.Time
}

// QualityStore is what Quality needs from the database.
type QualityStore interface {
	InTx(ctx context.Context, fn func(tx *models.Store) error) error
	CampaignByID(ctx context.Context, id int64) (*models.Campaign, error)
	CampaignQualityByID(ctx context.Context, campaignID int64) (models.CampaignQuality, error)
	AnnotatorExclusions(ctx context.Context, campaignID int64) ([]models.AnnotatorExclusion, error)
	EachCampaignRating(ctx context.Context, campaignID int64, fn func(models.QualityRating) error) error
	UsersByIDs(ctx context.Context, ids []int64) ([]models.User, error)
	CountReplaceableRatings(ctx context.Context, campaignID int64, annotatorIDs []int64) (models.ReplacementCount, error)
}

// NewQuality returns the quality service.
func NewQuality(store QualityStore, log *slog.Logger) *Quality {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Quality{store: store, log: log, now: time.Now}
}

// WithClock makes q read the time from now (tests).
func (q *Quality) WithClock(now func() time.Time) *Quality {
	q.now = now
	return q
}

// Audit actions recorded by Quality.
const (
	AuditQuality   = "campaign.quality"
	AuditExclusion = "annotator.exclusion"
	AuditGold      = "campaign.gold"
)

// Quality setting limits.
const (
	MaxQualificationTasks = 100
	MaxMinGoldAnswers     = 1000
	MaxMinSeconds         = 3600
	MaxDailyCap           = 100000
	MinStraightLineWindow = 3
	MaxStraightLineWindow = 1000
	maxExclusionReason    = 500
	maxGoldText           = 2000
)

// QualitySettings are a campaign's quality controls, all off by default.
// Accuracies are fractions from 0 to 1.
type QualitySettings struct {
	// QualificationTasks: the first N tasks a new annotator gets are gold
	// (0: no qualification); they go on only with QualificationAccuracy
	// or more of them right.
	QualificationTasks    int     `json:"qualification_tasks"`
	QualificationAccuracy float64 `json:"qualification_accuracy"`
	// MinAccuracy flags an annotator whose gold accuracy is below it, once
	// they have answered MinGoldAnswers gold tasks (0: no flag);
	// ExcludeFlagged leaves the ratings of a flagged annotator out of the
	// results unless the lead decided otherwise for them.
	MinAccuracy    float64 `json:"min_accuracy"`
	MinGoldAnswers int     `json:"min_gold_answers"`
	ExcludeFlagged bool    `json:"exclude_flagged"`
	// MinSeconds flags a rating that took less (0: no flag); a rating
	// without a recorded time counts as fast.
	MinSeconds float64 `json:"min_seconds"`
	// DailyCap bounds an annotator's ratings in the campaign per UTC day
	// (0: no cap); see Admit.
	DailyCap int `json:"daily_cap"`
	// StraightLineWindow flags that many consecutive ratings giving one
	// and the same value (0: off); see straightValue.
	StraightLineWindow int `json:"straight_line_window"`
}

// DefaultQualitySettings are the settings of a campaign that has none.
func DefaultQualitySettings() QualitySettings {
	return settingsOf(models.DefaultQuality(0))
}

func settingsOf(q models.CampaignQuality) QualitySettings {
	return QualitySettings{QualificationTasks: q.QualificationTasks, QualificationAccuracy: q.QualificationAccuracy,
		MinAccuracy: q.MinAccuracy, MinGoldAnswers: q.MinGoldAnswers, ExcludeFlagged: q.ExcludeFlagged,
		MinSeconds: q.MinSeconds, DailyCap: q.DailyCap, StraightLineWindow: q.StraightLineWindow}
}

func (s QualitySettings) row(campaignID int64, actor *int64) models.CampaignQuality {
	return models.CampaignQuality{CampaignID: campaignID, QualificationTasks: s.QualificationTasks,
		QualificationAccuracy: s.QualificationAccuracy, MinAccuracy: s.MinAccuracy, MinGoldAnswers: s.MinGoldAnswers,
		ExcludeFlagged: s.ExcludeFlagged, MinSeconds: s.MinSeconds, DailyCap: s.DailyCap,
		StraightLineWindow: s.StraightLineWindow, UpdatedBy: actor}
}

// Check returns the problems of s, each naming its field.
func (s QualitySettings) Check() error {
	var ps Problems
	fraction := func(field string, v float64) {
		if math.IsNaN(v) || v < 0 || v > 1 {
			ps.Add(field, "%g: want a fraction from 0 to 1 (0.8 is 80 %%)", v)
		}
	}
	if s.QualificationTasks < 0 || s.QualificationTasks > MaxQualificationTasks {
		ps.Add("qualification_tasks", "%d: want 0 (no qualification) to %d", s.QualificationTasks, MaxQualificationTasks)
	}
	fraction("qualification_accuracy", s.QualificationAccuracy)
	if s.QualificationTasks > 0 && s.QualificationAccuracy == 0 {
		ps.Add("qualification_accuracy", "0 lets everyone through a qualification of %d tasks: set the share of them an annotator must get right", s.QualificationTasks)
	}
	fraction("min_accuracy", s.MinAccuracy)
	if s.MinGoldAnswers < 1 || s.MinGoldAnswers > MaxMinGoldAnswers {
		ps.Add("min_gold_answers", "%d: want 1 to %d gold answers before an accuracy counts", s.MinGoldAnswers, MaxMinGoldAnswers)
	}
	if s.ExcludeFlagged && s.MinAccuracy == 0 {
		ps.Add("exclude_flagged", "nothing would be excluded: set min_accuracy, the gold accuracy below which an annotator is flagged")
	}
	if math.IsNaN(s.MinSeconds) || s.MinSeconds < 0 || s.MinSeconds > MaxMinSeconds {
		ps.Add("min_seconds", "%g: want 0 (no flag) to %d seconds", s.MinSeconds, MaxMinSeconds)
	}
	if s.DailyCap < 0 || s.DailyCap > MaxDailyCap {
		ps.Add("daily_cap", "%d: want 0 (no cap) to %d ratings a day", s.DailyCap, MaxDailyCap)
	}
	if w := s.StraightLineWindow; w != 0 && (w < MinStraightLineWindow || w > MaxStraightLineWindow) {
		ps.Add("straight_line_window", "%d: want 0 (off) or %d to %d consecutive ratings", w, MinStraightLineWindow, MaxStraightLineWindow)
	}
	return ps.Err("quality settings")
}

// QualitySettingsView is a campaign's settings with who changed them last
// and when (nil and zero for the defaults).
type QualitySettingsView struct {
	QualitySettings
	CampaignID int64      `json:"campaign_id"`
	UpdatedBy  *UserRef   `json:"updated_by"`
	UpdatedAt  *time.Time `json:"updated_at"`
}

// Settings returns the campaign's quality settings.
func (q *Quality) Settings(ctx context.Context, campaignID int64) (*QualitySettingsView, error) {
	if _, err := q.campaign(ctx, campaignID); err != nil {
		return nil, err
	}
	row, err := q.store.CampaignQualityByID(ctx, campaignID)
	if err != nil {
		return nil, fmt.Errorf("annotation: quality settings of campaign %d: %w", campaignID, err)
	}
	v := &QualitySettingsView{QualitySettings: settingsOf(row), CampaignID: campaignID}
	if !row.UpdatedAt.IsZero() {
		at := row.UpdatedAt
		v.UpdatedAt = &at
	}
	if row.UpdatedBy != nil {
		users, err := q.store.UsersByIDs(ctx, []int64{*row.UpdatedBy})
		if err != nil {
			return nil, fmt.Errorf("annotation: quality settings of campaign %d: %w", campaignID, err)
		}
		if len(users) == 1 {
			v.UpdatedBy = &UserRef{ID: users[0].ID, Email: users[0].Email, Name: users[0].Name}
		}
	}
	return v, nil
}

// SetSettings replaces the campaign's quality settings with s and records
// who changed them, before and after, in the same transaction (action
// campaign.quality); settings equal to the stored ones write nothing.
// Problems of s are one *ValidationError naming each field.
func (q *Quality) SetSettings(ctx context.Context, actorID, campaignID int64, s QualitySettings) (*QualitySettingsView, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	changed := false
	err := q.store.InTx(ctx, func(tx *models.Store) error {
		if _, err := tx.LockCampaign(ctx, campaignID); err != nil {
			if errors.Is(err, models.ErrNotFound) {
				return fmt.Errorf("%w: no campaign with id %d", ErrNotFound, campaignID)
			}
			return err
		}
		old, err := tx.CampaignQualityByID(ctx, campaignID)
		if err != nil {
			return err
		}
		before := settingsOf(old)
		if before == s && !old.UpdatedAt.IsZero() {
			return nil
		}
		row := s.row(campaignID, actorPtr(actorID))
		if err := tx.PutCampaignQuality(ctx, &row); err != nil {
			return err
		}
		var beforeDoc models.JSON = models.JSON("null")
		if !old.UpdatedAt.IsZero() {
			beforeDoc = models.MustJSON(before)
		}
		changed = true
		return tx.AddAudit(ctx, &models.AuditEntry{ActorID: actorPtr(actorID), CampaignID: &campaignID,
			Action: AuditQuality, Before: beforeDoc, After: models.MustJSON(s)})
	})
	if err != nil {
		return nil, wrapErr(err, "set quality settings of campaign %d", campaignID)
	}
	if changed {
		q.log.InfoContext(ctx, "quality settings changed", "campaign_id", campaignID, "by", actorID)
	}
	return q.Settings(ctx, campaignID)
}

func (q *Quality) campaign(ctx context.Context, id int64) (*models.Campaign, error) {
	c, err := q.store.CampaignByID(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		return nil, fmt.Errorf("%w: no campaign with id %d", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("annotation: campaign %d: %w", id, err)
	}
	return c, nil
}

// ---- Gold answers ----

// goldExpect is the "expect" of a gold answer: a range of the criterion's
// value (Likert), or the winning side (pairwise).
type goldExpect struct {
	Criterion string `json:"criterion"`
	Min       *int   `json:"min"`
	Max       *int   `json:"max"`
	Winner    string `json:"winner"`
}

// goldVerdict scores a rating of a gold task against its gold answer:
// correct, and whether it could be scored at all.
func goldVerdict(gold models.JSON, r models.QualityRating) (correct, scored bool) {
	var g struct {
		Expect goldExpect `json:"expect"`
	}
	if err := json.Unmarshal(gold, &g); err != nil {
		return false, false
	}
	e := g.Expect
	if e.Winner != "" {
		if r.Choice == "" {
			return false, false
		}
		return r.Choice == e.Winner, true
	}
	if e.Criterion == "" || (e.Min == nil && e.Max == nil) {
		return false, false
	}
	var answers map[string]int
	if err := json.Unmarshal(r.Answers, &answers); err != nil {
		return false, false
	}
	v, ok := answers[e.Criterion]
	if !ok {
		return false, false
	}
	if e.Min != nil && v < *e.Min {
		return false, true
	}
	if e.Max != nil && v > *e.Max {
		return false, true
	}
	return true, true
}

// NewGold is a gold task the lead writes for an image of the campaign.
// Likert: Text with the judgement it deserves, Expect "good" (the gold
// criterion at the top two points of its scale) or "bad" (the bottom two);
// Criterion names another criterion than the gold one (the rubric's
// "overall", else its last). Pairwise: TextA and TextB with the Winner,
// "a" or "b". RatingsWanted is how many annotators answer it (0: the
// thresholds' ratings_per_item).
type NewGold struct {
	ImageID       int64
	Text          string
	Expect        string
	Criterion     string
	TextA, TextB  string
	Winner        string
	RatingsWanted int
}

// GoldTask is a gold task as the lead sees it.
type GoldTask struct {
	TaskID        int64           `json:"task_id"`
	CampaignID    int64           `json:"campaign_id"`
	ImageID       int64           `json:"image_id"`
	Kind          models.TaskKind `json:"kind"`
	GoldAnswer    models.JSON     `json:"gold_answer"`
	RatingsWanted int             `json:"ratings_wanted"`
	Position      int             `json:"position"`
}

// CreateGold adds a lead-authored gold task to the campaign's queue, after
// its last task, with an audit entry (campaign.gold), in one transaction.
// Its gold answer has the selection's shape (see selection_gold.go) plus
// "author_id", so the queue shows it and Quality scores it like the
// selection's gold. A closed campaign is refused (ErrConflict); problems of
// in are one *ValidationError naming each field.
func (q *Quality) CreateGold(ctx context.Context, actorID, campaignID int64, in NewGold) (*GoldTask, error) {
	var out *GoldTask
	err := q.store.InTx(ctx, func(tx *models.Store) error {
		camp, err := tx.LockCampaign(ctx, campaignID)
		if errors.Is(err, models.ErrNotFound) {
			return fmt.Errorf("%w: no campaign with id %d", ErrNotFound, campaignID)
		}
		if err != nil {
			return err
		}
		task, err := goldTask(ctx, tx, camp, actorID, in)
		if err != nil {
			return err
		}
		if camp.Status == models.StatusClosed {
			return fmt.Errorf("%w: campaign %q is closed: its queue can no longer change", ErrConflict, camp.Name)
		}
		if task.Position, err = tx.NextTaskPosition(ctx, camp.ID); err != nil {
			return err
		}
		tasks := []models.Task{*task}
		if err := tx.InsertTasks(ctx, tasks, nil); err != nil {
			return err
		}
		t := tasks[0]
		out = &GoldTask{TaskID: t.ID, CampaignID: camp.ID, ImageID: t.ImageID, Kind: t.Kind, GoldAnswer: t.GoldAnswer,
			RatingsWanted: t.RatingsWanted, Position: t.Position}
		return tx.AddAudit(ctx, &models.AuditEntry{ActorID: actorPtr(actorID), CampaignID: &camp.ID, Action: AuditGold,
			Before: models.JSON("null"), After: models.MustJSON(out)})
	})
	if err != nil {
		return nil, wrapErr(err, "create a gold task in campaign %d", campaignID)
	}
	q.log.InfoContext(ctx, "gold task created", "campaign_id", campaignID, "task_id", out.TaskID, "by", actorID)
	return out, nil
}

// goldTask checks in against the campaign and returns the task to insert.
func goldTask(ctx context.Context, tx *models.Store, camp *models.Campaign, actorID int64, in NewGold) (*models.Task, error) {
	var ps Problems
	if in.ImageID <= 0 {
		ps.Add("image_id", "want the id of one of the campaign's images")
	} else if _, err := tx.ImageOfCampaign(ctx, camp.ID, in.ImageID); errors.Is(err, models.ErrNotFound) {
		ps.Add("image_id", "campaign %q has no image with id %d", camp.Name, in.ImageID)
	} else if err != nil {
		return nil, err
	}
	perItem, seed := 1, camp.ID
	if t, err := ParseThresholds(camp.Thresholds, camp.Mode, camp.ID); err == nil {
		perItem, seed = t.RatingsPerItem, *t.Seed
	}
	wanted := in.RatingsWanted
	if wanted == 0 {
		wanted = perItem
	}
	if wanted < 1 || wanted > MaxRatingsPerItem {
		ps.Add("ratings_wanted", "%d: want 1 to %d annotators (0: the thresholds' ratings_per_item)", in.RatingsWanted, MaxRatingsPerItem)
	}
	task := &models.Task{CampaignID: camp.ID, ImageID: in.ImageID, IsGold: true, RatingsWanted: wanted, Seed: seed,
		Origin: models.OriginLeadGold}
	author := map[string]any{"author_id": actorPtr(actorID)}
	if camp.Mode == models.ModePairwise {
		for _, f := range [][2]string{{"text", in.Text}, {"expect", in.Expect}, {"criterion", in.Criterion}} {
			if f[1] != "" {
				ps.Add(f[0], "a pairwise campaign's gold task has text_a, text_b and winner, not %s", f[0])
			}
		}
		a, b := goldText(&ps, "text_a", in.TextA), goldText(&ps, "text_b", in.TextB)
		if a != "" && normText(a) == normText(b) {
			ps.Add("text_b", "the same text as text_a: a pair needs two different texts")
		}
		if in.Winner != "a" && in.Winner != "b" {
			ps.Add("winner", "%q: want \"a\" or \"b\", the text that must win", in.Winner)
		}
		task.Kind = models.TaskPair
		author["kind"], author["text_a"], author["text_b"] = "known_pair", a, b
		author["expect"] = map[string]string{"winner": in.Winner}
	} else {
		for _, f := range [][2]string{{"text_a", in.TextA}, {"text_b", in.TextB}, {"winner", in.Winner}} {
			if f[1] != "" {
				ps.Add(f[0], "a Likert campaign's gold task has text and expect, not %s", f[0])
			}
		}
		text := goldText(&ps, "text", in.Text)
		rubric := storedRubric(camp.Rubric)
		crit := goldCriterion(rubric)
		if in.Criterion != "" {
			i := slices.IndexFunc(rubric.Criteria, func(c Criterion) bool { return c.Key == in.Criterion })
			if i < 0 {
				ps.Add("criterion", "%q is not a criterion of the rubric (%s)", in.Criterion, strings.Join(rubric.Keys(), ", "))
			} else {
				crit = rubric.Criteria[i]
			}
		}
		task.Kind = models.TaskSingle
		author["text"] = text
		switch in.Expect {
		case "good":
			author["kind"] = "known_good"
			author["expect"] = map[string]any{"criterion": crit.Key, "min": crit.Scale.Max - 1}
		case "bad":
			author["kind"] = "known_bad"
			author["expect"] = map[string]any{"criterion": crit.Key, "max": crit.Scale.Min + 1}
		default:
			ps.Add("expect", "%q: want \"good\" (rated at the top two points of %s) or \"bad\" (the bottom two)", in.Expect, crit.Key)
		}
	}
	if err := ps.Err("gold task"); err != nil {
		return nil, err
	}
	task.GoldAnswer = models.MustJSON(author)
	return task, nil
}

func goldText(ps *Problems, field, s string) string {
	s = strings.TrimSpace(s)
	switch n := utf8.RuneCountInString(s); {
	case !utf8.ValidString(s):
		ps.Add(field, "not valid UTF-8")
	case n == 0:
		ps.Add(field, "empty: write the text the annotators will judge")
	case n > maxGoldText:
		ps.Add(field, "%d characters, more than the limit of %d", n, maxGoldText)
	}
	return s
}

// ---- The queue's admission ----

// Admit is the queue's admission step (Quality is its Admitter): what the
// annotator may get from the campaign now, read in the queue's transaction
// tx with a few indexed reads and no write. In order:
//   - an annotator the lead excluded gets nothing more: their ratings
//     would not count;
//   - with a qualification of N tasks, a new annotator gets gold only
//     until they have answered N; below the accuracy in force (on those
//     first N answers, as they stand) they get nothing more. An annotator
//     whose first N ratings include a regular task (they started before
//     the campaign asked for a qualification) is exempt, and so is one
//     the lead explicitly kept in;
//   - with a daily cap, an annotator whose ratings of the campaign since
//     DayStart reach the cap gets nothing more today; a prefetch (After
//     set) also counts the live leases they hold on it, so that the task
//     prefetched beside the one on screen cannot take them past the cap,
//     while a plain "next" still gives back a task they hold.
func (q *Quality) Admit(ctx context.Context, tx *models.Store, req AdmissionRequest) (QueueAdmission, error) {
	cid, aid := req.Campaign.ID, req.AnnotatorID
	set, err := tx.CampaignQualityByID(ctx, cid)
	if err != nil {
		return QueueAdmission{}, err
	}
	out := QueueAdmission{Tasks: AdmitAny, DailyCap: set.DailyCap}
	ex, err := tx.AnnotatorExclusionOf(ctx, cid, aid)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return QueueAdmission{}, err
	}
	if ex != nil && ex.Excluded {
		out.Tasks, out.Reason = AdmitNone, "your ratings in this campaign are under review by the lead: there is nothing more for you to rate"
		return out, nil
	}
	if set.QualificationTasks > 0 && ex == nil {
		first, err := tx.FirstAnnotatorRatings(ctx, cid, aid, set.QualificationTasks)
		if err != nil {
			return QueueAdmission{}, err
		}
		switch st := judgeQualification(set.QualificationTasks, first); {
		case !st.ended:
			out.Tasks = AdmitGold
		case !st.exempt && !passes(st.correct, st.answered, set.QualificationAccuracy):
			out.Tasks, out.Reason = AdmitNone, "thank you: your first ratings in this campaign did not reach the accuracy the lead asks for, so there is nothing more for you to rate"
			return out, nil
		}
	}
	if set.DailyCap > 0 {
		ratings, leases, err := tx.AnnotatorWork(ctx, cid, aid, DayStart(req.Now), req.Now)
		if err != nil {
			return QueueAdmission{}, err
		}
		if req.After == 0 {
			leases = 0
		}
		if ratings+leases >= int64(set.DailyCap) {
			out.Tasks, out.Reason = AdmitNone, fmt.Sprintf("you have reached today's limit of %d ratings in this campaign: more after 00:00 UTC", set.DailyCap)
		}
	}
	return out, nil
}

// qualState is where an annotator's qualification of n tasks stands after
// their first ratings.
type qualState struct {
	ended, exempt     bool
	answered, correct int
}

// judgeQualification reads the annotator's first ratings in the campaign
// (in time order): a regular one among the first n makes them exempt; n
// gold ones end it, with that many answered and the correct ones counted.
func judgeQualification(n int, first []models.QualityRating) qualState {
	var s qualState
	for _, r := range first[:min(n, len(first))] {
		if !r.IsGold {
			return qualState{ended: true, exempt: true}
		}
		s.answered++
		if ok, _ := goldVerdict(r.GoldAnswer, r); ok {
			s.correct++
		}
	}
	s.ended = s.answered >= n
	return s
}

// passes reports whether correct of n reaches the accuracy (a fraction),
// without a rounding error turning 4 of 5 against 0.8 into a failure.
func passes(correct, n int, accuracy float64) bool {
	return float64(correct) >= accuracy*float64(n)-1e-9
}

// ---- Exclusion ----

// Exclusion decisions of the lead about an annotator (SetExclusion).
const (
	DecisionExclude = "exclude" // their ratings are left out of the results
	DecisionInclude = "include" // their ratings count whatever the flags say
	DecisionPolicy  = "policy"  // no decision: the settings decide
)

// ExclusionState is whether an annotator's ratings count in the results,
// and why.
type ExclusionState struct {
	// Excluded: their ratings are left out of the results (never deleted).
	Excluded bool `json:"excluded"`
	// Decision is the lead's (DecisionExclude or DecisionInclude), or
	// DecisionPolicy when the settings decide; ByPolicy says that they do
	// exclude the annotator (flagged for accuracy, with exclude_flagged).
	Decision  string     `json:"decision"`
	ByPolicy  bool       `json:"by_policy"`
	Reason    string     `json:"reason"`
	DecidedBy *UserRef   `json:"decided_by"`
	DecidedAt *time.Time `json:"decided_at"`
}

// SetExclusion records the lead's decision about the annotator's ratings
// in the campaign (DecisionExclude, DecisionInclude, or DecisionPolicy to
// withdraw a decision) with its reason, who and when, and an audit entry
// (annotator.exclusion) in the same transaction; the same decision again
// writes nothing. No rating is deleted or changed: the decision only says
// which count in the results. An excluded annotator also gets no more
// tasks of the campaign (Admit).
func (q *Quality) SetExclusion(ctx context.Context, actorID, campaignID, annotatorID int64, decision, reason string) (*ExclusionState, error) {
	var ps Problems
	if decision != DecisionExclude && decision != DecisionInclude && decision != DecisionPolicy {
		ps.Add("decision", "%q: want exclude, include or policy", decision)
	}
	reason = strings.TrimSpace(reason)
	if n := utf8.RuneCountInString(reason); !utf8.ValidString(reason) {
		ps.Add("reason", "not valid UTF-8")
	} else if n > maxExclusionReason {
		ps.Add("reason", "%d characters, more than the limit of %d", n, maxExclusionReason)
	}
	if err := ps.Err("exclusion"); err != nil {
		return nil, err
	}
	changed := false
	err := q.store.InTx(ctx, func(tx *models.Store) error {
		if _, err := tx.LockCampaign(ctx, campaignID); errors.Is(err, models.ErrNotFound) {
			return fmt.Errorf("%w: no campaign with id %d", ErrNotFound, campaignID)
		} else if err != nil {
			return err
		}
		users, err := tx.UsersByIDs(ctx, []int64{annotatorID})
		if err != nil {
			return err
		}
		if len(users) == 0 {
			return fmt.Errorf("%w: no user with id %d", ErrNotFound, annotatorID)
		}
		old, err := tx.AnnotatorExclusionOf(ctx, campaignID, annotatorID)
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			return err
		}
		before := exclusionDoc(annotatorID, old)
		var row *models.AnnotatorExclusion
		if decision == DecisionPolicy {
			if old == nil {
				return nil
			}
			if err := tx.DeleteAnnotatorExclusion(ctx, campaignID, annotatorID); err != nil {
				return err
			}
		} else {
			row = &models.AnnotatorExclusion{CampaignID: campaignID, AnnotatorID: annotatorID,
				Excluded: decision == DecisionExclude, Reason: reason, DecidedBy: actorPtr(actorID)}
			if old != nil && old.Excluded == row.Excluded && old.Reason == row.Reason {
				return nil
			}
			if err := tx.PutAnnotatorExclusion(ctx, row); err != nil {
				return err
			}
		}
		changed = true
		return tx.AddAudit(ctx, &models.AuditEntry{ActorID: actorPtr(actorID), CampaignID: &campaignID, Action: AuditExclusion,
			Before: models.MustJSON(before), After: models.MustJSON(exclusionDoc(annotatorID, row))})
	})
	if err != nil {
		return nil, wrapErr(err, "exclusion of annotator %d in campaign %d", annotatorID, campaignID)
	}
	if changed {
		q.log.InfoContext(ctx, "exclusion decided", "campaign_id", campaignID, "annotator_id", annotatorID, "decision", decision, "by", actorID)
	}
	rep, err := q.Report(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	for _, a := range rep.Annotators {
		if a.Annotator.ID == annotatorID {
			return &a.Exclusion, nil
		}
	}
	// An annotator without ratings, leases or decisions in the campaign.
	return &ExclusionState{Decision: DecisionPolicy}, nil
}

func exclusionDoc(annotatorID int64, e *models.AnnotatorExclusion) map[string]any {
	doc := map[string]any{"annotator_id": annotatorID, "decision": DecisionPolicy}
	if e != nil {
		doc["decision"], doc["reason"] = DecisionInclude, e.Reason
		if e.Excluded {
			doc["decision"] = DecisionExclude
		}
	}
	return doc
}

// ExcludedAnnotators returns the IDs of the annotators whose ratings of
// the campaign are left out of its results (see ExclusionState), sorted:
// what every reader of results (agreement, leaderboards, exports) must
// leave out. The ratings themselves stay in the database.
func (q *Quality) ExcludedAnnotators(ctx context.Context, campaignID int64) ([]int64, error) {
	rep, err := q.Report(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	return rep.excludedIDs(), nil
}

// excludedIDs are the annotators the report leaves out of the results, by
// the lead's decision or by the campaign's policy, by ID.
func (r *QualityReport) excludedIDs() []int64 {
	ids := []int64{}
	for _, a := range r.Annotators {
		if a.Exclusion.Excluded {
			ids = append(ids, a.Annotator.ID)
		}
	}
	return ids
}

// ---- The report ----

// Flag codes of an annotator.
const (
	FlagLowAccuracy    = "low_accuracy"
	FlagFastRatings    = "fast_ratings"
	FlagStraightLining = "straight_lining"
	FlagPositionBias   = "position_bias"
	FlagNotQualified   = "not_qualified"
)

// PositionBiasAlpha is the two-sided p-value under which a share of
// "first shown" wins is flagged as a position bias.
const PositionBiasAlpha = 0.01

// Flag is one thing about an annotator the lead should look at.
type Flag struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// GoldScore is how an annotator (or everyone) did on gold tasks. Accuracy
// is Correct / Scored, nil before the first scored answer.
type GoldScore struct {
	Answered int      `json:"answered"`
	Scored   int      `json:"scored"`
	Correct  int      `json:"correct"`
	Accuracy *float64 `json:"accuracy"`
}

func (g *GoldScore) add(r models.QualityRating) {
	g.Answered++
	if ok, scored := goldVerdict(r.GoldAnswer, r); scored {
		g.Scored++
		if ok {
			g.Correct++
		}
	}
	if g.Scored > 0 {
		a := float64(g.Correct) / float64(g.Scored)
		g.Accuracy = &a
	}
}

// PositionBias measures how often the caption shown first wins a pairwise
// choice. Decisive counts the choices of A or B; ties and "both bad" are
// counted apart. Share is FirstShownWins / Decisive; PValue is the exact
// two-sided binomial test of a share of 0.5 (no bias), and CILow..CIHigh
// the Wilson 95 % interval of the share. All three are nil without a
// decisive choice.
type PositionBias struct {
	Decisive       int      `json:"decisive"`
	FirstShownWins int      `json:"first_shown_wins"`
	Ties           int      `json:"ties"`
	BothBad        int      `json:"both_bad"`
	Share          *float64 `json:"share"`
	PValue         *float64 `json:"p_value"`
	CILow          *float64 `json:"ci_low"`
	CIHigh         *float64 `json:"ci_high"`
}

func (b *PositionBias) add(r models.QualityRating) {
	switch r.Choice {
	case "tie":
		b.Ties++
	case "both_bad":
		b.BothBad++
	case "a", "b":
		b.Decisive++
		if shownFirst(r) {
			b.FirstShownWins++
		}
	}
}

func (b *PositionBias) finish() {
	if b.Decisive == 0 {
		return
	}
	share := float64(b.FirstShownWins) / float64(b.Decisive)
	p := binomialTwoSided(b.FirstShownWins, b.Decisive)
	lo, hi := wilson(b.FirstShownWins, b.Decisive)
	b.Share, b.PValue, b.CILow, b.CIHigh = &share, &p, &lo, &hi
}

// shownFirst reports whether a pairwise choice of A or B went to the
// caption shown first: A when the pair was shown as stored
// (shown_position 0), B when it was swapped.
func shownFirst(r models.QualityRating) bool {
	return (r.Choice == "a") == (r.ShownPosition == 0)
}

// Qualification is where an annotator stands in the campaign's
// qualification: "off" (the campaign has none), "qualifying" (Answered of
// Tasks gold answers so far), "passed", "failed", "exempt" (their first
// ratings include regular tasks) or "kept" (the lead kept them in).
type Qualification struct {
	Status   string `json:"status"`
	Tasks    int    `json:"tasks"`
	Answered int    `json:"answered"`
	Correct  int    `json:"correct"`
}

// AnnotatorQuality is one annotator's work in a campaign and what the
// quality checks say about it.
type AnnotatorQuality struct {
	Annotator UserRef `json:"annotator"`
	// Ratings counts every rating; Regular those of non-gold tasks; Today
	// those since DayStart.
	Ratings int `json:"ratings"`
	Regular int `json:"regular"`
	Today   int `json:"today"`
	// MedianSeconds is the median time spent per rating.
	MedianSeconds *float64       `json:"median_seconds"`
	FastRatings   int            `json:"fast_ratings"`
	Gold          GoldScore      `json:"gold"`
	Qualification Qualification  `json:"qualification"`
	PositionBias  *PositionBias  `json:"position_bias,omitempty"`
	StraightRun   int            `json:"straight_run"`
	Flags         []Flag         `json:"flags"`
	Exclusion     ExclusionState `json:"exclusion"`
	LastRatingAt  *time.Time     `json:"last_rating_at"`
}

// QualityReport is the quality checks' view of a campaign: its settings,
// every annotator who rated it (or whom the lead decided about), and the
// campaign-wide gold accuracy and position bias of everyone's ratings.
type QualityReport struct {
	CampaignID   int64               `json:"campaign_id"`
	Mode         models.CampaignMode `json:"mode"`
	Settings     QualitySettings     `json:"settings"`
	Annotators   []AnnotatorQuality  `json:"annotators"`
	Gold         GoldScore           `json:"gold"`
	PositionBias *PositionBias       `json:"position_bias,omitempty"`
	// Excluded counts the ratings left out of the results; Replaceable
	// those of them that ReplaceExcluded would replace now.
	Excluded    int                     `json:"excluded_ratings"`
	Replaceable models.ReplacementCount `json:"replaceable"`

	// The times of the regular ratings of the last rateWindow, for the
	// progress view's throughput (older ones are not kept: a campaign's
	// whole history would be 24 bytes a rating).
	regularTimes []time.Time
}

// Report reads every rating of the campaign once and returns what the
// quality checks say about each annotator.
func (q *Quality) Report(ctx context.Context, campaignID int64) (*QualityReport, error) {
	camp, err := q.campaign(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	return q.report(ctx, q.store, camp, q.now().UTC())
}

func (q *Quality) report(ctx context.Context, st QualityStore, camp *models.Campaign, now time.Time) (*QualityReport, error) {
	row, err := st.CampaignQualityByID(ctx, camp.ID)
	if err != nil {
		return nil, fmt.Errorf("annotation: quality report of campaign %d: %w", camp.ID, err)
	}
	set := settingsOf(row)
	exclusions, err := st.AnnotatorExclusions(ctx, camp.ID)
	if err != nil {
		return nil, fmt.Errorf("annotation: quality report of campaign %d: %w", camp.ID, err)
	}
	rep := &QualityReport{CampaignID: camp.ID, Mode: camp.Mode, Settings: set, Annotators: []AnnotatorQuality{}}
	pairwise := camp.Mode == models.ModePairwise
	if pairwise {
		rep.PositionBias = &PositionBias{}
	}
	day, since := DayStart(now), now.Add(-rateWindow)
	var acc *annotatorAcc
	var list []*annotatorAcc
	err = st.EachCampaignRating(ctx, camp.ID, func(r models.QualityRating) error {
		if acc == nil || acc.q.Annotator.ID != r.AnnotatorID {
			acc = newAnnotatorAcc(r.AnnotatorID, pairwise)
			list = append(list, acc)
		}
		acc.add(r, set, day)
		if r.IsGold {
			rep.Gold.add(r)
		} else if !r.CreatedAt.Before(since) {
			rep.regularTimes = append(rep.regularTimes, r.CreatedAt)
		}
		if pairwise && r.Choice != "" {
			rep.PositionBias.add(r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("annotation: quality report of campaign %d: %w", camp.ID, err)
	}
	if rep.PositionBias != nil {
		rep.PositionBias.finish()
	}
	byID := map[int64]*annotatorAcc{}
	for _, a := range list {
		byID[a.q.Annotator.ID] = a
	}
	for _, e := range exclusions {
		if byID[e.AnnotatorID] == nil {
			a := newAnnotatorAcc(e.AnnotatorID, pairwise)
			byID[e.AnnotatorID] = a
			list = append(list, a)
		}
		byID[e.AnnotatorID].decision = &e
	}
	if err := q.names(ctx, st, list); err != nil {
		return nil, fmt.Errorf("annotation: quality report of campaign %d: %w", camp.ID, err)
	}
	for _, a := range list {
		a.finish(set)
		if a.q.Exclusion.Excluded {
			rep.Excluded += a.q.Ratings
		}
		rep.Annotators = append(rep.Annotators, a.q)
	}
	slices.SortFunc(rep.Annotators, func(x, y AnnotatorQuality) int { return cmp.Compare(x.Annotator.ID, y.Annotator.ID) })
	if rep.Replaceable, err = st.CountReplaceableRatings(ctx, camp.ID, rep.excludedIDs()); err != nil {
		return nil, fmt.Errorf("annotation: quality report of campaign %d: %w", camp.ID, err)
	}
	return rep, nil
}

// names fills in who the annotators are (and who decided about them).
func (q *Quality) names(ctx context.Context, st QualityStore, list []*annotatorAcc) error {
	var ids []int64
	for _, a := range list {
		ids = append(ids, a.q.Annotator.ID)
		if a.decision != nil && a.decision.DecidedBy != nil {
			ids = append(ids, *a.decision.DecidedBy)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	users, err := st.UsersByIDs(ctx, slices.Compact(ids))
	if err != nil {
		return err
	}
	refs := map[int64]UserRef{}
	for _, u := range users {
		refs[u.ID] = UserRef{ID: u.ID, Email: u.Email, Name: u.Name}
	}
	for _, a := range list {
		if r, ok := refs[a.q.Annotator.ID]; ok {
			a.q.Annotator = r
		}
		if a.decision != nil && a.decision.DecidedBy != nil {
			if r, ok := refs[*a.decision.DecidedBy]; ok {
				a.decidedBy = &r
			}
		}
	}
	return nil
}

// annotatorAcc accumulates one annotator's ratings, in time order.
type annotatorAcc struct {
	q         AnnotatorQuality
	durations []int64
	first     []models.QualityRating // up to the qualification's N
	run       int
	runValue  string
	decision  *models.AnnotatorExclusion
	decidedBy *UserRef
}

func newAnnotatorAcc(id int64, pairwise bool) *annotatorAcc {
	a := &annotatorAcc{q: AnnotatorQuality{Annotator: UserRef{ID: id}, Flags: []Flag{}}}
	if pairwise {
		a.q.PositionBias = &PositionBias{}
	}
	return a
}

func (a *annotatorAcc) add(r models.QualityRating, set QualitySettings, day time.Time) {
	a.q.Ratings++
	if !r.IsGold {
		a.q.Regular++
	}
	if !r.CreatedAt.Before(day) {
		a.q.Today++
	}
	at := r.CreatedAt
	a.q.LastRatingAt = &at
	a.durations = append(a.durations, r.DurationMS)
	if set.MinSeconds > 0 && float64(r.DurationMS) < set.MinSeconds*1000 {
		a.q.FastRatings++
	}
	if r.IsGold {
		a.q.Gold.add(r)
	}
	if len(a.first) < set.QualificationTasks {
		a.first = append(a.first, r)
	}
	if a.q.PositionBias != nil && r.Choice != "" {
		a.q.PositionBias.add(r)
	}
	if v := straightValue(r); v != "" && v == a.runValue {
		a.run++
	} else {
		a.run, a.runValue = 0, v
		if v != "" {
			a.run = 1
		}
	}
	a.q.StraightRun = max(a.q.StraightRun, a.run)
}

func (a *annotatorAcc) finish(set QualitySettings) {
	if n := len(a.durations); n > 0 {
		slices.Sort(a.durations)
		m := float64(a.durations[n/2])
		if n%2 == 0 {
			m = float64(a.durations[n/2-1]+a.durations[n/2]) / 2
		}
		m /= 1000
		a.q.MedianSeconds = &m
	}
	if a.q.PositionBias != nil {
		a.q.PositionBias.finish()
	}
	a.q.Qualification = Qualification{Status: "off"}
	if n := set.QualificationTasks; n > 0 {
		st := judgeQualification(n, a.first)
		a.q.Qualification = Qualification{Tasks: n, Answered: st.answered, Correct: st.correct}
		switch {
		case a.decision != nil && !a.decision.Excluded:
			a.q.Qualification.Status = "kept"
		case !st.ended:
			a.q.Qualification.Status = "qualifying"
		case st.exempt:
			a.q.Qualification.Status = "exempt"
		case passes(st.correct, st.answered, set.QualificationAccuracy):
			a.q.Qualification.Status = "passed"
		default:
			a.q.Qualification.Status = "failed"
			a.flag(FlagNotQualified, "%d of %d qualification answers right, under the %s asked for",
				st.correct, st.answered, percent(set.QualificationAccuracy))
		}
	}
	lowAccuracy := set.MinAccuracy > 0 && a.q.Gold.Scored >= set.MinGoldAnswers && a.q.Gold.Accuracy != nil &&
		!passes(a.q.Gold.Correct, a.q.Gold.Scored, set.MinAccuracy)
	if lowAccuracy {
		a.flag(FlagLowAccuracy, "gold accuracy %s (%d of %d), under the %s asked for",
			percent(*a.q.Gold.Accuracy), a.q.Gold.Correct, a.q.Gold.Scored, percent(set.MinAccuracy))
	}
	if a.q.FastRatings > 0 {
		a.flag(FlagFastRatings, "%d of %d ratings took less than %g s", a.q.FastRatings, a.q.Ratings, set.MinSeconds)
	}
	if w := set.StraightLineWindow; w > 0 && a.q.StraightRun >= w {
		a.flag(FlagStraightLining, "%d consecutive ratings with one and the same value (the window is %d)", a.q.StraightRun, w)
	}
	if b := a.q.PositionBias; b != nil && b.PValue != nil && *b.PValue < PositionBiasAlpha {
		a.flag(FlagPositionBias, "the caption shown first won %d of %d choices (p = %.2g)", b.FirstShownWins, b.Decisive, *b.PValue)
	}
	ex := ExclusionState{Decision: DecisionPolicy}
	switch {
	case a.decision != nil:
		ex.Decision, ex.Excluded, ex.Reason = DecisionInclude, a.decision.Excluded, a.decision.Reason
		if a.decision.Excluded {
			ex.Decision = DecisionExclude
		}
		at := a.decision.DecidedAt
		ex.DecidedAt, ex.DecidedBy = &at, a.decidedBy
	case set.ExcludeFlagged && lowAccuracy:
		ex.Excluded, ex.ByPolicy = true, true
	}
	a.q.Exclusion = ex
}

func (a *annotatorAcc) flag(code, format string, args ...any) {
	a.q.Flags = append(a.q.Flags, Flag{Code: code, Message: fmt.Sprintf(format, args...)})
}

func percent(f float64) string {
	return fmt.Sprintf("%.4g %%", f*100)
}

// straightValue is what straight-lining compares between consecutive
// ratings: for a Likert rating that gives every criterion the same value,
// that value ("" when the criteria differ); for a pairwise one, the choice
// as shown ("first", "second", "tie", "both_bad").
func straightValue(r models.QualityRating) string {
	if r.Choice != "" {
		switch {
		case r.Choice == "tie" || r.Choice == "both_bad":
			return r.Choice
		case shownFirst(r):
			return "first"
		}
		return "second"
	}
	var answers map[string]int
	if err := json.Unmarshal(r.Answers, &answers); err != nil || len(answers) == 0 {
		return ""
	}
	v, first := 0, true
	for _, x := range answers {
		if first {
			v, first = x, false
		} else if x != v {
			return ""
		}
	}
	return fmt.Sprint(v)
}

// binomialTwoSided is the exact two-sided p-value of k successes in n
// trials under p = 0.5: the probability of an outcome at most as likely as
// k, which by symmetry is twice the smaller tail (capped at 1).
func binomialTwoSided(k, n int) float64 {
	if n == 0 {
		return 1
	}
	m := min(k, n-k)
	lg := func(x int) float64 { v, _ := math.Lgamma(float64(x) + 1); return v }
	tail := 0.0
	for i := 0; i <= m; i++ {
		tail += math.Exp(lg(n) - lg(i) - lg(n-i) - float64(n)*math.Ln2)
	}
	return math.Min(1, 2*tail)
}

// wilson is the Wilson score 95 % interval of k successes in n trials.
func wilson(k, n int) (lo, hi float64) {
	const z = 1.959963984540054
	p, nf := float64(k)/float64(n), float64(n)
	denom := 1 + z*z/nf
	center := (p + z*z/(2*nf)) / denom
	half := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / denom
	return math.Max(0, center-half), math.Min(1, center+half)
}
