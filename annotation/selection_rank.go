package annotation

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"capeval/models"
)

// scoreOf returns the captioner's aggregate of metric m, or why it cannot
// be used: it is missing, or it was computed over another set of captions
// than the captioner has (RefCLIPScore of images without references,
// captions imported since): a mean over a part is not comparable with
// another captioner's over all of theirs.
func scoreOf(c models.CaptionerSummary, m string) (v float64, missing bool, partial string) {
	sc, ok := c.Scores[m]
	switch {
	case !ok:
		return 0, true, ""
	case sc.N < c.Captions:
		return 0, false, fmt.Sprintf("%s covers %d of its %d captions (import what it lacks, such as references, and run auto-eval)", m, sc.N, c.Captions)
	case sc.N > c.Captions:
		return 0, false, fmt.Sprintf("%s was computed over %d captions and it has %d now (run auto-eval)", m, sc.N, c.Captions)
	}
	return sc.Value, false, ""
}

// rankCaptioners ranks every captioner by the combined score and decides
// which are kept; it returns the ranks (ranked ones first, by rank, then
// the unranked by ID) and the kept captioners in rank order. A captioner
// is ranked only when every ranking metric's aggregate covers exactly its
// captions.
func rankCaptioners(caps []models.CaptionerSummary, t Thresholds) ([]CaptionerRank, []models.CaptionerSummary) {
	w := t.Rank.weights()
	metrics := sortedKeys(w)
	var ranked, unranked []int
	missing := map[int][]string{}
	partial := map[int][]string{}
	for i, c := range caps {
		for _, m := range metrics {
			if _, miss, part := scoreOf(c, m); miss {
				missing[i] = append(missing[i], m)
			} else if part != "" {
				partial[i] = append(partial[i], part)
			}
		}
		if len(missing[i]) == 0 && len(partial[i]) == 0 {
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
			vals[j], _, _ = scoreOf(caps[i], m)
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
	var kept []models.CaptionerSummary
	mk := func(i int) CaptionerRank {
		c := caps[i]
		scores := make(map[string]float64, len(c.Scores))
		for m, sc := range c.Scores {
			scores[m] = sc.Value
		}
		return CaptionerRank{ID: c.ID, Name: c.Name, Version: c.Version, Captions: c.Captions, Scores: scores}
	}
	for r, i := range ranked {
		cr := mk(i)
		v := combined[i]
		cr.Combined, cr.Rank = &v, r+1
		var below []string
		for _, m := range sortedKeys(t.MinScores) {
			got, miss, part := scoreOf(caps[i], m)
			switch {
			case miss:
				below = append(below, fmt.Sprintf("no %s score to compare with the minimum %g", m, t.MinScores[m]))
			case part != "":
				below = append(below, fmt.Sprintf("%s: not compared with the minimum %g", part, t.MinScores[m]))
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
		var why []string
		if len(missing[i]) > 0 {
			why = append(why, "no "+strings.Join(missing[i], ", ")+" score (run auto-eval)")
		}
		cr.Reason = strings.Join(append(why, partial[i]...), "; ")
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
