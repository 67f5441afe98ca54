package annotation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"unicode"

	"capeval/models"
)

// MaxTagSlices bounds the tag slices of a leaderboard (the tags in name
// order; the rest are named in a warning).
const MaxTagSlices = 20

// LeaderboardStore is what Leaderboards needs from the database.
type LeaderboardStore interface {
	AdjudicationStore
	Images(ctx context.Context, campaignID int64, withTags bool) ([]models.Image, error)
	EachCaption(ctx context.Context, captionerIDs []int64, fn func(models.Caption) error) error
	EachCaptionScore(ctx context.Context, captionerIDs []int64, metrics []string, fn func(models.CaptionScoreRow) error) error
	EachJudgment(ctx context.Context, campaignID int64, fn func(models.JudgmentRating) error) error
	AdjudicationsInForce(ctx context.Context, campaignID int64) ([]models.Adjudication, error)
}

// QualityReporter is the quality checks' report: who is excluded, their
// gold accuracy and flags (Quality.Report).
type QualityReporter interface {
	Report(ctx context.Context, campaignID int64) (*QualityReport, error)
}

// Leaderboards computes a campaign's blended leaderboard, agreement
// dashboard and human–metric agreement, and records the lead's
// adjudications.
type Leaderboards struct {
	store      LeaderboardStore
	quality    QualityReporter
	log        *slog.Logger
	tokens     func(string) int
	lengthUnit string
	version    string
	workers    int
}

// LeaderboardsOption configures Leaderboards.
type LeaderboardsOption func(*Leaderboards)

// WithLengthTokenizer makes caption length (the style control's covariate) the
// number of tokens count returns, described by unit (e.g. "ptb_tokens",
// the metrics' PTB tokenizer). Without it, length is the number of words:
// runs of letters and digits.
func WithLengthTokenizer(count func(string) int, unit string) LeaderboardsOption {
	return func(l *Leaderboards) { l.tokens, l.lengthUnit = count, unit }
}

// WithVersion records capeval's version in the provenance.
func WithVersion(v string) LeaderboardsOption { return func(l *Leaderboards) { l.version = v } }

// WithWorkers sets how many goroutines run the bootstraps (0: GOMAXPROCS).
// The figures do not depend on it.
func WithWorkers(n int) LeaderboardsOption { return func(l *Leaderboards) { l.workers = n } }

// NewLeaderboards returns the leaderboard service; quality may be nil (no
// exclusions, no gold accuracy).
func NewLeaderboards(store LeaderboardStore, quality QualityReporter, log *slog.Logger, opts ...LeaderboardsOption) *Leaderboards {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Leaderboards{store: store, quality: quality, log: log, tokens: countWords, lengthUnit: "words", version: "dev"}
	for _, o := range opts {
		o(l)
	}
	return l
}

// countWords counts runs of letters and digits.
func countWords(s string) int {
	return len(strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }))
}

// Leaderboard computes the campaign's leaderboard with the settings:
// unset fields come from the campaign's saved blend_weights document, then
// the defaults (DefaultLeaderboardSettings). Bad settings are a
// *ValidationError naming each; a missing campaign ErrNotFound.
func (l *Leaderboards) Leaderboard(ctx context.Context, campaignID int64, s LeaderboardSettings) (*Leaderboard, error) {
	j, camp, rep, s, err := l.load(ctx, campaignID, s)
	if err != nil {
		return nil, err
	}
	return compute(j, camp, rep, s, l.version, l.workers)
}

// Agreement computes the campaign's agreement dashboard with the settings
// (the group, exclusions and tag filters apply; the bootstrap's seed,
// resamples and level).
func (l *Leaderboards) Agreement(ctx context.Context, campaignID int64, s LeaderboardSettings) (*Agreement, error) {
	j, _, rep, s, err := l.load(ctx, campaignID, s)
	if err != nil {
		return nil, err
	}
	a := computeAgreement(newView(j, s), rep, s.Resamples, s.Seed, s.Level, l.workers)
	return &a, nil
}

// AdjudicationQueues returns the campaign's two adjudication queues.
func (l *Leaderboards) AdjudicationQueues(ctx context.Context, campaignID int64, s LeaderboardSettings) (*AdjudicationQueues, error) {
	lb, err := l.Leaderboard(ctx, campaignID, s)
	if err != nil {
		return nil, err
	}
	return &lb.Adjudication, nil
}

// DefaultLeaderboardSettings returns the settings the campaign's
// leaderboard uses when a request sets nothing: its saved blend document
// (or human weight 1, z-scores, the mean consensus, the overall
// criterion), the selection's seed, 1,000 resamples, 95 %.
func DefaultLeaderboardSettings(c *models.Campaign) LeaderboardSettings {
	return savedSettings(c).withDefaults(c, storedRubric(c.Rubric))
}

