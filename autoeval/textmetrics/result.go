package textmetrics

// Result holds the scores of one evaluation: corpus scores and one row of
// scores per image, in the order the images were given.
type Result struct {
	// Names are the score names, in output order (Bleu_1..Bleu_4, ROUGE_L,
	// CIDEr, restricted to the metrics asked for).
	Names []string
	// Corpus holds the corpus score of each name, aligned with Names: BLEU
	// from the summed n-gram counts, ROUGE_L and CIDEr as numpy's mean of
	// the per-image scores.
	Corpus []float64
	// ImageIDs lists the evaluated images in order.
	ImageIDs []string
	// PerImage holds the per-image scores row by row:
	// PerImage[i*len(Names)+j] is image i's score for Names[j].
	PerImage []float64
	// BLEU holds BLEU's corpus counts; nil when BLEU was not computed.
	BLEU *BLEUStats
}

// BLEUStats are the corpus totals BLEU is computed from, as pycocoevalcap
// prints them.
type BLEUStats struct {
	TestLen int    // hypothesis words
	RefLen  int    // effective reference words (closest length, ties to the shorter)
	Guess   [4]int // hypothesis n-grams, n = 1..4
	Correct [4]int // clipped matching n-grams, n = 1..4
}

// CorpusScores returns the corpus scores by name.
func (r *Result) CorpusScores() map[string]float64 {
	m := make(map[string]float64, len(r.Names))
	for j, name := range r.Names {
		m[name] = r.Corpus[j]
	}
	return m
}

// ImageScores returns image i's scores by name.
func (r *Result) ImageScores(i int) map[string]float64 {
	m := make(map[string]float64, len(r.Names))
	row := r.PerImage[i*len(r.Names) : (i+1)*len(r.Names)]
	for j, name := range r.Names {
		m[name] = row[j]
	}
	return m
}

// Score returns image i's score called name, and false when the result has
// no such score.
func (r *Result) Score(i int, name string) (float64, bool) {
	for j, n := range r.Names {
		if n == name {
			return r.PerImage[i*len(r.Names)+j], true
		}
	}
	return 0, false
}
