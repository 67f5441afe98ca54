package cli

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"capeval/annotation/demo"
	"capeval/autoeval/clip"
	"capeval/autoeval/clip/onnxgen"
	"capeval/internal/sharedtest"
)

// TestScoreCLIP runs `capeval score` with the CLIP metrics on the demo files
// and a tiny generated CLIP model on the real ONNX Runtime, and checks the
// scores against the encoder called directly on the same inputs.
func TestScoreCLIP(t *testing.T) {
	lib := sharedtest.ONNXRuntimeLibrary(t, clip.DefaultLibraryPath())
	t.Setenv("CAPEVAL_ONNXRUNTIME_LIB", lib)
	t.Setenv("CAPEVAL_CLIP_MODEL", "") // "no model" below must not find one configured
	dir := t.TempDir()
	data := demo.Generate(demo.DefaultSeed)
	if err := data.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "model")
	if _, err := onnxgen.WriteTinyFolder(model, onnxgen.DefaultTinyConfig(), onnxgen.TokenizerJSON); err != nil {
		t.Fatal(err)
	}
	ann := filepath.Join(dir, "references.json")
	res := filepath.Join(dir, "results-accurate.json")
	perImage := filepath.Join(dir, "per-image.json")
	code, out, errOut := cli(t, "", "score", "--annotations", ann, "--results", res, "--metrics", "cider,clipscore,refclipscore,clipscore-tm",
		"--images", filepath.Join(dir, "images"), "--clip-model", model, "--device", "cpu", "--format", "json", "--per-image", perImage)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, k := range []string{"CIDEr", "CLIPScore", "RefCLIPScore", "CLIPScore-torchmetrics"} {
		if _, ok := got[k].(float64); !ok {
			t.Fatalf("key %s missing from %s", k, out)
		}
	}

	// The same scores from the encoder directly.
	enc, err := clip.NewEncoder(clip.Options{LibraryPath: lib, ModelDir: model, Device: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	acc := data.Captioner(demo.Accurate)
	samples := make([]clip.Sample, len(acc.Captions))
	for i, c := range acc.Captions {
		samples[i] = clip.Sample{Image: c.ImageID - 1, Caption: c.Text, References: data.Images[c.ImageID-1].References}
	}
	want, err := enc.Score(context.Background(), samples, len(data.Images), func(i int) ([]byte, error) { return data.Images[i].PNG, nil },
		clip.Metrics{CLIPScore: true, RefCLIPScore: true, TorchmetricsCLIPScore: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{clip.MetricCLIPScore, clip.MetricRefCLIPScore, clip.MetricCLIPScoreTorchmetrics} {
		if g := got[k].(float64); math.Abs(g-want.Mean[k]) > 1e-12 {
			t.Errorf("%s = %v, encoder gives %v", k, g, want.Mean[k])
		}
	}
	b, err := os.ReadFile(perImage)
	if err != nil {
		t.Fatal(err)
	}
	var per map[string]map[string]any
	if err := json.Unmarshal(b, &per); err != nil {
		t.Fatal(err)
	}
	if g := per["1"]["CLIPScore"].(float64); math.Abs(g-want.CLIPScore[0]) > 1e-12 {
		t.Errorf("per-image CLIPScore of image 1 = %v, want %v", g, want.CLIPScore[0])
	}

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name string
			args []string
			want string
		}{
			{"no model", []string{"--metrics", "clipscore", "--images", dir, "--clip-model", ""}, "need a model folder"},
			{"no images", []string{"--metrics", "clipscore", "--clip-model", model}, "need the images"},
			{"missing image file", []string{"--metrics", "clipscore", "--clip-model", model, "--images", filepath.Join(dir, "nowhere"), "--device", "cpu"}, "no such file"},
			{"bad device", []string{"--metrics", "clipscore", "--clip-model", model, "--images", dir, "--device", "tpu"}, "tpu"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				args := append([]string{"score", "--annotations", ann, "--results", res}, tt.args...)
				code, out, errOut := cli(t, "", args...)
				if code == 0 || !strings.Contains(errOut, tt.want) {
					t.Fatalf("exit %d, stderr %q, want an error containing %q (stdout %s)", code, errOut, tt.want, out)
				}
			})
		}
	})
}
