package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"capeval/annotation"
	"capeval/models"
)

var campaignCommand = &command{
	name:    "campaign",
	summary: "manage campaigns: list, create, show, update (audited)",
	usage:   "[flags]",
	help:    "Manage campaigns through the same service as the API: the same validation, the same audit log.",
	subs: []*command{
		{
			name:    "list",
			summary: "list campaigns with their counts",
			usage:   "[--format table|json]",
			help: "List every campaign, newest first, with its mode, status and counts (images, captioners, captions,\n" +
				"tasks) and who may annotate it.",
			flags: func(fs *flag.FlagSet, e *env) action {
				out := campaignOutput{w: e.stdout}
				format := formatFlag(fs)
				return func(ctx context.Context, args []string) error {
					if err := campaignArgs(args, 0, "campaign list", *format, &out); err != nil {
						return err
					}
					_, store, log, err := e.setup(ctx)
					if err != nil {
						return err
					}
					defer store.Close()
					list, err := annotation.NewCampaigns(store, log).List(ctx)
					if err != nil {
						return err
					}
					return out.list(list)
				}
			},
		},
		{
			name:    "create",
			summary: "create a campaign",
			usage:   "--name NAME [--mode likert|pairwise] [--rubric JSON|@FILE] [--annotators LIST] [flags]",
			help: "Create a campaign in status draft. Without --rubric it gets the default THumB-like rubric (precision,\n" +
				"recall, fluency, overall; each 1–5 with a label per point). Every problem of the input is listed\n" +
				"and nothing is created. The creation is recorded in the campaign's audit log.",
			flags: func(fs *flag.FlagSet, e *env) action {
				out := campaignOutput{w: e.stdout}
				format := formatFlag(fs)
				var f campaignFlags
				f.register(fs, "create")
				return func(ctx context.Context, args []string) error {
					if err := campaignArgs(args, 0, "campaign create", *format, &out); err != nil {
						return err
					}
					return f.change(ctx, e, fs, out, func(svc *annotation.Campaigns, actor int64) (*annotation.Campaign, error) {
						// A missing --name is reported by the service with
						// the input's other problems, all at once.
						in := annotation.NewCampaign{Rubric: f.rubric}
						if f.name != nil {
							in.Name = *f.name
						}
						if f.description != nil {
							in.Description = *f.description
						}
						if f.mode != nil {
							in.Mode = models.CampaignMode(*f.mode)
						}
						if f.annotators != nil {
							in.Annotators = *f.annotators
						}
						return svc.Create(ctx, actor, in)
					})
				}
			},
		},
		{
			name:    "show",
			summary: "show one campaign (by id or name), optionally with its audit log",
			usage:   "CAMPAIGN [--audit N] [--format table|json]",
			help: "Show a campaign (CAMPAIGN is its id or its name): settings, rubric, annotators, counts, thresholds\n" +
				"and blend weights; with --audit N also its N latest audit entries.",
			flags: func(fs *flag.FlagSet, e *env) action {
				out := campaignOutput{w: e.stdout}
				format := formatFlag(fs)
				audit := fs.Int("audit", 0, fmt.Sprintf("also show the `N` latest audit entries (at most %d)", annotation.MaxAuditLimit))
				return func(ctx context.Context, args []string) error {
					if err := campaignArgs(args, 1, "campaign show", *format, &out); err != nil {
						return err
					}
					if *audit < 0 || *audit > annotation.MaxAuditLimit {
						return usagef("--audit %d: want 0..%d", *audit, annotation.MaxAuditLimit)
					}
					_, store, log, err := e.setup(ctx)
					if err != nil {
						return err
					}
					defer store.Close()
					svc := annotation.NewCampaigns(store, log)
					c, err := svc.Lookup(ctx, args[0])
					if err != nil {
						return err
					}
					var entries []annotation.AuditRecord
					if *audit > 0 {
						if entries, err = svc.AuditLog(ctx, c.ID, *audit); err != nil {
							return err
						}
					}
					return out.campaign(c, entries, *audit > 0, true)
				}
			},
		},
		{
			name:    "update",
			summary: "change a campaign's settings, status, annotators, thresholds or blend weights",
			usage:   "CAMPAIGN [--name NAME] [--status draft|collecting|closed] [flags]",
			help: "Change a campaign (CAMPAIGN is its id or its name); flags not given leave their setting as it is.\n" +
				"Rules: the status only moves forward (draft → collecting → closed); a closed campaign keeps all but\n" +
				"its name and description; once tasks exist the mode and the rubric's criterion keys are fixed.\n" +
				"Each kind of change is recorded in the audit log (who, before, after, when) in the same transaction;\n" +
				"a refused change changes nothing.",
			flags: func(fs *flag.FlagSet, e *env) action {
				out := campaignOutput{w: e.stdout}
				format := formatFlag(fs)
				var f campaignFlags
				f.register(fs, "update")
				return func(ctx context.Context, args []string) error {
					if err := campaignArgs(args, 1, "campaign update", *format, &out); err != nil {
						return err
					}
					return f.change(ctx, e, fs, out, func(svc *annotation.Campaigns, actor int64) (*annotation.Campaign, error) {
						cur, err := svc.Lookup(ctx, args[0])
						if err != nil {
							return nil, err
						}
						p := annotation.CampaignPatch{Name: f.name, Description: f.description, Rubric: f.rubric,
							Annotators: f.annotators, Thresholds: f.thresholds, BlendWeights: f.blendWeights,
							Instructions: f.instructions}
						if f.mode != nil {
							p.Mode = (*models.CampaignMode)(f.mode)
						}
						if f.status != nil {
							p.Status = (*models.CampaignStatus)(f.status)
						}
						return svc.Update(ctx, actor, cur.ID, p)
					})
				}
			},
		},
	},
}

