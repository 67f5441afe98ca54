package imageprep

import (
	"image"
	"image/color"
)

// toRGB converts a decoded image to packed 8-bit RGB the way PIL's
// Image.convert("RGB") treats the image PIL would have opened from the same
// file:
//   - alpha is dropped, never composited (RGBA → RGB keeps the stored,
//     non-premultiplied colour);
//   - palettes and grey are expanded;
//   - 16-bit colour keeps the high byte (PIL unpacks "RGB;16B" that way),
//     while 16-bit grey, which PIL opens as a 32-bit integer image, is clamped
//     to 255 rather than scaled (convert("RGB") clips "I" images; see also
//     grey16NRGBA64ToRGB);
//   - CMYK becomes R = (255-C)(255-K)/255 rounded, as Pillow 9 computes it.
//
// It writes into buf when it is large enough and returns the image.
func toRGB(img image.Image, buf []uint8) rgbImage {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	dst := rgbImage{Pix: grow(buf, w*h*3), W: w, H: h, Stride: w * 3}
	switch m := img.(type) {
	case *image.NRGBA:
		copyRGB(dst, m.Pix, m.Stride, 1)
	case *image.RGBA:
		// Go decoders only produce RGBA for opaque images, where
		// premultiplied and straight colour agree.
		copyRGB(dst, m.Pix, m.Stride, 1)
	case *image.NRGBA64:
		copyRGB(dst, m.Pix, m.Stride, 2)
	case *image.RGBA64:
		// As for RGBA: only opaque 16-bit PNGs decode to RGBA64.
		copyRGB(dst, m.Pix, m.Stride, 2)
	case *image.Gray:
		for y := 0; y < h; y++ {
			src := m.Pix[y*m.Stride : y*m.Stride+w]
			out := dst.Pix[y*dst.Stride : y*dst.Stride+3*w]
			for x, v := range src {
				out[3*x], out[3*x+1], out[3*x+2] = v, v, v
			}
		}
	case *image.Gray16:
		for y := 0; y < h; y++ {
			src := m.Pix[y*m.Stride : y*m.Stride+2*w]
			out := dst.Pix[y*dst.Stride : y*dst.Stride+3*w]
			for x := 0; x < w; x++ {
				v := uint8(255)
				if src[2*x] == 0 {
					v = src[2*x+1]
				}
				out[3*x], out[3*x+1], out[3*x+2] = v, v, v
			}
		}
	case *image.Paletted:
		var lut [256][3]uint8
		for i, c := range m.Palette {
			lut[i] = straightRGB(c)
		}
		for y := 0; y < h; y++ {
			src := m.Pix[y*m.Stride : y*m.Stride+w]
			out := dst.Pix[y*dst.Stride : y*dst.Stride+3*w]
			for x, v := range src {
				p := lut[v]
				out[3*x], out[3*x+1], out[3*x+2] = p[0], p[1], p[2]
			}
		}
	case *image.CMYK:
		for y := 0; y < h; y++ {
			src := m.Pix[y*m.Stride : y*m.Stride+4*w]
			out := dst.Pix[y*dst.Stride : y*dst.Stride+3*w]
			for x := 0; x < w; x++ {
				c, mg, ye, k := src[4*x], src[4*x+1], src[4*x+2], src[4*x+3]
				out[3*x] = mulDiv255(255-c, 255-k)
				out[3*x+1] = mulDiv255(255-mg, 255-k)
				out[3*x+2] = mulDiv255(255-ye, 255-k)
			}
		}
	case *image.YCbCr:
		jpegYCbCrToRGB(m, dst)
	case *image.NYCbCrA:
		jpegYCbCrToRGB(&m.YCbCr, dst)
	default:
		// Rare types (image.Alpha, custom images): slow but correct.
		for y := 0; y < h; y++ {
			out := dst.Pix[y*dst.Stride : y*dst.Stride+3*w]
			for x := 0; x < w; x++ {
				p := straightRGB(img.At(b.Min.X+x, b.Min.Y+y))
				out[3*x], out[3*x+1], out[3*x+2] = p[0], p[1], p[2]
			}
		}
	}
	return dst
}

