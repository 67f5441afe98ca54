package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"capeval/annotation"
	"capeval/autoeval/textmetrics"
	"capeval/models"
)

// resultsFlags collects repeated --results NAME[@VERSION]=FILE flags.
type resultsFlags []annotation.ResultsFile

func (r *resultsFlags) String() string { return "" }

func (r *resultsFlags) Set(v string) error {
	who, file, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(who) == "" || file == "" {
		return fmt.Errorf("want NAME[@VERSION]=FILE, got %q", v)
	}
	name, version, _ := strings.Cut(who, "@")
	*r = append(*r, annotation.ResultsFile{SourceFile: annotation.SourceFile{Path: file},
		Captioner: strings.TrimSpace(name), Version: strings.TrimSpace(version)})
	return nil
}

var importCommand = &command{
	name:    "import",
	summary: "import images, references and captioner outputs into a campaign",
	usage:   "--campaign NAME [--images DIR|ZIP] [--references FILE] [--results NAME[@VERSION]=FILE]... [--ratings FILE] [flags]",
	help: "Import into the campaign NAME (its id or name), creating it when there is none (in --mode, default\n" +
		"likert): images from a folder or a .zip (JPEG, PNG, GIF, WebP; stored content-addressed in the data\n" +
		"directory), references (COCO captions annotation JSON, JSON Lines or CSV) and one results file per\n" +
		"captioner (COCO results JSON, JSON Lines or CSV). Every file is checked before anything is written;\n" +
		"problems are listed with their file, line or byte and field, and nothing changes. The import, with\n" +
		"the creation of the campaign, is one transaction. Importing the same files again changes nothing\n" +
		"and says so; a new VERSION is a new captioner; captions that differ from those of the same\n" +
		"NAME@VERSION are refused.\n\n" +
		"--ratings imports human judgments collected elsewhere (JSON Lines {\"image_id\", \"captioner\":\n" +
		"\"NAME[@VERSION]\", \"annotator\", \"ratings\": {\"criterion\": value}} or CSV image_id,captioner,annotator,\n" +
		"then one column per criterion); values may be real numbers within the criterion's scale. Without the\n" +
		"image files, --without-images takes the image ids from the references file. Every import warns\n" +
		"about captions that are one of their image's references after the metrics' tokenization.",
	flags: func(fs *flag.FlagSet, e *env) action {
		campaign := fs.String("campaign", "", "the campaign's `NAME` (or id); created when missing")
		mode := fs.String("mode", "", "rating `mode` of a campaign created here: likert or pairwise (default likert)")
		images := fs.String("images", "", "a `DIR` or ZIP of images")
		refs := fs.String("references", "", "reference captions `FILE`")
		var results resultsFlags
		fs.Var(&results, "results", "a captioner's outputs: `NAME[@VERSION]=FILE` (repeat for each captioner)")
		ratings := fs.String("ratings", "", "human judgments `FILE` (JSON Lines or CSV) of the campaign's captions")
		withoutImages := fs.Bool("without-images", false, "the image files are not at hand: the images are the ids of the references file")
		format := fs.String("format", "table", "output `format`: table or json")
		return func(ctx context.Context, args []string) error {
			switch {
			case len(args) > 0:
				return usagef("unexpected arguments %q: every input is a flag", args)
			case strings.TrimSpace(*campaign) == "":
				return usagef("--campaign is required")
			case *mode != "" && *mode != string(models.ModeLikert) && *mode != string(models.ModePairwise):
				return usagef("--mode %q: want likert or pairwise", *mode)
			case *format != "table" && *format != "json":
				return usagef("--format %q: want table or json", *format)
			}
			req := annotation.ImportRequest{Images: annotation.SourceFile{Path: *images}, References: annotation.SourceFile{Path: *refs}, Results: results,
				Ratings: annotation.SourceFile{Path: *ratings}, WithoutImages: *withoutImages}
			cfg, store, log, err := e.setup(ctx)
			if err != nil {
				return err
			}
			defer store.Close()
			importer := annotation.NewImporter(store, annotation.NewImageStore(cfg.DataDir), log, annotation.WithTokenizer(textmetrics.TokenizeString))
			plan, err := importer.Check(ctx, req)
			if err != nil {
				return err
			}
			defer plan.Close()
			rep, err := importer.ImportInto(ctx, annotation.ImportTarget{Campaign: *campaign, Mode: models.CampaignMode(*mode)}, plan)
			if err != nil {
				return err
			}
			if *format == "json" {
				return writeJSON(e.stdout, struct {
					Campaign string `json:"campaign"`
					Created  bool   `json:"created"`
					*annotation.ImportReport
				}{rep.Campaign.Name, rep.Created, rep.ImportReport})
			}
			printImportReport(e.stdout, rep.Campaign, rep.Created, rep.ImportReport)
			return nil
		}
	},
}

// captionerName is how the command line names a captioner: NAME@VERSION,
// or NAME for the empty version.
func captionerName(name, version string) string {
	if version == "" {
		return name
	}
	return name + "@" + version
}

func printImportReport(w io.Writer, c *annotation.Campaign, created bool, rep *annotation.ImportReport) {
	state := "existing"
	if created {
		state = "created"
	}
	fmt.Fprintf(w, "campaign %q (id %d, %s, %s)\n", c.Name, c.ID, c.Mode, state)
	fmt.Fprintf(w, "  images      %6d added  %6d unchanged\n", rep.Images.Added, rep.Images.Unchanged)
	fmt.Fprintf(w, "  references  %6d added  %6d unchanged\n", rep.References.Added, rep.References.Unchanged)
	for _, k := range rep.Captioners {
		who := captionerName(k.Name, k.Version)
		isNew := ""
		if k.New {
			isNew = " (new captioner)"
		}
		fmt.Fprintf(w, "  captions    %6d added  %6d unchanged  %s%s from %s\n", k.Captions.Added, k.Captions.Unchanged, who, isNew, k.File)
	}
	if r := rep.Ratings; r != nil {
		fmt.Fprintf(w, "  ratings     %6d added  %6d unchanged  of %d captions by %d annotators (%d records without one) from %s\n",
			r.Added, r.Unchanged, r.Captions, r.Annotators, r.Anonymous, r.File)
	}
	if rep.ImagesWithoutFile > 0 {
		fmt.Fprintf(w, "  images without a file: %d\n", rep.ImagesWithoutFile)
	}
	for _, warn := range rep.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	if rep.Unchanged {
		fmt.Fprintln(w, "nothing changed: everything was imported before")
	}
}
