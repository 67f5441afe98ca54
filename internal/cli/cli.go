// Package cli is capeval's command line and its composition root: it reads
// the configuration, opens the database, applies migrations, builds the
// services and the HTTP server, and dispatches the subcommands (one file per
// subcommand, each parsing flags, calling a service and printing).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

// command is one subcommand: its one-line summary and its entry point. Each
// entry point parses its own flags (with -h explaining every flag) and
// returns an error, which main prints before exiting 1.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() map[string]command {
	return map[string]command{
		"serve":    {"run the web server (applies pending migrations first)", serveCommand},
		"migrate":  {"apply pending database migrations and exit", migrateCommand},
		"user":     {"manage accounts: add, list, disable, enable, set-password", userCommand},
		"campaign": {"manage campaigns: list, create, show, update (audited)", campaignCommand},
		"import":   {"import images, references and captioner outputs into a campaign", importCommand},
		"score":    {"score a COCO results file like COCOEvalCap (BLEU, ROUGE-L, CIDEr-D, CLIPScore)", scoreCommand},
		"eval":     {"run a campaign's auto-eval jobs to the end and print each captioner's scores", evalCommand},
		"select":   {"pre-rank captioners and preview or commit the human task queue (thresholds)", selectCommand},
		"models":   {"download and list CLIP model folders", modelsCommand},
		"config":   {"print the effective configuration, secrets redacted", configCommand},
		"version":  {"print the version", versionCommand},
	}
}

// commandOrder is the order of `capeval help`.
var commandOrder = []string{"serve", "migrate", "user", "campaign", "import", "eval", "select", "score", "models", "config", "version"}

// Run dispatches args (without the program name) to a subcommand and
// returns the process exit code; only main calls os.Exit.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if cmd, ok := commands()[args[1]]; ok {
				err := cmd.run(ctx, []string{"-h"}, stdout, stdout)
				return exitCode(err, args[1], stderr)
			}
		}
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "capeval: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return exitCode(cmd.run(ctx, args[1:], stdout, stderr), args[0], stderr)
}

func exitCode(err error, name string, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintf(stderr, "capeval %s: %v\n", name, err)
	return 1
}

// errUsage marks an error already reported by a flag set's usage output.
var errUsage = errors.New("usage error")

func usage(w io.Writer) {
	fmt.Fprintf(w, "capeval %s — evaluate image-captioning models with metrics and humans\n\nUsage: capeval COMMAND [flags]\n\nCommands:\n", versionString())
	for _, name := range commandOrder {
		fmt.Fprintf(w, "  %-8s %s\n", name, commands()[name].summary)
	}
	fmt.Fprintf(w, "  %-8s %s\n", "help", "show this help, or `capeval help COMMAND` for a command's flags")
	fmt.Fprint(w, "\nConfiguration comes from CAPEVAL_* environment variables: `capeval config` prints them.\n")
}

// newFlagSet returns a flag set that reports errors to the caller instead of
// exiting, with a usage text: the synopsis, the description, then the flags.
func newFlagSet(name, synopsis, description string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: capeval %s\n\n%s\n", synopsis, description)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprint(out, "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args, mapping a parse failure to errUsage (the flag
// package has already printed the problem and the usage).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}
