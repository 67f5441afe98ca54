package models

import (
	"context"
	"time"
)

// The reads of the lead's progress view of a campaign. Each is one
// aggregate over the campaign's tasks (tasks_queue_idx) or leases; the
// per-annotator figures come from EachCampaignRating.

// TaskProgress counts a campaign's tasks of one kind (regular or gold) by
// state. The states partition the tasks: a set-aside task is in SetAside
// only; of the others, Done have every rating they want, InProgress have
// some ratings or a live lease, Remaining neither.
type TaskProgress struct {
	Tasks      int64 `json:"tasks"`
	Done       int64 `json:"done"`
	InProgress int64 `json:"in_progress"`
	Remaining  int64 `json:"remaining"`
	SetAside   int64 `json:"set_aside"`
	// LeftOut is how many of the set-aside tasks the lead left out for
	// good; the others wait for the lead's decision.
	LeftOut int64 `json:"left_out"`
	// Ratings wanted and done by the tasks that are not set aside, and
	// what they still want; RatingsDone counts every task's ratings.
	RatingsWanted    int64 `json:"ratings_wanted"`
	RatingsDone      int64 `json:"ratings_done"`
	RatingsRemaining int64 `json:"ratings_remaining"`
}

// CampaignTaskProgress returns the progress of the campaign's regular and
// gold tasks; a lease is live when it expires after now. Imported tasks
// (migration 0007) are no work of this campaign's queue: left out.
func (s *Store) CampaignTaskProgress(ctx context.Context, campaignID int64, now time.Time) (regular, gold TaskProgress, err error) {
	var rows []struct {
		IsGold bool
		TaskProgress
	}
	err = s.conn(ctx).Raw(`SELECT t.is_gold AS is_gold, count(*) AS tasks,
		COALESCE(sum(CASE WHEN t.set_aside_at IS NULL AND t.ratings_done >= t.ratings_wanted THEN 1 ELSE 0 END), 0) AS done,
		COALESCE(sum(CASE WHEN t.set_aside_at IS NULL AND t.ratings_done < t.ratings_wanted AND (t.ratings_done > 0
			OR EXISTS (SELECT 1 FROM leases l WHERE l.task_id = t.id AND l.expires_at > ?)) THEN 1 ELSE 0 END), 0) AS in_progress,
		COALESCE(sum(CASE WHEN t.set_aside_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS set_aside,
		COALESCE(sum(CASE WHEN t.set_aside_at IS NOT NULL AND EXISTS (SELECT 1 FROM left_out_tasks o WHERE o.task_id = t.id)
			THEN 1 ELSE 0 END), 0) AS left_out,
		COALESCE(sum(CASE WHEN t.set_aside_at IS NULL THEN t.ratings_wanted ELSE 0 END), 0) AS ratings_wanted,
		COALESCE(sum(t.ratings_done), 0) AS ratings_done,
		COALESCE(sum(CASE WHEN t.set_aside_at IS NULL THEN t.ratings_wanted - t.ratings_done ELSE 0 END), 0) AS ratings_remaining
		FROM tasks t WHERE t.campaign_id = ? AND t.origin <> ? GROUP BY t.is_gold`, now.UTC(), campaignID, OriginImported).Scan(&rows).Error
	if err != nil {
		return regular, gold, wrap(err, "task progress of campaign %d", campaignID)
	}
	for _, r := range rows {
		p := r.TaskProgress
		p.Remaining = p.Tasks - p.Done - p.InProgress - p.SetAside
		if r.IsGold {
			gold = p
		} else {
			regular = p
		}
	}
	return regular, gold, nil
}

// AnnotatorCount is a number per annotator.
type AnnotatorCount struct {
	AnnotatorID int64 `json:"annotator_id"`
	N           int64 `json:"n"`
}

// CampaignLiveLeases counts the live leases (expiring after now) on the
// campaign's tasks per annotator, by annotator ID.
func (s *Store) CampaignLiveLeases(ctx context.Context, campaignID int64, now time.Time) ([]AnnotatorCount, error) {
	out := []AnnotatorCount{}
	err := s.conn(ctx).Raw(`SELECT l.annotator_id AS annotator_id, count(*) AS n FROM leases l JOIN tasks t ON t.id = l.task_id
		WHERE t.campaign_id = ? AND l.expires_at > ? GROUP BY l.annotator_id ORDER BY l.annotator_id`, campaignID, now.UTC()).
		Scan(&out).Error
	if err != nil {
		return nil, wrap(err, "live leases of campaign %d", campaignID)
	}
	return out, nil
}

