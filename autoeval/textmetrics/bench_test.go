package textmetrics

import (
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Benchmarks on the 5,000-image val2017 leave-one-out set. pycocoevalcap
// takes 1.73 s to tokenize it and 0.618 s (BLEU), 0.344 s (ROUGE-L),
// 2.596 s (CIDEr-D) to score it on a 2-core machine.

func BenchmarkTokenize(b *testing.B) {
	l := loadLOO(b)
	var captions []string
	for _, id := range l.order {
		captions = append(captions, l.raw[id]...)
	}
	b.ResetTimer()
	defer startCPU().report(b)
	for b.Loop() {
		var tk tokenizer
		for _, c := range captions {
			tk.reset()
			tk.run(c)
		}
	}
	b.ReportMetric(float64(len(captions)), "captions/op")
}

// BenchmarkTokenizeHard tokenizes the 3,100 hard lines of
// ../shared/testdata/ptb-tokenizer, where most tokens take the full lexer
// rather than the fast path for plain words.
func BenchmarkTokenizeHard(b *testing.B) {
	cases := loadPTBCases(b)
	bytes := 0
	for _, c := range cases {
		bytes += len(c.Raw)
	}
	b.SetBytes(int64(bytes))
	b.ResetTimer()
	defer startCPU().report(b)
	for b.Loop() {
		var tk tokenizer
		for _, c := range cases {
			tk.reset()
			tk.run(c.Raw)
		}
	}
}

// benchScorer scores the pre-tokenized set with the given metrics; the time
// includes interning the references, as pycocoevalcap's includes its
// precooking.
func benchScorer(b *testing.B, metrics ...Metric) {
	l := loadLOO(b)
	b.ResetTimer()
	defer startCPU().report(b)
	for b.Loop() {
		ev := NewEvaluator(Options{})
		for _, id := range l.order {
			if err := ev.AddTokenized(id, l.res[id][0], l.gts[id]); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := ev.Compute(metrics...); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTimer reports the process' CPU time (user + system) per operation, a
// figure less disturbed than wall time when other work shares the machine.
type cpuTimer struct{ start float64 }

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func startCPU() cpuTimer { return cpuTimer{cpuSeconds()} }

func (c cpuTimer) report(b *testing.B) {
	b.ReportMetric((cpuSeconds()-c.start)*1e3/float64(b.N), "cpu-ms/op")
}

func BenchmarkBLEU(b *testing.B)       { benchScorer(b, BLEU) }
func BenchmarkROUGEL(b *testing.B)     { benchScorer(b, ROUGE) }
func BenchmarkCIDErD(b *testing.B)     { benchScorer(b, CIDEr) }
func BenchmarkAllScorers(b *testing.B) { benchScorer(b) }

// BenchmarkPipeline is the whole job from raw captions: tokenizer and the
// three scorers (target: at most 0.12 s on 2 cores).
func BenchmarkPipeline(b *testing.B) {
	l := loadLOO(b)
	b.ResetTimer()
	defer startCPU().report(b)
	for b.Loop() {
		ev := NewEvaluator(Options{})
		for _, id := range l.order {
			raw := l.raw[id]
			if err := ev.Add(id, raw[0], raw[1:]); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := ev.Compute(); err != nil {
			b.Fatal(err)
		}
	}
}

// syntheticModels makes n seeded "models" of raw captions for every image:
// each takes a caption of the image (or, now and then, of another image),
// drops, duplicates or swaps words, and sometimes changes case.
func syntheticModels(l *looSet, n int, seed uint64) [][]Hypothesis {
	rng := rand.New(rand.NewPCG(seed, 1))
	models := make([][]Hypothesis, n)
	for m := range models {
		hyps := make([]Hypothesis, len(l.order))
		for i, id := range l.order {
			src := l.raw[id]
			if rng.IntN(10) == 0 {
				src = l.raw[l.order[rng.IntN(len(l.order))]]
			}
			words := strings.Fields(src[rng.IntN(len(src))])
			switch rng.IntN(4) {
			case 0:
				if len(words) > 1 {
					k := rng.IntN(len(words))
					words = append(words[:k], words[k+1:]...)
				}
			case 1:
				k := rng.IntN(len(words))
				words = append(words[:k+1], words[k:]...)
			case 2:
				rng.Shuffle(len(words), func(a, c int) { words[a], words[c] = words[c], words[a] })
			}
			caption := strings.Join(words, " ")
			if rng.IntN(3) == 0 {
				caption = strings.ToLower(caption)
			}
			hyps[i] = Hypothesis{ImageID: id, Caption: caption}
		}
		models[m] = hyps
	}
	return models
}

// Benchmark250k scores 50 synthetic models × 5,000 images (250,000 raw
// hypotheses) with all metrics against references tokenized once (target:
// under 5 s and 1 GiB). peak-MiB is the process' resident high-water mark.
func Benchmark250k(b *testing.B) {
	l := loadLOO(b)
	models := syntheticModels(l, 50, 42)
	b.ResetTimer()
	cpu := startCPU()
	for b.Loop() {
		rs := NewReferenceSet(Options{})
		for _, id := range l.order {
			if err := rs.Add(id, l.raw[id][1:]); err != nil {
				b.Fatal(err)
			}
		}
		for _, hyps := range models {
			if _, err := rs.Score(hyps); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	cpu.report(b)
	b.ReportMetric(250000, "hyps/op")
	if hwm := peakRSSMiB(); hwm > 0 {
		b.ReportMetric(hwm, "peak-MiB")
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.Sys)/(1<<20), "go-sys-MiB")
}

// peakRSSMiB reads VmHWM from /proc/self/status (Linux); 0 elsewhere.
func peakRSSMiB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseFloat(f[0], 64)
				return kb / 1024
			}
		}
	}
	return 0
}

// benchScoreOnly scores the 5,000 pre-tokenized hypotheses against a
// reference set built once, so each metric's own cost shows.
func benchScoreOnly(b *testing.B, metrics ...Metric) {
	l := loadLOO(b)
	rs := NewReferenceSet(Options{})
	hyps := make([]Hypothesis, len(l.order))
	for k, id := range l.order {
		if err := rs.AddTokenized(id, l.gts[id]); err != nil {
			b.Fatal(err)
		}
		hyps[k] = Hypothesis{ImageID: id, Caption: l.res[id][0], Tokenized: true}
	}
	if _, err := rs.Score(hyps); err != nil { // builds the set
		b.Fatal(err)
	}
	b.ResetTimer()
	defer startCPU().report(b)
	for b.Loop() {
		if _, err := rs.Score(hyps, metrics...); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScoreOnlyBLEU(b *testing.B)   { benchScoreOnly(b, BLEU) }
func BenchmarkScoreOnlyROUGEL(b *testing.B) { benchScoreOnly(b, ROUGE) }
func BenchmarkScoreOnlyCIDErD(b *testing.B) { benchScoreOnly(b, CIDEr) }
func BenchmarkScoreOnlyAll(b *testing.B)    { benchScoreOnly(b) }
