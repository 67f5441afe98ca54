package models

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// The quality controls of human rating (migration 0006): a campaign's
// quality settings, the lead's decisions about annotators and set-aside
// tasks, and the reads the quality report and the queue's admission make.

// CampaignQuality is a campaign's quality settings (table campaign_quality).
// A campaign without a row has every control off; see DefaultQuality.
type CampaignQuality struct {
	CampaignID            int64     `gorm:"primaryKey;autoIncrement:false" json:"campaign_id"`
	QualificationTasks    int       `json:"qualification_tasks"`
	QualificationAccuracy float64   `json:"qualification_accuracy"`
	MinAccuracy           float64   `json:"min_accuracy"`
	MinGoldAnswers        int       `json:"min_gold_answers"`
	ExcludeFlagged        bool      `json:"exclude_flagged"`
	MinSeconds            float64   `json:"min_seconds"`
	DailyCap              int       `json:"daily_cap"`
	StraightLineWindow    int       `json:"straight_line_window"`
	UpdatedBy             *int64    `json:"updated_by"`
	UpdatedAt             time.Time `json:"updated_at"`
}

// TableName maps CampaignQuality to campaign_quality.
func (CampaignQuality) TableName() string { return "campaign_quality" }

// DefaultQuality returns the settings of a campaign without a row: every
// control off, the schema's defaults.
func DefaultQuality(campaignID int64) CampaignQuality {
	return CampaignQuality{CampaignID: campaignID, MinGoldAnswers: 5}
}

// AnnotatorExclusion is the lead's explicit decision about an annotator of
// a campaign: Excluded leaves their ratings out of the results, !Excluded
// keeps them in whatever the flags say. DecidedBy is nil for the CLI.
type AnnotatorExclusion struct {
	CampaignID  int64     `gorm:"primaryKey;autoIncrement:false" json:"campaign_id"`
	AnnotatorID int64     `gorm:"primaryKey;autoIncrement:false" json:"annotator_id"`
	Excluded    bool      `json:"excluded"`
	Reason      string    `json:"reason"`
	DecidedBy   *int64    `json:"decided_by"`
	DecidedAt   time.Time `json:"decided_at"`
}

// LeftOutTask records that the lead left a set-aside task out of its
// campaign for good.
type LeftOutTask struct {
	TaskID    int64     `gorm:"primaryKey;autoIncrement:false" json:"task_id"`
	DecidedBy *int64    `json:"decided_by"`
	DecidedAt time.Time `json:"decided_at"`
}

// CampaignQualityByID returns the campaign's quality settings: its row, or
// DefaultQuality when it has none (a missing campaign too: callers check
// the campaign themselves).
func (s *Store) CampaignQualityByID(ctx context.Context, campaignID int64) (CampaignQuality, error) {
	var rows []CampaignQuality
	if err := s.conn(ctx).Where("campaign_id = ?", campaignID).Limit(1).Find(&rows).Error; err != nil {
		return CampaignQuality{}, wrap(err, "quality settings of campaign %d", campaignID)
	}
	if len(rows) == 0 {
		return DefaultQuality(campaignID), nil
	}
	return rows[0], nil
}

// PutCampaignQuality writes q as the campaign's settings (insert or
// replace) and sets its UpdatedAt. A value out of the schema's ranges is
// ErrInvalid.
func (s *Store) PutCampaignQuality(ctx context.Context, q *CampaignQuality) error {
	q.UpdatedAt = nowUTC()
	err := s.conn(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "campaign_id"}}, UpdateAll: true}).Create(q).Error
	return wrap(err, "put quality settings of campaign %d", q.CampaignID)
}

// AnnotatorExclusions returns the lead's decisions about the campaign's
// annotators, by annotator ID.
func (s *Store) AnnotatorExclusions(ctx context.Context, campaignID int64) ([]AnnotatorExclusion, error) {
	out := []AnnotatorExclusion{}
	if err := s.conn(ctx).Where("campaign_id = ?", campaignID).Order("annotator_id").Find(&out).Error; err != nil {
		return nil, wrap(err, "exclusions of campaign %d", campaignID)
	}
	return out, nil
}

// AnnotatorExclusionOf returns the lead's decision about one annotator of
// the campaign, or ErrNotFound when there is none.
func (s *Store) AnnotatorExclusionOf(ctx context.Context, campaignID, annotatorID int64) (*AnnotatorExclusion, error) {
	var e AnnotatorExclusion
	err := s.conn(ctx).Where("campaign_id = ? AND annotator_id = ?", campaignID, annotatorID).Take(&e).Error
	if err != nil {
		return nil, wrap(err, "exclusion of annotator %d in campaign %d", annotatorID, campaignID)
	}
	return &e, nil
}

