package annotation

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"capeval/models"
)

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
