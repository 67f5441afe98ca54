package models

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strings"
)

// The reads of a campaign's data, one per fact, shared by the auto-eval
// jobs, the selection and the import. They return rows in the order the
// scores depend on: captions in ID order (the order they were imported, the
// order of the results file), references by image and position (the order
// of the annotation file), as `capeval score` reads them from the files.
// The Each… forms stream the rows, for callers that hold a campaign's
// worth of them only as digests; the others collect the same query.

// CaptionerSummary is a captioner with the number of its captions and its
// stored aggregates by metric. An aggregate's N says how many of the
// captions it covers: fewer than Captions means a part is not scored
// (RefCLIPScore of images without references, captions added since).
type CaptionerSummary struct {
	Captioner
	Captions int                       `json:"captions"`
	Scores   map[string]CaptionerScore `json:"scores"`
}

// Captioners returns the campaign's captioners in ID order, each with its
// caption count and its aggregates.
func (s *Store) Captioners(ctx context.Context, campaignID int64) ([]CaptionerSummary, error) {
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
	out := make([]CaptionerSummary, len(rows))
	at := make(map[int64]int, len(rows))
	for i, r := range rows {
		out[i] = CaptionerSummary{Captioner: r.Captioner, Captions: r.Captions, Scores: map[string]CaptionerScore{}}
		at[r.ID] = i
	}
	for _, sc := range scores {
		if i, ok := at[sc.CaptionerID]; ok {
			out[i].Scores[sc.Metric] = sc
		}
	}
	return out, nil
}

// CaptionerByName returns the captioner name@version of the campaign, or
// ErrNotFound. The name is matched after trimming spaces, the version
// exactly.
func (s *Store) CaptionerByName(ctx context.Context, campaignID int64, name, version string) (*Captioner, error) {
	var c Captioner
	err := s.conn(ctx).Where("campaign_id = ? AND name = ? AND version = ?", campaignID, strings.TrimSpace(name), version).
		Take(&c).Error
	if err != nil {
		return nil, wrap(err, "captioner %s@%s of campaign %d", name, version, campaignID)
	}
	return &c, nil
}

// EachCaption calls fn for every caption of the given captioners in ID
// order, streaming the rows (captioner IDs are queried in chunks of 1,000,
// each chunk in ID order). An error from fn stops the walk and is returned
// as is.
func (s *Store) EachCaption(ctx context.Context, captionerIDs []int64, fn func(Caption) error) error {
	for start := 0; start < len(captionerIDs); start += bulkRows {
		chunk := captionerIDs[start:min(start+bulkRows, len(captionerIDs))]
		rows, err := s.conn(ctx).Raw(`SELECT id, captioner_id, image_id, text FROM captions
			WHERE captioner_id IN ? ORDER BY id`, chunk).Rows()
		if err := eachRow(rows, err, fn, func(r *sql.Rows, c *Caption) error {
			return r.Scan(&c.ID, &c.CaptionerID, &c.ImageID, &c.Text)
		}); err != nil {
			return wrapRead(err, "captions of %d captioners", len(captionerIDs))
		}
	}
	return nil
}

// Captions returns the captions of the given captioners in ID order.
func (s *Store) Captions(ctx context.Context, captionerIDs []int64) ([]Caption, error) {
	out := []Caption{}
	err := s.EachCaption(ctx, captionerIDs, func(c Caption) error { out = append(out, c); return nil })
	if err != nil {
		return nil, err
	}
	if len(captionerIDs) > bulkRows {
		slices.SortFunc(out, func(a, b Caption) int { return cmp.Compare(a.ID, b.ID) })
	}
	return out, nil
}

// CaptionScoreRow is one per-caption score value and the version of the
// metric that computed it.
type CaptionScoreRow struct {
	CaptionID     int64   `json:"caption_id"`
	Metric        string  `json:"metric"`
	Value         float64 `json:"value"`
	MetricVersion string  `json:"metric_version"`
}

