package annotation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"capeval/annotation/agreement"
	"capeval/models"
)

// Leaderboard setting limits and defaults.
const (
	// DefaultResamples is the bootstraps' number of resamples (FastChat's
	// default too).
	DefaultResamples = 1000
	// MaxResamples bounds them.
	MaxResamples = 20000
	// DefaultLevel is the confidence level of every interval.
	DefaultLevel = 0.95
	// DefaultNormalization puts every source on a z-score scale.
	DefaultNormalization = NormalizeZScore
	// NormalizeRank maps each source to its normalized rank in [0, 1].
	NormalizeRank = "rank"
	// ChoiceCriterion is the one criterion of a pairwise campaign: the A/B
	// choice.
	ChoiceCriterion = "choice"
	// MaxAnnotatorGroup bounds the annotators a group lists.
	MaxAnnotatorGroup = 1000
	// MaxTagLength bounds a tag filter.
	MaxTagLength = 200
)

// The annotator groups a leaderboard can keep.
const (
	GroupAll      = ""
	GroupUI       = "ui"
	GroupImported = "imported"
	GroupIDs      = "ids"
)

// blendDocument is the campaigns.blend_weights document: the part of the
// settings a lead saves (and that is audited when saved).
type blendDocument struct {
	Weights       map[string]float64 `json:"weights"`
	Normalization string             `json:"normalization,omitempty"`
	Consensus     string             `json:"consensus,omitempty"`
	Criterion     string             `json:"criterion,omitempty"`
}

// ValidateBlendWeights is the campaigns' blend-weights validator (a
// DocumentValidator): the document is
//
//	{"weights": {"human": 1, "CIDEr": 0.5}, "normalization": "zscore"|"minmax"|"rank",
//	 "consensus": "mean"|"z", "criterion": "overall"}
//
// where a weight's source is SourceHuman or one of Metrics, every weight is
// a finite number ≥ 0 and at least one is positive; a source not named
// weighs 0. The criterion must be one of the rubric's (Likert) or "choice"
// (pairwise). Unknown fields are refused. It returns the document in its
// canonical form.
func ValidateBlendWeights(c *models.Campaign, doc models.JSON) (models.JSON, error) {
	var d blendDocument
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, &ValidationError{What: "blend weights", Problems: []Problem{{Where: "blend_weights", Message: jsonProblem(err)}}}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &ValidationError{What: "blend weights", Problems: []Problem{{Where: "blend_weights", Message: "unexpected data after the document"}}}
	}
	var ps Problems
	s := LeaderboardSettings{Weights: d.Weights, Normalization: d.Normalization, Consensus: d.Consensus, Criterion: d.Criterion}
	if d.Weights == nil {
		ps.Add("blend_weights.weights", "required: a weight per source, e.g. {\"human\": 1, \"CIDEr\": 0.5}")
	}
	s.check(&ps, "blend_weights.", c.Mode, storedRubric(c.Rubric))
	if err := ps.Err("blend weights"); err != nil {
		return nil, err
	}
	return models.MustJSON(d), nil
}

// savedSettings reads a campaign's blend_weights document into the
// settings (a stored document is valid: ValidateBlendWeights wrote it).
func savedSettings(c *models.Campaign) LeaderboardSettings {
	var d blendDocument
	if !c.BlendWeights.IsNull() {
		_ = json.Unmarshal(c.BlendWeights, &d)
	}
	return LeaderboardSettings{Weights: d.Weights, Normalization: d.Normalization, Consensus: d.Consensus, Criterion: d.Criterion}
}

// BlendDocument returns the blend_weights document that saves s's weights,
// normalization, consensus and criterion.
func (s LeaderboardSettings) BlendDocument() models.JSON {
	return models.MustJSON(blendDocument{Weights: s.Weights, Normalization: s.Normalization, Consensus: s.Consensus, Criterion: s.Criterion})
}

// defaultCriterion is the criterion the human source scores by default:
// "choice" for pairwise, else the rubric's overall judgment (its last
// criterion when it has none), as the gold checks use.
func defaultCriterion(mode models.CampaignMode, r Rubric) string {
	if mode == models.ModePairwise {
		return ChoiceCriterion
	}
	return goldCriterion(r).Key
}

// withDefaults returns s with every unset field at its default for the
// campaign; the seed defaults to the selection's recorded seed (the
// thresholds'), else the campaign ID.
func (s LeaderboardSettings) withDefaults(c *models.Campaign, r Rubric) LeaderboardSettings {
	if s.Weights == nil {
		s.Weights = map[string]float64{SourceHuman: 1}
	}
	if s.Normalization == "" {
		s.Normalization = DefaultNormalization
	}
	if s.Consensus == "" {
		s.Consensus = ConsensusMean
	}
	if s.Criterion == "" {
		s.Criterion = defaultCriterion(c.Mode, r)
	}
	if s.Resamples == 0 {
		s.Resamples = DefaultResamples
	}
	if s.Level == 0 {
		s.Level = DefaultLevel
	}
	if s.Seed == 0 {
		s.Seed = c.ID
		if t, err := ParseThresholds(c.Thresholds, c.Mode, c.ID); err == nil && t.Seed != nil {
			s.Seed = *t.Seed
		}
	}
	if s.Group == GroupAll && len(s.AnnotatorIDs) > 0 {
		s.Group = GroupIDs
	}
	if s.AnnotatorIDs != nil {
		s.AnnotatorIDs = slices.Clone(s.AnnotatorIDs)
		slices.Sort(s.AnnotatorIDs)
		s.AnnotatorIDs = slices.Compact(s.AnnotatorIDs)
	}
	return s
}

