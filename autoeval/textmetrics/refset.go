package textmetrics

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// Options tunes an evaluation; the zero value is ready to use.
type Options struct {
	// Workers is the number of goroutines that tokenize and score; 0 or
	// less means runtime.GOMAXPROCS(0). Results do not depend on it.
	Workers int
}

func (o Options) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// Errors reported for inconsistent input.
var (
	ErrDuplicateImage = errors.New("textmetrics: image given twice")
	ErrUnknownImage   = errors.New("textmetrics: image has no references")
	ErrNoReferences   = errors.New("textmetrics: image needs at least one reference")
	ErrFrozen         = errors.New("textmetrics: reference set already scored; references can no longer be added")
)

// maxGramOrder is the largest n-gram order of BLEU and CIDEr-D.
const maxGramOrder = 4

// ReferenceSet holds the references of a set of images, tokenized and
// interned once, so that many hypothesis sets (one per captioning model) can
// be scored against them cheaply. Add references first; the first Score
// freezes the set. Score is safe to call from one goroutine at a time.
type ReferenceSet struct {
	opts    Options
	index   map[string]int32
	pending []pendingRefs // input kept until the set is built
	images  []refImage
	built   bool
	mu      sync.Mutex

	workers []*hypWorker // per-worker buffers, reused by every Score

	vocab map[string]int32 // token → id; "" is 0 (ROUGE-L's empty token)
	grams *gramTable       // every reference n-gram, ids 0..numGrams-1

	// CIDEr-D document frequencies of the last evaluated image set, and the
	// idf derived from them; idfGen changes whenever they do.
	df     []int32
	idf    []float64
	refLen float64
	idfGen int
}

type pendingRefs struct {
	refs     []string
	tokenize bool
}

// refImage is one image's references, ready for scoring.
type refImage struct {
	id string
	// Token ids per reference, in flat arrays with offsets (len refs+1).
	wordIDs  []int32
	wordOff  []int32
	rougeIDs []int32
	rougeOff []int32
	// Every distinct n-gram of the references: local index → global id,
	// and its table key, for the hypotheses' image-local lookups.
	grams    []int32
	gramKeys []uint64
	maxCount []int32 // BLEU: largest count of each n-gram in one reference
	// Per reference, its n-grams in first-occurrence order, n-major (the
	// order pycocoevalcap's dicts iterate in), in a flat array with offsets.
	refGrams []gramCount
	refOff   []int32
	// CIDEr-D vectors for idf generation cidGen: vals[k] is refGrams[k]'s
	// tf·idf, norms[r*4+n-1] the norm of reference r's order-n vector.
	vals   []float64
	norms  []float64
	cidGen int
}

type gramCount struct {
	local int32
	count int32
	n     int32
}

func (m *refImage) numRefs() int { return len(m.wordOff) - 1 }

// NewReferenceSet returns an empty reference set.
func NewReferenceSet(opts Options) *ReferenceSet {
	return &ReferenceSet{opts: opts, index: make(map[string]int32)}
}

// Add adds the raw reference captions of an image; they are tokenized as
// Tokenize does.
func (rs *ReferenceSet) Add(imageID string, references []string) error {
	return rs.add(imageID, references, true)
}

// AddTokenized adds the references of an image already tokenized (tokens
// joined by single spaces, as pycocoevalcap's scorers receive them).
func (rs *ReferenceSet) AddTokenized(imageID string, references []string) error {
	return rs.add(imageID, references, false)
}

func (rs *ReferenceSet) add(imageID string, references []string, tokenize bool) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.built {
		return ErrFrozen
	}
	if len(references) == 0 {
		return fmt.Errorf("%w: image %q", ErrNoReferences, imageID)
	}
	if _, dup := rs.index[imageID]; dup {
		return fmt.Errorf("%w: image %q", ErrDuplicateImage, imageID)
	}
	rs.index[imageID] = int32(len(rs.pending))
	rs.pending = append(rs.pending, pendingRefs{refs: references, tokenize: tokenize})
	rs.images = append(rs.images, refImage{id: imageID})
	return nil
}

// Len returns the number of images.
func (rs *ReferenceSet) Len() int { return len(rs.images) }

// parallel runs fn(i) for i in [0, n) on the given number of workers, each
// worker taking chunks of consecutive indices. fn gets its worker's number.
func parallel(workers, n int, fn func(worker, i int)) {
	if workers > n {
		workers = n
	}
	if workers <= 1 {
		for i := 0; i < n; i++ {
			fn(0, i)
		}
		return
	}
	chunk := n / (workers * 16)
	if chunk < 1 {
		chunk = 1
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				start := int(next.Add(int64(chunk))) - chunk
				if start >= n {
					return
				}
				end := min(start+chunk, n)
				for i := start; i < end; i++ {
					fn(w, i)
				}
			}
		}(w)
	}
	wg.Wait()
}

