package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"capeval/annotation"
	"capeval/annotation/report"
	"capeval/autoeval/textmetrics"
	"capeval/models"
)

// `capeval export` writes a campaign's leaderboard for a review: the
// numbers of GET /api/v1/campaigns/ID/leaderboard in one of the report
// package's formats.

var exportCommand = &command{
	name:    "export",
	summary: "write a campaign's leaderboard, agreement and provenance as CSV, JSON, Markdown, HTML or PDF",
	usage:   "--campaign NAME --format csv|json|md|html|pdf [--weights SOURCE=W,...] [--out FILE]",
	help: `Compute the campaign's blended leaderboard (the human score and each metric, normalized and
weighted, with bootstrap intervals and ranks), its agreement statistics and human-metric
correlations, and write them in one format: csv (the leaderboard table; cells a spreadsheet
would take for a formula are escaped), json (the API's document), md (Markdown), html (a
self-contained report with its charts: no script, no external file) or pdf (that report printed
by headless Chromium, which must be on the PATH: the Debian package chromium).

The campaign's saved blend settings apply unless a flag replaces them; --weights replaces the
saved weights for this export, and a source it does not name weighs 0. SOURCE is human or a
metric name (CIDEr, Bleu_4, CLIPScore, ...). The same data and settings give the same bytes; the
provenance block records the settings, a hash of the data, the metric versions and the seed.`,
	flags: func(fs *flag.FlagSet, e *env) action {
		campaign := fs.String("campaign", "", "campaign `NAME` or id (required)")
		format := fs.String("format", "", "output `format`: csv, json, md, html or pdf (required)")
		weights := fs.String("weights", "", "blend `SOURCE=W,...` for this export (e.g. human=1,CIDEr=0.5); unnamed sources weigh 0")
		normalization := fs.String("normalization", "", "normalization across captioners: `zscore`, minmax or rank (default: the saved one)")
		consensus := fs.String("consensus", "", "an item's consensus: `mean` or z (each annotator's ratings z-normalized)")
		includeExcluded := fs.Bool("include-excluded", false, "count the ratings of excluded annotators too")
		tag := fs.String("tag", "", "only the images with this `TAG`")
		seed := fs.Int64("seed", 0, "bootstrap `SEED` (default: the campaign's selection seed)")
		resamples := fs.Int("resamples", 0, "bootstrap resamples `N` (default 1000)")
		out := fs.String("out", "", "write to `FILE` (replaced only once complete) instead of standard output")
		return func(ctx context.Context, args []string) error {
			switch {
			case len(args) > 0:
				return usagef("unexpected argument %q (the campaign is given with --campaign)", args[0])
			case strings.TrimSpace(*campaign) == "":
				return usagef("--campaign is required (a campaign name or id; `capeval campaign list` shows them)")
			case *format == "":
				return usagef("--format is required: csv, json, md, html or pdf")
			case *resamples < 0:
				return usagef("--resamples %d: want a positive number", *resamples)
			}
			f, err := report.ParseFormat(*format)
			if err != nil {
				return usagef("--format: %v", strings.TrimPrefix(err.Error(), "report: "))
			}
			s := annotation.LeaderboardSettings{Normalization: *normalization, Consensus: *consensus, IncludeExcluded: *includeExcluded,
				Tag: *tag, Seed: *seed, Resamples: *resamples}
			if *weights != "" {
				if s.Weights, err = annotation.ParseWeights(*weights); err != nil {
					return usagef("--weights: %v", err)
				}
			}
			var chromium string
			if f == report.PDF {
				// Before the computation: a missing browser is known at once.
				if chromium, err = report.FindChromium(); err != nil {
					return errors.New(strings.TrimPrefix(err.Error(), "report: "))
				}
			}
			return export(ctx, e, *campaign, f, s, *out, chromium)
		}
	},
}

// leaderboardService is the leaderboard service as the composition root
// builds it: the quality checks decide who is excluded, caption length is
// counted in the metrics' PTB tokens, and the provenance names this
// version.
func leaderboardService(store *models.Store, log *slog.Logger) *annotation.Leaderboards {
	return annotation.NewLeaderboards(store, annotation.NewQuality(store, log), log,
		annotation.WithLengthTokenizer(func(s string) int { return len(textmetrics.Tokenize(s)) }, "ptb_tokens"),
		annotation.WithVersion(versionString()))
}

func export(ctx context.Context, e *env, campaign string, f report.Format, s annotation.LeaderboardSettings, out, chromium string) error {
	_, store, log, err := e.setup(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	camp, err := annotation.NewCampaigns(store, log).Lookup(ctx, campaign)
	if err != nil {
		return err
	}
	lb, err := leaderboardService(store, log).Leaderboard(ctx, camp.ID, s)
	if err != nil {
		return err
	}
	if out == "" {
		return report.Write(ctx, e.stdout, lb, f, report.Options{Chromium: chromium})
	}
	return writeFileAtomic(out, func(w io.Writer) error {
		return report.Write(ctx, w, lb, f, report.Options{Chromium: chromium})
	})
}

// writeFileAtomic writes a file through a temporary one in the same folder,
// renamed into place once complete: a failed export leaves no half file.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, nothing is there
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("--out: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return nil
}
