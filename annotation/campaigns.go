package annotation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"capeval/models"
)

// Campaign field limits.
const (
	MaxCampaignName        = 200
	MaxCampaignDescription = 10000
	// MaxCampaignInstructions bounds the instructions to annotators.
	MaxCampaignInstructions = 20000
	// MaxDocumentBytes bounds the thresholds and blend-weights documents.
	MaxDocumentBytes = 64 << 10
	// MaxAuditLimit is the most audit entries one AuditLog call returns.
	MaxAuditLimit = 1000
)

// Audit actions recorded by Campaigns. Before and After hold the changed
// fields only (thresholds and blend weights: the whole documents).
const (
	AuditCreate       = "campaign.create"
	AuditUpdate       = "campaign.update" // name, description, mode, rubric
	AuditStatus       = "campaign.status"
	AuditAnnotators   = "campaign.annotators"
	AuditThresholds   = "campaign.thresholds"
	AuditBlendWeights = "campaign.blend_weights"
)

// CampaignStore is what Campaigns needs from the database.
type CampaignStore interface {
	InTx(ctx context.Context, fn func(tx *models.Store) error) error
	ListCampaignSummaries(ctx context.Context) ([]models.CampaignSummary, error)
	CampaignSummaryByID(ctx context.Context, id int64) (*models.CampaignSummary, error)
	CampaignByName(ctx context.Context, name string) (*models.Campaign, error)
	CampaignAnnotatorIDs(ctx context.Context, campaignID int64) ([]int64, error)
	UsersByIDs(ctx context.Context, ids []int64) ([]models.User, error)
	AuditLog(ctx context.Context, campaignID int64, limit int) ([]models.AuditEntry, error)
}

// DocumentValidator checks a thresholds or blend-weights document for the
// campaign c (as it will be after the change, mode included) and returns it
// in the form to store. Its error should be a *ValidationError whose
// problems name the offending fields; any other error is reported as one
// problem of the document. The package that owns a document's schema
// provides its validator.
type DocumentValidator func(c *models.Campaign, doc models.JSON) (models.JSON, error)

// CampaignsOption configures Campaigns.
type CampaignsOption func(*Campaigns)

// WithThresholdsValidator makes Campaigns check every thresholds document
// with v (the selection's schema).
func WithThresholdsValidator(v DocumentValidator) CampaignsOption {
	return func(c *Campaigns) { c.thresholds = v }
}

// WithBlendWeightsValidator makes Campaigns check every blend-weights
// document with v.
func WithBlendWeightsValidator(v DocumentValidator) CampaignsOption {
	return func(c *Campaigns) { c.blendWeights = v }
}

// Campaigns creates, reads and changes campaigns. Every change is written
// together with its audit entry in one transaction: a change is never
// without its record, nor a record without its change.
type Campaigns struct {
	store        CampaignStore
	log          *slog.Logger
	thresholds   DocumentValidator
	blendWeights DocumentValidator
}

// NewCampaigns returns the campaign service. Thresholds are checked against
// the selection's schema (ValidateThresholds) and blend weights against the
// leaderboard's (ValidateBlendWeights), whoever makes the change (API, CLI,
// selection); an option replaces a check only in tests.
func NewCampaigns(store CampaignStore, log *slog.Logger, opts ...CampaignsOption) *Campaigns {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Campaigns{store: store, log: log, thresholds: ValidateThresholds, blendWeights: ValidateBlendWeights}
	for _, o := range opts {
		o(c)
	}
	return c
}

