package annotation

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"

	"capeval/annotation/agreement"
	"capeval/models"
)

// The blended leaderboard of one view of the data and one set of images,
// with its two-stage bootstrap. A board is what the main table, each
// slice and the style-controlled table are.
//
// The human score of a captioner is the mean consensus of its items
// (Likert: the settings' criterion) or its Bradley–Terry rating fitted to
// every rating of the pairs as a battle (pairwise; the captioners without
// a battle are left out of the fit, "unplayed"). A metric's score is the
// mean of the captioner's per-caption scores over the board's images: the
// images with a human consensus in the view, or every kept image when
// there is none. Each source is normalized across the captioners that
// have it and blended with the weights (agreement.Blend: a captioner a
// positive-weight source lacks has no blended value and no rank).
//
// The intervals come from a two-stage bootstrap, seeded, each replicate r
// from agreement.NewSampler(seed, r): the board's images are drawn with
// replacement, then each drawn image's items have their ratings drawn with
// replacement (an adjudicated item keeps the lead's value), and every
// source, its normalization and the blend are computed again. Replicates
// are spread over the CPUs; since each has its own stream, the result does
// not depend on how many there are.

// board is one leaderboard's data, ready to compute and resample.
type board struct {
	v        *judgedView
	crit     int
	pairwise bool
	style    bool
	nc       int // captioners
	// imgs are the board's images; imgItems[k] the items of imgs[k] with
	// a value of the criterion (Likert) or a battle (pairwise).
	imgs     []int32
	imgItems [][]int32
	// vals[vStart[i]:vEnd[i]]: the values item i's consensus averages
	// (kept, with a value of the criterion); fixed[i]: the lead's value,
	// where isFixed[i]. Slices by item index, not maps: the bootstrap reads
	// them 250 million times.
	vStart, vEnd []int32
	vals         []float64
	fixed        []float64
	isFixed      []bool
	// metrics: mv[m][k*nc + c] is captioner c's score on image k (NaN:
	// none).
	metrics []string
	mv      [][]float64
	// pairwise: the captioners in the fit, by board position, and the
	// standardized length difference of each item's pair.
	players  []int
	playerOf []int // captioner → index in players, −1
	lengthD  []float64
	workers  int
	// The replicates' hot path (Likert): the items of board image k are
	// hot[hotStart[k]:hotStart[k+1]], so that a replicate reads memory in
	// order within each drawn image. An item of up to maxPattern values
	// has a table pattern: the ordered tuple of its values, shared by
	// every item with the same tuple (a Likert scale has few), whose
	// resampled consensus for each of the k^k draws is precomputed, so
	// that one draw and one lookup in a table that fits the cache replace
	// k multiplications over scattered memory.
	hot      []hotItem
	hotStart []int32
	hotVals  []float64
	hotV0    map[int32]int32   // hot index → first value, for items off the table
	multi    map[int32][]int32 // hot index → captioners, for shared texts
	patRes   []float64
}

// hotItem is one item of the replicates' hot path, 8 bytes: off is the
// first of its pattern's k^k results in patRes (−1: no pattern, its values
// at hotVals[hotV0[q]:][:n]; −2: a lead's fixed value at hotVals[hotV0[q]]),
// cap its captioner (−1 when it stands for several, listed in multi), n
// its number of values.
type hotItem struct {
	off    int32
	cap, n int16
}

// pow27x13 is 27^13, the most draws of 27 that one number below 2^63
// holds.
const pow27x13 = 4052555153018976267

// drawsOf[k] is k^k, the number of ways to draw k of k values.
var drawsOf = [maxPattern + 1]int{0, 1, 4, 27, 256, 3125}

// maxPatterns bounds the table patterns (z-normalized values are rarely
// shared; past the bound items take the general path).
const maxPatterns = 4096

