package models

import (
	"context"
	"sort"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// scoreChunk bounds the rows of one upsert and the ids of one IN (…) list.
const scoreChunk = 1000

// The reads below give the auto-eval jobs a campaign's data in the order the
// scores depend on: captions in id order (the order they were imported, the
// order of the results file), references by position (the order of the
// annotation file), as `capeval score` reads them from the files.

// EvalCaptioners returns the captioners of a campaign in id order.
func (s *Store) EvalCaptioners(ctx context.Context, campaignID int64) ([]Captioner, error) {
	var out []Captioner
	if err := s.conn(ctx).Where("campaign_id = ?", campaignID).Order("id").Find(&out).Error; err != nil {
		return nil, wrap(err, "captioners of campaign %d", campaignID)
	}
	return out, nil
}

// EvalCaptionCounts returns how many captions each captioner of a campaign
// has, by captioner id (captioners without captions are absent).
func (s *Store) EvalCaptionCounts(ctx context.Context, campaignID int64) (map[int64]int, error) {
	var rows []struct {
		CaptionerID int64
		N           int
	}
	err := s.conn(ctx).Table("captions").
		Select("captions.captioner_id, COUNT(*) AS n").
		Joins("JOIN captioners ON captioners.id = captions.captioner_id").
		Where("captioners.campaign_id = ?", campaignID).
		Group("captions.captioner_id").Scan(&rows).Error
	if err != nil {
		return nil, wrap(err, "caption counts of campaign %d", campaignID)
	}
	out := make(map[int64]int, len(rows))
	for _, r := range rows {
		out[r.CaptionerID] = r.N
	}
	return out, nil
}

// EvalCaptions returns the captions of a captioner in id order.
func (s *Store) EvalCaptions(ctx context.Context, captionerID int64) ([]Caption, error) {
	var out []Caption
	if err := s.conn(ctx).Where("captioner_id = ?", captionerID).Order("id").Find(&out).Error; err != nil {
		return nil, wrap(err, "captions of captioner %d", captionerID)
	}
	return out, nil
}

// EvalImages returns the images of a campaign by id, without their tags.
func (s *Store) EvalImages(ctx context.Context, campaignID int64) (map[int64]Image, error) {
	var rows []Image
	err := s.conn(ctx).Select("id", "campaign_id", "external_id", "sha256", "storage_key", "width", "height").
		Where("campaign_id = ?", campaignID).Order("id").Find(&rows).Error
	if err != nil {
		return nil, wrap(err, "images of campaign %d", campaignID)
	}
	out := make(map[int64]Image, len(rows))
	for _, r := range rows {
		out[r.ID] = r
	}
	return out, nil
}

// EvalReferences returns the reference texts of a campaign's images by
// image id, each image's in position order. Images without references are
// absent.
func (s *Store) EvalReferences(ctx context.Context, campaignID int64) (map[int64][]string, error) {
	var rows []Reference
	err := s.conn(ctx).Select("image_references.image_id", "image_references.position", "image_references.text").
		Joins("JOIN images ON images.id = image_references.image_id").
		Where("images.campaign_id = ?", campaignID).
		Order("image_references.image_id, image_references.position").Find(&rows).Error
	if err != nil {
		return nil, wrap(err, "references of campaign %d", campaignID)
	}
	out := map[int64][]string{}
	for _, r := range rows {
		out[r.ImageID] = append(out[r.ImageID], r.Text)
	}
	return out, nil
}

// PutScores writes per-caption scores, replacing the value and version of a
// (caption, metric) already scored, all in one transaction.
func (s *Store) PutScores(ctx context.Context, rows []Score) error {
	if len(rows) == 0 {
		return nil
	}
	now := nowUTC()
	for i := range rows {
		rows[i].ID = 0
		rows[i].CreatedAt = now
	}
	err := s.InTx(ctx, func(tx *Store) error {
		return tx.conn(ctx).Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "caption_id"}, {Name: "metric"}},
			DoUpdates: clause.AssignmentColumns([]string{"value", "metric_version", "created_at"}),
		}).CreateInBatches(&rows, scoreChunk).Error
	})
	if err != nil {
		return wrap(err, "put %d caption scores", len(rows))
	}
	return nil
}

// PutCaptionerScores writes per-captioner aggregates, replacing those of a
// (captioner, metric) already stored, in one transaction.
func (s *Store) PutCaptionerScores(ctx context.Context, rows []CaptionerScore) error {
	if len(rows) == 0 {
		return nil
	}
	now := nowUTC()
	for i := range rows {
		rows[i].ID = 0
		rows[i].CreatedAt = now
	}
	err := s.InTx(ctx, func(tx *Store) error {
		return tx.conn(ctx).Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "captioner_id"}, {Name: "metric"}},
			DoUpdates: clause.AssignmentColumns([]string{"value", "metric_version", "n", "created_at"}),
		}).CreateInBatches(&rows, scoreChunk).Error
	})
	if err != nil {
		return wrap(err, "put %d captioner scores", len(rows))
	}
	return nil
}

// CaptionerScoresOf returns the aggregates of every captioner of a
// campaign, ordered by captioner and metric.
func (s *Store) CaptionerScoresOf(ctx context.Context, campaignID int64) ([]CaptionerScore, error) {
	var out []CaptionerScore
	err := s.conn(ctx).Select("captioner_scores.*").
		Joins("JOIN captioners ON captioners.id = captioner_scores.captioner_id").
		Where("captioners.campaign_id = ?", campaignID).
		Order("captioner_scores.captioner_id, captioner_scores.metric").Find(&out).Error
	if err != nil {
		return nil, wrap(err, "captioner scores of campaign %d", campaignID)
	}
	return out, nil
}

// CaptionScoresOf returns a captioner's per-caption values of one metric
// computed at metricVersion, by caption id.
func (s *Store) CaptionScoresOf(ctx context.Context, captionerID int64, metric, metricVersion string) (map[int64]float64, error) {
	var rows []Score
	err := s.conn(ctx).Select("scores.caption_id", "scores.value").
		Joins("JOIN captions ON captions.id = scores.caption_id").
		Where("captions.captioner_id = ? AND scores.metric = ? AND scores.metric_version = ?", captionerID, metric, metricVersion).
		Find(&rows).Error
	if err != nil {
		return nil, wrap(err, "%s scores of captioner %d", metric, captionerID)
	}
	out := make(map[int64]float64, len(rows))
	for _, r := range rows {
		out[r.CaptionID] = r.Value
	}
	return out, nil
}

// ScoresOfCaptions returns the per-caption scores of the given captions,
// ordered by caption and metric.
func (s *Store) ScoresOfCaptions(ctx context.Context, captionIDs []int64) ([]Score, error) {
	var out []Score
	for start := 0; start < len(captionIDs); start += scoreChunk {
		chunk := captionIDs[start:min(start+scoreChunk, len(captionIDs))]
		var rows []Score
		if err := s.conn(ctx).Where("caption_id IN ?", chunk).Find(&rows).Error; err != nil {
			return nil, wrap(err, "scores of %d captions", len(captionIDs))
		}
		out = append(out, rows...)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].CaptionID != out[j].CaptionID {
			return out[i].CaptionID < out[j].CaptionID
		}
		return out[i].Metric < out[j].Metric
	})
	return out, nil
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