// UserRef names a user in campaign views and the audit log.
type UserRef struct {
	ID    int64  `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

// Campaign is a campaign as leads see it: its settings, who may annotate it
// and how much it holds.
type Campaign struct {
	ID          int64                 `json:"id"`
	Name        string                `json:"name"`
	Description string                `json:"description"`
	Mode        models.CampaignMode   `json:"mode"`
	Status      models.CampaignStatus `json:"status"`
	Rubric      Rubric                `json:"rubric"`
	// Instructions are shown to annotators before their first task.
	Instructions string `json:"instructions"`
	// Annotators who may annotate it; empty means every annotator.
	Annotators   []UserRef             `json:"annotators"`
	Thresholds   models.JSON           `json:"thresholds"`
	BlendWeights models.JSON           `json:"blend_weights"`
	Counts       models.CampaignCounts `json:"counts"`
	CreatedBy    *int64                `json:"created_by"`
	CreatedAt    time.Time             `json:"created_at"`
	UpdatedAt    time.Time             `json:"updated_at"`
}

// NewCampaign is what Create needs. Mode empty means likert; Rubric nil
// means DefaultRubric; Annotators are user IDs (decimal) or emails, empty
// meaning every annotator.
type NewCampaign struct {
	Name        string
	Description string
	Mode        models.CampaignMode
	Rubric      models.JSON
	Annotators  []string
}

// CampaignPatch is a change of a campaign: nil fields stay as they are.
// Rubric "null" resets it to DefaultRubric; Thresholds or BlendWeights
// "null" clear them; Annotators pointing to an empty list means every
// annotator.
type CampaignPatch struct {
	Name         *string
	Description  *string
	Instructions *string
	Mode         *models.CampaignMode
	Status       *models.CampaignStatus
	Rubric       models.JSON
	Annotators   *[]string
	Thresholds   models.JSON
	BlendWeights models.JSON
}

// AuditRecord is an audit entry with its actor (nil: the CLI or the system).
type AuditRecord struct {
	models.AuditEntry
	Actor *UserRef `json:"actor"`
}

// List returns every campaign with its counts, newest first.
func (s *Campaigns) List(ctx context.Context) ([]CampaignListItem, error) {
	list, err := s.store.ListCampaignSummaries(ctx)
	if err != nil {
		return nil, fmt.Errorf("annotation: list campaigns: %w", err)
	}
	items := make([]CampaignListItem, len(list))
	for i, x := range list {
		items[i] = CampaignListItem{ID: x.ID, Name: x.Name, Description: x.Description, Mode: x.Mode, Status: x.Status,
			Counts: x.CampaignCounts, Annotators: x.Annotators, CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt}
	}
	return items, nil
}

// CampaignListItem is a campaign in the lead's list (the API's and
// `capeval campaign list`'s): no rubric or documents, but how much it holds.
type CampaignListItem struct {
	ID          int64                 `json:"id"`
	Name        string                `json:"name"`
	Description string                `json:"description"`
	Mode        models.CampaignMode   `json:"mode"`
	Status      models.CampaignStatus `json:"status"`
	Counts      models.CampaignCounts `json:"counts"`
	// Annotators is how many users are named; 0 means every annotator.
	Annotators int64     `json:"annotators"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Get returns the campaign with id, or an error wrapping ErrNotFound.
func (s *Campaigns) Get(ctx context.Context, id int64) (*Campaign, error) {
	sum, err := s.store.CampaignSummaryByID(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		return nil, fmt.Errorf("%w: no campaign with id %d", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("annotation: campaign %d: %w", id, err)
	}
	ids, err := s.store.CampaignAnnotatorIDs(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("annotation: campaign %d: %w", id, err)
	}
	users, err := s.store.UsersByIDs(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("annotation: campaign %d: %w", id, err)
	}
	return view(sum, users), nil
}

// Lookup finds a campaign by ID (a decimal number) or by name: what the
// command line accepts. A number that is no campaign's ID is tried as a
// name, so a campaign named "2024" is found too.
func (s *Campaigns) Lookup(ctx context.Context, ref string) (*Campaign, error) {
	ref = strings.TrimSpace(ref)
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
		c, err := s.Get(ctx, id)
		if !errors.Is(err, ErrNotFound) {
			return c, err
		}
	}
	c, err := s.store.CampaignByName(ctx, ref)
	if errors.Is(err, models.ErrNotFound) {
		return nil, fmt.Errorf("%w: no campaign with id or name %q", ErrNotFound, ref)
	}
	if err != nil {
		return nil, fmt.Errorf("annotation: campaign %q: %w", ref, err)
	}
	return s.Get(ctx, c.ID)
}

// Create validates in and creates the campaign in status draft, with its
// annotators and an audit entry, in one transaction. actorID is the user
// who creates it (0: the CLI). Problems of the input are one
// *ValidationError listing them all; a taken name wraps ErrConflict.
func (s *Campaigns) Create(ctx context.Context, actorID int64, in NewCampaign) (*Campaign, error) {
	var ps Problems
	name := checkName(&ps, in.Name)
	checkDescription(&ps, in.Description)
	mode := in.Mode
	if mode == "" {
		mode = models.ModeLikert
	}
	checkMode(&ps, mode)
	rubric := DefaultRubric()
	if in.Rubric != nil && !in.Rubric.IsNull() {
		r, err := ParseRubric(in.Rubric)
		if err != nil {
			addProblems(&ps, err)
		} else {
			rubric = r
		}
	}
	if err := ps.Err("campaign"); err != nil {
		return nil, err
	}
	rubricDoc := models.MustJSON(rubric)
	var id int64
	err := s.store.InTx(ctx, func(tx *models.Store) error {
		userIDs, err := resolveAnnotators(ctx, tx, in.Annotators)
		if err != nil {
			return err
		}
		c := &models.Campaign{Name: name, Description: in.Description, Mode: mode, Rubric: rubricDoc,
			Thresholds: models.JSON("null"), BlendWeights: models.JSON("null"), CreatedBy: actorPtr(actorID)}
		if err := tx.CreateCampaign(ctx, c); err != nil {
			if errors.Is(err, models.ErrConflict) {
				return fmt.Errorf("%w: a campaign named %q exists already", ErrConflict, name)
			}
			return err
		}
		id = c.ID
		if err := tx.SetCampaignAnnotators(ctx, c.ID, userIDs); err != nil {
			return err
		}
		after := map[string]any{"name": c.Name, "description": c.Description, "mode": c.Mode,
			"status": c.Status, "rubric": rubricDoc, "annotators": userIDs}
		return tx.AddAudit(ctx, &models.AuditEntry{ActorID: actorPtr(actorID), CampaignID: &c.ID,
			Action: AuditCreate, Before: models.JSON("null"), After: models.MustJSON(after)})
	})
	if err != nil {
		return nil, wrapErr(err, "create campaign %q", name)
	}
	s.log.InfoContext(ctx, "campaign created", "campaign_id", id, "name", name, "mode", mode, "by", actorID)
	return s.Get(ctx, id)
}

// Update applies p to the campaign with id in one transaction, auditing
// each kind of change (see the Audit* actions); a patch that changes
// nothing writes nothing. The rules:
//   - status only moves forward: draft → collecting → closed;
//   - a closed campaign keeps everything but its name and description;
//   - once tasks exist, the mode and the rubric's criterion keys are fixed
//     (names, descriptions and labels may still be reworded).
//
// Shape problems are one *ValidationError; a broken rule wraps ErrConflict.
func (s *Campaigns) Update(ctx context.Context, actorID, id int64, p CampaignPatch) (*Campaign, error) {
	var ps Problems
	var name *string
	if p.Name != nil {
		n := checkName(&ps, *p.Name)
		name = &n
	}
	if p.Description != nil {
		checkDescription(&ps, *p.Description)
	}
	if p.Instructions != nil {
		checkText(&ps, "instructions", *p.Instructions, 0, MaxCampaignInstructions)
	}
	if p.Mode != nil {
		checkMode(&ps, *p.Mode)
	}
	if p.Status != nil && statusRank(*p.Status) < 0 {
		ps.Add("status", "status %q: want draft, collecting or closed", *p.Status)
	}
	var rubric *Rubric
	if p.Rubric != nil {
		r := DefaultRubric()
		if !p.Rubric.IsNull() {
			var err error
			if r, err = ParseRubric(p.Rubric); err != nil {
				addProblems(&ps, err)
			}
		}
		rubric = &r
	}
	thresholds := checkDocument(&ps, "thresholds", p.Thresholds)
	blendWeights := checkDocument(&ps, "blend_weights", p.BlendWeights)
	if err := ps.Err("campaign"); err != nil {
		return nil, err
	}

	changed := false
	err := s.store.InTx(ctx, func(tx *models.Store) error {
		before, err := tx.LockCampaign(ctx, id)
		if errors.Is(err, models.ErrNotFound) {
			return fmt.Errorf("%w: no campaign with id %d", ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		after := *before
		var ch models.CampaignChanges
		old, upd := map[string]any{}, map[string]any{}

		if name != nil && *name != before.Name {
			ch.Name, after.Name = name, *name
			old["name"], upd["name"] = before.Name, *name
		}
		if p.Description != nil && *p.Description != before.Description {
			ch.Description, after.Description = p.Description, *p.Description
			old["description"], upd["description"] = before.Description, *p.Description
		}
		if p.Instructions != nil && *p.Instructions != before.Instructions {
			ch.Instructions, after.Instructions = p.Instructions, *p.Instructions
			old["instructions"], upd["instructions"] = before.Instructions, *p.Instructions
		}
		frozen := before.Status == models.StatusClosed
		var refuse []string // settings a closed campaign keeps
		needTasks := false
		if p.Mode != nil && *p.Mode != before.Mode {
			ch.Mode, after.Mode = p.Mode, *p.Mode
			old["mode"], upd["mode"] = before.Mode, *p.Mode
			refuse = append(refuse, "mode")
			needTasks = true
		}
		oldRubric := storedRubric(before.Rubric)
		if rubric != nil {
			doc := models.MustJSON(*rubric)
			if !bytes.Equal(doc, models.MustJSON(oldRubric)) || before.Rubric.IsNull() {
				ch.Rubric, after.Rubric = doc, doc
				old["rubric"], upd["rubric"] = before.Rubric, doc
				refuse = append(refuse, "rubric")
				if !slices.Equal(rubric.Keys(), oldRubric.Keys()) {
					needTasks = true
				}
			}
		}
		if p.Status != nil && *p.Status != before.Status {
			if statusRank(*p.Status) < statusRank(before.Status) {
				return fmt.Errorf("%w: campaign %q is %s and a status only moves forward (draft → collecting → closed)",
					ErrConflict, before.Name, before.Status)
			}
			ch.Status, after.Status = p.Status, *p.Status
		}
		if needTasks {
			sum, err := tx.CampaignSummaryByID(ctx, id)
			if err != nil {
				return err
			}
			if sum.Tasks > 0 {
				what := "mode"
				if ch.Mode == nil {
					what = "rubric's criteria (their keys and order)"
				}
				return fmt.Errorf("%w: campaign %q has %d tasks: its %s can no longer change",
					ErrConflict, before.Name, sum.Tasks, what)
			}
		}
		// A mode change may make the stored thresholds or blend weights
		// meaningless (pairs to compare in a Likert campaign…): check them
		// again against the campaign as it will be, unless the patch
		// replaces them anyway.
		if ch.Mode != nil {
			if thresholds == nil {
				if _, err := s.validate(s.thresholds, "thresholds", &after, before.Thresholds); err != nil {
					return stale(err, after.Mode)
				}
			}
			if blendWeights == nil {
				if _, err := s.validate(s.blendWeights, "blend_weights", &after, before.BlendWeights); err != nil {
					return stale(err, after.Mode)
				}
			}
		}
		if thresholds != nil {
			doc, err := s.validate(s.thresholds, "thresholds", &after, thresholds)
			if err != nil {
				return err
			}
			if !sameJSON(doc, before.Thresholds) {
				ch.Thresholds, after.Thresholds = doc, doc
				refuse = append(refuse, "thresholds")
			}
		}
		if blendWeights != nil {
			doc, err := s.validate(s.blendWeights, "blend_weights", &after, blendWeights)
			if err != nil {
				return err
			}
			if !sameJSON(doc, before.BlendWeights) {
				ch.BlendWeights, after.BlendWeights = doc, doc
				refuse = append(refuse, "blend_weights")
			}
		}
		var oldIDs, newIDs []int64
		if p.Annotators != nil {
			if newIDs, err = resolveAnnotators(ctx, tx, *p.Annotators); err != nil {
				return err
			}
			if oldIDs, err = tx.CampaignAnnotatorIDs(ctx, id); err != nil {
				return err
			}
			if slices.Equal(oldIDs, newIDs) {
				newIDs = nil
				p.Annotators = nil
			} else {
				refuse = append(refuse, "annotators")
			}
		}
		if frozen && len(refuse) > 0 {
			return fmt.Errorf("%w: campaign %q is closed: only its name and description may change, not its %s",
				ErrConflict, before.Name, strings.Join(refuse, ", "))
		}

		if err := tx.UpdateCampaign(ctx, id, ch); err != nil {
			if errors.Is(err, models.ErrConflict) && ch.Name != nil {
				return fmt.Errorf("%w: a campaign named %q exists already", ErrConflict, *ch.Name)
			}
			return err
		}
		if p.Annotators != nil {
			if err := tx.SetCampaignAnnotators(ctx, id, newIDs); err != nil {
				return err
			}
		}
		actor := actorPtr(actorID)
		var entries []models.AuditEntry
		if len(upd) > 0 {
			entries = append(entries, models.AuditEntry{Action: AuditUpdate, Before: models.MustJSON(old), After: models.MustJSON(upd)})
		}
		if ch.Status != nil {
			entries = append(entries, models.AuditEntry{Action: AuditStatus,
				Before: models.MustJSON(before.Status), After: models.MustJSON(after.Status)})
		}
		if p.Annotators != nil {
			entries = append(entries, models.AuditEntry{Action: AuditAnnotators,
				Before: models.MustJSON(oldIDs), After: models.MustJSON(nonNil(newIDs))})
		}
		if ch.Thresholds != nil {
			entries = append(entries, models.AuditEntry{Action: AuditThresholds, Before: orNull(before.Thresholds), After: ch.Thresholds})
		}
		if ch.BlendWeights != nil {
			entries = append(entries, models.AuditEntry{Action: AuditBlendWeights, Before: orNull(before.BlendWeights), After: ch.BlendWeights})
		}
		for i := range entries {
			entries[i].ActorID, entries[i].CampaignID = actor, &id
			if err := tx.AddAudit(ctx, &entries[i]); err != nil {
				return err
			}
		}
		changed = len(entries) > 0
		return nil
	})
	if err != nil {
		return nil, wrapErr(err, "update campaign %d", id)
	}
	if changed {
		s.log.InfoContext(ctx, "campaign updated", "campaign_id", id, "by", actorID)
	}
	return s.Get(ctx, id)
}

// SetThresholds replaces the campaign's thresholds with doc (JSON null
// clears them) and records who changed them, before, after and when, in the
// same transaction. The thresholds validator, when configured, checks doc
// first.
func (s *Campaigns) SetThresholds(ctx context.Context, actorID, campaignID int64, doc models.JSON) error {
	if doc == nil {
		doc = models.JSON("null")
	}
	_, err := s.Update(ctx, actorID, campaignID, CampaignPatch{Thresholds: doc})
	return err
}

// SetBlendWeights replaces the campaign's blend weights with doc, audited
// like SetThresholds.
func (s *Campaigns) SetBlendWeights(ctx context.Context, actorID, campaignID int64, doc models.JSON) error {
	if doc == nil {
		doc = models.JSON("null")
	}
	_, err := s.Update(ctx, actorID, campaignID, CampaignPatch{BlendWeights: doc})
	return err
}

// AuditLog returns the campaign's audit entries, newest first, at most
// limit (1..MaxAuditLimit; 0 means 100).
func (s *Campaigns) AuditLog(ctx context.Context, campaignID int64, limit int) ([]AuditRecord, error) {
	if limit == 0 {
		limit = 100
	}
	if limit < 0 || limit > MaxAuditLimit {
		return nil, &ValidationError{What: "audit query", Problems: []Problem{{Where: "limit",
			Message: fmt.Sprintf("limit %d: want 1..%d", limit, MaxAuditLimit)}}}
	}
	if _, err := s.store.CampaignSummaryByID(ctx, campaignID); err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return nil, fmt.Errorf("%w: no campaign with id %d", ErrNotFound, campaignID)
		}
		return nil, fmt.Errorf("annotation: audit log of campaign %d: %w", campaignID, err)
	}
	entries, err := s.store.AuditLog(ctx, campaignID, limit)
	if err != nil {
		return nil, fmt.Errorf("annotation: audit log of campaign %d: %w", campaignID, err)
	}
	var ids []int64
	for _, e := range entries {
		if e.ActorID != nil && !slices.Contains(ids, *e.ActorID) {
			ids = append(ids, *e.ActorID)
		}
	}
	users, err := s.store.UsersByIDs(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("annotation: audit log of campaign %d: %w", campaignID, err)
	}
	byID := map[int64]UserRef{}
	for _, u := range users {
		byID[u.ID] = UserRef{ID: u.ID, Email: u.Email, Name: u.Name}
	}
	out := make([]AuditRecord, len(entries))
	for i, e := range entries {
		out[i].AuditEntry = e
		if e.ActorID != nil {
			if u, ok := byID[*e.ActorID]; ok {
				out[i].Actor = &u
			}
		}
	}
	return out, nil
}

// validate runs a document's validator, if any, and turns its error into a
// problem of the document.
func (s *Campaigns) validate(v DocumentValidator, field string, c *models.Campaign, doc models.JSON) (models.JSON, error) {
	if v == nil || doc.IsNull() {
		return doc, nil
	}
	out, err := v(c, doc)
	if err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			return nil, err
		}
		return nil, &ValidationError{What: "campaign", Problems: []Problem{{Where: field, Message: err.Error()}}}
	}
	if !json.Valid(out) {
		return nil, fmt.Errorf("annotation: the %s validator returned malformed JSON", field)
	}
	return compact(out), nil
}

