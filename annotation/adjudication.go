package annotation

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"capeval/models"
)

// Adjudication: the items the annotators disagree on most, the lead's view
// of one (its captions, every rating with its comment, the decisions so
// far), and the lead's adjudicated value, which replaces the item's
// consensus everywhere (the leaderboard, the correlations) and is recorded
// as such: a new row per decision, the latest in force, each with an audit
// entry.

// Audit actions of adjudication.
const (
	AuditAdjudicate = "adjudication.set"
	AuditWithdraw   = "adjudication.withdraw"
)

// Adjudication limits.
const (
	// MaxAdjudicationQueue is how many items each adjudication queue lists.
	MaxAdjudicationQueue = 50
	// MaxAdjudicationNote bounds the lead's note, in characters.
	MaxAdjudicationNote = 2000
)

// adjudicationItem describes item i for an adjudication queue (criterion
// c).
func (v *judgedView) adjudicationItem(i, c int) AdjudicationItem {
	j := v.j
	it := j.items[i]
	im := j.images[it.image]
	crit := j.criteria[c]
	ai := AdjudicationItem{TaskID: it.taskID, Criterion: crit, ImageID: im.id, Image: im.external, Captioners: []string{},
		Consensus: Number(v.itemConsensus(i, c)), Spread: NaN(), MetricValue: NaN(), Gap: NaN()}
	for _, side := range [][]int32{it.a, it.b} {
		for _, ci := range side {
			ai.Captioners = append(ai.Captioners, j.captioners[j.captions[ci].captioner].label)
		}
	}
	nc := len(j.criteria)
	for r := it.start; r < it.end; r++ {
		if v.keptRating[r] && !math.IsNaN(j.rVal[int(r)*nc+c]) {
			ai.Ratings++
		}
	}
	if adj, ok := j.adjudicated[[2]int32{int32(i), int32(c)}]; ok {
		ai.Adjudicated = &Adjudicated{Value: Number(adj.value), Choice: adj.choice, Note: adj.note}
		if adj.decidedBy != nil {
			ref := j.users[*adj.decidedBy]
			ai.Adjudicated.DecidedBy = &ref
		}
	}
	return ai
}

// disagreementQueue lists the items whose kept ratings of a criterion are
// furthest apart: Likert by their population standard deviation, pairwise
// by 1 − the share of the most common choice (a tie and "both bad" alike),
// largest first (then the most ratings, then task ID), items with two or
// more ratings only.
func disagreementQueue(v *judgedView, limit int) []AdjudicationItem {
	j := v.j
	nc := len(j.criteria)
	type cand struct {
		item, crit int
		spread     float64
		n          int
	}
	var cands []cand
	for i, it := range j.items {
		if !v.keepImage[it.image] {
			continue
		}
		for c := range nc {
			var vals []float64
			for r := it.start; r < it.end; r++ {
				if x := j.rVal[int(r)*nc+c]; v.keptRating[r] && !math.IsNaN(x) {
					vals = append(vals, x)
				}
			}
			if len(vals) < 2 {
				continue
			}
			var spread float64
			if j.mode == models.ModePairwise {
				most := 0
				for _, x := range vals {
					most = max(most, countOf(vals, x))
				}
				spread = 1 - float64(most)/float64(len(vals))
			} else {
				m := mean(vals)
				var ss float64
				for _, x := range vals {
					ss += (x - m) * (x - m)
				}
				spread = math.Sqrt(ss / float64(len(vals)))
			}
			if spread > 0 {
				cands = append(cands, cand{i, c, spread, len(vals)})
			}
		}
	}
	slices.SortFunc(cands, func(a, b cand) int {
		return cmp.Or(cmp.Compare(b.spread, a.spread), cmp.Compare(b.n, a.n),
			cmp.Compare(j.items[a.item].taskID, j.items[b.item].taskID), cmp.Compare(a.crit, b.crit))
	})
	out := []AdjudicationItem{}
	for _, c := range cands[:min(limit, len(cands))] {
		ai := v.adjudicationItem(c.item, c.crit)
		ai.Spread = Number(c.spread)
		out = append(out, ai)
	}
	return out
}