// PutAnnotatorExclusion writes the decision e (insert or replace) and sets
// its DecidedAt.
func (s *Store) PutAnnotatorExclusion(ctx context.Context, e *AnnotatorExclusion) error {
	e.DecidedAt = nowUTC()
	err := s.conn(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "campaign_id"}, {Name: "annotator_id"}}, UpdateAll: true}).Create(e).Error
	return wrap(err, "put exclusion of annotator %d in campaign %d", e.AnnotatorID, e.CampaignID)
}

// DeleteAnnotatorExclusion removes the lead's decision about the
// annotator, if any: the settings decide again.
func (s *Store) DeleteAnnotatorExclusion(ctx context.Context, campaignID, annotatorID int64) error {
	err := s.conn(ctx).Where("campaign_id = ? AND annotator_id = ?", campaignID, annotatorID).
		Delete(&AnnotatorExclusion{}).Error
	return wrap(err, "delete exclusion of annotator %d in campaign %d", annotatorID, campaignID)
}

// QualityRating is a rating as the quality checks read it: the answer, how
// it was shown and how long it took, with the task's gold answer.
type QualityRating struct {
	ID            int64
	TaskID        int64
	AnnotatorID   int64
	Answers       JSON
	Choice        string // "" for a Likert rating
	ShownPosition int
	DurationMS    int64
	CreatedAt     time.Time
	Kind          TaskKind
	IsGold        bool
	GoldAnswer    JSON
}

const qualityRatingColumns = `r.id, r.task_id, r.annotator_id, r.answers, COALESCE(r.choice, ''), r.shown_position,
	r.duration_ms, r.created_at, t.kind, t.is_gold, t.gold_answer`

func scanQualityRating(r *sql.Rows, q *QualityRating) error {
	var answers, gold string
	if err := r.Scan(&q.ID, &q.TaskID, &q.AnnotatorID, &answers, &q.Choice, &q.ShownPosition, &q.DurationMS,
		&q.CreatedAt, &q.Kind, &q.IsGold, &gold); err != nil {
		return err
	}
	q.Answers, q.GoldAnswer = JSON(answers), JSON(gold)
	q.CreatedAt = q.CreatedAt.UTC()
	return nil
}

// EachCampaignRating calls fn for every rating of the campaign's tasks
// given by its annotators, streaming them by annotator and then in the
// order they were submitted (created_at, then ID). Imported ratings
// (migration 0007) have no capeval annotator and are not walked: the
// quality checks judge the work done here. An error from fn stops the walk
// and is returned as is.
func (s *Store) EachCampaignRating(ctx context.Context, campaignID int64, fn func(QualityRating) error) error {
	rows, err := s.conn(ctx).Raw(`SELECT `+qualityRatingColumns+` FROM ratings r JOIN tasks t ON t.id = r.task_id
		WHERE t.campaign_id = ? AND r.annotator_id IS NOT NULL ORDER BY r.annotator_id, r.created_at, r.id`, campaignID).Rows()
	return wrapRead(eachRow(rows, err, fn, scanQualityRating), "ratings of campaign %d", campaignID)
}

// FirstAnnotatorRatings returns the annotator's first limit ratings of
// the campaign's tasks, in the order they were submitted. It walks the
// annotator's ratings by time (ratings_annotator_idx) and stops at limit:
// the queue's admission reads a qualification's N answers with it before
// each pick, N rows for an annotator who started in this campaign.
func (s *Store) FirstAnnotatorRatings(ctx context.Context, campaignID, annotatorID int64, limit int) ([]QualityRating, error) {
	out := []QualityRating{}
	rows, err := s.conn(ctx).Raw(`SELECT `+qualityRatingColumns+` FROM ratings r JOIN tasks t ON t.id = r.task_id
		WHERE r.annotator_id = ? AND t.campaign_id = ? ORDER BY r.created_at, r.id LIMIT ?`, annotatorID, campaignID, limit).Rows()
	err = eachRow(rows, err, func(q QualityRating) error { out = append(out, q); return nil }, scanQualityRating)
	if err != nil {
		return nil, wrapRead(err, "first ratings of annotator %d in campaign %d", annotatorID, campaignID)
	}
	return out, nil
}

// AnnotatorWork counts the annotator's ratings of the campaign's tasks
// submitted at or after since, and the live leases (expiring after now) the
// annotator holds on the campaign's tasks: what a daily cap counts. Both
// reads start from the annotator's own rows (ratings_annotator_idx,
// leases_annotator_idx), so they cost a day's work at most.
func (s *Store) AnnotatorWork(ctx context.Context, campaignID, annotatorID int64, since, now time.Time) (ratings, leases int64, err error) {
	err = s.conn(ctx).Raw(`SELECT count(*) FROM ratings r JOIN tasks t ON t.id = r.task_id
		WHERE r.annotator_id = ? AND r.created_at >= ? AND t.campaign_id = ?`, annotatorID, since.UTC(), campaignID).Scan(&ratings).Error
	if err != nil {
		return 0, 0, wrap(err, "ratings of annotator %d in campaign %d", annotatorID, campaignID)
	}
	err = s.conn(ctx).Raw(`SELECT count(*) FROM leases l JOIN tasks t ON t.id = l.task_id
		WHERE l.annotator_id = ? AND l.expires_at > ? AND t.campaign_id = ?`, annotatorID, now.UTC(), campaignID).Scan(&leases).Error
	if err != nil {
		return 0, 0, wrap(err, "leases of annotator %d in campaign %d", annotatorID, campaignID)
	}
	return ratings, leases, nil
}

