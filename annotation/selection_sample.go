package annotation

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"capeval/models"
)

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
func (s *selector) perCaptioner(kept []models.CaptionerSummary, captions []models.Caption) {
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
func (s *selector) perImage(ctx context.Context, r selectionReader, kept []models.CaptionerSummary, captions []models.Caption) error {
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
	err := r.EachCaptionScore(ctx, keptIDs, metrics, func(row models.CaptionScoreRow) error {
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
