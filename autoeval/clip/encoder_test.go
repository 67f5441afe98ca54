package clip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"capeval/autoeval/clip/onnxgen"
)

// The mean and std WritePreprocessorConfig writes (CLIP's).
var (
	testMean = [3]float32{0.48145466, 0.4578275, 0.40821073}
	testStd  = [3]float32{0.26862954, 0.26130258, 0.27577711}
)

// rawPreprocessor stands in for the real image preprocessing: it decodes a
// PNG already of the model's input size and normalizes it, so the tests here
// exercise the encoder alone. It counts its calls.
type rawPreprocessor struct {
	size  int
	calls *atomic.Int64
}

func (p rawPreprocessor) Preprocess(data []byte, dst []float32) error {
	if p.calls != nil {
		p.calls.Add(1)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return err
	}
	if img.Bounds().Dx() != p.size || img.Bounds().Dy() != p.size {
		return fmt.Errorf("image is %v, want %dx%d", img.Bounds().Size(), p.size, p.size)
	}
	return pixelsCHW(img, p.size, dst)
}

func pixelsCHW(img image.Image, size int, dst []float32) error {
	for y := range size {
		for x := range size {
			r, g, b, _ := img.At(x, y).RGBA()
			for c, v := range [3]uint32{r >> 8, g >> 8, b >> 8} {
				dst[c*size*size+y*size+x] = (float32(v)/255 - testMean[c]) / testStd[c]
			}
		}
	}
	return nil
}

func newRawPreprocessor(size int, calls *atomic.Int64) NewPreprocessorFunc {
	return func([]byte) (Preprocessor, error) { return rawPreprocessor{size: size, calls: calls}, nil }
}

// testImages draws n seeded random images of size×size as PNG.
func testImages(t testing.TB, n, size int, seed uint64) [][]byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 9))
	out := make([][]byte, n)
	for i := range out {
		img := image.NewNRGBA(image.Rect(0, 0, size, size))
		base := [3]int{rng.IntN(256), rng.IntN(256), rng.IntN(256)}
		for y := range size {
			for x := range size {
				img.Set(x, y, color.NRGBA{
					R: uint8((base[0] + x*7 + rng.IntN(40)) % 256),
					G: uint8((base[1] + y*5 + rng.IntN(40)) % 256),
					B: uint8((base[2] + (x^y)*3 + rng.IntN(40)) % 256),
					A: 255,
				})
			}
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		out[i] = buf.Bytes()
	}
	return out
}

// refText recomputes the tiny text tower in plain Go (float64).
func refText(p onnxgen.TinyText, ids []int64) []float32 {
	d := p.Width
	eot := 0
	for i, id := range ids {
		if id > ids[eot] {
			eot = i
		}
	}
	h := make([]float64, d)
	for k := range d {
		h[k] = math.Tanh(float64(p.TokenEmb[int(ids[eot])*d+k]) + float64(p.PosEmb[eot*d+k]))
	}
	return matVec(h, p.Proj, d, p.EmbedDim)
}

// refVision recomputes the tiny vision tower in plain Go (float64).
func refVision(p onnxgen.TinyVision, pix []float32) []float32 {
	d, ps, s := p.Width, p.PatchSize, p.ImageSize
	g := s / ps
	pooled := make([]float64, d)
	for o := range d {
		sum := 0.0
		for i := range g {
			for j := range g {
				acc := float64(p.PatchB[o])
				for c := range 3 {
					for u := range ps {
						for v := range ps {
							w := p.PatchW[((o*3+c)*ps+u)*ps+v]
							acc += float64(w) * float64(pix[c*s*s+(i*ps+u)*s+j*ps+v])
						}
					}
				}
				sum += acc
			}
		}
		pooled[o] = math.Tanh(sum / float64(g*g))
	}
	return matVec(pooled, p.Proj, d, p.EmbedDim)
}

