package clip

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"capeval/autoeval/clip/onnxgen"
)

// TestCUDAPlugin registers a plugin library through the encoder. The real
// plugin is 230 MB and only useful with a GPU, so no test needs it: without
// CAPEVAL_CUDA_PLUGIN, ONNX Runtime's own library stands in, which is no
// plugin and must be refused with ONNX Runtime's error. With the real plugin
// and no CUDA libraries, registration must fail with the loader's error
// naming the missing CUDA library; with them and a GPU, the tiny model must
// give the same embeddings on CUDA as on the CPU.
func TestCUDAPlugin(t *testing.T) {
	lib := ortLibrary(t)
	plugin := os.Getenv("CAPEVAL_CUDA_PLUGIN") // what `make test` passes on, as server.Config would
	if plugin == "" {
		t.Logf("CAPEVAL_CUDA_PLUGIN unset: registering %s, which is not a plugin", lib)
		plugin = lib
	}
	cfg := onnxgen.DefaultTinyConfig()
	dir := t.TempDir()
	if _, err := onnxgen.WriteTinyFolder(dir, cfg, onnxgen.TokenizerJSON); err != nil {
		t.Fatal(err)
	}
	gpu, err := NewEncoder(Options{LibraryPath: lib, ModelDir: dir, Device: "cuda", CUDAPlugin: plugin, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		if strings.Contains(err.Error(), "register execution provider library "+plugin) {
			t.Logf("registration refused as expected here: %v", err)
			return
		}
		t.Fatalf("CUDA plugin: unexpected error %v", err)
	}
	defer gpu.Close()
	t.Logf("running on %s", gpu.Provider())
	cpu := newTestEncoder(t, dir, cfg.ImageSize, Options{})
	texts := []string{"a photo depicts a cat", "a dog on the grass"}
	a, err := gpu.EncodeTexts(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cpu.EncodeTexts(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if c := Cosine(a[i], b[i]); c < 0.9999 {
			t.Errorf("text %d: CUDA and CPU embeddings differ (cos %v)", i, c)
		}
	}
}
