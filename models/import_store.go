package models

import (
	"context"
	"fmt"
	"strings"
)

// ImageKey is what an import needs to know about an image already in a
// campaign: its row, its external id and its content hash.
type ImageKey struct {
	ID         int64
	ExternalID string
	SHA256     string `gorm:"column:sha256"`
}

// CampaignImageKeys returns the id, external id and content hash of every
// image of the campaign, in id order. Only these three columns are read, so
// that 100,000 images stay a few megabytes.
func (s *Store) CampaignImageKeys(ctx context.Context, campaignID int64) ([]ImageKey, error) {
	var out []ImageKey
	err := s.conn(ctx).Model(&Image{}).Select("id, external_id, sha256").
		Where("campaign_id = ?", campaignID).Order("id").Scan(&out).Error
	if err != nil {
		return nil, wrap(err, "image keys of campaign %d", campaignID)
	}
	return out, nil
}

// EachReference calls fn for every reference caption of the campaign's
// images, ordered by image id and position, reading the rows as a stream
// (never all in memory). An error from fn stops the walk and is returned as
// is.
func (s *Store) EachReference(ctx context.Context, campaignID int64, fn func(imageID int64, position int, text string) error) error {
	rows, err := s.conn(ctx).Table("image_references AS r").
		Select("r.image_id, r.position, r.text").
		Joins("JOIN images AS i ON i.id = r.image_id").
		Where("i.campaign_id = ?", campaignID).
		Order("r.image_id, r.position").Rows()
	if err != nil {
		return wrap(err, "references of campaign %d", campaignID)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			imageID int64
			pos     int
			text    string
		)
		if err := rows.Scan(&imageID, &pos, &text); err != nil {
			return wrap(err, "references of campaign %d", campaignID)
		}
		if err := fn(imageID, pos, text); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return wrap(err, "references of campaign %d", campaignID)
	}
	return nil
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

// EachCaption calls fn for every caption of the captioner, ordered by image
// id, reading the rows as a stream. An error from fn stops the walk and is
// returned as is.
func (s *Store) EachCaption(ctx context.Context, captionerID int64, fn func(imageID int64, text string) error) error {
	rows, err := s.conn(ctx).Model(&Caption{}).Select("image_id, text").
		Where("captioner_id = ?", captionerID).Order("image_id").Rows()
	if err != nil {
		return wrap(err, "captions of captioner %d", captionerID)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			imageID int64
			text    string
		)
		if err := rows.Scan(&imageID, &text); err != nil {
			return wrap(err, "captions of captioner %d", captionerID)
		}
		if err := fn(imageID, text); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("models: captions of captioner %d: %w", captionerID, classify(err))
	}
	return nil
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
