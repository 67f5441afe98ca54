package annotation

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzZipImages opens any bytes as an uploaded images zip and scans it as
// an import does: no panic; the only errors are I/O ones (a bad archive or
// entry is a problem, not an error); every entry kept has a safe name, a
// declared size and a declared compression ratio within the limits; every
// image scanned has a known format, a hash and a pixel count within the
// limits. The seeds are in testdata/fuzz/FuzzZipImages and below: a good
// zip, zip slip, a symlink, an entry lying about its size.
func FuzzZipImages(f *testing.F) {
	mk := func(entries ...[2]string) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, e := range entries {
			w, err := zw.Create(e[0])
			if err != nil {
				f.Fatal(err)
			}
			w.Write([]byte(e[1]))
		}
		zw.Close()
		return buf.Bytes()
	}
	gif := "GIF89a\x01\x00\x01\x00\x00\x00\x00;"
	f.Add(mk([2]string{"1.gif", gif}, [2]string{"notes.txt", "x"}))
	f.Add(mk([2]string{"../evil.gif", gif}, [2]string{"/abs.gif", gif}, [2]string{`..\win.gif`, gif}))
	f.Add(mk([2]string{"dir/2.png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01\x86\xa0\x00\x01\x86\xa0\x08\x02\x00\x00\x00"}))
	f.Add([]byte("PK\x03\x04 not really"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "x.zip")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var ps Problems
		src, err := openImageSource(p, "x.zip", &ps, &warnings{})
		if err != nil {
			t.Fatalf("open: an error, not a problem: %v", err)
		}
		if src == nil {
			if ps.Len() == 0 {
				t.Fatal("no source and no problem said why")
			}
			return
		}
		defer src.Close()
		for _, e := range src.entries {
			if r := unsafeEntryName(e.name); r != "" {
				t.Fatalf("entry %q kept: %s", e.name, r)
			}
			if e.size > MaxImageBytes {
				t.Fatalf("entry %q of %d bytes kept", e.name, e.size)
			}
			if !declaredRatioOK(src, e.name) {
				t.Fatalf("entry %q kept, declaring a compression ratio over the limit", e.name)
			}
		}
		imgs, err := src.scan(stem, &ps)
		if err != nil {
			t.Fatalf("scan: an error, not a problem: %v", err)
		}
		for _, img := range imgs {
			if img.ext == "" || len(img.sum) != 64 || img.width <= 0 || img.height <= 0 ||
				int64(img.width)*int64(img.height) > MaxImagePixels {
				t.Fatalf("image %q accepted with %+v", img.name, img)
			}
		}
	})
}

// declaredRatioOK reports whether an entry of the archive with that name
// (names may repeat) declares a compression ratio within the limit.
func declaredRatioOK(src *imageSource, name string) bool {
	zr, _ := src.closer.(*zip.ReadCloser)
	if zr == nil {
		return true
	}
	for _, f := range zr.File {
		if f.Name == name && !ratioExceeded(f.UncompressedSize64, f.CompressedSize64) {
			return true
		}
	}
	return false
}