func countOf(vals []float64, x float64) int {
	n := 0
	for _, y := range vals {
		if y == x {
			n++
		}
	}
	return n
}

// AdjudicationDetail is what a lead sees on opening an item: the task, its
// image and captions (in the stored A/B order), every rating with its
// comment, the decisions in force per criterion and their history.
type AdjudicationDetail struct {
	TaskID     int64                         `json:"task_id"`
	CampaignID int64                         `json:"campaign_id"`
	Kind       models.TaskKind               `json:"kind"`
	Image      AdjudicationImage             `json:"image"`
	CaptionA   AdjudicationCaption           `json:"caption_a"`
	CaptionB   *AdjudicationCaption          `json:"caption_b,omitempty"`
	Criteria   []string                      `json:"criteria"`
	Ratings    []AdjudicationRating          `json:"ratings"`
	InForce    map[string]AdjudicationRecord `json:"in_force"`
	History    []AdjudicationRecord          `json:"history"`
}

// AdjudicationImage names the item's image.
type AdjudicationImage struct {
	ID         int64  `json:"id"`
	ExternalID string `json:"external_id"`
	SHA256     string `json:"sha256"`
}

// AdjudicationCaption is a caption the item shows, with the captioners
// whose caption it is (several when they wrote the same text).
type AdjudicationCaption struct {
	Text       string   `json:"text"`
	Captioners []string `json:"captioners"`
}

// AdjudicationRating is one rating of the item: Answers (Likert) or Choice
// (pairwise, in the stored A/B terms, as the detail's captions are), who
// gave it and whether the results leave it out.
type AdjudicationRating struct {
	ID        int64              `json:"id"`
	Annotator string             `json:"annotator"`
	Imported  bool               `json:"imported"`
	Excluded  bool               `json:"excluded"`
	Answers   map[string]float64 `json:"answers,omitempty"`
	Choice    string             `json:"choice,omitempty"`
	Comment   string             `json:"comment"`
	CreatedAt time.Time          `json:"created_at"`
}

// AdjudicationRecord is one decision of a lead: a value for a criterion
// (Likert) or a choice (pairwise, criterion "choice"); Withdrawn when it
// withdrew the previous one.
type AdjudicationRecord struct {
	ID        int64     `json:"id"`
	Criterion string    `json:"criterion"`
	Value     Number    `json:"value"`
	Choice    string    `json:"choice,omitempty"`
	Withdrawn bool      `json:"withdrawn"`
	Note      string    `json:"note"`
	DecidedBy *UserRef  `json:"decided_by"`
	CreatedAt time.Time `json:"created_at"`
}

// AdjudicationInput is a lead's decision on an item. Likert: Criterion (a
// rubric key) and Value (a number within the criterion's scale, not
// necessarily whole); pairwise: Criterion "choice" (or empty) and Choice
// (a, b, tie or both_bad, in the stored A/B terms). Withdraw instead
// withdraws the decision in force for the criterion. Note says why.
type AdjudicationInput struct {
	Criterion string   `json:"criterion"`
	Value     *float64 `json:"value"`
	Choice    string   `json:"choice"`
	Withdraw  bool     `json:"withdraw"`
	Note      string   `json:"note"`
}

// AdjudicationStore is what adjudication needs from the database.
type AdjudicationStore interface {
	InTx(ctx context.Context, fn func(tx *models.Store) error) error
	CampaignByID(ctx context.Context, id int64) (*models.Campaign, error)
	TaskOfCampaign(ctx context.Context, campaignID, taskID int64) (*models.Task, error)
	TaskRatings(ctx context.Context, taskID int64) ([]models.Rating, error)
	TaskAdjudications(ctx context.Context, taskID int64) ([]models.Adjudication, error)
	TaskContentByID(ctx context.Context, id int64) (*models.TaskContent, error)
	EachJudgedCaption(ctx context.Context, campaignID int64, fn func(models.JudgedCaption) error) error
	Captioners(ctx context.Context, campaignID int64) ([]models.CaptionerSummary, error)
	ImageOfCampaign(ctx context.Context, campaignID, imageID int64) (*models.Image, error)
	UsersByIDs(ctx context.Context, ids []int64) ([]models.User, error)
}

