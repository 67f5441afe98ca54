package cli

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"capeval/autoeval"
	"capeval/autoeval/clip"
	"capeval/autoeval/textmetrics"
	"capeval/internal/captionfile"
)

// `capeval score` is the command-line equivalent of coco-caption's
// COCOEvalCap: it scores the images present in a results file against the
// reference captions an annotation file gives for them.

// scoreMetric is a metric family that `capeval score` offers: its --metrics
// name, the keys it reports (as pycocoevalcap names them) and the scorer that
// computes it. Families that share a scorer are computed in one pass; a new
// family (CLIPScore) is one more entry with its own scorer.
type scoreMetric struct {
	name   string
	help   string
	keys   []string
	scorer *metricScorer
}

// metricScorer computes some metric families over the evaluated images.
type metricScorer struct {
	run func(ctx context.Context, in *scoreInput, families []string) (*scoreOutput, error)
}

// scoreInput is what every scorer receives: the evaluated images in the
// order of the results file, each with its hypothesis and its references
// (raw text, in file order).
type scoreInput struct {
	imageIDs   []string
	hypotheses []string
	references [][]string
	fileNames  map[string]string // image id -> images[].file_name of a COCO annotation file
	workers    int
	clip       clipFlags
}

// scoreOutput is a scorer's answer: corpus and per-image values for its
// keys, and extra corpus details reported beside the scores.
type scoreOutput struct {
	keys     []string
	corpus   []float64
	perImage []float64 // row-major: image i, key j at i*len(keys)+j
	extra    map[string]any
}

var (
	textScorer = &metricScorer{run: scoreText}
	clipScorer = &metricScorer{run: scoreCLIP}
)

// scoreMetrics lists the families in output order.
var scoreMetrics = []scoreMetric{
	{"bleu", "BLEU-1..4 (Bleu_1..Bleu_4)", textmetrics.BLEU.Names(), textScorer},
	{"rouge", "ROUGE-L (ROUGE_L)", textmetrics.ROUGE.Names(), textScorer},
	{"cider", "CIDEr-D (CIDEr)", textmetrics.CIDEr.Names(), textScorer},
	{"clipscore", "CLIPScore, Hessel et al. 2021 (CLIPScore)", []string{clip.MetricCLIPScore}, clipScorer},
	{"refclipscore", "RefCLIPScore (RefCLIPScore)", []string{clip.MetricRefCLIPScore}, clipScorer},
	{"clipscore-tm", "torchmetrics' CLIPScore, max(100*cos, 0) (CLIPScore-torchmetrics)", []string{clip.MetricCLIPScoreTorchmetrics}, clipScorer},
}

// defaultScoreFamilies are scored when --metrics is not given: the text
// metrics, which need no model.
var defaultScoreFamilies = []string{"bleu", "rouge", "cider"}

// clipFlags are the flags of the CLIP metrics.
type clipFlags struct {
	images, model, device string
}