// tokenizedImage is an image's references after tokenizing, before
// interning: spans into buf, with per-reference offsets.
type tokenizedImage struct {
	buf          []byte
	words, rouge []span
	wordOff      []int32
	rougeOff     []int32
}

// worker returns worker w's reusable state, creating it on first use.
func (rs *ReferenceSet) worker(w int) *hypWorker {
	for len(rs.workers) <= w {
		rs.workers = append(rs.workers, nil)
	}
	if rs.workers[w] == nil {
		rs.workers[w] = &hypWorker{}
	}
	return rs.workers[w]
}

// build tokenizes and interns the references and derives the per-image
// n-gram tables. Tokenizing and the per-image work run in parallel; interning
// runs in image order so ids do not depend on scheduling. Per-image data are
// windows into per-worker arenas, so building allocates little.
func (rs *ReferenceSet) build() {
	workers := min(rs.opts.workers(), max(1, len(rs.images)))
	for w := 0; w < workers; w++ {
		rs.worker(w)
	}
	toks := make([]tokenizedImage, len(rs.images))
	arenas := make([]struct {
		words, rouge      []span
		wordOff, rougeOff []int32
	}, workers)
	// Size the arenas from the text length (a token takes at least two bytes
	// with its separator) so that they rarely grow.
	textBytes := 0
	for _, p := range rs.pending {
		for _, ref := range p.refs {
			textBytes += len(ref)
		}
	}
	perWorker := textBytes/workers + 1024
	for w := range arenas {
		a := &arenas[w]
		a.words = make([]span, 0, perWorker/4)
		a.rouge = make([]span, 0, perWorker/4)
		rs.workers[w].tk.buf = make([]byte, 0, perWorker)
	}
	parallel(workers, len(rs.images), func(w, i int) {
		tk := &rs.workers[w].tk
		a := &arenas[w]
		p := rs.pending[i]
		w0, r0, o0 := len(a.words), len(a.rouge), len(a.wordOff)
		for _, ref := range p.refs {
			a.words, a.rouge = tk.captionViews(ref, p.tokenize, a.words, a.rouge)
			a.wordOff = append(a.wordOff, int32(len(a.words)-w0))
			a.rougeOff = append(a.rougeOff, int32(len(a.rouge)-r0))
		}
		toks[i] = tokenizedImage{
			buf:      tk.buf,
			words:    a.words[w0:len(a.words):len(a.words)],
			rouge:    a.rouge[r0:len(a.rouge):len(a.rouge)],
			wordOff:  a.wordOff[o0:len(a.wordOff):len(a.wordOff)],
			rougeOff: a.rougeOff[o0:len(a.rougeOff):len(a.rougeOff)],
		}
	})
	rs.pending = nil

	// Intern tokens and n-grams in image order, into flat arrays.
	totalWords, totalRouge, totalRefs, totalGrams := 0, 0, 0, 0
	for i := range toks {
		totalWords += len(toks[i].words)
		totalRouge += len(toks[i].rouge)
		totalRefs += len(toks[i].wordOff) + 1 // an offset per reference, and a leading 0
	}
	totalGrams = 4 * totalWords
	rs.vocab = make(map[string]int32, totalWords/8+16)
	rs.vocab[""] = 0
	rs.grams = newGramTable(totalWords + totalWords/4)
	wordIDs := make([]int32, 0, totalWords)
	rougeIDs := make([]int32, 0, totalRouge)
	offs := make([]int32, 0, 2*totalRefs)
	gramIDs := make([]int32, 0, totalGrams)
	gramStart := make([]int32, len(toks)+1)
	for i := range toks {
		ti := &toks[i]
		img := &rs.images[i]
		offs = append(offs, 0)
		offs = append(offs, ti.wordOff...)
		img.wordOff = offs[len(offs)-len(ti.wordOff)-1 : len(offs) : len(offs)]
		w0 := len(wordIDs)
		wordIDs = rs.internSpans(wordIDs, ti.buf, ti.words)
		img.wordIDs = wordIDs[w0:len(wordIDs):len(wordIDs)]
		if sameSpans(ti.words, ti.rouge) {
			img.rougeIDs, img.rougeOff = img.wordIDs, img.wordOff
		} else {
			offs = append(offs, 0)
			offs = append(offs, ti.rougeOff...)
			img.rougeOff = offs[len(offs)-len(ti.rougeOff)-1 : len(offs) : len(offs)]
			r0 := len(rougeIDs)
			rougeIDs = rs.internSpans(rougeIDs, ti.buf, ti.rouge)
			img.rougeIDs = rougeIDs[r0:len(rougeIDs):len(rougeIDs)]
		}
		for r := 0; r < img.numRefs(); r++ {
			gramIDs = rs.internGrams(gramIDs, img.wordIDs[img.wordOff[r]:img.wordOff[r+1]])
		}
		gramStart[i+1] = int32(len(gramIDs))
	}

	// Per-image n-gram tables, in parallel. An image has at most as many
	// distinct n-grams as n-gram occurrences, so each gets a window of that
	// size in shared arrays; the windows do not overlap.
	grams := make([]int32, len(gramIDs))
	gramKeys := make([]uint64, len(gramIDs))
	maxCount := make([]int32, len(gramIDs))
	refGrams := make([]gramCount, len(gramIDs))
	refOff := make([]int32, totalRefs)
	refStart := make([]int32, len(toks)+1)
	for i := range toks {
		refStart[i+1] = refStart[i] + int32(len(toks[i].wordOff)+1)
	}
	parallel(workers, len(rs.images), func(w, i int) {
		hw := rs.workers[w]
		a, b := gramStart[i], gramStart[i+1]
		rs.images[i].index(gramIDs[a:b], rs.grams, &hw.idTab, indexWindows{
			grams: grams[a:b:b], maxCount: maxCount[a:b:b], gramKeys: gramKeys[a:b:b],
			refGrams: refGrams[a:b:b], refOff: refOff[refStart[i]:refStart[i+1]:refStart[i+1]],
		})
	})
	for _, hw := range rs.workers {
		hw.tk = tokenizer{} // the reference text is no longer needed
	}
	rs.built = true
}

