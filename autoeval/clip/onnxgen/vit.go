package onnxgen

import (
	"math"
	"math/rand/v2"
)

// CLIPConfig gives the shapes of a full CLIP model (vision transformer and
// text transformer).
type CLIPConfig struct {
	ImageSize, PatchSize                              int
	VisionWidth, VisionLayers, VisionHeads, VisionMLP int
	TextWidth, TextLayers, TextHeads, TextMLP         int
	VocabSize, Context, EmbedDim                      int
	Seed                                              uint64
	Weights                                           WeightFormat
	// FixedContext makes the text model take exactly Context ids
	// ([batch, Context]); by default it takes [batch, sequence_length], any
	// length up to Context, like Hugging Face's exports.
	FixedContext bool
}

// ViTB32 returns OpenAI CLIP ViT-B/32's shapes.
func ViTB32() CLIPConfig {
	return CLIPConfig{
		ImageSize: 224, PatchSize: 32,
		VisionWidth: 768, VisionLayers: 12, VisionHeads: 12, VisionMLP: 3072,
		TextWidth: 512, TextLayers: 12, TextHeads: 8, TextMLP: 2048,
		VocabSize: 49408, Context: 77, EmbedDim: 512, Seed: 32,
	}
}

// VisionFLOPs counts the floating-point operations (multiply and add each
// counted) of one image through the vision tower: the patch convolution,
// per layer the Q/K/V/output projections, the two attention matrix products
// and the MLP, and the final projection. Norms, softmax and activations are
// left out (well under 1%).
func (c CLIPConfig) VisionFLOPs() float64 {
	g := c.ImageSize / c.PatchSize
	seq := float64(g*g + 1)
	w, mlp := float64(c.VisionWidth), float64(c.VisionMLP)
	patch := 2 * float64(g*g) * w * 3 * float64(c.PatchSize*c.PatchSize)
	layer := 2*seq*w*w*4 + 2*2*seq*seq*w + 2*2*seq*w*mlp
	return patch + float64(c.VisionLayers)*layer + 2*w*float64(c.EmbedDim)
}

// TextFLOPs counts the operations of one text of Context ids, as
// VisionFLOPs does; the causal mask is applied to full attention matrices, so
// every position counts.
func (c CLIPConfig) TextFLOPs() float64 { return c.TextFLOPsAt(c.Context) }

// TextFLOPsAt counts the operations of one text run at seq ids (a batch
// trimmed to its longest text).
func (c CLIPConfig) TextFLOPsAt(seqLen int) float64 {
	seq := float64(seqLen)
	w, mlp := float64(c.TextWidth), float64(c.TextMLP)
	layer := 2*seq*w*w*4 + 2*2*seq*seq*w + 2*2*seq*w*mlp
	return float64(c.TextLayers)*layer + 2*w*float64(c.EmbedDim)
}

type vitGen struct {
	b   *Builder
	rng *rand.Rand
}

func (g *vitGen) randn(n int, std float32) []float32 { return randn(g.rng, n, std) }

func (g *vitGen) layerNorm(x string, width int) string {
	ones := make([]float32, width)
	for i := range ones {
		ones[i] = 1
	}
	return g.b.Op("LayerNormalization",
		[]string{x, g.b.Const([]int64{int64(width)}, ones), g.b.Const([]int64{int64(width)}, make([]float32, width))},
		Int("axis", -1), FloatAttr("epsilon", 1e-5))
}

func (g *vitGen) linear(x, name string, in, out int) string {
	return g.b.Linear(x, name, in, out, g.randn(in*out, float32(1/math.Sqrt(float64(in)))), make([]float32, out))
}

// block is one pre-LN transformer layer: x + attn(ln1(x)), then + mlp(ln2(x)).
// mask, when set, is added to the attention logits (the causal mask).
func (g *vitGen) block(x string, width, heads, mlp int, mask string) string {
	b := g.b
	hd := width / heads
	h := g.layerNorm(x, width)
	split := b.ConstInt64([]int64{4}, 0, 0, int64(heads), int64(hd))
	toHeads := func(v string) string {
		return b.Op("Transpose", []string{b.Op("Reshape", []string{v, split})}, Ints("perm", 0, 2, 1, 3))
	}
	scale := b.Const(nil, []float32{float32(1 / math.Sqrt(float64(hd)))})
	q := toHeads(b.Op("Mul", []string{g.linear(h, "q", width, width), scale}))
	// Kᵀ as the exported models write it: heads first, then a swap of the
	// last two axes, which ONNX Runtime folds into the MatMul (transB).
	k := b.Op("Transpose", []string{toHeads(g.linear(h, "k", width, width))}, Ints("perm", 0, 1, 3, 2))
	v := toHeads(g.linear(h, "v", width, width))
	att := b.Op("MatMul", []string{q, k})
	if mask != "" {
		att = b.Op("Add", []string{att, mask})
	}
	att = b.Op("Softmax", []string{att}, Int("axis", -1))
	o := b.Op("Transpose", []string{b.Op("MatMul", []string{att, v})}, Ints("perm", 0, 2, 1, 3))
	o = b.Op("Reshape", []string{o, b.ConstInt64([]int64{3}, 0, 0, int64(width))})
	x = b.Op("Add", []string{x, g.linear(o, "out", width, width)})

	h = g.layerNorm(x, width)
	h = g.linear(h, "fc1", width, mlp)
	// QuickGELU, as CLIP uses: x·sigmoid(1.702x).
	h = b.Op("Mul", []string{h, b.Op("Sigmoid", []string{b.Op("Mul", []string{h, b.Const(nil, []float32{1.702})})})})
	h = g.linear(h, "fc2", mlp, width)
	return b.Op("Add", []string{x, h})
}