func view(sum *models.CampaignSummary, users []models.User) *Campaign {
	c := &Campaign{
		ID: sum.ID, Name: sum.Name, Description: sum.Description, Mode: sum.Mode, Status: sum.Status,
		Rubric: storedRubric(sum.Rubric), Instructions: sum.Instructions, Annotators: []UserRef{},
		Thresholds: orNull(sum.Thresholds), BlendWeights: orNull(sum.BlendWeights),
		Counts: sum.CampaignCounts, CreatedBy: sum.CreatedBy, CreatedAt: sum.CreatedAt, UpdatedAt: sum.UpdatedAt,
	}
	for _, u := range users {
		c.Annotators = append(c.Annotators, UserRef{ID: u.ID, Email: u.Email, Name: u.Name})
	}
	return c
}

// storedRubric decodes a stored rubric. A campaign stored without one (the
// demo loader's, or a row written by hand) uses DefaultRubric; so does one
// whose document no longer decodes, which the log cannot fix either.
func storedRubric(doc models.JSON) Rubric {
	if doc.IsNull() {
		return DefaultRubric()
	}
	var r Rubric
	if err := json.Unmarshal(doc, &r); err != nil || len(r.Criteria) == 0 {
		return DefaultRubric()
	}
	return r
}

// resolveAnnotators turns user IDs and emails into the distinct IDs of
// enabled annotator accounts, sorted. Every other reference (an admin, a
// lead, a disabled account, one that does not exist) gets the same problem
// from one read, so that a lead setting annotators cannot enumerate the
// accounts, their roles or their state.
func resolveAnnotators(ctx context.Context, tx *models.Store, refs []string) ([]int64, error) {
	var ps Problems
	var ids []int64
	var emails []string
	for _, ref := range refs {
		ref = strings.TrimSpace(ref)
		if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
			ids = append(ids, id)
		} else if ref != "" {
			emails = append(emails, ref)
		}
	}
	found, err := tx.EnabledAnnotators(ctx, ids, emails)
	if err != nil {
		return nil, err
	}
	var out []int64
	for i, ref := range refs {
		where := fmt.Sprintf("annotators[%d]", i)
		ref = strings.TrimSpace(ref)
		if ref == "" {
			ps.Add(where, "empty: want a user id or email")
			continue
		}
		id, perr := strconv.ParseInt(ref, 10, 64)
		j := slices.IndexFunc(found, func(u models.User) bool {
			if perr == nil {
				return u.ID == id
			}
			return strings.EqualFold(u.Email, ref)
		})
		if j < 0 {
			ps.Add(where, "no enabled annotator account with id or email %q", ref)
			continue
		}
		if !slices.Contains(out, found[j].ID) {
			out = append(out, found[j].ID)
		}
	}
	if err := ps.Err("campaign"); err != nil {
		return nil, err
	}
	slices.Sort(out)
	return nonNil(out), nil
}

