package annotation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	"capeval/models"
)

// Estimated annotator time per rating, for the preview's hours. Likert
// costs per criterion (the default rubric's 4 criteria ≈ 20 s); a pairwise
// choice reads two captions and answers once (≈ 12 s). Rough figures from
// caption-rating studies; the preview says they are estimates.
const (
	LikertSecondsPerCriterion = 5.0
	PairwiseSecondsPerRating  = 12.0
)

// AuditSelection is the audit action of a committed selection: Before holds
// the task counts found, After the seed, the effective thresholds, the
// fingerprint and the counts.
const AuditSelection = "campaign.selection"

// Preview limits.
const (
	DefaultExamples = 10
	MaxExamples     = 100
	// MaxSelectionTasks bounds one selection's items: all 1,225 pairs of
	// 50 captioners over 5,000 images would be 6 million tasks, more than
	// any annotator team rates and more than a preview should hold in
	// memory (about 2 KiB per planned task).
	MaxSelectionTasks = 300_000
)

// maxSelectionTasks is MaxSelectionTasks, lowered by tests.
var maxSelectionTasks = MaxSelectionTasks

// selectionReader is what planning reads; *models.Store (and so a
// transaction) has it all.
type selectionReader interface {
	CampaignByID(ctx context.Context, id int64) (*models.Campaign, error)
	Captioners(ctx context.Context, campaignID int64) ([]models.CaptionerSummary, error)
	Images(ctx context.Context, campaignID int64, withTags bool) ([]models.Image, error)
	Captions(ctx context.Context, captionerIDs []int64) ([]models.Caption, error)
	EachCaptionScore(ctx context.Context, captionerIDs []int64, metrics []string, fn func(models.CaptionScoreRow) error) error
	References(ctx context.Context, campaignID int64) ([]models.Reference, error)
	CampaignTasks(ctx context.Context, campaignID int64, now time.Time) ([]models.TaskWithCaptions, error)
}

// SelectionStore is what Selection needs from the database.
type SelectionStore interface {
	selectionReader
	InTx(ctx context.Context, fn func(tx *models.Store) error) error
}

// ThresholdsSetter stores a campaign's thresholds with their audit entry
// (the campaign service, *Campaigns).
type ThresholdsSetter interface {
	SetThresholds(ctx context.Context, actorID, campaignID int64, doc models.JSON) error
	Get(ctx context.Context, id int64) (*Campaign, error)
}

// Selection pre-ranks a campaign's captioners by their automatic scores and
// turns the lead's thresholds into the human task queue: Preview shows
// what would be queued, Commit creates exactly that.
//
// Everything random comes from the thresholds' seed (default: the campaign
// ID), through one stream per purpose (see stream), so the same seed, data
// and thresholds give the same tasks in the same queue order.
type Selection struct {
	store     SelectionStore
	campaigns ThresholdsSetter
	log       *slog.Logger
	now       func() time.Time
	// beforeDelete, when set, runs inside Commit between the plan (which
	// read the campaign's tasks) and the delete of the untouched ones:
	// tests take a lease or give a rating there.
	beforeDelete func(ctx context.Context)
}

// NewSelection returns the selection service. campaigns stores thresholds
// (audited); it may be nil when SetThresholds is not used.
func NewSelection(store SelectionStore, campaigns ThresholdsSetter, log *slog.Logger) *Selection {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Selection{store: store, campaigns: campaigns, log: log, now: time.Now}
}

// PreviewOptions configure Preview.
type PreviewOptions struct {
	// Thresholds, when not null, are previewed instead of the stored ones
	// (a draft the lead has not saved). Commit always uses the stored ones.
	Thresholds models.JSON
	// Replace previews a commit that replaces the untouched tasks.
	Replace bool
	// Examples is how many queued tasks to show (0: DefaultExamples).
	Examples int
}

// CommitOptions configure Commit.
type CommitOptions struct {
	// Replace deletes the campaign's untouched tasks (no rating, no live
	// lease) before queueing; without it a campaign with tasks is refused.
	// Tasks with ratings are kept, and a new item whose captions a kept
	// task already shows is not queued again.
	Replace bool
	// Fingerprint, when set, must equal the preview's: the commit is
	// refused if the data or thresholds changed since.
	Fingerprint string
	// Thresholds, when not nil, are validated and stored (audited) in the
	// commit's transaction, then committed: a refused commit leaves the
	// stored thresholds as they were.
	Thresholds models.JSON
}

