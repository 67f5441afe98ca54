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
// positions first..first+n-1. Every position gets the same number of taps,
// the longest window's: shorter windows are padded with zero weights, which
// leave the integer sums unchanged, so the passes run one fixed, unrolled
// loop.
type axisKernel struct {
	start  []int32 // first input index of each output position
	taps   int     // weights per position
	weight []int32 // n*taps fixed-point weights

	// The arguments the weights were computed for, to reuse them for the
	// next image of the same size.
	key [4]int
}

// makeAxisKernel computes the weights for resizing inSize to outSize, for the
// n output positions from first on.
func makeAxisKernel(k *axisKernel, inSize, outSize, first, n int) {
	key := [4]int{inSize, outSize, first, n}
	if k.key == key && len(k.start) == n {
		return
	}
	scale := float64(inSize) / float64(outSize)
	filterscale := scale
	if filterscale < 1 {
		filterscale = 1
	}
	support := 2 * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	// window is Pillow's [xmin, xmax) for output position xx.
	window := func(xx int) (center float64, xmin, xmax int) {
		// Pillow's center = in0 + (xx + 0.5) * scale, with in0 = 0.
		center = float64(float64(xx)+0.5) * scale
		xmin = max(int(center-support+0.5), 0)
		xmax = min(int(center+support+0.5), inSize)
		return center, xmin, xmax
	}
	taps := 0
	for i := 0; i < n; i++ {
		_, xmin, xmax := window(first + i)
		taps = max(taps, xmax-xmin)
	}
	k.taps = taps
	k.start = grow(k.start, n)
	k.weight = grow(k.weight, n*taps)
	w := make([]float64, ksize)
	ss := 1 / filterscale
	for i := 0; i < n; i++ {
		center, xmin, xmax := window(first + i)
		cnt := xmax - xmin
		ww := 0.0
		for x := 0; x < cnt; x++ {
			w[x] = bicubic(float64(float64(float64(x+xmin)-center)+0.5) * ss)
			ww += w[x]
		}
		// Place the window in a padded one that stays inside the input.
		pstart := min(xmin, inSize-taps)
		dst := k.weight[i*taps : (i+1)*taps]
		clear(dst)
		for x := 0; x < cnt; x++ {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			var q int32
			if v < 0 {
				q = int32(-0.5 + float64(v*(1<<precisionBits)))
			} else {
				q = int32(0.5 + float64(v*(1<<precisionBits)))
			}
			dst[xmin-pstart+x] = q
		}
		k.start[i] = int32(pstart)
	}
	k.key = key
}

// span returns the input range [lo, hi) that the kernel's outputs read.
func (k *axisKernel) span() (lo, hi int) {
	n := len(k.start)
	if n == 0 {
		return 0, 0
	}
	return int(k.start[0]), int(k.start[n-1]) + k.taps
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
	taps := k.taps
	const half = 1 << (precisionBits - 1)
	for y := lo; y < hi; y++ {
		row := src[y*stride : y*stride+stride]
		out := dst[(y-lo)*dstStride : (y-lo)*dstStride+3*n]
		for i := 0; i < n; i++ {
			w := k.weight[i*taps : i*taps+taps]
			p := row[int(k.start[i])*3:]
			p = p[:3*len(w)]
			// Red and blue share one 64-bit sum, red in the low 32 bits and
			// blue above (two lanes per multiply). Both sums fit in int32, so
			// the low lane is recovered exactly as int32(rb) and the high
			// one from what remains.
			rb := int64(half) | int64(half)<<32
			g := int32(half)
			t := 0
			for ; t+4 <= len(w); t += 4 {
				ws := w[t : t+4 : t+4]
				q := p[3*t : 3*t+12 : 3*t+12]
				rb += (int64(q[0])|int64(q[2])<<32)*int64(ws[0]) + (int64(q[3])|int64(q[5])<<32)*int64(ws[1]) +
					(int64(q[6])|int64(q[8])<<32)*int64(ws[2]) + (int64(q[9])|int64(q[11])<<32)*int64(ws[3])
				g += int32(q[1])*ws[0] + int32(q[4])*ws[1] + int32(q[7])*ws[2] + int32(q[10])*ws[3]
			}
			for ; t < len(w); t++ {
				q := p[3*t : 3*t+3 : 3*t+3]
				rb += (int64(q[0]) | int64(q[2])<<32) * int64(w[t])
				g += int32(q[1]) * w[t]
			}
			s0 := int32(rb)
			s2 := int32((rb - int64(s0)) >> 32)
			s1 := g
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
	taps := k.taps
	const half = 1 << (precisionBits - 1)
	acc = acc[:width]
	for i := range k.start {
		for j := range acc {
			acc[j] = half
		}
		w := k.weight[i*taps : i*taps+taps]
		first := int(k.start[i]) - rowLo
		// Taps two by two: half the loads and stores of the accumulator.
		t := 0
		for ; t+2 <= len(w); t += 2 {
			w0, w1 := w[t], w[t+1]
			off := (first+t)*stride + colOff
			r0 := src[off : off+width]
			r1 := src[off+stride : off+stride+width]
			a := acc[:len(r0)]
			r1 = r1[:len(r0)]
			for j, v := range r0 {
				a[j] += int32(v)*w0 + int32(r1[j])*w1
			}
		}
		if t < len(w) && w[t] != 0 {
			wt := w[t]
			off := (first+t)*stride + colOff
			row := src[off : off+width]
			a := acc[:len(row)]
			for j, v := range row {
				a[j] += int32(v) * wt
			}
		}
		out := dst[i*width : (i+1)*width]
		for j, v := range acc {
			out[j] = clip8(v)
		}
	}
}