func matVec(x []float64, w []float32, in, out int) []float32 {
	y := make([]float32, out)
	for j := range out {
		acc := 0.0
		for i := range in {
			acc += x[i] * float64(w[i*out+j])
		}
		y[j] = float32(acc)
	}
	return y
}

func newTestEncoder(t testing.TB, dir string, size int, opts Options) *Encoder {
	t.Helper()
	opts.LibraryPath = ortLibrary(t)
	opts.ModelDir = dir
	if opts.Device == "" {
		opts.Device = "cpu"
	}
	if opts.NewPreprocessor == nil {
		opts.NewPreprocessor = newRawPreprocessor(size, nil)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	enc, err := NewEncoder(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := enc.Close(); err != nil {
			t.Error(err)
		}
	})
	return enc
}

// TestPipelineMatchesReference runs tokenize → encode → score through the
// real ONNX Runtime on a tiny generated model and checks every score against
// the same maths done in plain Go.
func TestPipelineMatchesReference(t *testing.T) {
	tests := []struct {
		name    string
		weights onnxgen.WeightFormat
		io      onnxgen.DataType
		format  onnxgen.TokenizerFormat
		batch   int
		tol     float64
	}{
		{"fp32 tokenizer.json batch 32", onnxgen.WeightsFloat32, onnxgen.Float, onnxgen.TokenizerJSON, 32, 1e-5},
		{"fp32 vocab+merges batch 1", onnxgen.WeightsFloat32, onnxgen.Float, onnxgen.VocabAndMerges, 1, 1e-5},
		{"fp32 pair merges batch 3", onnxgen.WeightsFloat32, onnxgen.Float, onnxgen.TokenizerJSONPairs, 3, 1e-5},
		// fp16 rounds inputs and outputs to 11 significant bits. The int8
		// variant matches within 1e-5 with graph optimizations off; at level
		// "all" ONNX Runtime fuses DequantizeLinear+MatMul into kernels that
		// quantize the activations too, as it does for real quantized exports.
		{"fp16 weights and I/O", onnxgen.WeightsFloat16, onnxgen.Float16, onnxgen.TokenizerJSON, 4, 5e-3},
		{"int8 weights", onnxgen.WeightsInt8, onnxgen.Float, onnxgen.TokenizerJSON, 4, 2e-2},
	}
	captions := []string{"a cat on the grass", "a red ball", "A dog!", "the photo depicts a cat and a dog on the grass", "zebra", "a cat on the grass"}
	refs := [][]string{{"a cat", "cat on grass"}, {"ball"}, {}, {"dog and cat", "the grass", "a photo"}, {"striped horse"}, {"a cat"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := onnxgen.DefaultTinyConfig()
			cfg.Weights, cfg.IO = tt.weights, tt.io
			dir := t.TempDir()
			folder, err := onnxgen.WriteTinyFolder(dir, cfg, tt.format)
			if err != nil {
				t.Fatal(err)
			}
			enc := newTestEncoder(t, dir, cfg.ImageSize, Options{BatchSize: tt.batch, TextBatchSize: tt.batch, Threads: 1, Workers: 2})
			imgs := testImages(t, 4, cfg.ImageSize, 7)
			samples := make([]Sample, len(captions))
			for i := range captions {
				samples[i] = Sample{Image: []int{0, 1, 2, 3, 0, 0}[i], Caption: captions[i], References: refs[i]}
			}
			got, err := enc.Score(context.Background(), samples, len(imgs), func(i int) ([]byte, error) { return imgs[i], nil },
				Metrics{CLIPScore: true, RefCLIPScore: true, TorchmetricsCLIPScore: true})
			if err != nil {
				t.Fatal(err)
			}

			// The reference: same tokenizer, the model's maths in float64.
			tok, err := LoadTokenizer(dir)
			if err != nil {
				t.Fatal(err)
			}
			embedText := func(s string) []float32 {
				ids := make([]int64, ContextLength)
				if _, err := tok.Encode(ids, s); err != nil {
					t.Fatal(err)
				}
				return refText(folder.Text, ids)
			}
			pix := make([]float32, 3*cfg.ImageSize*cfg.ImageSize)
			var means [3]float64
			for i, s := range samples {
				img, _ := png.Decode(bytes.NewReader(imgs[s.Image]))
				if err := pixelsCHW(img, cfg.ImageSize, pix); err != nil {
					t.Fatal(err)
				}
				iv := refVision(folder.Vision, pix)
				cv := embedText(Prefix + s.Caption)
				var rv [][]float32
				for _, r := range s.References {
					rv = append(rv, embedText(Prefix+r))
				}
				want := [3]float64{CLIPScore(iv, cv), RefCLIPScore(iv, cv, rv), TorchmetricsCLIPScore(iv, embedText(s.Caption))}
				have := [3]float64{got.CLIPScore[i], got.RefCLIPScore[i], got.TorchmetricsCLIPScore[i] / 100}
				want[2] /= 100 // compare torchmetrics' variant on the cosine scale
				for k := range want {
					means[k] += want[k] / float64(len(samples))
					if math.Abs(have[k]-want[k]) > tt.tol {
						t.Errorf("sample %d metric %d: got %.8f, want %.8f", i, k, have[k], want[k])
					}
				}
			}
			if math.Abs(got.Mean[MetricCLIPScore]-means[0]) > tt.tol || math.Abs(got.Mean[MetricRefCLIPScore]-means[1]) > tt.tol ||
				math.Abs(got.Mean[MetricCLIPScoreTorchmetrics]/100-means[2]) > tt.tol {
				t.Errorf("means %v, want %v (torchmetrics /100)", got.Mean, means)
			}
			if got.CLIPScore[0] != got.CLIPScore[5] {
				t.Errorf("duplicate sample scored differently: %v vs %v", got.CLIPScore[0], got.CLIPScore[5])
			}
			if got.RefCLIPScore[2] != 0 {
				t.Errorf("RefCLIPScore without references = %v, want 0", got.RefCLIPScore[2])
			}
		})
	}
}