func formatFlag(fs *flag.FlagSet) *string {
	return fs.String("format", "table", "output `format`: table or json")
}

// campaignArgs checks the positional arguments (n: 0, or 1 campaign) and
// the format, and sets the output's format.
func campaignArgs(args []string, n int, cmd, format string, out *campaignOutput) error {
	if err := wantArgs(args, n, cmd, "one campaign (its id or name)"); err != nil {
		return err
	}
	if format != "table" && format != "json" {
		return usagef("--format %q: want table or json", format)
	}
	out.json = format == "json"
	return nil
}

// campaignFlags are the settings flags of create and update; a nil field
// is a flag not given.
type campaignFlags struct {
	name, description, mode, status, instructions     *string
	annotators                                        *[]string
	rubric, thresholds, blendWeights                  models.JSON
	as                                                string
	rubricArg, thresholdsArg, blendArg, annotatorsArg string
	instructionsArg                                   string
}

func (f *campaignFlags) register(fs *flag.FlagSet, sub string) {
	fs.Func("name", "campaign `NAME`: 1–200 characters, unique", func(v string) error { f.name = &v; return nil })
	fs.Func("description", "free `TEXT` describing the campaign", func(v string) error { f.description = &v; return nil })
	fs.Func("mode", "rating `MODE`: likert (each caption on the rubric) or pairwise (A/B); default likert",
		func(v string) error { f.mode = &v; return nil })
	fs.StringVar(&f.rubricArg, "rubric", "", "the rubric as inline `JSON` or @FILE (@- reads standard input); null: the default rubric")
	fs.StringVar(&f.annotatorsArg, "annotators", "", "comma-separated user ids or emails who may annotate it (`LIST`); empty: every annotator")
	fs.StringVar(&f.as, "as", "", "record the change in the audit log as made by the account with this `EMAIL` (default: the CLI, no account)")
	if sub == "update" {
		fs.Func("status", "new `STATUS`: collecting or closed (only forward)", func(v string) error { f.status = &v; return nil })
		fs.StringVar(&f.thresholdsArg, "thresholds", "", "selection thresholds as inline `JSON` or @FILE; null clears them")
		fs.StringVar(&f.blendArg, "blend-weights", "", "blend weights as inline `JSON` or @FILE; null clears them")
		fs.StringVar(&f.instructionsArg, "instructions", "",
			"what annotators read before their first task and on ?, as inline `TEXT` or @FILE; empty clears them")
	}
}

