package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"capeval/annotation"
	"capeval/models"
)

var selectCommand = &command{
	name:    "select",
	summary: "pre-rank captioners and preview or commit the human task queue (thresholds)",
	usage:   "CAMPAIGN [--thresholds JSON|@FILE] [--commit [--replace] [--fingerprint F]] [flags]",
	help: "Pre-rank a campaign's captioners by their automatic scores and preview the human task queue that its\n" +
		"thresholds select: captioners kept and dropped (with the reason), counts, estimated annotator hours and\n" +
		"examples. CAMPAIGN is its id or name. --thresholds previews a draft without storing it.\n\n" +
		"--commit creates exactly the previewed tasks in one transaction (audited); with --thresholds it stores\n" +
		"them in that transaction (audited, validated): a refused commit stores nothing. A campaign that has\n" +
		"tasks is refused unless --replace, which deletes\n" +
		"the untouched tasks and keeps those with ratings or a live lease. --fingerprint (from a preview) makes\n" +
		"the commit refuse if the data or the thresholds changed since. The thresholds document is described in\n" +
		"README.md (Selection).",
	flags: func(fs *flag.FlagSet, e *env) action {
		format := formatFlag(fs)
		thresholdsArg := fs.String("thresholds", "", "thresholds as inline `JSON` or @FILE (@- reads standard input)")
		commit := fs.Bool("commit", false, "create the tasks (default: preview only)")
		replace := fs.Bool("replace", false, "with --commit: replace the untouched tasks of a campaign that has some")
		fingerprint := fs.String("fingerprint", "", "with --commit: the preview's `FINGERPRINT`; refuse if the selection changed")
		examples := fs.Int("examples", annotation.DefaultExamples, fmt.Sprintf("how many queued tasks to show (`N`, 0..%d)", annotation.MaxExamples))
		as := fs.String("as", "", "record stored thresholds and the commit in the audit log as made by the account with this `EMAIL`")
		return func(ctx context.Context, args []string) error {
			if err := wantArgs(args, 1, "select", "one campaign (its id or name)"); err != nil {
				return err
			}
			if *format != "table" && *format != "json" {
				return usagef("--format %q: want table or json", *format)
			}
			if *examples < 0 || *examples > annotation.MaxExamples {
				return usagef("--examples %d: want 0..%d", *examples, annotation.MaxExamples)
			}
			// A preview with --replace shows what a replacing commit would
			// do; a fingerprint only means something to a commit.
			if *fingerprint != "" && !*commit {
				return usagef("--fingerprint needs --commit")
			}
			var draft models.JSON
			if *thresholdsArg != "" {
				var err error
				if draft, err = readDocument("--thresholds", *thresholdsArg, e.stdin); err != nil {
					return err
				}
			}
			return selection(ctx, e, args[0], draft, selectOptions{commit: *commit, replace: *replace,
				fingerprint: *fingerprint, examples: *examples, as: *as, json: *format == "json"})
		}
	},
}

// selectOptions are the parsed flags of `capeval select`.
type selectOptions struct {
	commit, replace bool
	fingerprint     string
	examples        int
	as              string
	json            bool
}

