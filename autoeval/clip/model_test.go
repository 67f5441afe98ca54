package clip

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"capeval/autoeval/clip/onnxgen"
)

// ioSpec describes one input or output of a stand-in model.
type ioSpec struct {
	name string
	typ  onnxgen.DataType
	dims []int64 // -1 for the dynamic batch, -2 for a dynamic sequence length
}

func (s ioSpec) dims2() []onnxgen.Dim {
	out := make([]onnxgen.Dim, len(s.dims))
	for i, d := range s.dims {
		switch {
		case d == -2:
			out[i] = onnxgen.Dim{Param: "sequence_length"}
		case d < 0:
			out[i] = onnxgen.Dim{Param: "batch_size"}
		default:
			out[i] = onnxgen.Dim{Value: d}
		}
	}
	return out
}

// standInModel writes a model with the given inputs and one output: the sum
// over inputs of mean(Cast(input)) over every axis but the batch, times a
// [1, outDim] row of ones. It exists to have exactly the declared interface.
func standInModel(t *testing.T, path string, ins []ioSpec, out ioSpec) {
	t.Helper()
	b := onnxgen.NewBuilder("stand_in", onnxgen.WeightsFloat32)
	var sum string
	for _, in := range ins {
		x := b.Input(in.name, in.typ, in.dims2()...)
		if in.typ != onnxgen.Float {
			x = b.Op("Cast", []string{x}, onnxgen.Int("to", int64(onnxgen.Float)))
		}
		axes := make([]int64, 0, len(in.dims)-1)
		for a := 1; a < len(in.dims); a++ {
			axes = append(axes, int64(a))
		}
		m := b.Op("ReduceMean", []string{x}, onnxgen.Ints("axes", axes...), onnxgen.Int("keepdims", 1))
		m = b.Op("Reshape", []string{m, b.ConstInt64([]int64{2}, -1, 1)})
		if sum == "" {
			sum = m
		} else {
			sum = b.Op("Add", []string{sum, m})
		}
	}
	od := out.dims[len(out.dims)-1]
	ones := make([]float32, od)
	for i := range ones {
		ones[i] = 1 + float32(i)
	}
	y := b.Op("MatMul", []string{sum, b.Const([]int64{1, od}, ones)})
	if out.typ != onnxgen.Float {
		y = b.Op("Cast", []string{y}, onnxgen.Int("to", int64(out.typ)))
	}
	b.Output(out.name, y, out.typ, out.dims2()...)
	if err := b.Model().WriteFile(path); err != nil {
		t.Fatal(err)
	}
}

