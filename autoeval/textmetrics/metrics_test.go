package textmetrics

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
)

// scoreOne scores tokenized items and returns the result.
func scoreItems(t *testing.T, items [][]string) *Result {
	t.Helper()
	ev := NewEvaluator(Options{Workers: 2})
	for i, it := range items {
		if err := ev.AddTokenized(string(rune('A'+i)), it[0], it[1:]); err != nil {
			t.Fatal(err)
		}
	}
	res, err := ev.Compute()
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// bleuFromCounts is BLEU-n from hand-counted clipped matches and guesses,
// with pycocoevalcap's smoothing and brevity penalty.
func bleuFromCounts(correct, guess []float64, testLen, refLen float64) []float64 {
	out := make([]float64, 4)
	prod := 1.0
	for k := 0; k < 4; k++ {
		prod *= (correct[k] + 1e-15) / (guess[k] + 1e-9)
		out[k] = math.Pow(prod, 1/float64(k+1))
	}
	if r := (testLen + 1e-15) / (refLen + 1e-9); r < 1 {
		for k := range out {
			out[k] *= math.Exp(1 - 1/r)
		}
	}
	return out
}

func TestBLEU(t *testing.T) {
	tests := []struct {
		name string
		item []string // hypothesis, references...
		want []float64
	}{
		{
			// 1-grams 5/6, 2-grams 3/5, 3-grams 1/4, 4-grams 0/3: BLEU-4 is
			// (5/6·3/5·1/4·1e-15/3)^(1/4) ≈ 8.0e-5, not 0.
			name: "zero 4-gram match",
			item: []string{"a cat sits on the mat", "a cat is on the mat"},
			want: bleuFromCounts([]float64{5, 3, 1, 0}, []float64{6, 5, 4, 3}, 6, 6),
		},
		{
			name: "identical",
			item: []string{"a b c d", "a b c d"},
			want: bleuFromCounts([]float64{4, 3, 2, 1}, []float64{4, 3, 2, 1}, 4, 4),
		},
		{
			// Closest reference length is 4 (|6-4| < |6-3|); no brevity penalty.
			name: "hypothesis longer than every reference",
			item: []string{"a b c d e f", "a b c", "a b c d"},
			want: bleuFromCounts([]float64{4, 3, 2, 1}, []float64{6, 5, 4, 3}, 6, 4),
		},
		{
			// Closest length 4, ratio 1/2: brevity penalty exp(1-2).
			name: "hypothesis shorter than every reference",
			item: []string{"a b", "a b c d", "a b c d e"},
			want: bleuFromCounts([]float64{2, 1, 0, 0}, []float64{2, 1, 0, 0}, 2, 4),
		},
		{
			// References of 4 and 6 words are both 1 away from 5: the
			// shorter wins, so no brevity penalty.
			name: "length tie goes to the shorter reference",
			item: []string{"a b c d e", "a b c d x y", "a b c d"},
			want: bleuFromCounts([]float64{4, 3, 2, 1}, []float64{5, 4, 3, 2}, 5, 4),
		},
		{
			// "a" occurs twice in the hypothesis, at most once per reference.
			name: "counts clipped to one reference",
			item: []string{"a a a", "a b", "b a"},
			want: bleuFromCounts([]float64{1, 0, 0, 0}, []float64{3, 2, 1, 0}, 3, 2),
		},
		{
			name: "one word",
			item: []string{"dog", "a dog"},
			want: bleuFromCounts([]float64{1, 0, 0, 0}, []float64{1, 0, 0, 0}, 1, 2),
		},
		{
			name: "empty hypothesis scores 0",
			item: []string{"", "a dog"},
			want: []float64{0, 0, 0, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := scoreItems(t, [][]string{tt.item})
			for k, name := range BLEU.Names() {
				got, _ := res.Score(0, name)
				if !near(got, tt.want[k], 1e-15) {
					t.Errorf("%s = %.17g, want %.17g", name, got, tt.want[k])
				}
				// One image: the corpus score equals the image's.
				if c := res.CorpusScores()[name]; c != got {
					t.Errorf("corpus %s = %.17g, image %.17g", name, c, got)
				}
			}
		})
	}
	if got := bleuFromCounts([]float64{5, 3, 1, 0}, []float64{6, 5, 4, 3}, 6, 6)[3]; got < 7e-5 || got > 9e-5 {
		t.Errorf("BLEU-4 with no 4-gram match = %g, want about 8e-5", got)
	}
}

func TestROUGEL(t *testing.T) {
	f := func(p, r float64) float64 { return (1 + 1.44) * p * r / (r + 1.44*p) }
	tests := []struct {
		name string
		item []string
		want float64
	}{
		{"identical", []string{"a b c", "a b c"}, 1},
		{"one substitution", []string{"a b c", "a x c"}, f(2.0/3, 2.0/3)},
		{"longer hypothesis", []string{"a b c d", "a c"}, f(2.0/4, 2.0/2)},
		{"shorter hypothesis", []string{"b", "a b c d e"}, f(1, 1.0/5)},
		// Precision and recall are maximized separately: P = 1 from the
		// first reference, R = 1 from the second, so F = 1.
		{"max precision and recall from different references", []string{"a b", "a b c d", "a"}, 1},
		{"no common word", []string{"x y", "a b"}, 0},
		{"one word", []string{"dog", "a dog"}, f(1, 0.5)},
		{"empty hypothesis", []string{"", "a dog"}, 0},
		// "".split(" ") is [""], which matches an empty reference.
		{"empty hypothesis and reference", []string{"", ""}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := scoreItems(t, [][]string{tt.item})
			if got, _ := res.Score(0, NameRougeL); got != tt.want {
				t.Errorf("ROUGE_L = %.17g, want %.17g", got, tt.want)
			}
		})
	}
}

