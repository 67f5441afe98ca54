package cli

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"capeval/internal/sharedtest"
)

// scoreRun runs `capeval score` with args and returns stdout, stderr and the
// error.
func scoreRun(args ...string) (string, string, error) {
	return execArgs(append([]string{"score"}, args...)...)
}

// scoreFiles writes files into a temporary folder and returns their paths.
func scoreFiles(t *testing.T, files map[string]string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	paths := map[string]string{}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		paths[name] = p
	}
	return paths
}

const scoreAnnotations = `{"info": {}, "images": [{"id": 1}, {"id": 2}, {"id": 3}],
"annotations": [
 {"image_id": 1, "id": 10, "caption": "A dog runs on the grass."},
 {"image_id": 1, "id": 11, "caption": "A brown dog running in a field."},
 {"image_id": 2, "id": 20, "caption": "Two cats sleep on a red sofa."},
 {"image_id": 2, "id": 21, "caption": "A pair of cats sleeping on a couch."},
 {"image_id": 3, "id": 30, "caption": "A man's bike leans on a wall."}]}`

func TestScoreCommandOutputs(t *testing.T) {
	p := scoreFiles(t, map[string]string{
		"ann.json": scoreAnnotations,
		// Image 1 is given as a string id, image 2 as a number; image 3 has
		// no result and is not scored.
		"res.json":  `[{"image_id": "1", "caption": "a dog runs on the grass"}, {"image_id": 2, "caption": "cats on a sofa"}]`,
		"res.jsonl": "{\"image_id\": 1, \"caption\": \"a dog runs on the grass\"}\n{\"image_id\": \"2\", \"caption\": \"cats on a sofa\"}\n",
		"res.csv":   "image_id,caption\n1,a dog runs on the grass\n2,\"cats on a sofa\"\n",
	})
	var first map[string]any
	for _, res := range []string{"res.json", "res.jsonl", "res.csv"} {
		t.Run(res, func(t *testing.T) {
			out, _, err := scoreRun("--annotations", p["ann.json"], "--results", p[res], "--format", "json")
			if err != nil {
				t.Fatal(err)
			}
			// The score keys come first, in pycocoevalcap's names and order.
			wantPrefix := `{"Bleu_1": `
			if !strings.HasPrefix(out, wantPrefix) {
				t.Errorf("output %q does not start with %q", out, wantPrefix)
			}
			order := []string{`"Bleu_1"`, `"Bleu_2"`, `"Bleu_3"`, `"Bleu_4"`, `"ROUGE_L"`, `"CIDEr"`, `"images"`, `"bleu_counts"`}
			last := -1
			for _, k := range order {
				i := strings.Index(out, k)
				if i <= last {
					t.Errorf("key %s out of order in %s", k, out)
				}
				last = i
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out)
			}
			if got["images"] != 2.0 {
				t.Errorf("images = %v, want 2", got["images"])
			}
			// Image 1's hypothesis equals a reference: its ROUGE_L is 1, so
			// the mean is above 0.5.
			if r := got["ROUGE_L"].(float64); r <= 0.5 || r > 1 {
				t.Errorf("ROUGE_L = %v", r)
			}
			if first == nil {
				first = got
			} else {
				for k, v := range first {
					if k != "bleu_counts" && got[k] != v {
						t.Errorf("%s = %v, want %v as with res.json", k, got[k], v)
					}
				}
			}
		})
	}

	t.Run("table", func(t *testing.T) {
		out, _, err := scoreRun("--annotations", p["ann.json"], "--results", p["res.json"])
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"metric", "Bleu_4", "ROUGE_L", "CIDEr", "(2 images)"} {
			if !strings.Contains(out, want) {
				t.Errorf("table lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("metric subset and per-image file", func(t *testing.T) {
		perImage := filepath.Join(t.TempDir(), "per-image.json")
		out, _, err := scoreRun("--annotations", p["ann.json"], "--results", p["res.json"], "--format", "json",
			"--metrics", "cider,rouge", "--per-image", perImage, "--workers", "1")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out, `{"ROUGE_L": `) || strings.Contains(out, "Bleu") {
			t.Errorf("output %s: want ROUGE_L then CIDEr and no BLEU", out)
		}
		data, err := os.ReadFile(perImage)
		if err != nil {
			t.Fatal(err)
		}
		var rows map[string]map[string]any
		if err := json.Unmarshal(data, &rows); err != nil {
			t.Fatalf("per-image file is not JSON: %v\n%s", err, data)
		}
		if len(rows) != 2 || rows["1"]["image_id"] != 1.0 || rows["1"]["ROUGE_L"] != 1.0 || rows["2"]["CIDEr"] == nil {
			t.Errorf("per-image rows %v", rows)
		}
		if strings.Index(string(data), `"1"`) > strings.Index(string(data), `"2"`) {
			t.Errorf("per-image rows not in results order:\n%s", data)
		}
	})
}

func TestScoreCommandHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		out, _, err := scoreRun(arg)
		if err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		for _, want := range []string{"--annotations", "--results", "--metrics", "--per-image", "--format", "--workers", "bleu", "rouge", "cider"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: usage lacks %q", arg, want)
			}
		}
	}
}

func TestScoreCommandErrors(t *testing.T) {
	p := scoreFiles(t, map[string]string{
		"ann.json":       scoreAnnotations,
		"unknown.json":   `[{"image_id": 1, "caption": "a"}, {"image_id": 7, "caption": "b"}, {"image_id": 8, "caption": "c"}, {"image_id": 7, "caption": "d"}]`,
		"dup.json":       `[{"image_id": 1, "caption": "a"}, {"image_id": 2, "caption": "b"}, {"image_id": "1", "caption": "c"}]`,
		"missing.json":   `[{"image_id": 1}, {"caption": "b"}, {"image_id": 2, "caption": "c"}]`,
		"malformed.json": `[{"image_id": 1, "caption": "a"}, {"image_id": 2 "caption": "b"}]`,
		"empty.json":     `[]`,
		"missing.csv":    "image_id,caption\n1,a\n,b\n",
		"many.jsonl":     scoreManyUnknown(25),
	})
	tests := []struct {
		name string
		args []string
		want []string // substrings of the error
	}{
		{"no annotations", []string{"--results", p["dup.json"]}, []string{"--annotations is required"}},
		{"no results", []string{"--annotations", p["ann.json"]}, []string{"--results is required"}},
		{"unknown flag", []string{"--bogus"}, []string{"bogus"}},
		{"stray argument", []string{"--annotations", p["ann.json"], "--results", p["dup.json"], "extra"}, []string{`unexpected argument "extra"`}},
		{"bad format", []string{"--annotations", p["ann.json"], "--results", p["dup.json"], "--format", "xml"}, []string{`--format "xml"`}},
		{"unknown metric", []string{"--annotations", p["ann.json"], "--results", p["dup.json"], "--metrics", "bleu,meteor"}, []string{`unknown metric "meteor"`}},
		{"missing file", []string{"--annotations", p["ann.json"], "--results", p["ann.json"] + ".nope"}, []string{"results:", "no such file"}},
		{"images not in the annotations", []string{"--annotations", p["ann.json"], "--results", p["unknown.json"]},
			[]string{"nothing was scored", "2 results for images without reference captions", ": 7, 8"}},
		{"two results for one image", []string{"--annotations", p["ann.json"], "--results", p["dup.json"]},
			[]string{"1 images with more than one result: 1 (again at byte "}},
		{"missing fields", []string{"--annotations", p["ann.json"], "--results", p["missing.json"]},
			[]string{"2 results with a missing or invalid field: byte 1 (caption: missing field), byte 18 (image_id: missing field)"}},
		{"missing CSV id", []string{"--annotations", p["ann.json"], "--results", p["missing.csv"]},
			[]string{"line 3 (image_id: missing field)"}},
		{"malformed JSON names file and offset", []string{"--annotations", p["ann.json"], "--results", p["malformed.json"]},
			[]string{p["malformed.json"] + ": byte ", "malformed input"}},
		{"no results at all", []string{"--annotations", p["ann.json"], "--results", p["empty.json"]}, []string{"no captions to score"}},
		{"long lists are cut at 20", []string{"--annotations", p["ann.json"], "--results", p["many.jsonl"]},
			[]string{"25 results for images", "100, 101", "119 and 5 more"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := scoreRun(tt.args...)
			if err == nil {
				t.Fatalf("no error; output %s", out)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if out != "" {
				t.Errorf("wrote %q to stdout on error", out)
			}
		})
	}
}

// scoreManyUnknown is a JSON Lines results file for n images 100, 101, ...
// that no annotation has.
func scoreManyUnknown(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(`{"image_id": ` + strconv.Itoa(100+i) + `, "caption": "x"}` + "\n")
	}
	return b.String()
}

