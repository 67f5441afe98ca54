package textmetrics

import (
	"math"
	"testing"
)

// TestReferenceSetReuse scores several hypothesis sets, over different image
// subsets, against one ReferenceSet: each must equal a fresh Evaluator on
// the same items (CIDEr-D's document frequencies follow the subset).
func TestReferenceSetReuse(t *testing.T) {
	l := loadLOO(t)
	models := syntheticModels(l, 3, 7)
	rs := NewReferenceSet(Options{Workers: 2})
	for _, id := range l.order {
		if err := rs.Add(id, l.raw[id][1:]); err != nil {
			t.Fatal(err)
		}
	}
	subsets := [][]Hypothesis{models[0], models[1][:1000], models[2][2500:], models[0]}
	for s, hyps := range subsets {
		got, err := rs.Score(hyps)
		if err != nil {
			t.Fatal(err)
		}
		ev := NewEvaluator(Options{Workers: 1})
		for _, h := range hyps {
			if err := ev.Add(h.ImageID, h.Caption, l.raw[h.ImageID][1:]); err != nil {
				t.Fatal(err)
			}
		}
		want, err := ev.Compute()
		if err != nil {
			t.Fatal(err)
		}
		sameResults(t, s, got, want)
	}
}

// TestDeterministicAcrossWorkers requires bit-identical results whatever
// the number of workers.
func TestDeterministicAcrossWorkers(t *testing.T) {
	l := loadLOO(t)
	hyps := syntheticModels(l, 1, 3)[0]
	var first *Result
	for _, workers := range []int{1, 2, 3, 8} {
		rs := NewReferenceSet(Options{Workers: workers})
		for _, id := range l.order {
			if err := rs.Add(id, l.raw[id][1:]); err != nil {
				t.Fatal(err)
			}
		}
		res, err := rs.Score(hyps)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = res
			continue
		}
		sameResults(t, workers, res, first)
	}
}

func sameResults(t *testing.T, label int, got, want *Result) {
	t.Helper()
	if len(got.PerImage) != len(want.PerImage) || len(got.Corpus) != len(want.Corpus) {
		t.Fatalf("%d: shapes differ", label)
	}
	for k, v := range got.PerImage {
		if math.Float64bits(v) != math.Float64bits(want.PerImage[k]) {
			t.Fatalf("%d: image %s %s = %.17g, want %.17g", label, got.ImageIDs[k/len(got.Names)],
				got.Names[k%len(got.Names)], v, want.PerImage[k])
		}
	}
	for j, v := range got.Corpus {
		if math.Float64bits(v) != math.Float64bits(want.Corpus[j]) {
			t.Errorf("%d: corpus %s = %.17g, want %.17g", label, got.Names[j], v, want.Corpus[j])
		}
	}
}
