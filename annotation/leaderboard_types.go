package annotation

import (
	"bytes"
	"encoding/json"
	"math"

	"capeval/models"
)

// The shapes of the blended leaderboard, the agreement dashboard and the
// human–metric agreement table: what GET /api/v1/campaigns/ID/leaderboard
// returns, what `capeval export --format json` writes, and what the report
// package renders. Their JSON keys are the interface points; every
// list is sorted (maps are written with sorted keys by encoding/json), no
// value depends on the clock, and an undefined statistic is null, so that
// the same data and settings give the same bytes.

// SourceHuman names the human score among a leaderboard's sources; every
// other source is a metric, by the name its scores are stored under
// (Metrics).
const SourceHuman = "human"

// The consensus modes of an item's ratings.
const (
	// ConsensusMean: the mean of the item's ratings.
	ConsensusMean = "mean"
	// ConsensusZ: the mean of the item's ratings after each annotator's
	// ratings of the criterion are z-normalized (WMT's direct-assessment
	// practice), so that a harsh and a lenient annotator count alike.
	ConsensusZ = "z"
)

// The levels of a human–metric correlation row.
const (
	LevelCaption   = "caption"
	LevelCaptioner = "captioner"
)

// The kinds of a leaderboard slice.
const (
	SliceTag            = "tag"
	SliceAnnotatorGroup = "annotator_group"
)

// Number is a statistic that may be undefined: NaN stands for undefined
// and is written as JSON null (and null reads back as NaN), never as 0.
type Number float64

// NaN is the undefined Number.
func NaN() Number { return Number(math.NaN()) }

// Valid reports whether n is a finite number.
func (n Number) Valid() bool { return !math.IsNaN(float64(n)) && !math.IsInf(float64(n), 0) }

// MarshalJSON writes n as encoding/json writes a float64, or null.
func (n Number) MarshalJSON() ([]byte, error) {
	if !n.Valid() {
		return []byte("null"), nil
	}
	return json.Marshal(float64(n))
}

// UnmarshalJSON reads a number, or null as NaN.
func (n *Number) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*n = NaN()
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*n = Number(f)
	return nil
}

// ValueCI is a value with its bootstrap percentile interval, at the
// level the provenance records (0.95 unless asked otherwise). The value
// is the estimate on the full data, not the replicates' median.
type ValueCI struct {
	Value  Number `json:"value"`
	CILow  Number `json:"ci_low"`
	CIHigh Number `json:"ci_high"`
}

// Leaderboard is everything a lead defends in a review: the blended
// leaderboard with its confidence intervals and ranks, how much the humans
// agree, how well each metric agrees with them, the slices, the items to
// adjudicate, and how to reproduce it.
type Leaderboard struct {
	CampaignID int64               `json:"campaign_id"`
	Campaign   string              `json:"campaign"`
	Mode       models.CampaignMode `json:"mode"`
	// Leaderboard: one row per captioner, best first (ranked rows by
	// rank, then blended value; unranked rows last, by name).
	Leaderboard []LeaderboardRow `json:"leaderboard"`
	// StyleControl is the length-controlled leaderboard of a pairwise
	// campaign, beside the raw one; nil for Likert.
	StyleControl *StyleControl `json:"style_control,omitempty"`
	Agreement    Agreement     `json:"agreement"`
	// MetricHumanCorrelation: rows by metric, criterion, then level
	// (caption before captioner).
	MetricHumanCorrelation []CorrelationRow `json:"metric_human_correlation"`
	// SuggestedWeights is a weighting derived from the human–metric
	// agreement; it is offered, never applied.
	SuggestedWeights SuggestedWeights `json:"suggested_weights"`
	// Slices: one leaderboard per image tag (and per annotator group
	// asked for), each with its own intervals.
	Slices       []LeaderboardSlice `json:"slices"`
	Adjudication AdjudicationQueues `json:"adjudication"`
	// Warnings say what the lead should know about the numbers (a source
	// without variation, captioners not rated by humans…).
	Warnings   []string   `json:"warnings"`
	Provenance Provenance `json:"provenance"`
}