func TestModelValidation(t *testing.T) {
	lib := ortLibrary(t)
	cfg := onnxgen.DefaultTinyConfig()
	textIn := ioSpec{"input_ids", onnxgen.Int64, []int64{-1, 77}}
	textOut := ioSpec{"text_embeds", onnxgen.Float, []int64{-1, 8}}
	visIn := ioSpec{"pixel_values", onnxgen.Float, []int64{-1, 3, 32, 32}}
	visOut := ioSpec{"image_embeds", onnxgen.Float, []int64{-1, 8}}
	text := func(ins []ioSpec, out ioSpec) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) { standInModel(t, filepath.Join(dir, TextModelFile), ins, out) }
	}
	vision := func(in, out ioSpec) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			standInModel(t, filepath.Join(dir, VisionModelFile), []ioSpec{in}, out)
		}
	}
	remove := func(name string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	write := func(name, body string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name     string
		mutate   func(t *testing.T, dir string)
		wantFile string // the error must name this file
		wantErr  string
	}{
		{"missing text model", remove(TextModelFile), TextModelFile, "missing"},
		{"missing vision model", remove(VisionModelFile), VisionModelFile, "missing"},
		{"missing preprocessor config", remove(PreprocessorConfigFile), PreprocessorConfigFile, "missing"},
		{"preprocessor config not JSON", write(PreprocessorConfigFile, "{"), PreprocessorConfigFile, "parse preprocessor config"},
		{"preprocessor config other filter", write(PreprocessorConfigFile, `{"resample": 2, "crop_size": 32}`), PreprocessorConfigFile, "resample 2"},
		{"preprocessor config without crop", write(PreprocessorConfigFile, `{"do_center_crop": false}`), PreprocessorConfigFile, "no centre crop"},
		{"text model not ONNX", write(TextModelFile, "garbage"), TextModelFile, "ONNX Runtime cannot read it"},
		{"text input renamed", text([]ioSpec{{"ids", onnxgen.Int64, []int64{-1, 77}}}, textOut), TextModelFile, `no input "input_ids"`},
		{"text input float", text([]ioSpec{{"input_ids", onnxgen.Float, []int64{-1, 77}}}, textOut), TextModelFile, "want int64 or int32"},
		{"text input short context", text([]ioSpec{{"input_ids", onnxgen.Int64, []int64{-1, 64}}}, textOut), TextModelFile, "want [batch, 77]"},
		{"text extra input", text([]ioSpec{textIn, {"token_type_ids", onnxgen.Int64, []int64{-1, 77}}}, textOut), TextModelFile, `unexpected input "token_type_ids"`},
		{"text output renamed", text([]ioSpec{textIn}, ioSpec{"pooler_output", onnxgen.Float, []int64{-1, 8}}), TextModelFile, `no output "text_embeds"`},
		{"text output int", text([]ioSpec{textIn}, ioSpec{"text_embeds", onnxgen.Int64, []int64{-1, 8}}), TextModelFile, "want float or float16"},
		{"vision input renamed", vision(ioSpec{"image", onnxgen.Float, []int64{-1, 3, 32, 32}}, visOut), VisionModelFile, `want exactly "pixel_values"`},
		{"vision input int", vision(ioSpec{"pixel_values", onnxgen.Int64, []int64{-1, 3, 32, 32}}, visOut), VisionModelFile, "want float or float16"},
		{"vision input size differs from crop", vision(ioSpec{"pixel_values", onnxgen.Float, []int64{-1, 3, 64, 64}}, visOut), VisionModelFile, "want [batch, 3, 32, 32]"},
		{"vision input channels", vision(ioSpec{"pixel_values", onnxgen.Float, []int64{-1, 1, 32, 32}}, visOut), VisionModelFile, "want [batch, 3, 32, 32]"},
		{"vision output renamed", vision(visIn, ioSpec{"pooler_output", onnxgen.Float, []int64{-1, 8}}), VisionModelFile, `no output "image_embeds"`},
		{"embedding sizes differ", vision(visIn, ioSpec{"image_embeds", onnxgen.Float, []int64{-1, 4}}), VisionModelFile, "want [batch, 8]"},
		{"no tokenizer", remove("tokenizer.json"), "", "neither tokenizer.json nor vocab.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := onnxgen.WriteTinyFolder(dir, cfg, onnxgen.TokenizerJSON); err != nil {
				t.Fatal(err)
			}
			tt.mutate(t, dir)
			_, err := NewEncoder(Options{LibraryPath: lib, ModelDir: dir, Device: "cpu"})
			if err == nil {
				t.Fatal("invalid folder accepted")
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), filepath.Join(dir, tt.wantFile)) {
				t.Fatalf("error %q, want one naming %s and saying %q", err, tt.wantFile, tt.wantErr)
			}
			if tt.wantFile != "" && !errors.Is(err, ErrInvalidModel) {
				t.Errorf("error does not wrap ErrInvalidModel: %v", err)
			}
		})
	}
}

