package models

import (
	"context"
	"fmt"
	"strings"
)

// bulkRows is the batch size of the bulk inserts: with at most 9 columns a
// batch stays under SQLite's 32766 bind parameters and PostgreSQL's 65535,
// and larger batches no longer speed either up.
const bulkRows = 1000

// CreateCampaign inserts c and sets its ID and timestamps. An empty status
// becomes draft. A duplicate name is ErrConflict; an unknown mode or status
// is ErrInvalid.
func (s *Store) CreateCampaign(ctx context.Context, c *Campaign) error {
	c.Name = strings.TrimSpace(c.Name)
	if c.Name == "" {
		return fmt.Errorf("models: create campaign: empty name: %w", ErrInvalid)
	}
	if c.Status == "" {
		c.Status = StatusDraft
	}
	c.ID = 0
	if err := s.conn(ctx).Create(c).Error; err != nil {
		return wrap(err, "create campaign %q", c.Name)
	}
	return nil
}

// CampaignByName returns the campaign named name, or ErrNotFound.
func (s *Store) CampaignByName(ctx context.Context, name string) (*Campaign, error) {
	var c Campaign
	if err := s.conn(ctx).Where("name = ?", strings.TrimSpace(name)).Take(&c).Error; err != nil {
		return nil, wrap(err, "campaign %q", name)
	}
	return &c, nil
}

// CreateCaptioner inserts c and sets its ID. The same (campaign, name,
// version) twice is ErrConflict.
func (s *Store) CreateCaptioner(ctx context.Context, c *Captioner) error {
	c.ID = 0
	if err := s.conn(ctx).Create(c).Error; err != nil {
		return wrap(err, "create captioner %s@%s in campaign %d", c.Name, c.Version, c.CampaignID)
	}
	return nil
}

// InsertImages inserts images in batches, all or none, and sets each one's
// ID in the slice. Inside InTx it joins the caller's transaction, so that a
// whole import is all or nothing. A duplicate external ID in the campaign is
// ErrConflict.
func (s *Store) InsertImages(ctx context.Context, images []Image) error {
	return wrap(insertRows(ctx, s, images), "insert %d images", len(images))
}

// InsertReferences inserts reference captions in batches, all or none, and sets each one's
// ID in the slice. The same (image, position) twice is ErrConflict.
func (s *Store) InsertReferences(ctx context.Context, refs []Reference) error {
	return wrap(insertRows(ctx, s, refs), "insert %d references", len(refs))
}

// InsertCaptions inserts captions in batches, all or none, and sets each one's ID in the
// slice. A second caption of one captioner for one image is ErrConflict.
func (s *Store) InsertCaptions(ctx context.Context, captions []Caption) error {
	return wrap(insertRows(ctx, s, captions), "insert %d captions", len(captions))
}

// insertRows inserts rows in batches, all or none (inside InTx it joins
// the caller's transaction), and sets each one's ID in the slice.
func insertRows[T any](ctx context.Context, s *Store, rows []T) error {
	if len(rows) == 0 {
		return nil
	}
	return s.InTx(ctx, func(tx *Store) error {
		return tx.conn(ctx).CreateInBatches(rows, bulkRows).Error
	})
}
