// Package imageprep turns image files into CLIP input tensors exactly as
// Hugging Face's CLIPImageProcessor does with PIL: decode (JPEG, PNG, GIF,
// WebP), convert("RGB"), resize the shortest side with PIL's antialiased
// bicubic, centre crop, rescale and normalise, written as CHW float32.
//
// The resize reproduces Pillow's fixed-point arithmetic bit for bit; JPEG
// goes through libjpeg-turbo when cgo is available (the library PIL itself
// uses, with its settings); lossy WebP gets libwebp's chroma upsampling and
// YUV equations; GIF and 16-bit PNG are read the way PIL reads them. The
// tensors are therefore identical to PIL's for every tested input. Only the
// pure-Go JPEG fallback (builds without cgo, or with -tags purejpeg) differs:
// image/jpeg's IDCT rounds differently, a few levels at most.
//
// It does not depend on ONNX Runtime: the CLIP encoder calls it from its
// worker pool, one Preprocessor per worker. EXIF orientation is not applied,
// as CLIPImageProcessor does not apply it.
package imageprep

import (
	"fmt"
	"image"
)

// Preprocessor preprocesses images for one Config and keeps its buffers
// between calls, so that in the steady state a JPEG costs no allocation. It
// is not safe for concurrent use: give each worker its own.
type Preprocessor struct {
	cfg  Config
	lut  [3][256]float32
	rs   resampler
	rgb  []uint8
	crop []uint8
	// pureJPEG makes tests use image/jpeg even where libjpeg is compiled in.
	pureJPEG bool
}

// NewPreprocessor validates cfg and builds a Preprocessor.
func NewPreprocessor(cfg Config) (*Preprocessor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Preprocessor{cfg: cfg}
	// After the resize every value is one of 256 bytes, so rescale and
	// normalise are a table. Each entry is computed with HF's operations and
	// roundings: float64 multiply, round to float32, float32 subtract and
	// divide; the explicit conversions keep the compiler from fusing them.
	for c := 0; c < 3; c++ {
		for v := 0; v < 256; v++ {
			x := float32(float64(v) * cfg.RescaleFactor)
			p.lut[c][v] = float32(x-cfg.Mean[c]) / cfg.Std[c]
		}
	}
	return p, nil
}

// Config returns the configuration the Preprocessor applies.
func (p *Preprocessor) Config() Config { return p.cfg }

// Preprocess decodes an image file and writes its tensor into dst in CHW
// order (all red values, then green, then blue), len(dst) = 3*H*W with H×W
// from Config.OutputSize, so dst can be one slot of a batch buffer. Images
// over Config.MaxPixels are refused from their header with ErrTooLarge;
// unknown formats get ErrUnknownFormat.
func (p *Preprocessor) Preprocess(data []byte, dst []float32) error {
	m, err := decodeRGB(data, p.cfg.MaxPixels, p.rgb, p.pureJPEG)
	if err != nil {
		return err
	}
	err = p.process(m, dst)
	p.keep(m.Pix)
	return err
}

// keepBytes bounds the decode buffer a Preprocessor keeps between images:
// one huge image should not pin hundreds of megabytes in every worker.
const keepBytes = 4096 * 4096 * 3

// keep retains buf for the next image unless it is too big.
func (p *Preprocessor) keep(buf []uint8) {
	if cap(buf) > keepBytes {
		p.rgb = nil
		return
	}
	p.rgb = buf[:cap(buf)]
}

// PreprocessImage is Preprocess for an image already decoded in Go. The
// colour conversion is the one Preprocess applies to the decoder's output.
func (p *Preprocessor) PreprocessImage(img image.Image, dst []float32) error {
	b := img.Bounds()
	if err := checkSize("decoded", b.Dx(), b.Dy(), p.cfg.MaxPixels); err != nil {
		return err
	}
	m := toRGB(img, p.rgb)
	err := p.process(m, dst)
	p.keep(m.Pix)
	return err
}

// Preprocess is a one-shot Preprocessor.Preprocess. Callers that process many
// images should keep a Preprocessor per worker instead.
func Preprocess(data []byte, cfg Config, dst []float32) error {
	p, err := NewPreprocessor(cfg)
	if err != nil {
		return err
	}
	return p.Preprocess(data, dst)
}

// process resizes, crops and normalises a packed RGB image into dst.
func (p *Preprocessor) process(m rgbImage, dst []float32) error {
	rh, rw := p.cfg.resizeSize(m.W, m.H)
	if rh <= 0 || rw <= 0 {
		return fmt.Errorf("imageprep: a %dx%d image resizes to %dx%d", m.W, m.H, rw, rh)
	}
	oh, ow := rh, rw
	top, left := 0, 0
	if p.cfg.CropHeight > 0 {
		oh, ow = p.cfg.CropHeight, p.cfg.CropWidth
		// HF's center_crop: top = (h - crop_h) // 2 with Python's floor
		// division. A crop larger than the image pads it with zeros, placing
		// the image at ceil(pad/2), which is the same as a negative top.
		top, left = floorHalf(rh-oh), floorHalf(rw-ow)
	}
	if len(dst) != 3*oh*ow {
		return fmt.Errorf("imageprep: output has %d values, want 3x%dx%d = %d", len(dst), oh, ow, 3*oh*ow)
	}
	// The window of the resized image that the crop keeps.
	x0, y0 := max(left, 0), max(top, 0)
	x1, y1 := min(left+ow, rw), min(top+oh, rh)
	nx, ny := x1-x0, y1-y0
	p.crop = grow(p.crop, 3*oh*ow)
	crop := p.crop
	padded := nx != ow || ny != oh
	win := crop
	if padded {
		clear(crop)
		win = p.rs.tmpWindow(3 * nx * ny)
	}
	p.rs.resizeWindow(m, rw, rh, x0, y0, nx, ny, win)
	if padded {
		for y := 0; y < ny; y++ {
			copy(crop[((y0-top+y)*ow+(x0-left))*3:], win[y*nx*3:(y+1)*nx*3])
		}
	}
	p.normalize(crop, dst, oh*ow)
	return nil
}

// normalize maps packed RGB bytes through the table into planar float32.
func (p *Preprocessor) normalize(src []uint8, dst []float32, n int) {
	src = src[:3*n]
	r, g, b := dst[:n], dst[n:2*n], dst[2*n:3*n]
	lr, lg, lb := &p.lut[0], &p.lut[1], &p.lut[2]
	for i := range r {
		s := src[3*i : 3*i+3 : 3*i+3]
		r[i] = lr[s[0]]
		g[i] = lg[s[1]]
		b[i] = lb[s[2]]
	}
}

// floorHalf is Python's d // 2.
func floorHalf(d int) int {
	if d < 0 {
		return -((-d + 1) / 2)
	}
	return d / 2
}
