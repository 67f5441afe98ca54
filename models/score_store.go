package models

import (
	"context"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// scoreChunk bounds the rows of one upsert and the ids of one IN (…) list.
const scoreChunk = 1000

// PutScores writes per-caption scores, replacing the value and version of a
// (caption, metric) already scored, all in one transaction.
func (s *Store) PutScores(ctx context.Context, rows []Score) error {
	now := nowUTC()
	for i := range rows {
		rows[i].ID, rows[i].CreatedAt = 0, now
	}
	err := upsert(ctx, s, rows, []string{"caption_id", "metric"}, []string{"value", "metric_version", "created_at"})
	return wrap(err, "put %d caption scores", len(rows))
}

// PutCaptionerScores writes per-captioner aggregates, replacing those of a
// (captioner, metric) already stored, in one transaction.
func (s *Store) PutCaptionerScores(ctx context.Context, rows []CaptionerScore) error {
	now := nowUTC()
	for i := range rows {
		rows[i].ID, rows[i].CreatedAt = 0, now
	}
	err := upsert(ctx, s, rows, []string{"captioner_id", "metric"}, []string{"value", "metric_version", "n", "created_at"})
	return wrap(err, "put %d captioner scores", len(rows))
}

// upsert inserts rows in batches, in one transaction, replacing the update
// columns of a row whose keys exist already.
func upsert[T any](ctx context.Context, s *Store, rows []T, keys, update []string) error {
	if len(rows) == 0 {
		return nil
	}
	cols := make([]clause.Column, len(keys))
	for i, k := range keys {
		cols[i] = clause.Column{Name: k}
	}
	return s.InTx(ctx, func(tx *Store) error {
		return tx.conn(ctx).Clauses(clause.OnConflict{Columns: cols, DoUpdates: clause.AssignmentColumns(update)}).
			CreateInBatches(rows, scoreChunk).Error
	})
}

// UnreferencedCaption is a caption whose image has no reference captions.
type UnreferencedCaption struct {
	CaptionID  int64
	Captioner  string
	Version    string
	ExternalID string
}

// EvalUnreferenced returns up to limit captions of a campaign whose image has
// no references (in caption order), and how many there are in all.
func (s *Store) EvalUnreferenced(ctx context.Context, campaignID int64, limit int) ([]UnreferencedCaption, int64, error) {
	q := func() *gorm.DB {
		return s.conn(ctx).Table("captions").
			Joins("JOIN captioners ON captioners.id = captions.captioner_id").
			Joins("JOIN images ON images.id = captions.image_id").
			Where("captioners.campaign_id = ?", campaignID).
			Where("NOT EXISTS (SELECT 1 FROM image_references r WHERE r.image_id = captions.image_id)")
	}
	var n int64
	if err := q().Count(&n).Error; err != nil {
		return nil, 0, wrap(err, "captions without references in campaign %d", campaignID)
	}
	if n == 0 {
		return nil, 0, nil
	}
	var out []UnreferencedCaption
	err := q().Select("captions.id AS caption_id, captioners.name AS captioner, captioners.version AS version, images.external_id AS external_id").
		Order("captions.id").Limit(limit).Scan(&out).Error
	if err != nil {
		return nil, 0, wrap(err, "captions without references in campaign %d", campaignID)
	}
	return out, n, nil
}
