package annotation

import (
	"archive/zip"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // registers GIF for image.DecodeConfig
	_ "image/jpeg"
	_ "image/png"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	_ "golang.org/x/image/webp" // registers WebP
)

// Limits on the images of one import. They are checked on the sizes an
// archive declares before a byte is inflated, again on the bytes actually
// read (a zip header may lie), and on the dimensions in an image's header
// before anything would decode its pixels: a decompression bomb is refused
// without being expanded.
const (
	// MaxImageFiles is the most image files (zip entries or folder files,
	// other files included) one import may hold.
	MaxImageFiles = 200_000
	// MaxImageBytes is the largest image file accepted: 64 MiB.
	MaxImageBytes = 64 << 20
	// MaxImagesTotalBytes bounds the uncompressed size of all image files of
	// one import: 16 GiB.
	MaxImagesTotalBytes = 16 << 30
	// MaxImagePixels bounds width × height of one image (64 megapixels,
	// 8000 × 8000): the CLIP preprocessing decodes the pixels later, and a
	// tiny PNG may declare a gigantic canvas.
	MaxImagePixels = 64_000_000
)

// imageExts are the file extensions taken for images; other files in a
// folder or zip are skipped with a warning.
var imageExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".webp": true}

// formatExt maps image.DecodeConfig's format names to storage extensions.
var formatExt = map[string]string{"jpeg": "jpg", "png": "png", "gif": "gif", "webp": "webp"}

// imageEntry is one file of an image source.
type imageEntry struct {
	name string // relative path, forward slashes
	size int64  // as declared (zip) or stat'ed (folder)
	open func() (io.ReadCloser, error)
}

// imageSource is a folder or an opened zip of images.
type imageSource struct {
	label   string // as named in messages
	entries []imageEntry
	closer  io.Closer
}

func (s *imageSource) Close() error {
	if s == nil || s.closer == nil {
		return nil
	}
	return s.closer.Close()
}

// openImageSource lists the images of the folder or zip at p. Unsafe or
// oversized entries are problems; files that are not images by their
// extension are skipped with a warning. Only I/O failures are errors.
func openImageSource(p, label string, ps *Problems, warn *warnings) (*imageSource, error) {
	fi, err := os.Stat(p)
	if err != nil {
		ps.Add(label, "cannot read the images: %v", unwrapPath(err))
		return nil, nil
	}
	if fi.IsDir() {
		return folderSource(p, label, ps, warn)
	}
	if !strings.EqualFold(filepath.Ext(p), ".zip") && !strings.EqualFold(filepath.Ext(label), ".zip") {
		ps.Add(label, "images must be a folder or a .zip archive")
		return nil, nil
	}
	return zipSource(p, label, ps, warn)
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func folderSource(dir, label string, ps *Problems, warn *warnings) (*imageSource, error) {
	src := &imageSource{label: label}
	var skipped []string
	var total int64
	count := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if p != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		count++
		if count > MaxImageFiles {
			return errTooMany
		}
		if !d.Type().IsRegular() || !imageExts[strings.ToLower(path.Ext(rel))] {
			skipped = append(skipped, rel)
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > MaxImageBytes {
			ps.Add(label+": "+rel, "%d bytes: larger than the limit of %d bytes per image", info.Size(), MaxImageBytes)
			return nil
		}
		total += info.Size()
		src.entries = append(src.entries, imageEntry{name: rel, size: info.Size(), open: func() (io.ReadCloser, error) {
			return os.Open(p)
		}})
		return nil
	})
	if errors.Is(err, errTooMany) {
		ps.Add(label, "more than %d files: split the import", MaxImageFiles)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("annotation: read image folder %s: %w", label, err)
	}
	if total > MaxImagesTotalBytes {
		ps.Add(label, "%d bytes of images: more than the limit of %d per import", total, int64(MaxImagesTotalBytes))
		return nil, nil
	}
	warn.skipped(label, skipped)
	return src, nil
}