// newBoard gathers the data of the view's images that inSubset keeps (nil:
// all kept images).
func newBoard(v *judgedView, inSubset func(img int32) bool, style bool, workers int) *board {
	j := v.j
	b := &board{v: v, crit: max(0, j.criterionIndex(v.settings.Criterion)), pairwise: j.mode == models.ModePairwise, style: style,
		nc: len(j.captioners), metrics: j.metrics, workers: workers}
	b.vStart, b.vEnd = make([]int32, len(j.items)), make([]int32, len(j.items))
	b.fixed, b.isFixed = make([]float64, len(j.items)), make([]bool, len(j.items))
	nc := len(j.criteria)
	byImage := map[int32][]int32{}
	for i, it := range j.items {
		if !v.keepImage[it.image] || inSubset != nil && !inSubset(it.image) {
			continue
		}
		start := len(b.vals)
		for r := it.start; r < it.end; r++ {
			if x := v.tv[int(r)*nc+b.crit]; !math.IsNaN(x) {
				b.vals = append(b.vals, x)
			}
		}
		fixed := v.adjudicatedItem(i, b.crit)
		if len(b.vals) == start && !fixed || b.pairwise && !hasBattle(j, it) {
			b.vals = b.vals[:start]
			continue
		}
		b.vStart[i], b.vEnd[i] = int32(start), int32(len(b.vals))
		if fixed {
			b.fixed[i], b.isFixed[i] = v.itemConsensus(i, b.crit), true
		}
		byImage[it.image] = append(byImage[it.image], int32(i))
	}
	for img := range byImage {
		b.imgs = append(b.imgs, img)
	}
	if len(b.imgs) == 0 {
		// No human judgment here: the metrics of every kept image.
		for i := range j.images {
			if v.keepImage[i] && (inSubset == nil || inSubset(int32(i))) {
				b.imgs = append(b.imgs, int32(i))
			}
		}
	}
	slices.Sort(b.imgs)
	pos := map[int32]int{}
	for k, img := range b.imgs {
		pos[img] = k
		b.imgItems = append(b.imgItems, byImage[img])
	}
	nm := len(j.metrics)
	b.mv = make([][]float64, nm)
	for m := range b.mv {
		b.mv[m] = make([]float64, len(b.imgs)*b.nc)
		for k := range b.mv[m] {
			b.mv[m][k] = math.NaN()
		}
	}
	for ci, c := range j.captions {
		k, ok := pos[c.image]
		if !ok {
			continue
		}
		for m := range nm {
			if x := j.captionScores[ci*nm+m]; !math.IsNaN(x) {
				b.mv[m][k*b.nc+int(c.captioner)] = x
			}
		}
	}
	if b.pairwise {
		b.preparePairs()
	} else {
		b.prepareHot()
	}
	return b
}

// prepareHot lays the items out for the replicates, image by image.
func (b *board) prepareHot() {
	j := b.v.j
	b.hotStart = make([]int32, len(b.imgs)+1)
	b.multi = map[int32][]int32{}
	b.hotV0 = map[int32]int32{}
	patOf := map[string]int32{}
	npat := 0
	var key []byte
	for k, items := range b.imgItems {
		b.hotStart[k] = int32(len(b.hot))
		for _, i := range items {
			vals := b.vals[b.vStart[i]:b.vEnd[i]]
			q := int32(len(b.hot))
			h := hotItem{cap: -1, off: -1, n: int16(min(len(vals), math.MaxInt16))}
			switch {
			case b.isFixed[i]:
				h.off, h.n = -2, 1
				b.hotV0[q] = int32(len(b.hotVals))
				b.hotVals = append(b.hotVals, b.fixed[i])
			default:
				b.hotV0[q] = int32(len(b.hotVals))
				b.hotVals = append(b.hotVals, vals...)
				if n := len(vals); n <= maxPattern {
					key = key[:0]
					for _, x := range vals {
						key = binary.LittleEndian.AppendUint64(key, math.Float64bits(x))
					}
					p, ok := patOf[string(key)]
					if !ok && npat < maxPatterns {
						p, ok = int32(len(b.patRes)), true
						patOf[string(key)] = p
						npat++
						draws := drawsOf[n]
						for d := range draws {
							if n == 1 {
								b.patRes = append(b.patRes, vals[0])
								continue
							}
							var s float64
							for t, x := range vals {
								s += float64(patterns[n][d*n+t]) * x
							}
							b.patRes = append(b.patRes, s/float64(n))
						}
					}
					if ok {
						h.off = p
						delete(b.hotV0, q)
					}
				}
			}
			caps := j.items[i].a
			if len(caps) == 1 {
				h.cap = int16(j.captions[caps[0]].captioner)
				if b.nc > math.MaxInt16 {
					h.cap = -1
					b.multi[q] = []int32{j.captions[caps[0]].captioner}
				}
			} else {
				for _, ci := range caps {
					b.multi[int32(len(b.hot))] = append(b.multi[int32(len(b.hot))], j.captions[ci].captioner)
				}
			}
			b.hot = append(b.hot, h)
		}
	}
	b.hotStart[len(b.imgs)] = int32(len(b.hot))
}

