package annotation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"capeval/models"
)

// Rating limits.
const (
	// UndoWindow is how long after a rating its annotator may revise it.
	UndoWindow = 5 * time.Minute
	// MaxClientID is the longest client ID, in bytes.
	MaxClientID = 100
	// MaxComment is the longest comment, in characters.
	MaxComment = 2000
	// MaxSkipReason is the longest free-text skip reason, in characters.
	MaxSkipReason = 500
	// MaxDurationMS bounds the time spent that a rating may report (a day):
	// more is a broken client clock, not a person's work.
	MaxDurationMS = 24 * 60 * 60 * 1000
)

// The pairwise choices, as the annotator gives them: A and B are the
// captions in the order they were shown.
const (
	ChoiceA       = "A"
	ChoiceB       = "B"
	ChoiceTie     = "tie"
	ChoiceBothBad = "both_bad"
)

// RatingInput is an annotator's answer to a task. Likert campaigns take
// Answers (a whole number in the criterion's scale for every criterion of
// the rubric; the values arrive as decoded JSON, so that a wrong type is
// reported with its criterion); pairwise campaigns take Choice (ChoiceA,
// ChoiceB, ChoiceTie or ChoiceBothBad, A and B as shown). ClientID, chosen
// by the client, makes a retried submission return the first rating.
type RatingInput struct {
	ClientID   string
	Answers    map[string]any
	Choice     string
	Comment    string
	DurationMS int64
}

// RatingView is a rating as its annotator sees it: the answer in the terms
// in which it was given (a pairwise choice as shown), and until when it may
// be revised.
type RatingView struct {
	ID         int64          `json:"id"`
	TaskID     int64          `json:"task_id"`
	ClientID   string         `json:"client_id"`
	Answers    map[string]int `json:"answers,omitempty"`
	Choice     string         `json:"choice,omitempty"`
	Comment    string         `json:"comment"`
	DurationMS int64          `json:"duration_ms"`
	CreatedAt  time.Time      `json:"created_at"`
	RevisedAt  *time.Time     `json:"revised_at"`
	UndoUntil  time.Time      `json:"undo_until"`
}

