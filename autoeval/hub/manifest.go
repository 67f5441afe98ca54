package hub

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ManifestName is the manifest's file name inside a model folder.
const ManifestName = "capeval-model.json"

// ManifestFormat is the version of the manifest layout written today.
const ManifestFormat = 1

// Manifest records what a pull put in a folder; the package comment shows
// its JSON form.
type Manifest struct {
	Format   int    `json:"format"`
	Repo     string `json:"repo"`
	Revision string `json:"revision"`
	// Commit is the commit the revision resolved to when pulled.
	Commit   string  `json:"commit"`
	Endpoint string  `json:"endpoint"`
	Variant  Variant `json:"variant"`
	// TextModel and VisionModel are the encoder files to load, relative to
	// the folder, with forward slashes.
	TextModel   string          `json:"text_model"`
	VisionModel string          `json:"vision_model"`
	Files       []ManifestEntry `json:"files"`
}

// ManifestEntry is one downloaded file.
type ManifestEntry struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// WriteManifest writes m into dir atomically (temporary file, then rename),
// so a reader never sees half a manifest.
func WriteManifest(dir string, m *Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("hub: encode manifest: %w", err)
	}
	data = append(data, '\n')
	tmp, err := os.CreateTemp(dir, ManifestName+".*.tmp")
	if err != nil {
		return fmt.Errorf("hub: write manifest in %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("hub: write manifest in %s: %w", dir, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("hub: write manifest in %s: %w", dir, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("hub: write manifest in %s: %w", dir, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("hub: write manifest in %s: %w", dir, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, ManifestName)); err != nil {
		return fmt.Errorf("hub: write manifest in %s: %w", dir, err)
	}
	syncDir(dir)
	return nil
}

// ReadManifest reads dir's manifest. A folder without one gets an error
// wrapping fs.ErrNotExist.
func ReadManifest(dir string) (*Manifest, error) {
	p := filepath.Join(dir, ManifestName)
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("hub: read manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("hub: read manifest %s: %w", p, err)
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("hub: read manifest %s: format %d, this build reads %d", p, m.Format, ManifestFormat)
	}
	for _, name := range append([]string{m.TextModel, m.VisionModel}, entryPaths(m.Files)...) {
		if name == "" || !filepath.IsLocal(filepath.FromSlash(name)) {
			return nil, fmt.Errorf("hub: read manifest %s: file path %q is not inside the folder", p, name)
		}
	}
	return &m, nil
}

func entryPaths(es []ManifestEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Path
	}
	return out
}

// Status is what Inspect found in a model folder.
type Status struct {
	// Dir is the folder inspected.
	Dir string
	// Manifest is the folder's manifest, nil when it has none (a folder
	// copied by hand, or a pull that has not finished).
	Manifest *Manifest
	// Variant is the manifest's, or the one detected from file names.
	Variant Variant
	// Size is the total size of the model files present.
	Size int64
	// Problem says why the folder is not usable; nil when it looks valid.
	Problem error
}

// Inspect checks a model folder without loading it: with a manifest, that
// every listed file is there with its size (and, when verify is set, its
// sha256); without one, that the Hugging Face layout's files are there.
func Inspect(dir string, verify bool) Status {
	st := Status{Dir: dir}
	m, err := ReadManifest(dir)
	switch {
	case err == nil:
		st.Manifest = m
		st.Variant = m.Variant
		st.Size, st.Problem = checkManifest(dir, m, verify)
	case errors.Is(err, fs.ErrNotExist):
		st.Variant, st.Size, st.Problem = checkLayout(dir)
	default:
		st.Problem = err
	}
	return st
}

// checkManifest compares the folder with its manifest.
func checkManifest(dir string, m *Manifest, verify bool) (int64, error) {
	listed := make(map[string]bool, len(m.Files))
	var size int64
	for _, e := range m.Files {
		listed[e.Path] = true
		p := filepath.Join(dir, filepath.FromSlash(e.Path))
		fi, err := os.Stat(p)
		if err != nil {
			return size, errorOf(ErrLayout, "%s is missing", e.Path)
		}
		size += fi.Size()
		if fi.Size() != e.Size {
			return size, errorOf(ErrChecksum, "%s has %d bytes, the manifest lists %d", e.Path, fi.Size(), e.Size)
		}
		if verify {
			sum, err := fileSHA256(p)
			if err != nil {
				return size, fmt.Errorf("hub: verify %s: %w", e.Path, err)
			}
			if !strings.EqualFold(sum, e.SHA256) {
				return size, errorOf(ErrChecksum, "%s has sha256 %s, the manifest lists %s", e.Path, sum, e.SHA256)
			}
		}
	}
	for _, name := range []string{m.TextModel, m.VisionModel} {
		if !listed[name] {
			return size, errorOf(ErrLayout, "the manifest names %s but does not list it", name)
		}
	}
	return size, nil
}

// checkLayout looks for the files of the export layout in a folder that has
// no manifest and returns the first variant whose encoders are both there.
func checkLayout(dir string) (Variant, int64, error) {
	exists := func(name string) (int64, bool) {
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil || !fi.Mode().IsRegular() {
			return 0, false
		}
		return fi.Size(), true
	}
	if parts, _ := filepath.Glob(filepath.Join(dir, "*.part")); len(parts) > 0 {
		return "", 0, errorOf(ErrLayout, "an unfinished pull (%s); run capeval models pull again to resume it", strings.Join(relNames(dir, parts), ", "))
	}
	if parts, _ := filepath.Glob(filepath.Join(dir, "onnx", "*.part")); len(parts) > 0 {
		return "", 0, errorOf(ErrLayout, "an unfinished pull (%s); run capeval models pull again to resume it", strings.Join(relNames(dir, parts), ", "))
	}
	var size int64
	var variant Variant
	for _, v := range Variants {
		ts, t := exists(v.TextModel())
		vs, i := exists(v.VisionModel())
		if t && i {
			variant, size = v, ts+vs
			break
		}
	}
	if variant == "" {
		return "", 0, fmt.Errorf("%w: no onnx/text_model.onnx and onnx/vision_model.onnx (or an fp16/quantized pair)", ErrLayout)
	}
	if n, ok := exists("preprocessor_config.json"); ok {
		size += n
	} else {
		return variant, size, fmt.Errorf("%w: preprocessor_config.json is missing", ErrLayout)
	}
	tn, tok := exists("tokenizer.json")
	vn, vocab := exists("vocab.json")
	mn, merges := exists("merges.txt")
	if !tok && !(vocab && merges) {
		return variant, size, fmt.Errorf("%w: no tokenizer.json, nor vocab.json with merges.txt", ErrLayout)
	}
	return variant, size + tn + vn + mn, nil
}

func relNames(dir string, paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		r, err := filepath.Rel(dir, p)
		if err != nil {
			r = p
		}
		out[i] = filepath.ToSlash(r)
	}
	sort.Strings(out)
	return out
}

// fileSHA256 hashes a file.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