// EachCaptionScore calls fn for every per-caption score of the given
// metrics of the captions of the given captioners, streaming the rows so
// that 250,000 captions × several metrics are never held as structs. An
// error from fn stops the walk and is returned as is.
func (s *Store) EachCaptionScore(ctx context.Context, captionerIDs []int64, metrics []string, fn func(CaptionScoreRow) error) error {
	if len(metrics) == 0 {
		return nil
	}
	for start := 0; start < len(captionerIDs); start += bulkRows {
		chunk := captionerIDs[start:min(start+bulkRows, len(captionerIDs))]
		rows, err := s.conn(ctx).Raw(`SELECT sc.caption_id, sc.metric, sc.value, sc.metric_version FROM scores sc
			JOIN captions p ON p.id = sc.caption_id
			WHERE p.captioner_id IN ? AND sc.metric IN ?`, chunk, metrics).Rows()
		if err := eachRow(rows, err, fn, func(r *sql.Rows, c *CaptionScoreRow) error {
			return r.Scan(&c.CaptionID, &c.Metric, &c.Value, &c.MetricVersion)
		}); err != nil {
			return wrapRead(err, "caption scores")
		}
	}
	return nil
}

// Images returns the campaign's images in ID order, with their tags only
// when withTags (the import reads 100,000 images' keys and hashes, and
// needs no tags).
func (s *Store) Images(ctx context.Context, campaignID int64, withTags bool) ([]Image, error) {
	cols := []string{"id", "campaign_id", "external_id", "sha256", "storage_key", "width", "height", "created_at"}
	if withTags {
		cols = append(cols, "tags")
	}
	out := []Image{}
	if err := s.conn(ctx).Select(cols).Where("campaign_id = ?", campaignID).Order("id").Find(&out).Error; err != nil {
		return nil, wrap(err, "images of campaign %d", campaignID)
	}
	return out, nil
}

// ImageByExternalID returns the image of the campaign with the external id,
// or ErrNotFound.
func (s *Store) ImageByExternalID(ctx context.Context, campaignID int64, externalID string) (*Image, error) {
	var img Image
	err := s.conn(ctx).Where("campaign_id = ? AND external_id = ?", campaignID, externalID).Take(&img).Error
	if err != nil {
		return nil, wrap(err, "image %q of campaign %d", externalID, campaignID)
	}
	return &img, nil
}

// EachReference calls fn for every reference caption of the campaign's
// images, ordered by image ID and position, streaming the rows. An error
// from fn stops the walk and is returned as is.
func (s *Store) EachReference(ctx context.Context, campaignID int64, fn func(Reference) error) error {
	rows, err := s.conn(ctx).Raw(`SELECT r.id, r.image_id, r.position, r.text FROM image_references r
		JOIN images i ON i.id = r.image_id WHERE i.campaign_id = ? ORDER BY r.image_id, r.position`, campaignID).Rows()
	if err := eachRow(rows, err, fn, func(r *sql.Rows, ref *Reference) error {
		return r.Scan(&ref.ID, &ref.ImageID, &ref.Position, &ref.Text)
	}); err != nil {
		return wrapRead(err, "references of campaign %d", campaignID)
	}
	return nil
}

// References returns the reference captions of the campaign's images by
// image ID then position.
func (s *Store) References(ctx context.Context, campaignID int64) ([]Reference, error) {
	out := []Reference{}
	err := s.EachReference(ctx, campaignID, func(r Reference) error { out = append(out, r); return nil })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// errCallback carries an error returned by an Each… callback through
// eachRow, so that it is returned as is, not wrapped as the store's.
type errCallback struct{ err error }

func (e errCallback) Error() string { return e.err.Error() }

// eachRow scans every row of rows (opened with err) into a T and calls fn
// with it, then closes rows.
func eachRow[T any](rows *sql.Rows, err error, fn func(T) error, scan func(*sql.Rows, *T) error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var v T
		if err := scan(rows, &v); err != nil {
			return err
		}
		if err := fn(v); err != nil {
			return errCallback{err}
		}
	}
	return rows.Err()
}

// wrapRead is wrap for an Each… read: the callback's own error comes back
// unchanged.
func wrapRead(err error, format string, args ...any) error {
	if cb, ok := err.(errCallback); ok {
		return cb.err
	}
	return wrap(err, format, args...)
}
