package models

import (
	"context"
	"fmt"
)

// The import's reads and writes of human judgments collected elsewhere
// (migration 0007): imported ratings hang off tasks of origin 'imported',
// one per rated caption, always complete, so that the queue never hands
// them out.

// ImportedRatingKey is an imported rating's idempotency key with its
// answers, what a second import of the same file compares with.
type ImportedRatingKey struct {
	ImportKey string
	Answers   JSON
}

// EachImportedRatingKey streams the keys and answers of the campaign's
// imported ratings, in ID order.
func (s *Store) EachImportedRatingKey(ctx context.Context, campaignID int64, fn func(ImportedRatingKey) error) error {
	rows, err := s.conn(ctx).Raw(`SELECT r.import_key, r.answers FROM ratings r JOIN tasks t ON t.id = r.task_id
		WHERE t.campaign_id = ? AND r.imported ORDER BY r.id`, campaignID).Rows()
	if err != nil {
		return wrap(err, "imported ratings of campaign %d", campaignID)
	}
	defer rows.Close()
	for rows.Next() {
		var k ImportedRatingKey
		if err := rows.Scan(&k.ImportKey, &k.Answers); err != nil {
			return wrap(err, "imported ratings of campaign %d", campaignID)
		}
		if err := fn(k); err != nil {
			return err
		}
	}
	return wrap(rows.Err(), "imported ratings of campaign %d", campaignID)
}

// ImportedTasks returns the campaign's tasks of origin 'imported', by ID.
func (s *Store) ImportedTasks(ctx context.Context, campaignID int64) ([]Task, error) {
	var out []Task
	err := s.conn(ctx).Where("campaign_id = ? AND origin = ?", campaignID, OriginImported).Order("id").Find(&out).Error
	if err != nil {
		return nil, wrap(err, "imported tasks of campaign %d", campaignID)
	}
	return out, nil
}

// GrowImportedTask raises an imported task's wanted and done counts by n
// in one statement: the schema wants an imported task always complete.
func (s *Store) GrowImportedTask(ctx context.Context, taskID int64, n int) error {
	res := s.conn(ctx).Exec(`UPDATE tasks SET ratings_wanted = ratings_wanted + ?, ratings_done = ratings_done + ?
		WHERE id = ? AND origin = ?`, n, n, taskID, OriginImported)
	if res.Error != nil {
		return wrap(res.Error, "grow imported task %d", taskID)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("models: grow imported task %d: %w", taskID, ErrNotFound)
	}
	return nil
}

// InsertImportedRatings inserts imported ratings in batches, all or none,
// and sets their IDs. Each must be Imported with an ImportKey; AnnotatorID
// 0 is stored as NULL.
func (s *Store) InsertImportedRatings(ctx context.Context, ratings []Rating) error {
	for i := range ratings {
		if !ratings[i].Imported || ratings[i].ImportKey == nil {
			return fmt.Errorf("models: insert imported ratings: rating %d is not marked imported with a key: %w", i, ErrInvalid)
		}
		if ratings[i].Answers == nil {
			ratings[i].Answers = JSON("null")
		}
	}
	return wrap(insertRows(ctx, s, ratings), "insert %d imported ratings", len(ratings))
}

// SetImageFile gives an image that was imported without its file (empty
// sha256 and storage key) its file, and refuses (ErrConflict) an image that
// has one already: an image never changes.
func (s *Store) SetImageFile(ctx context.Context, imageID int64, sha256, storageKey string, width, height int) error {
	res := s.conn(ctx).Model(&Image{}).Where("id = ? AND sha256 = ''", imageID).
		Updates(map[string]any{"sha256": sha256, "storage_key": storageKey, "width": width, "height": height})
	if res.Error != nil {
		return wrap(res.Error, "set the file of image %d", imageID)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("models: set the file of image %d: it has a file already or does not exist: %w", imageID, ErrConflict)
	}
	return nil
}