func TestCIDErD(t *testing.T) {
	// Two images, so log(N) = log 2; every n-gram of the references occurs
	// in one image, so every idf is log 2 - log 1 = log 2, and so is the
	// idf of n-grams no reference has (df 0 counts as 1).
	pen1 := math.Exp(-1.0 / 72) // bigram counts differ by 1: exp(-1/(2·6²))
	tests := []struct {
		name  string
		items [][]string
		want  []float64
	}{
		{
			// Orders 1 and 2 have cosine 1; orders 3 and 4 have no n-grams
			// (norm 0, value 0): mean 0.5, ×10. One word: only order 1.
			name:  "identical captions",
			items: [][]string{{"a b", "a b"}, {"c", "c"}},
			want:  []float64{5, 2.5},
		},
		{
			// Order 1: hyp {a,b,c}, ref {a,b}: 2/(√3·√2). Order 2: hyp {a b,
			// b c}, ref {a b}: 1/√2. Length penalty for 2 vs 1 bigrams.
			name:  "longer hypothesis",
			items: [][]string{{"a b c", "a b"}, {"c", "c"}},
			want:  []float64{(2/math.Sqrt(6) + 1/math.Sqrt2) * pen1 / 4 * 10, 2.5},
		},
		{
			// tf 2 against 1 is clipped: min(2L, L)·L / (2L·L) = 1/2.
			name:  "hypothesis counts clipped to the reference",
			items: [][]string{{"a a", "a"}, {"c", "c"}},
			want:  []float64{0.5 * pen1 / 4 * 10, 2.5},
		},
		{
			// Averaged over references: 2.5 for the identical one, 0 for
			// the other (with its penalty, still 0).
			name:  "two references",
			items: [][]string{{"c", "c", "x y"}, {"a", "a"}},
			want:  []float64{2.5 / 2, 2.5},
		},
		{
			name:  "empty hypothesis",
			items: [][]string{{"", "a b"}, {"c", "c"}},
			want:  []float64{0, 2.5},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := scoreItems(t, tt.items)
			for i, want := range tt.want {
				if got, _ := res.Score(i, NameCIDEr); !near(got, want, 1e-12) {
					t.Errorf("image %d CIDEr = %.17g, want %.17g", i, got, want)
				}
			}
			if got, want := res.CorpusScores()[NameCIDEr], (tt.want[0]+tt.want[1])/2; !near(got, want, 1e-12) {
				t.Errorf("corpus CIDEr = %.17g, want %.17g", got, want)
			}
		})
	}
}

func TestPairwiseSum(t *testing.T) {
	const big = 1 << 53 // adding 1 to it rounds back to it
	ones := func(n int) []float64 {
		a := make([]float64, n)
		for i := range a {
			a[i] = 1
		}
		a[0] = big
		return a
	}
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"empty", nil, 0},
		{"short arrays add in order", ones(7), big},
		// 8 accumulators: ((big+1)+(1+1)) + ((1+1)+(1+1)) = big+6.
		{"eight accumulators", ones(8), big + 6},
		// 9: the eight as above, then the tail: big+7 lies halfway between
		// big+6 and big+8 and rounds to even, big+8.
		{"tail after the accumulators", ones(9), big + 8},
		// 136 splits into 64 and 72: the first half's r0 stays big, r1..r7
		// hold 8 each (big+56); the second half is 72: big+128.
		{"recursive halves", ones(136), big + 128},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pairwiseSum(tt.in); got != tt.want {
				t.Errorf("pairwiseSum = %.17g, want %.17g", got, float64(tt.want))
			}
		})
	}
}

