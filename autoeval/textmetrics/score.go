package textmetrics

import (
	"fmt"
	"math"
)

// Hypothesis is one generated caption to score.
type Hypothesis struct {
	ImageID string
	Caption string
	// Tokenized marks a caption already tokenized (tokens joined by single
	// spaces); otherwise it is tokenized as Tokenize does.
	Tokenized bool
}

// pycocoevalcap's BLEU smoothing constants.
const (
	bleuTiny  = 1e-15
	bleuSmall = 1e-9
)

// CIDEr-D's Gaussian length penalty: exp(-delta²/(2σ²)) with σ = 6.
const ciderSigma = 6.0

// Score scores hyps, one per image, against the references of their images,
// as pycocoevalcap does when the evaluated set is exactly these images
// (CIDEr-D's document frequencies come from their references). Images are
// reported in the order of hyps. No metrics means all of them.
func (rs *ReferenceSet) Score(hyps []Hypothesis, metrics ...Metric) (*Result, error) {
	doBleu, doRouge, doCider, err := normalizeMetrics(metrics)
	if err != nil {
		return nil, err
	}
	if len(hyps) == 0 {
		return nil, ErrEmpty
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()

	evaluated := make([]int32, len(hyps))
	seen := make(map[int32]bool, len(hyps))
	var unknown, dups []string
	for k, h := range hyps {
		i, ok := rs.index[h.ImageID]
		if !ok {
			unknown = append(unknown, h.ImageID)
			continue
		}
		if seen[i] {
			dups = append(dups, h.ImageID)
		}
		seen[i] = true
		evaluated[k] = i
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrUnknownImage, listIDs(unknown))
	}
	if len(dups) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrDuplicateImage, listIDs(dups))
	}
	if !rs.built {
		rs.build()
	}
	if doCider {
		rs.prepareCIDEr(evaluated)
	}

	res := &Result{ImageIDs: make([]string, len(hyps))}
	if doBleu {
		res.Names = append(res.Names, BLEU.Names()...)
	}
	if doRouge {
		res.Names = append(res.Names, ROUGE.Names()...)
	}
	if doCider {
		res.Names = append(res.Names, CIDEr.Names()...)
	}
	width := len(res.Names)
	res.PerImage = make([]float64, len(hyps)*width)
	var stats []bleuCounts
	if doBleu {
		stats = make([]bleuCounts, len(hyps))
	}

	workers := rs.opts.workers()
	for w := 0; w < workers; w++ {
		rs.worker(w).vocabSize = int32(len(rs.vocab))
	}
	parallel(workers, len(hyps), func(w, k int) {
		hw := rs.workers[w]
		img := &rs.images[evaluated[k]]
		res.ImageIDs[k] = img.id
		hw.prepare(rs, img, hyps[k])
		row := res.PerImage[k*width : (k+1)*width]
		col := 0
		if doBleu {
			stats[k] = hw.bleu(img)
			stats[k].scores(row[:4])
			col = 4
		}
		if doRouge {
			row[col] = hw.rouge(img)
			col++
		}
		if doCider {
			rs.ensureCIDEr(img)
			row[col] = hw.cider(rs, img)
		}
	})

	res.Corpus = make([]float64, width)
	col := 0
	if doBleu {
		var total bleuCounts
		for _, s := range stats {
			total.testLen += s.testLen
			total.refLen += s.refLen
			for n := 0; n < maxGramOrder; n++ {
				total.guess[n] += s.guess[n]
				total.correct[n] += s.correct[n]
			}
		}
		total.scores(res.Corpus[:4])
		res.BLEU = &BLEUStats{TestLen: total.testLen, RefLen: total.refLen, Guess: total.guess, Correct: total.correct}
		col = 4
	}
	column := make([]float64, len(hyps))
	for ; col < width; col++ {
		for k := range hyps {
			column[k] = res.PerImage[k*width+col]
		}
		res.Corpus[col] = npMean(column)
	}
	return res, nil
}

// bleuCounts are BLEU's statistics of one hypothesis or of a corpus.
type bleuCounts struct {
	testLen, refLen int
	guess, correct  [maxGramOrder]int
}

