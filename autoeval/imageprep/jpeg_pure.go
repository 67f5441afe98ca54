//go:build !cgo || purejpeg

package imageprep

// jpegDecoder names the JPEG decoder compiled in, for tests and benchmarks.
const jpegDecoder = "image/jpeg"

func jpegSize(data []byte) (w, h int, err error) {
	return pureJPEGSize(data)
}

func decodeJPEG(data []byte, w, h int, buf []uint8) (rgbImage, error) {
	return pureDecodeJPEG(data, w, h, buf)
}