// scoreCLIP computes the CLIP metrics on ONNX Runtime. Images are found as
// COCOEvalCap users find them: the annotation file's images[].file_name
// under --images.
func scoreCLIP(ctx context.Context, in *scoreInput, families []string) (*scoreOutput, error) {
	cf := in.clip
	switch {
	case cf.model == "":
		return nil, errors.New("CLIP metrics need a model folder: --clip-model DIR or CAPEVAL_CLIP_MODEL (get one with `capeval models pull`)")
	case cf.images == "":
		return nil, errors.New("CLIP metrics need the images: --images DIR (files named by the annotations' images[].file_name)")
	}
	paths := make([]string, len(in.imageIDs))
	missing := &problemList{what: "images without a file_name in the annotations' images[]"}
	for i, id := range in.imageIDs {
		name, ok := in.fileNames[id]
		if !ok || name == "" {
			missing.add(id)
			continue
		}
		paths[i] = filepath.Join(cf.images, filepath.FromSlash(name))
	}
	if missing.count > 0 {
		return nil, errors.New(missing.String())
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
	enc, err := clip.NewEncoder(clip.Options{ModelDir: cf.model, Device: cf.device, Threads: in.workers, Workers: in.workers,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
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
	out := &scoreOutput{extra: map[string]any{"clip": map[string]any{
		"model": cf.model, "fingerprint": enc.Fingerprint(), "provider": enc.Provider()}}}
	var cols [][]float64
	for _, c := range []struct {
		key  string
		vals []float64
	}{{clip.MetricCLIPScore, sc.CLIPScore}, {clip.MetricRefCLIPScore, sc.RefCLIPScore}, {clip.MetricCLIPScoreTorchmetrics, sc.TorchmetricsCLIPScore}} {
		if c.vals == nil {
			continue
		}
		out.keys = append(out.keys, c.key)
		out.corpus = append(out.corpus, sc.Mean[c.key])
		cols = append(cols, c.vals)
	}
	out.perImage = make([]float64, 0, len(samples)*len(cols))
	for i := range samples {
		for _, col := range cols {
			out.perImage = append(out.perImage, col[i])
		}
	}
	return out, nil
}

// scoreText computes BLEU, ROUGE-L and CIDEr-D as pycocoevalcap does, with
// its PTB tokenization.
func scoreText(_ context.Context, in *scoreInput, families []string) (*scoreOutput, error) {
	metrics := make([]textmetrics.Metric, len(families))
	for i, f := range families {
		m, err := textmetrics.ParseMetric(f)
		if err != nil {
			return nil, err
		}
		metrics[i] = m
	}
	// autoeval.ScoreText is what the auto-eval jobs use too: `capeval eval`
	// must give exactly these scores.
	items := make([]autoeval.TextItem, len(in.imageIDs))
	for i, id := range in.imageIDs {
		items[i] = autoeval.TextItem{ImageID: id, Hypothesis: in.hypotheses[i], References: in.references[i]}
	}
	res, err := autoeval.ScoreText(items, in.workers, metrics...)
	if err != nil {
		return nil, err
	}
	out := &scoreOutput{keys: res.Names, corpus: res.Corpus, perImage: res.PerImage}
	if b := res.BLEU; b != nil {
		out.extra = map[string]any{"bleu_counts": map[string]any{
			"testlen": b.TestLen, "reflen": b.RefLen, "guess": b.Guess[:], "correct": b.Correct[:],
		}}
	}
	return out, nil
}

const scoreUsage = `Usage: capeval score --annotations FILE --results FILE [flags]

Scores a captioning model's results like coco-caption's COCOEvalCap: every
image present in the results is scored against the reference captions the
annotations give for it, after the same PTB tokenization. Scores equal
pycocoevalcap's (BLEU and CIDEr-D to 1e-12, ROUGE-L exactly). CIDEr-D's
document frequencies come from the references of the scored images, so
scores depend on which images the results cover, as in COCOEvalCap.

Flags:
  --annotations FILE  reference captions: a COCO captions annotation file
                      ({"images": [...], "annotations": [{"image_id", "caption"}]}),
                      or JSON Lines or CSV with image_id and caption
  --results FILE      the captions to score, one per image: a COCO results file
                      ([{"image_id", "caption"}]), JSON Lines or CSV
  --metrics LIST      comma-separated metric families (default %s):
%s  --per-image FILE    also write each image's scores to FILE as a JSON object
                      image id -> {"image_id", scores...}, like COCOEvalCap's imgToEval
  --format FORMAT     table (default) or json; json has the keys Bleu_1..Bleu_4,
                      ROUGE_L and CIDEr at the top level, and "images" (the number
                      of images scored) and "bleu_counts" beside them
  --workers N         goroutines (and ONNX Runtime threads) for scoring (default 0: all cores)
  --images DIR        CLIP metrics: the image folder; each image is DIR/file_name, with
                      file_name from the annotation file's images[] (as COCO does)
  --clip-model DIR    CLIP metrics: a CLIP model folder in the Hugging Face ONNX layout
                      (default $CAPEVAL_CLIP_MODEL; get one with 'capeval models pull')
  --device DEVICE     CLIP metrics: auto (CUDA when available, else CPU), cpu, cuda or
                      cuda:N (default $CAPEVAL_DEVICE or auto); ONNX Runtime is loaded
                      from $CAPEVAL_ONNXRUNTIME_LIB
  -h, --help          show this help

Formats are told by extension (.json, .jsonl, .ndjson, .csv) and content.
Image ids may be JSON numbers or strings: 397133 and "397133" are one image.
A result for an image the annotations do not have, two results for one
image, or a record missing its image_id or caption is an error that lists
the offending ids or positions; nothing is scored then.
`

func printScoreUsage(w io.Writer) {
	var lines strings.Builder
	for _, m := range scoreMetrics {
		fmt.Fprintf(&lines, "                        %-12s %s\n", m.name, m.help)
	}
	fmt.Fprintf(w, scoreUsage, strings.Join(defaultScoreFamilies, ","), lines.String())
}

// scoreFlags are the parsed flags of `capeval score`.
type scoreFlags struct {
	annotations, results, perImage string
	families                       []string
	json                           bool
	workers                        int
	clip                           clipFlags
}

func parseScoreFlags(args []string, stdout, stderr io.Writer) (*scoreFlags, error) {
	fs := flag.NewFlagSet("score", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the usage text is printed here, not by flag
	var f scoreFlags
	var metrics, format string
	var known []string
	for _, m := range scoreMetrics {
		known = append(known, m.name)
	}
	fs.StringVar(&f.annotations, "annotations", "", "")
	fs.StringVar(&f.results, "results", "", "")
	fs.StringVar(&metrics, "metrics", strings.Join(defaultScoreFamilies, ","), "")
	fs.StringVar(&f.perImage, "per-image", "", "")
	fs.StringVar(&format, "format", "table", "")
	fs.IntVar(&f.workers, "workers", 0, "")
	fs.StringVar(&f.clip.images, "images", "", "")
	fs.StringVar(&f.clip.model, "clip-model", os.Getenv("CAPEVAL_CLIP_MODEL"), "")
	fs.StringVar(&f.clip.device, "device", cmp.Or(os.Getenv("CAPEVAL_DEVICE"), "auto"), "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printScoreUsage(stdout)
			return nil, nil
		}
		fmt.Fprintln(stderr, "Run 'capeval score -h' for the flags.")
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q (files are given with --annotations and --results)", fs.Arg(0))
	case f.annotations == "":
		return nil, errors.New("--annotations is required (the reference captions)")
	case f.results == "":
		return nil, errors.New("--results is required (the captions to score)")
	case f.workers < 0:
		return nil, fmt.Errorf("--workers %d: want 0 (all cores) or more", f.workers)
	}
	switch format {
	case "table":
	case "json":
		f.json = true
	default:
		return nil, fmt.Errorf("--format %q: want table or json", format)
	}
	seen := map[string]bool{}
	for _, name := range strings.Split(metrics, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" || seen[name] {
			continue
		}
		if findScoreMetric(name) == nil {
			return nil, fmt.Errorf("--metrics: unknown metric %q (known: %s)", name, strings.Join(known, ", "))
		}
		seen[name] = true
	}
	if len(seen) == 0 {
		return nil, errors.New("--metrics names no metric")
	}
	for _, m := range scoreMetrics { // output order, whatever the order asked
		if seen[m.name] {
			f.families = append(f.families, m.name)
		}
	}
	return &f, nil
}

func findScoreMetric(name string) *scoreMetric {
	for i := range scoreMetrics {
		if scoreMetrics[i].name == name {
			return &scoreMetrics[i]
		}
	}
	return nil
}

func scoreCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseScoreFlags(args, stdout, stderr)
	if err != nil || f == nil {
		return err
	}
	in, err := loadScoreInput(f.annotations, f.results)
	if err != nil {
		return err
	}
	in.workers, in.clip = f.workers, f.clip
	if err := ctx.Err(); err != nil {
		return err
	}
	out, err := runScorers(ctx, in, f.families)
	if err != nil {
		return err
	}
	if f.perImage != "" {
		if err := writePerImage(f.perImage, in.imageIDs, out); err != nil {
			return err
		}
	}
	if f.json {
		return writeScoreJSON(stdout, len(in.imageIDs), out)
	}
	return writeScoreTable(stdout, len(in.imageIDs), out)
}

// runScorers runs each scorer once for the families it serves and joins
// their outputs in the families' order.
func runScorers(ctx context.Context, in *scoreInput, families []string) (*scoreOutput, error) {
	var order []*metricScorer
	asked := map[*metricScorer][]string{}
	for _, name := range families {
		s := findScoreMetric(name).scorer
		if _, ok := asked[s]; !ok {
			order = append(order, s)
		}
		asked[s] = append(asked[s], name)
	}
	joined := &scoreOutput{extra: map[string]any{}}
	var parts []*scoreOutput
	for _, s := range order {
		part, err := s.run(ctx, in, asked[s])
		if err != nil {
			return nil, err
		}
		parts = append(parts, part)
		for k, v := range part.extra {
			joined.extra[k] = v
		}
	}
	// Columns in family order: find each family's keys in its scorer's part.
	type column struct {
		part *scoreOutput
		j    int
	}
	var cols []column
	for _, name := range families {
		for _, key := range findScoreMetric(name).keys {
			for _, p := range parts {
				for j, k := range p.keys {
					if k == key {
						cols = append(cols, column{p, j})
						joined.keys = append(joined.keys, key)
						joined.corpus = append(joined.corpus, p.corpus[j])
					}
				}
			}
		}
	}
	n := len(in.imageIDs)
	joined.perImage = make([]float64, 0, n*len(cols))
	for i := 0; i < n; i++ {
		for _, c := range cols {
			joined.perImage = append(joined.perImage, c.part.perImage[i*len(c.part.keys)+c.j])
		}
	}
	return joined, nil
}

// maxListed is how many offending ids or positions an error lists.
const maxListed = 20

// problemList collects offending items for one error line.
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

// loadScoreInput reads the annotations and the results and checks that they
// fit: every result names an image with references, no image has two
// results, no record lacks a field. Every problem is reported at once.
func loadScoreInput(annPath, resPath string) (*scoreInput, error) {
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

	in := &scoreInput{fileNames: fileNames}
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
		return nil, fmt.Errorf("results %s do not fit annotations %s; nothing was scored:\n  %s",
			resPath, annPath, strings.Join(problems, "\n  "))
	}
	if len(in.imageIDs) == 0 {
		return nil, fmt.Errorf("results %s: no captions to score", resPath)
	}
	return in, nil
}