// scores writes BLEU-1..4 from the counts into dst, as pycocoevalcap's
// BleuScorer computes both its per-image and its corpus scores.
func (c *bleuCounts) scores(dst []float64) {
	bleu := 1.0
	for k := 0; k < maxGramOrder; k++ {
		bleu *= (float64(c.correct[k]) + bleuTiny) / (float64(c.guess[k]) + bleuSmall)
		dst[k] = math.Pow(bleu, 1/float64(k+1))
	}
	ratio := (float64(c.testLen) + bleuTiny) / (float64(c.refLen) + bleuSmall)
	if ratio < 1 {
		bp := math.Exp(1 - 1/ratio)
		for k := range dst[:maxGramOrder] {
			dst[k] *= bp
		}
	}
}

// hypGram is a distinct n-gram of the hypothesis.
type hypGram struct {
	id    int32 // global id, or -1 when no reference n-gram matches it
	local int32 // index in the image's n-grams, or -1
	count int32
	n     int32
}

// localTable maps n-gram keys to what one hypothesis needs about them: the
// image's n-grams (global id and local index) and the hypothesis' own. It is
// small (a few hundred slots), so its probes stay in cache where the global
// table's would not; most of a hypothesis' n-grams are found here.
type localTable struct {
	slots []localSlot
	mask  uint64
}

type localSlot struct {
	key   uint64 // gramKey; 0: empty
	id    int32  // global id, or -1
	local int32  // index in the image's n-grams, or -1
	hyp   int32  // index in hypWorker.grams, or -1
}

// reset empties the table and sizes it for n keys at most half full.
func (lt *localTable) reset(n int) {
	size := 64
	for size < 2*n {
		size *= 2
	}
	if cap(lt.slots) < size {
		lt.slots = make([]localSlot, size)
	} else {
		lt.slots = lt.slots[:size]
		clear(lt.slots)
	}
	lt.mask = uint64(size - 1)
}

// find returns the slot of key, or the empty slot where it goes.
func (lt *localTable) find(key uint64) *localSlot {
	for i := gramHash(key) & lt.mask; ; i = (i + 1) & lt.mask {
		if s := &lt.slots[i]; s.key == key || s.key == 0 {
			return s
		}
	}
}

// hypWorker scores hypotheses; each worker goroutine owns one, so its
// buffers are reused without locking.
type hypWorker struct {
	tk         tokenizer
	words      []span
	rougeSpans []span
	wordIDs    []int32
	rougeIDs   []int32
	unknown    []string // tokens not in the references; id vocabSize+index
	ids        [maxGramOrder][]int32
	grams      []hypGram
	byOrder    [maxGramOrder + 1]int32 // grams[byOrder[n-1]:byOrder[n]] have order n
	idTab      idTable                 // used while building the reference set
	lt         localTable              // this hypothesis' n-grams and its image's
	lcsRow     []int32
	vocabSize  int32
	refRow     []float64 // one reference's CIDEr-D values by local n-gram index
}

// tokenID returns the id of a hypothesis token: the reference vocabulary's,
// or one of this hypothesis' own past the vocabulary.
func (hw *hypWorker) tokenID(rs *ReferenceSet, tok []byte) int32 {
	if id, ok := rs.vocab[string(tok)]; ok {
		return id
	}
	for j, u := range hw.unknown {
		if u == string(tok) {
			return hw.vocabSize + int32(j)
		}
	}
	hw.unknown = append(hw.unknown, string(tok))
	return hw.vocabSize + int32(len(hw.unknown)-1)
}

