package annotation_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"capeval/annotation"
	"capeval/models"
)

// FuzzParseThresholds decodes any bytes as a thresholds document for each
// mode: no panic; a refusal is an error; an accepted document's effective
// thresholds, written out as JSON, parse again to the same thresholds (the
// defaults are a fixed point and nothing accepted is lost on the way).
// The seeds are in testdata/fuzz/FuzzParseThresholds and below.
func FuzzParseThresholds(f *testing.F) {
	for _, s := range []string{`{}`, `{"seed":7,"rank":{"weights":{"CIDEr":2,"CLIPScore":1},"normalize":"zscore"},"top_k":3}`,
		`{"selection":"per_image","per_image_top_k":3,"pairs":"adjacent"}`, `{"topk":3}`, `{"top_k":"3"}`, `{} {}`,
		`{"seed":-1,"rank":{"metric":"cider","normalize":"rank"},"top_k":-2}`, `{"rank":{"metric":"CIDEr","weights":{"CIDEr":1}}}`,
		`null`, `[]`, `{"top_k":1e309}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		for _, mode := range []models.CampaignMode{models.ModeLikert, models.ModePairwise} {
			th, err := annotation.ParseThresholds(models.JSON(doc), mode, 42)
			if err != nil {
				continue
			}
			b, err := json.Marshal(th)
			if err != nil {
				t.Fatalf("%s: accepted thresholds do not marshal: %v", mode, err)
			}
			again, err := annotation.ParseThresholds(models.JSON(b), mode, 42)
			if err != nil {
				t.Fatalf("%s: %s accepted, its effective form %s refused: %v", mode, doc, b, err)
			}
			if !reflect.DeepEqual(again, th) {
				t.Fatalf("%s: %s: effective %s parses to %+v, want %+v", mode, doc, b, again, th)
			}
		}
	})
}
