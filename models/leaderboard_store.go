package models

import (
	"context"
	"database/sql"
)

// The reads of the agreement dashboard and the blended leaderboard, and
// the lead's adjudications (migration 0007). The Each… reads stream rows
// in a canonical order (by ID), so that the leaderboard's figures and the
// hash of its data do not depend on the database.

// JudgmentRating is a rating as the leaderboard reads it: who gave it
// (AnnotatorID 0 for an imported rating without a capeval user), the
// answer, and the task's kind and image.
type JudgmentRating struct {
	ID                int64
	TaskID            int64
	AnnotatorID       int64
	Imported          bool
	ExternalAnnotator string
	Answers           JSON
	Choice            string // "" for a Likert rating
	Kind              TaskKind
	ImageID           int64
}

// EachJudgment calls fn for every rating of the campaign's regular tasks,
// by task, then rating ID (so that a reader can fold each task's ratings
// as they come): gold tasks (which judge the annotator, not a caption) and
// the set-aside tasks the lead left out are not read. An error from fn
// stops the walk and is returned as is.
func (s *Store) EachJudgment(ctx context.Context, campaignID int64, fn func(JudgmentRating) error) error {
	rows, err := s.conn(ctx).Raw(`SELECT r.id, r.task_id, COALESCE(r.annotator_id, 0), r.imported, r.external_annotator,
			r.answers, COALESCE(r.choice, ''), t.kind, t.image_id
		FROM ratings r JOIN tasks t ON t.id = r.task_id
		WHERE t.campaign_id = ? AND t.is_gold = ? AND NOT EXISTS (SELECT 1 FROM left_out_tasks o WHERE o.task_id = t.id)
		ORDER BY r.task_id, r.id`, campaignID, false).Rows()
	return wrapRead(eachRow(rows, err, fn, func(r *sql.Rows, j *JudgmentRating) error {
		var answers string
		if err := r.Scan(&j.ID, &j.TaskID, &j.AnnotatorID, &j.Imported, &j.ExternalAnnotator, &answers, &j.Choice, &j.Kind, &j.ImageID); err != nil {
			return err
		}
		j.Answers = JSON(answers)
		return nil
	}), "judgments of campaign %d", campaignID)
}

// JudgedCaption is one caption a regular task's ratings stand for: the
// caption it shows on Side 0 (A) or 1 (B), or one linked to it for sharing
// that text (task_captions), with its captioner, image and text.
type JudgedCaption struct {
	TaskID      int64
	CaptionID   int64
	Side        int
	CaptionerID int64
	ImageID     int64
	Text        string
}

// EachJudgedCaption calls fn for every caption the campaign's regular
// tasks stand for, by task ID, side and caption ID. A task counts for the
// captions it shows even where it has no link rows (an imported task may
// have none). An error from fn stops the walk and is returned as is.
func (s *Store) EachJudgedCaption(ctx context.Context, campaignID int64, fn func(JudgedCaption) error) error {
	rows, err := s.conn(ctx).Raw(`SELECT x.task_id, x.caption_id, x.side, c.captioner_id, c.image_id, c.text
		FROM (
			SELECT tc.task_id AS task_id, tc.caption_id AS caption_id, tc.side AS side
				FROM task_captions tc JOIN tasks t ON t.id = tc.task_id WHERE t.campaign_id = ? AND t.is_gold = ?
			UNION SELECT t.id, t.caption_id, 0 FROM tasks t WHERE t.campaign_id = ? AND t.is_gold = ? AND t.caption_id IS NOT NULL
			UNION SELECT t.id, t.caption_b_id, 1 FROM tasks t WHERE t.campaign_id = ? AND t.is_gold = ? AND t.caption_b_id IS NOT NULL
		) x JOIN captions c ON c.id = x.caption_id
		ORDER BY x.task_id, x.side, x.caption_id`, campaignID, false, campaignID, false, campaignID, false).Rows()
	return wrapRead(eachRow(rows, err, fn, func(r *sql.Rows, c *JudgedCaption) error {
		return r.Scan(&c.TaskID, &c.CaptionID, &c.Side, &c.CaptionerID, &c.ImageID, &c.Text)
	}), "judged captions of campaign %d", campaignID)
}

// AdjudicationsInForce returns the campaign's adjudications in force: the
// latest row of each (task, criterion) unless it withdraws the decision
// (no value, no choice), by task and criterion.
func (s *Store) AdjudicationsInForce(ctx context.Context, campaignID int64) ([]Adjudication, error) {
	out := []Adjudication{}
	err := s.conn(ctx).Raw(`SELECT a.* FROM adjudications a
		WHERE a.campaign_id = ? AND (a.value IS NOT NULL OR a.choice IS NOT NULL)
		AND a.id = (SELECT max(b.id) FROM adjudications b WHERE b.task_id = a.task_id AND b.criterion = a.criterion)
		ORDER BY a.task_id, a.criterion`, campaignID).Scan(&out).Error
	if err != nil {
		return nil, wrap(err, "adjudications of campaign %d", campaignID)
	}
	return out, nil
}

// TaskAdjudications returns every adjudication row of the task, oldest
// first: the history of the lead's decisions on it.
func (s *Store) TaskAdjudications(ctx context.Context, taskID int64) ([]Adjudication, error) {
	out := []Adjudication{}
	if err := s.conn(ctx).Where("task_id = ?", taskID).Order("id").Find(&out).Error; err != nil {
		return nil, wrap(err, "adjudications of task %d", taskID)
	}
	return out, nil
}

// AddAdjudication records a lead's decision (a new row; the latest per
// task and criterion is in force) and sets its ID and CreatedAt. A row the
// schema refuses (a value and a choice, a choice with a criterion…) is
// ErrInvalid; a missing task ErrInvalid too (its foreign key).
func (s *Store) AddAdjudication(ctx context.Context, a *Adjudication) error {
	a.CreatedAt = nowUTC()
	return wrap(s.conn(ctx).Create(a).Error, "add adjudication of task %d", a.TaskID)
}

// TaskOfCampaign returns the campaign's task with id, or ErrNotFound (a
// task of another campaign too).
func (s *Store) TaskOfCampaign(ctx context.Context, campaignID, taskID int64) (*Task, error) {
	var t Task
	if err := s.conn(ctx).Where("id = ? AND campaign_id = ?", taskID, campaignID).Take(&t).Error; err != nil {
		return nil, wrap(err, "task %d of campaign %d", taskID, campaignID)
	}
	return &t, nil
}

// TaskRatings returns every rating of the task in ID order, imported ones
// included (AnnotatorID 0 when they have no capeval user).
func (s *Store) TaskRatings(ctx context.Context, taskID int64) ([]Rating, error) {
	out := []Rating{}
	if err := s.conn(ctx).Where("task_id = ?", taskID).Order("id").Find(&out).Error; err != nil {
		return nil, wrap(err, "ratings of task %d", taskID)
	}
	return out, nil
}
