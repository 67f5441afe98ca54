package annotation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"capeval/models"
)

// Metrics are the automatic metric names the thresholds may use: those the
// auto-eval jobs write into scores and captioner_scores. All of them are
// "higher is better".
var Metrics = []string{"Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "ROUGE_L", "CIDEr", "CLIPScore", "RefCLIPScore"}

// Selection kinds: what is sampled.
const (
	// SelectPerCaptioner samples images per kept captioner and queues each
	// one's caption of them.
	SelectPerCaptioner = "per_captioner"
	// SelectPerImage queues, for every sampled image, its top captions
	// across the kept captioners by the per-caption combined score.
	SelectPerImage = "per_image"
)

// Image sampling strategies.
const (
	SampleRandom     = "random"
	SampleStratified = "stratified"
)

// Score normalizations of a weighted ranking.
const (
	// NormalizeMinMax maps each metric to [0, 1] across the ranked set:
	// (v - min) / (max - min), 0 when all values are equal. The default:
	// bounded values make the weights read as shares of the combined score.
	NormalizeMinMax = "minmax"
	// NormalizeZScore maps each metric to (v - mean) / sd (population sd),
	// 0 when sd is 0: outliers weigh more than with min-max.
	NormalizeZScore = "zscore"
)

// Pair choices of pairwise campaigns.
const (
	PairsAll      = "all"      // every pair of the kept captioners (or of an image's top captions)
	PairsAdjacent = "adjacent" // neighbours in the ranking only: 1–2, 2–3, …
)

// Threshold limits.
const (
	MaxTopK           = 1000
	MaxRatingsPerItem = 50
	MaxGoldRate       = 0.5
	maxTagPrefix      = 64
	// maxSeed keeps seeds exact in JavaScript numbers (the lead UI).
	maxSeed = 1<<53 - 1
)

// Thresholds is the selection's configuration: the campaigns.thresholds
// document. Absent fields take the defaults that Effective fills in and the
// preview shows:
//
//	{
//	  "seed": 7,                                    // default: the campaign ID
//	  "rank": {"metric": "CIDEr"},                  // or {"weights": {"CIDEr": 2, "CLIPScore": 1}, "normalize": "minmax"|"zscore"}
//	  "top_k": 3,                                   // captioners kept after ranking; 0 = all
//	  "min_scores": {"CIDEr": 0.4},                 // captioners below any minimum are dropped
//	  "selection": "per_captioner",                 // or "per_image"
//	  "images": {"count": 100, "sampling": "random"},     // or "stratified" with "tag_prefix": "count:"
//	  "per_image_top_k": 2,                         // per_image only: captions (distinct texts) per image
//	  "ratings_per_item": 3,
//	  "gold_rate": 0.1,                             // fraction of queued items that are gold
//	  "pairs": "all"                                // pairwise campaigns only: or "adjacent"
//	}
type Thresholds struct {
	Seed *int64 `json:"seed,omitempty"`
	Rank Rank   `json:"rank"`
	// TopK is how many captioners are kept after ranking (0: all).
	TopK      int                `json:"top_k"`
	MinScores map[string]float64 `json:"min_scores,omitempty"`
	Selection string             `json:"selection,omitempty"`
	Images    ImageSampling      `json:"images"`
	// PerImageTopK is, in per_image selection, how many distinct caption
	// texts of each image are queued (default 1 for Likert, 2 for pairwise).
	PerImageTopK   int     `json:"per_image_top_k,omitempty"`
	RatingsPerItem int     `json:"ratings_per_item,omitempty"`
	GoldRate       float64 `json:"gold_rate"`
	Pairs          string  `json:"pairs,omitempty"`
}

// Rank says how captioners (and, in per_image selection, captions) are
// ranked: by one metric, or by a weighted sum of normalized metrics.
type Rank struct {
	Metric    string             `json:"metric,omitempty"`
	Weights   map[string]float64 `json:"weights,omitempty"`
	Normalize string             `json:"normalize,omitempty"`
}

// ImageSampling says which images are queued. Count is per kept captioner
// in per_captioner selection and in all in per_image selection; 0 means
// every image.
type ImageSampling struct {
	Count     int    `json:"count"`
	Sampling  string `json:"sampling,omitempty"`
	TagPrefix string `json:"tag_prefix,omitempty"`
}

// ParseThresholds decodes and checks a thresholds document for a campaign
// in mode, strictly: unknown fields, wrong types and out-of-range values
// are problems naming the field. The result has the defaults filled in
// (Effective), with the seed defaulting to campaignID.
func ParseThresholds(doc models.JSON, mode models.CampaignMode, campaignID int64) (Thresholds, error) {
	var t Thresholds
	var ps Problems
	if doc.IsNull() {
		ps.Add("thresholds", "the campaign has no thresholds: set them first")
		return t, ps.Err("thresholds")
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		ps.Add(decodeWhere(err), "%s", decodeMessage(err))
		return t, ps.Err("thresholds")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		ps.Add("thresholds", "unexpected data after the JSON object")
		return t, ps.Err("thresholds")
	}
	t.check(&ps, mode)
	if err := ps.Err("thresholds"); err != nil {
		return t, err
	}
	return t.Effective(mode, campaignID), nil
}

// ValidateThresholds is the campaign service's thresholds validator (see
// WithThresholdsValidator): it checks doc against the campaign c (its mode
// as it will be after the change) and returns doc as given, compacted. The
// defaults are not written into the stored document: what the lead wrote
// stays what the audit log shows.
func ValidateThresholds(c *models.Campaign, doc models.JSON) (models.JSON, error) {
	if _, err := ParseThresholds(doc, c.Mode, c.ID); err != nil {
		return nil, err
	}
	return compact(doc), nil
}

// Effective returns t with every default filled in.
func (t Thresholds) Effective(mode models.CampaignMode, campaignID int64) Thresholds {
	if t.Seed == nil {
		s := campaignID
		t.Seed = &s
	}
	if t.Rank.Metric == "" && len(t.Rank.Weights) == 0 {
		t.Rank.Metric = "CIDEr"
	}
	if t.Rank.Normalize == "" {
		t.Rank.Normalize = NormalizeMinMax
	}
	if t.Selection == "" {
		t.Selection = SelectPerCaptioner
	}
	if t.Images.Sampling == "" {
		t.Images.Sampling = SampleRandom
	}
	if t.Selection == SelectPerImage && t.PerImageTopK == 0 {
		t.PerImageTopK = 1
		if mode == models.ModePairwise {
			t.PerImageTopK = 2
		}
	}
	if t.RatingsPerItem == 0 {
		t.RatingsPerItem = 1
	}
	if mode == models.ModePairwise && t.Pairs == "" {
		t.Pairs = PairsAll
	}
	return t
}

// weights returns the ranking's metric weights: {metric: 1} for a single
// metric.
func (r Rank) weights() map[string]float64 {
	if r.Metric != "" {
		return map[string]float64{r.Metric: 1}
	}
	return r.Weights
}

func (t *Thresholds) check(ps *Problems, mode models.CampaignMode) {
	if t.Seed != nil && (*t.Seed < 0 || *t.Seed > maxSeed) {
		ps.Add("seed", "%d: want an integer from 0 to %d", *t.Seed, int64(maxSeed))
	}
	switch {
	case t.Rank.Metric != "" && len(t.Rank.Weights) > 0:
		ps.Add("rank", "give either metric or weights, not both")
	case t.Rank.Metric != "":
		checkMetric(ps, "rank.metric", t.Rank.Metric)
	case t.Rank.Weights != nil && len(t.Rank.Weights) == 0:
		ps.Add("rank.weights", "empty: give at least one metric with a weight")
	}
	for _, m := range sortedKeys(t.Rank.Weights) {
		where := "rank.weights." + m
		if checkMetric(ps, where, m) {
			if w := t.Rank.Weights[m]; !(w > 0) || math.IsInf(w, 0) {
				ps.Add(where, "weight %g: want a number greater than 0", w)
			}
		}
	}
	if n := t.Rank.Normalize; n != "" && n != NormalizeMinMax && n != NormalizeZScore {
		ps.Add("rank.normalize", "%q: want %s or %s", n, NormalizeMinMax, NormalizeZScore)
	}
	if t.TopK < 0 || t.TopK > MaxTopK {
		ps.Add("top_k", "%d: want 0 (every captioner) to %d", t.TopK, MaxTopK)
	} else if mode == models.ModePairwise && t.Selection != SelectPerImage && t.TopK == 1 {
		ps.Add("top_k", "1 captioner makes no pairs: want 0 (all) or at least 2 in a pairwise campaign")
	}
	for _, m := range sortedKeys(t.MinScores) {
		checkMetric(ps, "min_scores."+m, m)
	}
	switch t.Selection {
	case "", SelectPerCaptioner:
		if t.PerImageTopK != 0 {
			ps.Add("per_image_top_k", "only for selection %q", SelectPerImage)
		}
	case SelectPerImage:
		switch {
		case t.PerImageTopK < 0 || t.PerImageTopK > MaxTopK:
			ps.Add("per_image_top_k", "%d: want 1 to %d", t.PerImageTopK, MaxTopK)
		case mode == models.ModePairwise && t.PerImageTopK == 1:
			ps.Add("per_image_top_k", "1 caption per image makes no pairs: want at least 2 in a pairwise campaign")
		}
	default:
		ps.Add("selection", "%q: want %s or %s", t.Selection, SelectPerCaptioner, SelectPerImage)
	}
	if t.Images.Count < 0 {
		ps.Add("images.count", "%d: want 0 (every image) or more", t.Images.Count)
	}
	switch t.Images.Sampling {
	case "", SampleRandom:
		if t.Images.TagPrefix != "" {
			ps.Add("images.tag_prefix", "only for sampling %q", SampleStratified)
		}
	case SampleStratified:
		switch p := t.Images.TagPrefix; {
		case strings.TrimSpace(p) == "":
			ps.Add("images.tag_prefix", "stratified sampling needs a tag prefix, e.g. \"count:\"")
		case len(p) > maxTagPrefix:
			ps.Add("images.tag_prefix", "%d bytes, more than the limit of %d", len(p), maxTagPrefix)
		}
	default:
		ps.Add("images.sampling", "%q: want %s or %s", t.Images.Sampling, SampleRandom, SampleStratified)
	}
	if t.RatingsPerItem < 0 || t.RatingsPerItem > MaxRatingsPerItem {
		ps.Add("ratings_per_item", "%d: want 1 to %d", t.RatingsPerItem, MaxRatingsPerItem)
	}
	if !(t.GoldRate >= 0 && t.GoldRate <= MaxGoldRate) {
		ps.Add("gold_rate", "%g: want a fraction from 0 to %g", t.GoldRate, MaxGoldRate)
	}
	switch {
	case t.Pairs == "":
	case mode != models.ModePairwise:
		ps.Add("pairs", "only for pairwise campaigns (this one is %s)", mode)
	case t.Pairs != PairsAll && t.Pairs != PairsAdjacent:
		ps.Add("pairs", "%q: want %s or %s", t.Pairs, PairsAll, PairsAdjacent)
	}
}

func checkMetric(ps *Problems, where, m string) bool {
	if slices.Contains(Metrics, m) {
		return true
	}
	ps.Add(where, "unknown metric %q: want one of %s", m, strings.Join(Metrics, ", "))
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// decodeWhere names the field a JSON decoding error is about.
func decodeWhere(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return te.Field
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		return strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
	}
	return "thresholds"
}

func decodeMessage(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("a JSON %s is not allowed here: want %s", te.Value, jsonKind(te.Type.String()))
	}
	if strings.HasPrefix(err.Error(), "json: unknown field ") {
		return "unknown field"
	}
	return jsonProblem(err)
}

func jsonKind(goType string) string {
	switch {
	case strings.Contains(goType, "map["):
		return "an object of metric names to numbers"
	case strings.HasPrefix(goType, "*int") || strings.HasPrefix(goType, "int"):
		return "an integer"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "string":
		return "a string"
	}
	return "an object"
}
