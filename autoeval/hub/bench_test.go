package hub

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkDownload measures one 32 MiB LFS file through the whole path:
// resolve, redirect, body copy to disk, sha256 verification, rename. Over
// loopback the network is not the limit, so this shows the client's own
// overhead per byte.
func BenchmarkDownload(b *testing.B) {
	const name = "onnx/vision_model.onnx"
	h := newFakeHub(b)
	h.set(func(h *fakeHub) { h.files[name] = testFile(11, 32<<20) })
	info := h.listing()
	var f File
	for _, s := range info.Siblings {
		if s.Name == name {
			f = s
		}
	}
	c, err := NewClient(Options{Endpoint: h.URL(), RetryWait: time.Nanosecond})
	if err != nil {
		b.Fatal(err)
	}
	dest := filepath.Join(b.TempDir(), "vision_model.onnx")
	b.SetBytes(f.size())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Download(context.Background(), h.repo, h.commit, f, dest); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.Remove(dest)
		b.StartTimer()
	}
}

// BenchmarkVerify measures the check of a file already on disk, which is
// what a repeated pull costs per byte: sha256 for LFS files, sha256 and the
// git blob sha1 for small ones.
func BenchmarkVerify(b *testing.B) {
	content := testFile(12, 32<<20)
	path := filepath.Join(b.TempDir(), "f")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		b.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		f    File
	}{
		{"lfs-sha256", File{Name: "f", Size: int64(len(content)), LFS: &LFSInfo{SHA256: mustSHA256(b, path), Size: int64(len(content))}}},
		{"git-blob", File{Name: "f", Size: int64(len(content)), BlobID: GitBlobID(content)}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.SetBytes(int64(len(content)))
			for i := 0; i < b.N; i++ {
				if _, err := verify(path, tt.f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func mustSHA256(b *testing.B, path string) string {
	sum, err := fileSHA256(path)
	if err != nil {
		b.Fatal(err)
	}
	return sum
}
