package textmetrics

import (
	"errors"
	"fmt"
)

// ErrEmpty is returned when there is nothing to score.
var ErrEmpty = errors.New("textmetrics: no captions to score")

// Evaluator accumulates (image, hypothesis, references) items and scores
// them all at once, in the manner of a torchmetrics metric: Add as items
// arrive, then Compute. Each image is one item; its hypothesis is scored
// against its references, and CIDEr-D's document frequencies come from the
// references of all items, as in pycocoevalcap.
//
// An Evaluator is not safe for concurrent use; Compute itself uses
// Options.Workers goroutines.
type Evaluator struct {
	opts  Options
	items []item
	seen  map[string]bool
}

type item struct {
	imageID    string
	hypothesis string
	references []string
	tokenized  bool
}

// NewEvaluator returns an empty Evaluator.
func NewEvaluator(opts Options) *Evaluator {
	return &Evaluator{opts: opts, seen: make(map[string]bool)}
}

// Add adds an image's raw hypothesis and reference captions; they are
// tokenized as Tokenize does. The slices are kept, not copied.
func (e *Evaluator) Add(imageID, hypothesis string, references []string) error {
	return e.add(item{imageID, hypothesis, references, false})
}

// AddTokenized adds an image's hypothesis and references already tokenized
// (tokens joined by single spaces), as pycocoevalcap's scorers take them.
func (e *Evaluator) AddTokenized(imageID, hypothesis string, references []string) error {
	return e.add(item{imageID, hypothesis, references, true})
}

func (e *Evaluator) add(it item) error {
	if len(it.references) == 0 {
		return fmt.Errorf("%w: image %q", ErrNoReferences, it.imageID)
	}
	if e.seen[it.imageID] {
		return fmt.Errorf("%w: image %q", ErrDuplicateImage, it.imageID)
	}
	e.seen[it.imageID] = true
	e.items = append(e.items, it)
	return nil
}

// Len returns the number of items added.
func (e *Evaluator) Len() int { return len(e.items) }

// Reset forgets every item.
func (e *Evaluator) Reset() {
	e.items = nil
	clear(e.seen)
}

// Compute scores every item with the given metrics (all when none) and
// returns corpus and per-image scores, images in the order they were added.
func (e *Evaluator) Compute(metrics ...Metric) (*Result, error) {
	if len(e.items) == 0 {
		return nil, ErrEmpty
	}
	rs := NewReferenceSet(e.opts)
	hyps := make([]Hypothesis, len(e.items))
	for k, it := range e.items {
		if err := rs.add(it.imageID, it.references, !it.tokenized); err != nil {
			return nil, err
		}
		hyps[k] = Hypothesis{ImageID: it.imageID, Caption: it.hypothesis, Tokenized: it.tokenized}
	}
	return rs.Score(hyps, metrics...)
}