func TestEmbeddingsNormalized(t *testing.T) {
	cfg := onnxgen.DefaultTinyConfig()
	dir := t.TempDir()
	if _, err := onnxgen.WriteTinyFolder(dir, cfg, onnxgen.TokenizerJSON); err != nil {
		t.Fatal(err)
	}
	enc := newTestEncoder(t, dir, cfg.ImageSize, Options{BatchSize: 2})
	imgs := testImages(t, 5, cfg.ImageSize, 3)
	iv, err := enc.EncodeImages(context.Background(), len(imgs), func(i int) ([]byte, error) { return imgs[i], nil })
	if err != nil {
		t.Fatal(err)
	}
	tv, err := enc.EncodeTexts(context.Background(), []string{"a", "b c", "a"})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range append(iv, tv...) {
		var ss float64
		for _, x := range v {
			ss += float64(x) * float64(x)
		}
		if len(v) != cfg.EmbedDim || math.Abs(ss-1) > 1e-6 {
			t.Fatalf("embedding of length %d with squared norm %v", len(v), ss)
		}
	}
}

func TestCacheSkipsEncoding(t *testing.T) {
	cfg := onnxgen.DefaultTinyConfig()
	dir := t.TempDir()
	if _, err := onnxgen.WriteTinyFolder(dir, cfg, onnxgen.TokenizerJSON); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	cache := NewMemoryCache()
	enc := newTestEncoder(t, dir, cfg.ImageSize, Options{BatchSize: 2, Cache: cache, NewPreprocessor: newRawPreprocessor(cfg.ImageSize, &calls)})
	imgs := testImages(t, 3, cfg.ImageSize, 5)
	imgs = append(imgs, imgs[0]) // same bytes: one encoding
	load := func(i int) ([]byte, error) { return imgs[i], nil }
	samples := []Sample{{Image: 0, Caption: "a cat", References: []string{"a dog"}}, {Image: 3, Caption: "a cat"}, {Image: 1, Caption: "red"}}
	m := Metrics{CLIPScore: true, RefCLIPScore: true}

	first, err := enc.Score(context.Background(), samples, len(imgs), load, m)
	if err != nil {
		t.Fatal(err)
	}
	if got := calls.Load(); got != 3 {
		t.Fatalf("first run preprocessed %d images, want 3 distinct", got)
	}
	if got := cache.Len(); got != 3+3 {
		t.Fatalf("cache holds %d embeddings, want 3 images + 3 texts", got)
	}
	_, missesBefore := cache.Stats()
	second, err := enc.Score(context.Background(), samples, len(imgs), load, m)
	if err != nil {
		t.Fatal(err)
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("second run preprocessed %d more images, want 0", got-3)
	}
	if _, misses := cache.Stats(); misses != missesBefore {
		t.Errorf("second run missed the cache %d times", misses-missesBefore)
	}
	for i := range samples {
		if first.CLIPScore[i] != second.CLIPScore[i] || first.RefCLIPScore[i] != second.RefCLIPScore[i] {
			t.Errorf("sample %d: cached scores differ", i)
		}
	}
	// A new caption is a miss for that text only.
	samples = append(samples, Sample{Image: 2, Caption: "new words"})
	if _, err := enc.Score(context.Background(), samples, len(imgs), load, m); err != nil {
		t.Fatal(err)
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("adding a caption preprocessed %d images", got-3)
	}
	if got := cache.Len(); got != 7 {
		t.Errorf("cache holds %d embeddings, want 7", got)
	}
}