// Rate records the annotator's rating of a task handed to them and returns
// it; created is false when the client ID was used for this task already,
// and the first rating is returned unchanged. The rating is committed (and,
// on SQLite, synced to disk) before Rate returns.
//
// A rating whose lease expired is still taken while the task wants
// ratings; once the task has them all it is ErrConflict, as is a second
// rating of the task by the annotator, a client ID used for another task,
// or a campaign that is no longer collecting. A task never handed to the
// annotator is ErrNotFound; a wrong answer a *ValidationError naming the
// field.
func (q *Queue) Rate(ctx context.Context, annotatorID, taskID int64, in RatingInput) (view *RatingView, created bool, err error) {
	var ps Problems
	checkRatingInput(&ps, in, true)
	if err := ps.Err("rating"); err != nil {
		return nil, false, err
	}
	now := q.clock()
	// The answer is checked against the task and its campaign before the
	// transaction (both read without locks: what a rating depends on does
	// not change while the task is rated), so that the transaction, on
	// SQLite the database's write lock, holds only the checks that must be
	// exact and the writes.
	notHanded := fmt.Errorf("%w: no task %d handed to you", ErrNotFound, taskID)
	tc, err := q.store.TaskContentByID(ctx, taskID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, false, notHanded
	}
	if err != nil {
		return nil, false, wrapErr(err, "rate task %d", taskID)
	}
	camp := &models.Campaign{ID: tc.CampaignID, Name: tc.CampaignName, Mode: tc.Mode, Status: tc.Status, Rubric: tc.Rubric}
	r := &models.Rating{TaskID: taskID, AnnotatorID: annotatorID, ClientID: in.ClientID, Comment: strings.TrimSpace(in.Comment),
		DurationMS: in.DurationMS, CreatedAt: now}
	if err := answerOf(camp, &tc.Task, annotatorID, in, r); err != nil {
		return nil, false, err
	}
	err = q.store.InGroupTx(ctx, func(tx *models.Store) error {
		st, err := tx.RatingStateOf(ctx, taskID, annotatorID, in.ClientID, now)
		if errors.Is(err, models.ErrNotFound) {
			return notHanded
		}
		if err != nil {
			return err
		}
		switch {
		case st.ClientRatingID != 0 && st.ClientRatingTask != taskID:
			return fmt.Errorf("%w: client_id %q was used for your rating of task %d: send a new one for each rating",
				ErrConflict, in.ClientID, st.ClientRatingTask)
		case st.ClientRatingID != 0: // a retry: the first rating
			first, err := tx.RatingByID(ctx, st.ClientRatingID)
			if err != nil {
				return err
			}
			view = ratingView(first)
			return nil
		case st.MyRatingID != 0:
			return fmt.Errorf("%w: you rated task %d already (rating %d)", ErrConflict, taskID, st.MyRatingID)
		case !st.Handed && st.Skipped:
			return fmt.Errorf("%w: you skipped task %d", ErrConflict, taskID)
		case !st.Handed:
			return notHanded
		}
		if camp.Status != models.StatusCollecting {
			return fmt.Errorf("%w: campaign %q is %s: it takes no more ratings", ErrConflict, camp.Name, camp.Status)
		}
		r.Late = !st.Live
		if st.Task.RatingsDone >= st.Task.RatingsWanted {
			return fullError(taskID, r.Late)
		}
		if err := tx.AddRating(ctx, r); err != nil {
			if errors.Is(err, models.ErrTaskFull) {
				return fullError(taskID, r.Late)
			}
			return err
		}
		view, created = ratingView(r), true
		return nil
	})
	if errors.Is(err, models.ErrConflict) && !errors.Is(err, models.ErrTaskFull) {
		// Two submissions with one client ID on different tasks raced
		// (each task's lock serializes only its own): the other one won.
		if first, rerr := q.store.RatingByClientID(ctx, annotatorID, in.ClientID); rerr == nil {
			if first.TaskID == taskID {
				return ratingView(first), false, nil
			}
			err = fmt.Errorf("%w: client_id %q was used for your rating of task %d: send a new one for each rating",
				ErrConflict, in.ClientID, first.TaskID)
		}
	}
	if err != nil {
		return nil, false, wrapErr(err, "rate task %d", taskID)
	}
	if created {
		q.log.DebugContext(ctx, "rating recorded", "rating_id", view.ID, "task_id", taskID, "annotator_id", annotatorID)
	}
	return view, created, nil
}

func fullError(taskID int64, late bool) error {
	if late {
		return fmt.Errorf("%w: task %d has all the ratings it wants: your lease had expired and others rated it meanwhile, so this rating cannot be taken",
			ErrConflict, taskID)
	}
	return fmt.Errorf("%w: task %d has all the ratings it wants: this rating cannot be taken", ErrConflict, taskID)
}

// Revise replaces the answer of the annotator's rating within UndoWindow
// of its creation and returns it. A rating of another annotator, or none,
// is ErrNotFound; after the window, or once the campaign stopped
// collecting, ErrConflict. The client ID may be left empty; if given, it
// must be the rating's.
func (q *Queue) Revise(ctx context.Context, annotatorID, ratingID int64, in RatingInput) (*RatingView, error) {
	var ps Problems
	checkRatingInput(&ps, in, false)
	if err := ps.Err("rating"); err != nil {
		return nil, err
	}
	now := q.clock()
	var view *RatingView
	err := q.store.InGroupTx(ctx, func(tx *models.Store) error {
		r, err := tx.RatingByID(ctx, ratingID)
		if errors.Is(err, models.ErrNotFound) || err == nil && r.AnnotatorID != annotatorID {
			return fmt.Errorf("%w: no rating %d of yours", ErrNotFound, ratingID)
		}
		if err != nil {
			return err
		}
		if in.ClientID != "" && in.ClientID != r.ClientID {
			return &ValidationError{What: "rating", Problems: []Problem{{Where: "client_id",
				Message: fmt.Sprintf("%q is not the client_id of rating %d", in.ClientID, ratingID)}}}
		}
		task, err := tx.LockTask(ctx, r.TaskID)
		if err != nil {
			return err
		}
		camp, err := tx.CampaignByID(ctx, task.CampaignID)
		if err != nil {
			return err
		}
		next := *r
		if err := answerOf(camp, task, annotatorID, in, &next); err != nil {
			return err
		}
		if camp.Status != models.StatusCollecting {
			return fmt.Errorf("%w: campaign %q is %s: its ratings can no longer change", ErrConflict, camp.Name, camp.Status)
		}
		if until := r.CreatedAt.Add(UndoWindow); now.After(until) {
			return fmt.Errorf("%w: rating %d can no longer be changed: its undo window closed at %s",
				ErrConflict, ratingID, until.Format(time.RFC3339))
		}
		err = tx.ReviseRating(ctx, ratingID, models.RatingRevision{Answers: next.Answers, Choice: next.Choice,
			Comment: strings.TrimSpace(in.Comment), DurationMS: in.DurationMS, At: now})
		if err != nil {
			return err
		}
		if r, err = tx.RatingByID(ctx, ratingID); err != nil {
			return err
		}
		view = ratingView(r)
		return nil
	})
	if err != nil {
		return nil, wrapErr(err, "revise rating %d", ratingID)
	}
	return view, nil
}