// locate describes a bad record for a list: its position and what is wrong.
func locate(e *captionfile.Error) string {
	pos := "byte " + strconv.FormatInt(e.Offset, 10)
	if e.Line > 0 {
		pos = "line " + strconv.Itoa(e.Line)
	}
	return fmt.Sprintf("%s (%s: %v)", pos, e.Field, e.Err)
}

// writeScoreJSON writes the corpus scores as one JSON object: the score keys
// first, in order, then "images" and the scorers' extras.
func writeScoreJSON(w io.Writer, images int, out *scoreOutput) error {
	var b strings.Builder
	b.WriteString("{")
	for j, key := range out.keys {
		v, err := jsonFloat(out.corpus[j])
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		fmt.Fprintf(&b, "%s%q: %s", sep(j), key, v)
	}
	fmt.Fprintf(&b, "%s\"images\": %d", sep(len(out.keys)), images)
	for _, k := range slices.Sorted(maps.Keys(out.extra)) {
		v, err := json.Marshal(out.extra[k])
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		fmt.Fprintf(&b, ", %q: %s", k, v)
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func sep(i int) string {
	if i == 0 {
		return ""
	}
	return ", "
}

// jsonFloat formats a score as JSON (shortest form that reads back exactly).
func jsonFloat(v float64) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("score %v cannot be written as JSON: %w", v, err)
	}
	return string(b), nil
}

