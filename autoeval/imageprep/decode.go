package imageprep

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/png"

	"golang.org/x/image/webp"
)

// ErrUnknownFormat is wrapped when the bytes are not JPEG, PNG, GIF or WebP.
var ErrUnknownFormat = errors.New("imageprep: unknown image format (want JPEG, PNG, GIF or WebP)")

// ErrTooLarge is wrapped when an image has more pixels than Config.MaxPixels.
// It is detected from the header, before any pixel is decoded.
var ErrTooLarge = errors.New("imageprep: image exceeds the pixel limit")

// Format names returned by Sniff.
const (
	FormatJPEG = "jpeg"
	FormatPNG  = "png"
	FormatGIF  = "gif"
	FormatWebP = "webp"
)

// Sniff names the format of data from its magic bytes, or returns "" when
// it is none of the supported ones. Extensions are never trusted.
func Sniff(data []byte) string {
	switch {
	case len(data) >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff:
		return FormatJPEG
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return FormatPNG
	case bytes.HasPrefix(data, []byte("GIF87a")) || bytes.HasPrefix(data, []byte("GIF89a")):
		return FormatGIF
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return FormatWebP
	}
	return ""
}

// ImageSize reads only the header and returns the format and the size in
// pixels.
func ImageSize(data []byte) (format string, w, h int, err error) {
	format = Sniff(data)
	var cfg image.Config
	switch format {
	case FormatJPEG:
		w, h, err = jpegSize(data)
		return format, w, h, err
	case FormatPNG:
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	case FormatGIF:
		cfg, err = gif.DecodeConfig(bytes.NewReader(data))
	case FormatWebP:
		cfg, err = webp.DecodeConfig(bytes.NewReader(data))
	default:
		return "", 0, 0, ErrUnknownFormat
	}
	if err != nil {
		return format, 0, 0, fmt.Errorf("imageprep: read %s header: %w", format, err)
	}
	return format, cfg.Width, cfg.Height, nil
}

// checkSize refuses empty images and images over the pixel limit.
func checkSize(format string, w, h, maxPixels int) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("imageprep: %s image has size %dx%d", format, w, h)
	}
	if int64(w)*int64(h) > int64(maxPixels) {
		return fmt.Errorf("%w: %s image is %dx%d = %d pixels, limit %d", ErrTooLarge, format, w, h, int64(w)*int64(h), maxPixels)
	}
	return nil
}

// decodeRGB decodes data to packed RGB, reusing buf, after checking the
// header against maxPixels. pureJPEG forces image/jpeg (tests compare both).
func decodeRGB(data []byte, maxPixels int, buf []uint8, pureJPEG bool) (rgbImage, error) {
	if pureJPEG && Sniff(data) == FormatJPEG {
		w, h, err := pureJPEGSize(data)
		if err != nil {
			return rgbImage{}, err
		}
		if err := checkSize(FormatJPEG, w, h, maxPixels); err != nil {
			return rgbImage{}, err
		}
		return pureDecodeJPEG(data, w, h, buf)
	}
	format, w, h, err := ImageSize(data)
	if err != nil {
		return rgbImage{}, err
	}
	if err := checkSize(format, w, h, maxPixels); err != nil {
		return rgbImage{}, err
	}
	if format == FormatJPEG {
		return decodeJPEG(data, w, h, buf)
	}
	if format == FormatGIF {
		return decodeGIF(data, w, h, buf)
	}
	var img image.Image
	switch format {
	case FormatPNG:
		img, err = png.Decode(bytes.NewReader(data))
	case FormatWebP:
		img, err = webp.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return rgbImage{}, fmt.Errorf("imageprep: decode %s: %w", format, err)
	}
	if format == FormatPNG && isGrey16PNG(data) {
		if m, ok := img.(*image.NRGBA64); ok {
			// A tRNS chunk makes image/png return NRGBA64, but PIL still
			// opens a 32-bit integer image and clamps it like Gray16.
			return grey16NRGBA64ToRGB(m, buf), nil
		}
	}
	if format == FormatWebP {
		// Lossy WebP is limited-range YCbCr, unlike JPEG's full range.
		var ycc *image.YCbCr
		switch m := img.(type) {
		case *image.YCbCr:
			ycc = m
		case *image.NYCbCrA:
			ycc = &m.YCbCr
		}
		if ycc != nil {
			b := ycc.Rect
			dst := rgbImage{Pix: grow(buf, b.Dx()*b.Dy()*3), W: b.Dx(), H: b.Dy(), Stride: 3 * b.Dx()}
			webpYCbCrToRGB(ycc, dst)
			return dst, nil
		}
	}
	return toRGB(img, buf), nil
}

// isGrey16PNG reports whether the PNG header says 16-bit greyscale without
// alpha (bit depth at byte 24, colour type at byte 25).
func isGrey16PNG(data []byte) bool {
	return len(data) > 25 && data[24] == 16 && data[25] == 0
}
