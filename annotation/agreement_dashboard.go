package annotation

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"

	"capeval/annotation/agreement"
	"capeval/models"
)

// The agreement dashboard: per criterion, Krippendorff's alpha at the
// nominal, ordinal and interval levels with a bootstrap interval over
// items at the criterion's level (ordinal: a Likert scale and the A ≻ tie
// ≻ B choice are ordered, their distances unknown), Fleiss' kappa where it
// is defined, the Cohen kappa matrix between annotators; per annotator,
// their agreement with the rest (leave-one-out) beside their gold accuracy
// from the quality checks.
//
// It reads the raw ratings the view keeps (the annotator group, the
// exclusions unless included, the tag), never the z-normalized ones:
// agreement is about what the annotators said. Only items with two or
// more values of a criterion are pairable; a pairwise choice is the
// preference for A (1, ½ for a tie or "both bad", 0).

// dashboardLevel is the level alpha's interval is computed at.
const dashboardLevel = agreement.Ordinal

// unitSet is one criterion's items as alpha units: the kept values and who
// gave them, with each unit's pattern (its sorted values) so that alpha
// and its resamples are computed per distinct pattern.
type unitSet struct {
	crit    int
	items   []int32     // item index per unit (units with ≥ 1 value)
	vals    [][]float64 // values per unit, in rating order
	anns    [][]int32   // annotator per value
	domain  []float64
	pattern []int32 // per unit with ≥ 2 values, else −1
	pats    [][]float64
	count   []float64 // units per pattern
}

func signature(vals []float64) string {
	s := slices.Clone(vals)
	slices.Sort(s)
	var b strings.Builder
	for _, x := range s {
		b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
		b.WriteByte(',')
	}
	return b.String()
}

func newUnitSet(v *judgedView, crit int) *unitSet {
	j := v.j
	nc := len(j.criteria)
	u := &unitSet{crit: crit}
	dom := map[float64]bool{}
	for i, it := range j.items {
		if !v.keepImage[it.image] {
			continue
		}
		var vals []float64
		var anns []int32
		for r := it.start; r < it.end; r++ {
			if !v.keptRating[r] {
				continue
			}
			if x := j.rVal[int(r)*nc+crit]; !math.IsNaN(x) {
				vals = append(vals, x)
				anns = append(anns, j.rAnn[r])
				dom[x] = true
			}
		}
		if len(vals) == 0 {
			continue
		}
		u.items = append(u.items, int32(i))
		u.vals = append(u.vals, vals)
		u.anns = append(u.anns, anns)
	}
	for x := range dom {
		u.domain = append(u.domain, x)
	}
	slices.Sort(u.domain)
	bySig := map[string]int32{}
	u.pattern = make([]int32, len(u.vals))
	for k, vals := range u.vals {
		u.pattern[k] = -1
		if len(vals) < 2 {
			continue
		}
		sig := signature(vals)
		p, ok := bySig[sig]
		if !ok {
			p = int32(len(u.pats))
			bySig[sig] = p
			u.pats = append(u.pats, vals)
			u.count = append(u.count, 0)
		}
		u.pattern[k] = p
		u.count[p]++
	}
	return u
}

// alphaOf returns alpha at level of patterns pats with weights w (extra:
// more units, weight 1 each). A domain too large for the coincidence
// matrix falls back to AlphaUnits.
func alphaOf(domain []float64, pats [][]float64, w []float64, extra [][]float64, level agreement.Level) float64 {
	c, err := agreement.NewCoincidences(domain)
	if err != nil {
		var units [][]float64
		for p, vals := range pats {
			for range int(w[p]) {
				units = append(units, vals)
			}
		}
		a, _ := agreement.AlphaUnits(append(units, extra...), level)
		return a
	}
	for p, vals := range pats {
		if w[p] > 0 {
			_ = c.Add(vals, w[p])
		}
	}
	for _, vals := range extra {
		_ = c.Add(vals, 1)
	}
	a, _ := c.Alpha(level)
	return a
}

