package models

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// CampaignCounts says how much a campaign holds.
type CampaignCounts struct {
	Images     int64 `json:"images"`
	Captioners int64 `json:"captioners"`
	Captions   int64 `json:"captions"`
	Tasks      int64 `json:"tasks"`
}

// CampaignSummary is a campaign with its counts, as campaign lists show it.
type CampaignSummary struct {
	Campaign `gorm:"embedded"`
	CampaignCounts
	// Annotators is the number of users named as its annotators; 0 means
	// every annotator may annotate it.
	Annotators int64 `json:"annotators"`
}

// countColumns are correlated subqueries over the campaign c; each one is
// served by an index whose first column is the campaign (or the captioner
// for captions), so a list costs one index range per campaign and count.
const countColumns = `(SELECT count(*) FROM images i WHERE i.campaign_id = c.id) AS images,
	(SELECT count(*) FROM captioners k WHERE k.campaign_id = c.id) AS captioners,
	(SELECT count(*) FROM captions p JOIN captioners k ON k.id = p.captioner_id WHERE k.campaign_id = c.id) AS captions,
	(SELECT count(*) FROM tasks t WHERE t.campaign_id = c.id) AS tasks,
	(SELECT count(*) FROM campaign_annotators a WHERE a.campaign_id = c.id) AS annotators`

// ListCampaignSummaries returns every campaign with its counts, newest
// first (ties by ID, so the order is stable).
func (s *Store) ListCampaignSummaries(ctx context.Context) ([]CampaignSummary, error) {
	var out []CampaignSummary
	err := s.conn(ctx).Raw("SELECT c.*, " + countColumns + " FROM campaigns c ORDER BY c.created_at DESC, c.id DESC").
		Scan(&out).Error
	if err != nil {
		return nil, wrap(err, "list campaigns")
	}
	return out, nil
}

// CampaignSummaryByID returns one campaign with its counts, or ErrNotFound.
func (s *Store) CampaignSummaryByID(ctx context.Context, id int64) (*CampaignSummary, error) {
	var out []CampaignSummary
	err := s.conn(ctx).Raw("SELECT c.*, "+countColumns+" FROM campaigns c WHERE c.id = ?", id).Scan(&out).Error
	if err != nil {
		return nil, wrap(err, "campaign %d", id)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("models: campaign %d: %w", id, ErrNotFound)
	}
	return &out[0], nil
}

// CampaignByID returns the campaign with id, or ErrNotFound.
func (s *Store) CampaignByID(ctx context.Context, id int64) (*Campaign, error) {
	var c Campaign
	if err := s.conn(ctx).Where("id = ?", id).Take(&c).Error; err != nil {
		return nil, wrap(err, "campaign %d", id)
	}
	return &c, nil
}

// LockCampaign reads the campaign with id for a read-modify-write inside
// InTx: on PostgreSQL the row stays locked (FOR UPDATE) until the
// transaction ends, so two concurrent changes cannot both read the same
// "before"; SQLite transactions hold the database's write lock from BEGIN
// already. Missing: ErrNotFound.
func (s *Store) LockCampaign(ctx context.Context, id int64) (*Campaign, error) {
	q := s.conn(ctx).Where("id = ?", id)
	if s.dialect == DialectPostgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var c Campaign
	if err := q.Take(&c).Error; err != nil {
		return nil, wrap(err, "lock campaign %d", id)
	}
	return &c, nil
}

// CampaignChanges names the columns of a campaign to update; nil fields are
// left as they are.
type CampaignChanges struct {
	Name         *string
	Description  *string
	Instructions *string
	Mode         *CampaignMode
	Rubric       JSON
	Thresholds   JSON
	BlendWeights JSON
	Status       *CampaignStatus
}

// UpdateCampaign writes the non-nil fields of ch to the campaign with id and
// moves updated_at; nothing to change is a no-op. A duplicate name is
// ErrConflict, a value the schema refuses ErrInvalid, a missing campaign
// ErrNotFound.
func (s *Store) UpdateCampaign(ctx context.Context, id int64, ch CampaignChanges) error {
	cols := map[string]any{}
	if ch.Name != nil {
		cols["name"] = *ch.Name
	}
	if ch.Description != nil {
		cols["description"] = *ch.Description
	}
	if ch.Instructions != nil {
		cols["instructions"] = *ch.Instructions
	}
	if ch.Mode != nil {
		cols["mode"] = string(*ch.Mode)
	}
	for _, doc := range []struct {
		name string
		j    JSON
	}{{"rubric", ch.Rubric}, {"thresholds", ch.Thresholds}, {"blend_weights", ch.BlendWeights}} {
		if err := checkJSON(doc.j); err != nil {
			return fmt.Errorf("models: update campaign %d: %s: %w", id, doc.name, err)
		}
	}
	if ch.Rubric != nil {
		cols["rubric"] = ch.Rubric
	}
	if ch.Thresholds != nil {
		cols["thresholds"] = ch.Thresholds
	}
	if ch.BlendWeights != nil {
		cols["blend_weights"] = ch.BlendWeights
	}
	if ch.Status != nil {
		cols["status"] = string(*ch.Status)
	}
	if len(cols) == 0 {
		return nil
	}
	cols["updated_at"] = nowUTC()
	res := s.conn(ctx).Model(&Campaign{}).Where("id = ?", id).Updates(cols)
	if res.Error != nil {
		return wrap(res.Error, "update campaign %d", id)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("models: update campaign %d: %w", id, ErrNotFound)
	}
	return nil
}