// prepare tokenizes h and finds its distinct n-grams and where they occur in
// img's references.
func (hw *hypWorker) prepare(rs *ReferenceSet, img *refImage, h Hypothesis) {
	hw.tk.reset()
	hw.unknown = hw.unknown[:0]
	hw.words, hw.rougeSpans = hw.tk.captionViews(h.Caption, !h.Tokenized, hw.words[:0], hw.rougeSpans[:0])
	buf := hw.tk.buf
	hw.wordIDs = hw.wordIDs[:0]
	for _, sp := range hw.words {
		hw.wordIDs = append(hw.wordIDs, hw.tokenID(rs, buf[sp.start:sp.end]))
	}
	if sameSpans(hw.words, hw.rougeSpans) {
		hw.rougeIDs = append(hw.rougeIDs[:0], hw.wordIDs...)
	} else {
		hw.rougeIDs = hw.rougeIDs[:0]
		for _, sp := range hw.rougeSpans {
			hw.rougeIDs = append(hw.rougeIDs, hw.tokenID(rs, buf[sp.start:sp.end]))
		}
	}

	words := hw.wordIDs
	hw.lt.reset(len(img.grams) + maxGramOrder*len(words))
	for li, key := range img.gramKeys {
		*hw.lt.find(key) = localSlot{key: key, id: img.grams[li], local: int32(li), hyp: -1}
	}
	numGrams := int32(rs.grams.count)
	hw.grams = hw.grams[:0]
	for n := 1; n <= maxGramOrder; n++ {
		hw.byOrder[n-1] = int32(len(hw.grams))
		ids := hw.ids[n-1][:0]
		for p := 0; p+n <= len(words); p++ {
			prefix := int32(-1)
			if n > 1 {
				prefix = hw.ids[n-2][p]
			}
			ids = append(ids, hw.addGram(rs, prefix, words[p+n-1], int32(n), numGrams))
		}
		hw.ids[n-1] = ids
	}
	hw.byOrder[maxGramOrder] = int32(len(hw.grams))
}

// addGram counts one occurrence of the n-gram made of the n-gram prefix (an
// id as addGram returns them; -1 for a unigram) and token tok. It returns the
// n-gram's id: global, or numGrams + its index in grams when no reference has
// it. Keys are built as the global table's, so an n-gram is found in the
// local table exactly when the image's references or the hypothesis have it;
// an n-gram with an unseen prefix is unseen too.
func (hw *hypWorker) addGram(rs *ReferenceSet, prefix, tok, n, numGrams int32) int32 {
	key := gramKey(prefix, tok)
	s := hw.lt.find(key)
	if s.key == key {
		if s.hyp >= 0 {
			hw.grams[s.hyp].count++
		} else { // an n-gram of the image's references, first seen here
			s.hyp = int32(len(hw.grams))
			hw.grams = append(hw.grams, hypGram{id: s.id, local: s.local, count: 1, n: n})
		}
		if s.id >= 0 {
			return s.id
		}
		return numGrams + s.hyp
	}
	g := int32(-1) // not in the image's references: maybe in another image's
	if n == 1 {
		g = rs.grams.lookupUnigram(tok)
	} else if prefix < numGrams {
		g = rs.grams.lookup(prefix, tok)
	}
	j := int32(len(hw.grams))
	*s = localSlot{key: key, id: g, local: -1, hyp: j}
	hw.grams = append(hw.grams, hypGram{id: g, local: -1, count: 1, n: n})
	if g >= 0 {
		return g
	}
	return numGrams + j
}

// bleu returns the hypothesis' BLEU statistics against img's references:
// counts clipped to the largest count in one reference, and the closest
// reference length (ties to the shorter).
func (hw *hypWorker) bleu(img *refImage) bleuCounts {
	var c bleuCounts
	c.testLen = len(hw.wordIDs)
	best := -1
	for r := 0; r < img.numRefs(); r++ {
		l := int(img.wordOff[r+1] - img.wordOff[r])
		d := l - c.testLen
		if d < 0 {
			d = -d
		}
		bd := best - c.testLen
		if bd < 0 {
			bd = -bd
		}
		if best < 0 || d < bd || d == bd && l < best {
			best = l
		}
	}
	c.refLen = best
	for n := 0; n < maxGramOrder; n++ {
		c.guess[n] = max(0, c.testLen-n)
	}
	for _, g := range hw.grams {
		if g.local >= 0 {
			c.correct[g.n-1] += int(min(g.count, img.maxCount[g.local]))
		}
	}
	return c
}