// computeAgreement builds the dashboard of the view.
func computeAgreement(v *judgedView, rep *QualityReport, resamples int, seed int64, level float64, workers int) Agreement {
	j := v.j
	out := Agreement{Criteria: []CriterionAgreement{}, Annotators: []AnnotatorAgreement{}}
	sets := make([]*unitSet, len(j.criteria))
	for c := range j.criteria {
		sets[c] = newUnitSet(v, c)
		out.Criteria = append(out.Criteria, criterionAgreement(v, sets[c]))
	}
	alphaIntervals(v, sets, out.Criteria, resamples, seed, level, workers)
	quality := map[int64]AnnotatorQuality{}
	if rep != nil {
		for _, a := range rep.Annotators {
			quality[a.Annotator.ID] = a
		}
	}
	ratings := make([]int, len(j.annotators))
	for _, a := range j.rAnn {
		ratings[a]++
	}
	order := make([]int, len(j.annotators))
	for a := range order {
		order[a] = a
	}
	slices.SortFunc(order, func(x, y int) int {
		ax, ay := j.annotators[x], j.annotators[y]
		return cmp.Or(cmp.Compare(boolInt(ax.imported), boolInt(ay.imported)), cmp.Compare(ax.id, ay.id), cmp.Compare(ax.external, ay.external))
	})
	for _, a := range order {
		ann := j.annotators[a]
		row := AnnotatorAgreement{Annotator: ann.label, AnnotatorID: ann.id, Imported: ann.imported, Ratings: ratings[a],
			Excluded: ann.excluded, GoldAccuracy: NaN(), Flags: []string{}, Criteria: []AnnotatorCriterion{}}
		if q, ok := quality[ann.id]; ok && !ann.imported {
			if q.Gold.Accuracy != nil {
				row.GoldAccuracy = Number(*q.Gold.Accuracy)
			}
			row.GoldScored = q.Gold.Scored
			for _, f := range q.Flags {
				row.Flags = append(row.Flags, f.Code)
			}
			row.Excluded = q.Exclusion.Excluded
		}
		for c := range j.criteria {
			row.Criteria = append(row.Criteria, leaveOneOut(v, sets[c], int32(a), out.Criteria[c]))
		}
		out.Annotators = append(out.Annotators, row)
	}
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func criterionAgreement(v *judgedView, u *unitSet) CriterionAgreement {
	j := v.j
	ca := CriterionAgreement{Criterion: j.criteria[u.crit], AlphaLevel: dashboardLevel.String(),
		AlphaCI: Interval{Low: NaN(), High: NaN()}, FleissKappa: NaN(), Items: len(u.vals)}
	annSet := map[int32]bool{}
	for k := range u.vals {
		ca.Ratings += len(u.vals[k])
		for _, a := range u.anns[k] {
			annSet[a] = true
		}
	}
	ca.Annotators = len(annSet)
	ca.Alpha = AlphaLevels{
		Nominal:  Number(alphaOf(u.domain, u.pats, u.count, nil, agreement.Nominal)),
		Ordinal:  Number(alphaOf(u.domain, u.pats, u.count, nil, agreement.Ordinal)),
		Interval: Number(alphaOf(u.domain, u.pats, u.count, nil, agreement.Interval)),
	}
	// Fleiss' kappa: the pairable items, on the scale's points; undefined
	// (null) when they have unequal numbers of ratings or a value off the
	// points (an imported mean).
	scale := j.scale[u.crit]
	var counts [][]int
	fleissOK := true
	for k, vals := range u.vals {
		if u.pattern[k] < 0 {
			continue
		}
		row := make([]int, len(scale))
		for _, x := range vals {
			p := slices.Index(scale, x)
			if p < 0 {
				fleissOK = false
				break
			}
			row[p]++
		}
		counts = append(counts, row)
	}
	if fleissOK && len(counts) > 0 {
		if kappa, err := agreement.Fleiss(counts); err == nil {
			ca.FleissKappa = Number(kappa.Value)
		}
	}
	ca.Kappa = kappaMatrix(v, u, annSet)
	return ca
}

// alphaIntervals sets each criterion's alpha interval from one bootstrap
// over the items: a replicate draws, with replacement, the items pairable
// in any criterion (two or more values), and each criterion's alpha is
// computed on the drawn items' patterns (an item not pairable in that
// criterion adds nothing). One set of draws serves every criterion: they
// are ratings of the same items.
func alphaIntervals(v *judgedView, sets []*unitSet, out []CriterionAgreement, resamples int, seed int64, level float64, workers int) {
	for c := range out {
		out[c].AlphaCI.Level = level
	}
	// pattern[c][k]: criterion c's pattern of drawable item k (−1: none).
	unitOf := make([]map[int32]int32, len(sets))
	items := map[int32]bool{}
	for c, u := range sets {
		unitOf[c] = map[int32]int32{}
		for k, it := range u.items {
			if u.pattern[k] >= 0 {
				unitOf[c][it] = u.pattern[k]
				items[it] = true
			}
		}
	}
	drawable := make([]int32, 0, len(items))
	for it := range items {
		drawable = append(drawable, it)
	}
	slices.Sort(drawable)
	if len(drawable) == 0 || resamples < 2 {
		return
	}
	// pattern[k*nc+c]: criterion c's pattern of drawable item k, the
	// criteria of one item side by side (one cache line per draw).
	nc := len(sets)
	pattern := make([]int32, len(drawable)*nc)
	for c := range sets {
		for k, it := range drawable {
			p, ok := unitOf[c][it]
			if !ok {
				p = -1
			}
			pattern[k*nc+c] = p
		}
	}
	reps, err := replicates(resamples, workers, len(sets), func() func(r int, out []float64) error {
		var idx []int
		w := make([][]float64, len(sets))
		for c, u := range sets {
			w[c] = make([]float64, len(u.pats))
		}
		return func(r int, row []float64) error {
			idx = agreement.NewSampler(seed, uint64(r)).Resample(idx, len(drawable))
			for c := range sets {
				clear(w[c])
			}
			for _, k := range idx {
				for c, p := range pattern[k*nc : (k+1)*nc] {
					if p >= 0 {
						w[c][p]++
					}
				}
			}
			for c, u := range sets {
				row[c] = math.NaN()
				if out[c].Alpha.Ordinal.Valid() {
					row[c] = alphaOf(u.domain, u.pats, w[c], nil, dashboardLevel)
				}
			}
			return nil
		}
	})
	if err != nil {
		return
	}
	for c := range sets {
		if ci, err := agreement.PercentileInterval(column(reps, c), level); err == nil {
			out[c].AlphaCI.Low, out[c].AlphaCI.High = Number(ci.Low), Number(ci.High)
		}
	}
}

// kappaMatrix is the Cohen kappa matrix between the annotators of the
// criterion (linear weights on a Likert scale, unweighted for the
// choice); a value off the scale's points counts as missing.
func kappaMatrix(v *judgedView, u *unitSet, annSet map[int32]bool) KappaMatrix {
	j := v.j
	w := agreement.Linear
	if j.mode == models.ModePairwise {
		w = agreement.Unweighted
	}
	km := KappaMatrix{Weighting: w.String(), Annotators: []string{}, Values: [][]Number{}}
	var anns []int32
	for a := range annSet {
		anns = append(anns, a)
	}
	slices.SortFunc(anns, func(x, y int32) int {
		ax, ay := j.annotators[x], j.annotators[y]
		return cmp.Or(cmp.Compare(boolInt(ax.imported), boolInt(ay.imported)), cmp.Compare(ax.id, ay.id), cmp.Compare(ax.external, ay.external))
	})
	if len(anns) == 0 {
		return km
	}
	row := map[int32]int{}
	data := make([][]float64, len(anns))
	for i, a := range anns {
		row[a] = i
		data[i] = nanSlice(len(u.vals))
		km.Annotators = append(km.Annotators, j.annotators[a].label)
	}
	scale := j.scale[u.crit]
	for k, vals := range u.vals {
		for q, x := range vals {
			if slices.Contains(scale, x) {
				data[row[u.anns[k][q]]][k] = x
			}
		}
	}
	m, err := agreement.CohenMatrix(data, scale, w)
	for i := range anns {
		line := make([]Number, len(anns))
		for k := range line {
			line[k] = NaN()
			if err == nil {
				line[k] = Number(m[i][k])
			}
		}
		km.Values = append(km.Values, line)
	}
	return km
}

// leaveOneOut is annotator a's agreement with the rest on a criterion:
// the Spearman correlation of their values with the mean of the others'
// on the items they share, and alpha without them minus alpha with them
// (for an annotator the view leaves out, "with" adds their ratings).
func leaveOneOut(v *judgedView, u *unitSet, a int32, ca CriterionAgreement) AnnotatorCriterion {
	j := v.j
	nc := len(j.criteria)
	out := AnnotatorCriterion{Criterion: j.criteria[u.crit], RestCorrelation: NaN(), AlphaWithout: NaN(), AlphaDelta: NaN()}
	kept := v.keepAnn[a]
	var xs, ys []float64
	w := slices.Clone(u.count)
	var extra [][]float64
	level := dashboardLevel
	// Units where a has a kept value: drop it. For an annotator left out
	// of the view, find their values in the items instead.
	if kept {
		for k, vals := range u.vals {
			q := slices.Index(u.anns[k], a)
			if q < 0 {
				continue
			}
			rest := slices.Delete(slices.Clone(vals), q, q+1)
			if len(rest) > 0 {
				xs = append(xs, vals[q])
				ys = append(ys, mean(rest))
			}
			if p := u.pattern[k]; p >= 0 {
				w[p]--
			}
			if len(rest) >= 2 {
				extra = append(extra, rest)
			}
		}
		out.Items = len(xs)
		without := alphaOf(u.domain, u.pats, w, extra, level)
		out.AlphaWithout = Number(without)
		out.AlphaDelta = Number(without - float64(ca.Alpha.Ordinal))
	} else {
		unitOf := map[int32]int{}
		for k, it := range u.items {
			unitOf[it] = k
		}
		domain := slices.Clone(u.domain)
		for i, it := range j.items {
			if !v.keepImage[it.image] {
				continue
			}
			for r := it.start; r < it.end; r++ {
				if j.rAnn[r] != a {
					continue
				}
				x := j.rVal[int(r)*nc+u.crit]
				if math.IsNaN(x) {
					continue
				}
				if !slices.Contains(domain, x) {
					domain = append(domain, x)
					slices.Sort(domain)
				}
				k, ok := unitOf[int32(i)]
				if !ok {
					continue
				}
				vals := u.vals[k]
				xs = append(xs, x)
				ys = append(ys, mean(vals))
				if p := u.pattern[k]; p >= 0 {
					w[p]--
				}
				extra = append(extra, append(slices.Clone(vals), x))
			}
		}
		out.Items = len(xs)
		with := alphaOf(domain, u.pats, w, extra, level)
		out.AlphaWithout = ca.Alpha.Ordinal
		out.AlphaDelta = Number(float64(ca.Alpha.Ordinal) - with)
	}
	if len(xs) >= 2 {
		if r, err := agreement.Spearman(xs, ys); err == nil {
			out.RestCorrelation = Number(r)
		}
	}
	return out
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// column returns column k of replicates.
func column(reps [][]float64, k int) []float64 {
	out := make([]float64, len(reps))
	for r, row := range reps {
		out[r] = row[k]
	}
	return out
}
