package onnxgen

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// TinyConfig describes a tiny CLIP-shaped model pair.
type TinyConfig struct {
	Width     int // hidden width D of both towers
	EmbedDim  int // joint embedding size E
	ImageSize int // square input side S (a multiple of PatchSize)
	PatchSize int // patch side P
	Context   int // text context length (77 for CLIP)
	// FixedContext declares input_ids as [batch, Context], as exports that
	// pad to CLIP's context do; by default it is [batch, sequence_length]
	// with any length up to Context, as Hugging Face's exports declare it.
	FixedContext bool
	Seed         uint64
	Weights      WeightFormat
	// IO is the element type of pixel_values and of both embeddings (Float or
	// Float16); input_ids are int64 either way.
	IO DataType
	// Words seed the BPE merges of the generated vocabulary; every other word
	// still tokenizes, into byte symbols.
	Words []string
}

// DefaultTinyConfig returns a small configuration that runs in microseconds.
func DefaultTinyConfig() TinyConfig {
	return TinyConfig{
		Width: 16, EmbedDim: 8, ImageSize: 32, PatchSize: 8, Context: 77, Seed: 1,
		IO:    Float,
		Words: []string{"a", "photo", "depicts", "cat", "dog", "on", "the", "grass", "red", "ball"},
	}
}

// TinyText holds the weights of a tiny text tower, row-major:
//
//	h[t]   = tanh(TokenEmb[ids[t]] + PosEmb[t])           (D, t < len(ids) ≤ Context)
//	pooled = h[argmax_t ids[t]]                           (the first <|endoftext|>)
//	out    = pooled · Proj                                (E)
type TinyText struct {
	Vocab, Width, EmbedDim, Context int
	TokenEmb                        []float32 // [Vocab, D]
	PosEmb                          []float32 // [Context, D]
	Proj                            []float32 // [D, E]
}

// TinyVision holds the weights of a tiny vision tower:
//
//	c[d,i,j] = PatchB[d] + Σ_{ch,u,v} PatchW[d,ch,u,v] · x[ch, i·P+u, j·P+v]
//	pooled[d] = tanh(mean_{i,j} c[d,i,j])
//	out = pooled · Proj
type TinyVision struct {
	Width, EmbedDim, ImageSize, PatchSize int
	PatchW                                []float32 // [D, 3, P, P]
	PatchB                                []float32 // [D]
	Proj                                  []float32 // [D, E]
}

func randn(rng *rand.Rand, n int, std float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.NormFloat64()) * std
	}
	return out
}

func batchDims(rest ...int64) []Dim {
	dims := []Dim{{Param: "batch_size"}}
	for _, r := range rest {
		dims = append(dims, Dim{Value: r})
	}
	return dims
}

// textDims is the shape of input_ids: [batch, context] when fixed, else
// [batch, sequence_length].
func textDims(context int, fixed bool) []Dim {
	if fixed {
		return batchDims(int64(context))
	}
	return []Dim{{Param: "batch_size"}, {Param: "sequence_length"}}
}

// seqLen returns the 1-element int64 tensor holding dimension 1 of ids (its
// sequence length), computed at run time.
func (b *Builder) seqLen(ids string) string {
	return b.Op("Slice", []string{b.Op("Shape", []string{ids}), b.ConstInt64([]int64{1}, 1), b.ConstInt64([]int64{1}, 2)})
}

// leadingRows slices table [Context, ...] to its first L rows, L being the
// sequence length of ids, so that a table sized for the full context adds to
// a shorter sequence. Hugging Face's exports do the same with their
// position_ids buffer.
func (b *Builder) leadingRows(table, ids string) string {
	return b.Op("Slice", []string{table, b.ConstInt64([]int64{1}, 0), b.seqLen(ids), b.ConstInt64([]int64{1}, 0)})
}

// ioOut casts a float32 value to the configured I/O type when that is fp16.
func ioOut(b *Builder, x string, io DataType) string {
	if io == Float16 {
		return b.Op("Cast", []string{x}, Int("to", int64(Float16)))
	}
	return x
}

