package imageprep

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Tolerances from issue 4, in normalised units.
const (
	maxAbsTol  = 0.02
	meanAbsTol = 0.002
	// pureJPEGMaxAbsTol is the bound for image/jpeg, the fallback decoder of
	// builds without cgo. Its IDCT rounds differently from libjpeg's islow
	// IDCT, which moves a few pixels by up to ~3 levels (0.044 here) after
	// the resize; the mean stays under a third of meanAbsTol.
	pureJPEGMaxAbsTol = 0.05
)

// loadLUT reads testdata/lut.bin, PIL+numpy's normalised value of every byte.
func loadLUT(t *testing.T) [3][256]float32 {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "lut.bin"))
	if err != nil {
		t.Fatalf("read lut: %v", err)
	}
	if len(data) != 3*256*4 {
		t.Fatalf("lut.bin has %d bytes, want %d", len(data), 3*256*4)
	}
	var lut [3][256]float32
	for c := 0; c < 3; c++ {
		for v := 0; v < 256; v++ {
			lut[c][v] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*(c*256+v):]))
		}
	}
	return lut
}

// loadReference returns the reference tensor of one test image in CHW order:
// the stored uint8 crop mapped through the stored table, which the Python
// script checked equals its float32 tensor exactly.
func loadReference(t *testing.T, name string, lut *[3][256]float32) []float32 {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "refs", name+".png"))
	if err != nil {
		t.Fatalf("open reference: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode reference: %v", err)
	}
	b := img.Bounds()
	n := b.Dx() * b.Dy()
	out := make([]float32, 3*n)
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			var px [3]uint8
			switch m := img.(type) {
			case *image.RGBA:
				copy(px[:], m.Pix[y*m.Stride+4*x:])
			case *image.NRGBA:
				copy(px[:], m.Pix[y*m.Stride+4*x:])
			default:
				t.Fatalf("reference %s decodes to %T", name, img)
			}
			for c := 0; c < 3; c++ {
				out[c*n+y*b.Dx()+x] = lut[c][px[c]]
			}
		}
	}
	return out
}

func TestLUTMatchesNumpy(t *testing.T) {
	want := loadLUT(t)
	p, err := NewPreprocessor(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for c := 0; c < 3; c++ {
		for v := 0; v < 256; v++ {
			if math.Float32bits(p.lut[c][v]) != math.Float32bits(want[c][v]) {
				t.Errorf("channel %d value %d: got %v, numpy %v", c, v, p.lut[c][v], want[c][v])
			}
		}
	}
}

// TestPreprocessMatchesPIL compares every test image with PIL's tensor, with
// each JPEG decoder compiled in. Except for JPEG through image/jpeg, both
// sides decode the same pixels, so the tensors must be identical.
func TestPreprocessMatchesPIL(t *testing.T) {
	lut := loadLUT(t)
	entries, err := os.ReadDir(filepath.Join("testdata", "images"))
	if err != nil {
		t.Fatal(err)
	}
	decoders := []struct {
		name     string
		pureJPEG bool
	}{
		{jpegDecoder, false},
		{"image/jpeg", true},
	}
	if jpegDecoder == "image/jpeg" {
		decoders = decoders[:1]
	}
	cfg := DefaultConfig()
	for _, dec := range decoders {
		p, err := NewPreprocessor(cfg)
		if err != nil {
			t.Fatal(err)
		}
		p.pureJPEG = dec.pureJPEG
		for _, e := range entries {
			name := e.Name()
			if dec.pureJPEG && !strings.HasSuffix(name, ".jpg") {
				continue // the flag only changes the JPEG decoder
			}
			t.Run(dec.name+"/"+name, func(t *testing.T) {
				data, err := os.ReadFile(filepath.Join("testdata", "images", name))
				if err != nil {
					t.Fatal(err)
				}
				want := loadReference(t, name, &lut)
				got := make([]float32, 3*cfg.CropHeight*cfg.CropWidth)
				pureJPEG := strings.HasSuffix(name, ".jpg") && (dec.pureJPEG || jpegDecoder == "image/jpeg")
				err = p.Preprocess(data, got)
				if pureJPEG && strings.Contains(name, "noadobe") {
					// image/jpeg refuses four-component JPEGs without an
					// Adobe marker, which PIL and libjpeg read.
					if err == nil {
						t.Fatal("image/jpeg decoded a CMYK JPEG without Adobe marker; update this test")
					}
					return
				}
				if err != nil {
					t.Fatalf("Preprocess: %v", err)
				}
				maxDiff, meanDiff, nDiff := compare(got, want)
				t.Logf("max %.5f mean %.6f, %d of %d values differ", maxDiff, meanDiff, nDiff, len(got))
				maxTol := maxAbsTol
				if pureJPEG {
					maxTol = pureJPEGMaxAbsTol
				}
				if maxDiff > maxTol || meanDiff > meanAbsTol {
					t.Errorf("max abs diff %.5f (limit %v), mean %.6f (limit %v)", maxDiff, maxTol, meanDiff, meanAbsTol)
				}
				// Lossless formats, lossy WebP (libwebp's upsampling and
				// equations are reproduced) and JPEG through libjpeg-turbo
				// decode to PIL's very pixels, so the tensors are identical.
				if !pureJPEG && nDiff > 0 {
					t.Errorf("%d values differ from PIL's; this input should match exactly", nDiff)
				}
			})
		}
	}
}

func compare(got, want []float32) (maxDiff, meanDiff float64, nDiff int) {
	sum := 0.0
	for i := range got {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			nDiff++
		}
		sum += d
		maxDiff = max(maxDiff, d)
	}
	return maxDiff, sum / float64(len(got)), nDiff
}

