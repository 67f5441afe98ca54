package agreement

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
)

// Sampler draws bootstrap resamples from a deterministic stream: PCG (from
// math/rand/v2, whose output is fixed by its definition) seeded with the
// caller's seed and a stream number, and a bounded draw written here
// (Lemire's multiply-and-reject) rather than math/rand's, whose algorithm
// may change between Go releases. The same seed and stream give the same
// draws on any machine and Go version.
type Sampler struct{ src *rand.PCG }

// NewSampler returns the sampler for stream number stream of seed. Bootstrap
// uses stream r for replicate r, so replicates are independent of one
// another and can be computed in any order or in parallel with the same
// result; a caller writing its own resampling loop (a two-stage bootstrap,
// say) should do the same.
func NewSampler(seed int64, stream uint64) *Sampler {
	// splitmix64 spreads consecutive stream numbers over the state space, so
	// that streams r and r+1 do not start at neighbouring PCG states.
	z := stream + 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	return &Sampler{src: rand.NewPCG(uint64(seed), z)}
}

// IntN returns a uniform integer in [0, n). It panics if n <= 0, like
// math/rand's IntN.
func (s *Sampler) IntN(n int) int {
	if n <= 0 {
		panic("agreement: Sampler.IntN: n <= 0")
	}
	bound := uint64(n)
	hi, lo := bits.Mul64(s.src.Uint64(), bound)
	if lo < bound {
		thresh := -bound % bound
		for lo < thresh {
			hi, lo = bits.Mul64(s.src.Uint64(), bound)
		}
	}
	return int(hi)
}

// Resample fills dst (grown or cut to length n) with n indices drawn
// uniformly from [0, n) with replacement, and returns it.
func (s *Sampler) Resample(dst []int, n int) []int {
	dst = slices.Grow(dst[:0], n)[:n]
	for i := range dst {
		dst[i] = s.IntN(n)
	}
	return dst
}

// Statistic computes one or more statistics on a resample: idx lists the
// indices of the resampled units (0 ≤ idx[i] < n, with repeats), in draw
// order. idx is reused between calls, so a Statistic must not keep it. It
// must return the same number of values every time; a NaN value marks a
// replicate on which the statistic is undefined (e.g. alpha of a resample
// without variation), which the intervals leave out and count, and an error
// stops the bootstrap.
type Statistic func(idx []int) ([]float64, error)