// ImageOfCampaign returns the campaign's image with id, or ErrNotFound
// (an image of another campaign too).
func (s *Store) ImageOfCampaign(ctx context.Context, campaignID, imageID int64) (*Image, error) {
	var img Image
	if err := s.conn(ctx).Where("id = ? AND campaign_id = ?", imageID, campaignID).Take(&img).Error; err != nil {
		return nil, wrap(err, "image %d of campaign %d", imageID, campaignID)
	}
	return &img, nil
}

// NextTaskPosition returns the queue position after the campaign's last
// task (1 for a campaign without tasks).
func (s *Store) NextTaskPosition(ctx context.Context, campaignID int64) (int, error) {
	var n sql.NullInt64
	if err := s.conn(ctx).Raw(`SELECT max(position) FROM tasks WHERE campaign_id = ?`, campaignID).Scan(&n).Error; err != nil {
		return 0, wrap(err, "last position of campaign %d", campaignID)
	}
	return int(n.Int64) + 1, nil
}

// CountGoldTasks returns how many gold tasks the campaign has, and how many
// ratings they want in all.
func (s *Store) CountGoldTasks(ctx context.Context, campaignID int64) (tasks, wanted int64, err error) {
	var row struct{ Tasks, Wanted int64 }
	err = s.conn(ctx).Raw(`SELECT count(*) AS tasks, COALESCE(sum(ratings_wanted), 0) AS wanted FROM tasks
		WHERE campaign_id = ? AND is_gold = ?`, campaignID, true).Scan(&row).Error
	if err != nil {
		return 0, 0, wrap(err, "gold tasks of campaign %d", campaignID)
	}
	return row.Tasks, row.Wanted, nil
}

// SetAsideTaskOf returns the task with id of the campaign if it is set
// aside, with whether the lead left it out; ErrNotFound otherwise.
func (s *Store) SetAsideTaskOf(ctx context.Context, campaignID, taskID int64) (task *Task, leftOut bool, err error) {
	var rows []struct {
		Task
		LeftOut bool
	}
	err = s.conn(ctx).Raw(`SELECT t.*, EXISTS (SELECT 1 FROM left_out_tasks o WHERE o.task_id = t.id) AS left_out
		FROM tasks t WHERE t.id = ? AND t.campaign_id = ? AND t.set_aside_at IS NOT NULL`, taskID, campaignID).Scan(&rows).Error
	if err != nil {
		return nil, false, wrap(err, "set-aside task %d of campaign %d", taskID, campaignID)
	}
	if len(rows) == 0 {
		return nil, false, fmt.Errorf("models: set-aside task %d of campaign %d: %w", taskID, campaignID, ErrNotFound)
	}
	return &rows[0].Task, rows[0].LeftOut, nil
}

// PutBackTask returns a set-aside task to its campaign's queue: it clears
// set_aside_at and forgets a decision to leave it out. The annotators who
// skipped it still never get it again (their skips stay). Not set aside:
// ErrNotFound.
func (s *Store) PutBackTask(ctx context.Context, campaignID, taskID int64) error {
	return s.InTx(ctx, func(tx *Store) error {
		res := tx.conn(ctx).Exec(`UPDATE tasks SET set_aside_at = NULL WHERE id = ? AND campaign_id = ? AND set_aside_at IS NOT NULL`,
			taskID, campaignID)
		if res.Error != nil {
			return wrap(res.Error, "put back task %d", taskID)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("models: put back task %d of campaign %d: not set aside: %w", taskID, campaignID, ErrNotFound)
		}
		return wrap(tx.conn(ctx).Where("task_id = ?", taskID).Delete(&LeftOutTask{}).Error, "put back task %d", taskID)
	})
}

// LeaveOutTask records the lead's decision to leave a set-aside task out
// for good (again: a no-op). Not set aside: ErrNotFound.
func (s *Store) LeaveOutTask(ctx context.Context, campaignID, taskID int64, by *int64) error {
	if _, _, err := s.SetAsideTaskOf(ctx, campaignID, taskID); err != nil {
		return err
	}
	row := LeftOutTask{TaskID: taskID, DecidedBy: by, DecidedAt: nowUTC()}
	err := s.conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error
	return wrap(err, "leave out task %d", taskID)
}