// selection previews or commits a campaign's selection through the same
// service as the API.
func selection(ctx context.Context, e *env, ref string, draft models.JSON, o selectOptions) error {
	_, store, log, err := e.setup(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	campaigns := annotation.NewCampaigns(store, log)
	svc := annotation.NewSelection(store, campaigns, log)
	c, err := campaigns.Lookup(ctx, ref)
	if err != nil {
		return err
	}
	out := selectOutput{w: e.stdout, json: o.json, campaign: c}
	if !o.commit {
		pv, err := svc.Preview(ctx, c.ID, annotation.PreviewOptions{Thresholds: draft, Replace: o.replace, Examples: o.examples})
		if err != nil {
			return err
		}
		pv.Examples = pv.Examples[:min(len(pv.Examples), o.examples)]
		return out.print(pv, nil)
	}
	actor, err := actorID(ctx, store, o.as)
	if err != nil {
		return err
	}
	// A draft is stored by the commit itself, in its transaction: a refused
	// commit stores nothing.
	res, err := svc.Commit(ctx, actor, c.ID, annotation.CommitOptions{Replace: o.replace, Fingerprint: o.fingerprint, Thresholds: draft})
	if err != nil {
		return err
	}
	res.Examples = res.Examples[:min(len(res.Examples), o.examples)]
	return out.print(&res.SelectionPreview, res)
}

// selectOutput prints a preview or a commit as tables or as the API's JSON.
type selectOutput struct {
	w        io.Writer
	json     bool
	campaign *annotation.Campaign
}

func (o selectOutput) print(pv *annotation.SelectionPreview, res *annotation.SelectionResult) error {
	if o.json {
		if res != nil {
			return writeJSON(o.w, res)
		}
		return writeJSON(o.w, pv)
	}
	tw := tabwriter.NewWriter(o.w, 0, 4, 2, ' ', 0)
	th, _ := json.Marshal(pv.Thresholds)
	fmt.Fprintf(tw, "campaign %d %q (%s), seed %d\nthresholds: %s\n\n", pv.CampaignID, o.campaign.Name, pv.Mode, pv.Seed, th)
	metrics := rankMetrics(pv)
	fmt.Fprintf(tw, "RANK\tCAPTIONER\tCAPTIONS\t%s\tCOMBINED\tKEPT\tITEMS\tREASON\n", strings.Join(metrics, "\t"))
	for _, c := range pv.Captioners {
		rank, combined := "-", "-"
		if c.Rank > 0 {
			rank = fmt.Sprint(c.Rank)
		}
		if c.Combined != nil {
			combined = fmt.Sprintf("%.4f", *c.Combined)
		}
		var vals []string
		for _, m := range metrics {
			if v, ok := c.Scores[m]; ok {
				vals = append(vals, fmt.Sprintf("%.4f", v))
			} else {
				vals = append(vals, "-")
			}
		}
		name := captionerName(c.Name, c.Version)
		kept := "no"
		if c.Kept {
			kept = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%d\t%s\n", rank, name, c.Captions, strings.Join(vals, "\t"), combined, kept, c.Items, c.Reason)
	}
	k := pv.Counts
	fmt.Fprintf(tw, "\ncaptioners kept:\t%d (dropped %d)\n", k.CaptionersKept, k.CaptionersDropped)
	fmt.Fprintf(tw, "images:\t%d\n", k.Images)
	fmt.Fprintf(tw, "items:\t%d (standing for %d captions; %d share another's rating; %d identical pairs skipped)\n",
		k.Items, k.CaptionsLinked, k.SharedRatings, k.IdenticalPairsSkipped)
	fmt.Fprintf(tw, "gold items:\t%d\n", k.GoldItems)
	fmt.Fprintf(tw, "tasks:\t%d\n", k.Tasks)
	fmt.Fprintf(tw, "ratings needed:\t%d (%d per item)\n", k.RatingsNeeded, pv.Thresholds.RatingsPerItem)
	fmt.Fprintf(tw, "estimated hours:\t%.2f (at %.0f s per rating)\n", pv.EstimatedHours, pv.SecondsPerRating)
	if k.ExistingTasks > 0 {
		fmt.Fprintf(tw, "existing tasks:\t%d (%d touched, kept by a replace; %d untouched; %d items already queued)\n",
			k.ExistingTasks, k.KeptTasks, k.ReplacedTasks, k.AlreadyQueued)
	}
	fmt.Fprintf(tw, "fingerprint:\t%s\n", pv.Fingerprint)
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, w := range pv.Warnings {
		fmt.Fprintf(o.w, "warning: %s\n", w)
	}
	if len(pv.Examples) > 0 {
		fmt.Fprintln(o.w, "\nexamples (queue order):")
		tw = tabwriter.NewWriter(o.w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "POS\tKIND\tIMAGE\tGOLD\tA\tB")
		for _, ex := range pv.Examples {
			gold, b := "", ""
			if ex.Gold {
				gold = "gold"
			}
			if ex.B != nil {
				b = side(*ex.B)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", ex.Position, ex.Kind, ex.ImageExternalID, gold, side(ex.A), b)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if res != nil {
		_, err := fmt.Fprintf(o.w, "\ncommitted: %d tasks created, %d untouched tasks deleted\n", res.Created, res.Deleted)
		return err
	}
	_, err := fmt.Fprintln(o.w, "\npreview only: nothing was written (commit with --commit)")
	return err
}

// rankMetrics are the score columns of the captioner table: the ranking's
// metrics and the minimums'.
func rankMetrics(pv *annotation.SelectionPreview) []string {
	var out []string
	add := func(m string) {
		for _, x := range out {
			if x == m {
				return
			}
		}
		out = append(out, m)
	}
	if pv.Thresholds.Rank.Metric != "" {
		add(pv.Thresholds.Rank.Metric)
	}
	for _, m := range annotation.Metrics {
		if _, ok := pv.Thresholds.Rank.Weights[m]; ok {
			add(m)
		}
	}
	for _, m := range annotation.Metrics {
		if _, ok := pv.Thresholds.MinScores[m]; ok {
			add(m)
		}
	}
	return out
}

func side(s annotation.ExampleSide) string {
	text := s.Text
	if r := []rune(text); len(r) > 60 {
		text = string(r[:57]) + "…"
	}
	if len(s.Captioners) == 0 {
		return fmt.Sprintf("%q", text)
	}
	return fmt.Sprintf("%q [%s]", text, strings.Join(s.Captioners, ", "))
}
