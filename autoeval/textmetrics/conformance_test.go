package textmetrics

import (
	"encoding/json"
	"math"
	"os"
	"strconv"
	"sync"
	"testing"

	"capeval/internal/sharedtest"
)

// looSet is the val2017 leave-one-out conformance set of
// ../shared/testdata/caption-metrics: for each image, in order, the raw
// captions (hypothesis first) and pycocoevalcap's tokenized strings.
type looSet struct {
	order   []string
	raw     map[string][]string // image id → raw captions in file order
	gts     map[string][]string // tokenized references
	res     map[string][]string // tokenized hypothesis (one)
	scores  map[string]map[string]float64
	corpus  map[string]float64
	loadErr error
}

var (
	looOnce sync.Once
	loo     looSet
)

// loadLOO reads the conformance files once per test binary.
func loadLOO(t testing.TB) *looSet {
	t.Helper()
	annPath := sharedtest.Path(t, "data", "coco-caption", "captions_val2017.json")
	tokPath := sharedtest.Path(t, "testdata", "caption-metrics", "val2017_loo_tokenized.json")
	scorePath := sharedtest.Path(t, "testdata", "caption-metrics", "val2017_loo_scores.json")
	looOnce.Do(func() { loo.loadErr = loo.load(annPath, tokPath, scorePath) })
	if loo.loadErr != nil {
		t.Fatal(loo.loadErr)
	}
	return &loo
}

func (l *looSet) load(annPath, tokPath, scorePath string) error {
	var ann struct {
		Annotations []struct {
			ImageID int64  `json:"image_id"`
			Caption string `json:"caption"`
		} `json:"annotations"`
	}
	if err := readJSON(annPath, &ann); err != nil {
		return err
	}
	l.raw = make(map[string][]string)
	for _, a := range ann.Annotations {
		id := strconv.FormatInt(a.ImageID, 10)
		l.raw[id] = append(l.raw[id], a.Caption)
	}
	var tok struct {
		Order []int64             `json:"order"`
		Gts   map[string][]string `json:"gts"`
		Res   map[string][]string `json:"res"`
	}
	if err := readJSON(tokPath, &tok); err != nil {
		return err
	}
	for _, id := range tok.Order {
		l.order = append(l.order, strconv.FormatInt(id, 10))
	}
	l.gts, l.res = tok.Gts, tok.Res
	var sc struct {
		PerImage map[string]map[string]float64 `json:"per_image"`
		Corpus   map[string]float64            `json:"corpus"`
	}
	if err := readJSON(scorePath, &sc); err != nil {
		return err
	}
	l.scores, l.corpus = sc.PerImage, sc.Corpus
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return &json.UnmarshalTypeError{Value: path + ": " + err.Error()}
	}
	return nil
}

func TestTokenizeConformance(t *testing.T) {
	l := loadLOO(t)
	var mismatches []string
	total := 0
	for _, id := range l.order {
		raw := l.raw[id]
		want := append(append([]string{}, l.res[id]...), l.gts[id]...)
		if len(raw) != len(want) {
			t.Fatalf("image %s: %d raw captions, %d tokenized", id, len(raw), len(want))
		}
		for i, caption := range raw {
			total++
			if got := TokenizeString(caption); got != want[i] {
				mismatches = append(mismatches, strconv.Quote(caption)+"\n   got  "+strconv.Quote(got)+"\n   want "+strconv.Quote(want[i]))
			}
		}
	}
	if len(mismatches) > 0 {
		show := mismatches
		if len(show) > 30 {
			show = show[:30]
		}
		for _, m := range show {
			t.Error(m)
		}
		t.Fatalf("%d of %d captions tokenized differently from coco-caption", len(mismatches), total)
	}
}

func TestScoresConformance(t *testing.T) {
	l := loadLOO(t)
	for _, workers := range []int{1, 2, 7} {
		t.Run("workers="+strconv.Itoa(workers), func(t *testing.T) {
			ev := NewEvaluator(Options{Workers: workers})
			for _, id := range l.order {
				if err := ev.AddTokenized(id, l.res[id][0], l.gts[id]); err != nil {
					t.Fatal(err)
				}
			}
			res, err := ev.Compute()
			if err != nil {
				t.Fatal(err)
			}
			checkLOOScores(t, l, res)
		})
	}
}

// TestRawPipelineConformance scores the raw captions end to end: tokenizer
// and scorers together must give the reference values.
func TestRawPipelineConformance(t *testing.T) {
	l := loadLOO(t)
	ev := NewEvaluator(Options{})
	for _, id := range l.order {
		raw := l.raw[id]
		if err := ev.Add(id, raw[0], raw[1:]); err != nil {
			t.Fatal(err)
		}
	}
	res, err := ev.Compute()
	if err != nil {
		t.Fatal(err)
	}
	checkLOOScores(t, l, res)
}

// checkLOOScores compares every per-image and corpus score: ROUGE_L must be
// bit-identical, the others within 1e-12.
func checkLOOScores(t *testing.T, l *looSet, res *Result) {
	t.Helper()
	tol := func(name string) float64 {
		if name == NameRougeL {
			return 0
		}
		return 1e-12
	}
	bad := 0
	for i, id := range res.ImageIDs {
		if id != l.order[i] {
			t.Fatalf("image %d is %s, want %s", i, id, l.order[i])
		}
		want := l.scores[id]
		for name, got := range res.ImageScores(i) {
			if d := math.Abs(got - want[name]); !(d <= tol(name)) {
				bad++
				if bad <= 20 {
					t.Errorf("image %s %s = %.17g, want %.17g (diff %.3g)", id, name, got, want[name], d)
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d per-image scores differ", bad)
	}
	for name, got := range res.CorpusScores() {
		if d := math.Abs(got - l.corpus[name]); !(d <= tol(name)) {
			t.Errorf("corpus %s = %.17g, want %.17g (diff %.3g)", name, got, l.corpus[name], d)
		}
	}
	if res.BLEU == nil || res.BLEU.TestLen != 52056 || res.BLEU.RefLen != 50202 ||
		res.BLEU.Correct != [4]int{33028, 14188, 5594, 2129} || res.BLEU.Guess != [4]int{52056, 47056, 42056, 37056} {
		t.Errorf("BLEU totals %+v, want testlen 52056 reflen 50202 correct [33028 14188 5594 2129] guess [52056 47056 42056 37056]", res.BLEU)
	}
}