// TestInt32IDsWithMask loads a text model taking int32 input_ids and an
// attention_mask, as some exports do, and checks both reach it.
func TestInt32IDsWithMask(t *testing.T) {
	lib := ortLibrary(t)
	cfg := onnxgen.DefaultTinyConfig()
	dir := t.TempDir()
	if _, err := onnxgen.WriteTinyFolder(dir, cfg, onnxgen.TokenizerJSON); err != nil {
		t.Fatal(err)
	}
	standInModel(t, filepath.Join(dir, TextModelFile),
		[]ioSpec{{"input_ids", onnxgen.Int32, []int64{-1, 77}}, {"attention_mask", onnxgen.Int32, []int64{-1, 77}}},
		ioSpec{"text_embeds", onnxgen.Float, []int64{-1, 8}})
	info, err := InspectModel(lib, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if !info.HasMask || info.IDType != ort.TensorElementDataTypeInt32 {
		t.Fatalf("inspected %+v", info)
	}
	enc := newTestEncoder(t, dir, cfg.ImageSize, Options{})
	vecs, err := enc.EncodeTexts(context.Background(), []string{"a cat"})
	if err != nil {
		t.Fatal(err)
	}
	// The stand-in output is (mean(ids) + mean(mask)) · [1..8], normalized:
	// every component is proportional to its index, whatever the sum.
	for i, v := range vecs[0] {
		want := float64(i+1) / math.Sqrt(204) // sqrt(1²+…+8²)
		if math.Abs(float64(v)-want) > 1e-6 {
			t.Fatalf("component %d = %v, want %v", i, v, want)
		}
	}
	ids := make([]int64, ContextLength)
	n, _ := enc.Tokenizer().Encode(ids, "a cat")
	var sumIDs float64
	for _, id := range ids {
		sumIDs += float64(id)
	}
	// The mask is 1 on the n non-padding ids, so the raw first component is
	// sumIDs/77 + n/77; check it through the unnormalized run.
	emb := make([]float32, 8)
	if err := enc.runText(ids, 1, ContextLength, emb); err != nil {
		t.Fatal(err)
	}
	if want := (sumIDs + float64(n)) / 77; math.Abs(float64(emb[0])-want) > 1e-3*want {
		t.Fatalf("raw output %v, want %v: attention_mask not 1 on the %d tokens", emb[0], want, n)
	}
}

func TestFingerprint(t *testing.T) {
	lib := ortLibrary(t)
	cfg := onnxgen.DefaultTinyConfig()
	dirA, dirB := t.TempDir(), t.TempDir()
	if _, err := onnxgen.WriteTinyFolder(dirA, cfg, onnxgen.TokenizerJSON); err != nil {
		t.Fatal(err)
	}
	if _, err := onnxgen.WriteTinyFolder(dirB, cfg, onnxgen.TokenizerJSON); err != nil {
		t.Fatal(err)
	}
	a, err := InspectModel(lib, dirA, "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := InspectModel(lib, dirB, "")
	if err != nil {
		t.Fatal(err)
	}
	if a.Fingerprint != b.Fingerprint || len(a.Fingerprint) != 64 {
		t.Fatalf("same model, fingerprints %q and %q", a.Fingerprint, b.Fingerprint)
	}
	if err := onnxgen.WritePreprocessorConfig(dirB, cfg.ImageSize+0); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirB, PreprocessorConfigFile), []byte(`{"crop_size": 32, "image_mean": [0.5, 0.5, 0.5]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := InspectModel(lib, dirB, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Fingerprint == a.Fingerprint {
		t.Fatal("changing the preprocessing kept the fingerprint")
	}
}

// TestModelVariant loads the fp16 files of a folder that names them as
// Hugging Face exports do (onnx/text_model_fp16.onnx, ...).
func TestModelVariant(t *testing.T) {
	lib := ortLibrary(t)
	cfg := onnxgen.DefaultTinyConfig()
	cfg.Weights, cfg.IO = onnxgen.WeightsFloat16, onnxgen.Float16
	dir := t.TempDir()
	if _, err := onnxgen.WriteTinyFolder(dir, cfg, onnxgen.TokenizerJSON); err != nil {
		t.Fatal(err)
	}
	text, vision := ModelFiles("fp16")
	for from, to := range map[string]string{TextModelFile: text, VisionModelFile: vision} {
		if err := os.Rename(filepath.Join(dir, from), filepath.Join(dir, to)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := InspectModel(lib, dir, ""); err == nil || !strings.Contains(err.Error(), TextModelFile) {
		t.Fatalf("default variant: error %v, want the missing %s", err, TextModelFile)
	}
	info, err := InspectModel(lib, dir, "fp16")
	if err != nil {
		t.Fatal(err)
	}
	if info.PixelType != ort.TensorElementDataTypeFloat16 || info.TextOutType != ort.TensorElementDataTypeFloat16 {
		t.Fatalf("fp16 variant inspected as %v / %v", info.PixelType, info.TextOutType)
	}
	enc := newTestEncoder(t, dir, cfg.ImageSize, Options{Variant: "fp16"})
	if _, err := enc.EncodeTexts(context.Background(), []string{"a cat"}); err != nil {
		t.Fatal(err)
	}
}

// TestManifestNamesTheVariant loads a folder whose encoders are named by
// the manifest `capeval models pull` writes (as for an fp16 or quantized
// pull), and refuses a manifest that points outside the folder.
func TestManifestNamesTheVariant(t *testing.T) {
	lib := ortLibrary(t)
	cfg := onnxgen.DefaultTinyConfig()
	tests := []struct {
		name, text, vision, wantErr string
	}{
		{"pulled variant", "onnx/text_model_fp16.onnx", "onnx/vision_model_fp16.onnx", ""},
		{"escapes the folder", "../text_model.onnx", "onnx/vision_model_fp16.onnx", "text_model"},
		{"empty", "", "onnx/vision_model_fp16.onnx", "text_model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := onnxgen.WriteTinyFolder(dir, cfg, onnxgen.TokenizerJSON); err != nil {
				t.Fatal(err)
			}
			for from, to := range map[string]string{TextModelFile: "onnx/text_model_fp16.onnx", VisionModelFile: "onnx/vision_model_fp16.onnx"} {
				if err := os.Rename(filepath.Join(dir, from), filepath.Join(dir, to)); err != nil {
					t.Fatal(err)
				}
			}
			manifest := fmt.Sprintf(`{"format":1,"variant":"fp16","text_model":%q,"vision_model":%q}`, tt.text, tt.vision)
			if err := os.WriteFile(filepath.Join(dir, ManifestFile), []byte(manifest), 0o644); err != nil {
				t.Fatal(err)
			}
			info, err := InspectModel(lib, dir, "")
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalidModel) || !strings.Contains(err.Error(), ManifestFile) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrInvalidModel naming %s and %s", err, ManifestFile, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.TextPath != filepath.Join(dir, "onnx/text_model_fp16.onnx") {
				t.Fatalf("text model %s, want the manifest's", info.TextPath)
			}
		})
	}
}
