package annotation

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
	SelectionCaptioners(ctx context.Context, campaignID int64) ([]models.SelectionCaptioner, error)
	SelectionImages(ctx context.Context, campaignID int64) ([]models.SelectionImage, error)
	SelectionCaptions(ctx context.Context, captionerIDs []int64) ([]models.Caption, error)
	SelectionCaptionScores(ctx context.Context, captionerIDs []int64, metrics []string, fn func(models.CaptionScoreRow) error) error
	SelectionReferences(ctx context.Context, campaignID int64) ([]models.Reference, error)
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
	// ExistingTasks are the campaign's tasks now; with Replace, the
	// touched ones are kept (KeptTasks) and the others deleted
	// (ReplacedTasks). AlreadyQueued counts items a kept task shows.
	ExistingTasks int `json:"existing_tasks"`
	KeptTasks     int `json:"kept_tasks"`
	ReplacedTasks int `json:"replaced_tasks"`
	AlreadyQueued int `json:"already_queued"`
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

// ExampleSide is one shown caption and who wrote it (leads only).
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
// campaign always is.
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
		t, err := ParseThresholds(camp.Thresholds, camp.Mode, camp.ID)
		if err != nil {
			return err
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
		if len(p.tasks) == 0 {
			return &ValidationError{What: "selection", Problems: []Problem{{Where: "thresholds",
				Message: "nothing to queue: " + p.emptyReason()}}}
		}
		var deleted int64
		if opts.Replace && c.ExistingTasks > 0 {
			if deleted, err = tx.DeleteUntouchedTasks(ctx, camp.ID, now); err != nil {
				return err
			}
		}
		tasks, links := p.rows()
		if err := tx.InsertTasks(ctx, tasks, links); err != nil {
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
	s.log.Info("selection committed", "campaign_id", campaignID, "tasks", res.Created, "deleted", res.Deleted,
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
	images      []models.SelectionImage
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

// rankCaptioners ranks every captioner by the combined score and decides
// which are kept; it returns the ranks (ranked ones first, by rank, then
// the unranked by ID) and the kept captioners in rank order.
func rankCaptioners(caps []models.SelectionCaptioner, t Thresholds) ([]CaptionerRank, []models.SelectionCaptioner) {
	w := t.Rank.weights()
	metrics := sortedKeys(w)
	var ranked, unranked []int
	missing := map[int][]string{}
	for i, c := range caps {
		for _, m := range metrics {
			if _, ok := c.Scores[m]; !ok {
				missing[i] = append(missing[i], m)
			}
		}
		if len(missing[i]) == 0 {
			ranked = append(ranked, i)
		} else {
			unranked = append(unranked, i)
		}
	}
	// Normalized across the captioners that have the scores, before any is
	// dropped by a minimum: a minimum never moves the others' combined
	// scores.
	combined := make([]float64, len(caps))
	for _, m := range metrics {
		vals := make([]float64, len(ranked))
		for j, i := range ranked {
			vals[j] = caps[i].Scores[m]
		}
		norm := normalizer(vals, t.Rank.Normalize)
		for j, i := range ranked {
			combined[i] += w[m] * norm(vals[j])
		}
	}
	slices.SortStableFunc(ranked, func(a, b int) int {
		if c := cmp.Compare(combined[b], combined[a]); c != 0 {
			return c
		}
		if c := cmp.Compare(caps[a].Name, caps[b].Name); c != 0 {
			return c
		}
		if c := cmp.Compare(caps[a].Version, caps[b].Version); c != 0 {
			return c
		}
		return cmp.Compare(caps[a].ID, caps[b].ID)
	})
	var out []CaptionerRank
	var kept []models.SelectionCaptioner
	mk := func(i int) CaptionerRank {
		c := caps[i]
		return CaptionerRank{ID: c.ID, Name: c.Name, Version: c.Version, Captions: c.Captions, Scores: c.Scores}
	}
	for r, i := range ranked {
		cr := mk(i)
		v := combined[i]
		cr.Combined, cr.Rank = &v, r+1
		var below []string
		for _, m := range sortedKeys(t.MinScores) {
			got, ok := caps[i].Scores[m]
			switch {
			case !ok:
				below = append(below, fmt.Sprintf("no %s score to compare with the minimum %g", m, t.MinScores[m]))
			case got < t.MinScores[m]:
				below = append(below, fmt.Sprintf("%s %.4g below the minimum %g", m, got, t.MinScores[m]))
			}
		}
		switch {
		case len(below) > 0:
			cr.Reason = strings.Join(below, "; ")
		case t.TopK > 0 && len(kept) >= t.TopK:
			cr.Reason = fmt.Sprintf("outside the top %d", t.TopK)
		case caps[i].Captions == 0:
			cr.Reason = "no captions"
		default:
			cr.Kept = true
			kept = append(kept, caps[i])
		}
		out = append(out, cr)
	}
	for _, i := range unranked {
		cr := mk(i)
		cr.Reason = "no " + strings.Join(missing[i], ", ") + " score (run auto-eval)"
		out = append(out, cr)
	}
	return out, kept
}

// normalizer returns the map of a metric's values to their normalized form.
func normalizer(vals []float64, how string) func(float64) float64 {
	if len(vals) == 0 {
		return func(float64) float64 { return 0 }
	}
	if how == NormalizeZScore {
		var sum float64
		for _, v := range vals {
			sum += v
		}
		mean := sum / float64(len(vals))
		var ss float64
		for _, v := range vals {
			ss += (v - mean) * (v - mean)
		}
		sd := math.Sqrt(ss / float64(len(vals)))
		if sd == 0 {
			return func(float64) float64 { return 0 }
		}
		return func(v float64) float64 { return (v - mean) / sd }
	}
	lo, hi := slices.Min(vals), slices.Max(vals)
	if hi == lo {
		return func(float64) float64 { return 0 }
	}
	return func(v float64) float64 { return (v - lo) / (hi - lo) }
}

// planSelection computes the selection of camp under t: the deterministic
// core of Preview and Commit.
func planSelection(ctx context.Context, r selectionReader, camp *models.Campaign, t Thresholds, replace bool, now time.Time) (*plan, error) {
	p := &plan{camp: camp, t: t, seed: *t.Seed, capNames: map[int64]string{}, basePosition: 1}
	p.secs = PairwiseSecondsPerRating
	if camp.Mode == models.ModeLikert {
		p.secs = LikertSecondsPerCriterion * float64(len(storedRubric(camp.Rubric).Criteria))
	}
	caps, err := r.SelectionCaptioners(ctx, camp.ID)
	if err != nil {
		return nil, fmt.Errorf("annotation: selection of campaign %d: %w", camp.ID, err)
	}
	var kept []models.SelectionCaptioner
	p.ranks, kept = rankCaptioners(caps, t)
	for _, c := range caps {
		p.capNames[c.ID] = c.Name + "@" + c.Version
		if c.Version == "" {
			p.capNames[c.ID] = c.Name
		}
	}
	if p.images, err = r.SelectionImages(ctx, camp.ID); err != nil {
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
		if captions, err = r.SelectionCaptions(ctx, keptIDs); err != nil {
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
	if err := p.addGold(ctx, r, captions); err != nil {
		return nil, err
	}
	p.order()
	p.count()
	p.fingerprint = p.fingerprintOf(replace)
	return p, nil
}

// strata returns each image's stratum under stratified sampling: its first
// tag (in sorted order) with the prefix, "" for none.
func (p *plan) strata() []string {
	if p.t.Images.Sampling != SampleStratified {
		return nil
	}
	out := make([]string, len(p.images))
	for i, im := range p.images {
		var tags []string
		if !im.Tags.IsNull() && json.Unmarshal(im.Tags, &tags) == nil {
			slices.Sort(tags)
			for _, tag := range tags {
				if strings.HasPrefix(tag, p.t.Images.TagPrefix) {
					out[i] = tag
					break
				}
			}
		}
	}
	return out
}

// selector builds the regular tasks.
type selector struct {
	p      *plan
	rankOf []int
	strata []string
	// groups holds one side per (image, normalized text).
	groups map[groupKey]*planSide
	pairs  map[pairKey]*planTask
	// overflow: MaxSelectionTasks was reached and the rest ignored.
	overflow bool
}

type groupKey struct {
	image int64
	text  string
}

type pairKey struct {
	image int64
	a, b  *planSide
}

func (s *selector) group(c models.Caption) *planSide {
	if s.groups == nil {
		s.groups = map[groupKey]*planSide{}
	}
	k := groupKey{c.ImageID, normText(c.Text)}
	g := s.groups[k]
	if g == nil {
		g = &planSide{shown: c}
		s.groups[k] = g
	}
	return g
}

// sample returns count images of cands (image indices in the seeded
// order): the first ones, or under stratified sampling the first ones of
// each stratum in numbers proportional to the strata's sizes (largest
// remainder; ties to the stratum that sorts first). The result is in the
// seeded order.
func (s *selector) sample(cands []int, count int) []int {
	if count == 0 || count >= len(cands) {
		return cands
	}
	if s.strata == nil {
		return cands[:count]
	}
	byStratum := map[string][]int{}
	var names []string
	for _, i := range cands {
		st := s.strata[i]
		if byStratum[st] == nil {
			names = append(names, st)
		}
		byStratum[st] = append(byStratum[st], i)
	}
	slices.Sort(names)
	quota := make(map[string]int, len(names))
	type rem struct {
		name string
		frac float64
	}
	var rems []rem
	given := 0
	for _, n := range names {
		exact := float64(count) * float64(len(byStratum[n])) / float64(len(cands))
		q := int(math.Floor(exact))
		quota[n] = q
		given += q
		rems = append(rems, rem{n, exact - float64(q)})
	}
	slices.SortStableFunc(rems, func(a, b rem) int { return cmp.Compare(b.frac, a.frac) })
	for i := 0; given < count; i++ {
		quota[rems[i%len(rems)].name]++
		given++
	}
	var out []int
	for _, n := range names {
		out = append(out, byStratum[n][:min(quota[n], len(byStratum[n]))]...)
	}
	slices.SortFunc(out, func(a, b int) int { return cmp.Compare(s.rankOf[a], s.rankOf[b]) })
	return out
}

// perCaptioner samples images per kept captioner and queues their
// captions: one task per distinct text of an image (Likert), or one per
// pair of captioners and image (pairwise).
func (s *selector) perCaptioner(kept []models.SelectionCaptioner, captions []models.Caption) {
	p := s.p
	byCaptioner := map[int64]map[int]models.Caption{} // captioner → image index → caption
	for _, c := range captions {
		i, ok := p.imageIdx[c.ImageID]
		if !ok {
			continue
		}
		if byCaptioner[c.CaptionerID] == nil {
			byCaptioner[c.CaptionerID] = map[int]models.Caption{}
		}
		byCaptioner[c.CaptionerID][i] = c
	}
	samples := make([][]int, len(kept))
	for k, c := range kept {
		var cands []int
		for i := range byCaptioner[c.ID] {
			cands = append(cands, i)
		}
		slices.SortFunc(cands, func(a, b int) int { return cmp.Compare(s.rankOf[a], s.rankOf[b]) })
		samples[k] = s.sample(cands, p.t.Images.Count)
		if n := p.t.Images.Count; n > 0 && len(cands) < n {
			p.warnings = append(p.warnings, fmt.Sprintf("captioner %s has captions of %d images, fewer than the %d asked for: all are queued",
				p.capNames[c.ID], len(cands), n))
		}
	}
	if p.camp.Mode == models.ModeLikert {
		for k, c := range kept {
			for _, i := range samples[k] {
				s.single(byCaptioner[c.ID][i])
			}
		}
		return
	}
	for _, pr := range pairsOf(len(kept), p.t.Pairs) {
		x, y := kept[pr[0]], kept[pr[1]]
		inY := map[int]bool{}
		for _, i := range samples[pr[1]] {
			inY[i] = true
		}
		if s.overflow {
			return
		}
		for _, i := range samples[pr[0]] {
			if inY[i] {
				s.pair(byCaptioner[x.ID][i], byCaptioner[y.ID][i])
			}
		}
	}
}

// pairsOf lists the index pairs to compare among n ranked things.
func pairsOf(n int, how string) [][2]int {
	var out [][2]int
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if how == PairsAdjacent && j != i+1 {
				break
			}
			out = append(out, [2]int{i, j})
		}
	}
	return out
}

// single queues caption c for a Likert rating, sharing the task of an
// identical text of the same image.
func (s *selector) single(c models.Caption) {
	g := s.group(c)
	if len(g.captions) == 0 {
		if len(s.p.tasks) >= maxSelectionTasks {
			s.overflow = true
			return
		}
		s.p.tasks = append(s.p.tasks, &planTask{kind: models.TaskSingle, image: c.ImageID, a: g})
	}
	g.link(c)
}

// pair queues the comparison of x and y (x from the better ranked side);
// identical texts are not compared, and the same two texts of an image are
// compared once, whichever captioners wrote them.
func (s *selector) pair(x, y models.Caption) {
	gx, gy := s.group(x), s.group(y)
	if gx == gy {
		s.p.counts.IdenticalPairsSkipped++
		return
	}
	if s.pairs == nil {
		s.pairs = map[pairKey]*planTask{}
	}
	k := pairKey{x.ImageID, gx, gy}
	if t := s.pairs[pairKey{x.ImageID, gy, gx}]; t != nil {
		k = pairKey{x.ImageID, gy, gx}
	}
	t := s.pairs[k]
	if t == nil {
		if len(s.p.tasks) >= maxSelectionTasks {
			s.overflow = true
			return
		}
		t = &planTask{kind: models.TaskPair, image: x.ImageID, a: &planSide{shown: gx.shown}, b: &planSide{shown: gy.shown}}
		s.pairs[k] = t
		s.p.tasks = append(s.p.tasks, t)
	}
	if t.a.shown.ID == gx.shown.ID {
		t.a.link(x)
		t.b.link(y)
	} else {
		t.a.link(y)
		t.b.link(x)
	}
}

// perImage queues, for every sampled image, its top per_image_top_k
// distinct caption texts by the per-caption combined score.
func (s *selector) perImage(ctx context.Context, r selectionReader, kept []models.SelectionCaptioner, captions []models.Caption) error {
	p := s.p
	w := p.t.Rank.weights()
	metrics := sortedKeys(w)
	keptIDs := make([]int64, len(kept))
	capRank := map[int64]int{}
	for i, c := range kept {
		keptIDs[i] = c.ID
		capRank[c.ID] = i
	}
	pos := make(map[int64]int, len(captions))
	for i, c := range captions {
		pos[c.ID] = i
	}
	vals := make([][]float64, len(metrics))
	has := make([][]bool, len(metrics))
	mi := map[string]int{}
	for j, m := range metrics {
		vals[j], has[j] = make([]float64, len(captions)), make([]bool, len(captions))
		mi[m] = j
	}
	err := r.SelectionCaptionScores(ctx, keptIDs, metrics, func(row models.CaptionScoreRow) error {
		if i, ok := pos[row.CaptionID]; ok {
			vals[mi[row.Metric]][i], has[mi[row.Metric]][i] = row.Value, true
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("annotation: selection of campaign %d: %w", p.camp.ID, err)
	}
	scored := make([]bool, len(captions))
	for i := range captions {
		scored[i] = true
		for j := range metrics {
			scored[i] = scored[i] && has[j][i]
		}
		if !scored[i] {
			p.counts.CaptionsWithoutScores++
		}
	}
	combined := make([]float64, len(captions))
	for j, m := range metrics {
		var vs []float64
		for i := range captions {
			if scored[i] {
				vs = append(vs, vals[j][i])
			}
		}
		norm := normalizer(vs, p.t.Rank.Normalize)
		for i := range captions {
			if scored[i] {
				combined[i] += w[m] * norm(vals[j][i])
			}
		}
	}
	if p.counts.CaptionsWithoutScores > 0 {
		p.warnings = append(p.warnings, fmt.Sprintf("%d captions of the kept captioners lack a %s score and are left out (run auto-eval)",
			p.counts.CaptionsWithoutScores, strings.Join(metrics, " or ")))
	}
	byImage := map[int][]int{} // image index → caption positions
	for i, c := range captions {
		if ii, ok := p.imageIdx[c.ImageID]; ok && scored[i] {
			byImage[ii] = append(byImage[ii], i)
		}
	}
	var cands []int
	for ii := range byImage {
		cands = append(cands, ii)
	}
	slices.SortFunc(cands, func(a, b int) int { return cmp.Compare(s.rankOf[a], s.rankOf[b]) })
	for _, ii := range s.sample(cands, p.t.Images.Count) {
		if s.overflow {
			return nil
		}
		list := byImage[ii]
		slices.SortFunc(list, func(a, b int) int {
			if c := cmp.Compare(combined[b], combined[a]); c != 0 {
				return c
			}
			if c := cmp.Compare(capRank[captions[a].CaptionerID], capRank[captions[b].CaptionerID]); c != 0 {
				return c
			}
			return cmp.Compare(captions[a].ID, captions[b].ID)
		})
		// The top distinct texts, each with every caption that has it.
		var top []*planSide
		var members [][]models.Caption
		for _, i := range list {
			g := s.group(captions[i])
			k := slices.Index(top, g)
			if k < 0 {
				if len(top) == p.t.PerImageTopK {
					continue
				}
				top = append(top, g)
				members = append(members, nil)
				k = len(top) - 1
			}
			members[k] = append(members[k], captions[i])
		}
		if p.camp.Mode == models.ModeLikert {
			for _, m := range members {
				for _, c := range m {
					s.single(c)
				}
			}
			continue
		}
		for _, pr := range pairsOf(len(top), p.t.Pairs) {
			for _, x := range members[pr[0]] {
				for _, y := range members[pr[1]] {
					s.pair(x, y)
				}
			}
		}
	}
	return nil
}

// applyExisting looks at the campaign's tasks: without replace they are
// only counted (Commit refuses); with replace the touched ones are kept,
// items they already show are not queued again, and positions continue
// after theirs.
func (p *plan) applyExisting(ctx context.Context, r selectionReader, replace bool, now time.Time) error {
	existing, err := r.CampaignTasks(ctx, p.camp.ID, now)
	if err != nil {
		return fmt.Errorf("annotation: selection of campaign %d: %w", p.camp.ID, err)
	}
	p.counts.ExistingTasks = len(existing)
	if len(existing) == 0 {
		return nil
	}
	keptShown := map[[2]int64]bool{}
	for _, t := range existing {
		if !t.Touched {
			continue
		}
		p.counts.KeptTasks++
		p.basePosition = max(p.basePosition, t.Position+1)
		if t.IsGold {
			continue
		}
		var b int64
		if t.CaptionBID != nil {
			b = *t.CaptionBID
		}
		keptShown[[2]int64{min(t.CaptionID, b), max(t.CaptionID, b)}] = true
		keptShown[[2]int64{t.CaptionID, b}] = true
	}
	p.counts.ReplacedTasks = p.counts.ExistingTasks - p.counts.KeptTasks
	if !replace {
		p.warnings = append(p.warnings, fmt.Sprintf("the campaign has %d tasks: a commit needs replace (which keeps the %d with ratings or a live lease)",
			p.counts.ExistingTasks, p.counts.KeptTasks))
		return nil
	}
	out := p.tasks[:0]
	for _, t := range p.tasks {
		var b int64
		if t.b != nil {
			b = t.b.shown.ID
		}
		a := t.a.shown.ID
		if t.b == nil && keptShown[[2]int64{a, 0}] || t.b != nil && keptShown[[2]int64{min(a, b), max(a, b)}] {
			p.counts.AlreadyQueued++
			continue
		}
		out = append(out, t)
	}
	p.tasks = out
	return nil
}

// Gold items check the annotators. A gold item shows an image with a text
// whose right answer is known, made of the human references (never of a
// captioner's output):
//   - Likert "known_good": one of the image's own references; the rubric's
//     overall criterion (the one keyed "overall", else the last) is
//     expected at the top two points of its scale.
//   - Likert "known_bad": a reference of another image (drawn with the
//     seed); the overall criterion is expected at the bottom two points.
//   - Pairwise "known_pair": the image's own reference against another
//     image's, on sides drawn with the seed; the own reference is expected
//     to win.
//
// The text to show is in the gold answer ("text", or "text_a"/"text_b");
// the task's caption_id (and caption_b_id) only carry the image: they are
// captions of that image and are not what the annotator rates, which is
// why gold tasks have no task_captions. Gold items number
// round(gold_rate × items / (1 − gold_rate)), so that they are gold_rate
// of all queued items; their images are drawn with the seed from the
// queued images that have references, cycling when there are more gold
// items than images; Likert alternates known_good and known_bad. A text of
// another image is wrong for this one with high probability, not
// certainty: datasets with near-duplicate images make weaker gold.
func (p *plan) addGold(ctx context.Context, r selectionReader, captions []models.Caption) error {
	rate := p.t.GoldRate
	items := len(p.tasks)
	n := int(math.Round(rate * float64(items) / (1 - rate)))
	if rate == 0 || items == 0 || n == 0 {
		return nil
	}
	refs, err := r.SelectionReferences(ctx, p.camp.ID)
	if err != nil {
		return fmt.Errorf("annotation: selection of campaign %d: %w", p.camp.ID, err)
	}
	refsOf := map[int64][]models.Reference{}
	var donors []int64 // images with references, by ID
	for _, ref := range refs {
		if refsOf[ref.ImageID] == nil {
			donors = append(donors, ref.ImageID)
		}
		refsOf[ref.ImageID] = append(refsOf[ref.ImageID], ref)
	}
	carriers := map[int64][]models.Caption{} // image → its captions, by ID
	for _, c := range captions {
		carriers[c.ImageID] = append(carriers[c.ImageID], c)
	}
	need := 1
	if p.camp.Mode == models.ModePairwise {
		need = 2
	}
	var eligible []int64
	seen := map[int64]bool{}
	for _, t := range p.tasks {
		if !seen[t.image] && len(refsOf[t.image]) > 0 && len(carriers[t.image]) >= need {
			eligible = append(eligible, t.image)
		}
		seen[t.image] = true
	}
	if len(eligible) == 0 || len(donors) < 2 {
		return &ValidationError{What: "thresholds", Problems: []Problem{{Where: "gold_rate",
			Message: fmt.Sprintf("%g needs reference captions of at least 2 images, among them a queued image: this selection has %d queued images with references and the campaign %d images with references; import references or set gold_rate to 0",
				rate, len(eligible), len(donors))}}}
	}
	slices.Sort(eligible)
	g := newStream(p.seed, "gold")
	g.shuffle(len(eligible), func(i, j int) { eligible[i], eligible[j] = eligible[j], eligible[i] })
	overall := goldCriterion(storedRubric(p.camp.Rubric))
	for i := range n {
		img := eligible[i%len(eligible)]
		own := refsOf[img][g.intn(len(refsOf[img]))]
		k := g.intn(len(donors) - 1)
		if donors[k] == img {
			k = len(donors) - 1
		}
		other := refsOf[donors[k]][g.intn(len(refsOf[donors[k]]))]
		cs := carriers[img]
		t := &planTask{image: img, a: &planSide{shown: cs[0]}}
		if p.camp.Mode == models.ModePairwise {
			t.kind = models.TaskPair
			t.b = &planSide{shown: cs[1]}
			good, bad, winner := own, other, "a"
			if g.coin() {
				good, bad, winner = other, own, "b"
			}
			t.goldText = [2]string{good.Text, bad.Text}
			t.gold = models.MustJSON(map[string]any{"kind": "known_pair", "text_a": good.Text, "text_b": bad.Text,
				"reference_id_a": good.ID, "reference_id_b": bad.ID, "expect": map[string]string{"winner": winner}})
		} else {
			t.kind = models.TaskSingle
			if i%2 == 0 {
				t.goldText[0] = own.Text
				t.gold = models.MustJSON(map[string]any{"kind": "known_good", "text": own.Text, "reference_id": own.ID,
					"expect": map[string]any{"criterion": overall.Key, "min": overall.Scale.Max - 1}})
			} else {
				t.goldText[0] = other.Text
				t.gold = models.MustJSON(map[string]any{"kind": "known_bad", "text": other.Text, "reference_id": other.ID,
					"source_image_id": other.ImageID, "expect": map[string]any{"criterion": overall.Key, "max": overall.Scale.Min + 1}})
			}
		}
		p.tasks = append(p.tasks, t)
	}
	return nil
}

// goldCriterion is the criterion gold answers are about: "overall", else
// the rubric's last.
func goldCriterion(r Rubric) Criterion {
	for _, c := range r.Criteria {
		if c.Key == "overall" {
			return c
		}
	}
	return r.Criteria[len(r.Criteria)-1]
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
		tasks[i] = models.Task{CampaignID: p.camp.ID, Kind: t.kind, CaptionID: t.a.shown.ID,
			RatingsWanted: p.t.RatingsPerItem, IsGold: t.gold != nil, GoldAnswer: orNull(t.gold),
			Seed: p.seed, Position: t.position}
		if t.b != nil {
			b := t.b.shown.ID
			tasks[i].CaptionBID = &b
		}
		if t.gold != nil {
			continue
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
		var b int64
		if t.CaptionBID != nil {
			b = *t.CaptionBID
		}
		fmt.Fprintf(h, "%d %s %d %d %d %t %s %v\n", t.Position, t.Kind, t.CaptionID, b, t.RatingsWanted, t.IsGold, t.GoldAnswer, links[i])
	}
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
