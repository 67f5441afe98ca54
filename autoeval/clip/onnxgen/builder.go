package onnxgen

import (
	"encoding/binary"
	"fmt"
	"math"

	"capeval/autoeval/clip/internal/half"
)

// WeightFormat is how a builder stores weight matrices.
type WeightFormat int

// Weight formats. Float16 and Int8 weights are converted to float32 inside the
// graph (Cast, DequantizeLinear), as exported fp16 and weight-quantized models
// do, so the rest of the graph computes in float32.
const (
	WeightsFloat32 WeightFormat = iota
	WeightsFloat16
	WeightsInt8
)

// Builder assembles a graph node by node, naming intermediate values itself.
type Builder struct {
	g       Graph
	n       int
	weights WeightFormat
}

// NewBuilder starts a graph whose weights are stored in the given format.
func NewBuilder(name string, weights WeightFormat) *Builder {
	return &Builder{g: Graph{Name: name}, weights: weights}
}

// Model returns the model built so far.
func (b *Builder) Model() *Model {
	return &Model{IRVersion: DefaultIRVersion, Opset: DefaultOpset, ProducerName: "capeval onnxgen", Graph: b.g}
}

func (b *Builder) fresh(prefix string) string {
	b.n++
	return fmt.Sprintf("%s_%d", prefix, b.n)
}

// Input declares a graph input and returns its name.
func (b *Builder) Input(name string, t DataType, dims ...Dim) string {
	b.g.Inputs = append(b.g.Inputs, ValueInfo{Name: name, Type: t, Dims: dims})
	return name
}

// Output declares a graph output named name holding the value src.
func (b *Builder) Output(name, src string, t DataType, dims ...Dim) {
	b.g.Nodes = append(b.g.Nodes, Node{Name: name + "_out", OpType: "Identity", Inputs: []string{src}, Outputs: []string{name}})
	b.g.Outputs = append(b.g.Outputs, ValueInfo{Name: name, Type: t, Dims: dims})
}

// Op adds a node with one output and returns the output's name.
func (b *Builder) Op(op string, inputs []string, attrs ...Attr) string {
	out := b.fresh(op)
	b.g.Nodes = append(b.g.Nodes, Node{Name: out, OpType: op, Inputs: inputs, Outputs: []string{out}, Attrs: attrs})
	return out
}

// Init adds an initializer and returns its name.
func (b *Builder) Init(t Tensor) string {
	if t.Name == "" {
		t.Name = b.fresh("const")
	}
	b.g.Initializers = append(b.g.Initializers, t)
	return t.Name
}

// Const adds a float32 constant (never converted: biases, norms, masks).
func (b *Builder) Const(dims []int64, data []float32) string {
	return b.Init(FloatTensor("", dims, data))
}

// ConstInt64 adds an int64 constant such as a shape or an index.
func (b *Builder) ConstInt64(dims []int64, data ...int64) string {
	return b.Init(Int64Tensor("", dims, data))
}

// Weight adds a weight tensor in the builder's format and returns the name of
// a float32 value holding it. data is overwritten with the values the graph
// will actually use (rounded to fp16, or quantized and dequantized), so that a
// reference computation can use exactly the same numbers.
func (b *Builder) Weight(name string, dims []int64, data []float32) string {
	switch b.weights {
	case WeightsFloat16:
		raw := make([]byte, 2*len(data))
		for i, v := range data {
			h := half.FromFloat32(v)
			binary.LittleEndian.PutUint16(raw[2*i:], h)
			data[i] = half.ToFloat32(h)
		}
		w := b.Init(Tensor{Name: name, Type: Float16, Dims: dims, Raw: raw})
		return b.Op("Cast", []string{w}, Int("to", int64(Float)))
	case WeightsInt8:
		// Symmetric per-tensor quantization, as dynamic weight quantizers
		// produce: scale = max|w| / 127, zero point 0.
		var maxAbs float32
		for _, v := range data {
			maxAbs = max(maxAbs, float32(math.Abs(float64(v))))
		}
		scale := maxAbs / 127
		if scale == 0 {
			scale = 1
		}
		raw := make([]byte, len(data))
		for i, v := range data {
			q := int8(max(-127, min(127, math.RoundToEven(float64(v/scale)))))
			raw[i] = byte(q)
			data[i] = float32(q) * scale
		}
		w := b.Init(Tensor{Name: name, Type: Int8, Dims: dims, Raw: raw})
		s := b.Init(FloatTensor(name+"_scale", nil, []float32{scale}))
		z := b.Init(Tensor{Name: name + "_zero", Type: Int8, Raw: []byte{0}})
		return b.Op("DequantizeLinear", []string{w, s, z})
	default:
		return b.Init(FloatTensor(name, dims, data))
	}
}

// Linear adds x·W (+ bias when bias is non-nil) for W of shape [in, out].
func (b *Builder) Linear(x, name string, in, out int, w, bias []float32) string {
	y := b.Op("MatMul", []string{x, b.Weight(name+"_w", []int64{int64(in), int64(out)}, w)})
	if bias != nil {
		y = b.Op("Add", []string{y, b.Const([]int64{int64(out)}, bias)})
	}
	return y
}