// CampaignAnnotatorIDs returns the IDs of the users named as annotators of
// the campaign, ascending; empty means every annotator may annotate it.
func (s *Store) CampaignAnnotatorIDs(ctx context.Context, campaignID int64) ([]int64, error) {
	ids := []int64{}
	err := s.conn(ctx).Model(&CampaignAnnotator{}).Where("campaign_id = ?", campaignID).
		Order("user_id").Pluck("user_id", &ids).Error
	if err != nil {
		return nil, wrap(err, "annotators of campaign %d", campaignID)
	}
	return ids, nil
}

// SetCampaignAnnotators replaces the campaign's annotators with userIDs, all
// or nothing (it joins the caller's transaction inside InTx). A missing user
// or campaign is ErrInvalid.
func (s *Store) SetCampaignAnnotators(ctx context.Context, campaignID int64, userIDs []int64) error {
	err := s.InTx(ctx, func(tx *Store) error {
		if err := tx.conn(ctx).Where("campaign_id = ?", campaignID).Delete(&CampaignAnnotator{}).Error; err != nil {
			return err
		}
		if len(userIDs) == 0 {
			return nil
		}
		rows := make([]CampaignAnnotator, len(userIDs))
		for i, id := range userIDs {
			rows[i] = CampaignAnnotator{CampaignID: campaignID, UserID: id}
		}
		return tx.conn(ctx).CreateInBatches(rows, bulkRows).Error
	})
	if err != nil {
		return wrap(err, "set %d annotators of campaign %d", len(userIDs), campaignID)
	}
	return nil
}

// UsersByIDs returns the users with the given IDs in ID order; IDs without a
// user are left out.
func (s *Store) UsersByIDs(ctx context.Context, ids []int64) ([]User, error) {
	users := []User{}
	if len(ids) == 0 {
		return users, nil
	}
	if err := s.conn(ctx).Where("id IN ?", ids).Order("id").Find(&users).Error; err != nil {
		return nil, wrap(err, "users by id")
	}
	return users, nil
}

// AddAudit records e and sets its ID and time. Call it inside the caller's
// InTx, with the change it records, so that the change and its record
// commit or roll back together. An empty action or malformed before/after
// is ErrInvalid.
func (s *Store) AddAudit(ctx context.Context, e *AuditEntry) error {
	if e.Action == "" {
		return fmt.Errorf("models: add audit entry: empty action: %w", ErrInvalid)
	}
	if err := checkJSON(e.Before); err != nil {
		return fmt.Errorf("models: add audit entry %s: before: %w", e.Action, err)
	}
	if err := checkJSON(e.After); err != nil {
		return fmt.Errorf("models: add audit entry %s: after: %w", e.Action, err)
	}
	e.ID = 0
	if e.CreatedAt.IsZero() {
		e.CreatedAt = nowUTC()
	} else {
		e.CreatedAt = e.CreatedAt.UTC().Truncate(time.Microsecond)
	}
	if err := s.conn(ctx).Create(e).Error; err != nil {
		return wrap(err, "add audit entry %s", e.Action)
	}
	return nil
}

// AuditLog returns the campaign's audit entries, newest first, at most
// limit of them (limit <= 0 means all).
func (s *Store) AuditLog(ctx context.Context, campaignID int64, limit int) ([]AuditEntry, error) {
	out := []AuditEntry{}
	q := s.conn(ctx).Where("campaign_id = ?", campaignID).Order("created_at DESC, id DESC")
	if limit > 0 {
		q = q.Limit(limit)
	}
	if err := q.Find(&out).Error; err != nil {
		return nil, wrap(err, "audit log of campaign %d", campaignID)
	}
	return out, nil
}

// checkJSON refuses a malformed document with ErrInvalid before the driver
// sees it (JSON.Value would fail with an error the store cannot classify).
// Empty is fine: it is stored as null.
func checkJSON(j JSON) error {
	if len(j) == 0 || json.Valid(j) {
		return nil
	}
	return fmt.Errorf("malformed JSON document %.40q: %w", string(j), ErrInvalid)
}