// resampleHuman is the second stage of a Likert replicate: each drawn
// image's items get their ratings drawn again (one draw per item of up to
// maxPattern ratings, through patterns), and each captioner's human score
// is the mean of its items' consensus. The draws are those consensusOf
// would make, in the same order.
func (b *board) resampleHuman(draws []int, rs *resampler, out []float64) {
	sum, n := make([]float64, b.nc), make([]float64, b.nc)
	vals, res := b.hotVals, b.patRes
	var buf27, buf4 uint64
	var left27, left4 int
	for _, k := range draws {
		lo, hi := b.hotStart[k], b.hotStart[k+1]
		for q := lo; q < hi; q++ {
			h := b.hot[q]
			var x float64
			switch {
			case h.off >= 0:
				d := 0
				switch h.n {
				case 1:
				case 3:
					// The usual three ratings: 13 draws of 27 from one
					// uniform number below 27^13, digit by digit.
					if left27 == 0 {
						buf27, left27 = uint64(rs.s.IntN(pow27x13)), 13
					}
					d = int(buf27 % 27)
					buf27 /= 27
					left27--
				case 2:
					if left4 == 0 {
						buf4, left4 = uint64(rs.s.IntN(1<<62)), 31
					}
					d = int(buf4 & 3)
					buf4 >>= 2
					left4--
				default:
					d = rs.s.IntN(drawsOf[h.n])
				}
				x = res[int(h.off)+d]
			case h.off == -2:
				if x = vals[b.hotV0[q]]; math.IsNaN(x) {
					continue
				}
			default:
				v := vals[b.hotV0[q]:][:h.n]
				kk := len(v)
				var s float64
				if kk <= maxPattern {
					pat := patterns[kk]
					p := rs.s.IntN(drawsOf[kk]) * kk
					for t, y := range v {
						s += float64(pat[p+t]) * y
					}
				} else {
					for range kk {
						s += v[rs.s.IntN(kk)]
					}
				}
				x = s / float64(kk)
			}
			if h.cap >= 0 {
				sum[h.cap] += x
				n[h.cap]++
				continue
			}
			for _, c := range b.multi[q] {
				sum[c] += x
				n[c]++
			}
		}
	}
	for c := range b.nc {
		if n[c] > 0 {
			out[c] = sum[c] / n[c]
		}
	}
}

// hasBattle reports whether a pair item compares two different captioners.
func hasBattle(j *judgments, it judgedItem) bool {
	for _, a := range it.a {
		for _, c := range it.b {
			if j.captions[a].captioner != j.captions[c].captioner {
				return true
			}
		}
	}
	return false
}

// preparePairs finds the captioners in battles and each pair's
// standardized length difference: PTB tokens (or words) of A minus B over
// the population standard deviation of the compared captions' lengths.
func (b *board) preparePairs() {
	j := b.v.j
	in := make([]bool, b.nc)
	var lens []float64
	for _, items := range b.imgItems {
		for _, i := range items {
			it := j.items[i]
			for _, a := range it.a {
				for _, c := range it.b {
					if ka, kb := j.captions[a].captioner, j.captions[c].captioner; ka != kb {
						in[ka], in[kb] = true, true
					}
				}
			}
			lens = append(lens, float64(j.captions[it.a[0]].tokens), float64(j.captions[it.b[0]].tokens))
		}
	}
	b.playerOf = make([]int, b.nc)
	for c := range b.nc {
		b.playerOf[c] = -1
		if in[c] {
			b.playerOf[c] = len(b.players)
			b.players = append(b.players, c)
		}
	}
	if !b.style {
		return
	}
	var mean, ss float64
	for _, x := range lens {
		mean += x
	}
	mean /= math.Max(1, float64(len(lens)))
	for _, x := range lens {
		ss += (x - mean) * (x - mean)
	}
	sd := math.Sqrt(ss / math.Max(1, float64(len(lens))))
	b.lengthD = make([]float64, len(j.items))
	for _, items := range b.imgItems {
		for _, i := range items {
			it := j.items[i]
			d := float64(j.captions[it.a[0]].tokens - j.captions[it.b[0]].tokens)
			if sd > 0 {
				d /= sd
			}
			b.lengthD[i] = d
		}
	}
}