// check adds s's problems to ps (paths under prefix).
func (s LeaderboardSettings) check(ps *Problems, prefix string, mode models.CampaignMode, r Rubric) {
	positive := false
	for _, src := range sortedKeys(s.Weights) {
		w := s.Weights[src]
		if src != SourceHuman && !slices.Contains(Metrics, src) {
			ps.Add(prefix+"weights."+src, "unknown source %q: want %s or a metric (%s)", src, SourceHuman, strings.Join(Metrics, ", "))
		}
		if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
			ps.Add(prefix+"weights."+src, "weight %v: want a finite number ≥ 0 (0 removes the source)", w)
		}
		positive = positive || w > 0
	}
	if s.Weights != nil && !positive {
		ps.Add(prefix+"weights", "every weight is 0: give at least one source a positive weight")
	}
	if n := s.Normalization; n != "" && n != NormalizeZScore && n != NormalizeMinMax && n != NormalizeRank {
		ps.Add(prefix+"normalization", "%q: want zscore, minmax or rank", n)
	}
	if c := s.Consensus; c != "" && c != ConsensusMean && c != ConsensusZ {
		ps.Add(prefix+"consensus", "%q: want mean or z (each annotator's ratings z-normalized)", c)
	}
	if c := s.Criterion; c != "" {
		switch {
		case mode == models.ModePairwise && c != ChoiceCriterion:
			ps.Add(prefix+"criterion", "%q: a pairwise campaign has one criterion, %q", c, ChoiceCriterion)
		case mode != models.ModePairwise && !slices.Contains(r.Keys(), c):
			ps.Add(prefix+"criterion", "%q is not a criterion of the rubric (%s)", c, strings.Join(r.Keys(), ", "))
		}
	}
}

// checkRequest checks the per-request settings too.
func (s LeaderboardSettings) checkRequest(ps *Problems, mode models.CampaignMode, r Rubric) {
	s.check(ps, "", mode, r)
	if s.Resamples < 0 || s.Resamples > MaxResamples || s.Resamples == 1 {
		ps.Add("resamples", "%d: want 2 to %d (0: %d)", s.Resamples, MaxResamples, DefaultResamples)
	}
	if s.Level != 0 && !(s.Level > 0 && s.Level < 1) {
		ps.Add("level", "%v: want a confidence level between 0 and 1, e.g. 0.95", s.Level)
	}
	switch s.Group {
	case GroupAll, GroupUI, GroupImported:
		if s.Group != GroupAll && len(s.AnnotatorIDs) > 0 {
			ps.Add("annotators", "a list of annotators goes with group %q (or no group), not %q", GroupIDs, s.Group)
		}
	case GroupIDs:
		if len(s.AnnotatorIDs) == 0 {
			ps.Add("annotators", "group %q needs the annotators' ids", GroupIDs)
		}
	default:
		ps.Add("group", "%q: want ui, imported or ids", s.Group)
	}
	if len(s.AnnotatorIDs) > MaxAnnotatorGroup {
		ps.Add("annotators", "%d annotators, more than the limit of %d", len(s.AnnotatorIDs), MaxAnnotatorGroup)
	}
	for _, id := range s.AnnotatorIDs {
		if id <= 0 {
			ps.Add("annotators", "%d is not a user id", id)
			break
		}
	}
	if len(s.Tag) > MaxTagLength {
		ps.Add("tag", "%d bytes, more than the limit of %d", len(s.Tag), MaxTagLength)
	}
}

// normalization returns the agreement package's normalization named n.
func normalization(n string) agreement.Normalization {
	switch n {
	case NormalizeMinMax:
		return agreement.MinMax
	case NormalizeRank:
		return agreement.Rank
	}
	return agreement.ZScore
}

// ParseWeights parses "SOURCE=W,SOURCE=W" (the command line's --weights)
// into weights; SOURCE is "human" or a metric name. The sources are
// checked by the leaderboard (a source it does not name weighs 0).
func ParseWeights(s string) (map[string]float64, error) {
	out := map[string]float64{}
	var ps Problems
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		src, w, ok := strings.Cut(part, "=")
		src = strings.TrimSpace(src)
		if !ok || src == "" {
			ps.Add(fmt.Sprintf("weights[%d]", i), "%q: want SOURCE=WEIGHT, e.g. human=1", part)
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(w), 64)
		if err != nil {
			ps.Add("weights."+src, "%q is not a number", w)
			continue
		}
		if _, dup := out[src]; dup {
			ps.Add("weights."+src, "given twice")
		}
		out[src] = f
	}
	if len(out) == 0 && ps.Len() == 0 {
		ps.Add("weights", "no SOURCE=WEIGHT given")
	}
	if err := ps.Err("weights"); err != nil {
		return nil, err
	}
	return out, nil
}
