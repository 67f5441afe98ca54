package imageprep

import "image"

// Go's decoders return subsampled YCbCr planes; PIL gets RGB from libjpeg or
// libwebp, which interpolate the chroma ("fancy upsampling") and convert with
// their own fixed-point equations. Reproducing both keeps the pure-Go paths
// within a level or two of PIL instead of several levels at colour edges.

// jpegYCbCrToRGB converts a JPEG's planes as libjpeg does by default:
// triangle-filter chroma upsampling (each output 3/4 of the nearer chroma
// sample and 1/4 of the further one, per subsampled axis, with libjpeg's
// alternating rounding biases) and the full-range JFIF equations.
func jpegYCbCrToRGB(m *image.YCbCr, dst rgbImage) {
	w, h := dst.W, dst.H
	cw, ch := chromaSize(m)
	hsub, vsub := subsampling(m.SubsampleRatio)
	if hsub > 2 || vsub > 2 || m.Rect.Min != (image.Point{}) {
		ycbcrToRGB(m, dst)
		return
	}
	cbRow := make([]uint8, 2*cw)
	crRow := make([]uint8, 2*cw)
	var sumCb, sumCr []int32
	if vsub == 2 {
		sumCb = make([]int32, cw)
		sumCr = make([]int32, cw)
	}
	for y := 0; y < h; y++ {
		cy := y / vsub
		switch vsub {
		case 1:
			upsampleH(m.Cb[cy*m.CStride:cy*m.CStride+cw], cbRow, hsub)
			upsampleH(m.Cr[cy*m.CStride:cy*m.CStride+cw], crRow, hsub)
		case 2:
			// The further chroma row is above for even rows, below for
			// odd ones, replicated at the image edges.
			far := cy - 1
			if y%2 == 1 {
				far = cy + 1
			}
			far = min(max(far, 0), ch-1)
			near := m.Cb[cy*m.CStride : cy*m.CStride+cw]
			fr := m.Cb[far*m.CStride : far*m.CStride+cw]
			for i := range sumCb {
				sumCb[i] = 3*int32(near[i]) + int32(fr[i])
			}
			near = m.Cr[cy*m.CStride : cy*m.CStride+cw]
			fr = m.Cr[far*m.CStride : far*m.CStride+cw]
			for i := range sumCr {
				sumCr[i] = 3*int32(near[i]) + int32(fr[i])
			}
			upsampleColsums(sumCb, cbRow, hsub, y%2)
			upsampleColsums(sumCr, crRow, hsub, y%2)
		}
		yRow := m.Y[y*m.YStride : y*m.YStride+w]
		out := dst.Pix[y*dst.Stride : y*dst.Stride+3*w]
		for x, yy := range yRow {
			out[3*x], out[3*x+1], out[3*x+2] = yccToRGB(yy, cbRow[x], crRow[x])
		}
	}
}

// upsampleH doubles a chroma row horizontally (libjpeg's h2v1 fancy
// upsampling) or copies it when hsub is 1.
func upsampleH(in, out []uint8, hsub int) {
	n := len(in)
	if hsub == 1 {
		copy(out, in)
		return
	}
	if n == 1 {
		out[0], out[1] = in[0], in[0]
		return
	}
	out[0] = in[0]
	out[1] = uint8((3*int(in[0]) + int(in[1]) + 2) >> 2)
	for i := 1; i < n-1; i++ {
		v := 3 * int(in[i])
		out[2*i] = uint8((v + int(in[i-1]) + 1) >> 2)
		out[2*i+1] = uint8((v + int(in[i+1]) + 2) >> 2)
	}
	out[2*n-2] = uint8((3*int(in[n-1]) + int(in[n-2]) + 1) >> 2)
	out[2*n-1] = in[n-1]
}

// upsampleColsums finishes libjpeg's h2v2 (or h1v2) fancy upsampling from
// column sums 3*near+far, which carry a factor of 4. odd is the output row's
// parity, which picks h1v2's rounding bias.
func upsampleColsums(s []int32, out []uint8, hsub, odd int) {
	n := len(s)
	if hsub == 1 {
		bias := int32(1 + odd)
		for i, v := range s {
			out[i] = uint8((v + bias) >> 2)
		}
		return
	}
	if n == 1 {
		out[0] = uint8((s[0]*4 + 8) >> 4)
		out[1] = uint8((s[0]*4 + 7) >> 4)
		return
	}
	out[0] = uint8((s[0]*4 + 8) >> 4)
	out[1] = uint8((s[0]*3 + s[1] + 7) >> 4)
	for i := 1; i < n-1; i++ {
		v := 3 * s[i]
		out[2*i] = uint8((v + s[i-1] + 8) >> 4)
		out[2*i+1] = uint8((v + s[i+1] + 7) >> 4)
	}
	out[2*n-2] = uint8((3*s[n-1] + s[n-2] + 8) >> 4)
	out[2*n-1] = uint8((s[n-1]*4 + 7) >> 4)
}