// sources are the board's sources in output order: human, then the
// metrics.
func (b *board) sources() []string { return append([]string{SourceHuman}, b.metrics...) }

// estimate is one evaluation of the board (the full data or a replicate):
// raw[s][c] per source, the human fit's status (pairwise) and the length
// coefficient (style).
type estimate struct {
	raw    [][]float64
	status []agreement.FitStatus
	coef   float64
	items  []int // per captioner: items (Likert) or battles (pairwise)
	images []int
}

// resampler draws one replicate's images and ratings; nil means the full
// data.
type resampler struct {
	s       *agreement.Sampler
	imgIdx  []int
	counts  []float64
	scratch []float64
}

// patterns[k] lists, for each of the k^k ways to draw k of k ratings with
// replacement, how often each rating is drawn (k ≤ maxPattern): one draw
// per item instead of k.
var patterns = func() [][]uint8 {
	out := make([][]uint8, maxPattern+1)
	for k := 2; k <= maxPattern; k++ {
		n := 1
		for range k {
			n *= k
		}
		out[k] = make([]uint8, n*k)
		for p := range n {
			x := p
			for range k {
				out[k][p*k+x%k]++
				x /= k
			}
		}
	}
	return out
}()

const maxPattern = 5

// consensusOf returns item i's consensus, its ratings drawn again when rs
// is not nil.
func (b *board) consensusOf(i int32, rs *resampler) float64 {
	if b.isFixed[i] {
		return b.fixed[i]
	}
	vals := b.vals[b.vStart[i]:b.vEnd[i]]
	k := len(vals)
	if rs == nil || k == 1 {
		var s float64
		for _, x := range vals {
			s += x
		}
		return s / float64(k)
	}
	var s float64
	if k <= maxPattern {
		pat := patterns[k]
		p := rs.s.IntN(len(pat) / k)
		for q, x := range vals {
			s += float64(pat[p*k+q]) * x
		}
	} else {
		for range k {
			s += vals[rs.s.IntN(k)]
		}
	}
	return s / float64(k)
}

// evaluate computes every source on the full data (rs nil) or on one
// replicate; only reports whether the metrics (and which) are needed.
func (b *board) evaluate(rs *resampler, needMetric []bool) (estimate, error) {
	j := b.v.j
	nImg := len(b.imgs)
	e := estimate{raw: make([][]float64, 1+len(b.metrics)), coef: math.NaN()}
	for s := range e.raw {
		e.raw[s] = make([]float64, b.nc)
		for c := range e.raw[s] {
			e.raw[s][c] = math.NaN()
		}
	}
	// The images of this evaluation, as a list of board positions (with
	// repeats in a replicate) and as counts.
	var draws []int
	counts := make([]float64, nImg)
	if rs == nil {
		draws = make([]int, nImg)
		for k := range draws {
			draws[k] = k
		}
	} else {
		rs.imgIdx = rs.s.Resample(rs.imgIdx, nImg)
		draws = rs.imgIdx
	}
	for _, k := range draws {
		counts[k]++
	}
	if rs == nil {
		e.items, e.images = make([]int, b.nc), make([]int, b.nc)
	}
	if !b.pairwise && rs != nil {
		b.resampleHuman(draws, rs, e.raw[0])
	} else if !b.pairwise {
		sum, n := make([]float64, b.nc), make([]float64, b.nc)
		var seen []int32
		for _, k := range draws {
			if rs == nil {
				seen = seen[:0]
			}
			for _, i := range b.imgItems[k] {
				x := b.consensusOf(i, rs)
				if math.IsNaN(x) {
					continue
				}
				for _, ci := range j.items[i].a {
					c := j.captions[ci].captioner
					sum[c] += x
					n[c]++
					if rs == nil {
						e.items[c]++
						if !slices.Contains(seen, c) {
							seen = append(seen, c)
							e.images[c]++
						}
					}
				}
			}
		}
		for c := range b.nc {
			if n[c] > 0 {
				e.raw[0][c] = sum[c] / n[c]
			}
		}
	} else if err := b.fitPairs(draws, rs, &e); err != nil {
		return e, err
	}
	for m := range b.metrics {
		if needMetric != nil && !needMetric[m] {
			continue
		}
		col := b.mv[m]
		sum, n := make([]float64, b.nc), make([]float64, b.nc)
		for k, w := range counts {
			if w == 0 {
				continue
			}
			row := col[k*b.nc : (k+1)*b.nc]
			for c, x := range row {
				if !math.IsNaN(x) {
					sum[c] += w * x
					n[c] += w
				}
			}
		}
		for c := range b.nc {
			if n[c] > 0 {
				e.raw[1+m][c] = sum[c] / n[c]
			}
		}
	}
	return e, nil
}