func TestImageErrors(t *testing.T) {
	cfg := onnxgen.DefaultTinyConfig()
	dir := t.TempDir()
	if _, err := onnxgen.WriteTinyFolder(dir, cfg, onnxgen.TokenizerJSON); err != nil {
		t.Fatal(err)
	}
	enc := newTestEncoder(t, dir, cfg.ImageSize, Options{BatchSize: 2, Workers: 2})
	imgs := testImages(t, 7, cfg.ImageSize, 1)
	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		load    ImageLoader
		wantErr string
	}{
		{"loader fails", func(i int) ([]byte, error) {
			if i == 4 {
				return nil, errBoom
			}
			return imgs[i], nil
		}, "load image 4: boom"},
		{"not an image", func(i int) ([]byte, error) {
			if i == 6 {
				return []byte("nope"), nil
			}
			return imgs[i], nil
		}, "preprocess image 6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := enc.EncodeImages(context.Background(), len(imgs), tt.load)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := enc.EncodeImages(ctx, len(imgs), func(i int) ([]byte, error) { return imgs[i], nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: error %v", err)
	}
}

func TestParseDevice(t *testing.T) {
	tests := []struct {
		in      string
		want    Device
		wantErr bool
	}{
		{"", Device{Kind: "auto"}, false},
		{"auto", Device{Kind: "auto"}, false},
		{"cpu", Device{Kind: "cpu"}, false},
		{"cuda", Device{Kind: "cuda"}, false},
		{"cuda:2", Device{Kind: "cuda", Index: 2}, false},
		{"cuda:-1", Device{}, true},
		{"gpu", Device{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDevice(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseDevice(%q) = %v, %v", tt.in, got, err)
			}
		})
	}
}