// webpYCbCrToRGB converts a lossy WebP's 4:2:0 planes as libwebp does for
// PIL: its fancy upsampler (each chroma value (9a+3b+3c+d)/16 of the four
// nearest samples, computed in two rounded steps, with luma rows and columns
// paired 2k-1, 2k) and the limited-range BT.601 equations in 14-bit fixed
// point.
func webpYCbCrToRGB(m *image.YCbCr, dst rgbImage) {
	if m.SubsampleRatio != image.YCbCrSubsampleRatio420 || m.Rect.Min != (image.Point{}) {
		ycbcrToRGB(m, dst)
		return
	}
	w, h := dst.W, dst.H
	cw, _ := chromaSize(m)
	crow := func(p []uint8, r int) []uint8 { return p[r*m.CStride : r*m.CStride+cw] }
	yrow := func(r int) []uint8 { return m.Y[r*m.YStride : r*m.YStride+w] }
	orow := func(r int) []uint8 { return dst.Pix[r*dst.Stride : r*dst.Stride+3*w] }
	// Row 0 uses chroma row 0 alone.
	webpUpsamplePair(yrow(0), nil, crow(m.Cb, 0), crow(m.Cr, 0), crow(m.Cb, 0), crow(m.Cr, 0), orow(0), nil)
	for k := 1; 2*k-1 < h; k++ {
		top, bottom := 2*k-1, 2*k
		if bottom < h {
			webpUpsamplePair(yrow(top), yrow(bottom), crow(m.Cb, k-1), crow(m.Cr, k-1), crow(m.Cb, k), crow(m.Cr, k), orow(top), orow(bottom))
		} else {
			// An even height leaves the last row, which uses the last
			// chroma row alone.
			webpUpsamplePair(yrow(top), nil, crow(m.Cb, k-1), crow(m.Cr, k-1), crow(m.Cb, k-1), crow(m.Cr, k-1), orow(top), nil)
		}
	}
}

// webpUpsamplePair converts one luma row, or two, lying between the chroma
// rows tu/tv (above) and cu/cv (below).
func webpUpsamplePair(topY, botY, tu, tv, cu, cv, topOut, botOut []uint8) {
	n := len(topY)
	put := func(out []uint8, x int, y uint8, u, v int32) {
		out[3*x], out[3*x+1], out[3*x+2] = webpYUVToRGB(y, u, v)
	}
	tlU, tlV := int32(tu[0]), int32(tv[0])
	lU, lV := int32(cu[0]), int32(cv[0])
	put(topOut, 0, topY[0], (3*tlU+lU+2)>>2, (3*tlV+lV+2)>>2)
	if botY != nil {
		put(botOut, 0, botY[0], (3*lU+tlU+2)>>2, (3*lV+tlV+2)>>2)
	}
	last := (n - 1) >> 1
	for x := 1; x <= last; x++ {
		tU, tV := int32(tu[x]), int32(tv[x])
		U, V := int32(cu[x]), int32(cv[x])
		avgU := tlU + tU + lU + U + 8
		avgV := tlV + tV + lV + V + 8
		d12U, d12V := (avgU+2*(tU+lU))>>3, (avgV+2*(tV+lV))>>3
		d03U, d03V := (avgU+2*(tlU+U))>>3, (avgV+2*(tlV+V))>>3
		put(topOut, 2*x-1, topY[2*x-1], (d12U+tlU)>>1, (d12V+tlV)>>1)
		put(topOut, 2*x, topY[2*x], (d03U+tU)>>1, (d03V+tV)>>1)
		if botY != nil {
			put(botOut, 2*x-1, botY[2*x-1], (d03U+lU)>>1, (d03V+lV)>>1)
			put(botOut, 2*x, botY[2*x], (d12U+U)>>1, (d12V+V)>>1)
		}
		tlU, tlV, lU, lV = tU, tV, U, V
	}
	if n%2 == 0 {
		put(topOut, n-1, topY[n-1], (3*tlU+lU+2)>>2, (3*tlV+lV+2)>>2)
		if botY != nil {
			put(botOut, n-1, botY[n-1], (3*lU+tlU+2)>>2, (3*lV+tlV+2)>>2)
		}
	}
}

// webpYUVToRGB is BT.601 limited range: R = 1.164(Y-16) + 1.596(V-128) and
// so on, with coefficients scaled by 2^14, products truncated to 2^6 and a
// clamp, which is how libwebp computes it.
func webpYUVToRGB(y uint8, u, v int32) (uint8, uint8, uint8) {
	mulHi := func(a, c int32) int32 { return (a * c) >> 8 }
	yy := mulHi(int32(y), 19077)
	r := yy + mulHi(v, 26149) - 14234
	g := yy - mulHi(u, 6419) - mulHi(v, 13320) + 8708
	b := yy + mulHi(u, 33050) - 17685
	return clip6(r), clip6(g), clip6(b)
}

func clip6(v int32) uint8 {
	if v&^16383 == 0 {
		return uint8(v >> 6)
	}
	if v < 0 {
		return 0
	}
	return 255
}

func chromaSize(m *image.YCbCr) (w, h int) {
	hs, vs := subsampling(m.SubsampleRatio)
	return (m.Rect.Dx() + hs - 1) / hs, (m.Rect.Dy() + vs - 1) / vs
}

func subsampling(r image.YCbCrSubsampleRatio) (h, v int) {
	switch r {
	case image.YCbCrSubsampleRatio422:
		return 2, 1
	case image.YCbCrSubsampleRatio420:
		return 2, 2
	case image.YCbCrSubsampleRatio440:
		return 1, 2
	case image.YCbCrSubsampleRatio411:
		return 4, 1
	case image.YCbCrSubsampleRatio410:
		return 4, 2
	}
	return 1, 1
}