// fitPairs fits Bradley–Terry (with the length covariate for a style
// board) to the battles of the drawn images' pairs.
func (b *board) fitPairs(draws []int, rs *resampler, e *estimate) error {
	j := b.v.j
	np := len(b.players)
	wins := make([][]float64, np)
	for p := range wins {
		wins[p] = make([]float64, np)
	}
	type key struct {
		item int32
		a, b int
	}
	var records []agreement.StyleRecord
	var recAt map[key]int
	if b.style {
		recAt = map[key]int{}
	}
	for _, k := range draws {
		for _, i := range b.imgItems[k] {
			it := j.items[i]
			// One draw per rating of the item (a fixed item: its ratings
			// count for the lead's value, as many as it has).
			vals := b.vals[b.vStart[i]:b.vEnd[i]]
			fixed, isFixed := b.fixed[i], b.isFixed[i]
			n := max(len(vals), 1)
			for q := range n {
				x := fixed
				if !isFixed {
					x = vals[q]
					if rs != nil {
						x = vals[rs.s.IntN(len(vals))]
					}
				}
				for _, ai := range it.a {
					for _, bi := range it.b {
						ca, cb := int(j.captions[ai].captioner), int(j.captions[bi].captioner)
						if ca == cb {
							continue
						}
						pa, pb := b.playerOf[ca], b.playerOf[cb]
						wins[pa][pb] += x
						wins[pb][pa] += 1 - x
						if rs == nil {
							e.items[ca]++
							e.items[cb]++
						}
						if b.style {
							kk := key{i, pa, pb}
							at, ok := recAt[kk]
							if !ok {
								at = len(records)
								recAt[kk] = at
								records = append(records, agreement.StyleRecord{A: pa, B: pb, D: b.lengthD[i]})
							}
							records[at].WinsA += x
							records[at].WinsB += 1 - x
						}
					}
				}
			}
		}
	}
	if np < 2 {
		return nil
	}
	names := make([]string, np)
	for p, c := range b.players {
		names[p] = j.captioners[c].label
	}
	var elo []float64
	var status []agreement.FitStatus
	var err error
	if b.style {
		var fit agreement.StyleFit
		fit, err = agreement.BradleyTerryStyle(names, records)
		elo, status, e.coef = fit.Elo, fit.Status, fit.Coefficient
	} else {
		elo, status, err = agreement.BradleyTerryWins(wins)
	}
	if err != nil && !errors.Is(err, agreement.ErrNotEstimable) && !errors.Is(err, agreement.ErrNoVariation) {
		return err
	}
	if rs == nil {
		e.status = make([]agreement.FitStatus, b.nc)
		for c := range b.nc {
			e.status[c] = agreement.Unplayed
		}
	}
	for p, c := range b.players {
		if status != nil && rs == nil {
			e.status[c] = status[p]
		}
		if elo != nil {
			e.raw[0][c] = elo[p]
		}
	}
	if rs == nil {
		for _, k := range draws {
			var seen []int
			for _, i := range b.imgItems[k] {
				it := j.items[i]
				for _, side := range [][]int32{it.a, it.b} {
					for _, ci := range side {
						c := int(j.captions[ci].captioner)
						if !slices.Contains(seen, c) {
							seen = append(seen, c)
							e.images[c]++
						}
					}
				}
			}
		}
	}
	return nil
}