// LeaderboardRow is one captioner of a leaderboard.
type LeaderboardRow struct {
	// Captioner is NAME@VERSION (NAME alone when the version is empty).
	Captioner   string `json:"captioner"`
	CaptionerID int64  `json:"captioner_id"`
	// Rank is Chatbot Arena's: 1 + the number of captioners whose blended
	// lower bound exceeds this one's upper bound; RankRange is
	// [Rank, worst rank the intervals allow]. Both are null for a
	// captioner that a source of positive weight lacks (Note says which).
	Rank      *int    `json:"rank"`
	RankRange *[2]int `json:"rank_range"`
	// Blended is the weighted mean of the normalized sources, with its
	// interval from the two-stage bootstrap.
	Blended ValueCI `json:"blended"`
	// Scores by source (SourceHuman and each metric), whatever its
	// weight, so that a client can re-blend with other weights at once.
	Scores map[string]SourceScore `json:"scores"`
	// Items counts the human-rated items of the captioner (Likert) or
	// its battles (pairwise); Images the images it has a consensus on.
	Items  int    `json:"items"`
	Images int    `json:"images"`
	Note   string `json:"note,omitempty"`
}

// SourceScore is one source's score of a captioner: Raw on the source's
// own scale (the mean item consensus of the criterion, the Bradley–Terry
// rating on the Elo scale, a metric's mean per-caption score over the
// leaderboard's images) with its interval, and Normalized across the
// captioners as the settings say. N is how many items or captions it
// covers. Status is the Bradley–Terry fit status ("rated", "undefeated",
// …) of the human score of a pairwise campaign; an undefeated captioner
// has a null rating, never a made-up one.
type SourceScore struct {
	Raw        Number `json:"raw"`
	CILow      Number `json:"ci_low"`
	CIHigh     Number `json:"ci_high"`
	Normalized Number `json:"normalized"`
	N          int    `json:"n"`
	Status     string `json:"status,omitempty"`
}

// StyleControl is the Bradley–Terry fit with caption length as a
// covariate: Rows rank the captioners with the length effect taken out.
// LengthCoefficient is the fitted effect on the Elo scale of one unit of
// the standardized length difference (Unit: "tokens", the metrics' PTB
// tokens, standardized by their sd over the compared captions), with its
// interval; positive means the longer caption is preferred.
type StyleControl struct {
	Unit              string           `json:"unit"`
	LengthCoefficient ValueCI          `json:"length_coefficient"`
	Rows              []LeaderboardRow `json:"rows"`
}

// Agreement is the agreement dashboard of a campaign: per criterion and
// per annotator.
type Agreement struct {
	Criteria   []CriterionAgreement `json:"criteria"`
	Annotators []AnnotatorAgreement `json:"annotators"`
}

// AlphaLevels is Krippendorff's alpha of one criterion at each level of
// measurement; null where undefined.
type AlphaLevels struct {
	Nominal  Number `json:"nominal"`
	Ordinal  Number `json:"ordinal"`
	Interval Number `json:"interval"`
}

// Interval is a bootstrap percentile interval at Level.
type Interval struct {
	Level float64 `json:"level"`
	Low   Number  `json:"low"`
	High  Number  `json:"high"`
}

// CriterionAgreement is how much the annotators agree on one criterion
// (a rubric key; "choice" for a pairwise campaign's A/B choice).
type CriterionAgreement struct {
	Criterion string      `json:"criterion"`
	Alpha     AlphaLevels `json:"alpha"`
	// AlphaLevel is the level AlphaCI is for: ordinal (a Likert scale's
	// points, and the choice's A ≻ tie ≻ B, are ordered, their distances
	// not known).
	AlphaLevel string   `json:"alpha_level"`
	AlphaCI    Interval `json:"alpha_ci"`
	// FleissKappa is null where it is undefined: items rated by unequal
	// numbers of annotators, imported real-valued ratings, no variation.
	FleissKappa Number `json:"fleiss_kappa"`
	Items       int    `json:"items"`
	Ratings     int    `json:"ratings"`
	Annotators  int    `json:"annotators"`
	// Kappa is the matrix of Cohen's kappas between annotators (linear
	// weights for Likert, unweighted for the choice); null where a pair
	// shares no item or kappa is undefined.
	Kappa KappaMatrix `json:"kappa"`
}

