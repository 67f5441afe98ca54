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
)

// `capeval agreement` prints a campaign's agreement dashboard: what GET
// /api/v1/campaigns/ID/agreement answers and the leaderboard document's
// "agreement" holds.

var agreementCommand = &command{
	name:    "agreement",
	summary: "print how much a campaign's annotators agree: alpha, kappas, each annotator against the rest",
	usage:   "--campaign NAME [--format json|table]",
	help: `Compute the campaign's agreement dashboard from the ratings the results use (excluded
annotators left out unless --include-excluded): per criterion, Krippendorff's alpha at the
nominal, ordinal and interval levels with a bootstrap interval over items (ordinal), Fleiss'
kappa (empty where it is undefined: items with unequal numbers of ratings, imported means), and
the number of items, ratings and annotators; per annotator, their ratings, gold accuracy, flags
and, for each criterion, the Spearman correlation of their ratings with the others' mean and how
alpha changes without them (a positive change: the others agree better without them).

--format json prints the API's document (with the Cohen kappa matrix between annotators);
table, the default, prints the two tables.`,
	flags: func(fs *flag.FlagSet, e *env) action {
		campaign := fs.String("campaign", "", "campaign `NAME` or id (required)")
		format := fs.String("format", "table", "output `format`: json or table")
		includeExcluded := fs.Bool("include-excluded", false, "count the ratings of excluded annotators too")
		tag := fs.String("tag", "", "only the images with this `TAG`")
		seed := fs.Int64("seed", 0, "bootstrap `SEED` (default: the campaign's selection seed)")
		resamples := fs.Int("resamples", 0, "bootstrap resamples `N` (default 1000)")
		return func(ctx context.Context, args []string) error {
			switch {
			case len(args) > 0:
				return usagef("unexpected argument %q (the campaign is given with --campaign)", args[0])
			case strings.TrimSpace(*campaign) == "":
				return usagef("--campaign is required (a campaign name or id; `capeval campaign list` shows them)")
			case *format != "json" && *format != "table":
				return usagef("--format %q: want json or table", *format)
			case *resamples < 0:
				return usagef("--resamples %d: want a positive number", *resamples)
			}
			_, store, log, err := e.setup(ctx)
			if err != nil {
				return err
			}
			defer store.Close()
			camp, err := annotation.NewCampaigns(store, log).Lookup(ctx, *campaign)
			if err != nil {
				return err
			}
			s := annotation.LeaderboardSettings{IncludeExcluded: *includeExcluded, Tag: *tag, Seed: *seed, Resamples: *resamples}
			a, err := leaderboardService(store, log).Agreement(ctx, camp.ID, s)
			if err != nil {
				return err
			}
			if *format == "json" {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(a)
			}
			return writeAgreementTable(e.stdout, a)
		}
	},
}

// num formats a statistic for the table ("" when undefined).
func num(n annotation.Number) string {
	if !n.Valid() {
		return ""
	}
	return fmt.Sprintf("%.3f", float64(n))
}

// writeAgreementTable prints the criteria and the annotators.
func writeAgreementTable(w io.Writer, a *annotation.Agreement) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CRITERION\tALPHA NOMINAL\tALPHA ORDINAL\tALPHA INTERVAL\tORDINAL 95% CI\tFLEISS KAPPA\tITEMS\tRATINGS\tANNOTATORS")
	for _, c := range a.Criteria {
		ci := ""
		if c.AlphaCI.Low.Valid() {
			ci = fmt.Sprintf("[%s, %s]", num(c.AlphaCI.Low), num(c.AlphaCI.High))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\n", c.Criterion, num(c.Alpha.Nominal), num(c.Alpha.Ordinal),
			num(c.Alpha.Interval), ci, num(c.FleissKappa), c.Items, c.Ratings, c.Annotators)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "ANNOTATOR\tRATINGS\tEXCLUDED\tGOLD ACCURACY\tFLAGS\tCRITERION\tITEMS\tREST CORRELATION\tALPHA CHANGE WITHOUT")
	for _, an := range a.Annotators {
		excluded := "no"
		if an.Excluded {
			excluded = "yes"
		}
		flags := strings.Join(an.Flags, ",")
		for k, c := range an.Criteria {
			if k == 0 {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s", an.Annotator, an.Ratings, excluded, num(an.GoldAccuracy), flags)
			} else {
				fmt.Fprint(tw, "\t\t\t\t")
			}
			fmt.Fprintf(tw, "\t%s\t%d\t%s\t%s\n", c.Criterion, c.Items, num(c.RestCorrelation), num(c.AlphaDelta))
		}
	}
	return tw.Flush()
}