// blendOf normalizes each source of raw with a positive weight and blends
// them: the blended value per captioner (NaN where a weighted source
// lacks it, or a source cannot be normalized).
func blendOf(raw [][]float64, sources []string, weights map[string]float64, how agreement.Normalization) (blended []float64, norm [][]float64, problems []string) {
	nc := len(raw[0])
	norm = make([][]float64, len(raw))
	var cols [][]float64
	var ws []float64
	for s, col := range raw {
		n, err := agreement.Normalize(col, how)
		if err != nil {
			n = nanSlice(nc)
			if weights[sources[s]] > 0 {
				problems = append(problems, fmt.Sprintf("%s cannot be normalized across the captioners (%v)", sources[s], errors.Unwrap(err)))
			}
		}
		norm[s] = n
		if w := weights[sources[s]]; w > 0 {
			cols = append(cols, n)
			ws = append(ws, w)
		}
	}
	blended, err := agreement.Blend(cols, ws)
	if err != nil {
		blended = nanSlice(nc)
	}
	return blended, norm, problems
}

func nanSlice(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = math.NaN()
	}
	return out
}

// boardResult is a computed board.
type boardResult struct {
	rows      []LeaderboardRow
	coef      ValueCI
	problems  []string
	humanRaw  []float64   // full-data human score per captioner
	metricRaw [][]float64 // full-data metric score per metric, per captioner
	// humanReps/metricReps: per replicate, the human and every metric's
	// scores, when run asked for them (the captioner-level correlations).
	reps [][]float64
}

// run computes the board: the full-data estimate, the bootstrap of the
// blended value and of each weighted source, the ranks. withAll asks the
// replicates to keep every source's scores (for the captioner-level
// correlation intervals); otherwise only the weighted metrics are
// resampled.
func (b *board) run(withAll bool) (*boardResult, error) {
	s := b.v.settings
	j := b.v.j
	sources := b.sources()
	how := normalization(s.Normalization)
	full, err := b.evaluate(nil, nil)
	if err != nil {
		return nil, err
	}
	blended, norm, problems := blendOf(full.raw, sources, s.Weights, how)
	res := &boardResult{problems: problems, humanRaw: full.raw[0], metricRaw: full.raw[1:], coef: ValueCI{NaN(), NaN(), NaN()}}
	if b.style {
		res.coef.Value = Number(full.coef)
	}
	need := make([]bool, len(b.metrics))
	for m, name := range b.metrics {
		need[m] = withAll || s.Weights[name] > 0
	}
	// A replicate's output: blended per captioner, then every source's raw
	// per captioner, then the coefficient.
	nc := b.nc
	width := nc*(1+len(sources)) + 1
	var reps [][]float64
	if len(b.imgs) > 0 {
		reps, err = replicates(s.Resamples, b.workers, width, func() func(r int, out []float64) error {
			rs := &resampler{}
			return func(r int, out []float64) error {
				rs.s = agreement.NewSampler(s.Seed, uint64(r))
				e, err := b.evaluate(rs, need)
				if err != nil {
					return err
				}
				bl, _, _ := blendOf(e.raw, sources, s.Weights, how)
				copy(out, bl)
				for src, col := range e.raw {
					copy(out[nc*(1+src):], col)
				}
				out[width-1] = e.coef
				return nil
			}
		})
		if err != nil {
			return nil, err
		}
	}
	cis := make([]agreement.CI, width)
	for k := range cis {
		cis[k] = agreement.CI{Low: math.NaN(), High: math.NaN(), Median: math.NaN()}
	}
	if len(reps) > 0 {
		if cis, err = agreement.PercentileIntervals(reps, s.Level); err != nil {
			return nil, err
		}
	}
	if b.style {
		res.coef.CILow, res.coef.CIHigh = Number(cis[width-1].Low), Number(cis[width-1].High)
	}
	if withAll {
		res.reps = reps
	}
	rows := make([]LeaderboardRow, nc)
	var ranked []int
	for c := range nc {
		row := LeaderboardRow{Captioner: j.captioners[c].label, CaptionerID: j.captioners[c].id, Scores: map[string]SourceScore{},
			Blended: ValueCI{Number(blended[c]), NaN(), NaN()}, Items: full.items[c], Images: full.images[c]}
		for src, name := range sources {
			sc := SourceScore{Raw: Number(full.raw[src][c]), Normalized: Number(norm[src][c]), CILow: NaN(), CIHigh: NaN()}
			if src == 0 || need[src-1] {
				ci := cis[nc*(1+src)+c]
				sc.CILow, sc.CIHigh = Number(ci.Low), Number(ci.High)
			}
			if src == 0 {
				sc.N = full.items[c]
				if full.status != nil {
					sc.Status = full.status[c].String()
				}
			} else {
				sc.N = countPresent(b.mv[src-1], c, nc)
			}
			row.Scores[name] = sc
		}
		if ci := cis[c]; !math.IsNaN(blended[c]) && !math.IsNaN(ci.Low) && !math.IsNaN(ci.High) {
			row.Blended.CILow, row.Blended.CIHigh = Number(ci.Low), Number(ci.High)
			ranked = append(ranked, c)
		} else {
			row.Note = unrankedNote(row, s.Weights, sources)
		}
		rows[c] = row
	}
	if len(ranked) > 0 {
		lo, hi := make([]float64, len(ranked)), make([]float64, len(ranked))
		for k, c := range ranked {
			lo[k], hi[k] = float64(rows[c].Blended.CILow), float64(rows[c].Blended.CIHigh)
		}
		best, worst, err := agreement.RankByCI(lo, hi)
		if err != nil {
			return nil, err
		}
		for k, c := range ranked {
			r, rr := best[k], [2]int{best[k], worst[k]}
			rows[c].Rank, rows[c].RankRange = &r, &rr
		}
	}
	sortRows(rows)
	res.rows = rows
	return res, nil
}

