package imageprep

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The benchmarks run on one goroutine, so ns/op and ms/image are per image
// per core. BenchmarkPIL640x480JPEG times PIL on the same file in the same
// run, to compare like with like on a shared machine.

// bench640 has photo-like texture: its decode costs what a camera
// picture's does.
const bench640 = "jpeg_photo_640x480.jpg"

func readBenchImage(b *testing.B) []byte {
	b.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "images", bench640))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func reportMS(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N), "ms/image")
}

// BenchmarkPreprocess640x480JPEG is the whole path: decode, convert, resize,
// crop, normalise into a reused tensor.
func BenchmarkPreprocess640x480JPEG(b *testing.B) {
	for _, dec := range benchDecoders() {
		b.Run(dec.name, func(b *testing.B) {
			data := readBenchImage(b)
			p, err := NewPreprocessor(DefaultConfig())
			if err != nil {
				b.Fatal(err)
			}
			p.pureJPEG = dec.pure
			dst := make([]float32, 3*224*224)
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Preprocess(data, dst); err != nil {
					b.Fatal(err)
				}
			}
			reportMS(b)
		})
	}
}

// BenchmarkDecode640x480JPEG is the decode to packed RGB alone.
func BenchmarkDecode640x480JPEG(b *testing.B) {
	for _, dec := range benchDecoders() {
		b.Run(dec.name, func(b *testing.B) {
			data := readBenchImage(b)
			var buf []uint8
			b.ReportAllocs()
			for b.Loop() {
				m, err := decodeRGB(data, DefaultMaxPixels, buf, dec.pure)
				if err != nil {
					b.Fatal(err)
				}
				buf = m.Pix
			}
			reportMS(b)
		})
	}
}

// BenchmarkResize640x480 is resize + crop + normalise of a decoded image.
func BenchmarkResize640x480(b *testing.B) {
	data := readBenchImage(b)
	m, err := decodeRGB(data, DefaultMaxPixels, nil, false)
	if err != nil {
		b.Fatal(err)
	}
	p, err := NewPreprocessor(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]float32, 3*224*224)
	b.ReportAllocs()
	for b.Loop() {
		if err := p.process(m, dst); err != nil {
			b.Fatal(err)
		}
	}
	reportMS(b)
}

// BenchmarkPIL640x480JPEG runs testdata/pil_bench.py on the same file and
// reports PIL's figures beside ours measured the same way in the same run:
// CPU time of one thread (so per core, and steadier than wall time on a
// shared machine), best of 5 repeats of 50 images. pil-ms/image and
// go-ms/image are the whole path, pil-decode-ms/image and go-decode-ms/image
// the decode, pil/go how many times faster ours is. Its ns/op is the script's
// run time and means nothing. It skips where no python3 with PIL and numpy
// is found.
func BenchmarkPIL640x480JPEG(b *testing.B) {
	py := pythonWithPIL()
	if py == "" {
		b.Skip("no python3 with PIL and numpy (Debian: apt-get install python3-pil python3-numpy)")
	}
	data := readBenchImage(b)
	p, err := NewPreprocessor(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]float32, 3*224*224)
	var buf []uint8
	var res struct {
		PIL      string  `json:"pil"`
		DecodeMS float64 `json:"decode_ms"`
		FullMS   float64 `json:"full_ms"`
	}
	var goFull, goDecode float64
	for b.Loop() {
		cmd := exec.Command(py, filepath.Join("testdata", "pil_bench.py"), filepath.Join("testdata", "images", bench640), "50")
		// One thread, so process CPU time is one core's.
		cmd.Env = append(os.Environ(), "OPENBLAS_NUM_THREADS=1", "OMP_NUM_THREADS=1", "MKL_NUM_THREADS=1")
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("pil_bench.py: %v", err)
		}
		if err := json.Unmarshal(out, &res); err != nil {
			b.Fatalf("pil_bench.py output %q: %v", out, err)
		}
		goFull = bestOf5(func() {
			if err := p.Preprocess(data, dst); err != nil {
				b.Fatal(err)
			}
		})
		goDecode = bestOf5(func() {
			m, err := decodeRGB(data, DefaultMaxPixels, buf, false)
			if err != nil {
				b.Fatal(err)
			}
			buf = m.Pix
		})
	}
	b.ReportMetric(res.FullMS, "pil-ms/image")
	b.ReportMetric(goFull, "go-ms/image")
	b.ReportMetric(res.DecodeMS, "pil-decode-ms/image")
	b.ReportMetric(goDecode, "go-decode-ms/image")
	b.ReportMetric(res.FullMS/goFull, "pil/go")
	b.Logf("Pillow %s; Go JPEG decoder %s", res.PIL, jpegDecoder)
}

// bestOf5 is pil_bench.py's protocol: the best of 5 repeats of 50 calls, in
// CPU milliseconds per call.
func bestOf5(f func()) float64 {
	now, done := cpuClock()
	defer done()
	best := math.Inf(1)
	for r := 0; r < 5; r++ {
		start := now()
		for i := 0; i < 50; i++ {
			f()
		}
		best = min(best, float64((now()-start).Nanoseconds())/1e6/50)
	}
	return best
}

// pythonWithPIL returns the first Python interpreter that imports PIL and
// numpy: a python3 earlier on PATH (pyenv, a venv) may lack Debian's
// packages, so /usr/bin/python3 is tried too.
func pythonWithPIL() string {
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(py, "-c", "import PIL, numpy").Run() == nil {
			return py
		}
	}
	return ""
}

type benchDecoder struct {
	name string
	pure bool
}

func benchDecoders() []benchDecoder {
	if jpegDecoder == "image/jpeg" {
		return []benchDecoder{{"image/jpeg", true}}
	}
	return []benchDecoder{{jpegDecoder, false}, {"image/jpeg", true}}
}
