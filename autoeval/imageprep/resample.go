package imageprep

import "math"

// The resize reproduces Pillow's Image.resize(size, BICUBIC) on 8-bit images
// bit for bit, from the published description of its convolution resampler:
//   - separable: a horizontal pass, then a vertical pass, each rounding and
//     clamping to uint8, and a pass is skipped when its axis keeps its size;
//   - the filter is Keys' cubic with a = -0.5 and support 2, stretched by the
//     downscale factor (antialiasing) and never shrunk when upscaling;
//   - each output pixel's window is [int(center-support+0.5),
//     int(center+support+0.5)) clipped to the image, its weights are
//     normalised to sum 1 in float64, then turned into fixed-point integers
//     with 22 fractional bits (32 - 8 - 2), rounded half away from zero;
//   - sums start at 1<<21 (rounding), are shifted right by 22 and clamped.
// Every output pixel depends only on its own window, so computing just the
// pixels that survive the centre crop gives the same values as Pillow's full
// resize followed by the crop; Pillow itself already limits the horizontal
// pass to the rows the vertical pass reads.

// precisionBits is Pillow's PRECISION_BITS for 8-bit images: 32 bits minus
// 8 for the value and 2 of headroom for negative lobes.
const precisionBits = 32 - 8 - 2

// bicubic is Keys' cubic convolution kernel with a = -0.5, as Pillow defines
// it. The explicit float64 conversions forbid fused multiply-adds, which would
// change the last bits of a weight and, rarely, a fixed-point coefficient.
func bicubic(x float64) float64 {
	const a = -0.5
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return float64(float64(float64(float64((a+2)*x)-(a+3))*x)*x) + 1
	}
	if x < 2 {
		return float64(float64(float64(float64(float64(x-5)*x)+8)*x)-4) * a
	}
	return 0
}

// axisKernel holds the fixed-point weights of one axis for the output
// positions first..first+n-1.
type axisKernel struct {
	start  []int32 // first input index of each output position
	count  []int32 // number of taps of each output position
	ksize  int     // stride of weights
	weight []int32 // n*ksize fixed-point weights
}

// makeAxisKernel computes the weights for resizing inSize to outSize, for the
// n output positions from first on.
func makeAxisKernel(k *axisKernel, inSize, outSize, first, n int) {
	scale := float64(inSize) / float64(outSize)
	filterscale := scale
	if filterscale < 1 {
		filterscale = 1
	}
	support := 2 * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	k.ksize = ksize
	k.start = grow(k.start, n)
	k.count = grow(k.count, n)
	k.weight = grow(k.weight, n*ksize)
	w := make([]float64, ksize)
	ss := 1 / filterscale
	for i := 0; i < n; i++ {
		xx := first + i
		// Pillow's center = in0 + (xx + 0.5) * scale, with in0 = 0.
		center := float64(float64(xx)+0.5) * scale
		xmin := int(center - support + 0.5)
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		cnt := xmax - xmin
		ww := 0.0
		for x := 0; x < cnt; x++ {
			w[x] = bicubic(float64(float64(float64(x+xmin)-center)+0.5) * ss)
			ww += w[x]
		}
		dst := k.weight[i*ksize : (i+1)*ksize]
		for x := range dst {
			v := 0.0
			if x < cnt {
				v = w[x]
				if ww != 0 {
					v /= ww
				}
			}
			if v < 0 {
				dst[x] = int32(-0.5 + float64(v*(1<<precisionBits)))
			} else {
				dst[x] = int32(0.5 + float64(v*(1<<precisionBits)))
			}
		}
		k.start[i] = int32(xmin)
		k.count[i] = int32(cnt)
	}
}

