package annotation

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ImageStore keeps image files content-addressed under a directory
// (DATA_DIR/images): the file of content with SHA-256 h and format ext is
// <h[:2]>/<h>.<ext>. The same content is stored once whatever its names and
// campaigns, and a file never changes once written, so readers need no
// locks. It is the one place that knows this layout: the import writes
// through it, and the auto-eval jobs read through its Path, which the
// composition root hands them (autoeval.Scorers.ImagePath).
type ImageStore struct {
	dir string
}

// NewImageStore returns the store rooted at DATA_DIR/images.
func NewImageStore(dataDir string) *ImageStore {
	return &ImageStore{dir: filepath.Join(dataDir, "images")}
}

// StorageKey returns the storage key of content with the hex SHA-256 sum
// and the format ext ("png", "jpg", "gif", "webp"). Keys use forward
// slashes whatever the OS, since they are stored in the database.
func StorageKey(sum, ext string) string {
	return path.Join(sum[:2], sum+"."+ext)
}

// Path returns the file path of key, or an error for a key that is not one
// of ours (it could otherwise name a file outside the store).
func (s *ImageStore) Path(key string) (string, error) {
	dir, file := path.Split(key)
	sum, ext, _ := strings.Cut(file, ".")
	if len(sum) != 64 || dir != sum[:2]+"/" || !isHex(sum) || !validExt(ext) {
		return "", fmt.Errorf("annotation: image storage key %q is malformed", key)
	}
	return filepath.Join(s.dir, filepath.FromSlash(key)), nil
}

// Has reports whether the file of key is stored.
func (s *ImageStore) Has(key string) bool {
	p, err := s.Path(key)
	if err != nil {
		return false
	}
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// Put copies r into the store under Key(sum, ext) unless that file exists,
// and reports whether it wrote it. The bytes go to a temporary file in the
// target directory, are checked against sum and synced before the rename
// that publishes them, and the directory is synced after it: a crash leaves
// either the whole file or none, never a torn one under the final name.
// At most limit bytes are read; more is an error.
func (s *ImageStore) Put(r io.Reader, sum, ext string, limit int64) (written bool, err error) {
	final, err := s.Path(StorageKey(sum, ext))
	if err != nil {
		return false, err
	}
	if fi, err := os.Stat(final); err == nil && fi.Mode().IsRegular() {
		return false, nil
	}
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return false, fmt.Errorf("annotation: image store: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".put-*")
	if err != nil {
		return false, fmt.Errorf("annotation: image store: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, limit+1))
	if err != nil {
		return false, fmt.Errorf("annotation: image store: copy: %w", err)
	}
	if n > limit {
		return false, fmt.Errorf("annotation: image store: more than %d bytes", limit)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		return false, fmt.Errorf("annotation: image store: %w (sha256 %s, was %s)", errChanged, got, sum)
	}
	if err = tmp.Sync(); err != nil {
		return false, fmt.Errorf("annotation: image store: sync: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return false, fmt.Errorf("annotation: image store: close: %w", err)
	}
	if err = os.Chmod(tmp.Name(), 0o640); err != nil {
		return false, fmt.Errorf("annotation: image store: %w", err)
	}
	if err = os.Rename(tmp.Name(), final); err != nil {
		return false, fmt.Errorf("annotation: image store: publish: %w", err)
	}
	syncDir(dir)
	return true, nil
}

// syncDir makes a rename in dir durable. Some file systems refuse to sync a
// directory; the file's own data is synced already, so that is not fatal.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func validExt(ext string) bool {
	switch ext {
	case "jpg", "png", "gif", "webp":
		return true
	}
	return false
}