// regularTask returns the campaign's task if it is one the results use (a
// regular task with ratings), else ErrNotFound.
func regularTask(ctx context.Context, st AdjudicationStore, campaignID, taskID int64) (*models.Campaign, *models.Task, error) {
	camp, err := st.CampaignByID(ctx, campaignID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, nil, fmt.Errorf("%w: no campaign with id %d", ErrNotFound, campaignID)
	}
	if err != nil {
		return nil, nil, err
	}
	task, err := st.TaskOfCampaign(ctx, campaignID, taskID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, nil, fmt.Errorf("%w: campaign %q has no task %d", ErrNotFound, camp.Name, taskID)
	}
	if err != nil {
		return nil, nil, err
	}
	if task.IsGold {
		return nil, nil, fmt.Errorf("%w: task %d is a gold task: it judges annotators, not a caption, and is not adjudicated", ErrConflict, taskID)
	}
	return camp, task, nil
}

// OpenAdjudication returns the lead's view of one item of the campaign.
func (l *Leaderboards) OpenAdjudication(ctx context.Context, campaignID, taskID int64) (*AdjudicationDetail, error) {
	st := l.store
	camp, task, err := regularTask(ctx, st, campaignID, taskID)
	if err != nil {
		return nil, wrapErr(err, "adjudication of task %d", taskID)
	}
	content, err := st.TaskContentByID(ctx, taskID)
	if err != nil {
		return nil, wrapErr(err, "adjudication of task %d", taskID)
	}
	img, err := st.ImageOfCampaign(ctx, campaignID, task.ImageID)
	if err != nil {
		return nil, wrapErr(err, "adjudication of task %d", taskID)
	}
	caps, err := st.Captioners(ctx, campaignID)
	if err != nil {
		return nil, wrapErr(err, "adjudication of task %d", taskID)
	}
	labels := map[int64]string{}
	for _, c := range caps {
		labels[c.ID] = captionerLabel(c.Name, c.Version)
	}
	sides := [2][]string{}
	err = st.EachJudgedCaption(ctx, campaignID, func(c models.JudgedCaption) error {
		if c.TaskID == taskID && !slices.Contains(sides[c.Side], labels[c.CaptionerID]) {
			sides[c.Side] = append(sides[c.Side], labels[c.CaptionerID])
		}
		return nil
	})
	if err != nil {
		return nil, wrapErr(err, "adjudication of task %d", taskID)
	}
	rubric := storedRubric(camp.Rubric)
	d := &AdjudicationDetail{TaskID: taskID, CampaignID: campaignID, Kind: task.Kind,
		Image:    AdjudicationImage{ID: img.ID, ExternalID: img.ExternalID, SHA256: img.SHA256},
		CaptionA: AdjudicationCaption{Text: content.TextA, Captioners: nonNilStrings(sides[0])},
		Criteria: rubric.Keys(), Ratings: []AdjudicationRating{}, InForce: map[string]AdjudicationRecord{}, History: []AdjudicationRecord{}}
	if task.Kind == models.TaskPair {
		d.CaptionB = &AdjudicationCaption{Text: content.TextB, Captioners: nonNilStrings(sides[1])}
		d.Criteria = []string{ChoiceCriterion}
	}
	ratings, err := st.TaskRatings(ctx, taskID)
	if err != nil {
		return nil, wrapErr(err, "adjudication of task %d", taskID)
	}
	hist, err := st.TaskAdjudications(ctx, taskID)
	if err != nil {
		return nil, wrapErr(err, "adjudication of task %d", taskID)
	}
	var ids []int64
	for _, r := range ratings {
		if r.AnnotatorID != 0 {
			ids = append(ids, r.AnnotatorID)
		}
	}
	for _, a := range hist {
		if a.DecidedBy != nil {
			ids = append(ids, *a.DecidedBy)
		}
	}
	users, err := l.userRefs(ctx, ids)
	if err != nil {
		return nil, wrapErr(err, "adjudication of task %d", taskID)
	}
	excluded := map[int64]bool{}
	if l.quality != nil {
		rep, err := l.quality.Report(ctx, campaignID)
		if err != nil {
			return nil, err
		}
		for _, a := range rep.Annotators {
			excluded[a.Annotator.ID] = a.Exclusion.Excluded
		}
	}
	for _, r := range ratings {
		ar := AdjudicationRating{ID: r.ID, Imported: r.Imported, Excluded: excluded[r.AnnotatorID], Comment: r.Comment, CreatedAt: r.CreatedAt.UTC()}
		switch {
		case r.AnnotatorID != 0:
			ar.Annotator = users[r.AnnotatorID].Email
		case r.ExternalAnnotator != "":
			ar.Annotator = "imported:" + r.ExternalAnnotator
		default:
			ar.Annotator = "imported"
		}
		if r.Choice != nil {
			ar.Choice = *r.Choice
		} else {
			vals := make([]float64, len(d.Criteria))
			_ = parseAnswers(r.Answers, d.Criteria, vals)
			ar.Answers = map[string]float64{}
			for k, key := range d.Criteria {
				if !math.IsNaN(vals[k]) {
					ar.Answers[key] = vals[k]
				}
			}
		}
		d.Ratings = append(d.Ratings, ar)
	}
	for _, a := range hist {
		rec := adjudicationRecord(a, camp.Mode, users)
		d.History = append(d.History, rec)
		if rec.Withdrawn {
			delete(d.InForce, rec.Criterion)
		} else {
			d.InForce[rec.Criterion] = rec
		}
	}
	return d, nil
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func adjudicationRecord(a models.Adjudication, mode models.CampaignMode, users map[int64]UserRef) AdjudicationRecord {
	rec := AdjudicationRecord{ID: a.ID, Criterion: a.Criterion, Value: NaN(), Note: a.Note, CreatedAt: a.CreatedAt.UTC()}
	if mode == models.ModePairwise {
		rec.Criterion = ChoiceCriterion
	}
	switch {
	case a.Value != nil:
		rec.Value = Number(*a.Value)
	case a.Choice != nil:
		rec.Choice, rec.Value = *a.Choice, Number(choiceValue(*a.Choice))
	default:
		rec.Withdrawn = true
	}
	if a.DecidedBy != nil {
		u := users[*a.DecidedBy]
		rec.DecidedBy = &u
	}
	return rec
}

// Adjudicate records a lead's decision on the campaign's item (task) and
// returns the item's view after it. The decision and its audit entry
// (before: the decision in force; after: this one) are written in one
// transaction; the same decision as the one in force writes nothing. A
// gold task is ErrConflict, a task without ratings ErrConflict, a wrong
// criterion, value or choice a *ValidationError.
func (l *Leaderboards) Adjudicate(ctx context.Context, actorID, campaignID, taskID int64, in AdjudicationInput) (*AdjudicationDetail, error) {
	st := l.store
	camp, task, err := regularTask(ctx, st, campaignID, taskID)
	if err != nil {
		return nil, wrapErr(err, "adjudicate task %d", taskID)
	}
	var ps Problems
	row := models.Adjudication{CampaignID: campaignID, TaskID: taskID, Note: strings.TrimSpace(in.Note), DecidedBy: actorPtr(actorID)}
	if !utf8.ValidString(row.Note) {
		ps.Add("note", "not valid UTF-8")
	} else if n := utf8.RuneCountInString(row.Note); n > MaxAdjudicationNote {
		ps.Add("note", "%d characters, more than the limit of %d", n, MaxAdjudicationNote)
	}
	if task.Kind == models.TaskPair {
		if in.Criterion != "" && in.Criterion != ChoiceCriterion {
			ps.Add("criterion", "%q: a pairwise item has one criterion, %q", in.Criterion, ChoiceCriterion)
		}
		if in.Value != nil {
			ps.Add("value", "a pairwise item takes a choice (a, b, tie or both_bad), not a value")
		}
		switch {
		case in.Withdraw && in.Choice != "":
			ps.Add("choice", "withdraw takes no choice")
		case in.Withdraw:
		case slices.Contains([]string{"a", "b", "tie", "both_bad"}, in.Choice):
			c := in.Choice
			row.Choice = &c
		case in.Choice == "":
			ps.Add("choice", "required: a, b, tie or both_bad (A and B as the item's detail shows them)")
		default:
			ps.Add("choice", "%q: want a, b, tie or both_bad", in.Choice)
		}
	} else {
		rubric := storedRubric(camp.Rubric)
		k := slices.IndexFunc(rubric.Criteria, func(c Criterion) bool { return c.Key == in.Criterion })
		row.Criterion = in.Criterion
		switch {
		case in.Criterion == "":
			ps.Add("criterion", "required: one of %s", strings.Join(rubric.Keys(), ", "))
		case k < 0:
			ps.Add("criterion", "%q is not a criterion of the rubric (%s)", in.Criterion, strings.Join(rubric.Keys(), ", "))
		}
		if in.Choice != "" {
			ps.Add("choice", "a Likert item takes a value, not a choice")
		}
		switch {
		case in.Withdraw && in.Value != nil:
			ps.Add("value", "withdraw takes no value")
		case in.Withdraw:
		case in.Value == nil:
			ps.Add("value", "required: a number within the criterion's scale")
		case k >= 0:
			sc := rubric.Criteria[k].Scale
			if x := *in.Value; math.IsNaN(x) || x < float64(sc.Min) || x > float64(sc.Max) {
				ps.Add("value", "%v: want a number from %d to %d", x, sc.Min, sc.Max)
			} else {
				row.Value = &x
			}
		}
	}
	if err := ps.Err("adjudication"); err != nil {
		return nil, err
	}
	changed := false
	err = st.InTx(ctx, func(tx *models.Store) error {
		if _, err := tx.LockCampaign(ctx, campaignID); err != nil {
			return err
		}
		ratings, err := tx.TaskRatings(ctx, taskID)
		if err != nil {
			return err
		}
		if len(ratings) == 0 {
			return fmt.Errorf("%w: task %d has no rating: there is nothing to adjudicate", ErrConflict, taskID)
		}
		hist, err := tx.TaskAdjudications(ctx, taskID)
		if err != nil {
			return err
		}
		var before *models.Adjudication
		for k := range hist {
			if hist[k].Criterion == row.Criterion {
				before = &hist[k]
			}
		}
		if before != nil && (before.Value == nil) == (row.Value == nil) && (before.Choice == nil) == (row.Choice == nil) &&
			(row.Value == nil || *row.Value == *before.Value) && (row.Choice == nil || *row.Choice == *before.Choice) && before.Note == row.Note {
			return nil
		}
		if before == nil && in.Withdraw {
			return nil
		}
		if before != nil && in.Withdraw && before.Value == nil && before.Choice == nil {
			return nil
		}
		if err := tx.AddAdjudication(ctx, &row); err != nil {
			return err
		}
		action := AuditAdjudicate
		if in.Withdraw {
			action = AuditWithdraw
		}
		changed = true
		return tx.AddAudit(ctx, &models.AuditEntry{ActorID: actorPtr(actorID), CampaignID: &campaignID, Action: action,
			Before: models.MustJSON(adjudicationDoc(before)), After: models.MustJSON(adjudicationDoc(&row))})
	})
	if err != nil {
		return nil, wrapErr(err, "adjudicate task %d", taskID)
	}
	if changed {
		l.log.InfoContext(ctx, "item adjudicated", "campaign_id", campaignID, "task_id", taskID, "criterion", row.Criterion, "withdraw", in.Withdraw, "by", actorID)
	}
	return l.OpenAdjudication(ctx, campaignID, taskID)
}

// adjudicationDoc is a decision as the audit log records it.
func adjudicationDoc(a *models.Adjudication) any {
	if a == nil || a.Value == nil && a.Choice == nil {
		return nil
	}
	doc := map[string]any{"task_id": a.TaskID, "criterion": a.Criterion, "note": a.Note}
	if a.Value != nil {
		doc["value"] = *a.Value
	}
	if a.Choice != nil {
		doc["choice"] = *a.Choice
	}
	return doc
}