// change runs a create or an update: it reads the document flags first (a
// typo in a path fails fast and touches nothing), opens the database,
// resolves --as, and prints the campaign that fn returns.
func (f *campaignFlags) change(ctx context.Context, e *env, fs *flag.FlagSet, out campaignOutput,
	fn func(svc *annotation.Campaigns, actor int64) (*annotation.Campaign, error)) error {
	if err := f.load(fs, e.stdin); err != nil {
		return err
	}
	_, store, log, err := e.setup(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	actor, err := actorID(ctx, store, f.as)
	if err != nil {
		return err
	}
	c, err := fn(annotation.NewCampaigns(store, log), actor)
	if err != nil {
		return err
	}
	return out.campaign(c, nil, false, false)
}

// load reads the document flags that were given (inline JSON or @FILE) and
// splits the annotator list.
func (f *campaignFlags) load(fs *flag.FlagSet, stdin io.Reader) error {
	var err error
	fs.Visit(func(fl *flag.Flag) {
		if err != nil {
			return
		}
		switch fl.Name {
		case "rubric":
			f.rubric, err = readDocument("--rubric", f.rubricArg, stdin)
		case "thresholds":
			f.thresholds, err = readDocument("--thresholds", f.thresholdsArg, stdin)
		case "blend-weights":
			f.blendWeights, err = readDocument("--blend-weights", f.blendArg, stdin)
		case "instructions":
			var text string
			text, err = readFlagText("--instructions", f.instructionsArg, stdin)
			f.instructions = &text
		case "annotators":
			list := []string{}
			for _, part := range strings.Split(f.annotatorsArg, ",") {
				if part = strings.TrimSpace(part); part != "" {
					list = append(list, part)
				}
			}
			f.annotators = &list
		}
	})
	return err
}

// actorID resolves --as to a user ID; 0 (recorded as no account) without
// it.
func actorID(ctx context.Context, store *models.Store, email string) (int64, error) {
	if email == "" {
		return 0, nil
	}
	u, err := store.UserByEmail(ctx, email)
	if errors.Is(err, models.ErrNotFound) {
		return 0, fmt.Errorf("--as %s: no account with this email", email)
	}
	if err != nil {
		return 0, err
	}
	if u.Disabled {
		return 0, fmt.Errorf("--as %s: the account is disabled", email)
	}
	return u.ID, nil
}

// readDocument returns the JSON of a flag: the value itself, or the
// contents of the file after @ (standard input for @-).
func readDocument(flagName, v string, stdin io.Reader) (models.JSON, error) {
	if !strings.HasPrefix(v, "@") && strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("%s is empty: give inline JSON, @FILE, or null", flagName)
	}
	text, err := readFlagText(flagName, v, stdin)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("%s: %s is empty", flagName, v[1:])
	}
	return models.JSON(text), nil
}

// readFlagText returns a flag's value, or with @FILE the file's content
// (@- reads standard input), bounded like every document.
func readFlagText(flagName, v string, stdin io.Reader) (string, error) {
	if !strings.HasPrefix(v, "@") {
		return v, nil
	}
	path := v[1:]
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, annotation.MaxDocumentBytes+1))
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", flagName, err)
	}
	return string(data), nil
}

// campaignOutput prints campaigns as tables or as the API's JSON.
type campaignOutput struct {
	w    io.Writer
	json bool
}

// list prints the campaigns; JSON has the shape of GET /api/v1/campaigns.
func (o campaignOutput) list(list []annotation.CampaignListItem) error {
	if o.json {
		return o.encode(map[string]any{"campaigns": list})
	}
	if len(list) == 0 {
		_, err := fmt.Fprintln(o.w, "no campaigns yet; create one with `capeval campaign create --name NAME`")
		return err
	}
	tw := tabwriter.NewWriter(o.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tMODE\tSTATUS\tIMAGES\tCAPTIONERS\tCAPTIONS\tTASKS\tANNOTATORS\tUPDATED")
	for _, x := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", x.ID, x.Name, x.Mode, x.Status,
			x.Counts.Images, x.Counts.Captioners, x.Counts.Captions, x.Counts.Tasks, annotatorCount(x.Annotators), x.UpdatedAt.UTC().Format(time.DateTime))
	}
	return tw.Flush()
}

