package imageprep

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readTestImage(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "images", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// patchSOF returns a copy of a baseline JPEG with its frame header changed.
func patchSOF(t *testing.T, data []byte, patch func(sof []byte)) []byte {
	t.Helper()
	out := bytes.Clone(data)
	i := bytes.Index(out, []byte{0xff, 0xc0})
	if i < 0 {
		t.Fatal("no SOF0 marker")
	}
	// SOF0: FF C0, length(2), precision(1), height(2), width(2), ...
	patch(out[i+4:])
	return out
}

// pngHeaderOnly is a PNG signature and IHDR declaring w×h, with no pixels.
func pngHeaderOnly(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk := append([]byte("IHDR"), ihdr...)
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// TestPreprocessRejects feeds broken, hostile and unsupported inputs. Each
// must come back as an error (never a crash, never a silent tensor), with
// the sentinel where there is one.
func TestPreprocessRejects(t *testing.T) {
	jpg := readTestImage(t, "jpeg_640x480.jpg")
	pngData := readTestImage(t, "png_rgb_300x300.png")
	small := DefaultConfig()
	small.MaxPixels = 100
	tests := []struct {
		name    string
		data    []byte
		cfg     Config
		dstLen  int
		wantErr error  // sentinel, or nil to check wantMsg only
		wantMsg string // substring of the message
	}{
		{name: "empty", data: nil, wantErr: ErrUnknownFormat},
		{name: "text", data: []byte("hello, world"), wantErr: ErrUnknownFormat},
		{name: "bmp", data: []byte("BM\x36\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00"), wantErr: ErrUnknownFormat},
		{name: "jpeg over MaxPixels", data: jpg, cfg: small, wantErr: ErrTooLarge},
		{name: "png over MaxPixels", data: pngData, cfg: small, wantErr: ErrTooLarge},
		{name: "jpeg header claims 60000x60000", data: patchSOF(t, jpg, func(s []byte) {
			binary.BigEndian.PutUint16(s[1:], 60000)
			binary.BigEndian.PutUint16(s[3:], 60000)
		}), wantErr: ErrTooLarge},
		{name: "png header claims 50000x50000", data: pngHeaderOnly(50000, 50000), wantErr: ErrTooLarge},
		{name: "jpeg truncated in the scan", data: jpg[:len(jpg)/2], wantMsg: "jpeg"},
		{name: "jpeg truncated in the header", data: jpg[:40], wantMsg: "jpeg"},
		{name: "jpeg bad precision", data: patchSOF(t, jpg, func(s []byte) { s[0] = 7 }), wantMsg: "jpeg"},
		{name: "jpeg zero width", data: patchSOF(t, jpg, func(s []byte) { binary.BigEndian.PutUint16(s[3:], 0) }), wantMsg: "jpeg"},
		{name: "png truncated", data: pngData[:len(pngData)/2], wantMsg: "png"},
		{name: "png header only", data: pngHeaderOnly(10, 10), wantMsg: "png"},
		{name: "gif truncated", data: readTestImage(t, "gif_300x200.gif")[:100], wantMsg: "gif"},
		{name: "webp truncated", data: readTestImage(t, "webp_lossy_300x300.webp")[:200], wantMsg: "webp"},
		{name: "wrong output length", data: pngData, dstLen: 10, wantMsg: "output has 10 values"},
	}
	for _, dec := range benchDecoders() {
		for _, tt := range tests {
			t.Run(dec.name+"/"+tt.name, func(t *testing.T) {
				cfg := tt.cfg
				if cfg.MaxPixels == 0 {
					cfg = DefaultConfig()
				}
				p, err := NewPreprocessor(cfg)
				if err != nil {
					t.Fatal(err)
				}
				p.pureJPEG = dec.pure
				n := tt.dstLen
				if n == 0 {
					n = 3 * 224 * 224
				}
				err = p.Preprocess(tt.data, make([]float32, n))
				if err == nil {
					t.Fatal("Preprocess succeeded, want an error")
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("error %q, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("error %q does not mention %q", err, tt.wantMsg)
				}
			})
		}
	}
}

// TestPreprocessorReusable checks that an error leaves the Preprocessor
// usable and that a big image does not spoil the buffers of a small one.
func TestPreprocessorReusable(t *testing.T) {
	p, err := NewPreprocessor(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	small := readTestImage(t, "png_rgb_100x50.png")
	want := make([]float32, 3*224*224)
	if err := p.Preprocess(small, want); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, 3*224*224)
	for _, data := range [][]byte{readTestImage(t, "jpeg_1000x300.jpg"), []byte("junk"), small} {
		err = p.Preprocess(data, got)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, _, n := compare(got, want); n > 0 {
		t.Errorf("%d values differ after other images went through", n)
	}
}
