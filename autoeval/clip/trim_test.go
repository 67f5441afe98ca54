package clip

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"capeval/autoeval/clip/onnxgen"
)

// mixedCaptions returns n seeded captions of 1 to 30 words, some outside the
// tiny vocabulary (several ids each), then one too long for the context (cut
// to ContextLength ids) and a repeat of the first.
func mixedCaptions(n int, seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, 11))
	words := append(onnxgen.DefaultTinyConfig().Words, "zebra", "bicycle", "x", "kitchen")
	out := make([]string, 0, n+2)
	for range n {
		w := make([]string, 1+rng.IntN(30))
		for i := range w {
			w[i] = words[rng.IntN(len(words))]
		}
		out = append(out, Prefix+strings.Join(w, " "))
	}
	return append(out, strings.Repeat("the cat ", 50), out[0])
}

// smallTransformer is a CLIP text transformer (causal self-attention, EOT
// pooling) small enough for a test, with the tiny tokenizer's vocabulary.
func smallTransformer() onnxgen.CLIPConfig {
	vocab, _ := onnxgen.TinyVocabulary(onnxgen.DefaultTinyConfig().Words)
	return onnxgen.CLIPConfig{
		ImageSize: 32, PatchSize: 16, VisionWidth: 16, VisionLayers: 1, VisionHeads: 2, VisionMLP: 32,
		TextWidth: 32, TextLayers: 2, TextHeads: 4, TextMLP: 64,
		VocabSize: len(vocab), Context: ContextLength, EmbedDim: 16, Seed: 5,
	}
}

// TestTrimmedTextsMatchPadded encodes captions of mixed lengths with a text
// model whose sequence length is dynamic (each batch cut to its longest
// caption) and checks the embeddings against the same captions padded to 77:
// run through the same model, and through the same weights exported with a
// fixed 77, which must keep working untrimmed.
func TestTrimmedTextsMatchPadded(t *testing.T) {
	models := []struct {
		name  string
		write func(dir string, fixed bool) error
	}{
		{"tiny", func(dir string, fixed bool) error {
			cfg := onnxgen.DefaultTinyConfig()
			cfg.FixedContext = fixed
			_, err := onnxgen.WriteTinyFolder(dir, cfg, onnxgen.TokenizerJSON)
			return err
		}},
		// The tiny tower has no attention; this one checks that the causal
		// mask keeps padding out of the pooled state.
		{"causal transformer", func(dir string, fixed bool) error {
			c := smallTransformer()
			c.FixedContext = fixed
			return writeCLIPFolder(dir, c)
		}},
	}
	captions := mixedCaptions(13, 3)
	for _, m := range models {
		dynDir, fixedDir := t.TempDir(), t.TempDir()
		if err := m.write(dynDir, false); err != nil {
			t.Fatal(err)
		}
		if err := m.write(fixedDir, true); err != nil {
			t.Fatal(err)
		}
		for _, batch := range []int{1, 3, 8} {
			t.Run(fmt.Sprintf("%s/batch=%d", m.name, batch), func(t *testing.T) {
				opts := Options{TextBatchSize: batch, Threads: 1}
				dyn := newTestEncoder(t, dynDir, 32, opts)
				fixed := newTestEncoder(t, fixedDir, 32, opts)
				if !dyn.Info().DynamicSeq || fixed.Info().DynamicSeq {
					t.Fatalf("DynamicSeq: %v for [batch, sequence_length], %v for [batch, 77]", dyn.Info().DynamicSeq, fixed.Info().DynamicSeq)
				}
				ctx := context.Background()
				trimmed, err := dyn.EncodeTexts(ctx, captions)
				if err != nil {
					t.Fatal(err)
				}
				untrimmed, err := fixed.EncodeTexts(ctx, captions)
				if err != nil {
					t.Fatal(err)
				}
				ids := make([]int64, ContextLength)
				emb := make([]float32, dyn.Info().EmbedDim)
				for i, c := range captions {
					if _, err := dyn.Tokenizer().Encode(ids, c); err != nil {
						t.Fatal(err)
					}
					if err := dyn.runText(ids, 1, ContextLength, emb); err != nil {
						t.Fatal(err)
					}
					padded := normalize(emb)
					for k := range padded {
						if d := math.Abs(float64(trimmed[i][k] - padded[k])); d > 1e-5 {
							t.Fatalf("caption %d component %d: trimmed %v, padded to 77 %v", i, k, trimmed[i][k], padded[k])
						}
						if d := math.Abs(float64(untrimmed[i][k] - padded[k])); d > 1e-5 {
							t.Fatalf("caption %d component %d: fixed-77 model %v, dynamic model at 77 %v", i, k, untrimmed[i][k], padded[k])
						}
					}
				}
			})
		}
	}
}