func checkName(ps *Problems, name string) string {
	name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(name); {
	case !utf8.ValidString(name):
		ps.Add("name", "not valid UTF-8")
	case n == 0:
		ps.Add("name", "a campaign needs a name")
	case n > MaxCampaignName:
		ps.Add("name", "%d characters, more than the limit of %d", n, MaxCampaignName)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		ps.Add("name", "must be one line without control characters")
	}
	return name
}

func checkDescription(ps *Problems, d string) {
	switch n := utf8.RuneCountInString(d); {
	case !utf8.ValidString(d):
		ps.Add("description", "not valid UTF-8")
	case n > MaxCampaignDescription:
		ps.Add("description", "%d characters, more than the limit of %d", n, MaxCampaignDescription)
	}
}

func checkMode(ps *Problems, m models.CampaignMode) {
	if m != models.ModeLikert && m != models.ModePairwise {
		ps.Add("mode", "mode %q: want likert or pairwise", m)
	}
}

// checkDocument checks that a thresholds or blend-weights document is a
// JSON object or null within the size limit and returns it compacted; nil
// stays nil (no change).
func checkDocument(ps *Problems, field string, doc models.JSON) models.JSON {
	if doc == nil {
		return nil
	}
	if len(doc) > MaxDocumentBytes {
		ps.Add(field, "document is %d bytes, more than the limit of %d", len(doc), MaxDocumentBytes)
		return nil
	}
	if doc.IsNull() {
		return models.JSON("null")
	}
	trimmed := bytes.TrimSpace(doc)
	if !json.Valid(trimmed) {
		var v any
		ps.Add(field, "%s", jsonProblem(json.Unmarshal(trimmed, &v)))
		return nil
	}
	if trimmed[0] != '{' {
		ps.Add(field, "want a JSON object or null")
		return nil
	}
	return compact(trimmed)
}