// SelectionPreview is what a commit would queue.
type SelectionPreview struct {
	CampaignID int64               `json:"campaign_id"`
	Mode       models.CampaignMode `json:"mode"`
	// Thresholds are the effective thresholds, defaults filled in.
	Thresholds Thresholds      `json:"thresholds"`
	Seed       int64           `json:"seed"`
	Captioners []CaptionerRank `json:"captioners"`
	Counts     SelectionCounts `json:"counts"`
	// SecondsPerRating and EstimatedHours estimate the annotators' time
	// (RatingsNeeded × SecondsPerRating).
	SecondsPerRating float64         `json:"seconds_per_rating"`
	EstimatedHours   float64         `json:"estimated_hours"`
	Examples         []QueuedExample `json:"examples"`
	Warnings         []string        `json:"warnings"`
	// Fingerprint identifies the planned tasks; pass it to Commit.
	Fingerprint string `json:"fingerprint"`
}

// CaptionerRank is one captioner in the pre-ranking.
type CaptionerRank struct {
	ID       int64              `json:"id"`
	Name     string             `json:"name"`
	Version  string             `json:"version"`
	Captions int                `json:"captions"`
	Scores   map[string]float64 `json:"scores"`
	// Combined is the ranking score (the weighted sum of normalized
	// metrics); nil when a ranking metric is missing.
	Combined *float64 `json:"combined"`
	// Rank is 1 for the best; 0 when the captioner could not be ranked.
	Rank   int    `json:"rank"`
	Kept   bool   `json:"kept"`
	Reason string `json:"reason,omitempty"`
	// Items counts the captions of this captioner that the queued tasks
	// stand for.
	Items int `json:"items"`
}

// SelectionCounts are the preview's totals.
type SelectionCounts struct {
	CaptionersKept    int `json:"captioners_kept"`
	CaptionersDropped int `json:"captioners_dropped"`
	Images            int `json:"images"`
	Items             int `json:"items"`
	GoldItems         int `json:"gold_items"`
	Tasks             int `json:"tasks"`
	// CaptionsLinked is how many captions the items stand for;
	// SharedRatings how many of them share the rating of another caption
	// with the same text of the same image.
	CaptionsLinked        int `json:"captions_linked"`
	SharedRatings         int `json:"shared_ratings"`
	IdenticalPairsSkipped int `json:"identical_pairs_skipped"`
	CaptionsWithoutScores int `json:"captions_without_scores"`
	RatingsNeeded         int `json:"ratings_needed"`
	// ExistingTasks are the campaign's tasks from earlier selections now
	// (a lead's gold tasks and imported judgments are never replaced and
	// not counted); with Replace, the
	// touched ones are kept (KeptTasks) and the others deleted
	// (ReplacedTasks). AlreadyQueued counts items a kept task stands for
	// already (the same texts of the same image, whichever captions it
	// shows); LinkedToKept counts the captions of such items that a kept
	// task did not stand for yet and is linked to, so that its ratings
	// count for them too.
	ExistingTasks int `json:"existing_tasks"`
	KeptTasks     int `json:"kept_tasks"`
	ReplacedTasks int `json:"replaced_tasks"`
	AlreadyQueued int `json:"already_queued"`
	LinkedToKept  int `json:"linked_to_kept"`
}

// QueuedExample is one task as the preview shows it to the lead.
type QueuedExample struct {
	Position        int             `json:"position"`
	Kind            models.TaskKind `json:"kind"`
	ImageID         int64           `json:"image_id"`
	ImageExternalID string          `json:"image_external_id"`
	Gold            bool            `json:"gold"`
	GoldAnswer      models.JSON     `json:"gold_answer,omitempty"`
	A               ExampleSide     `json:"a"`
	B               *ExampleSide    `json:"b,omitempty"`
}

// ExampleSide is one shown caption and who wrote it (leads only); a gold
// item's side shows a text of its gold answer and has CaptionID 0.
type ExampleSide struct {
	CaptionID  int64    `json:"caption_id"`
	Text       string   `json:"text"`
	Captioners []string `json:"captioners"`
}

// SelectionResult is what Commit did.
type SelectionResult struct {
	SelectionPreview
	Created int   `json:"created"`
	Deleted int64 `json:"deleted"`
}