// errCorruptEntry marks a zip entry that does not open.
var errCorruptEntry = errors.New("corrupt archive entry")

// archivedReader marks the read errors of a zip entry (a corrupt deflate
// stream, a wrong checksum, a size other than declared) as the archive's.
type archivedReader struct{ io.ReadCloser }

func (r archivedReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: %w", errCorruptEntry, err)
	}
	return n, err
}

// zipSource opens a zip and checks every entry's name, type and declared
// size before any is inflated.
func zipSource(p, label string, ps *Problems, warn *warnings) (*imageSource, error) {
	zr, err := zip.OpenReader(p)
	if err != nil {
		ps.Add(label, "not a readable zip archive: %v", err)
		return nil, nil
	}
	if len(zr.File) > MaxImageFiles {
		zr.Close()
		ps.Add(label, "%d entries: more than the limit of %d; split the import", len(zr.File), MaxImageFiles)
		return nil, nil
	}
	src := &imageSource{label: label, closer: zr}
	var skipped []string
	var total uint64
	for _, f := range zr.File {
		name := f.Name
		where := label + ": " + name
		if reason := unsafeEntryName(name); reason != "" {
			ps.Add(where, "refused: %s", reason)
			continue
		}
		mode := f.Mode()
		switch {
		case mode&fs.ModeSymlink != 0:
			ps.Add(where, "refused: a symbolic link")
			continue
		case mode.IsDir() || strings.HasSuffix(name, "/"):
			continue
		case !mode.IsRegular():
			ps.Add(where, "refused: not a regular file (%v)", mode.Type())
			continue
		}
		base := path.Base(name)
		if strings.HasPrefix(base, ".") || strings.HasPrefix(name, "__MACOSX/") {
			continue // macOS resource forks and hidden files
		}
		if !imageExts[strings.ToLower(path.Ext(name))] {
			skipped = append(skipped, name)
			continue
		}
		if f.UncompressedSize64 > MaxImageBytes {
			ps.Add(where, "%d bytes uncompressed: larger than the limit of %d bytes per image", f.UncompressedSize64, MaxImageBytes)
			continue
		}
		total += f.UncompressedSize64
		src.entries = append(src.entries, imageEntry{name: name, size: int64(f.UncompressedSize64), open: func() (io.ReadCloser, error) {
			rc, err := f.Open()
			if err != nil {
				// The whole archive is on disk: an entry that cannot be
				// opened (a bad local header, an offset outside the file)
				// is the archive's fault.
				return nil, fmt.Errorf("%w: %w", errCorruptEntry, err)
			}
			return archivedReader{rc}, nil
		}})
	}
	if total > MaxImagesTotalBytes {
		zr.Close()
		ps.Add(label, "%d bytes uncompressed: more than the limit of %d per import", total, int64(MaxImagesTotalBytes))
		return nil, nil
	}
	sort.Slice(src.entries, func(i, j int) bool { return src.entries[i].name < src.entries[j].name })
	warn.skipped(label, skipped)
	return src, nil
}