func compact(doc []byte) models.JSON {
	var b bytes.Buffer
	if err := json.Compact(&b, doc); err != nil {
		return models.JSON(doc)
	}
	return models.JSON(b.Bytes())
}

// sameJSON compares two documents ignoring insignificant white space.
func sameJSON(a, b models.JSON) bool {
	if a.IsNull() || b.IsNull() {
		return a.IsNull() == b.IsNull()
	}
	return bytes.Equal(compact(a), compact(b))
}

func statusRank(s models.CampaignStatus) int {
	switch s {
	case models.StatusDraft:
		return 0
	case models.StatusCollecting:
		return 1
	case models.StatusClosed:
		return 2
	}
	return -1
}

// stale rewords the problems of a stored document that a mode change
// would invalidate, so that the lead knows to send a new one with the mode.
func stale(err error, mode models.CampaignMode) error {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	out := &ValidationError{What: "campaign", More: ve.More}
	for _, p := range ve.Problems {
		out.Problems = append(out.Problems, Problem{Where: p.Where,
			Message: fmt.Sprintf("the stored value does not fit mode %s (send a new one with the mode): %s", mode, p.Message)})
	}
	return out
}

// addProblems copies the problems of a *ValidationError into ps.
func addProblems(ps *Problems, err error) {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		ps.Add("", "%v", err)
		return
	}
	for _, p := range ve.Problems {
		ps.Add(p.Where, "%s", p.Message)
	}
	ps.more += ve.More
}

func actorPtr(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func orNull(j models.JSON) models.JSON {
	if len(j) == 0 {
		return models.JSON("null")
	}
	return j
}

func nonNil(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}

// wrapErr adds context to a service error, keeping the package's sentinel
// errors and validation errors as they are: their messages already say
// what is wrong, and the HTTP layer shows them.
func wrapErr(err error, format string, args ...any) error {
	var ve *ValidationError
	if errors.As(err, &ve) || errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid) {
		return err
	}
	if errors.Is(err, models.ErrInvalid) {
		return fmt.Errorf("%w: %s: %w", ErrInvalid, fmt.Sprintf(format, args...), err)
	}
	return fmt.Errorf("annotation: "+format+": %w", append(args, err)...)
}