// load reads everything the computations need, streaming the ratings
// and scores into the judgments' compact form (judgmentBuilder).
func (l *Leaderboards) load(ctx context.Context, campaignID int64, req LeaderboardSettings) (*judgments, *models.Campaign, *QualityReport, LeaderboardSettings, error) {
	st := l.store
	camp, err := st.CampaignByID(ctx, campaignID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, nil, nil, req, fmt.Errorf("%w: no campaign with id %d", ErrNotFound, campaignID)
	}
	if err != nil {
		return nil, nil, nil, req, fmt.Errorf("annotation: leaderboard of campaign %d: %w", campaignID, err)
	}
	rubric := storedRubric(camp.Rubric)
	var ps Problems
	req.checkRequest(&ps, camp.Mode, rubric)
	if err := ps.Err("leaderboard settings"); err != nil {
		return nil, nil, nil, req, err
	}
	saved := savedSettings(camp)
	if req.Weights == nil {
		req.Weights = saved.Weights
	}
	if req.Normalization == "" {
		req.Normalization = saved.Normalization
	}
	if req.Consensus == "" {
		req.Consensus = saved.Consensus
	}
	if req.Criterion == "" {
		req.Criterion = saved.Criterion
	}
	s := req.withDefaults(camp, rubric)
	fail := func(err error) (*judgments, *models.Campaign, *QualityReport, LeaderboardSettings, error) {
		return nil, nil, nil, s, fmt.Errorf("annotation: leaderboard of campaign %d: %w", campaignID, err)
	}
	captioners, err := st.Captioners(ctx, campaignID)
	if err != nil {
		return fail(err)
	}
	images, err := st.Images(ctx, campaignID, true)
	if err != nil {
		return fail(err)
	}
	// The quality report first: who is excluded is part of each rating's
	// annotator as it streams in.
	var rep *QualityReport
	var excluded []int64
	if l.quality != nil {
		if rep, err = l.quality.Report(ctx, campaignID); err != nil {
			return fail(err)
		}
		excluded = rep.excludedIDs()
	}
	b := newJudgmentBuilder(camp, rubric, captioners, images, excluded, l.tokens, l.lengthUnit)
	ids := make([]int64, len(captioners))
	for i, c := range captioners {
		ids[i] = c.ID
	}
	if err = st.EachCaption(ctx, ids, func(c models.Caption) error { b.addCaption(c); return nil }); err != nil {
		return fail(err)
	}
	if err = st.EachJudgedCaption(ctx, campaignID, func(c models.JudgedCaption) error { b.addLink(c); return nil }); err != nil {
		return fail(err)
	}
	if err = st.EachJudgment(ctx, campaignID, b.addRating); err != nil {
		return fail(err)
	}
	if err = st.EachCaptionScore(ctx, ids, Metrics, func(r models.CaptionScoreRow) error { b.addScore(r); return nil }); err != nil {
		return fail(err)
	}
	adjudged, err := st.AdjudicationsInForce(ctx, campaignID)
	if err != nil {
		return fail(err)
	}
	userIDs := b.userIDs()
	for _, a := range adjudged {
		if a.DecidedBy != nil {
			userIDs = append(userIDs, *a.DecidedBy)
		}
	}
	users, err := l.userRefs(ctx, userIDs)
	if err != nil {
		return fail(err)
	}
	j := b.finish(users, adjudged)
	return j, camp, rep, s, nil
}

// userRefs looks the users up by ID.
func (l *Leaderboards) userRefs(ctx context.Context, ids []int64) (map[int64]UserRef, error) {
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := map[int64]UserRef{}
	if len(ids) == 0 {
		return out, nil
	}
	for start := 0; start < len(ids); start += 1000 {
		users, err := l.store.UsersByIDs(ctx, ids[start:min(start+1000, len(ids))])
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			out[u.ID] = UserRef{ID: u.ID, Email: u.Email, Name: u.Name}
		}
	}
	return out, nil
}

