package agreement

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func meanOf(x []float64) Statistic {
	return func(idx []int) ([]float64, error) {
		var s float64
		for _, k := range idx {
			s += x[k]
		}
		return []float64{s / float64(len(idx))}, nil
	}
}

func column(reps [][]float64, s int) []float64 {
	out := make([]float64, len(reps))
	for r := range reps {
		out[r] = reps[r][s]
	}
	return out
}

// TestSamplerStream pins the first draws of a seed, so that a change to the
// sampler (which would change every recorded leaderboard interval) cannot
// go unnoticed.
func TestSamplerStream(t *testing.T) {
	s := NewSampler(42, 0)
	var got []int
	for range 8 {
		got = append(got, s.IntN(1000))
	}
	want := []int{566, 180, 787, 410, 934, 763, 792, 851}
	if !slices.Equal(got, want) {
		t.Errorf("NewSampler(42, 0) draws %v, want %v", got, want)
	}
	if a, b := NewSampler(42, 1).IntN(1<<30), NewSampler(42, 2).IntN(1<<30); a == b {
		t.Errorf("streams 1 and 2 start alike (%d)", a)
	}
	// Every value of a small range comes up about equally often.
	counts := make([]int, 7)
	for range 70000 {
		counts[s.IntN(7)]++
	}
	for v, c := range counts {
		if c < 9500 || c > 10500 {
			t.Errorf("value %d drawn %d times in 70000, want about 10000", v, c)
		}
	}
	idx := s.Resample(make([]int, 3, 100), 50)
	if len(idx) != 50 || slices.Min(idx) < 0 || slices.Max(idx) >= 50 {
		t.Errorf("Resample(…, 50) = %v", idx)
	}
}

func TestBootstrapDeterministic(t *testing.T) {
	x := []float64{3, 1, 4, 1, 5, 9, 2, 6, 5, 3}
	a, err := Bootstrap(len(x), 200, 7, meanOf(x))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Bootstrap(len(x), 200, 7, meanOf(x))
	c, _ := Bootstrap(len(x), 200, 8, meanOf(x))
	short, _ := Bootstrap(len(x), 50, 7, meanOf(x))
	if !slices.Equal(column(a, 0), column(b, 0)) {
		t.Error("the same seed gave different replicates")
	}
	if slices.Equal(column(a, 0), column(c, 0)) {
		t.Error("seeds 7 and 8 gave the same replicates")
	}
	// Replicate r depends on (seed, r) only, not on how many are drawn.
	if !slices.Equal(column(a, 0)[:50], column(short, 0)) {
		t.Error("the first 50 of 200 replicates differ from 50 replicates")
	}
}

func TestBootstrapIntervalProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	x := make([]float64, 60)
	for i := range x {
		x[i] = r.NormFloat64()*2 + 5
	}
	const B = 2000
	reps, err := Bootstrap(len(x), B, 99, meanOf(x))
	if err != nil {
		t.Fatal(err)
	}
	ci, err := PercentileInterval(column(reps, 0), 0.95)
	if err != nil {
		t.Fatal(err)
	}
	if !(ci.Low <= ci.Median && ci.Median <= ci.High) || ci.Level != 0.95 || ci.Undefined != 0 {
		t.Errorf("interval %+v", ci)
	}
	// The mean of the replicates is x̄ up to Monte-Carlo error: the
	// bootstrap distribution of a mean has variance Σ(x − x̄)²/n².
	var xbar, ss, bootMean float64
	for _, v := range x {
		xbar += v / float64(len(x))
	}
	for _, v := range x {
		ss += (v - xbar) * (v - xbar)
	}
	sd := math.Sqrt(ss) / float64(len(x))
	for _, v := range column(reps, 0) {
		bootMean += v / B
	}
	if math.Abs(bootMean-xbar) >= 4*sd/math.Sqrt(B) {
		t.Errorf("mean of replicates %v, x̄ %v: more than 4 sd/√B apart", bootMean, xbar)
	}
	// Shifting the data shifts the interval (same seed, same resamples).
	shifted := make([]float64, len(x))
	for i := range x {
		shifted[i] = x[i] + 100
	}
	repsS, _ := Bootstrap(len(x), B, 99, meanOf(shifted))
	ciS, _ := PercentileInterval(column(repsS, 0), 0.95)
	if math.Abs(ciS.Low-ci.Low-100) > 1e-9 || math.Abs(ciS.High-ci.High-100) > 1e-9 {
		t.Errorf("shifted by 100: %+v, unshifted %+v", ciS, ci)
	}
	// The interval does not depend on the order of the replicates.
	vals := column(reps, 0)
	r.Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
	if ciP, _ := PercentileInterval(vals, 0.95); ciP != ci {
		t.Errorf("shuffled replicates: %+v, want %+v", ciP, ci)
	}
	// A constant sample gives a zero-width interval.
	constant := []float64{2.5, 2.5, 2.5, 2.5}
	repsC, _ := Bootstrap(len(constant), 300, 1, meanOf(constant))
	ciC, _ := PercentileInterval(column(repsC, 0), 0.95)
	if ciC.Low != 2.5 || ciC.High != 2.5 || ciC.Median != 2.5 {
		t.Errorf("constant sample: %+v", ciC)
	}
}

