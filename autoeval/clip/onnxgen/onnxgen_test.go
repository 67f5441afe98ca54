package onnxgen

import (
	"math"
	"strings"
	"testing"
)

func TestViTB32FLOPs(t *testing.T) {
	c := ViTB32()
	tests := []struct {
		name      string
		got, want float64
	}{
		// ViT-B/32 is quoted at 4.4 GMACs per image; the text tower at 77
		// tokens at about 3 GMACs.
		{"vision", c.VisionFLOPs(), 8.82e9},
		{"text", c.TextFLOPs(), 5.96e9},
	}
	for _, tt := range tests {
		if math.Abs(tt.got-tt.want)/tt.want > 0.01 {
			t.Errorf("%s: %.3g FLOP, want %.3g", tt.name, tt.got, tt.want)
		}
	}
}

func TestTinyVocabulary(t *testing.T) {
	vocab, merges := TinyVocabulary([]string{"cat", "cats", "a"})
	if len(vocab) != 512+len(merges)+2 {
		t.Fatalf("vocab %d entries for %d merges", len(vocab), len(merges))
	}
	for _, w := range []string{"cat</w>", "cats</w>", "a</w>", "<|startoftext|>", "<|endoftext|>"} {
		if _, ok := vocab[w]; !ok {
			t.Errorf("vocabulary lacks %q", w)
		}
	}
	if vocab["<|endoftext|>"] != int64(len(vocab)-1) {
		t.Errorf("<|endoftext|> is not the largest id, which EOT pooling by ArgMax needs")
	}
	ids := map[int64]bool{}
	for _, id := range vocab {
		if ids[id] {
			t.Fatalf("id %d used twice", id)
		}
		ids[id] = true
	}
}

func TestMarshalShape(t *testing.T) {
	// A model's bytes start with ir_version (field 1, varint) and hold the
	// opset import; both are what ONNX Runtime checks first.
	b := NewBuilder("g", WeightsFloat32)
	x := b.Input("x", Float, Dim{Param: "n"})
	b.Output("y", b.Op("Relu", []string{x}), Float, Dim{Param: "n"})
	data := b.Model().Marshal()
	if data[0] != 0x08 || data[1] != DefaultIRVersion {
		t.Fatalf("model starts % x", data[:2])
	}
	if !strings.Contains(string(data), "Relu") || !strings.Contains(string(data), "capeval onnxgen") {
		t.Fatal("node or producer missing from the encoding")
	}
}