// unsafeEntryName says why a zip entry name could escape the folder it is
// extracted to ("zip slip"), or "" when it is safe. Backslashes count as
// separators: Windows tools write them.
func unsafeEntryName(name string) string {
	n := strings.ReplaceAll(name, `\`, "/")
	switch {
	case n == "":
		return "an empty name"
	case strings.HasPrefix(n, "/"):
		return "an absolute path"
	case len(n) >= 2 && n[1] == ':':
		return "a path with a drive letter"
	case strings.ContainsRune(n, 0):
		return "a NUL byte in the name"
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return "a path with .. (it would escape the archive's folder)"
		}
	}
	return ""
}

// scannedImage is an image file checked in the first pass: only its
// identity, hash and header, never its pixels.
type scannedImage struct {
	externalID string
	name       string // entry name in the source
	sum        string // hex SHA-256 of the bytes
	ext        string // storage extension from the content's format
	width      int
	height     int
	open       func() (io.ReadCloser, error)
}

// scan reads every entry once: hashes all its bytes and decodes only the
// header (image.DecodeConfig). idFor gives an entry's external id.
func (s *imageSource) scan(idFor func(name string) string, ps *Problems) ([]scannedImage, error) {
	out := make([]scannedImage, 0, len(s.entries))
	for _, e := range s.entries {
		where := s.label + ": " + e.name
		img, problem, err := scanEntry(e)
		if err != nil {
			return nil, fmt.Errorf("annotation: read %s: %w", where, err)
		}
		if problem != "" {
			ps.Add(where, "%s", problem)
			continue
		}
		img.externalID = idFor(e.name)
		out = append(out, img)
	}
	return out, nil
}

func scanEntry(e imageEntry) (img scannedImage, problem string, err error) {
	rc, err := e.open()
	if err != nil {
		if errors.Is(err, zip.ErrAlgorithm) {
			return img, "unsupported zip compression method", nil
		}
		// A broken local header is the upload's fault, not an I/O
		// failure: a problem naming the entry, not an internal error.
		if errors.Is(err, errCorruptEntry) {
			return img, err.Error(), nil
		}
		return img, "", err
	}
	defer rc.Close()
	h := sha256.New()
	lr := &io.LimitedReader{R: rc, N: MaxImageBytes + 1}
	br := bufio.NewReader(io.TeeReader(lr, h))
	cfg, format, derr := image.DecodeConfig(br)
	// Hash the rest whatever the header said, so that a corrupt archive
	// entry is reported as such rather than as a bad image.
	if _, err := io.Copy(io.Discard, br); err != nil {
		if errors.Is(err, errCorruptEntry) {
			return img, err.Error(), nil
		}
		if errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrFormat) || errors.Is(err, io.ErrUnexpectedEOF) {
			return img, err.Error(), nil
		}
		return img, "", err
	}
	if lr.N <= 0 {
		return img, fmt.Sprintf("larger than the limit of %d bytes per image", MaxImageBytes), nil
	}
	if derr != nil {
		return img, fmt.Sprintf("not a JPEG, PNG, GIF or WebP image (%v)", derr), nil
	}
	ext, ok := formatExt[format]
	if !ok {
		return img, fmt.Sprintf("image format %q is not accepted (want JPEG, PNG, GIF or WebP)", format), nil
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return img, fmt.Sprintf("the header says %d×%d pixels", cfg.Width, cfg.Height), nil
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return img, fmt.Sprintf("%d×%d pixels: more than the limit of %d pixels per image", cfg.Width, cfg.Height, MaxImagePixels), nil
	}
	return scannedImage{name: e.name, sum: hex.EncodeToString(h.Sum(nil)), ext: ext,
		width: cfg.Width, height: cfg.Height, open: e.open}, "", nil
}

// stem is a file name without folder and extension: the external id of an
// image that no annotation file names.
func stem(name string) string {
	base := path.Base(name)
	return strings.TrimSuffix(base, path.Ext(base))
}

// warnings collects the warnings of an import: up to MaxProblems, the
// rest counted.
type warnings struct {
	list []string
	more int
}

func (w *warnings) add(format string, args ...any) {
	if len(w.list) >= MaxProblems {
		w.more++
		return
	}
	w.list = append(w.list, fmt.Sprintf(format, args...))
}

// skipped warns once about files skipped for not being images.
func (w *warnings) skipped(label string, names []string) {
	if len(names) == 0 {
		return
	}
	const show = 5
	list := strings.Join(names[:min(len(names), show)], ", ")
	if len(names) > show {
		list += fmt.Sprintf(" and %d more", len(names)-show)
	}
	w.add("%s: skipped %d files that are not JPEG, PNG, GIF or WebP images by their extension: %s", label, len(names), list)
}

func (w *warnings) result() []string {
	out := append([]string{}, w.list...)
	if w.more > 0 {
		out = append(out, fmt.Sprintf("… and %d more warnings", w.more))
	}
	return out
}
