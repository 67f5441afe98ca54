package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"capeval/annotation"
	"capeval/autoeval"
	"capeval/models"
)

// `capeval eval` runs a campaign's auto-eval jobs in this process, to the
// end, and prints each captioner's corpus scores: for each captioner the
// same numbers `capeval score` gives for its results file against the
// campaign's references.

var evalCommand = &command{
	name:    "eval",
	summary: "run a campaign's auto-eval jobs to the end and print each captioner's scores",
	usage:   "--campaign NAME [--format table|json] [--kinds text,clip]",
	help: `Run the auto-eval jobs of a campaign to the end in this process (progress on stderr) and
print each captioner's corpus scores. Text scores equal what ` + "`capeval score`" + ` gives for the
captioner's results file against the campaign's references. Work stored by an earlier or
interrupted run (scores of the current metric version) is not redone. A job of the same kind
queued for the server's workers is taken over; one running in another worker is followed
until it ends.

JSON output: {"captioners":[{"name","version","scores":{"Bleu_1":…,"CIDEr":…}}]}; a score that
was not computed is absent, never 0. CLIP metrics need CAPEVAL_CLIP_MODEL (a CLIP model folder:
` + "`capeval models pull`" + `) and CAPEVAL_ONNXRUNTIME_LIB.`,
	flags: func(fs *flag.FlagSet, e *env) action {
		campaign := fs.String("campaign", "", "campaign `NAME` or id (required)")
		format := fs.String("format", "table", "output `format`: table or json")
		kindsFlag := fs.String("kinds", "", "comma-separated job `kinds` to run: text, clip (default: text, and clip when CAPEVAL_CLIP_MODEL is set)")
		workers := fs.Int("workers", 0, "goroutines for the text metrics (`N`; 0: all cores)")
		quiet := fs.Bool("quiet", false, "no progress bar")
		return func(ctx context.Context, args []string) error {
			switch {
			case len(args) > 0:
				return usagef("unexpected argument %q (the campaign is given with --campaign)", args[0])
			case strings.TrimSpace(*campaign) == "":
				return usagef("--campaign is required (a campaign name or id; `capeval campaign list` shows them)")
			case *format != "table" && *format != "json":
				return usagef("--format %q: want table or json", *format)
			case *workers < 0:
				return usagef("--workers %d: want 0 (all cores) or more", *workers)
			}
			return eval(ctx, e, *campaign, *kindsFlag, *format == "json", *workers, *quiet)
		}
	},
}

func eval(ctx context.Context, e *env, campaign, kindsFlag string, asJSON bool, workers int, quiet bool) error {
	cfg, store, log, err := e.setup(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	kinds, err := parseKinds(kindsFlag, cfg.CLIPModel != "")
	if err != nil {
		return err
	}
	camp, err := annotation.NewCampaigns(store, log).Lookup(ctx, campaign)
	if err != nil {
		return err
	}

	scorers := autoeval.Scorers{Text: autoeval.DefaultTextScorer{Workers: workers}, ImagePath: annotation.NewImageStore(cfg.DataDir).Path}
	if slices.Contains(kinds, autoeval.KindCLIP) {
		enc, err := autoeval.OpenCLIP(clipOptions(cfg), store, log)
		if err != nil {
			return err
		}
		defer enc.Close()
		scorers.CLIP = enc
	}
	// The runner's and the service's info logs would break the progress
	// line; failures come back as errors.
	quietLog := slog.New(slog.DiscardHandler)
	runner := autoeval.NewRunner(store, scorers, quietLog)
	jobs := autoeval.NewJobs(store, scorers.CLIP != nil, quietLog)
	for _, kind := range kinds {
		bar := &progressBar{w: e.stderr, kind: kind, off: quiet, tty: isTerminal(e.stderr)}
		end, err := runner.RunToEnd(ctx, jobs, camp.ID, kind, bar.update)
		if err != nil {
			return err
		}
		bar.finish(end)
		switch end.Status {
		case models.JobDone:
		case models.JobQueued, models.JobRunning:
			// Interrupted (SIGINT): the job was handed back with its work kept.
			return fmt.Errorf("interrupted: %s job %d is back in the queue with %d of %d captions scored; run again (or let a server's worker) resume it",
				kind, end.ID, end.Done, end.Total)
		case models.JobCancelled:
			return fmt.Errorf("%s job %d was cancelled after %d of %d captions", kind, end.ID, end.Done, end.Total)
		default:
			return fmt.Errorf("%s job %d failed: %s", kind, end.ID, end.Error)
		}
		if end.Notes != "" {
			fmt.Fprintf(e.stderr, "%s job %d notes: %s\n", kind, end.ID, strings.ReplaceAll(end.Notes, "\n", "; "))
		}
	}
	rep, err := autoeval.CaptionerScoresReport(ctx, store, camp.ID, scorers.CLIP != nil || cfg.CLIPModel != "")
	if err != nil {
		return err
	}
	if asJSON {
		return writeEvalJSON(e.stdout, rep)
	}
	return writeEvalTable(e.stdout, rep, cfg.CLIPModel != "")
}

// parseKinds reads --kinds; the default is text, and clip when a CLIP model
// is configured. Asking for clip without one is an error saying how to
// enable it.
func parseKinds(s string, clipConfigured bool) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		if clipConfigured {
			return []string{autoeval.KindText, autoeval.KindCLIP}, nil
		}
		return []string{autoeval.KindText}, nil
	}
	asked := map[string]bool{}
	for _, k := range strings.Split(s, ",") {
		k = strings.ToLower(strings.TrimSpace(k))
		if k == "" {
			continue
		}
		if !slices.Contains(autoeval.Kinds, k) {
			return nil, fmt.Errorf("--kinds: unknown kind %q (want %s)", k, strings.Join(autoeval.Kinds, ", "))
		}
		asked[k] = true
	}
	if len(asked) == 0 {
		return nil, errors.New("--kinds names no kind")
	}
	if asked[autoeval.KindCLIP] && !clipConfigured {
		return nil, fmt.Errorf("--kinds clip: %s", autoeval.CLIPUnavailableMessage)
	}
	var out []string
	for _, k := range autoeval.Kinds { // run order, whatever the order asked
		if asked[k] {
			out = append(out, k)
		}
	}
	return out, nil
}

