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
	// Every distinct n-gram of the references: local index → global id.
	grams    []int32
	maxCount []int32 // BLEU: largest count of each n-gram in one reference
	// Per reference, its n-grams in first-occurrence order, n-major (the
	// order pycocoevalcap's dicts iterate in), in a flat array with offsets.
	refGrams []gramCount
	refOff   []int32
	// CIDEr-D vectors for idf generation cidGen: vals[r*len(grams)+local]
	// and norms[r*4+n-1].
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
// interning.
type tokenizedImage struct {
	buf          []byte
	words, rouge []span
	wordOff      []int32
	rougeOff     []int32
}

// build tokenizes and interns the references and derives the per-image
// n-gram tables. Tokenizing and the per-image work run in parallel; interning
// runs in image order so ids do not depend on scheduling.
func (rs *ReferenceSet) build() {
	workers := rs.opts.workers()
	toks := make([]tokenizedImage, len(rs.images))
	tks := make([]tokenizer, workers)
	parallel(workers, len(rs.images), func(w, i int) {
		tk := &tks[w]
		tk.reset()
		p := rs.pending[i]
		var ti tokenizedImage
		ti.wordOff = make([]int32, 1, len(p.refs)+1)
		ti.rougeOff = make([]int32, 1, len(p.refs)+1)
		for _, ref := range p.refs {
			ti.words, ti.rouge = tk.captionViews(ref, p.tokenize, ti.words, ti.rouge)
			ti.wordOff = append(ti.wordOff, int32(len(ti.words)))
			ti.rougeOff = append(ti.rougeOff, int32(len(ti.rouge)))
		}
		ti.buf = append([]byte(nil), tk.buf...)
		toks[i] = ti
	})
	rs.pending = nil

	// Intern tokens and n-grams in image order.
	rs.vocab = map[string]int32{"": 0}
	totalWords := 0
	for i := range toks {
		totalWords += len(toks[i].words)
	}
	rs.grams = newGramTable(totalWords * 3)
	gramIDs := make([][]int32, len(toks)) // per image: per ref, n-major gram ids
	for i := range toks {
		ti := &toks[i]
		img := &rs.images[i]
		img.wordOff, img.rougeOff = ti.wordOff, ti.rougeOff
		img.wordIDs = rs.internSpans(ti.buf, ti.words)
		if sameSpans(ti.words, ti.rouge) {
			img.rougeIDs = img.wordIDs
		} else {
			img.rougeIDs = rs.internSpans(ti.buf, ti.rouge)
		}
		var ids []int32
		for r := 0; r < img.numRefs(); r++ {
			ids = rs.internGrams(ids, img.wordIDs[img.wordOff[r]:img.wordOff[r+1]])
		}
		gramIDs[i] = ids
	}

	// Per-image n-gram tables, in parallel.
	numGrams := rs.grams.count
	scratch := make([]gramScratch, workers)
	parallel(workers, len(rs.images), func(w, i int) {
		sc := &scratch[w]
		sc.ensure(numGrams)
		rs.images[i].index(gramIDs[i], rs.grams.order, sc)
	})
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

// internSpans interns the tokens buf[sp] and returns their ids.
func (rs *ReferenceSet) internSpans(buf []byte, spans []span) []int32 {
	ids := make([]int32, len(spans))
	for j, sp := range spans {
		tok := buf[sp.start:sp.end]
		id, ok := rs.vocab[string(tok)]
		if !ok {
			id = int32(len(rs.vocab))
			rs.vocab[string(tok)] = id
		}
		ids[j] = id
	}
	return ids
}

// internGrams appends the ids of every n-gram of words, n = 1..4, n-major
// and in position order.
func (rs *ReferenceSet) internGrams(dst []int32, words []int32) []int32 {
	start := len(dst)
	for _, w := range words {
		dst = append(dst, rs.grams.intern(-1, w, 1))
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

// gramScratch is one worker's dense scratch arrays indexed by global n-gram
// id; stamps tell which entries belong to the current image or reference, so
// nothing is cleared between uses.
type gramScratch struct {
	imgStamp []int32 // == curImg: local index valid
	local    []int32
	refStamp []int32 // == curRef: refPos valid
	refPos   []int32
	curImg   int32
	curRef   int32
}

func (sc *gramScratch) ensure(n int) {
	if len(sc.imgStamp) >= n {
		return
	}
	sc.imgStamp = make([]int32, n)
	sc.local = make([]int32, n)
	sc.refStamp = make([]int32, n)
	sc.refPos = make([]int32, n)
	sc.curImg, sc.curRef = 0, 0
}

// index derives the image's distinct n-grams, BLEU's maximum counts and the
// per-reference n-gram counts from the references' n-gram ids (n-major per
// reference, as internGrams lays them out).
func (m *refImage) index(ids []int32, order []uint8, sc *gramScratch) {
	sc.curImg++
	pos := 0
	m.refOff = make([]int32, 1, m.numRefs()+1)
	for r := 0; r < m.numRefs(); r++ {
		sc.curRef++
		nw := int(m.wordOff[r+1] - m.wordOff[r])
		refStart := len(m.refGrams)
		for n := 1; n <= maxGramOrder && n <= nw; n++ {
			for p := 0; p+n <= nw; p++ {
				g := ids[pos]
				pos++
				if sc.imgStamp[g] != sc.curImg {
					sc.imgStamp[g] = sc.curImg
					sc.local[g] = int32(len(m.grams))
					m.grams = append(m.grams, g)
					m.maxCount = append(m.maxCount, 0)
				}
				if sc.refStamp[g] != sc.curRef {
					sc.refStamp[g] = sc.curRef
					sc.refPos[g] = int32(len(m.refGrams))
					m.refGrams = append(m.refGrams, gramCount{local: sc.local[g], n: int32(order[g])})
				}
				m.refGrams[sc.refPos[g]].count++
			}
		}
		for _, gc := range m.refGrams[refStart:] {
			if gc.count > m.maxCount[gc.local] {
				m.maxCount[gc.local] = gc.count
			}
		}
		m.refOff = append(m.refOff, int32(len(m.refGrams)))
	}
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
	nrefs, width := m.numRefs(), len(m.grams)
	if cap(m.vals) < nrefs*width {
		m.vals = make([]float64, nrefs*width)
	}
	if m.norms == nil {
		m.norms = make([]float64, nrefs*maxGramOrder)
	}
	m.vals = m.vals[:nrefs*width]
	clear(m.vals)
	for r := 0; r < nrefs; r++ {
		var norm [maxGramOrder]float64
		row := m.vals[r*width : (r+1)*width]
		for _, gc := range m.refGrams[m.refOff[r]:m.refOff[r+1]] {
			v := float64(gc.count) * rs.idf[m.grams[gc.local]]
			row[gc.local] = v
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