// SetThresholds validates and stores the campaign's thresholds through the
// campaign service (audited: who, before, after, when) and returns them as
// stored.
func (s *Selection) SetThresholds(ctx context.Context, actorID, campaignID int64, doc models.JSON) (models.JSON, error) {
	if s.campaigns == nil {
		return nil, errors.New("annotation: selection built without the campaign service")
	}
	if doc == nil {
		doc = models.JSON("null")
	}
	if !doc.IsNull() {
		c, err := s.store.CampaignByID(ctx, campaignID)
		if errors.Is(err, models.ErrNotFound) {
			return nil, fmt.Errorf("%w: no campaign with id %d", ErrNotFound, campaignID)
		}
		if err != nil {
			return nil, fmt.Errorf("annotation: thresholds of campaign %d: %w", campaignID, err)
		}
		// Checked here too, so the problems are listed even where the
		// campaign service was built without the validator.
		if _, err := ValidateThresholds(c, doc); err != nil {
			return nil, err
		}
	}
	if err := s.campaigns.SetThresholds(ctx, actorID, campaignID, doc); err != nil {
		return nil, err
	}
	c, err := s.campaigns.Get(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	return c.Thresholds, nil
}

// Preview plans the selection of the campaign and returns what Commit
// would create; it writes nothing.
func (s *Selection) Preview(ctx context.Context, campaignID int64, opts PreviewOptions) (*SelectionPreview, error) {
	if opts.Examples < 0 || opts.Examples > MaxExamples {
		return nil, &ValidationError{What: "preview", Problems: []Problem{{Where: "examples",
			Message: fmt.Sprintf("%d: want 0 to %d", opts.Examples, MaxExamples)}}}
	}
	if opts.Examples == 0 {
		opts.Examples = DefaultExamples
	}
	camp, err := campaignOf(ctx, s.store, campaignID, false)
	if err != nil {
		return nil, err
	}
	doc := camp.Thresholds
	if opts.Thresholds != nil && !opts.Thresholds.IsNull() {
		doc = opts.Thresholds
	}
	t, err := ParseThresholds(doc, camp.Mode, camp.ID)
	if err != nil {
		return nil, err
	}
	p, err := planSelection(ctx, s.store, camp, t, opts.Replace, s.now())
	if err != nil {
		return nil, err
	}
	return p.preview(opts.Examples), nil
}

// Commit plans the selection from the stored thresholds and creates its
// tasks and their caption links in one transaction, with an audit entry:
// exactly what Preview showed for the same data and thresholds. A campaign
// that has tasks is refused (ErrConflict) unless opts.Replace; a closed
// campaign always is. With opts.Thresholds the commit stores them first, in
// the same transaction.
func (s *Selection) Commit(ctx context.Context, actorID, campaignID int64, opts CommitOptions) (*SelectionResult, error) {
	now := s.now()
	var res *SelectionResult
	err := s.store.InTx(ctx, func(tx *models.Store) error {
		camp, err := campaignOf(ctx, tx, campaignID, true)
		if err != nil {
			return err
		}
		if camp.Status == models.StatusClosed {
			return fmt.Errorf("%w: campaign %q is closed: its queue can no longer change", ErrConflict, camp.Name)
		}
		if opts.Thresholds != nil {
			// Through the campaign service's rules and audit, on this
			// transaction: stored only if the commit is.
			if err := NewCampaigns(tx, s.log).SetThresholds(ctx, actorID, camp.ID, opts.Thresholds); err != nil {
				return err
			}
			if camp, err = campaignOf(ctx, tx, campaignID, false); err != nil {
				return err
			}
		}
		t, err := ParseThresholds(camp.Thresholds, camp.Mode, camp.ID)
		if err != nil {
			return err
		}
		if opts.Replace {
			// Nothing may touch a task between the plan's read of which are
			// touched and the delete of the others.
			if err := tx.LockCampaignTasks(ctx, camp.ID); err != nil {
				return err
			}
		}
		p, err := planSelection(ctx, tx, camp, t, opts.Replace, now)
		if err != nil {
			return err
		}
		c := p.counts
		if c.ExistingTasks > 0 && !opts.Replace {
			return fmt.Errorf("%w: campaign %q has %d tasks already: commit with replace to replace the %d untouched ones (tasks with ratings are kept)",
				ErrConflict, camp.Name, c.ExistingTasks, c.ExistingTasks-c.KeptTasks)
		}
		if opts.Fingerprint != "" && opts.Fingerprint != p.fingerprint {
			return fmt.Errorf("%w: the selection changed since the preview (fingerprint %s, now %s): preview again",
				ErrConflict, opts.Fingerprint, p.fingerprint)
		}
		if len(p.tasks) == 0 && len(p.keptLinks) == 0 {
			return &ValidationError{What: "selection", Problems: []Problem{{Where: "thresholds",
				Message: "nothing to queue: " + p.emptyReason()}}}
		}
		if s.beforeDelete != nil {
			s.beforeDelete(ctx)
		}
		var deleted int64
		if opts.Replace && len(p.replaced) > 0 {
			if deleted, err = tx.DeleteUntouchedTasks(ctx, camp.ID, p.replaced, now); err != nil {
				return err
			}
			// Only the planned tasks, and only while untouched: a task
			// leased or rated since the plan is kept, and the plan, which
			// did not know it, is not committed.
			if deleted != int64(len(p.replaced)) {
				return fmt.Errorf("%w: %d of the %d untouched tasks of campaign %q were leased or rated while the selection was committed: preview again",
					ErrConflict, int64(len(p.replaced))-deleted, len(p.replaced), camp.Name)
			}
		}
		tasks, links := p.rows()
		if err := tx.InsertTasks(ctx, tasks, links); err != nil {
			return err
		}
		if err := tx.LinkTaskCaptions(ctx, p.keptLinks); err != nil {
			return err
		}
		pv := p.preview(DefaultExamples)
		after := map[string]any{"seed": p.seed, "thresholds": p.t, "fingerprint": p.fingerprint,
			"counts": pv.Counts, "replace": opts.Replace, "deleted": deleted}
		before := map[string]any{"tasks": c.ExistingTasks, "touched": c.KeptTasks}
		if err := tx.AddAudit(ctx, &models.AuditEntry{ActorID: actorPtr(actorID), CampaignID: &camp.ID,
			Action: AuditSelection, Before: models.MustJSON(before), After: models.MustJSON(after)}); err != nil {
			return err
		}
		res = &SelectionResult{SelectionPreview: *pv, Created: len(tasks), Deleted: deleted}
		return nil
	})
	if err != nil {
		return nil, wrapErr(err, "commit the selection of campaign %d", campaignID)
	}
	s.log.InfoContext(ctx, "selection committed", "campaign_id", campaignID, "tasks", res.Created, "deleted", res.Deleted,
		"seed", res.Seed, "by", actorID)
	return res, nil
}

// campaignOf reads (or, inside a commit, locks) the campaign.
func campaignOf(ctx context.Context, r selectionReader, id int64, lock bool) (*models.Campaign, error) {
	var c *models.Campaign
	var err error
	if tx, ok := r.(*models.Store); ok && lock {
		c, err = tx.LockCampaign(ctx, id)
	} else {
		c, err = r.CampaignByID(ctx, id)
	}
	if errors.Is(err, models.ErrNotFound) {
		return nil, fmt.Errorf("%w: no campaign with id %d", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("annotation: campaign %d: %w", id, err)
	}
	return c, nil
}

// normText is the form in which two captions of an image count as the same
// text: lower case, white space runs as one space, trimmed.
func normText(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// plan is a computed selection.
type plan struct {
	camp        *models.Campaign
	t           Thresholds
	seed        int64
	ranks       []CaptionerRank
	images      []models.Image
	imageIdx    map[int64]int
	capNames    map[int64]string // captioner ID → name@version
	tasks       []*planTask
	counts      SelectionCounts
	warnings    []string
	secs        float64
	fingerprint string
	// basePosition is the first queue position of the new tasks: 1, or
	// after the last kept task.
	basePosition int
	// keptLinks are the links a replace adds to kept tasks, replaced the
	// untouched tasks it deletes (see applyExisting).
	keptLinks []models.TaskCaption
	replaced  []int64
}

// planSide is one side of a task: the shown caption and every caption the
// rating stands for.
type planSide struct {
	shown      models.Caption
	captions   []int64 // IDs, in the order linked (rows sorts them)
	captioners []int64 // captioner IDs of the linked captions, likewise
}

func (sd *planSide) link(c models.Caption) {
	if !slices.Contains(sd.captions, c.ID) {
		sd.captions = append(sd.captions, c.ID)
		sd.captioners = append(sd.captioners, c.CaptionerID)
	}
}

type planTask struct {
	kind     models.TaskKind
	image    int64
	a, b     *planSide
	gold     models.JSON // nil: not gold
	goldText [2]string
	position int
}

// planSelection computes the selection of camp under t: the deterministic
// core of Preview and Commit.
func planSelection(ctx context.Context, r selectionReader, camp *models.Campaign, t Thresholds, replace bool, now time.Time) (*plan, error) {
	p := &plan{camp: camp, t: t, seed: *t.Seed, capNames: map[int64]string{}, basePosition: 1}
	p.secs = PairwiseSecondsPerRating
	if camp.Mode == models.ModeLikert {
		p.secs = LikertSecondsPerCriterion * float64(len(storedRubric(camp.Rubric).Criteria))
	}
	caps, err := r.Captioners(ctx, camp.ID)
	if err != nil {
		return nil, fmt.Errorf("annotation: selection of campaign %d: %w", camp.ID, err)
	}
	var kept []models.CaptionerSummary
	p.ranks, kept = rankCaptioners(caps, t)
	for _, c := range caps {
		p.capNames[c.ID] = c.Name + "@" + c.Version
		if c.Version == "" {
			p.capNames[c.ID] = c.Name
		}
	}
	if p.images, err = r.Images(ctx, camp.ID, true); err != nil {
		return nil, fmt.Errorf("annotation: selection of campaign %d: %w", camp.ID, err)
	}
	p.imageIdx = make(map[int64]int, len(p.images))
	for i, im := range p.images {
		p.imageIdx[im.ID] = i
	}
	keptIDs := make([]int64, len(kept))
	for i, c := range kept {
		keptIDs[i] = c.ID
	}
	var captions []models.Caption
	if len(kept) > 0 {
		if captions, err = r.Captions(ctx, keptIDs); err != nil {
			return nil, fmt.Errorf("annotation: selection of campaign %d: %w", camp.ID, err)
		}
	}
	// One seeded order of all images: sampling takes images in this order,
	// so captioners that captioned the same images get the same sample
	// (paired comparisons), and a larger count extends a smaller one.
	order := make([]int, len(p.images))
	for i := range order {
		order[i] = i
	}
	newStream(p.seed, "images").shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	rankOf := make([]int, len(p.images)) // image index → place in the seeded order
	for pos, i := range order {
		rankOf[i] = pos
	}
	sel := &selector{p: p, rankOf: rankOf, strata: p.strata()}
	if t.Selection == SelectPerImage {
		err = sel.perImage(ctx, r, kept, captions)
	} else {
		sel.perCaptioner(kept, captions)
	}
	if err != nil {
		return nil, err
	}
	if sel.overflow {
		return nil, &ValidationError{What: "thresholds", Problems: []Problem{{Where: "thresholds",
			Message: fmt.Sprintf("the selection would queue more than %d items: lower images.count or top_k, or compare adjacent pairs only",
				maxSelectionTasks)}}}
	}
	if err := p.applyExisting(ctx, r, replace, now); err != nil {
		return nil, err
	}
	if err := p.addGold(ctx, r); err != nil {
		return nil, err
	}
	p.order()
	p.count()
	p.fingerprint = p.fingerprintOf(replace)
	return p, nil
}

// order mixes the queue with the seed (so gold items and images are spread
// through it) and numbers it after any kept task, and draws each pair's A
// and B sides.
func (p *plan) order() {
	ab := newStream(p.seed, "ab")
	for _, t := range p.tasks {
		if t.kind == models.TaskPair && t.gold == nil && ab.coin() {
			t.a, t.b = t.b, t.a
		}
	}
	newStream(p.seed, "queue").shuffle(len(p.tasks), func(i, j int) { p.tasks[i], p.tasks[j] = p.tasks[j], p.tasks[i] })
	for i, t := range p.tasks {
		t.position = p.basePosition + i
	}
}

func (p *plan) count() {
	c := &p.counts
	images := map[int64]bool{}
	items := map[int64]int{}
	for _, t := range p.tasks {
		if t.gold != nil {
			c.GoldItems++
			continue
		}
		c.Items++
		images[t.image] = true
		for _, sd := range []*planSide{t.a, t.b} {
			if sd == nil {
				continue
			}
			c.CaptionsLinked += len(sd.captions)
			for _, k := range sd.captioners {
				items[k]++
			}
		}
		if t.kind == models.TaskSingle {
			c.SharedRatings += len(t.a.captions) - 1
		}
	}
	c.Images = len(images)
	c.Tasks = len(p.tasks)
	c.RatingsNeeded = c.Tasks * p.t.RatingsPerItem
	for i := range p.ranks {
		if p.ranks[i].Kept {
			c.CaptionersKept++
		} else {
			c.CaptionersDropped++
		}
		p.ranks[i].Items = items[p.ranks[i].ID]
	}
}

func (p *plan) emptyReason() string {
	switch {
	case p.counts.CaptionersKept == 0:
		return "no captioner is kept (see each captioner's reason)"
	case p.camp.Mode == models.ModePairwise && p.t.Selection == SelectPerCaptioner && p.counts.CaptionersKept == 1:
		return "a pairwise selection needs at least 2 kept captioners, and 1 is kept"
	case p.counts.AlreadyQueued > 0:
		return "every item is already shown by a kept task"
	case p.counts.IdenticalPairsSkipped > 0:
		return "every pair compares identical texts"
	}
	return "the kept captioners have no captions to queue"
}

// rows returns the tasks to insert, in position order, and their links.
func (p *plan) rows() ([]models.Task, [][]models.TaskCaption) {
	tasks := make([]models.Task, len(p.tasks))
	links := make([][]models.TaskCaption, len(p.tasks))
	for i, t := range p.tasks {
		tasks[i] = models.Task{CampaignID: p.camp.ID, ImageID: t.image, Kind: t.kind,
			RatingsWanted: p.t.RatingsPerItem, IsGold: t.gold != nil, GoldAnswer: orNull(t.gold),
			Seed: p.seed, Position: t.position}
		if t.gold != nil {
			continue // a gold task shows its gold answer's texts, no caption
		}
		a := t.a.shown.ID
		tasks[i].CaptionID = &a
		if t.b != nil {
			b := t.b.shown.ID
			tasks[i].CaptionBID = &b
		}
		for side, sd := range []*planSide{t.a, t.b} {
			if sd == nil {
				continue
			}
			ids := slices.Clone(sd.captions)
			slices.Sort(ids)
			for _, id := range ids {
				links[i] = append(links[i], models.TaskCaption{CaptionID: id, Side: side})
			}
		}
	}
	return tasks, links
}

// fingerprintOf hashes what a commit would write (and delete).
func (p *plan) fingerprintOf(replace bool) string {
	h := sha256.New()
	fmt.Fprintf(h, "campaign %d seed %d replace %t delete %d\n", p.camp.ID, p.seed, replace && p.counts.ExistingTasks > 0,
		p.counts.ReplacedTasks)
	tasks, links := p.rows()
	for i, t := range tasks {
		a, b := t.Shown()
		fmt.Fprintf(h, "%d %s %d %d %d %d %t %s %v\n", t.Position, t.Kind, t.ImageID, a, b, t.RatingsWanted, t.IsGold, t.GoldAnswer, links[i])
	}
	fmt.Fprintf(h, "kept links %v\n", p.keptLinks)
	return hex.EncodeToString(h.Sum(nil))[:32]
}

func (p *plan) preview(examples int) *SelectionPreview {
	pv := &SelectionPreview{CampaignID: p.camp.ID, Mode: p.camp.Mode, Thresholds: p.t, Seed: p.seed,
		Captioners: p.ranks, Counts: p.counts, SecondsPerRating: p.secs,
		EstimatedHours: math.Round(float64(p.counts.RatingsNeeded)*p.secs/3600*100) / 100,
		Examples:       []QueuedExample{}, Warnings: p.warnings, Fingerprint: p.fingerprint}
	if pv.Captioners == nil {
		pv.Captioners = []CaptionerRank{}
	}
	if pv.Warnings == nil {
		pv.Warnings = []string{}
	}
	for _, t := range p.tasks[:min(examples, len(p.tasks))] {
		ex := QueuedExample{Position: t.position, Kind: t.kind, ImageID: t.image, Gold: t.gold != nil, GoldAnswer: t.gold}
		if i, ok := p.imageIdx[t.image]; ok {
			ex.ImageExternalID = p.images[i].ExternalID
		}
		ex.A = p.exampleSide(t.a, t.gold != nil, t.goldText[0])
		if t.b != nil {
			b := p.exampleSide(t.b, t.gold != nil, t.goldText[1])
			ex.B = &b
		}
		pv.Examples = append(pv.Examples, ex)
	}
	return pv
}

func (p *plan) exampleSide(sd *planSide, gold bool, goldText string) ExampleSide {
	if gold {
		return ExampleSide{CaptionID: sd.shown.ID, Text: goldText, Captioners: []string{}}
	}
	out := ExampleSide{CaptionID: sd.shown.ID, Text: sd.shown.Text, Captioners: []string{}}
	for _, k := range sd.captioners {
		if n := p.capNames[k]; !slices.Contains(out.Captioners, n) {
			out.Captioners = append(out.Captioners, n)
		}
	}
	return out
}