// writeScoreTable writes the corpus scores as an aligned table.
func writeScoreTable(w io.Writer, images int, out *scoreOutput) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "metric\tscore")
	for j, key := range out.keys {
		fmt.Fprintf(tw, "%s\t%.6f\n", key, out.corpus[j])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "(%d images)\n", images)
	return err
}

// writePerImage writes each image's scores like COCOEvalCap's imgToEval:
// {"<id>": {"image_id": <id>, "Bleu_1": ..., ...}, ...} in results order,
// the inner image_id a number when the id is one.
func writePerImage(path string, ids []string, out *scoreOutput) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--per-image: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("--per-image: %w", cerr)
		}
	}()
	w := bufio.NewWriterSize(f, 1<<16)
	w.WriteString("{")
	width := len(out.keys)
	for i, id := range ids {
		qid, _ := json.Marshal(id)
		inner := string(qid)
		if _, perr := strconv.ParseInt(id, 10, 64); perr == nil {
			inner = id
		}
		if i > 0 {
			w.WriteString(",")
		}
		fmt.Fprintf(w, "\n  %s: {\"image_id\": %s", qid, inner)
		for j, key := range out.keys {
			v, err := jsonFloat(out.perImage[i*width+j])
			if err != nil {
				return fmt.Errorf("--per-image: image %s %s: %w", id, key, err)
			}
			fmt.Fprintf(w, ", %q: %s", key, v)
		}
		w.WriteString("}")
	}
	w.WriteString("\n}\n")
	if err := w.Flush(); err != nil {
		return fmt.Errorf("--per-image: %w", err)
	}
	return nil
}