// rouge returns ROUGE-L with β = 1.2: the longest common subsequence with
// each reference, precision and recall each maximized over the references.
func (hw *hypWorker) rouge(img *refImage) float64 {
	hyp := hw.rougeIDs
	precMax, recMax := 0.0, 0.0
	for r := 0; r < img.numRefs(); r++ {
		ref := img.rougeIDs[img.rougeOff[r]:img.rougeOff[r+1]]
		l := float64(hw.lcs(ref, hyp))
		precMax = math.Max(precMax, l/float64(len(hyp)))
		recMax = math.Max(recMax, l/float64(len(ref)))
	}
	if precMax == 0 || recMax == 0 {
		return 0
	}
	beta := 1.2
	beta2 := beta * beta // as Python's self.beta**2, rounded once
	return (1 + beta2) * precMax * recMax / (recMax + beta2*precMax)
}

// lcs returns the length of the longest common subsequence of a and b with
// one rolling row.
func (hw *hypWorker) lcs(a, b []int32) int32 {
	if len(a) < len(b) {
		a, b = b, a
	}
	if cap(hw.lcsRow) < len(b)+1 {
		hw.lcsRow = make([]int32, len(b)+1)
	}
	row := hw.lcsRow[:len(b)+1]
	clear(row)
	for _, x := range a {
		var diag int32 // row[j-1] of the previous line
		for j, y := range b {
			up := row[j+1]
			switch {
			case x == y:
				row[j+1] = diag + 1
			case row[j] > up:
				row[j+1] = row[j]
			}
			diag = up
		}
	}
	return row[len(b)]
}

// cider returns CIDEr-D: per order n, the cosine of clipped tf·idf vectors
// with a Gaussian penalty on the difference in bigram counts, averaged over
// orders and references, times 10.
func (hw *hypWorker) cider(rs *ReferenceSet, img *refImage) float64 {
	var vec [64]float64
	hv := vec[:0]
	if len(hw.grams) > len(vec) {
		hv = make([]float64, 0, len(hw.grams))
	}
	var normH [maxGramOrder]float64
	for _, g := range hw.grams {
		idf := rs.refLen // df 0: log(max(1, 0)) = 0
		if g.id >= 0 {
			idf = rs.idf[g.id]
		}
		v := float64(g.count) * idf
		hv = append(hv, v)
		normH[g.n-1] += v * v
	}
	for n := range normH {
		normH[n] = math.Sqrt(normH[n])
	}
	lenH := max(0, len(hw.wordIDs)-1) // pycocoevalcap's "length": the bigram count

	var score [maxGramOrder]float64
	if cap(hw.refRow) < len(img.grams) {
		hw.refRow = make([]float64, len(img.grams))
	}
	row := hw.refRow[:len(img.grams)] // all zero between uses
	for r := 0; r < img.numRefs(); r++ {
		lo, hi := img.refOff[r], img.refOff[r+1]
		for k := lo; k < hi; k++ {
			row[img.refGrams[k].local] = img.vals[k]
		}
		lenR := max(0, int(img.wordOff[r+1]-img.wordOff[r])-1)
		delta := float64(lenH - lenR)
		penalty := math.Pow(math.E, -(delta*delta)/(2*ciderSigma*ciderSigma))
		for n := 0; n < maxGramOrder; n++ {
			val := 0.0
			for j := hw.byOrder[n]; j < hw.byOrder[n+1]; j++ {
				g := hw.grams[j]
				if g.local < 0 {
					continue // the reference's value is 0: the term adds 0
				}
				vr := row[g.local]
				val += math.Min(hv[j], vr) * vr
			}
			normR := img.norms[r*maxGramOrder+n]
			if normH[n] != 0 && normR != 0 {
				val /= normH[n] * normR
			}
			val *= penalty
			score[n] += val
		}
		for k := lo; k < hi; k++ {
			row[img.refGrams[k].local] = 0
		}
	}
	// np.mean of the four orders, then / references, × 10.
	avg := (((score[0] + score[1]) + score[2]) + score[3]) / maxGramOrder
	avg /= float64(img.numRefs())
	return avg * 10
}