// VisionModel builds CLIP's vision tower with random weights:
// pixel_values [batch, 3, S, S] → image_embeds [batch, EmbedDim].
func (c CLIPConfig) VisionModel() *Model {
	g := &vitGen{b: NewBuilder("clip_vision", c.Weights), rng: rand.New(rand.NewPCG(c.Seed, 1))}
	b := g.b
	w, grid := c.VisionWidth, c.ImageSize/c.PatchSize
	seq := grid*grid + 1
	x := b.Input("pixel_values", Float, batchDims(3, int64(c.ImageSize), int64(c.ImageSize))...)
	patchW := g.randn(w*3*c.PatchSize*c.PatchSize, 0.02)
	conv := b.Op("Conv", []string{x, b.Weight("patch_embedding", []int64{int64(w), 3, int64(c.PatchSize), int64(c.PatchSize)}, patchW)},
		Ints("kernel_shape", int64(c.PatchSize), int64(c.PatchSize)), Ints("strides", int64(c.PatchSize), int64(c.PatchSize)))
	patches := b.Op("Transpose", []string{b.Op("Reshape", []string{conv, b.ConstInt64([]int64{3}, 0, int64(w), int64(grid*grid))})}, Ints("perm", 0, 2, 1))
	// The class token is broadcast to the batch: Expand to [batch, 1, width].
	batch := b.Op("Slice", []string{b.Op("Shape", []string{patches}), b.ConstInt64([]int64{1}, 0), b.ConstInt64([]int64{1}, 1)})
	clsShape := b.Op("Concat", []string{batch, b.ConstInt64([]int64{2}, 1, int64(w))}, Int("axis", 0))
	cls := b.Op("Expand", []string{b.Const([]int64{1, 1, int64(w)}, g.randn(w, 0.02)), clsShape})
	h := b.Op("Concat", []string{cls, patches}, Int("axis", 1))
	h = b.Op("Add", []string{h, b.Const([]int64{int64(seq), int64(w)}, g.randn(seq*w, 0.01))})
	h = g.layerNorm(h, w)
	for range c.VisionLayers {
		h = g.block(h, w, c.VisionHeads, c.VisionMLP, "")
	}
	pooled := b.Op("Gather", []string{h, b.ConstInt64(nil, 0)}, Int("axis", 1))
	pooled = g.layerNorm(pooled, w)
	out := b.Linear(pooled, "visual_projection", w, c.EmbedDim, g.randn(w*c.EmbedDim, 0.03), nil)
	b.Output("image_embeds", out, Float, batchDims(int64(c.EmbedDim))...)
	return b.Model()
}

// TextModel builds CLIP's text tower with random weights:
// input_ids [batch, sequence_length ≤ Context] (or [batch, Context] with
// FixedContext; int64) → text_embeds [batch, EmbedDim], pooled at the first
// <|endoftext|> (the largest id) as CLIP does.
func (c CLIPConfig) TextModel() *Model {
	g := &vitGen{b: NewBuilder("clip_text", c.Weights), rng: rand.New(rand.NewPCG(c.Seed, 2))}
	b := g.b
	w := c.TextWidth
	ids := b.Input("input_ids", Int64, textDims(c.Context, c.FixedContext)...)
	emb := b.Op("Gather", []string{b.Weight("token_embedding", []int64{int64(c.VocabSize), int64(w)}, g.randn(c.VocabSize*w, 0.02)), ids})
	pos := b.Const([]int64{int64(c.Context), int64(w)}, g.randn(c.Context*w, 0.01))
	if !c.FixedContext {
		pos = b.leadingRows(pos, ids)
	}
	h := b.Op("Add", []string{emb, pos})
	mask := make([]float32, c.Context*c.Context)
	for i := range c.Context {
		for j := i + 1; j < c.Context; j++ {
			mask[i*c.Context+j] = float32(math.Inf(-1))
		}
	}
	maskName := b.Const([]int64{int64(c.Context), int64(c.Context)}, mask)
	if !c.FixedContext {
		// The causal mask of L ids is the top-left L×L corner of the full one.
		l := b.seqLen(ids)
		maskName = b.Op("Slice", []string{maskName, b.ConstInt64([]int64{2}, 0, 0),
			b.Op("Concat", []string{l, l}, Int("axis", 0)), b.ConstInt64([]int64{2}, 0, 1)})
	}
	for range c.TextLayers {
		h = g.block(h, w, c.TextHeads, c.TextMLP, maskName)
	}
	h = g.layerNorm(h, w)
	eot := b.Op("ArgMax", []string{ids}, Int("axis", 1), Int("keepdims", 1))
	pooled := b.Op("GatherND", []string{h, eot}, Int("batch_dims", 1))
	out := b.Linear(pooled, "text_projection", w, c.EmbedDim, g.randn(w*c.EmbedDim, 0.04), nil)
	b.Output("text_embeds", out, Float, batchDims(int64(c.EmbedDim))...)
	return b.Model()
}

// MatMulModel builds a graph computing a [n, n] input times an [n, n]
// constant, 2·n³ operations per run: the GEMM peak probe for benchmarks.
func MatMulModel(n int, seed uint64) *Model {
	rng := rand.New(rand.NewPCG(seed, 3))
	b := NewBuilder("gemm", WeightsFloat32)
	x := b.Input("a", Float, Dim{Value: int64(n)}, Dim{Value: int64(n)})
	y := b.Op("MatMul", []string{x, b.Weight("b", []int64{int64(n), int64(n)}, randn(rng, n*n, 1))})
	b.Output("c", y, Float, Dim{Value: int64(n)}, Dim{Value: int64(n)})
	return b.Model()
}
