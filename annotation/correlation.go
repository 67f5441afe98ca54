package annotation

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"capeval/annotation/agreement"
)

// CorrelationResamples is the number of bootstrap resamples behind the
// human–metric correlation intervals (at most the settings' resamples):
// each replicate computes Pearson, Spearman and Kendall's tau over every
// rated caption for every metric, which costs far more than a leaderboard
// replicate, and at the caption counts of a campaign the intervals are
// narrow; the provenance records the number used.
const CorrelationResamples = 200

// The human–metric agreement. At caption level each rated caption's metric
// score is paired with its item's consensus of the leaderboard's
// criterion (pairwise: the difference of the two captions' scores with
// the share of ratings preferring A); at captioner level each captioner's
// metric score with its human score (the leaderboard's raw scores). Both
// bootstraps resample the leaderboard's images (the caption level keeps
// each item's full-data consensus), CorrelationResamples times, seeded as
// the leaderboard is.

// corrPairs are the caption-level pairs of one metric, by board image.
type corrPairs struct {
	x, y  []float64
	img   []int32 // board position of the pair's image
	item  []int32
	byImg [][]int32 // pair indices per board image
}

func (b *board) captionPairs(m int) *corrPairs {
	j := b.v.j
	nm := len(j.metrics)
	p := &corrPairs{byImg: make([][]int32, len(b.imgs))}
	score := func(ci int32) float64 { return j.captionScores[int(ci)*nm+m] }
	for k, items := range b.imgItems {
		for _, i := range items {
			cons := b.v.itemConsensus(int(i), b.crit)
			if math.IsNaN(cons) {
				continue
			}
			it := j.items[i]
			add := func(x float64) {
				if math.IsNaN(x) {
					return
				}
				p.byImg[k] = append(p.byImg[k], int32(len(p.x)))
				p.x, p.y = append(p.x, x), append(p.y, cons)
				p.img, p.item = append(p.img, int32(k)), append(p.item, i)
			}
			if it.pair {
				add(score(it.a[0]) - score(it.b[0]))
				continue
			}
			for _, ci := range it.a {
				add(score(ci))
			}
		}
	}
	return p
}

// coefficients returns Pearson, Spearman, tau-b and tau-c of x and y (NaN
// where undefined).
func coefficients(x, y []float64) [4]float64 {
	out := [4]float64{math.NaN(), math.NaN(), math.NaN(), math.NaN()}
	if len(x) < 2 {
		return out
	}
	if r, err := agreement.Pearson(x, y); err == nil {
		out[0] = r
	}
	if r, err := agreement.Spearman(x, y); err == nil {
		out[1] = r
	}
	if k, err := agreement.Kendall(x, y); err == nil {
		out[2], out[3] = k.TauB, k.TauC
	}
	return out
}