// TinyTextModel builds the tiny text tower for a vocabulary of vocab entries.
func TinyTextModel(cfg TinyConfig, vocab int) (*Model, TinyText) {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x7e47))
	p := TinyText{
		Vocab: vocab, Width: cfg.Width, EmbedDim: cfg.EmbedDim, Context: cfg.Context,
		TokenEmb: randn(rng, vocab*cfg.Width, 0.5),
		PosEmb:   randn(rng, cfg.Context*cfg.Width, 0.5),
		Proj:     randn(rng, cfg.Width*cfg.EmbedDim, 0.5),
	}
	b := NewBuilder("tiny_clip_text", cfg.Weights)
	ids := b.Input("input_ids", Int64, textDims(cfg.Context, cfg.FixedContext)...)
	emb := b.Op("Gather", []string{b.Weight("token_embedding", []int64{int64(vocab), int64(cfg.Width)}, p.TokenEmb), ids})
	pos := b.Weight("position_embedding", []int64{int64(cfg.Context), int64(cfg.Width)}, p.PosEmb)
	if !cfg.FixedContext {
		pos = b.leadingRows(pos, ids)
	}
	h := b.Op("Add", []string{emb, pos})
	h = b.Op("Tanh", []string{h})
	eot := b.Op("ArgMax", []string{ids}, Int("axis", 1), Int("keepdims", 1))
	pooled := b.Op("GatherND", []string{h, eot}, Int("batch_dims", 1))
	out := b.Linear(pooled, "text_projection", cfg.Width, cfg.EmbedDim, p.Proj, nil)
	b.Output("text_embeds", ioOut(b, out, cfg.IO), cfg.IO, batchDims(int64(cfg.EmbedDim))...)
	return b.Model(), p
}

// TinyVisionModel builds the tiny vision tower.
func TinyVisionModel(cfg TinyConfig) (*Model, TinyVision) {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x1a6e))
	d, ps := cfg.Width, cfg.PatchSize
	p := TinyVision{
		Width: d, EmbedDim: cfg.EmbedDim, ImageSize: cfg.ImageSize, PatchSize: ps,
		PatchW: randn(rng, d*3*ps*ps, 0.2),
		PatchB: randn(rng, d, 0.2),
		Proj:   randn(rng, d*cfg.EmbedDim, 0.5),
	}
	b := NewBuilder("tiny_clip_vision", cfg.Weights)
	s := int64(cfg.ImageSize)
	x := b.Input("pixel_values", cfg.IO, batchDims(3, s, s)...)
	if cfg.IO == Float16 {
		x = b.Op("Cast", []string{x}, Int("to", int64(Float)))
	}
	w := b.Weight("patch_embedding", []int64{int64(d), 3, int64(ps), int64(ps)}, p.PatchW)
	c := b.Op("Conv", []string{x, w, b.Const([]int64{int64(d)}, p.PatchB)},
		Ints("kernel_shape", int64(ps), int64(ps)), Ints("strides", int64(ps), int64(ps)))
	pooled := b.Op("Tanh", []string{b.Op("ReduceMean", []string{c}, Ints("axes", 2, 3), Int("keepdims", 0))})
	out := b.Linear(pooled, "visual_projection", d, cfg.EmbedDim, p.Proj, nil)
	b.Output("image_embeds", ioOut(b, out, cfg.IO), cfg.IO, batchDims(int64(cfg.EmbedDim))...)
	return b.Model(), p
}

// TokenizerFormat selects the tokenizer files WriteTinyFolder writes.
type TokenizerFormat int

// Tokenizer file layouts of Hugging Face model folders.
const (
	TokenizerJSON      TokenizerFormat = iota // tokenizer.json, merges as "a b" strings
	TokenizerJSONPairs                        // tokenizer.json, merges as [a, b] pairs
	VocabAndMerges                            // vocab.json + merges.txt
)

// TinyFolder is what WriteTinyFolder wrote.
type TinyFolder struct {
	Dir    string
	Vocab  map[string]int64
	Merges [][2]string
	Text   TinyText
	Vision TinyVision
}

// WriteTinyFolder writes a complete Hugging Face-layout CLIP folder into dir:
// onnx/text_model.onnx, onnx/vision_model.onnx, the tokenizer files and
// preprocessor_config.json (CLIP's mean and std, resize and crop to ImageSize).
func WriteTinyFolder(dir string, cfg TinyConfig, format TokenizerFormat) (TinyFolder, error) {
	vocab, merges := TinyVocabulary(cfg.Words)
	textModel, text := TinyTextModel(cfg, len(vocab))
	visionModel, vision := TinyVisionModel(cfg)
	if err := os.MkdirAll(filepath.Join(dir, "onnx"), 0o755); err != nil {
		return TinyFolder{}, fmt.Errorf("onnxgen: %w", err)
	}
	if err := textModel.WriteFile(filepath.Join(dir, "onnx", "text_model.onnx")); err != nil {
		return TinyFolder{}, err
	}
	if err := visionModel.WriteFile(filepath.Join(dir, "onnx", "vision_model.onnx")); err != nil {
		return TinyFolder{}, err
	}
	if err := WriteTokenizer(dir, vocab, merges, format); err != nil {
		return TinyFolder{}, err
	}
	if err := WritePreprocessorConfig(dir, cfg.ImageSize); err != nil {
		return TinyFolder{}, err
	}
	return TinyFolder{Dir: dir, Vocab: vocab, Merges: merges, Text: text, Vision: vision}, nil
}