// Skip records that the annotator declines a task handed to them, and why
// (reason: "image_broken", "cant_judge", or any other text up to
// MaxSkipReason characters), and gives the task back; the annotator never
// gets it again. The second "image_broken" skip of a task sets it aside
// for the lead. Skipping a task twice is accepted (the first reason
// stays); a task the annotator rated is ErrConflict, one never handed to
// them ErrNotFound.
func (q *Queue) Skip(ctx context.Context, annotatorID, taskID int64, reason string) error {
	k := &models.Skip{TaskID: taskID, AnnotatorID: annotatorID}
	reason = strings.TrimSpace(reason)
	switch reason {
	case string(models.SkipImageBroken), string(models.SkipCantJudge):
		k.Reason = models.SkipReason(reason)
	default:
		var ps Problems
		checkText(&ps, "reason", reason, 1, MaxSkipReason)
		if err := ps.Err("skip"); err != nil {
			return err
		}
		k.Reason, k.Note = models.SkipOther, reason
	}
	k.CreatedAt = q.clock()
	var setAside bool
	err := q.store.InGroupTx(ctx, func(tx *models.Store) error {
		if _, err := tx.SkipOf(ctx, taskID, annotatorID); err == nil {
			return nil
		} else if !errors.Is(err, models.ErrNotFound) {
			return err
		}
		if _, _, err := handedTask(ctx, tx, taskID, annotatorID); err != nil {
			return err
		}
		var err error
		setAside, err = tx.AddSkip(ctx, k)
		return err
	})
	if err != nil {
		return wrapErr(err, "skip task %d", taskID)
	}
	if setAside {
		q.log.InfoContext(ctx, "task set aside: image reported broken twice", "task_id", taskID)
	}
	return nil
}

// checkRatingInput checks what does not depend on the task: the client ID
// (required on creation), the comment and the time spent.
func checkRatingInput(ps *Problems, in RatingInput, create bool) {
	switch {
	case in.ClientID == "" && create:
		ps.Add("client_id", "required: a unique ID the client chooses for this rating, sent again with a retry")
	case len(in.ClientID) > MaxClientID:
		ps.Add("client_id", "%d bytes, more than the limit of %d", len(in.ClientID), MaxClientID)
	case !utf8.ValidString(in.ClientID) || strings.IndexFunc(in.ClientID, func(r rune) bool { return !unicode.IsPrint(r) || r == ' ' }) >= 0:
		ps.Add("client_id", "must be printable characters without spaces")
	}
	if !utf8.ValidString(in.Comment) {
		ps.Add("comment", "not valid UTF-8")
	} else if n := utf8.RuneCountInString(strings.TrimSpace(in.Comment)); n > MaxComment {
		ps.Add("comment", "%d characters, more than the limit of %d", n, MaxComment)
	}
	if in.DurationMS < 0 || in.DurationMS > MaxDurationMS {
		ps.Add("duration_ms", "%d: want 0 to %d (milliseconds spent on the task)", in.DurationMS, MaxDurationMS)
	}
}

