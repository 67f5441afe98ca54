package autoeval

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"capeval/autoeval/clip"
	"capeval/autoeval/textmetrics"
	"capeval/internal/captionfile"
)

// ScoreFile is the equivalent of coco-caption's COCOEvalCap: it scores the
// images present in a results file against the reference captions an
// annotation file gives for them. `capeval score` calls it, and so will the
// API.

// MetricFamily is a family of metrics that ScoreFile offers: its name in
// ScoreFileOptions.Metrics, a description, and the keys it reports (as
// pycocoevalcap names them).
type MetricFamily struct {
	Name string
	Help string
	Keys []string
	// usesCLIP: computed by the CLIP encoder in one pass with the other
	// CLIP families; else by the text metrics, in one pass likewise.
	usesCLIP bool
}

// MetricFamilies lists the families in output order.
var MetricFamilies = []MetricFamily{
	{"bleu", "BLEU-1..4 (Bleu_1..Bleu_4)", textmetrics.BLEU.Names(), false},
	{"rouge", "ROUGE-L (ROUGE_L)", textmetrics.ROUGE.Names(), false},
	{"cider", "CIDEr-D (CIDEr)", textmetrics.CIDEr.Names(), false},
	{"clipscore", "CLIPScore, Hessel et al. 2021 (CLIPScore)", []string{clip.MetricCLIPScore}, true},
	{"refclipscore", "RefCLIPScore (RefCLIPScore)", []string{clip.MetricRefCLIPScore}, true},
	{"clipscore-tm", "torchmetrics' CLIPScore, max(100*cos, 0) (CLIPScore-torchmetrics)", []string{clip.MetricCLIPScoreTorchmetrics}, true},
}

// DefaultFileMetrics are scored when no metric is asked for: the text
// metrics, which need no model.
var DefaultFileMetrics = []string{"bleu", "rouge", "cider"}

func findFamily(name string) *MetricFamily {
	for i := range MetricFamilies {
		if MetricFamilies[i].Name == name {
			return &MetricFamilies[i]
		}
	}
	return nil
}

// ParseMetricFamilies reads a comma-separated list of family names (case
// and spaces ignored, repeats dropped) and returns them in output order.
// An unknown name is ErrInvalid, naming the known ones.
func ParseMetricFamilies(list string) ([]string, error) {
	seen := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		if findFamily(name) == nil {
			known := make([]string, len(MetricFamilies))
			for i, f := range MetricFamilies {
				known[i] = f.Name
			}
			return nil, invalidf("unknown metric %q (known: %s)", name, strings.Join(known, ", "))
		}
		seen[name] = true
	}
	if len(seen) == 0 {
		return nil, invalidf("no metric named in %q", list)
	}
	var out []string
	for _, f := range MetricFamilies {
		if seen[f.Name] {
			out = append(out, f.Name)
		}
	}
	return out, nil
}

// ScoreFileOptions say what ScoreFile scores and with what.
type ScoreFileOptions struct {
	// Annotations holds the reference captions: a COCO captions
	// annotation file, or JSON Lines or CSV with image_id and caption.
	Annotations string
	// Results holds the captions to score, one per image: a COCO results
	// file, JSON Lines or CSV.
	Results string
	// Metrics are family names of MetricFamilies, in any order; empty:
	// DefaultFileMetrics.
	Metrics []string
	// Workers is the goroutines (and ONNX Runtime threads) for scoring;
	// 0: all cores.
	Workers int
	// Images is the image folder of the CLIP metrics: each image is
	// Images/file_name, file_name from the annotation file's images[], as
	// COCO does.
	Images string
	// CLIP is the model and runtime of the CLIP metrics.
	CLIP CLIPOptions
	// Logger receives the CLIP encoder's messages; nil: none.
	Logger *slog.Logger
}

// FileScores is what ScoreFile computed.
type FileScores struct {
	// ImageIDs are the scored images, in the order of the results file.
	ImageIDs []string
	// Keys name the scores, family by family in MetricFamilies order.
	Keys []string
	// Corpus holds the corpus score of each key.
	Corpus []float64
	// PerImage is row-major: image i, key j at i*len(Keys)+j.
	PerImage []float64
	// Extra are details reported beside the scores: "bleu_counts" (the
	// corpus BLEU's lengths and n-gram counts) and "clip" (model,
	// fingerprint, provider).
	Extra map[string]any
}

// fileInput is what every scorer of ScoreFile receives: the evaluated
// images in the order of the results file, each with its hypothesis and its
// references (raw text, in file order).
type fileInput struct {
	imageIDs   []string
	hypotheses []string
	references [][]string
	fileNames  map[string]string // image id -> images[].file_name of a COCO annotation file
}

