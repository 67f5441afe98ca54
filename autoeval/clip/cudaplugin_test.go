package clip

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"capeval/autoeval/clip/onnxgen"
)

// CUDAPluginEnv names the CUDA execution-provider plugin library for the
// opt-in plugin test (scripts/fetch-cuda-plugin.sh provisions it).
const CUDAPluginEnv = "CAPEVAL_CUDA_PLUGIN"

// TestCUDAPlugin is opt-in: the plugin is 230 MB and only useful with a GPU,
// so no test needs it. With CAPEVAL_CUDA_PLUGIN set it registers the plugin.
// Without CUDA libraries that must fail with the loader's error naming the
// missing CUDA library; with them and a GPU, the tiny model must give the
// same embeddings on CUDA as on the CPU.
func TestCUDAPlugin(t *testing.T) {
	plugin := os.Getenv(CUDAPluginEnv)
	if plugin == "" {
		t.Skipf("opt-in: set %s to libonnxruntime_providers_cuda.so (scripts/fetch-cuda-plugin.sh)", CUDAPluginEnv)
	}
	lib := ortLibrary(t)
	cfg := onnxgen.DefaultTinyConfig()
	dir := t.TempDir()
	if _, err := onnxgen.WriteTinyFolder(dir, cfg, onnxgen.TokenizerJSON); err != nil {
		t.Fatal(err)
	}
	gpu, err := NewEncoder(Options{LibraryPath: lib, ModelDir: dir, Device: "cuda", CUDAPlugin: plugin, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		if strings.Contains(err.Error(), ".so") {
			t.Logf("CUDA plugin registration failed as expected without CUDA: %v", err)
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