// answerOf checks the answer against the campaign's mode and rubric and
// writes it into r in stored terms (a pairwise choice translated from the
// shown order), with the shown position.
func answerOf(camp *models.Campaign, task *models.Task, annotatorID int64, in RatingInput, r *models.Rating) error {
	var ps Problems
	swapped := task.Kind == models.TaskPair && shownSwapped(task.Seed, task.ID, annotatorID)
	r.ShownPosition = 0
	if swapped {
		r.ShownPosition = 1
	}
	if task.Kind == models.TaskPair {
		if in.Answers != nil {
			ps.Add("answers", "a pairwise task takes a choice, not answers")
		}
		var stored string
		switch in.Choice {
		case ChoiceA:
			stored = "a"
		case ChoiceB:
			stored = "b"
		case ChoiceTie:
			stored = "tie"
		case ChoiceBothBad:
			stored = "both_bad"
		case "":
			ps.Add("choice", "required: A, B, tie or both_bad")
		default:
			ps.Add("choice", "%q: want A, B, tie or both_bad", in.Choice)
		}
		if swapped && (stored == "a" || stored == "b") {
			stored = map[string]string{"a": "b", "b": "a"}[stored]
		}
		if err := ps.Err("rating"); err != nil {
			return err
		}
		r.Choice, r.Answers = &stored, models.JSON("null")
		return nil
	}
	if in.Choice != "" {
		ps.Add("choice", "a Likert task takes answers, one per criterion, not a choice")
	}
	rubric := storedRubric(camp.Rubric)
	answers := make(map[string]int, len(rubric.Criteria))
	if in.Answers == nil {
		ps.Add("answers", "required: a value for each of %s", strings.Join(rubric.Keys(), ", "))
	}
	known := map[string]bool{}
	for _, c := range rubric.Criteria {
		known[c.Key] = true
		where := "answers." + c.Key
		v, ok := in.Answers[c.Key]
		if !ok {
			if in.Answers != nil {
				ps.Add(where, "required: a whole number from %d to %d", c.Scale.Min, c.Scale.Max)
			}
			continue
		}
		f, isNum := v.(float64)
		switch {
		case !isNum:
			ps.Add(where, "got %s, want a whole number from %d to %d", valueKind(v), c.Scale.Min, c.Scale.Max)
		case f != math.Trunc(f) || f < float64(c.Scale.Min) || f > float64(c.Scale.Max):
			ps.Add(where, "%v: want a whole number from %d to %d", f, c.Scale.Min, c.Scale.Max)
		default:
			answers[c.Key] = int(f)
		}
	}
	for k := range in.Answers {
		if !known[k] {
			ps.Add("answers."+k, "not a criterion of this campaign's rubric (%s)", strings.Join(rubric.Keys(), ", "))
		}
	}
	if err := ps.Err("rating"); err != nil {
		return err
	}
	doc, err := json.Marshal(answers)
	if err != nil {
		return err
	}
	r.Answers, r.Choice = models.JSON(doc), nil
	return nil
}

// valueKind names the JSON type of a decoded value, for messages.
func valueKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// ratingView shows the rating in the terms its annotator gave it.
func ratingView(r *models.Rating) *RatingView {
	v := &RatingView{ID: r.ID, TaskID: r.TaskID, ClientID: r.ClientID, Comment: r.Comment, DurationMS: r.DurationMS,
		CreatedAt: r.CreatedAt, RevisedAt: r.RevisedAt, UndoUntil: r.CreatedAt.Add(UndoWindow)}
	if r.Choice != nil {
		c := *r.Choice
		switch {
		case c == "a" && r.ShownPosition == 0, c == "b" && r.ShownPosition == 1:
			v.Choice = ChoiceA
		case c == "a" || c == "b":
			v.Choice = ChoiceB
		default:
			v.Choice = c
		}
		return v
	}
	_ = json.Unmarshal(r.Answers, &v.Answers)
	return v
}
