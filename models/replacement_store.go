package models

import (
	"context"
	"database/sql"
	"time"
)

// RatingReplacement records that the lead asked for one more rating on a
// task in place of a rating by an excluded annotator (migration 0008).
type RatingReplacement struct {
	RatingID  int64     `gorm:"primaryKey;autoIncrement:false" json:"rating_id"`
	TaskID    int64     `json:"task_id"`
	DecidedBy *int64    `json:"decided_by"`
	CreatedAt time.Time `json:"created_at"`
}

// TableName is gorm's name for RatingReplacement.
func (RatingReplacement) TableName() string { return "rating_replacements" }

// ReplacementCount is how many ratings of the given annotators a
// replacement concerns, and on how many tasks.
type ReplacementCount struct {
	Ratings int `json:"ratings"`
	Tasks   int `json:"tasks"`
}

// replaceableRatings selects the ratings of annotatorIDs in the campaign
// that may be replaced: on the campaign's regular tasks chosen by the
// selection (not gold: a gold answer judges its annotator, not a caption;
// not imported: those hold judgments collected elsewhere), not set aside,
// and not replaced before.
const replaceableRatings = `SELECT r.id, r.task_id FROM ratings r JOIN tasks t ON t.id = r.task_id
	WHERE t.campaign_id = ? AND t.is_gold = ? AND t.origin = 'selection' AND t.set_aside_at IS NULL
		AND NOT r.imported AND r.annotator_id IN ?
		AND NOT EXISTS (SELECT 1 FROM rating_replacements x WHERE x.rating_id = r.id)
	ORDER BY r.id`

// CountReplaceableRatings counts the ratings of annotatorIDs in the
// campaign that ReplaceRatings would replace now.
func (s *Store) CountReplaceableRatings(ctx context.Context, campaignID int64, annotatorIDs []int64) (ReplacementCount, error) {
	var out ReplacementCount
	if len(annotatorIDs) == 0 {
		return out, nil
	}
	err := s.conn(ctx).Raw(`SELECT count(*), count(DISTINCT task_id) FROM (`+replaceableRatings+`) x`,
		campaignID, false, annotatorIDs).Row().Scan(&out.Ratings, &out.Tasks)
	return out, wrap(err, "count the replaceable ratings of campaign %d", campaignID)
}

// ReplaceRatings asks for one more rating on its task for each rating of
// annotatorIDs in the campaign that CountReplaceableRatings counts, and
// records each as replaced (by decidedBy, at now), so that the queue
// hands those tasks out again. Call it inside InTx with the campaign
// locked.
func (s *Store) ReplaceRatings(ctx context.Context, campaignID int64, annotatorIDs []int64, decidedBy *int64, now time.Time) (ReplacementCount, error) {
	var out ReplacementCount
	if len(annotatorIDs) == 0 {
		return out, nil
	}
	rows, err := s.conn(ctx).Raw(replaceableRatings, campaignID, false, annotatorIDs).Rows()
	var found []RatingReplacement
	err = eachRow(rows, err, func(r RatingReplacement) error { found = append(found, r); return nil },
		func(r *sql.Rows, x *RatingReplacement) error { return r.Scan(&x.RatingID, &x.TaskID) })
	if err != nil {
		return out, wrap(err, "find the replaceable ratings of campaign %d", campaignID)
	}
	perTask := map[int64]int{}
	var tasks []int64
	for i := range found {
		found[i].DecidedBy, found[i].CreatedAt = decidedBy, now.UTC()
		if perTask[found[i].TaskID] == 0 {
			tasks = append(tasks, found[i].TaskID)
		}
		perTask[found[i].TaskID]++
	}
	if len(found) == 0 {
		return out, nil
	}
	if err := s.conn(ctx).CreateInBatches(found, bulkRows).Error; err != nil {
		return out, wrap(err, "record %d replaced ratings of campaign %d", len(found), campaignID)
	}
	for _, id := range tasks {
		if err := s.conn(ctx).Exec(`UPDATE tasks SET ratings_wanted = ratings_wanted + ? WHERE id = ?`, perTask[id], id).Error; err != nil {
			return out, wrap(err, "ask task %d for %d more ratings", id, perTask[id])
		}
	}
	return ReplacementCount{Ratings: len(found), Tasks: len(tasks)}, nil
}