// ScoreFile reads the annotations and the results, checks that they fit,
// and computes the metric families asked for. Scores equal pycocoevalcap's
// (BLEU and CIDEr-D to 1e-12, ROUGE-L exactly); CIDEr-D's document
// frequencies come from the references of the scored images, as in
// COCOEvalCap. Input that does not fit (a result for an image without
// references, two results for one image, a record missing a field) is
// ErrInvalid listing every offending id or position, and nothing is scored.
func ScoreFile(ctx context.Context, opts ScoreFileOptions) (*FileScores, error) {
	families := opts.Metrics
	if len(families) == 0 {
		families = DefaultFileMetrics
	}
	families, err := ParseMetricFamilies(strings.Join(families, ","))
	if err != nil {
		return nil, err
	}
	if opts.Workers < 0 {
		return nil, invalidf("workers %d: want 0 (all cores) or more", opts.Workers)
	}
	in, err := readFileInput(opts.Annotations, opts.Results)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var text, clipFamilies []string
	for _, name := range families {
		if findFamily(name).usesCLIP {
			clipFamilies = append(clipFamilies, name)
		} else {
			text = append(text, name)
		}
	}
	var parts []*FileScores
	if len(text) > 0 {
		p, err := scoreFileText(in, text, opts.Workers)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	if len(clipFamilies) > 0 {
		p, err := scoreFileCLIP(ctx, in, clipFamilies, opts)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	return mergeColumns(in.imageIDs, families, parts), nil
}

// mergeColumns joins the scorers' parts into one table, the columns in the
// order of the families' keys.
func mergeColumns(ids []string, families []string, parts []*FileScores) *FileScores {
	out := &FileScores{ImageIDs: ids, Extra: map[string]any{}}
	type column struct {
		part *FileScores
		j    int
	}
	var cols []column
	for _, p := range parts {
		for k, v := range p.Extra {
			out.Extra[k] = v
		}
	}
	for _, name := range families {
		for _, key := range findFamily(name).Keys {
			for _, p := range parts {
				for j, k := range p.Keys {
					if k == key {
						cols = append(cols, column{p, j})
						out.Keys = append(out.Keys, key)
						out.Corpus = append(out.Corpus, p.Corpus[j])
					}
				}
			}
		}
	}
	out.PerImage = make([]float64, 0, len(ids)*len(cols))
	for i := range ids {
		for _, c := range cols {
			out.PerImage = append(out.PerImage, c.part.PerImage[i*len(c.part.Keys)+c.j])
		}
	}
	return out
}

// scoreFileText computes BLEU, ROUGE-L and CIDEr-D with ScoreText, which
// the text jobs use too: `capeval eval` gives exactly these scores.
func scoreFileText(in *fileInput, families []string, workers int) (*FileScores, error) {
	metrics := make([]textmetrics.Metric, len(families))
	for i, f := range families {
		m, err := textmetrics.ParseMetric(f)
		if err != nil {
			return nil, err
		}
		metrics[i] = m
	}
	items := make([]TextItem, len(in.imageIDs))
	for i, id := range in.imageIDs {
		items[i] = TextItem{ImageID: id, Hypothesis: in.hypotheses[i], References: in.references[i]}
	}
	res, err := ScoreText(items, workers, metrics...)
	if err != nil {
		return nil, err
	}
	out := &FileScores{Keys: res.Names, Corpus: res.Corpus, PerImage: res.PerImage}
	if b := res.BLEU; b != nil {
		out.Extra = map[string]any{"bleu_counts": map[string]any{
			"testlen": b.TestLen, "reflen": b.RefLen, "guess": b.Guess[:], "correct": b.Correct[:],
		}}
	}
	return out, nil
}

// scoreFileCLIP computes the CLIP metrics on ONNX Runtime.
func scoreFileCLIP(ctx context.Context, in *fileInput, families []string, opts ScoreFileOptions) (*FileScores, error) {
	switch {
	case opts.CLIP.ModelDir == "":
		return nil, invalidf("CLIP metrics need a model folder: --clip-model DIR or CAPEVAL_CLIP_MODEL (get one with `capeval models pull`)")
	case opts.Images == "":
		return nil, invalidf("CLIP metrics need the images: --images DIR (files named by the annotations' images[].file_name)")
	}
	paths := make([]string, len(in.imageIDs))
	missing := &problemList{what: "images without a file_name in the annotations' images[]"}
	for i, id := range in.imageIDs {
		name, ok := in.fileNames[id]
		if !ok || name == "" {
			missing.add(id)
			continue
		}
		paths[i] = filepath.Join(opts.Images, filepath.FromSlash(name))
	}
	if missing.count > 0 {
		return nil, invalidf("%s", missing)
	}
	var m clip.Metrics
	for _, f := range families {
		switch f {
		case "clipscore":
			m.CLIPScore = true
		case "refclipscore":
			m.RefCLIPScore = true
		case "clipscore-tm":
			m.TorchmetricsCLIPScore = true
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	eo := opts.CLIP.encoderOptions(log)
	eo.Threads, eo.Workers = opts.Workers, opts.Workers
	enc, err := clip.NewEncoder(eo)
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	samples := make([]clip.Sample, len(in.imageIDs))
	for i := range samples {
		samples[i] = clip.Sample{Image: i, Caption: in.hypotheses[i], References: in.references[i]}
	}
	load := func(i int) ([]byte, error) { return os.ReadFile(paths[i]) }
	sc, err := enc.Score(ctx, samples, len(paths), load, m)
	if err != nil {
		return nil, err
	}
	out := &FileScores{Extra: map[string]any{"clip": map[string]any{
		"model": opts.CLIP.ModelDir, "fingerprint": enc.Fingerprint(), "provider": enc.Provider()}}}
	var cols [][]float64
	for _, c := range []struct {
		key  string
		vals []float64
	}{{clip.MetricCLIPScore, sc.CLIPScore}, {clip.MetricRefCLIPScore, sc.RefCLIPScore}, {clip.MetricCLIPScoreTorchmetrics, sc.TorchmetricsCLIPScore}} {
		if c.vals == nil {
			continue
		}
		out.Keys = append(out.Keys, c.key)
		out.Corpus = append(out.Corpus, sc.Mean[c.key])
		cols = append(cols, c.vals)
	}
	out.PerImage = make([]float64, 0, len(samples)*len(cols))
	for i := range samples {
		for _, col := range cols {
			out.PerImage = append(out.PerImage, col[i])
		}
	}
	return out, nil
}

// readFileInput reads the annotations and the results and checks that they
// fit: every result names an image with references, no image has two
// results, no record lacks a field. Every problem is reported at once.
func readFileInput(annPath, resPath string) (*fileInput, error) {
	switch {
	case annPath == "":
		return nil, invalidf("no annotations file (the reference captions)")
	case resPath == "":
		return nil, invalidf("no results file (the captions to score)")
	}
	refs := map[string][]string{}
	fileNames := map[string]string{}
	badAnn := &problemList{what: "annotation records with a missing or invalid field"}
	err := captionfile.ReadFile(annPath, captionfile.Options{
		OnImage:   func(img captionfile.Image) error { fileNames[img.ID] = img.FileName; return nil },
		OnInvalid: func(e *captionfile.Error) error { badAnn.add(locate(e)); return nil },
	}, func(r captionfile.Record) error {
		refs[r.ImageID] = append(refs[r.ImageID], r.Caption)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("annotations: %w", err)
	}

	in := &fileInput{fileNames: fileNames}
	seen := map[string]bool{}
	badRes := &problemList{what: "results with a missing or invalid field"}
	unknown := &problemList{what: "results for images without reference captions in " + annPath}
	dups := &problemList{what: "images with more than one result"}
	unknownSeen, dupSeen := map[string]bool{}, map[string]bool{}
	err = captionfile.ReadFile(resPath, captionfile.Options{
		OnInvalid: func(e *captionfile.Error) error { badRes.add(locate(e)); return nil },
	}, func(r captionfile.Record) error {
		switch {
		case refs[r.ImageID] == nil:
			if !unknownSeen[r.ImageID] {
				unknownSeen[r.ImageID] = true
				unknown.add(r.ImageID)
			}
		case seen[r.ImageID]:
			if !dupSeen[r.ImageID] {
				dupSeen[r.ImageID] = true
				dups.add(r.ImageID + " (again at " + r.Pos() + ")")
			}
		default:
			seen[r.ImageID] = true
			in.imageIDs = append(in.imageIDs, r.ImageID)
			in.hypotheses = append(in.hypotheses, r.Caption)
			in.references = append(in.references, refs[r.ImageID])
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	var problems []string
	for _, p := range []*problemList{badAnn, badRes, unknown, dups} {
		if p.count > 0 {
			problems = append(problems, p.String())
		}
	}
	if len(problems) > 0 {
		return nil, invalidf("results %s do not fit annotations %s; nothing was scored:\n  %s",
			resPath, annPath, strings.Join(problems, "\n  "))
	}
	if len(in.imageIDs) == 0 {
		return nil, invalidf("results %s: no captions to score", resPath)
	}
	return in, nil
}

// problemList collects offending items for one line of an error: the
// first maxListed and a count.
type problemList struct {
	what  string
	items []string
	count int
}

func (p *problemList) add(item string) {
	if p.count < maxListed {
		p.items = append(p.items, item)
	}
	p.count++
}

func (p *problemList) String() string {
	s := fmt.Sprintf("%d %s: %s", p.count, p.what, strings.Join(p.items, ", "))
	if p.count > len(p.items) {
		s += fmt.Sprintf(" and %d more", p.count-len(p.items))
	}
	return s
}

// locate describes a bad record for a list: its position and what is wrong.
func locate(e *captionfile.Error) string {
	pos := "byte " + strconv.FormatInt(e.Offset, 10)
	if e.Line > 0 {
		pos = "line " + strconv.Itoa(e.Line)
	}
	return fmt.Sprintf("%s (%s: %v)", pos, e.Field, e.Err)
}

// invalidError is an ErrInvalid whose message is the problem alone, as a
// person reads it, without the sentinel's prefix.
type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

func invalidf(format string, a ...any) error { return &invalidError{fmt.Sprintf(format, a...)} }
