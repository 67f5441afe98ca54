package imageprep

import (
	"bytes"
	"fmt"
	"image/jpeg"
)

// The pure-Go JPEG path is compiled everywhere so tests can compare it with
// the cgo one; it is the decoder of builds without cgo or with -tags purejpeg.

func pureJPEGSize(data []byte) (w, h int, err error) {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return 0, 0, fmt.Errorf("imageprep: read jpeg header: %w", err)
	}
	return cfg.Width, cfg.Height, nil
}

// pureDecodeJPEG decodes with image/jpeg and converts as toRGB does.
func pureDecodeJPEG(data []byte, w, h int, buf []uint8) (rgbImage, error) {
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return rgbImage{}, fmt.Errorf("imageprep: decode jpeg: %w", err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		return rgbImage{}, fmt.Errorf("imageprep: decode jpeg: size %dx%d differs from the header's %dx%d", b.Dx(), b.Dy(), w, h)
	}
	return toRGB(img, buf), nil
}