// KappaMatrix is a matrix of pairwise Cohen's kappas: Values[i][j]
// between Annotators[i] and Annotators[j].
type KappaMatrix struct {
	Weighting  string     `json:"weighting"`
	Annotators []string   `json:"annotators"`
	Values     [][]Number `json:"values"`
}

// AnnotatorAgreement is one annotator's agreement with the others beside
// the quality checks' view of them.
type AnnotatorAgreement struct {
	// Annotator labels them: their email for capeval users,
	// "imported:ID" for an imported file's annotator ("imported" alone
	// for ratings that name none).
	Annotator   string `json:"annotator"`
	AnnotatorID int64  `json:"annotator_id"`
	Imported    bool   `json:"imported"`
	Ratings     int    `json:"ratings"`
	// Excluded: the lead's exclusion (or the exclusion policy) leaves
	// their ratings out of the results.
	Excluded     bool     `json:"excluded"`
	GoldAccuracy Number   `json:"gold_accuracy"`
	GoldScored   int      `json:"gold_scored"`
	Flags        []string `json:"flags"`
	// Criteria: their leave-one-out agreement per criterion.
	Criteria []AnnotatorCriterion `json:"criteria"`
}

// AnnotatorCriterion is an annotator's leave-one-out agreement on one
// criterion: RestCorrelation is the Spearman correlation of their
// ratings with the mean of the others' on the Items they share;
// AlphaWithout is alpha (at the criterion's AlphaLevel) of everyone
// else, and AlphaDelta = AlphaWithout − alpha of all: positive means the
// others agree better without them.
type AnnotatorCriterion struct {
	Criterion       string `json:"criterion"`
	Items           int    `json:"items"`
	RestCorrelation Number `json:"rest_correlation"`
	AlphaWithout    Number `json:"alpha_without"`
	AlphaDelta      Number `json:"alpha_delta"`
}

// CorrelationRow is the agreement of one metric with the human consensus
// of one criterion, at caption level (each rated caption's metric score
// against its item consensus, N items) or captioner level (each
// captioner's mean metric score against its human score, N captioners),
// each coefficient with its bootstrap interval over images.
type CorrelationRow struct {
	Metric      string  `json:"metric"`
	Criterion   string  `json:"criterion"`
	Level       string  `json:"level"`
	N           int     `json:"n"`
	Pearson     ValueCI `json:"pearson"`
	Spearman    ValueCI `json:"spearman"`
	KendallTauB ValueCI `json:"kendall_tau_b"`
	KendallTauC ValueCI `json:"kendall_tau_c"`
}

// SuggestedWeights is a weighting offered from the human–metric
// agreement: human 1, and each metric the lower bound of its caption-level
// Kendall tau-c with the leaderboard's criterion when that is positive, 0
// otherwise (rounded to 0.01). Basis says so in words.
type SuggestedWeights struct {
	Weights map[string]float64 `json:"weights"`
	Basis   string             `json:"basis"`
}

// LeaderboardSlice is the leaderboard of a subgroup: the images with one
// tag (Kind SliceTag, Name the tag), or the ratings of one annotator
// group (Kind SliceAnnotatorGroup, Name "ui", "imported" or the group
// asked for), with its own bootstrap.
type LeaderboardSlice struct {
	Kind   string           `json:"kind"`
	Name   string           `json:"name"`
	Images int              `json:"images"`
	Items  int              `json:"items"`
	Rows   []LeaderboardRow `json:"rows"`
}

// AdjudicationQueues are the items a lead should look at: where the
// annotators disagree most, and where the metrics and the humans do.
type AdjudicationQueues struct {
	Disagreement []AdjudicationItem `json:"disagreement"`
	MetricHuman  []AdjudicationItem `json:"metric_human"`
}