// progressBar draws one line on stderr, redrawn in place on a terminal:
// "text  [#########-----------]  96/192  50%  812.3 captions/s  ETA 0s".
// Elsewhere (a log file, CI) it writes a line at each tenth of the work.
type progressBar struct {
	w    io.Writer
	kind string
	off  bool
	tty  bool
	last time.Time
	drew bool
	// Not on a terminal: lines written, the tenth of the last one, and
	// whether it showed the end.
	lines  int
	decile int
	ended  bool
	// following: the job turned out to run in another worker.
	following bool
}

// update shows j; the first poll of a job another worker runs says so.
func (b *progressBar) update(j *autoeval.Job, following bool) {
	if following && !b.following {
		b.following = true
		b.newline()
		fmt.Fprintf(b.w, "%s job %d is running in another worker; following it\n", b.kind, j.ID)
	}
	b.show(j)
}

func (b *progressBar) show(v *autoeval.Job) {
	if b.off || (time.Since(b.last) < 100*time.Millisecond && !v.Ended()) {
		return
	}
	b.last = time.Now()
	const width = 24
	filled, pct := 0, 0.0
	if v.Total > 0 {
		pct = float64(v.Done) / float64(v.Total)
		filled = int(pct * width)
	}
	line := fmt.Sprintf("%-4s [%s%s] %d/%d %3.0f%%", b.kind, strings.Repeat("#", filled), strings.Repeat("-", width-filled), v.Done, v.Total, 100*pct)
	if v.Rate > 0 {
		line += fmt.Sprintf("  %.1f captions/s", v.Rate)
	}
	if v.ETASeconds != nil {
		line += "  ETA " + (time.Duration(*v.ETASeconds) * time.Second).Round(time.Second).String()
	}
	if !b.tty {
		decile := int(10 * pct)
		if b.lines > 0 && decile == b.decile && !(v.Ended() && !b.ended) {
			return
		}
		b.decile, b.ended = decile, v.Ended()
		b.lines++
		fmt.Fprintln(b.w, line)
		return
	}
	fmt.Fprintf(b.w, "\r%-80s", line)
	b.drew = true
}

func (b *progressBar) finish(j *autoeval.Job) {
	if b.off {
		return
	}
	b.last = time.Time{}
	b.show(j)
	b.newline()
}

// newline ends a line redrawn in place.
func (b *progressBar) newline() {
	if b.drew {
		fmt.Fprintln(b.w)
		b.drew = false
	}
}

// writeEvalJSON writes {"captioners":[{"name","version","scores":{…}}]},
// scores in report order, each written so that it reads back exactly.
func writeEvalJSON(w io.Writer, rep *autoeval.CaptionerReport) error {
	var b strings.Builder
	b.WriteString("{\"captioners\": [")
	for i, c := range rep.Captioners {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n  {\"name\": %s, \"version\": %s, \"scores\": {", quoteJSON(c.Name), quoteJSON(c.Version))
		k := 0
		for _, name := range autoeval.ScoreNames {
			v, ok := c.Scores[name]
			if !ok {
				continue
			}
			s, err := jsonFloat(v)
			if err != nil {
				return fmt.Errorf("captioner %s %s: %w", c.Name, name, err)
			}
			fmt.Fprintf(&b, "%s%q: %s", sep(k), name, s)
			k++
		}
		b.WriteString("}}")
	}
	b.WriteString("\n]}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// writeEvalTable writes one row per captioner, one column per score; a
// score that was not computed shows as "-". Without a CLIP model a line
// says why CLIPScore is missing.
func writeEvalTable(w io.Writer, rep *autoeval.CaptionerReport, clipConfigured bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "captioner\tversion\tcaptions")
	for _, m := range rep.Metrics {
		fmt.Fprintf(tw, "\t%s", m)
	}
	fmt.Fprintln(tw)
	for _, c := range rep.Captioners {
		fmt.Fprintf(tw, "%s\t%s\t%d", c.Name, c.Version, c.Captions)
		for _, m := range rep.Metrics {
			if v, ok := c.Scores[m]; ok {
				fmt.Fprintf(tw, "\t%.6f", v)
			} else {
				fmt.Fprint(tw, "\t-")
			}
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !clipConfigured {
		_, err := fmt.Fprintln(w, "("+autoeval.CLIPUnavailableMessage+")")
		return err
	}
	return nil
}