// Bootstrap runs the nonparametric bootstrap: for each of the resamples
// replicates r it draws n unit indices with replacement from
// NewSampler(seed, r) and evaluates stat on them. The resampling unit is
// whatever the caller's n indexes: the items of an agreement table, the
// images of a leaderboard, the battles of a pairwise campaign (as LMSYS
// resamples battles). It returns replicates[r][s], the s-th statistic of
// replicate r; feed it to PercentileIntervals. FastChat's default is 1,000
// resamples. Errors: ErrOption (n or resamples < 1), ErrLength (stat
// returned a different number of values than before), or stat's own error.
func Bootstrap(n, resamples int, seed int64, stat Statistic) ([][]float64, error) {
	if n < 1 || resamples < 1 {
		return nil, fmt.Errorf("bootstrap: %d units, %d resamples (both must be at least 1): %w", n, resamples, ErrOption)
	}
	out := make([][]float64, 0, resamples)
	var idx []int
	for r := 0; r < resamples; r++ {
		idx = NewSampler(seed, uint64(r)).Resample(idx, n)
		var err error
		if out, err = replicate(out, r, idx, stat); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// BootstrapFrom is Bootstrap on resamples the caller gives: resamples[r] is
// the list of unit indices of replicate r, each in [0, n). It serves to
// replay recorded resamples and to check the statistics against reference
// values computed from the same indices in another language (whose random
// streams differ). An index out of range is an ErrValue.
func BootstrapFrom(n int, resamples [][]int, stat Statistic) ([][]float64, error) {
	if len(resamples) == 0 {
		return nil, fmt.Errorf("bootstrap: no resamples: %w", ErrOption)
	}
	for r, idx := range resamples {
		for i, k := range idx {
			if k < 0 || k >= n {
				return nil, fmt.Errorf("bootstrap: resample %d, position %d: index %d outside [0, %d): %w", r, i, k, n, ErrValue)
			}
		}
	}
	out := make([][]float64, 0, len(resamples))
	buf := make([]int, 0, n)
	for r, idx := range resamples {
		// A copy, so that a Statistic that sorts its indices cannot change
		// the caller's resamples.
		buf = append(buf[:0], idx...)
		var err error
		if out, err = replicate(out, r, buf, stat); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func replicate(out [][]float64, r int, idx []int, stat Statistic) ([][]float64, error) {
	v, err := stat(idx)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: replicate %d: %w", r, err)
	}
	if r > 0 && len(v) != len(out[0]) {
		return nil, fmt.Errorf("bootstrap: replicate %d gave %d statistics, replicate 0 gave %d: %w", r, len(v), len(out[0]), ErrLength)
	}
	return append(out, slices.Clone(v)), nil
}

// CI is a percentile bootstrap confidence interval: Low and High are the
// (1 − Level)/2 and (1 + Level)/2 type-7 quantiles of the replicates and
// Median their median (FastChat's "elo" system reports that median as the
// point estimate; its "bt" system, like capeval, reports the full-data
// estimate). Undefined counts the replicates left out for being NaN; when
// all are, the bounds are NaN.
type CI struct {
	Low, Median, High float64
	Level             float64
	Undefined         int
}

// PercentileInterval returns the percentile interval at the given
// confidence level (0 < level < 1, e.g. 0.95) of one statistic's bootstrap
// replicates. The result does not depend on the order of the replicates.
// Errors: ErrOption (level), ErrNoPairable (no replicates), ErrValue (±Inf).
func PercentileInterval(values []float64, level float64) (CI, error) {
	if !(level > 0 && level < 1) {
		return nanInterval(level), fmt.Errorf("percentile interval: level %v not in (0, 1): %w", level, ErrOption)
	}
	if len(values) == 0 {
		return nanInterval(level), fmt.Errorf("percentile interval: no replicates: %w", ErrNoPairable)
	}
	sorted := make([]float64, 0, len(values))
	for i, v := range values {
		switch {
		case math.IsInf(v, 0):
			return nanInterval(level), fmt.Errorf("percentile interval: replicate %d is %v: %w", i, v, ErrValue)
		case !math.IsNaN(v):
			sorted = append(sorted, v)
		}
	}
	iv := nanInterval(level)
	iv.Undefined = len(values) - len(sorted)
	if len(sorted) == 0 {
		return iv, nil
	}
	slices.Sort(sorted)
	iv.Low = quantileSorted(sorted, (1-level)/2)
	iv.Median = quantileSorted(sorted, 0.5)
	iv.High = quantileSorted(sorted, (1+level)/2)
	return iv, nil
}

// PercentileIntervals returns PercentileInterval of every column of the
// replicates[r][s] that Bootstrap returns. Errors are those of
// PercentileInterval, and ErrLength for ragged replicates.
func PercentileIntervals(replicates [][]float64, level float64) ([]CI, error) {
	if len(replicates) == 0 {
		return nil, fmt.Errorf("percentile interval: no replicates: %w", ErrNoPairable)
	}
	k := len(replicates[0])
	for r, row := range replicates {
		if len(row) != k {
			return nil, fmt.Errorf("percentile interval: replicate %d has %d statistics, replicate 0 has %d: %w", r, len(row), k, ErrLength)
		}
	}
	out := make([]CI, k)
	col := make([]float64, len(replicates))
	for s := range out {
		for r, row := range replicates {
			col[r] = row[s]
		}
		iv, err := PercentileInterval(col, level)
		if err != nil {
			return nil, fmt.Errorf("statistic %d: %w", s, err)
		}
		out[s] = iv
	}
	return out, nil
}

func nanInterval(level float64) CI {
	return CI{Low: math.NaN(), Median: math.NaN(), High: math.NaN(), Level: level}
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) of values by linear
// interpolation between order statistics, Hyndman and Fan's type 7 (the
// default of numpy, pandas and R): with the values sorted and h = (n−1)q,
// v[⌊h⌋] + (h − ⌊h⌋)(v[⌊h⌋+1] − v[⌊h⌋]). gonum's stat.Quantile offers
// types 1 and 4 only. values is not modified. Errors: ErrOption (q),
// ErrNoPairable (no values), ErrValue (NaN or ±Inf).
func Quantile(values []float64, q float64) (float64, error) {
	if !(q >= 0 && q <= 1) {
		return math.NaN(), fmt.Errorf("quantile: q = %v not in [0, 1]: %w", q, ErrOption)
	}
	if len(values) == 0 {
		return math.NaN(), fmt.Errorf("quantile: no values: %w", ErrNoPairable)
	}
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return math.NaN(), fmt.Errorf("quantile: value %d is %v: %w", i, v, ErrValue)
		}
	}
	return quantileSorted(sortedCopy(values), q), nil
}

func quantileSorted(v []float64, q float64) float64 {
	h := float64(len(v)-1) * q
	lo := int(math.Floor(h))
	if lo >= len(v)-1 {
		return v[len(v)-1]
	}
	return v[lo] + (h-float64(lo))*(v[lo+1]-v[lo])
}

// RankByCI ranks captioners from their confidence intervals as Chatbot
// Arena does: best[i] = 1 + the number of captioners whose lower bound
// exceeds i's upper bound, so captioners whose intervals overlap share a
// rank. worst[i] = n − the number of captioners whose upper bound is below
// i's lower bound is the other end of i's rank range: [best[i], worst[i]]
// holds every rank the intervals allow. Errors: ErrLength, ErrValue (a NaN
// bound, or lower > upper).
func RankByCI(lower, upper []float64) (best, worst []int, err error) {
	if len(lower) != len(upper) {
		return nil, nil, fmt.Errorf("rank by CI: %d lower bounds, %d upper: %w", len(lower), len(upper), ErrLength)
	}
	for i := range lower {
		if math.IsNaN(lower[i]) || math.IsNaN(upper[i]) || lower[i] > upper[i] {
			return nil, nil, fmt.Errorf("rank by CI: captioner %d has interval [%v, %v]: %w", i, lower[i], upper[i], ErrValue)
		}
	}
	n := len(lower)
	best, worst = make([]int, n), make([]int, n)
	for i := range lower {
		best[i], worst[i] = 1, n
		for j := range lower {
			if lower[j] > upper[i] {
				best[i]++
			}
			if upper[j] < lower[i] {
				worst[i]--
			}
		}
	}
	return best, worst, nil
}