func annotatorCount(n int64) string {
	if n == 0 {
		return "all"
	}
	return fmt.Sprint(n)
}

// campaign prints c; the rubric in full only with fullRubric (show), else
// its criterion keys (create and update echo what they did in a few lines).
func (o campaignOutput) campaign(c *annotation.Campaign, audit []annotation.AuditRecord, withAudit, fullRubric bool) error {
	if o.json {
		if !withAudit {
			return o.encode(c)
		}
		if audit == nil {
			audit = []annotation.AuditRecord{}
		}
		return o.encode(struct {
			*annotation.Campaign
			Audit []annotation.AuditRecord `json:"audit"`
		}{c, audit})
	}
	tw := tabwriter.NewWriter(o.w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "id:\t%d\n", c.ID)
	fmt.Fprintf(tw, "name:\t%s\n", c.Name)
	if c.Description != "" {
		fmt.Fprintf(tw, "description:\t%s\n", strings.ReplaceAll(c.Description, "\n", "\n\t"))
	}
	if c.Instructions != "" {
		fmt.Fprintf(tw, "instructions:\t%s\n", strings.ReplaceAll(c.Instructions, "\n", "\n\t"))
	}
	fmt.Fprintf(tw, "mode:\t%s\n", c.Mode)
	fmt.Fprintf(tw, "status:\t%s\n", c.Status)
	fmt.Fprintf(tw, "counts:\t%d images, %d captioners, %d captions, %d tasks\n",
		c.Counts.Images, c.Counts.Captioners, c.Counts.Captions, c.Counts.Tasks)
	if len(c.Annotators) == 0 {
		fmt.Fprintf(tw, "annotators:\tevery annotator\n")
	} else {
		names := make([]string, len(c.Annotators))
		for i, a := range c.Annotators {
			names[i] = fmt.Sprintf("%s (id %d)", a.Email, a.ID)
		}
		fmt.Fprintf(tw, "annotators:\t%s\n", strings.Join(names, ", "))
	}
	fmt.Fprintf(tw, "rubric:\t%s\n", strings.Join(c.Rubric.Keys(), ", "))
	fmt.Fprintf(tw, "thresholds:\t%s\n", c.Thresholds)
	fmt.Fprintf(tw, "blend weights:\t%s\n", c.BlendWeights)
	fmt.Fprintf(tw, "created:\t%s\n", c.CreatedAt.UTC().Format(time.DateTime))
	fmt.Fprintf(tw, "updated:\t%s\n", c.UpdatedAt.UTC().Format(time.DateTime))
	if err := tw.Flush(); err != nil {
		return err
	}
	if !fullRubric {
		return nil
	}
	fmt.Fprintln(o.w, "\nrubric (1–5):")
	for _, cr := range c.Rubric.Criteria {
		fmt.Fprintf(o.w, "  %s — %s: %s\n", cr.Key, cr.Name, cr.Description)
		for i, l := range cr.Scale.Labels {
			fmt.Fprintf(o.w, "      %d %s\n", cr.Scale.Min+i, l)
		}
	}
	if withAudit {
		fmt.Fprintln(o.w, "\naudit log (newest first):")
		if len(audit) == 0 {
			fmt.Fprintln(o.w, "  (empty)")
		}
		tw = tabwriter.NewWriter(o.w, 0, 4, 2, ' ', 0)
		for _, e := range audit {
			who := "cli"
			if e.Actor != nil {
				who = e.Actor.Email
			} else if e.ActorID != nil {
				who = fmt.Sprintf("user %d", *e.ActorID)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s → %s\n", e.CreatedAt.UTC().Format(time.DateTime), who, e.Action,
				shorten(string(e.Before)), shorten(string(e.After)))
		}
		return tw.Flush()
	}
	return nil
}

// shorten keeps audit lines readable; `--format json` has the documents whole.
func shorten(s string) string {
	if r := []rune(s); len(r) > 80 {
		return string(r[:77]) + "..."
	}
	return s
}

func (o campaignOutput) encode(v any) error { return writeJSON(o.w, v) }
