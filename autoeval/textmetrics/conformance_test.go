package textmetrics

import (
	"encoding/json"
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
