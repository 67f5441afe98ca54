// Package cli is capeval's command line and its composition root: it reads
// the configuration, opens the database, applies migrations, builds the
// services and the HTTP server, and dispatches the subcommands. Each
// subcommand is a file here that declares its help and flags once, parses
// them, calls one service method and prints the result.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"capeval/models"
	"capeval/server"
)

// command is one subcommand, declared once: `capeval help X`, `capeval X
// -h`, `capeval X --help` and README's command table are all generated from
// it, and its flags are registered by the same function that returns its
// action, so the help cannot drift from what is parsed.
type command struct {
	name string
	// summary is the one line of the command lists.
	summary string
	// usage follows "capeval NAME" in the synopsis: positional arguments
	// and the flags worth showing there ("CAMPAIGN [--commit]").
	usage string
	// help is the description under the synopsis.
	help string
	// flags registers the command's flags on fs and returns its action,
	// which runs with the positional arguments once fs is parsed. It is nil
	// for a command that only groups subcommands.
	flags func(fs *flag.FlagSet, e *env) action
	// subs are the subcommands (`user add`, `user list`, …).
	subs []*command
}

// action runs a parsed command with its positional arguments.
type action func(ctx context.Context, args []string) error

// commands lists every command in the order of `capeval help`.
func commands() []*command {
	return []*command{serveCommand, workerCommand, migrateCommand, backupCommand, userCommand, campaignCommand, importCommand,
		evalCommand, selectCommand, exportCommand, agreementCommand, scoreCommand, loadtestCommand, modelsCommand, configCommand, versionCommand}
}

func (c *command) sub(name string) *command {
	for _, s := range c.subs {
		if s.name == name {
			return s
		}
	}
	return nil
}

// env is what a command reads and writes besides its arguments: the
// standard streams and the environment that server.Config is read from.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// Run runs the command line args (without the program name) and returns
// the process exit code: 0, 1 for a failure, 2 for a usage error. Only main
// calls os.Exit.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return run(ctx, args, &env{stdin: os.Stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv})
}

func run(ctx context.Context, args []string, e *env) int {
	name, err := execute(ctx, args, e)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		if err != errUsage { // not reported yet
			fmt.Fprintf(e.stderr, "capeval %s: %v\n", name, err)
			fmt.Fprintf(e.stderr, "Run 'capeval help %s' for the usage.\n", name)
		}
		return 2
	}
	fmt.Fprintf(e.stderr, "capeval %s: %v\n", name, err)
	return 1
}

// errUsage marks a command line that is wrong (an unknown command or flag,
// a missing argument): the exit code is 2. On its own it means the usage
// was printed already.
var errUsage = errors.New("usage error")

// usageError is a wrong command line with its message.
type usageError struct{ msg string }

func (u *usageError) Error() string        { return u.msg }
func (u *usageError) Is(target error) bool { return target == errUsage }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "help" || arg == "-h" || arg == "--help" || arg == "-help"
}

// execute finds the command args name and runs it, returning the command's
// full name (for messages) and its error.
func execute(ctx context.Context, args []string, e *env) (string, error) {
	root := &command{subs: commands()}
	if len(args) == 0 {
		writeUsage(e.stderr)
		return "", errUsage
	}
	if isHelp(args[0]) {
		return "help", writeHelpOf(e.stdout, root, "", args[1:])
	}
	c := root.sub(args[0])
	if c == nil {
		fmt.Fprintf(e.stderr, "capeval: unknown command %q\n\n", args[0])
		writeUsage(e.stderr)
		return args[0], errUsage
	}
	return runCommand(ctx, e, c, c.name, args[1:])
}