// TestScoreCommandConformance scores the COCO val2017 leave-one-out set end
// to end through files, as a user would: the first caption of each image
// as its result, the others as annotations. Every score must match
// pycocoevalcap's (ROUGE-L exactly, the others within 1e-12).
func TestScoreCommandConformance(t *testing.T) {
	annPath := sharedtest.Path(t, "data", "coco-caption", "captions_val2017.json")
	scoresPath := sharedtest.Path(t, "testdata", "caption-metrics", "val2017_loo_scores.json")
	var ann struct {
		Images      []json.RawMessage `json:"images"`
		Annotations []struct {
			ImageID int64  `json:"image_id"`
			ID      int64  `json:"id"`
			Caption string `json:"caption"`
		} `json:"annotations"`
	}
	scoreReadJSON(t, annPath, &ann)
	var want struct {
		Order    []string                      `json:"order"`
		PerImage map[string]map[string]float64 `json:"per_image"`
		Corpus   map[string]float64            `json:"corpus"`
	}
	scoreReadJSON(t, scoresPath, &want)

	// Results: each image's first caption, in the reference set's order;
	// annotations: every other caption.
	first := map[int64]int{}
	type row struct {
		ImageID int64  `json:"image_id"`
		Caption string `json:"caption"`
	}
	var refs []any
	results := map[int64]row{}
	for i, a := range ann.Annotations {
		if _, ok := first[a.ImageID]; !ok {
			first[a.ImageID] = i
			results[a.ImageID] = row{a.ImageID, a.Caption}
			continue
		}
		refs = append(refs, a)
	}
	var resRows []row
	for _, id := range want.Order {
		n, _ := strconv.ParseInt(id, 10, 64)
		resRows = append(resRows, results[n])
	}
	dir := t.TempDir()
	annFile, resFile, perImage := filepath.Join(dir, "ann.json"), filepath.Join(dir, "res.json"), filepath.Join(dir, "per.json")
	scoreWriteJSON(t, annFile, map[string]any{"images": ann.Images, "annotations": refs})
	scoreWriteJSON(t, resFile, resRows)

	out, _, err := scoreRun("--annotations", annFile, "--results", resFile, "--format", "json", "--per-image", perImage)
	if err != nil {
		t.Fatal(err)
	}
	var corpus map[string]any
	if err := json.Unmarshal([]byte(out), &corpus); err != nil {
		t.Fatal(err)
	}
	tol := func(key string) float64 {
		if key == "ROUGE_L" {
			return 0
		}
		return 1e-12
	}
	for key, w := range want.Corpus {
		got, _ := corpus[key].(float64)
		if d := math.Abs(got - w); !(d <= tol(key)) {
			t.Errorf("corpus %s = %.17g, want %.17g", key, got, w)
		}
	}
	var rows map[string]map[string]float64
	data, err := os.ReadFile(perImage)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(want.Order) {
		t.Fatalf("%d per-image rows, want %d", len(rows), len(want.Order))
	}
	bad := 0
	for id, ws := range want.PerImage {
		for key, w := range ws {
			if d := math.Abs(rows[id][key] - w); !(d <= tol(key)) {
				if bad++; bad <= 10 {
					t.Errorf("image %s %s = %.17g, want %.17g", id, key, rows[id][key], w)
				}
			}
		}
	}
}

func scoreReadJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func scoreWriteJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestScoreCommandDemoResults runs coco-caption's demo results file against
// the val2017 annotations: 874 of its 1,000 images are val2014-only, which
// must be refused with a listed error; its 126 val2017 images score.
// coco-caption publishes no expected scores for this subset, so the values
// are only checked for sanity.
func TestScoreCommandDemoResults(t *testing.T) {
	annPath := sharedtest.Path(t, "data", "coco-caption", "captions_val2017.json")
	demoPath := sharedtest.Path(t, "data", "coco-caption", "captions_val2014_fakecap_results.json")
	_, _, err := scoreRun("--annotations", annPath, "--results", demoPath)
	if err == nil || !strings.Contains(err.Error(), "874 results for images without reference captions") ||
		!strings.Contains(err.Error(), "404464, 380932") || !strings.Contains(err.Error(), "and 854 more") {
		t.Fatalf("error %v, want the 874 val2014-only images listed", err)
	}

	var ann struct {
		Annotations []struct {
			ImageID int64 `json:"image_id"`
		} `json:"annotations"`
	}
	scoreReadJSON(t, annPath, &ann)
	known := map[int64]bool{}
	for _, a := range ann.Annotations {
		known[a.ImageID] = true
	}
	var demo []struct {
		ImageID int64  `json:"image_id"`
		Caption string `json:"caption"`
	}
	scoreReadJSON(t, demoPath, &demo)
	var kept []any
	for _, d := range demo {
		if known[d.ImageID] {
			kept = append(kept, d)
		}
	}
	subset := filepath.Join(t.TempDir(), "subset.json")
	scoreWriteJSON(t, subset, kept)
	out, _, err := scoreRun("--annotations", annPath, "--results", subset, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	f := func(k string) float64 { v, _ := got[k].(float64); return v }
	if len(kept) != 126 || f("images") != 126 {
		t.Errorf("%d results kept, %v images scored; want 126", len(kept), got["images"])
	}
	// A weak 2015 captioner: Bleu_4 well below Bleu_1, CIDEr below 1.5.
	if !(f("Bleu_1") > 0.4 && f("Bleu_4") > 0.1 && f("Bleu_4") < f("Bleu_1") && f("ROUGE_L") > 0.3 && f("CIDEr") > 0.3 && f("CIDEr") < 1.5) {
		t.Errorf("implausible scores %v", got)
	}
}
