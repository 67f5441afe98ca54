package imageprep

import (
	"bytes"
	"encoding/binary"
	"flag"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "regenerate testdata/images (then run testdata/make_reference.py)")

// testImage is one generated test input. The Python script derives further
// inputs (WebP, CMYK and grey JPEG) from some of them; see testdata/README.md.
type testImage struct {
	file string
	w, h int
	seed uint64
	// encode writes the drawn picture in the file's format.
	encode func(m *image.NRGBA, rng *rand.Rand) ([]byte, error)
}

func encodeJPEG(q int) func(*image.NRGBA, *rand.Rand) ([]byte, error) {
	return func(m *image.NRGBA, _ *rand.Rand) ([]byte, error) {
		var b bytes.Buffer
		err := jpeg.Encode(&b, m, &jpeg.Options{Quality: q})
		return b.Bytes(), err
	}
}

func encodePNG(conv func(*image.NRGBA, *rand.Rand) image.Image) func(*image.NRGBA, *rand.Rand) ([]byte, error) {
	return func(m *image.NRGBA, rng *rand.Rand) ([]byte, error) {
		var b bytes.Buffer
		enc := png.Encoder{CompressionLevel: png.BestCompression}
		err := enc.Encode(&b, conv(m, rng))
		return b.Bytes(), err
	}
}

func asIs(m *image.NRGBA, _ *rand.Rand) image.Image { return opaque(m) }

// opaque returns m as an *image.RGBA so the PNG encoder writes RGB, not RGBA.
func opaque(m *image.NRGBA) *image.RGBA {
	out := image.NewRGBA(m.Rect)
	copy(out.Pix, m.Pix)
	for i := 3; i < len(out.Pix); i += 4 {
		out.Pix[i] = 0xff
	}
	return out
}

// withAlpha keeps the colours and varies alpha across the picture, down to
// fully transparent pixels that still carry a colour: PIL drops alpha, so a
// compositing implementation would fail here.
func withAlpha(m *image.NRGBA, _ *rand.Rand) image.Image {
	out := image.NewNRGBA(m.Rect)
	copy(out.Pix, m.Pix)
	w, h := m.Rect.Dx(), m.Rect.Dy()
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			a := uint8((x*255/w + y*97/h) % 256)
			if (x/16+y/16)%5 == 0 {
				a = 0
			}
			out.Pix[y*out.Stride+4*x+3] = a
		}
	}
	return out
}

func paletted(m *image.NRGBA, _ *rand.Rand) image.Image {
	pal := make(color.Palette, 0, 256)
	for r := 0; r < 8; r++ {
		for g := 0; g < 8; g++ {
			for b := 0; b < 4; b++ {
				pal = append(pal, color.RGBA{uint8(r * 255 / 7), uint8(g * 255 / 7), uint8(b * 255 / 3), 255})
			}
		}
	}
	out := image.NewPaletted(m.Rect, pal)
	for y := 0; y < m.Rect.Dy(); y++ {
		for x := 0; x < m.Rect.Dx(); x++ {
			o := m.Pix[y*m.Stride+4*x:]
			out.Pix[y*out.Stride+x] = uint8(int(o[0])>>5<<5 | int(o[1])>>5<<2 | int(o[2])>>6)
		}
	}
	return out
}

func grey(m *image.NRGBA, _ *rand.Rand) image.Image {
	out := image.NewGray(m.Rect)
	for i := range out.Pix {
		o := m.Pix[4*i:]
		out.Pix[i] = uint8((299*int(o[0]) + 587*int(o[1]) + 114*int(o[2])) / 1000)
	}
	return out
}

// grey16 spans 0..511, so both PIL's pass-through (< 256) and its clamp to
// 255 are exercised.
func grey16(m *image.NRGBA, _ *rand.Rand) image.Image {
	out := image.NewGray16(m.Rect)
	for i := 0; i < len(out.Pix)/2; i++ {
		o := m.Pix[4*i:]
		v := (int(o[0]) + int(o[1]) + int(o[2])) * 511 / 765
		out.Pix[2*i], out.Pix[2*i+1] = uint8(v>>8), uint8(v)
	}
	return out
}

// encodeGrey16TRNS writes 16-bit grey with a tRNS chunk (one grey value
// marked transparent), which image/png decodes as
// NRGBA64 while PIL still opens a 32-bit integer image and clamps it.
func encodeGrey16TRNS(m *image.NRGBA, rng *rand.Rand) ([]byte, error) {
	data, err := encodePNG(grey16)(m, rng)
	if err != nil {
		return nil, err
	}
	// Insert tRNS right after IHDR (8-byte signature + 25-byte chunk).
	chunk := []byte("tRNS\x00\x40")
	var b bytes.Buffer
	b.Write(data[:33])
	binary.Write(&b, binary.BigEndian, uint32(2))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	b.Write(data[33:])
	return b.Bytes(), nil
}