// sameSpans reports whether two span lists are equal.
func sameSpans(a, b []span) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// internSpans appends the ids of the tokens buf[sp] to dst, interning new
// ones.
func (rs *ReferenceSet) internSpans(dst []int32, buf []byte, spans []span) []int32 {
	for _, sp := range spans {
		tok := buf[sp.start:sp.end]
		id, ok := rs.vocab[string(tok)]
		if !ok {
			id = int32(len(rs.vocab))
			rs.vocab[string(tok)] = id
		}
		dst = append(dst, id)
	}
	return dst
}

// internGrams appends the ids of every n-gram of words, n = 1..4, n-major
// and in position order.
func (rs *ReferenceSet) internGrams(dst []int32, words []int32) []int32 {
	start := len(dst)
	for _, w := range words {
		dst = append(dst, rs.grams.internUnigram(w))
	}
	prev := dst[start:]
	for n := 2; n <= maxGramOrder && n <= len(words); n++ {
		start = len(dst)
		for p := 0; p+n <= len(words); p++ {
			dst = append(dst, rs.grams.intern(prev[p], words[p+n-1], n))
		}
		prev = dst[start:]
	}
	return dst
}

// idTable is a small open-addressing table from global n-gram id to the
// image's local index and the current reference's entry, reset per image:
// an image has a few hundred n-grams, so the table stays in cache.
type idTable struct {
	slots []idSlot
	mask  uint32
}

type idSlot struct {
	id1    int32 // global id + 1; 0: empty
	local  int32 // index in the image's n-grams
	ref    int32 // reference (1-based) whose entry refPos holds
	refPos int32 // position in refGrams
}

// reset empties the table and sizes it for n ids at most half full.
func (t *idTable) reset(n int) {
	size := 64
	for size < 2*n {
		size *= 2
	}
	if cap(t.slots) < size {
		t.slots = make([]idSlot, size)
	} else {
		t.slots = t.slots[:size]
		clear(t.slots)
	}
	t.mask = uint32(size - 1)
}

// find returns the slot of id g, or the empty slot where it goes.
func (t *idTable) find(g int32) *idSlot {
	for i := (uint32(g) * 0x9e3779b1) >> 7 & t.mask; ; i = (i + 1) & t.mask {
		if s := &t.slots[i]; s.id1 == g+1 || s.id1 == 0 {
			return s
		}
	}
}

// indexWindows are an image's windows into the shared arrays index fills.
type indexWindows struct {
	grams, maxCount []int32
	gramKeys        []uint64
	refGrams        []gramCount
	refOff          []int32
}

