package annotation

import (
	"archive/zip"
	"bufio"
	"compress/flate"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
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
	// MaxCompressionRatio bounds how many times its compressed size a zip
	// entry (or a whole zip) may inflate to once past
	// CompressionRatioFloor. JPEG, PNG, GIF and WebP are compressed
	// already: the 6,587 images found on a development machine deflate
	// 1.0:1 at the median, 2.2:1 at the 99th percentile and 19:1 at most
	// (a 3 KB PNG; 14:1 for a 600 KB PNG that compresses its own pixels
	// poorly), while a run of zeros deflates about 1000:1, the bomb's
	// signature.
	MaxCompressionRatio = 100
	// CompressionRatioFloor is the uncompressed size up to which an entry
	// (or a zip in all) is not held to MaxCompressionRatio: small files
	// with a lot of header compress well and inflate to nothing much.
	CompressionRatioFloor = 1 << 20
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
	return zipSource(p, label, fi.Size(), ps, warn)
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

// errRefusedEntry marks a zip entry refused while it is read: it inflates
// beyond MaxCompressionRatio.
var errRefusedEntry = errors.New("refused")

// ratioExceeded reports whether n uncompressed bytes from compressed ones
// go beyond MaxCompressionRatio past the floor. It divides so that a
// header's absurd sizes cannot overflow it.
func ratioExceeded(n, compressed uint64) bool {
	return n > CompressionRatioFloor && n/MaxCompressionRatio > compressed
}

// countingReader counts the compressed bytes that the decompressor
// actually consumes. It is an io.ByteReader so that flate reads it byte by
// byte instead of reading ahead through a buffer of its own: the count is
// what was inflated, not what was buffered.
type countingReader struct {
	br *bufio.Reader
	n  uint64
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.br.Read(p)
	r.n += uint64(n)
	return n, err
}

func (r *countingReader) ReadByte() (byte, error) {
	b, err := r.br.ReadByte()
	if err == nil {
		r.n++
	}
	return b, err
}

// entryReader inflates one zip entry from its raw bytes and holds it to
// its limits on what it actually reads, whatever its header declares: no
// more bytes than declared (which zipSource checked against
// MaxImageBytes) and no more than MaxCompressionRatio times the compressed
// bytes consumed. At the end it checks the length and the CRC-32. Errors
// are sticky: a caller that reads again after one gets it again.
type entryReader struct {
	f     *zip.File
	raw   *countingReader
	r     io.Reader // the inflated bytes
	close func() error
	crc   hash.Hash32
	n     uint64 // inflated bytes so far
	err   error
}

// openZipEntry opens f for reading through an entryReader. Only the
// methods archive/zip registers by default, store and deflate, are read.
func openZipEntry(f *zip.File) (io.ReadCloser, error) {
	if f.Method != zip.Store && f.Method != zip.Deflate {
		return nil, zip.ErrAlgorithm
	}
	raw, err := f.OpenRaw()
	if err != nil {
		// The whole archive is on disk: an entry that cannot be opened (a
		// bad local header, an offset outside the file) is the archive's
		// fault.
		return nil, fmt.Errorf("%w: %w", errCorruptEntry, err)
	}
	cr := &countingReader{br: bufio.NewReader(raw)}
	er := &entryReader{f: f, raw: cr, r: cr, close: func() error { return nil }, crc: crc32.NewIEEE()}
	if f.Method == zip.Deflate {
		fr := flate.NewReader(cr)
		er.r, er.close = fr, fr.Close
	}
	return er, nil
}

func (r *entryReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.r.Read(p)
	r.n += uint64(n)
	r.crc.Write(p[:n])
	switch {
	case r.n > r.f.UncompressedSize64:
		err = fmt.Errorf("%w: it inflates past the %d bytes its header declares", errCorruptEntry, r.f.UncompressedSize64)
	case ratioExceeded(r.n, r.raw.n):
		err = fmt.Errorf("%w: it inflates more than %d times the compressed bytes read (%d bytes from %d; the limit holds past %d bytes), whatever its header declares: a zip bomb",
			errRefusedEntry, MaxCompressionRatio, r.n, r.raw.n, CompressionRatioFloor)
	case err == io.EOF && r.n != r.f.UncompressedSize64:
		err = fmt.Errorf("%w: it ends after %d of the %d bytes its header declares", errCorruptEntry, r.n, r.f.UncompressedSize64)
	case err == io.EOF && r.f.CRC32 != 0 && r.crc.Sum32() != r.f.CRC32:
		// A CRC of 0 is taken as not set, as archive/zip takes it when
		// there is no data descriptor to read it from.
		err = fmt.Errorf("%w: %w", errCorruptEntry, zip.ErrChecksum)
	case err == io.ErrUnexpectedEOF:
		err = fmt.Errorf("%w: it ends after %d of the %d bytes its header declares", errCorruptEntry, r.n, r.f.UncompressedSize64)
	case err != nil && err != io.EOF:
		err = fmt.Errorf("%w: %w", errCorruptEntry, err)
	}
	if err != nil {
		r.err = err
	}
	return n, err
}

func (r *entryReader) Close() error { return r.close() }

// zipSource opens a zip and checks every entry's name, type, declared
// size and declared compression ratio before any is inflated, and the
// archive's declared size against its real one.
func zipSource(p, label string, size int64, ps *Problems, warn *warnings) (*imageSource, error) {
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
		if ratioExceeded(f.UncompressedSize64, f.CompressedSize64) {
			ps.Add(where, "refused: %d bytes from %d compressed, over the limit of %d:1 for an entry of more than %d bytes (images barely compress: a zip bomb)",
				f.UncompressedSize64, f.CompressedSize64, MaxCompressionRatio, CompressionRatioFloor)
			continue
		}
		total += f.UncompressedSize64
		src.entries = append(src.entries, imageEntry{name: name, size: int64(f.UncompressedSize64), open: func() (io.ReadCloser, error) {
			return openZipEntry(f)
		}})
	}
	switch {
	case total > MaxImagesTotalBytes:
		zr.Close()
		ps.Add(label, "%d bytes uncompressed: more than the limit of %d per import", total, int64(MaxImagesTotalBytes))
		return nil, nil
	case ratioExceeded(total, uint64(size)):
		// Entries under the floor escape the check one by one; many of
		// them would still inflate a small archive a thousandfold. The
		// file's size cannot lie, and no entry reads past its declared
		// size.
		zr.Close()
		ps.Add(label, "%d bytes uncompressed from a %d-byte archive: over the limit of %d:1 for images of more than %d bytes in all (images barely compress: a zip bomb)",
			total, size, MaxCompressionRatio, CompressionRatioFloor)
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
		if errors.Is(err, errCorruptEntry) || errors.Is(err, errRefusedEntry) {
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