// correlations computes the correlation rows of the board's criterion,
// by metric then level, and the metric–human adjudication queue.
func (b *board) correlations(res *boardResult, resamples int, maxQueue int) ([]CorrelationRow, []AdjudicationItem, error) {
	j := b.v.j
	s := b.v.settings
	crit := j.criteria[b.crit]
	nm := len(j.metrics)
	pairs := make([]*corrPairs, nm)
	for m := range nm {
		pairs[m] = b.captionPairs(m)
	}
	// Full-data values: caption level per metric, captioner level per
	// metric.
	type full struct {
		caption, captioner [4]float64
		nCap, nCaptioner   int
	}
	fulls := make([]full, nm)
	capXY := func(metricRaw, humanRaw []float64) (xs, ys []float64) {
		for c := range humanRaw {
			if !math.IsNaN(metricRaw[c]) && !math.IsNaN(humanRaw[c]) {
				xs, ys = append(xs, metricRaw[c]), append(ys, humanRaw[c])
			}
		}
		return xs, ys
	}
	for m := range nm {
		fulls[m].caption = coefficients(pairs[m].x, pairs[m].y)
		fulls[m].nCap = len(pairs[m].x)
		xs, ys := capXY(res.metricRaw[m], res.humanRaw)
		fulls[m].captioner = coefficients(xs, ys)
		fulls[m].nCaptioner = len(xs)
	}
	// Replicates: per metric, 4 caption-level then 4 captioner-level
	// coefficients.
	width := nm * 8
	var cis []agreement.CI
	if nm > 0 && len(b.imgs) > 0 && resamples > 1 {
		prepared := make([]*agreement.Paired, nm)
		for m := range nm {
			var err error
			if prepared[m], err = agreement.NewPaired(pairs[m].x, pairs[m].y); err != nil {
				return nil, nil, err
			}
		}
		reps, err := replicates(resamples, b.workers, width, func() func(r int, out []float64) error {
			rs := &resampler{}
			counts := make([]float64, len(b.imgs))
			var w []float64
			return func(r int, out []float64) error {
				rs.s = agreement.NewSampler(s.Seed, uint64(r))
				e, err := b.evaluate(rs, nil)
				if err != nil {
					return err
				}
				clear(counts)
				for _, k := range rs.imgIdx {
					counts[k]++
				}
				for m := range nm {
					// A pair counts as often as its image was drawn.
					w = w[:0]
					for _, k := range pairs[m].img {
						w = append(w, counts[k])
					}
					pc, err := prepared[m].Correlations(w)
					if err != nil {
						return err
					}
					copy(out[m*8:], []float64{pc.Pearson, pc.Spearman, pc.TauB, pc.TauC})
					cx, cy := capXY(e.raw[1+m], e.raw[0])
					c := coefficients(cx, cy)
					copy(out[m*8+4:], c[:])
				}
				return nil
			}
		})
		if err != nil {
			return nil, nil, err
		}
		if cis, err = agreement.PercentileIntervals(reps, s.Level); err != nil {
			return nil, nil, err
		}
	}
	est := func(v float64, k int) ValueCI {
		out := ValueCI{Number(v), NaN(), NaN()}
		if cis != nil {
			out.CILow, out.CIHigh = Number(cis[k].Low), Number(cis[k].High)
		}
		return out
	}
	rows := []CorrelationRow{}
	for m, name := range j.metrics {
		f := fulls[m]
		for lvl, vals := range [][4]float64{f.caption, f.captioner} {
			row := CorrelationRow{Metric: name, Criterion: crit, Level: LevelCaption, N: f.nCap}
			if lvl == 1 {
				row.Level, row.N = LevelCaptioner, f.nCaptioner
			}
			base := m*8 + lvl*4
			row.Pearson, row.Spearman = est(vals[0], base), est(vals[1], base+1)
			row.KendallTauB, row.KendallTauC = est(vals[2], base+2), est(vals[3], base+3)
			rows = append(rows, row)
		}
	}
	return rows, b.metricHumanQueue(pairs, maxQueue), nil
}

// metricHumanQueue lists the items where a metric and the humans disagree
// most: per caption-level pair, the difference of the metric's and the
// consensus's normalized ranks (mid-ranks mapped to [0, 1]); each item
// once, with its largest gap, largest first.
func (b *board) metricHumanQueue(pairs []*corrPairs, limit int) []AdjudicationItem {
	j := b.v.j
	type best struct {
		gap, value float64
		metric     int
	}
	worst := map[int32]best{}
	for m, p := range pairs {
		n := len(p.x)
		if n < 2 {
			continue
		}
		rx, ry := agreement.Ranks(p.x), agreement.Ranks(p.y)
		for q := range n {
			gap := math.Abs(rx[q]-ry[q]) / float64(n-1)
			it := p.item[q]
			if w, ok := worst[it]; !ok || gap > w.gap {
				worst[it] = best{gap, p.x[q], m}
			}
		}
	}
	var items []int32
	for it := range worst {
		items = append(items, it)
	}
	slices.SortFunc(items, func(a, c int32) int {
		return cmp.Or(cmp.Compare(worst[c].gap, worst[a].gap), cmp.Compare(j.items[a].taskID, j.items[c].taskID))
	})
	out := []AdjudicationItem{}
	for _, i := range items[:min(limit, len(items))] {
		w := worst[i]
		ai := b.v.adjudicationItem(int(i), b.crit)
		ai.Metric, ai.MetricValue, ai.Gap = j.metrics[w.metric], Number(w.value), Number(w.gap)
		out = append(out, ai)
	}
	return out
}

// suggestWeights derives the offered weighting from the caption-level
// correlation rows.
func suggestWeights(rows []CorrelationRow, crit string) SuggestedWeights {
	sw := SuggestedWeights{Weights: map[string]float64{SourceHuman: 1},
		Basis: fmt.Sprintf("human 1; each metric the lower bound of its caption-level Kendall tau-c with the human consensus of %q when that is above 0, else 0 (rounded to 0.01): a metric counts only as far as it is shown to agree with the humans", crit)}
	for _, r := range rows {
		if r.Level != LevelCaption {
			continue
		}
		w := 0.0
		if lo := float64(r.KendallTauC.CILow); r.KendallTauC.CILow.Valid() && lo > 0 {
			w = math.Round(lo*100) / 100
		}
		sw.Weights[r.Metric] = w
	}
	return sw
}