// runCommand parses args for c (called full) and runs it, descending into
// subcommands: the one place where help and flags are parsed.
func runCommand(ctx context.Context, e *env, c *command, full string, args []string) (string, error) {
	if len(c.subs) > 0 {
		if len(args) == 0 {
			writeHelp(e.stderr, c, full)
			return full, errUsage
		}
		if isHelp(args[0]) {
			return full, writeHelpOf(e.stdout, c, full, args[1:])
		}
		s := c.sub(args[0])
		if s == nil {
			return full, usagef("unknown subcommand %q: want %s", args[0], subNames(c))
		}
		return runCommand(ctx, e, s, full+" "+s.name, args[1:])
	}
	fs := newFlagSet(full)
	act := c.flags(fs, e)
	pos, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		writeHelp(e.stdout, c, full)
		return full, nil
	}
	if err != nil {
		return full, usagef("%v", err)
	}
	return full, act(ctx, pos)
}

// writeHelpOf writes the help of the command path names under c (c's own
// help for an empty path) to w.
func writeHelpOf(w io.Writer, c *command, full string, path []string) error {
	for _, name := range path {
		s := c.sub(name)
		if s == nil {
			if full == "" {
				return usagef("no command %q: want %s", name, subNames(c))
			}
			return usagef("no subcommand %q: want %s", name, subNames(c))
		}
		c, full = s, strings.TrimSpace(full+" "+s.name)
	}
	if full == "" {
		writeUsage(w)
	} else {
		writeHelp(w, c, full)
	}
	return nil
}

func subNames(c *command) string {
	names := make([]string, len(c.subs))
	for i, s := range c.subs {
		names[i] = s.name
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// newFlagSet returns a flag set that reports errors to its caller and
// prints nothing itself: runCommand prints the help and the errors.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseArgs parses flags wherever they stand among the positional
// arguments (`import 3 file.json --kind references` and `import --kind
// references 3 file.json` are one command line) and returns the positional
// ones in order. "--" ends the flags; a lone "-" is positional (standard
// input).
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		// A flag that takes a value takes the next argument, whatever it
		// looks like, as the flag package does.
		if f := fs.Lookup(name); f != nil && !isBoolFlag(f) && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	if err := fs.Parse(flags); err != nil {
		return nil, err
	}
	return pos, nil
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// wantArgs checks the number of positional arguments: n exactly, what
// naming them in the message ("one campaign (its id or name)").
func wantArgs(args []string, n int, cmd, what string) error {
	switch {
	case len(args) == n:
		return nil
	case n == 0:
		return usagef("%s takes no arguments, got %q", cmd, args)
	}
	return usagef("%s takes %s, got %d arguments", cmd, what, len(args))
}

// writeJSON writes v as indented JSON: the API's documents, for scripts.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// noArgs declares the action of a command that takes no arguments and no
// flags of its own.
func noArgs(name string, run func(ctx context.Context, e *env) error) func(*flag.FlagSet, *env) action {
	return func(_ *flag.FlagSet, e *env) action {
		return func(ctx context.Context, args []string) error {
			if err := wantArgs(args, 0, name, ""); err != nil {
				return err
			}
			return run(ctx, e)
		}
	}
}

// loadConfig reads server.Config from the environment and validates it.
func (e *env) loadConfig() (server.Config, error) {
	cfg, err := server.LoadConfig(e.getenv)
	if err != nil {
		return cfg, fmt.Errorf("configuration:\n%w", err)
	}
	return cfg, nil
}

// setup loads the configuration, opens the database and applies pending
// migrations: what every subcommand that touches the database shares.
func (e *env) setup(ctx context.Context) (server.Config, *models.Store, *slog.Logger, error) {
	cfg, err := e.loadConfig()
	if err != nil {
		return cfg, nil, nil, err
	}
	log := cfg.NewLogger(e.stderr)
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return cfg, nil, nil, fmt.Errorf("data directory: %w", err)
	}
	store, err := models.Open(ctx, cfg.DB, cfg.DataDir, log)
	if err != nil {
		return cfg, nil, nil, err
	}
	if _, err := store.Migrate(ctx); err != nil {
		store.Close()
		return cfg, nil, nil, err
	}
	return cfg, store, log, nil
}
