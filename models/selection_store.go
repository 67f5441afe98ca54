package models

import (
	"cmp"
	"context"
	"fmt"
	"slices"
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

// SelectionCaptioner is a captioner with its per-captioner scores by metric
// and how many captions it has: what the selection ranks.
type SelectionCaptioner struct {
	Captioner
	Captions int                `json:"captions"`
	Scores   map[string]float64 `json:"scores"`
}

// SelectionCaptioners returns the campaign's captioners in ID order, each
// with its captioner_scores and its caption count.
func (s *Store) SelectionCaptioners(ctx context.Context, campaignID int64) ([]SelectionCaptioner, error) {
	var rows []struct {
		Captioner
		Captions int
	}
	err := s.conn(ctx).Raw(`SELECT k.*, (SELECT count(*) FROM captions p WHERE p.captioner_id = k.id) AS captions
		FROM captioners k WHERE k.campaign_id = ? ORDER BY k.id`, campaignID).Scan(&rows).Error
	if err != nil {
		return nil, wrap(err, "captioners of campaign %d", campaignID)
	}
	var scores []CaptionerScore
	err = s.conn(ctx).Raw(`SELECT cs.* FROM captioner_scores cs JOIN captioners k ON k.id = cs.captioner_id
		WHERE k.campaign_id = ? ORDER BY cs.captioner_id, cs.metric`, campaignID).Scan(&scores).Error
	if err != nil {
		return nil, wrap(err, "captioner scores of campaign %d", campaignID)
	}
	byID := map[int64]map[string]float64{}
	for _, sc := range scores {
		if byID[sc.CaptionerID] == nil {
			byID[sc.CaptionerID] = map[string]float64{}
		}
		byID[sc.CaptionerID][sc.Metric] = sc.Value
	}
	out := make([]SelectionCaptioner, len(rows))
	for i, r := range rows {
		out[i] = SelectionCaptioner{Captioner: r.Captioner, Captions: r.Captions, Scores: byID[r.ID]}
		if out[i].Scores == nil {
			out[i].Scores = map[string]float64{}
		}
	}
	return out, nil
}

// SelectionImage is what the selection needs of an image: its IDs and tags
// (a JSON array of strings, or null).
type SelectionImage struct {
	ID         int64  `json:"id"`
	ExternalID string `json:"external_id"`
	Tags       JSON   `json:"tags"`
}

// SelectionImages returns the campaign's images in ID order.
func (s *Store) SelectionImages(ctx context.Context, campaignID int64) ([]SelectionImage, error) {
	out := []SelectionImage{}
	err := s.conn(ctx).Model(&Image{}).Select("id", "external_id", "tags").
		Where("campaign_id = ?", campaignID).Order("id").Scan(&out).Error
	if err != nil {
		return nil, wrap(err, "images of campaign %d", campaignID)
	}
	return out, nil
}

// SelectionCaptions returns the captions of the given captioners in ID
// order (captioner IDs are queried in chunks, so any number is fine).
func (s *Store) SelectionCaptions(ctx context.Context, captionerIDs []int64) ([]Caption, error) {
	out := []Caption{}
	for start := 0; start < len(captionerIDs); start += bulkRows {
		chunk := captionerIDs[start:min(start+bulkRows, len(captionerIDs))]
		var part []Caption
		if err := s.conn(ctx).Where("captioner_id IN ?", chunk).Order("id").Find(&part).Error; err != nil {
			return nil, wrap(err, "captions of %d captioners", len(captionerIDs))
		}
		out = append(out, part...)
	}
	if len(captionerIDs) > bulkRows {
		slices.SortFunc(out, func(a, b Caption) int { return cmp.Compare(a.ID, b.ID) })
	}
	return out, nil
}

// CaptionScoreRow is one per-caption score value.
type CaptionScoreRow struct {
	CaptionID int64   `json:"caption_id"`
	Metric    string  `json:"metric"`
	Value     float64 `json:"value"`
}

// SelectionCaptionScores calls fn for every per-caption score of the given
// metrics of the captions of the given captioners, streaming the rows so
// that 250,000 captions × several metrics are never held as structs.
func (s *Store) SelectionCaptionScores(ctx context.Context, captionerIDs []int64, metrics []string, fn func(CaptionScoreRow) error) error {
	if len(captionerIDs) == 0 || len(metrics) == 0 {
		return nil
	}
	for start := 0; start < len(captionerIDs); start += bulkRows {
		chunk := captionerIDs[start:min(start+bulkRows, len(captionerIDs))]
		rows, err := s.conn(ctx).Raw(`SELECT sc.caption_id, sc.metric, sc.value FROM scores sc
			JOIN captions p ON p.id = sc.caption_id
			WHERE p.captioner_id IN ? AND sc.metric IN ?`, chunk, metrics).Rows()
		if err != nil {
			return wrap(err, "caption scores")
		}
		for rows.Next() {
			var r CaptionScoreRow
			if err := rows.Scan(&r.CaptionID, &r.Metric, &r.Value); err != nil {
				rows.Close()
				return wrap(err, "caption scores")
			}
			if err := fn(r); err != nil {
				rows.Close()
				return err
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return wrap(err, "caption scores")
		}
	}
	return nil
}

// SelectionReferences returns the reference captions of the campaign's
// images, by image ID then position (gold tasks are made of them).
func (s *Store) SelectionReferences(ctx context.Context, campaignID int64) ([]Reference, error) {
	out := []Reference{}
	err := s.conn(ctx).Raw(`SELECT r.* FROM image_references r JOIN images i ON i.id = r.image_id
		WHERE i.campaign_id = ? ORDER BY r.image_id, r.position`, campaignID).Scan(&out).Error
	if err != nil {
		return nil, wrap(err, "references of campaign %d", campaignID)
	}
	return out, nil
}

// TaskWithCaptions is a task with its caption links and the texts of the
// captions it shows ("" for none: a gold task, a single task's B).
type TaskWithCaptions struct {
	Task
	Captions []TaskCaption `json:"captions"`
	TextA    string        `json:"text_a"`
	TextB    string        `json:"text_b"`
	// Touched: the task has a rating or a lease that has not expired; a
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
// rating and no lease that has not expired at now (their links and expired
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
	if len(links) == 0 {
		return nil
	}
	err := s.InTx(ctx, func(tx *Store) error {
		return tx.conn(ctx).CreateInBatches(links, bulkRows).Error
	})
	if err != nil {
		return wrap(err, "link %d captions to tasks", len(links))
	}
	return nil
}

// InsertScoreRows inserts per-caption and per-captioner score rows as they
// are, all or none. The auto-eval jobs write scores through their own
// methods; this one lets tests and benchmarks of the selection seed scores
// without running a job.
func (s *Store) InsertScoreRows(ctx context.Context, scores []Score, captionerScores []CaptionerScore) error {
	err := s.InTx(ctx, func(tx *Store) error {
		if len(scores) > 0 {
			if err := tx.conn(ctx).CreateInBatches(scores, bulkRows).Error; err != nil {
				return err
			}
		}
		if len(captionerScores) > 0 {
			return tx.conn(ctx).CreateInBatches(captionerScores, bulkRows).Error
		}
		return nil
	})
	if err != nil {
		return wrap(err, "insert %d scores and %d captioner scores", len(scores), len(captionerScores))
	}
	return nil
}
