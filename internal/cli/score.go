package cli

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"capeval/autoeval"
	"capeval/server"
)

var scoreCommand = &command{
	name:    "score",
	summary: "score a COCO results file like COCOEvalCap (BLEU, ROUGE-L, CIDEr-D, CLIPScore)",
	usage:   "--annotations FILE --results FILE [flags]",
	help: `Score a captioning model's results like coco-caption's COCOEvalCap: every
image present in the results is scored against the reference captions the
annotations give for it, after the same PTB tokenization. Scores equal
pycocoevalcap's (BLEU and CIDEr-D to 1e-12, ROUGE-L exactly). CIDEr-D's
document frequencies come from the references of the scored images, so
scores depend on which images the results cover, as in COCOEvalCap.

Formats are told by extension (.json, .jsonl, .ndjson, .csv) and content.
Image ids may be JSON numbers or strings: 397133 and "397133" are one image.
A result for an image the annotations do not have, two results for one
image, or a record missing its image_id or caption is an error that lists
the offending ids or positions; nothing is scored then.

The CLIP metrics load ONNX Runtime from CAPEVAL_ONNXRUNTIME_LIB; --clip-model
and --device default to CAPEVAL_CLIP_MODEL and CAPEVAL_DEVICE.`,
	flags: func(fs *flag.FlagSet, e *env) action {
		var opts autoeval.ScoreFileOptions
		fs.StringVar(&opts.Annotations, "annotations", "", "reference captions `FILE`: a COCO captions annotation file\n"+
			`({"images": [...], "annotations": [{"image_id", "caption"}]}), or JSON Lines or CSV with image_id and caption`)
		fs.StringVar(&opts.Results, "results", "", "the captions to score, one per image (`FILE`): a COCO results file\n"+
			`([{"image_id", "caption"}]), JSON Lines or CSV`)
		var families strings.Builder
		for _, m := range autoeval.MetricFamilies {
			fmt.Fprintf(&families, "\n  %-12s %s", m.Name, m.Help)
		}
		metrics := fs.String("metrics", strings.Join(autoeval.DefaultFileMetrics, ","), "comma-separated metric families (`LIST`):"+families.String())
		perImage := fs.String("per-image", "", "also write each image's scores to `FILE` as a JSON object\n"+
			`image id -> {"image_id", scores...}, like COCOEvalCap's imgToEval`)
		format := fs.String("format", "table", "table or json (`FORMAT`); json has the keys Bleu_1..Bleu_4, ROUGE_L and CIDEr\n"+
			`at the top level, and "images" (the number of images scored) and "bleu_counts" beside them`)
		fs.IntVar(&opts.Workers, "workers", 0, "goroutines (and ONNX Runtime threads) for scoring (`N`; 0: all cores)")
		fs.StringVar(&opts.Images, "images", "", "CLIP metrics: the image folder (`DIR`); each image is DIR/file_name, with\n"+
			"file_name from the annotation file's images[] (as COCO does)")
		fs.StringVar(&opts.CLIP.ModelDir, "clip-model", "", "CLIP metrics: a CLIP model folder (`DIR`) in the Hugging Face ONNX layout\n"+
			"(default $CAPEVAL_CLIP_MODEL; get one with `capeval models pull`)")
		fs.StringVar(&opts.CLIP.Device, "device", "", "CLIP metrics: auto (CUDA when available, else CPU), cpu, cuda or cuda:N\n"+
			"(`DEVICE`; default $CAPEVAL_DEVICE, else auto)")
		return func(ctx context.Context, args []string) error {
			switch {
			case len(args) > 0:
				return usagef("unexpected argument %q (files are given with --annotations and --results)", args[0])
			case opts.Annotations == "":
				return usagef("--annotations is required (the reference captions)")
			case opts.Results == "":
				return usagef("--results is required (the captions to score)")
			case opts.Workers < 0:
				return usagef("--workers %d: want 0 (all cores) or more", opts.Workers)
			case *format != "table" && *format != "json":
				return usagef("--format %q: want table or json", *format)
			}
			var err error
			if opts.Metrics, err = autoeval.ParseMetricFamilies(*metrics); err != nil {
				return usagef("--metrics: %v", err)
			}
			// Scoring needs no database and no server: the configuration
			// only supplies the CLIP defaults.
			cfg, err := server.ParseConfig(e.getenv)
			if err != nil {
				return fmt.Errorf("configuration:\n%w", err)
			}
			opts.CLIP.ModelDir = cmp.Or(opts.CLIP.ModelDir, cfg.CLIPModel)
			opts.CLIP.Device = cmp.Or(opts.CLIP.Device, cfg.Device)
			opts.CLIP.LibraryPath, opts.CLIP.CUDAPlugin = cfg.ONNXRuntimeLib, cfg.CUDAPlugin
			opts.Logger = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			res, err := autoeval.ScoreFile(ctx, opts)
			if err != nil {
				return err
			}
			if *perImage != "" {
				if err := writePerImage(*perImage, res); err != nil {
					return err
				}
			}
			if *format == "json" {
				return writeScoreJSON(e.stdout, res)
			}
			return writeScoreTable(e.stdout, res)
		}
	},
}

// writeScoreJSON writes the corpus scores as one JSON object: the score keys
// first, in order, then "images" and the extras.
func writeScoreJSON(w io.Writer, res *autoeval.FileScores) error {
	var b strings.Builder
	b.WriteString("{")
	for j, key := range res.Keys {
		v, err := jsonFloat(res.Corpus[j])
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		fmt.Fprintf(&b, "%s%q: %s", sep(j), key, v)
	}
	fmt.Fprintf(&b, "%s\"images\": %d", sep(len(res.Keys)), len(res.ImageIDs))
	for _, k := range slices.Sorted(maps.Keys(res.Extra)) {
		v, err := json.Marshal(res.Extra[k])
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
func writeScoreTable(w io.Writer, res *autoeval.FileScores) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "metric\tscore")
	for j, key := range res.Keys {
		fmt.Fprintf(tw, "%s\t%.6f\n", key, res.Corpus[j])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "(%d images)\n", len(res.ImageIDs))
	return err
}

// writePerImage writes each image's scores like COCOEvalCap's imgToEval:
// {"<id>": {"image_id": <id>, "Bleu_1": ..., ...}, ...} in results order,
// the inner image_id a number when the id is one.
func writePerImage(path string, res *autoeval.FileScores) (err error) {
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
	width := len(res.Keys)
	for i, id := range res.ImageIDs {
		qid, _ := json.Marshal(id)
		inner := string(qid)
		if _, perr := strconv.ParseInt(id, 10, 64); perr == nil {
			inner = id
		}
		if i > 0 {
			w.WriteString(",")
		}
		fmt.Fprintf(w, "\n  %s: {\"image_id\": %s", qid, inner)
		for j, key := range res.Keys {
			v, err := jsonFloat(res.PerImage[i*width+j])
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