// AdjudicationItem is one item of an adjudication queue: a task and
// criterion ("choice" for a pairwise item), its consensus and how far apart
// its ratings are (Spread: their standard deviation for Likert, 1 − the
// share of the most common choice for pairwise), or for the metric–human
// queue the metric whose normalized rank differs most from the humans'
// (Gap, in [0, 1]). Adjudicated is the lead's value in force, if any.
type AdjudicationItem struct {
	TaskID      int64        `json:"task_id"`
	Criterion   string       `json:"criterion"`
	ImageID     int64        `json:"image_id"`
	Image       string       `json:"image"`
	Captioners  []string     `json:"captioners"`
	Ratings     int          `json:"ratings"`
	Consensus   Number       `json:"consensus"`
	Spread      Number       `json:"spread"`
	Metric      string       `json:"metric,omitempty"`
	MetricValue Number       `json:"metric_value"`
	Gap         Number       `json:"gap"`
	Adjudicated *Adjudicated `json:"adjudicated"`
}

// Adjudicated is a lead's decision in force on an item.
type Adjudicated struct {
	Value     Number   `json:"value"`
	Choice    string   `json:"choice,omitempty"`
	Note      string   `json:"note"`
	DecidedBy *UserRef `json:"decided_by"`
}

// Provenance is what makes a leaderboard reproducible: the campaign's
// configuration, the settings it was computed with, a hash of the data it
// used, the metric versions, the seed and capeval's version. It holds no
// wall-clock time.
type Provenance struct {
	Campaign   string              `json:"campaign"`
	CampaignID int64               `json:"campaign_id"`
	Mode       models.CampaignMode `json:"mode"`
	Rubric     Rubric              `json:"rubric"`
	Thresholds models.JSON         `json:"thresholds"`
	Settings   LeaderboardSettings `json:"settings"`
	// DataSHA256 is the SHA-256 of the data used, in a canonical order:
	// ratings (by ID), scores (by caption and metric), adjudications in
	// force and the excluded annotators.
	DataSHA256 string `json:"data_sha256"`
	// Counts of what went in.
	Ratings            int     `json:"ratings"`
	ImportedRatings    int     `json:"imported_ratings"`
	Items              int     `json:"items"`
	Images             int     `json:"images"`
	Captioners         int     `json:"captioners"`
	Adjudications      int     `json:"adjudications"`
	ExcludedRatings    int     `json:"excluded_ratings"`
	ExcludedAnnotators []int64 `json:"excluded_annotators"`
	// MetricVersions: the versions of each metric's stored scores.
	MetricVersions map[string][]string `json:"metric_versions"`
	// CorrelationResamples is how many resamples the human–metric
	// intervals used (CorrelationResamples at most); LengthUnit how the
	// style control counted caption length.
	CorrelationResamples int    `json:"correlation_resamples"`
	LengthUnit           string `json:"length_unit"`
	CapevalVersion       string `json:"capeval_version"`
}

// LeaderboardSettings are the lead's choices for a leaderboard: the
// blend (weights, normalization) and the consensus, which campaigns store
// as their blend_weights document, and the per-request filters and
// bootstrap settings. The zero values mean the defaults
// (DefaultLeaderboardSettings).
type LeaderboardSettings struct {
	// Weights by source (SourceHuman or a metric); a source not named
	// weighs 0, which removes it.
	Weights map[string]float64 `json:"weights"`
	// Normalization across captioners: "zscore", "minmax" or "rank".
	Normalization string `json:"normalization"`
	// Consensus: ConsensusMean or ConsensusZ.
	Consensus string `json:"consensus"`
	// Criterion is the rubric criterion the human source scores (Likert;
	// default "overall", else the rubric's last).
	Criterion string `json:"criterion"`
	// IncludeExcluded counts the ratings of excluded annotators too.
	IncludeExcluded bool `json:"include_excluded"`
	// Tag keeps only the images with this tag ("" = all images).
	Tag string `json:"tag,omitempty"`
	// Group keeps only the ratings of an annotator group: "" (all),
	// "ui" (given in capeval), "imported", or the annotators listed in
	// AnnotatorIDs ("ids").
	Group        string  `json:"group,omitempty"`
	AnnotatorIDs []int64 `json:"annotator_ids,omitempty"`
	// Seed, Resamples and Level of the bootstraps.
	Seed      int64   `json:"seed"`
	Resamples int     `json:"resamples"`
	Level     float64 `json:"level"`
}
