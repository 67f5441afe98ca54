package half

import (
	"math"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		in   float32
		want uint16
	}{
		{0, 0},
		{1, 0x3c00},
		{-2, 0xc000},
		{65504, 0x7bff},
		{65520, 0x7c00},
		{1e9, 0x7c00},
		{float32(math.Inf(-1)), 0xfc00},
		{5.960464477539063e-08, 0x0001},
		{6.103515625e-05, 0x0400},
		{0.333333343, 0x3555},
		{1 + 1.0/2048, 0x3c00}, // tie rounds to even (down)
		{1 + 3.0/2048, 0x3c02}, // tie rounds to even (up)
		{1e-10, 0},
	}
	for _, tt := range tests {
		if got := FromFloat32(tt.in); got != tt.want {
			t.Errorf("FromFloat32(%g) = %#04x, want %#04x", tt.in, got, tt.want)
		}
	}
	// Every finite binary16 value converts to float32 and back unchanged.
	for h := 0; h < 1<<16; h++ {
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			continue // NaN payloads are not preserved
		}
		if got := FromFloat32(ToFloat32(uint16(h))); got != uint16(h) {
			t.Fatalf("round trip %#04x -> %g -> %#04x", h, ToFloat32(uint16(h)), got)
		}
	}
}