// countPresent counts the images of a metric column where captioner c has
// a score.
func countPresent(col []float64, c, nc int) int {
	n := 0
	for k := c; k < len(col); k += nc {
		if !math.IsNaN(col[k]) {
			n++
		}
	}
	return n
}

// unrankedNote says why a row has no rank.
func unrankedNote(row LeaderboardRow, weights map[string]float64, sources []string) string {
	var lacks []string
	for _, src := range sources {
		if weights[src] > 0 && !row.Scores[src].Raw.Valid() {
			what := src
			if src == SourceHuman {
				what = "a human score"
				if st := row.Scores[src].Status; st != "" && st != agreement.Rated.String() {
					what += " (" + st + ")"
				}
			}
			lacks = append(lacks, what)
		}
	}
	if len(lacks) == 0 {
		return "not ranked: its blended value has no interval (a source could not be normalized in the resamples)"
	}
	return fmt.Sprintf("not ranked: no %s", joinAnd(lacks))
}

func joinAnd(list []string) string {
	switch len(list) {
	case 0:
		return ""
	case 1:
		return list[0]
	}
	out := list[0]
	for _, s := range list[1 : len(list)-1] {
		out += ", " + s
	}
	return out + " and " + list[len(list)-1]
}

// sortRows orders rows best first: ranked by rank then blended value (then
// name), unranked after them by name.
func sortRows(rows []LeaderboardRow) {
	slices.SortStableFunc(rows, func(a, b LeaderboardRow) int {
		switch {
		case a.Rank != nil && b.Rank == nil:
			return -1
		case a.Rank == nil && b.Rank != nil:
			return 1
		case a.Rank != nil:
			if c := cmp.Compare(*a.Rank, *b.Rank); c != 0 {
				return c
			}
			if c := cmp.Compare(float64(b.Blended.Value), float64(a.Blended.Value)); c != 0 {
				return c
			}
		}
		return cmp.Or(cmp.Compare(a.Captioner, b.Captioner), cmp.Compare(a.CaptionerID, b.CaptionerID))
	})
}

// replicates runs n replicates of width values on up to workers
// goroutines (0: GOMAXPROCS). newWorker makes one worker's function, with
// its own scratch space; replicate r is written at row r, so the result
// is the same however the work is split.
func replicates(n, workers, width int, newWorker func() func(r int, out []float64) error) ([][]float64, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n)
	flat := make([]float64, n*width)
	out := make([][]float64, n)
	for r := range out {
		out[r] = flat[r*width : (r+1)*width : (r+1)*width]
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	next := make(chan int, n)
	for r := range n {
		next <- r
	}
	close(next)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn := newWorker()
			for r := range next {
				if err := fn(r, out[r]); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sortedTags returns the tags of the kept images, sorted.
func sortedTags(v *judgedView) []string {
	seen := map[string]bool{}
	for i, im := range v.j.images {
		if v.keepImage[i] {
			for _, t := range im.tags {
				seen[t] = true
			}
		}
	}
	tags := make([]string, 0, len(seen))
	for t := range seen {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	return tags
}
