package models

import (
	"context"
	"fmt"
	"time"
)

// TaskCaption links a task to one caption its rating stands for (table
// task_captions, migration 0003). Identical caption texts of one image are
// rated once: their task links every one of them. Side is 0 for side A
// (the task's caption_id text) and 1 for side B (caption_b_id's) of a pair.
// Gold tasks have no links.
type TaskCaption struct {
	TaskID    int64 `gorm:"primaryKey;autoIncrement:false" json:"task_id"`
	CaptionID int64 `gorm:"primaryKey;autoIncrement:false" json:"caption_id"`
	Side      int   `json:"side"`
}

// TableName maps TaskCaption to task_captions.
func (TaskCaption) TableName() string { return "task_captions" }

// TaskWithCaptions is a task with its caption links and the texts of the
// captions it shows ("" for none: a gold task, a single task's B).
type TaskWithCaptions struct {
	Task
	Captions []TaskCaption `json:"captions"`
	TextA    string        `json:"text_a"`
	TextB    string        `json:"text_b"`
	// Touched: the task has a rating, a skip or a lease that has not expired; a
	// replacement of the queue keeps it.
	Touched bool `json:"touched"`
}

// CampaignTasks returns the campaign's tasks in queue order (position, then
// ID) with their links; Touched is computed against now.
func (s *Store) CampaignTasks(ctx context.Context, campaignID int64, now time.Time) ([]TaskWithCaptions, error) {
	var rows []struct {
		Task
		TextA, TextB string
		Touched      bool
	}
	err := s.conn(ctx).Raw(`SELECT t.*, COALESCE(ca.text, '') AS text_a, COALESCE(cb.text, '') AS text_b,
			(t.ratings_done > 0
			OR EXISTS (SELECT 1 FROM ratings r WHERE r.task_id = t.id)
			OR EXISTS (SELECT 1 FROM skips k WHERE k.task_id = t.id)
			OR EXISTS (SELECT 1 FROM leases l WHERE l.task_id = t.id AND l.expires_at > ?)) AS touched
		FROM tasks t LEFT JOIN captions ca ON ca.id = t.caption_id LEFT JOIN captions cb ON cb.id = t.caption_b_id
		WHERE t.campaign_id = ? ORDER BY t.position, t.id`, now.UTC(), campaignID).Scan(&rows).Error
	if err != nil {
		return nil, wrap(err, "tasks of campaign %d", campaignID)
	}
	var links []TaskCaption
	err = s.conn(ctx).Raw(`SELECT tc.* FROM task_captions tc JOIN tasks t ON t.id = tc.task_id
		WHERE t.campaign_id = ? ORDER BY tc.task_id, tc.side, tc.caption_id`, campaignID).Scan(&links).Error
	if err != nil {
		return nil, wrap(err, "task captions of campaign %d", campaignID)
	}
	byTask := map[int64][]TaskCaption{}
	for _, l := range links {
		byTask[l.TaskID] = append(byTask[l.TaskID], l)
	}
	out := make([]TaskWithCaptions, len(rows))
	for i, r := range rows {
		out[i] = TaskWithCaptions{Task: r.Task, Captions: byTask[r.ID], TextA: r.TextA, TextB: r.TextB, Touched: r.Touched}
		if out[i].Captions == nil {
			out[i].Captions = []TaskCaption{}
		}
	}
	return out, nil
}

// LockCampaignTasks locks the campaign's tasks until the transaction
// ends, so that between a read of which tasks are touched and the delete
// of the others no lease or rating can be taken on them (each takes a key
// share lock on its task) nor a task change. On PostgreSQL each statement
// of a transaction sees its own snapshot: without the lock the delete
// would act on a state the read never saw. SQLite transactions hold the
// database's write lock from BEGIN already. Call it inside InTx.
func (s *Store) LockCampaignTasks(ctx context.Context, campaignID int64) error {
	if s.dialect != DialectPostgres {
		return nil
	}
	if err := s.conn(ctx).Exec(`SELECT id FROM tasks WHERE campaign_id = ? FOR UPDATE`, campaignID).Error; err != nil {
		return wrap(err, "lock the tasks of campaign %d", campaignID)
	}
	return nil
}