func TestBootstrapUndefinedReplicates(t *testing.T) {
	calls := 0
	reps, err := Bootstrap(5, 10, 3, func(idx []int) ([]float64, error) {
		calls++
		if calls%2 == 0 {
			return []float64{nan, 1}, nil
		}
		return []float64{float64(calls), nan}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cis, err := PercentileIntervals(reps, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	if cis[0].Undefined != 5 || cis[0].Low < 1 || cis[0].High > 9 {
		t.Errorf("half undefined: %+v", cis[0])
	}
	cisAll, _ := PercentileIntervals([][]float64{{nan}, {nan}}, 0.9)
	if cisAll[0].Undefined != 2 || !math.IsNaN(cisAll[0].Low) || !math.IsNaN(cisAll[0].High) {
		t.Errorf("all undefined: %+v", cisAll[0])
	}
}

func TestBootstrapErrors(t *testing.T) {
	boom := errors.New("boom")
	x := []float64{1, 2, 3}
	if _, err := Bootstrap(0, 10, 1, meanOf(x)); !errors.Is(err, ErrOption) {
		t.Errorf("n = 0: %v", err)
	}
	if _, err := Bootstrap(3, 0, 1, meanOf(x)); !errors.Is(err, ErrOption) {
		t.Errorf("no resamples: %v", err)
	}
	if _, err := Bootstrap(3, 5, 1, func([]int) ([]float64, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("stat error: %v", err)
	}
	n := 0
	if _, err := Bootstrap(3, 5, 1, func([]int) ([]float64, error) { n++; return make([]float64, n), nil }); !errors.Is(err, ErrLength) {
		t.Errorf("changing length: %v", err)
	}
	if _, err := BootstrapFrom(3, [][]int{{0, 1, 3}}, meanOf(x)); !errors.Is(err, ErrValue) {
		t.Errorf("index out of range: %v", err)
	}
	if _, err := BootstrapFrom(3, nil, meanOf(x)); !errors.Is(err, ErrOption) {
		t.Errorf("no resamples: %v", err)
	}
	// A statistic that sorts its indices must not reorder the caller's.
	given := [][]int{{2, 0, 1}}
	if _, err := BootstrapFrom(3, given, func(idx []int) ([]float64, error) { slices.Sort(idx); return []float64{0}, nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(given[0], []int{2, 0, 1}) {
		t.Errorf("BootstrapFrom changed the caller's resample to %v", given[0])
	}
	for name, tt := range map[string]struct {
		v     []float64
		level float64
		want  error
	}{
		"level 0":   {[]float64{1}, 0, ErrOption},
		"level 1":   {[]float64{1}, 1, ErrOption},
		"level NaN": {[]float64{1}, nan, ErrOption},
		"empty":     {nil, 0.95, ErrNoPairable},
		"infinite":  {[]float64{1, math.Inf(1)}, 0.95, ErrValue},
	} {
		if ci, err := PercentileInterval(tt.v, tt.level); !errors.Is(err, tt.want) || !math.IsNaN(ci.Low) {
			t.Errorf("%s: %+v, %v; want NaN, %v", name, ci, err, tt.want)
		}
	}
	if _, err := PercentileIntervals([][]float64{{1, 2}, {1}}, 0.95); !errors.Is(err, ErrLength) {
		t.Errorf("ragged replicates: %v", err)
	}
}

func TestQuantile(t *testing.T) {
	v := []float64{4, 1, 3, 2}
	for _, tt := range []struct{ q, want float64 }{{0, 1}, {1, 4}, {0.5, 2.5}, {1.0 / 3, 2}, {0.1, 1.3}} {
		got, err := Quantile(v, tt.q)
		if err != nil || math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Quantile(%v) = %v, %v; want %v", tt.q, got, err, tt.want)
		}
	}
	if !slices.Equal(v, []float64{4, 1, 3, 2}) {
		t.Errorf("Quantile sorted its input: %v", v)
	}
	if got, _ := Quantile([]float64{7}, 0.3); got != 7 {
		t.Errorf("one value: %v", got)
	}
	for name, tt := range map[string]struct {
		v    []float64
		q    float64
		want error
	}{
		"q < 0":     {v, -0.1, ErrOption},
		"q > 1":     {v, 1.5, ErrOption},
		"q NaN":     {v, nan, ErrOption},
		"no values": {nil, 0.5, ErrNoPairable},
		"NaN value": {[]float64{1, nan}, 0.5, ErrValue},
	} {
		if got, err := Quantile(tt.v, tt.q); !errors.Is(err, tt.want) || !math.IsNaN(got) {
			t.Errorf("%s: %v, %v; want NaN, %v", name, got, err, tt.want)
		}
	}
}

func TestRankByCI(t *testing.T) {
	// A clearly ahead; B and C overlap (ranks 2–3); D clearly behind B but
	// not C (ranks 3–4).
	lower := []float64{10, 5, 3, 0}
	upper := []float64{12, 8, 7, 4}
	best, worst, err := RankByCI(lower, upper)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(best, []int{1, 2, 2, 3}) || !slices.Equal(worst, []int{1, 3, 4, 4}) {
		t.Errorf("best %v, worst %v; want [1 2 2 3], [1 3 4 4]", best, worst)
	}
	if _, _, err := RankByCI([]float64{1}, []float64{1, 2}); !errors.Is(err, ErrLength) {
		t.Errorf("lengths: %v", err)
	}
	if _, _, err := RankByCI([]float64{2}, []float64{1}); !errors.Is(err, ErrValue) {
		t.Errorf("lower > upper: %v", err)
	}
	if _, _, err := RankByCI([]float64{nan}, []float64{1}); !errors.Is(err, ErrValue) {
		t.Errorf("NaN: %v", err)
	}
}
