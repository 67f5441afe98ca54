package textmetrics

// pairwiseSum adds a exactly as numpy's pairwise summation does (the
// float64 add reduction behind np.sum and np.mean): fewer than 8 values are
// added in order; up to 128 values are added into 8 interleaved accumulators
// that are then combined as a balanced tree, plus the leftover tail in
// order; longer arrays are split in two, the first half's length rounded
// down to a multiple of 8. Reproducing the algorithm, not just the sum,
// makes corpus means bit-identical to pycocoevalcap's.
func pairwiseSum(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		res := 0.0
		for _, v := range a {
			res += v
		}
		return res
	case n <= 128:
		r0, r1, r2, r3 := a[0], a[1], a[2], a[3]
		r4, r5, r6, r7 := a[4], a[5], a[6], a[7]
		i := 8
		for ; i < n-n%8; i += 8 {
			r0 += a[i]
			r1 += a[i+1]
			r2 += a[i+2]
			r3 += a[i+3]
			r4 += a[i+4]
			r5 += a[i+5]
			r6 += a[i+6]
			r7 += a[i+7]
		}
		res := ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
		for ; i < n; i++ {
			res += a[i]
		}
		return res
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return pairwiseSum(a[:n2]) + pairwiseSum(a[n2:])
	}
}

// npMean is np.mean of a float64 array: the pairwise sum divided by the
// count. The mean of no values is NaN, as numpy's.
func npMean(a []float64) float64 {
	return pairwiseSum(a) / float64(len(a))
}