// rgba16 writes 16-bit colour with alpha whose low bytes are noise: PIL keeps
// the high byte.
func rgba16(m *image.NRGBA, rng *rand.Rand) image.Image {
	out := image.NewNRGBA64(m.Rect)
	for i := 0; i < len(m.Pix)/4; i++ {
		for c := 0; c < 4; c++ {
			v := m.Pix[4*i+c]
			if c == 3 {
				v = uint8(128 + i%128)
			}
			out.Pix[8*i+2*c], out.Pix[8*i+2*c+1] = v, uint8(rng.IntN(256))
		}
	}
	return out
}

func rgb16(m *image.NRGBA, rng *rand.Rand) image.Image {
	out := image.NewRGBA64(m.Rect)
	for i := 0; i < len(m.Pix)/4; i++ {
		for c := 0; c < 3; c++ {
			out.Pix[8*i+2*c], out.Pix[8*i+2*c+1] = m.Pix[4*i+c], uint8(rng.IntN(256))
		}
		out.Pix[8*i+6], out.Pix[8*i+7] = 0xff, 0xff
	}
	return out
}

func encodeGIF(m *image.NRGBA, rng *rand.Rand) ([]byte, error) {
	var b bytes.Buffer
	err := gif.Encode(&b, paletted(m, rng), &gif.Options{NumColors: 256})
	return b.Bytes(), err
}

// encodeGIFOffset writes a GIF whose only frame is smaller than the logical
// screen and has a transparent index whose stored colour is not black: PIL
// fills the rest of the screen with that index and keeps its colour.
func encodeGIFOffset(m *image.NRGBA, rng *rand.Rand) ([]byte, error) {
	p := paletted(m, rng).(*image.Paletted)
	const ti = 5
	p.Palette[ti] = color.RGBA{}
	w, h := m.Rect.Dx(), m.Rect.Dy()
	frame := p.SubImage(image.Rect(w/10, h/12, w-w/8, h-h/9)).(*image.Paletted)
	var b bytes.Buffer
	err := gif.EncodeAll(&b, &gif.GIF{
		Image:  []*image.Paletted{frame},
		Delay:  []int{0},
		Config: image.Config{ColorModel: p.Palette, Width: w, Height: h},
	})
	out := b.Bytes()
	// The global colour table starts at byte 13: give the transparent
	// entry a colour.
	copy(out[13+3*ti:], []byte{77, 88, 99})
	return out, err
}

// encodePhotoJPEG writes a JPEG with photo-like texture everywhere, so that
// its decode costs what a camera picture of the same size costs (about
// 150 KB at quality 90 for 640×480) rather than what flat synthetic areas
// cost. The benchmarks use it.
func encodePhotoJPEG(m *image.NRGBA, rng *rand.Rand) ([]byte, error) {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	out := image.NewNRGBA(m.Rect)
	copy(out.Pix, m.Pix)
	for _, oct := range []struct {
		cell int
		amp  float64
	}{{64, 50}, {16, 30}, {4, 22}, {1, 14}} {
		gw, gh := w/oct.cell+2, h/oct.cell+2
		grid := make([]float64, gw*gh*3)
		for i := range grid {
			grid[i] = (rng.Float64()*2 - 1) * oct.amp
		}
		for y := 0; y < h; y++ {
			fy := float64(y) / float64(oct.cell)
			y0 := int(fy)
			ty := fy - float64(y0)
			for x := 0; x < w; x++ {
				fx := float64(x) / float64(oct.cell)
				x0 := int(fx)
				tx := fx - float64(x0)
				for c := 0; c < 3; c++ {
					g := func(gx, gy int) float64 { return grid[(gy*gw+gx)*3+c] }
					v := (g(x0, y0)*(1-tx)+g(x0+1, y0)*tx)*(1-ty) + (g(x0, y0+1)*(1-tx)+g(x0+1, y0+1)*tx)*ty
					i := y*out.Stride + 4*x + c
					out.Pix[i] = uint8(min(max(float64(out.Pix[i])+v, 0), 255))
				}
			}
		}
	}
	var b bytes.Buffer
	err := jpeg.Encode(&b, out, &jpeg.Options{Quality: 90})
	return b.Bytes(), err
}