// TestDeviceSelection runs on the CPU build of ONNX Runtime: cuda must fail
// with ONNX Runtime's own error, auto must fall back to the CPU and say so.
func TestDeviceSelection(t *testing.T) {
	cfg := onnxgen.DefaultTinyConfig()
	dir := t.TempDir()
	if _, err := onnxgen.WriteTinyFolder(dir, cfg, onnxgen.TokenizerJSON); err != nil {
		t.Fatal(err)
	}
	lib := ortLibrary(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	_, err := NewEncoder(Options{LibraryPath: lib, ModelDir: dir, Device: "cuda", Logger: log})
	if err == nil || !strings.Contains(err.Error(), "CUDA") {
		t.Fatalf("cuda on the CPU build: error %v, want ONNX Runtime's CUDA error", err)
	}
	t.Logf("cuda on the CPU build: %v", err)

	_, err = NewEncoder(Options{LibraryPath: lib, ModelDir: dir, Device: "cuda:1", CUDAPlugin: filepath.Join(dir, "no-such-plugin.so"), Logger: log})
	if err == nil || !strings.Contains(err.Error(), "no-such-plugin.so") {
		t.Fatalf("missing CUDA plugin: error %v, want one naming the plugin", err)
	}

	enc, err := NewEncoder(Options{LibraryPath: lib, ModelDir: dir, Device: "auto", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	if enc.Provider() != "CPUExecutionProvider" {
		t.Errorf("auto chose %q on the CPU build", enc.Provider())
	}
	if !strings.Contains(logs.String(), "CUDA unavailable") || !strings.Contains(logs.String(), "provider=CPUExecutionProvider") {
		t.Errorf("logs do not say which provider was used:\n%s", logs.String())
	}
}

// TestEnvironmentSharing opens several encoders at once and closes them in
// any order: the process-wide ONNX Runtime environment lives until the last.
func TestEnvironmentSharing(t *testing.T) {
	cfg := onnxgen.DefaultTinyConfig()
	dir := t.TempDir()
	if _, err := onnxgen.WriteTinyFolder(dir, cfg, onnxgen.TokenizerJSON); err != nil {
		t.Fatal(err)
	}
	a := newTestEncoder(t, dir, cfg.ImageSize, Options{})
	b := newTestEncoder(t, dir, cfg.ImageSize, Options{})
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := b.EncodeTexts(context.Background(), []string{"still works"}); err != nil {
		t.Fatalf("encoder after another closed: %v", err)
	}
	if _, err := a.EncodeTexts(context.Background(), []string{"closed"}); err == nil {
		t.Fatal("closed encoder encoded")
	}
	lib := ortLibrary(t)
	if _, err := NewEncoder(Options{LibraryPath: lib + ".other", ModelDir: dir}); err == nil {
		t.Fatal("second ONNX Runtime library accepted while one is loaded")
	}
}

// TestDefaultImagePreprocessing runs images of another size through the
// default preprocessing (autoeval/imageprep) and checks the embeddings against
// the reference maths on the tensors imageprep produces.
func TestDefaultImagePreprocessing(t *testing.T) {
	cfg := onnxgen.DefaultTinyConfig()
	dir := t.TempDir()
	folder, err := onnxgen.WriteTinyFolder(dir, cfg, onnxgen.TokenizerJSON)
	if err != nil {
		t.Fatal(err)
	}
	lib := ortLibrary(t)
	enc, err := NewEncoder(Options{LibraryPath: lib, ModelDir: dir, Device: "cpu", BatchSize: 2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	imgs := testImages(t, 3, 48, 11) // resized to 32 and cropped by imageprep
	got, err := enc.EncodeImages(context.Background(), len(imgs), func(i int) ([]byte, error) { return imgs[i], nil })
	if err != nil {
		t.Fatal(err)
	}
	pre, err := ImagePreprocessor(enc.Info().PreprocessorConfig)
	if err != nil {
		t.Fatal(err)
	}
	pix := make([]float32, 3*cfg.ImageSize*cfg.ImageSize)
	for i, data := range imgs {
		if err := pre.Preprocess(data, pix); err != nil {
			t.Fatal(err)
		}
		want := normalize(refVision(folder.Vision, pix))
		for k := range want {
			if math.Abs(float64(got[i][k]-want[k])) > 1e-5 {
				t.Fatalf("image %d component %d: %v, want %v", i, k, got[i][k], want[k])
			}
		}
	}
}