// TestTrimmedAttentionMask checks that attention_mask is cut like input_ids,
// and that trimming happens only when both inputs take any length. The
// stand-in model outputs (mean(ids) + mean(mask)) · [1..8] per row, means
// taken over the sequence it is given.
func TestTrimmedAttentionMask(t *testing.T) {
	lib := ortLibrary(t)
	cfg := onnxgen.DefaultTinyConfig()
	out := ioSpec{"text_embeds", onnxgen.Float, []int64{-1, 8}}
	tests := []struct {
		name        string
		ids, mask   []int64
		wantDynamic bool
	}{
		{"both dynamic", []int64{-1, -2}, []int64{-1, -2}, true},
		{"mask fixed", []int64{-1, -2}, []int64{-1, 77}, false},
		{"ids fixed", []int64{-1, 77}, []int64{-1, -2}, false},
	}
	texts := []string{"a cat", "the photo depicts a red ball on the grass"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := onnxgen.WriteTinyFolder(dir, cfg, onnxgen.TokenizerJSON); err != nil {
				t.Fatal(err)
			}
			standInModel(t, filepath.Join(dir, TextModelFile),
				[]ioSpec{{"input_ids", onnxgen.Int64, tt.ids}, {"attention_mask", onnxgen.Int64, tt.mask}}, out)
			info, err := InspectModel(lib, dir, "")
			if err != nil {
				t.Fatal(err)
			}
			if info.DynamicSeq != tt.wantDynamic {
				t.Fatalf("DynamicSeq = %v, want %v", info.DynamicSeq, tt.wantDynamic)
			}
			enc := newTestEncoder(t, dir, cfg.ImageSize, Options{TextBatchSize: 2})
			// The whole path must run, with whatever length the model takes.
			if _, err := enc.EncodeTexts(context.Background(), texts); err != nil {
				t.Fatal(err)
			}
			if !tt.wantDynamic {
				return
			}
			ids := make([]int64, len(texts)*ContextLength)
			lens := make([]int, len(texts))
			for j, s := range texts {
				if lens[j], err = enc.Tokenizer().Encode(ids[j*ContextLength:], s); err != nil {
					t.Fatal(err)
				}
			}
			want := make([]float64, len(texts))
			seq := slices.Max(lens)
			for j := range texts {
				var sum float64
				for _, id := range ids[j*ContextLength : j*ContextLength+seq] {
					sum += float64(id)
				}
				want[j] = (sum + float64(lens[j])) / float64(seq)
			}
			seq = trimRows(ids, len(texts), seq)
			emb := make([]float32, len(texts)*8)
			if err := enc.runText(ids[:len(texts)*seq], len(texts), seq, emb); err != nil {
				t.Fatal(err)
			}
			for j := range texts {
				if got := float64(emb[j*8]); math.Abs(got-want[j]) > 1e-3*want[j] {
					t.Errorf("text %d: raw output %v, want %v (mask 1 on its %d ids of %d)", j, got, want[j], lens[j], seq)
				}
			}
		})
	}
}

func TestTrimRows(t *testing.T) {
	tests := []struct {
		name    string
		rows    [][]int64 // the ids before padding
		seq     int
		wantSeq int
	}{
		{"one row", [][]int64{{1, 2, 9}}, 3, 3},
		{"longest last", [][]int64{{1, 9}, {1, 2, 9}, {1, 2, 3, 4, 9}}, 5, 5},
		{"longest first", [][]int64{{1, 2, 3, 4, 9}, {1, 9}, {1, 2, 9}}, 5, 5},
		{"full context", [][]int64{slices.Repeat([]int64{1}, ContextLength), {1, 9}}, ContextLength, ContextLength},
		{"beyond the context", [][]int64{{1, 9}}, 100, ContextLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids := make([]int64, len(tt.rows)*ContextLength)
			for r, row := range tt.rows {
				copy(ids[r*ContextLength:], row)
			}
			seq := trimRows(ids, len(tt.rows), tt.seq)
			if seq != tt.wantSeq {
				t.Fatalf("seq %d, want %d", seq, tt.wantSeq)
			}
			for r, row := range tt.rows {
				want := make([]int64, seq)
				copy(want, row)
				if got := ids[r*seq : (r+1)*seq]; !slices.Equal(got, want) {
					t.Errorf("row %d: %v, want %v", r, got, want)
				}
			}
		})
	}
}
