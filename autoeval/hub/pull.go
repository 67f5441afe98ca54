package hub

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Variant selects which ONNX export of the encoders a pull fetches.
type Variant string

// The variants of the Hugging Face ONNX export layout that capeval pulls.
// Each one names its files by a suffix: onnx/text_model<suffix>.onnx.
const (
	VariantFP32      Variant = "fp32"
	VariantFP16      Variant = "fp16"
	VariantQuantized Variant = "quantized"
)

// Variants lists the accepted variants in the order help text shows them.
var Variants = []Variant{VariantFP32, VariantFP16, VariantQuantized}

// ParseVariant accepts a variant name; empty means fp32.
func ParseVariant(s string) (Variant, error) {
	if s == "" {
		return VariantFP32, nil
	}
	for _, v := range Variants {
		if string(v) == s {
			return v, nil
		}
	}
	names := make([]string, len(Variants))
	for i, v := range Variants {
		names[i] = string(v)
	}
	return "", fmt.Errorf("hub: unknown variant %q (want one of %s)", s, strings.Join(names, ", "))
}

// suffix is what the export appends to the base file names.
func (v Variant) suffix() string {
	if v == VariantFP32 || v == "" {
		return ""
	}
	return "_" + string(v)
}

// TextModel is the repository path of the variant's text encoder.
func (v Variant) TextModel() string { return "onnx/text_model" + v.suffix() + ".onnx" }

// VisionModel is the repository path of the variant's vision encoder.
func (v Variant) VisionModel() string { return "onnx/vision_model" + v.suffix() + ".onnx" }

// requiredFiles must be in every pulled folder besides the encoders and a
// tokenizer; preprocessor_config.json gives size, crop, mean and std.
var requiredFiles = []string{"preprocessor_config.json"}

// optionalFiles are fetched when the repository has them: the tokenizer in
// either format, and the configs that document the export.
var optionalFiles = []string{
	"config.json",
	"tokenizer.json",
	"tokenizer_config.json",
	"special_tokens_map.json",
	"vocab.json",
	"merges.txt",
}

// SelectFiles picks from a repository listing the files of a CLIP folder in
// variant v: both encoders, preprocessor_config.json, a tokenizer
// (tokenizer.json, or vocab.json with merges.txt) and the configs present.
// A listing that lacks any of them gets an error wrapping ErrLayout that
// says what is missing and which variants the repository does offer.
func SelectFiles(info *RepoInfo, v Variant) ([]File, error) {
	byName := make(map[string]File, len(info.Siblings))
	for _, f := range info.Siblings {
		byName[f.Name] = f
	}
	var missing []string
	var out []File
	for _, name := range []string{v.TextModel(), v.VisionModel()} {
		if f, ok := byName[name]; ok {
			out = append(out, f)
		} else {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		var offered []string
		for _, o := range Variants {
			_, t := byName[o.TextModel()]
			_, i := byName[o.VisionModel()]
			if t && i {
				offered = append(offered, string(o))
			}
		}
		if len(offered) == 0 {
			return nil, errorOf(ErrLayout, "hub: %s has no %s; pull a CLIP export in the Hugging Face ONNX layout such as %s",
				info.ID, strings.Join(missing, " or "), DefaultRepo)
		}
		return nil, errorOf(ErrLayout, "hub: %s has no %s variant (%s missing); it offers: %s",
			info.ID, v, strings.Join(missing, ", "), strings.Join(offered, ", "))
	}
	for _, name := range requiredFiles {
		f, ok := byName[name]
		if !ok {
			return nil, errorOf(ErrLayout, "hub: %s has no %s", info.ID, name)
		}
		out = append(out, f)
	}
	for _, name := range optionalFiles {
		if f, ok := byName[name]; ok {
			out = append(out, f)
		}
	}
	_, tok := byName["tokenizer.json"]
	_, vocab := byName["vocab.json"]
	_, merges := byName["merges.txt"]
	if !tok && !(vocab && merges) {
		return nil, errorOf(ErrLayout, "hub: %s has no tokenizer: neither tokenizer.json nor vocab.json with merges.txt",
			info.ID)
	}
	return out, nil
}

// PullOptions says what to pull and where.
type PullOptions struct {
	// Repo is the repository id; empty means DefaultRepo.
	Repo string
	// Revision is a branch, tag or commit; empty means DefaultRevision.
	Revision string
	// Variant picks the encoder files; empty means fp32.
	Variant Variant
	// Dir is the destination folder, created when missing.
	Dir string
}

// Pull downloads a CLIP model folder and writes its manifest last, so that
// a folder with a manifest is complete. Files already present and intact
// are kept; interrupted downloads resume. It returns the manifest written.
func (c *Client) Pull(ctx context.Context, opts PullOptions) (*Manifest, error) {
	if opts.Repo == "" {
		opts.Repo = DefaultRepo
	}
	if opts.Revision == "" {
		opts.Revision = DefaultRevision
	}
	if opts.Variant == "" {
		opts.Variant = VariantFP32
	}
	if _, err := ParseVariant(string(opts.Variant)); err != nil {
		return nil, err
	}
	if opts.Dir == "" {
		return nil, fmt.Errorf("hub: pull %s: no destination folder", opts.Repo)
	}
	info, err := c.Info(ctx, opts.Repo, opts.Revision)
	if err != nil {
		return nil, err
	}
	if info.ID == "" {
		info.ID = opts.Repo
	}
	files, err := SelectFiles(info, opts.Variant)
	if err != nil {
		return nil, err
	}
	var total int64
	for _, f := range files {
		total += f.size()
	}
	c.printf("pulling %s at %s (commit %s, %s variant): %d files, %s into %s\n", opts.Repo, opts.Revision,
		shortCommit(info.SHA), opts.Variant, len(files), FormatBytes(total), opts.Dir)
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("hub: pull %s: %w", opts.Repo, err)
	}
	unlock, err := lockDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	m := &Manifest{
		Format:      ManifestFormat,
		Repo:        opts.Repo,
		Revision:    opts.Revision,
		Commit:      info.SHA,
		Endpoint:    c.endpoint,
		Variant:     opts.Variant,
		TextModel:   opts.Variant.TextModel(),
		VisionModel: opts.Variant.VisionModel(),
	}
	for _, f := range files {
		// The names come from a fixed list, but a listing is remote input:
		// refuse anything that would land outside the folder.
		if !filepath.IsLocal(filepath.FromSlash(f.Name)) {
			return nil, fmt.Errorf("hub: pull %s: refusing file name %q", opts.Repo, f.Name)
		}
		dest := filepath.Join(opts.Dir, filepath.FromSlash(f.Name))
		// Download at the commit, not the branch name: a push to the branch
		// during the pull must not mix files of two versions.
		res, err := c.Download(ctx, opts.Repo, info.SHA, f, dest)
		if err != nil {
			return nil, err
		}
		m.Files = append(m.Files, ManifestEntry{Path: f.Name, Size: res.Size, SHA256: res.SHA256})
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	if err := WriteManifest(opts.Dir, m); err != nil {
		return nil, err
	}
	return m, nil
}

// shortCommit abbreviates a commit id the way git log does.
func shortCommit(sha string) string {
	if len(sha) > 10 {
		return sha[:10]
	}
	return sha
}