// compute is the leaderboard of j with the (complete) settings s: pure,
// so that tests and benchmarks can call it on judgments they build.
func compute(j *judgments, camp *models.Campaign, rep *QualityReport, s LeaderboardSettings, version string, workers int) (*Leaderboard, error) {
	v := newView(j, s)
	lb := &Leaderboard{CampaignID: camp.ID, Campaign: camp.Name, Mode: camp.Mode, Slices: []LeaderboardSlice{}, Warnings: []string{}}
	lb.Warnings = append(lb.Warnings, v.warnings...)
	main := newBoard(v, nil, false, workers)
	res, err := main.run(false)
	if err != nil {
		return nil, fmt.Errorf("annotation: leaderboard of campaign %d: %w", camp.ID, err)
	}
	lb.Leaderboard = res.rows
	lb.Warnings = append(lb.Warnings, res.problems...)
	if j.mode == models.ModePairwise {
		style := newBoard(v, nil, true, workers)
		sres, err := style.run(false)
		if err != nil {
			return nil, fmt.Errorf("annotation: style-controlled leaderboard of campaign %d: %w", camp.ID, err)
		}
		lb.StyleControl = &StyleControl{Unit: j.lengthUnit, LengthCoefficient: sres.coef, Rows: sres.rows}
	}
	lb.Agreement = computeAgreement(v, rep, s.Resamples, s.Seed, s.Level, workers)
	corrResamples := min(s.Resamples, CorrelationResamples)
	rows, queue, err := main.correlations(res, corrResamples, MaxAdjudicationQueue)
	if err != nil {
		return nil, fmt.Errorf("annotation: human–metric agreement of campaign %d: %w", camp.ID, err)
	}
	lb.MetricHumanCorrelation = rows
	lb.SuggestedWeights = suggestWeights(rows, s.Criterion)
	lb.Adjudication = AdjudicationQueues{Disagreement: disagreementQueue(v, MaxAdjudicationQueue), MetricHuman: queue}

	// Slices: each tag of the board's images, then the annotator groups
	// when both kinds of ratings are there (and no group was asked for).
	inBoard := map[int32]bool{}
	for _, img := range main.imgs {
		inBoard[img] = true
	}
	tags := sortedTags(v)
	var used []string
	for _, tag := range tags {
		n := 0
		for img := range inBoard {
			if slices.Contains(j.images[img].tags, tag) {
				n++
			}
		}
		if n == 0 {
			continue
		}
		if len(used) == MaxTagSlices {
			lb.Warnings = append(lb.Warnings, fmt.Sprintf("only the first %d tags (by name) have slices; %s has none", MaxTagSlices, tag))
			break
		}
		used = append(used, tag)
		b := newBoard(v, func(img int32) bool { return slices.Contains(j.images[img].tags, tag) }, false, workers)
		sl, err := sliceOf(b, SliceTag, tag)
		if err != nil {
			return nil, err
		}
		lb.Slices = append(lb.Slices, sl)
	}
	if s.Group == GroupAll {
		var ui, imported bool
		for _, a := range j.annotators {
			ui, imported = ui || !a.imported, imported || a.imported
		}
		if ui && imported {
			for _, g := range []string{GroupUI, GroupImported} {
				gs := s
				gs.Group = g
				b := newBoard(newView(j, gs), nil, false, workers)
				sl, err := sliceOf(b, SliceAnnotatorGroup, g)
				if err != nil {
					return nil, err
				}
				lb.Slices = append(lb.Slices, sl)
			}
		}
	}
	var unrated []string
	for _, r := range lb.Leaderboard {
		if !r.Scores[SourceHuman].Raw.Valid() {
			unrated = append(unrated, r.Captioner)
		}
	}
	if len(unrated) > 0 && len(unrated) < len(lb.Leaderboard) {
		lb.Warnings = append(lb.Warnings, fmt.Sprintf("%d captioners have no human score here: %s", len(unrated), strings.Join(truncated(unrated, 10), ", ")))
	}
	lb.Provenance = provenance(j, camp, rep, v, s, main, version, corrResamples)
	return lb, nil
}

func sliceOf(b *board, kind, name string) (LeaderboardSlice, error) {
	res, err := b.run(false)
	if err != nil {
		return LeaderboardSlice{}, fmt.Errorf("annotation: %s slice %q: %w", kind, name, err)
	}
	items := 0
	for _, its := range b.imgItems {
		items += len(its)
	}
	return LeaderboardSlice{Kind: kind, Name: name, Images: len(b.imgs), Items: items, Rows: res.rows}, nil
}

func provenance(j *judgments, camp *models.Campaign, rep *QualityReport, v *judgedView, s LeaderboardSettings, main *board, version string, corrResamples int) Provenance {
	p := Provenance{Campaign: camp.Name, CampaignID: camp.ID, Mode: camp.Mode, Rubric: storedRubric(camp.Rubric),
		Thresholds: orNull(camp.Thresholds), Settings: s, DataSHA256: j.hash, Captioners: len(j.captioners),
		Adjudications: len(j.adjudicated), ExcludedAnnotators: nonNil(j.excludedIDs), MetricVersions: j.metricVersions,
		CapevalVersion: version, CorrelationResamples: corrResamples, LengthUnit: j.lengthUnit}
	for r, a := range j.rAnn {
		ann := j.annotators[a]
		if !v.keptRating[r] {
			if ann.excluded && !s.IncludeExcluded {
				p.ExcludedRatings++
			}
			continue
		}
		p.Ratings++
		if ann.imported {
			p.ImportedRatings++
		}
	}
	for _, its := range main.imgItems {
		p.Items += len(its)
	}
	p.Images = len(main.imgs)
	return p
}