// span returns the input range [lo, hi) that the kernel's outputs read.
func (k *axisKernel) span() (lo, hi int) {
	n := len(k.start)
	if n == 0 {
		return 0, 0
	}
	return int(k.start[0]), int(k.start[n-1] + k.count[n-1])
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// clip8 turns a fixed-point sum into a byte, as Pillow's clip8 does: an
// arithmetic shift, then a clamp to 0..255.
func clip8(v int32) uint8 {
	v >>= precisionBits
	if uint32(v) > 255 {
		if v < 0 {
			return 0
		}
		return 255
	}
	return uint8(v)
}

// rgbImage is a packed 8-bit RGB image: Pix[(y*Stride)+3*x+c].
type rgbImage struct {
	Pix    []uint8
	W, H   int
	Stride int
}

// resampler resizes packed RGB images and keeps its buffers between calls.
type resampler struct {
	kh, kv axisKernel
	tmp    []uint8
	acc    []int32
	win    []uint8
}

// tmpWindow returns a reusable buffer of n bytes for a window that must be
// placed into a padded crop afterwards.
func (r *resampler) tmpWindow(n int) []uint8 {
	r.win = grow(r.win, n)
	return r.win
}

// resizeWindow resizes src to rw×rh and writes the window of that result
// starting at (x0, y0), nx×ny pixels, into dst (packed, stride 3*nx). The
// window must lie inside the resized image.
func (r *resampler) resizeWindow(src rgbImage, rw, rh, x0, y0, nx, ny int, dst []uint8) {
	needH := rw != src.W
	needV := rh != src.H
	// The rows the vertical pass reads, in source coordinates.
	rowLo, rowHi := y0, y0+ny
	if needV {
		makeAxisKernel(&r.kv, src.H, rh, y0, ny)
		rowLo, rowHi = r.kv.span()
	}
	mid := rgbImage{Pix: src.Pix[rowLo*src.Stride:], W: src.W, H: rowHi - rowLo, Stride: src.Stride}
	colOff := x0 * 3 // column offset of the window in mid
	if needH {
		makeAxisKernel(&r.kh, src.W, rw, x0, nx)
		r.tmp = grow(r.tmp, (rowHi-rowLo)*nx*3)
		horizontalPass(&r.kh, src.Pix, src.Stride, rowLo, rowHi, r.tmp, nx*3)
		mid = rgbImage{Pix: r.tmp, W: nx, H: rowHi - rowLo, Stride: nx * 3}
		colOff = 0
	}
	if needV {
		r.acc = grow(r.acc, nx*3)
		verticalPass(&r.kv, mid.Pix, mid.Stride, colOff, rowLo, nx*3, dst, r.acc)
		return
	}
	for y := 0; y < ny; y++ {
		copy(dst[y*nx*3:(y+1)*nx*3], mid.Pix[y*mid.Stride+colOff:])
	}
}

// horizontalPass convolves rows lo..hi-1 of src along x into dst, one row of
// len(k.start) pixels per source row.
func horizontalPass(k *axisKernel, src []uint8, stride, lo, hi int, dst []uint8, dstStride int) {
	n := len(k.start)
	ksize := k.ksize
	const half = 1 << (precisionBits - 1)
	for y := lo; y < hi; y++ {
		row := src[y*stride : y*stride+stride]
		out := dst[(y-lo)*dstStride : (y-lo)*dstStride+3*n]
		for i := 0; i < n; i++ {
			cnt := int(k.count[i])
			w := k.weight[i*ksize : i*ksize+cnt]
			p := row[int(k.start[i])*3:]
			p = p[:3*len(w)]
			s0, s1, s2 := int32(half), int32(half), int32(half)
			for t, wt := range w {
				q := p[3*t : 3*t+3 : 3*t+3]
				s0 += int32(q[0]) * wt
				s1 += int32(q[1]) * wt
				s2 += int32(q[2]) * wt
			}
			o := out[3*i : 3*i+3 : 3*i+3]
			o[0] = clip8(s0)
			o[1] = clip8(s1)
			o[2] = clip8(s2)
		}
	}
}

// verticalPass convolves along y. src holds source rows from rowLo on, each
// stride bytes, of which the width bytes from colOff on are used. It
// accumulates a whole output row tap by tap so every read is sequential.
func verticalPass(k *axisKernel, src []uint8, stride, colOff, rowLo, width int, dst []uint8, acc []int32) {
	ksize := k.ksize
	const half = 1 << (precisionBits - 1)
	acc = acc[:width]
	for i := range k.start {
		for j := range acc {
			acc[j] = half
		}
		cnt := int(k.count[i])
		w := k.weight[i*ksize : i*ksize+cnt]
		first := int(k.start[i]) - rowLo
		for t, wt := range w {
			off := (first+t)*stride + colOff
			row := src[off : off+width]
			for j, v := range row {
				acc[j] += int32(v) * wt
			}
		}
		out := dst[i*width : (i+1)*width]
		for j, v := range acc {
			out[j] = clip8(v)
		}
	}
}