// grey16NRGBA64ToRGB converts 16-bit grey that image/png widened to NRGBA64
// (because of a tRNS chunk) with the Gray16 rule: values over 255 clamp.
func grey16NRGBA64ToRGB(m *image.NRGBA64, buf []uint8) rgbImage {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	dst := rgbImage{Pix: grow(buf, w*h*3), W: w, H: h, Stride: w * 3}
	for y := 0; y < h; y++ {
		src := m.Pix[y*m.Stride : y*m.Stride+8*w]
		out := dst.Pix[y*dst.Stride : y*dst.Stride+3*w]
		for x := 0; x < w; x++ {
			v := uint8(255)
			if src[8*x] == 0 {
				v = src[8*x+1]
			}
			out[3*x], out[3*x+1], out[3*x+2] = v, v, v
		}
	}
	return dst
}

// straightRGB returns the stored (non-premultiplied) 8-bit colour, which is
// what PIL keeps when it drops alpha.
func straightRGB(c color.Color) [3]uint8 {
	switch c := c.(type) {
	case color.NRGBA:
		return [3]uint8{c.R, c.G, c.B}
	case color.RGBA:
		if c.A == 0xff || c.A == 0 {
			return [3]uint8{c.R, c.G, c.B}
		}
	}
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return [3]uint8{n.R, n.G, n.B}
}

// mulDiv255 is a*b/255 rounded to nearest, in Pillow's integer form.
func mulDiv255(a, b uint8) uint8 {
	t := uint32(a)*uint32(b) + 128
	return uint8(((t >> 8) + t) >> 8)
}

// ycbcrToRGB converts with the JFIF equations in libjpeg's 16-bit fixed
// point and nearest-neighbour chroma: the fallback for layouts that the
// fancy upsamplers in ycbcr.go do not handle.
func ycbcrToRGB(m *image.YCbCr, dst rgbImage) {
	b := m.Rect
	for y := 0; y < dst.H; y++ {
		out := dst.Pix[y*dst.Stride : y*dst.Stride+3*dst.W]
		yi := m.YOffset(b.Min.X, b.Min.Y+y)
		for x := 0; x < dst.W; x++ {
			ci := m.COffset(b.Min.X+x, b.Min.Y+y)
			r, g, bb := yccToRGB(m.Y[yi+x], m.Cb[ci], m.Cr[ci])
			out[3*x], out[3*x+1], out[3*x+2] = r, g, bb
		}
	}
}

// yccToRGB is libjpeg's jdcolor.c arithmetic: coefficients scaled by 2^16,
// each chroma term rounded on its own.
func yccToRGB(y, cb, cr uint8) (uint8, uint8, uint8) {
	const (
		half = 1 << 15
		crR  = 91881  // 1.40200 * 2^16
		cbB  = 116130 // 1.77200 * 2^16
		cbG  = 22554  // 0.34414 * 2^16
		crG  = 46802  // 0.71414 * 2^16
	)
	yy := int32(y)
	c := int32(cb) - 128
	d := int32(cr) - 128
	r := yy + (crR*d+half)>>16
	g := yy + (-cbG*c-crG*d+half)>>16
	bl := yy + (cbB*c+half)>>16
	return sat8(r), sat8(g), sat8(bl)
}

func sat8(v int32) uint8 {
	if uint32(v) > 255 {
		if v < 0 {
			return 0
		}
		return 255
	}
	return uint8(v)
}

// copyRGB fills dst from interleaved RGBA pixels of width bytes per
// channel (1 or 2, big-endian): the high byte of R, G and B, alpha dropped.
func copyRGB(dst rgbImage, pix []uint8, stride, width int) {
	px := 4 * width
	for y := 0; y < dst.H; y++ {
		src := pix[y*stride : y*stride+px*dst.W]
		out := dst.Pix[y*dst.Stride : y*dst.Stride+3*dst.W]
		for x := 0; x < dst.W; x++ {
			out[3*x], out[3*x+1], out[3*x+2] = src[px*x], src[px*x+width], src[px*x+2*width]
		}
	}
}