func TestInputErrors(t *testing.T) {
	ev := NewEvaluator(Options{})
	if _, err := ev.Compute(); !errors.Is(err, ErrEmpty) {
		t.Errorf("Compute on nothing: %v, want ErrEmpty", err)
	}
	if err := ev.Add("1", "a dog", nil); !errors.Is(err, ErrNoReferences) {
		t.Errorf("no references: %v, want ErrNoReferences", err)
	}
	if err := ev.Add("1", "a dog", []string{"a dog"}); err != nil {
		t.Fatal(err)
	}
	if err := ev.Add("1", "a cat", []string{"a cat"}); !errors.Is(err, ErrDuplicateImage) {
		t.Errorf("second item for image 1: %v, want ErrDuplicateImage", err)
	}
	if _, err := ev.Compute("meteor"); !errors.Is(err, ErrUnknownMetric) {
		t.Errorf("unknown metric: %v, want ErrUnknownMetric", err)
	}

	rs := NewReferenceSet(Options{})
	if err := rs.Add("1", []string{"a dog"}); err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Score([]Hypothesis{{ImageID: "2", Caption: "x"}}); !errors.Is(err, ErrUnknownImage) {
		t.Errorf("unknown image: %v, want ErrUnknownImage", err)
	}
	if _, err := rs.Score([]Hypothesis{{ImageID: "1", Caption: "x"}, {ImageID: "1", Caption: "y"}}); !errors.Is(err, ErrDuplicateImage) {
		t.Errorf("two hypotheses for one image: %v, want ErrDuplicateImage", err)
	}
	if _, err := rs.Score([]Hypothesis{{ImageID: "1", Caption: "a dog"}}); err != nil {
		t.Fatal(err)
	}
	if err := rs.Add("3", []string{"x"}); !errors.Is(err, ErrFrozen) {
		t.Errorf("Add after Score: %v, want ErrFrozen", err)
	}
}

func TestMetricSubsetAndOrder(t *testing.T) {
	items := [][]string{{"a b c", "a b c", "a b"}, {"x y", "x z"}}
	all := scoreItems(t, items)
	ev := NewEvaluator(Options{Workers: 1})
	for i, it := range items {
		if err := ev.AddTokenized(string(rune('A'+i)), it[0], it[1:]); err != nil {
			t.Fatal(err)
		}
	}
	sub, err := ev.Compute(CIDEr, ROUGE)
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Names) != 2 || sub.Names[0] != NameRougeL || sub.Names[1] != NameCIDEr || sub.BLEU != nil {
		t.Fatalf("names %v (BLEU %v), want [ROUGE_L CIDEr] and no BLEU", sub.Names, sub.BLEU)
	}
	for i := range items {
		for _, name := range sub.Names {
			a, _ := all.Score(i, name)
			b, _ := sub.Score(i, name)
			if a != b {
				t.Errorf("image %d %s: %v alone, %v with all metrics", i, name, b, a)
			}
		}
	}
}

// TestLongCaptionUnseenNGrams checks the counting of n-grams no reference
// has in a caption long enough to switch from one-by-one comparison to a
// map: 40 unseen words, each twice.
func TestLongCaptionUnseenNGrams(t *testing.T) {
	var xs, cs []string
	for i := 1; i <= 40; i++ {
		xs = append(xs, "x"+strconv.Itoa(i))
	}
	for i := 1; i <= 80; i++ {
		cs = append(cs, "c"+strconv.Itoa(i))
	}
	hyp := "a b " + strings.Join(xs, " ") + " " + strings.Join(xs, " ") // 82 words
	ref := "a b " + strings.Join(cs, " ")                               // 82 words
	res := scoreItems(t, [][]string{{hyp, ref}, {"q", "q"}})
	// idf is log 2 for every n-gram (two images, df 0 or 1). Order 1: hyp
	// norm √(1+1+40·2²), ref √82, common a and b. Order 2: hyp norm
	// √(3+39·2²) ((x_i x_i+1) twice), ref √81, common "a b". Orders 3, 4:
	// nothing common. Equal bigram counts: no penalty.
	wantCIDEr := (2/math.Sqrt(162*82) + 1/(9*math.Sqrt(159))) / 4 * 10
	if got, _ := res.Score(0, NameCIDEr); !near(got, wantCIDEr, 1e-12) {
		t.Errorf("CIDEr = %.17g, want %.17g", got, wantCIDEr)
	}
	wantBleu := bleuFromCounts([]float64{2, 1, 0, 0}, []float64{82, 81, 80, 79}, 82, 82)
	for k, name := range BLEU.Names() {
		if got, _ := res.Score(0, name); !near(got, wantBleu[k], 1e-15) {
			t.Errorf("%s = %.17g, want %.17g", name, got, wantBleu[k])
		}
	}
}