// TestPreprocessVariantsMatchPIL covers the other config shapes against
// PIL: a crop larger than the resized image along one axis (HF pads with
// zeros) and an exact height×width resize.
func TestPreprocessVariantsMatchPIL(t *testing.T) {
	lut := loadLUT(t)
	pad := DefaultConfig()
	pad.ShortestEdge, pad.CropHeight, pad.CropWidth = 160, 192, 144
	exact := DefaultConfig()
	exact.ShortestEdge, exact.ResizeHeight, exact.ResizeWidth = 0, 200, 150
	exact.CropHeight, exact.CropWidth = 128, 128
	tests := []struct {
		variant string
		cfg     Config
		images  []string
	}{
		{"pad", pad, []string{"png_rgb_300x300.png", "jpeg_480x640.jpg", "png_rgb_100x50.png"}},
		{"exact", exact, []string{"png_rgb_300x300.png", "jpeg_1000x300.jpg"}},
	}
	for _, tt := range tests {
		p, err := NewPreprocessor(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range tt.images {
			t.Run(tt.variant+"/"+name, func(t *testing.T) {
				data, err := os.ReadFile(filepath.Join("testdata", "images", name))
				if err != nil {
					t.Fatal(err)
				}
				want := loadReference(t, filepath.Join(tt.variant, name), &lut)
				got := make([]float32, 3*tt.cfg.CropHeight*tt.cfg.CropWidth)
				if err := p.Preprocess(data, got); err != nil {
					t.Fatalf("Preprocess: %v", err)
				}
				maxDiff, meanDiff, nDiff := compare(got, want)
				if strings.HasSuffix(name, ".jpg") && jpegDecoder == "image/jpeg" {
					if maxDiff > pureJPEGMaxAbsTol || meanDiff > meanAbsTol {
						t.Errorf("max abs diff %.5f (limit %v), mean %.6f (limit %v)", maxDiff, pureJPEGMaxAbsTol, meanDiff, meanAbsTol)
					}
					return
				}
				if nDiff > 0 {
					t.Errorf("%d values differ from PIL's (max %.5f, mean %.6f)", nDiff, maxDiff, meanDiff)
				}
			})
		}
	}
}

// TestPreprocessImageMatchesPreprocess checks that an image decoded by the
// caller goes through the same conversion as the bytes.
func TestPreprocessImageMatchesPreprocess(t *testing.T) {
	for _, name := range []string{"png_rgba_320x240.png", "png_paletted_256x200.png", "png_grey16_200x150.png"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "images", name))
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			p, err := NewPreprocessor(DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float32, 3*224*224)
			got := make([]float32, 3*224*224)
			if err := p.Preprocess(data, want); err != nil {
				t.Fatal(err)
			}
			if err := p.PreprocessImage(img, got); err != nil {
				t.Fatal(err)
			}
			if _, _, n := compare(got, want); n > 0 {
				t.Errorf("%d values differ", n)
			}
		})
	}
}

// TestPreprocessAllocs guards the no-allocation steady state that the
// encoder's workers rely on: resize, crop and normalise always, and the whole
// JPEG path where libjpeg-turbo decodes (image/jpeg allocates its planes).
func TestPreprocessAllocs(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "images", "jpeg_photo_640x480.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPreprocessor(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, 3*224*224)
	m, err := decodeRGB(data, DefaultMaxPixels, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		run  func() error
		want float64
	}{
		{"process", func() error { return p.process(m, dst) }, 0},
	}
	if jpegDecoder == "libjpeg-turbo" {
		tests = append(tests, struct {
			name string
			run  func() error
			want float64
		}{"Preprocess", func() error { return p.Preprocess(data, dst) }, 0})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			allocs := testing.AllocsPerRun(3, func() {
				if err := tt.run(); err != nil {
					t.Fatal(err)
				}
			})
			if allocs > tt.want {
				t.Errorf("%.1f allocations per image, want %v", allocs, tt.want)
			}
		})
	}
}

// TestPreprocessConcurrent runs one Preprocessor per goroutine, as the
// encoder's workers do, and checks they share no state (run with -race).
func TestPreprocessConcurrent(t *testing.T) {
	names := []string{"jpeg_photo_640x480.jpg", "png_rgba_320x240.png", "webp_lossy_300x300.webp", "gif_300x200.gif"}
	want := make([][]float32, len(names))
	datas := make([][]byte, len(names))
	for i, name := range names {
		data, err := os.ReadFile(filepath.Join("testdata", "images", name))
		if err != nil {
			t.Fatal(err)
		}
		datas[i] = data
		want[i] = make([]float32, 3*224*224)
		if err := Preprocess(data, DefaultConfig(), want[i]); err != nil {
			t.Fatal(err)
		}
	}
	const workers = 3
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func() {
			p, err := NewPreprocessor(DefaultConfig())
			if err != nil {
				errs <- err
				return
			}
			got := make([]float32, 3*224*224)
			for r := 0; r < 2; r++ {
				for i := range datas {
					k := (i + w) % len(datas)
					if err := p.Preprocess(datas[k], got); err != nil {
						errs <- err
						return
					}
					if _, _, n := compare(got, want[k]); n > 0 {
						errs <- fmt.Errorf("worker %d, %s: %d values differ", w, names[k], n)
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