// WritePreprocessorConfig writes a CLIPImageProcessor preprocessor_config.json
// with CLIP's normalization, resizing the shortest side to size and centre
// cropping size×size.
func WritePreprocessorConfig(dir string, size int) error {
	cfg := map[string]any{
		"crop_size":            map[string]int{"height": size, "width": size},
		"do_center_crop":       true,
		"do_convert_rgb":       true,
		"do_normalize":         true,
		"do_rescale":           true,
		"do_resize":            true,
		"image_mean":           []float64{0.48145466, 0.4578275, 0.40821073},
		"image_processor_type": "CLIPImageProcessor",
		"image_std":            []float64{0.26862954, 0.26130258, 0.27577711},
		"resample":             3,
		"rescale_factor":       0.00392156862745098,
		"size":                 map[string]int{"shortest_edge": size},
	}
	return writeJSON(filepath.Join(dir, "preprocessor_config.json"), cfg)
}

// WriteTokenizer writes vocab and merges in the chosen layout.
func WriteTokenizer(dir string, vocab map[string]int64, merges [][2]string, format TokenizerFormat) error {
	switch format {
	case VocabAndMerges:
		if err := writeJSON(filepath.Join(dir, "vocab.json"), vocab); err != nil {
			return err
		}
		var sb strings.Builder
		sb.WriteString("#version: 0.2\n")
		for _, m := range merges {
			sb.WriteString(m[0] + " " + m[1] + "\n")
		}
		if err := os.WriteFile(filepath.Join(dir, "merges.txt"), []byte(sb.String()), 0o644); err != nil {
			return fmt.Errorf("onnxgen: write merges: %w", err)
		}
		return nil
	default:
		var ms any
		if format == TokenizerJSONPairs {
			ms = merges
		} else {
			s := make([]string, len(merges))
			for i, m := range merges {
				s[i] = m[0] + " " + m[1]
			}
			ms = s
		}
		return writeJSON(filepath.Join(dir, "tokenizer.json"), map[string]any{
			"version": "1.0",
			"model":   map[string]any{"type": "BPE", "vocab": vocab, "merges": ms, "end_of_word_suffix": "</w>"},
		})
	}
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("onnxgen: encode %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("onnxgen: %w", err)
	}
	return nil
}

// TinyVocabulary builds a CLIP-style vocabulary: the 256 byte symbols, the
// same with </w>, one symbol per merge, then <|startoftext|> and
// <|endoftext|>. The merges spell out each word left to right, so each given
// word becomes one token and any other text falls back to smaller pieces.
func TinyVocabulary(words []string) (map[string]int64, [][2]string) {
	syms := byteSymbols()
	vocab := make(map[string]int64)
	for i, s := range syms {
		vocab[s] = int64(i)
		vocab[s+"</w>"] = int64(len(syms) + i)
	}
	var merges [][2]string
	next := int64(2 * len(syms))
	for _, w := range words {
		w = strings.ToLower(w)
		var parts []string
		for i := 0; i < len(w); i++ {
			parts = append(parts, byteSymbolOf(w[i]))
		}
		if len(parts) == 0 {
			continue
		}
		parts[len(parts)-1] += "</w>"
		cur := parts[0]
		for _, p := range parts[1:] {
			m := [2]string{cur, p}
			cur += p
			if _, ok := vocab[cur]; ok {
				continue
			}
			merges = append(merges, m)
			vocab[cur] = next
			next++
		}
	}
	vocab["<|startoftext|>"] = next
	vocab["<|endoftext|>"] = next + 1
	return vocab, merges
}

func isPrintableByte(b int) bool {
	return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
}

// byteSymbolOf is the GPT-2/CLIP printable stand-in for a byte.
func byteSymbolOf(c byte) string {
	if isPrintableByte(int(c)) {
		return string(rune(c))
	}
	n := rune(256)
	for b := 0; b < int(c); b++ {
		if !isPrintableByte(b) {
			n++
		}
	}
	return string(n)
}

// byteSymbols lists the byte symbols in CLIP's vocabulary order.
func byteSymbols() []string {
	var out []string
	for b := 0; b < 256; b++ {
		if isPrintableByte(b) {
			out = append(out, byteSymbolOf(byte(b)))
		}
	}
	for b := 0; b < 256; b++ {
		if !isPrintableByte(b) {
			out = append(out, byteSymbolOf(byte(b)))
		}
	}
	return out
}