// CampaignSkipCounts counts the skips of the campaign's tasks per
// annotator, by annotator ID.
func (s *Store) CampaignSkipCounts(ctx context.Context, campaignID int64) ([]AnnotatorCount, error) {
	out := []AnnotatorCount{}
	err := s.conn(ctx).Raw(`SELECT s.annotator_id AS annotator_id, count(*) AS n FROM skips s JOIN tasks t ON t.id = s.task_id
		WHERE t.campaign_id = ? GROUP BY s.annotator_id ORDER BY s.annotator_id`, campaignID).Scan(&out).Error
	if err != nil {
		return nil, wrap(err, "skips of campaign %d", campaignID)
	}
	return out, nil
}

// SetAsideTask is a set-aside task as the lead reviews it: what it shows,
// when it was set aside, whether the lead left it out, and its skips.
type SetAsideTask struct {
	TaskID     int64      `json:"task_id"`
	Kind       TaskKind   `json:"kind"`
	ImageID    int64      `json:"image_id"`
	ExternalID string     `json:"external_id"`
	SHA256     string     `gorm:"column:sha256" json:"sha256"`
	TextA      string     `json:"text_a"`
	TextB      string     `json:"text_b"`
	IsGold     bool       `json:"is_gold"`
	GoldAnswer JSON       `json:"-"`
	SetAsideAt time.Time  `json:"set_aside_at"`
	LeftOutAt  *time.Time `json:"left_out_at"`
	Skips      []TaskSkip `gorm:"-" json:"skips"`
}

// TaskSkip is one annotator's skip of a task.
type TaskSkip struct {
	TaskID      int64     `json:"task_id"`
	AnnotatorID int64     `json:"annotator_id"`
	Reason      string    `json:"reason"`
	Note        string    `json:"note"`
	CreatedAt   time.Time `json:"created_at"`
}

// CampaignSetAsideTasks returns up to limit of the campaign's set-aside
// tasks, those waiting for the lead first, then by the time they were set
// aside, each with its skips in time order; and how many there are in all.
// A gold task's texts are left to the caller (they are in GoldAnswer).
func (s *Store) CampaignSetAsideTasks(ctx context.Context, campaignID int64, limit int) ([]SetAsideTask, int64, error) {
	out := []SetAsideTask{}
	err := s.conn(ctx).Raw(`SELECT t.id AS task_id, t.kind, t.image_id, i.external_id, i.sha256,
			COALESCE(ca.text, '') AS text_a, COALESCE(cb.text, '') AS text_b, t.is_gold, t.gold_answer,
			t.set_aside_at, o.decided_at AS left_out_at
		FROM tasks t JOIN images i ON i.id = t.image_id
		LEFT JOIN captions ca ON ca.id = t.caption_id LEFT JOIN captions cb ON cb.id = t.caption_b_id
		LEFT JOIN left_out_tasks o ON o.task_id = t.id
		WHERE t.campaign_id = ? AND t.set_aside_at IS NOT NULL
		ORDER BY CASE WHEN o.task_id IS NULL THEN 0 ELSE 1 END, t.set_aside_at, t.id LIMIT ?`, campaignID, limit).Scan(&out).Error
	if err != nil {
		return nil, 0, wrap(err, "set-aside tasks of campaign %d", campaignID)
	}
	var total int64
	err = s.conn(ctx).Raw(`SELECT count(*) FROM tasks WHERE campaign_id = ? AND set_aside_at IS NOT NULL`, campaignID).Scan(&total).Error
	if err != nil {
		return nil, 0, wrap(err, "set-aside tasks of campaign %d", campaignID)
	}
	if len(out) == 0 {
		return out, total, nil
	}
	ids := make([]int64, len(out))
	at := make(map[int64]int, len(out))
	for i := range out {
		ids[i], at[out[i].TaskID] = out[i].TaskID, i
		out[i].SetAsideAt = out[i].SetAsideAt.UTC()
		out[i].Skips = []TaskSkip{}
	}
	var skips []TaskSkip
	err = s.conn(ctx).Raw(`SELECT task_id, annotator_id, reason, note, created_at FROM skips
		WHERE task_id IN ? ORDER BY task_id, created_at, id`, ids).Scan(&skips).Error
	if err != nil {
		return nil, 0, wrap(err, "skips of the set-aside tasks of campaign %d", campaignID)
	}
	for _, sk := range skips {
		sk.CreatedAt = sk.CreatedAt.UTC()
		out[at[sk.TaskID]].Skips = append(out[at[sk.TaskID]].Skips, sk)
	}
	return out, total, nil
}
