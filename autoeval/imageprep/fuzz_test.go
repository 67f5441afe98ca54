package imageprep

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzPreprocess feeds arbitrary bytes, seeded with the small test images:
// every input must give a tensor or an error, never a panic or a crash in
// libjpeg. Run it with go test -fuzz FuzzPreprocess ./autoeval/imageprep.
func FuzzPreprocess(f *testing.F) {
	for _, name := range []string{"png_rgb_3x2.png", "jpeg_301x227.jpg", "gif_300x200.gif", "webp_lossy_300x300.webp", "png_paletted_256x200.png"} {
		data, err := os.ReadFile(filepath.Join("testdata", "images", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	cfg := DefaultConfig()
	// Keep decoded sizes small so the fuzzer spends its time on parsing.
	cfg.MaxPixels = 1 << 20
	dst := make([]float32, 3*224*224)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, pure := range []bool{false, true} {
			p, err := NewPreprocessor(cfg)
			if err != nil {
				t.Fatal(err)
			}
			p.pureJPEG = pure
			_ = p.Preprocess(data, dst)
		}
	})
}