// index derives the image's distinct n-grams, BLEU's maximum counts and the
// per-reference n-gram counts from the references' n-gram ids (n-major per
// reference, as internGrams lays them out). The results go into the windows
// the caller gives, each as long as ids (an upper bound), and are trimmed.
func (m *refImage) index(ids []int32, table *gramTable, lt *idTable, win indexWindows) {
	order := table.order
	grams, maxCount, refGrams, refOff := win.grams, win.maxCount, win.refGrams, win.refOff
	lt.reset(len(ids))
	grams, maxCount, refGrams = grams[:0], maxCount[:0], refGrams[:0]
	refOff = append(refOff[:0], 0)
	pos := 0
	for r := 0; r < m.numRefs(); r++ {
		ref := int32(r + 1)
		nw := int(m.wordOff[r+1] - m.wordOff[r])
		refStart := len(refGrams)
		for n := 1; n <= maxGramOrder && n <= nw; n++ {
			for p := 0; p+n <= nw; p++ {
				g := ids[pos]
				pos++
				e := lt.find(g)
				if e.id1 == 0 {
					*e = idSlot{id1: g + 1, local: int32(len(grams))}
					grams = append(grams, g)
					maxCount = append(maxCount, 0)
				}
				if e.ref != ref {
					e.ref = ref
					e.refPos = int32(len(refGrams))
					refGrams = append(refGrams, gramCount{local: e.local, n: int32(order[g])})
				}
				refGrams[e.refPos].count++
			}
		}
		for _, gc := range refGrams[refStart:] {
			maxCount[gc.local] = max(maxCount[gc.local], gc.count)
		}
		refOff = append(refOff, int32(len(refGrams)))
	}
	m.grams = grams[:len(grams):len(grams)]
	m.gramKeys = win.gramKeys[:len(grams):len(grams)]
	for li, g := range grams {
		m.gramKeys[li] = table.keys[g]
	}
	m.maxCount = maxCount[:len(maxCount):len(maxCount)]
	m.refGrams = refGrams[:len(refGrams):len(refGrams)]
	m.refOff = refOff[:len(refOff):len(refOff)]
}

// prepareCIDEr computes the document frequencies over the references of the
// evaluated images (in pycocoevalcap, the images being scored) and, when
// they changed, the idf of every reference n-gram.
func (rs *ReferenceSet) prepareCIDEr(evaluated []int32) {
	df := make([]int32, rs.grams.count)
	for _, i := range evaluated {
		for _, g := range rs.images[i].grams {
			df[g]++
		}
	}
	refLen := math.Log(float64(len(evaluated)))
	if rs.idf != nil && refLen == rs.refLen && equalInt32(df, rs.df) {
		return
	}
	if rs.images[0].norms == nil {
		// One allocation for every image's vectors.
		nv, nn := 0, 0
		for i := range rs.images {
			m := &rs.images[i]
			nv += len(m.refGrams)
			nn += m.numRefs() * maxGramOrder
		}
		vals, norms := make([]float64, nv), make([]float64, nn)
		for i := range rs.images {
			m := &rs.images[i]
			nv, nn = len(m.refGrams), m.numRefs()*maxGramOrder
			m.vals, vals = vals[:nv:nv], vals[nv:]
			m.norms, norms = norms[:nn:nn], norms[nn:]
		}
	}
	rs.df, rs.refLen = df, refLen
	rs.idf = make([]float64, len(df))
	for g, d := range df {
		rs.idf[g] = refLen - math.Log(math.Max(1, float64(d)))
	}
	rs.idfGen++
}

func equalInt32(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ensureCIDEr computes the image's reference vectors for the current idf:
// tf·idf per n-gram and the norm of each order, summed in pycocoevalcap's
// order.
func (rs *ReferenceSet) ensureCIDEr(m *refImage) {
	if m.cidGen == rs.idfGen {
		return
	}
	for r := 0; r < m.numRefs(); r++ {
		var norm [maxGramOrder]float64
		for k := m.refOff[r]; k < m.refOff[r+1]; k++ {
			gc := m.refGrams[k]
			v := float64(gc.count) * rs.idf[m.grams[gc.local]]
			m.vals[k] = v
			norm[gc.n-1] += v * v
		}
		for n := range norm {
			m.norms[r*maxGramOrder+n] = math.Sqrt(norm[n])
		}
	}
	m.cidGen = rs.idfGen
}

// listIDs formats ids for an error message: the first 20 and a count.
func listIDs(ids []string) string {
	const show = 20
	if len(ids) <= show {
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ids[:show], ", "), len(ids)-show)
}