// testImages are drawn by drawPicture; sizes cover landscape, portrait,
// square, no resize (224×224), upscaling (100×50), odd sizes and a wide
// panorama.
var testImages = []testImage{
	{"jpeg_640x480.jpg", 640, 480, 1, encodeJPEG(90)},
	{"jpeg_photo_640x480.jpg", 640, 480, 17, encodePhotoJPEG},
	{"jpeg_480x640.jpg", 480, 640, 2, encodeJPEG(90)},
	{"jpeg_1000x300.jpg", 1000, 300, 3, encodeJPEG(90)},
	{"jpeg_301x227.jpg", 301, 227, 4, encodeJPEG(90)},
	{"png_rgb_300x300.png", 300, 300, 5, encodePNG(asIs)},
	{"png_rgb_224x224.png", 224, 224, 6, encodePNG(asIs)},
	{"png_rgb_100x50.png", 100, 50, 7, encodePNG(asIs)},
	{"png_rgb_225x400.png", 225, 400, 8, encodePNG(asIs)},
	{"png_rgba_320x240.png", 320, 240, 9, encodePNG(withAlpha)},
	{"png_paletted_256x200.png", 256, 200, 10, encodePNG(paletted)},
	{"png_grey_333x250.png", 333, 250, 11, encodePNG(grey)},
	{"png_grey16_200x150.png", 200, 150, 12, encodePNG(grey16)},
	{"png_grey16_trns_150x200.png", 150, 200, 22, encodeGrey16TRNS},
	{"png_rgba16_180x260.png", 180, 260, 13, encodePNG(rgba16)},
	{"png_rgb16_240x180.png", 240, 180, 14, encodePNG(rgb16)},
	{"gif_300x200.gif", 300, 200, 15, encodeGIF},
	{"gif_offset_transparent_260x180.gif", 260, 180, 16, encodeGIFOffset},
	// Degenerate sizes: windows clipped at both ends, inputs shorter than
	// the filter.
	{"png_rgb_1x1.png", 1, 1, 18, encodePNG(asIs)},
	{"png_rgb_3x2.png", 3, 2, 19, encodePNG(asIs)},
	{"png_rgb_7x300.png", 7, 300, 20, encodePNG(asIs)},
	{"png_rgb_2000x9.png", 2000, 9, 21, encodePNG(asIs)},
}

// drawPicture draws a deterministic test picture: a colour gradient, hard
// edged boxes in saturated colours, thin text-like strokes and a patch of
// noise, the features on which resamplers and decoders disagree.
func drawPicture(w, h int, seed uint64) *image.NRGBA {
	rng := rand.New(rand.NewPCG(seed, 0x636170657661))
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	set := func(x, y int, r, g, b uint8) {
		if x >= 0 && y >= 0 && x < w && y < h {
			i := y*m.Stride + 4*x
			m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = r, g, b, 255
		}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			set(x, y, uint8(x*255/max(w-1, 1)), uint8(y*255/max(h-1, 1)), uint8(((x+y)*3)%256))
		}
	}
	for i := 0; i < 6; i++ {
		x0, y0 := rng.IntN(w), rng.IntN(h)
		bw, bh := 4+rng.IntN(max(w/4, 1)), 4+rng.IntN(max(h/4, 1))
		r, g, b := uint8(rng.IntN(2)*255), uint8(rng.IntN(2)*255), uint8(rng.IntN(2)*255)
		for y := y0; y < y0+bh; y++ {
			for x := x0; x < x0+bw; x++ {
				set(x, y, r, g, b)
			}
		}
	}
	// Strokes: short random walks, 1 or 2 pixels thick, dark or white.
	for s := 0; s < 12+w*h/8000; s++ {
		x, y := float64(rng.IntN(w)), float64(rng.IntN(h))
		thick := 1 + rng.IntN(2)
		v := uint8(rng.IntN(2) * 255)
		dx, dy := rng.Float64()*2-1, rng.Float64()*2-1
		for t := 0; t < 20+rng.IntN(40); t++ {
			for a := 0; a < thick; a++ {
				for b := 0; b < thick; b++ {
					set(int(x)+a, int(y)+b, v, v/2, 255-v)
				}
			}
			x, y = x+dx, y+dy
			if rng.IntN(8) == 0 {
				dx, dy = rng.Float64()*2-1, rng.Float64()*2-1
			}
		}
	}
	// Noise patch in one corner.
	nw, nh := max(w/5, 1), max(h/5, 1)
	for y := h - nh; y < h; y++ {
		for x := w - nw; x < w; x++ {
			set(x, y, uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)))
		}
	}
	return m
}

// TestGenerateTestImages rewrites testdata/images with -update. Without it,
// it checks that every listed file is present.
func TestGenerateTestImages(t *testing.T) {
	dir := filepath.Join("testdata", "images")
	for _, ti := range testImages {
		t.Run(ti.file, func(t *testing.T) {
			path := filepath.Join(dir, ti.file)
			if !*update {
				if _, err := os.Stat(path); err != nil {
					t.Fatalf("missing test image (regenerate with go test -run TestGenerateTestImages -update): %v", err)
				}
				return
			}
			rng := rand.New(rand.NewPCG(ti.seed, 1))
			data, err := ti.encode(drawPicture(ti.w, ti.h, ti.seed), rng)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
		})
	}
}