// DeleteUntouchedTasks deletes the given tasks of the campaign that have no
// rating, no skip (an annotator's recorded judgement that the task cannot be
// rated, which a set-aside task rests on) and no lease that has not expired
// at now (their links and expired
// leases go with them), in one statement per chunk of IDs, and returns how
// many it deleted. A task that was touched since the caller read it is
// left alone, so fewer than len(ids) deleted means the caller's picture is
// stale. Tasks with ratings are never deleted.
func (s *Store) DeleteUntouchedTasks(ctx context.Context, campaignID int64, ids []int64, now time.Time) (int64, error) {
	var n int64
	for start := 0; start < len(ids); start += bulkRows {
		chunk := ids[start:min(start+bulkRows, len(ids))]
		res := s.conn(ctx).Exec(`DELETE FROM tasks WHERE campaign_id = ? AND id IN ? AND ratings_done = 0
			AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.task_id = tasks.id)
			AND NOT EXISTS (SELECT 1 FROM skips k WHERE k.task_id = tasks.id)
			AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.task_id = tasks.id AND l.expires_at > ?)`, campaignID, chunk, now.UTC())
		if res.Error != nil {
			return n, wrap(res.Error, "delete untouched tasks of campaign %d", campaignID)
		}
		n += res.RowsAffected
	}
	return n, nil
}

// InsertTasks inserts tasks in batches, sets each one's ID, then inserts
// links[i] for tasks[i] (their TaskID is set here), all or none: inside InTx
// it joins the caller's transaction. links may be shorter than tasks (no
// links for the rest).
func (s *Store) InsertTasks(ctx context.Context, tasks []Task, links [][]TaskCaption) error {
	if len(tasks) == 0 {
		return nil
	}
	if len(links) > len(tasks) {
		return fmt.Errorf("models: insert tasks: %d link lists for %d tasks: %w", len(links), len(tasks), ErrInvalid)
	}
	err := s.InTx(ctx, func(tx *Store) error {
		for i := range tasks {
			tasks[i].ID = 0
			if tasks[i].GoldAnswer == nil {
				tasks[i].GoldAnswer = JSON("null")
			}
		}
		if err := tx.conn(ctx).CreateInBatches(tasks, bulkRows).Error; err != nil {
			return err
		}
		var all []TaskCaption
		for i, ls := range links {
			for _, l := range ls {
				l.TaskID = tasks[i].ID
				all = append(all, l)
			}
		}
		if len(all) == 0 {
			return nil
		}
		return tx.conn(ctx).CreateInBatches(all, bulkRows).Error
	})
	if err != nil {
		return wrap(err, "insert %d tasks", len(tasks))
	}
	return nil
}

// LinkTaskCaptions adds caption links to existing tasks, all or none. A
// link that exists already is ErrConflict, a missing task or caption
// ErrInvalid.
func (s *Store) LinkTaskCaptions(ctx context.Context, links []TaskCaption) error {
	return wrap(insertRows(ctx, s, links), "link %d captions to tasks", len(links))
}

// InsertScoreRows inserts per-caption and per-captioner score rows as they
// are, all or none. The auto-eval jobs write scores through their own
// methods; this one lets tests and benchmarks of the selection seed scores
// without running a job.
func (s *Store) InsertScoreRows(ctx context.Context, scores []Score, captionerScores []CaptionerScore) error {
	err := s.InTx(ctx, func(tx *Store) error {
		if err := insertRows(ctx, tx, scores); err != nil {
			return err
		}
		return insertRows(ctx, tx, captionerScores)
	})
	return wrap(err, "insert %d scores and %d captioner scores", len(scores), len(captionerScores))
}
