package cli

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite README.md's generated command table")

// commandPaths lists every command and subcommand as its words.
func commandPaths() [][]string {
	var out [][]string
	var walk func(c *command, path []string)
	walk = func(c *command, path []string) {
		out = append(out, path)
		for _, s := range c.subs {
			walk(s, append(slices.Clone(path), s.name))
		}
	}
	for _, c := range commands() {
		walk(c, []string{c.name})
	}
	return out
}

// TestHelpIsOneBlock: for every command, `capeval help X`, `capeval X -h`
// and `capeval X --help` print the same block on stdout and exit 0; the
// block starts with the synopsis and lists every flag the command parses.
func TestHelpIsOneBlock(t *testing.T) {
	setEnv(t)
	for _, path := range commandPaths() {
		name := strings.Join(path, " ")
		t.Run(name, func(t *testing.T) {
			var blocks []string
			for _, args := range [][]string{
				append([]string{"help"}, path...),
				append(slices.Clone(path), "-h"),
				append(slices.Clone(path), "--help"),
			} {
				code, out, errOut := cli(t, "", args...)
				if code != 0 || errOut != "" {
					t.Fatalf("%q: exit %d, stderr %q", args, code, errOut)
				}
				blocks = append(blocks, out)
			}
			if blocks[0] != blocks[1] || blocks[0] != blocks[2] {
				t.Fatalf("help differs:\nhelp X:\n%s\nX -h:\n%s\nX --help:\n%s", blocks[0], blocks[1], blocks[2])
			}
			if !strings.HasPrefix(blocks[0], "Usage: capeval "+name) {
				t.Errorf("help does not start with the synopsis:\n%s", blocks[0])
			}
			c := lookup(path)
			if c.summary == "" || c.help == "" {
				t.Errorf("%s has no summary or no description", name)
			}
			if c.flags == nil {
				for _, s := range c.subs {
					if !strings.Contains(blocks[0], "capeval "+name+" "+s.name) {
						t.Errorf("help lacks subcommand %s:\n%s", s.name, blocks[0])
					}
				}
				return
			}
			fs := newFlagSet(name)
			c.flags(fs, &env{})
			fs.VisitAll(func(f *flag.Flag) {
				if !strings.Contains(blocks[0], "  --"+f.Name) {
					t.Errorf("help lacks --%s:\n%s", f.Name, blocks[0])
				}
			})
		})
	}
	// The list of commands names every one.
	_, out, _ := cli(t, "", "help")
	for _, c := range commands() {
		if !strings.Contains(out, "  "+c.name+" ") {
			t.Errorf("`capeval help` lacks %s", c.name)
		}
	}
}

func lookup(path []string) *command {
	c := &command{subs: commands()}
	for _, name := range path {
		c = c.sub(name)
	}
	return c
}

// TestUsageErrors: a wrong command line exits 2 and says what is wrong on
// stderr, whichever level it is wrong at.
func TestUsageErrors(t *testing.T) {
	setEnv(t)
	tests := []struct {
		args    []string
		wantErr string
	}{
		{nil, "Usage: capeval COMMAND"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"help", "frobnicate"}, `no command "frobnicate"`},
		{[]string{"help", "user", "remove"}, `no subcommand "remove": want add, list, disable, enable or set-password`},
		{[]string{"user"}, "Usage: capeval user add|list"},
		{[]string{"models", "fetch"}, `unknown subcommand "fetch": want pull or list`},
		{[]string{"campaign", "list", "--nope"}, "flag provided but not defined: -nope"},
		{[]string{"campaign", "list", "extra"}, `campaign list takes no arguments, got ["extra"]`},
		{[]string{"version", "--format", "json"}, "flag provided but not defined: -format"},
		{[]string{"select", "1", "2"}, "select takes one campaign (its id or name), got 2 arguments"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := cli(t, "", tt.args...)
			if code != 2 || out != "" || !strings.Contains(errOut, tt.wantErr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 2 and %q on stderr", code, out, errOut, tt.wantErr)
			}
		})
	}
}

// TestParseArgs: flags may stand before, between or after the positional
// arguments; "--" ends them.
func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantPos []string
		want    string // kind=… all=… n=…
		wantErr string
	}{
		{"flags after the arguments", []string{"3", "file.json", "--kind", "references"}, []string{"3", "file.json"}, "kind=references all=false n=0", ""},
		{"flags before and between", []string{"--n", "2", "3", "--all", "file.json"}, []string{"3", "file.json"}, "kind= all=true n=2", ""},
		{"a value that looks like a flag", []string{"--kind", "-x", "a"}, []string{"a"}, "kind=-x all=false n=0", ""},
		{"name=value forms", []string{"a", "-kind=refs", "--all=false", "--n=4"}, []string{"a"}, "kind=refs all=false n=4", ""},
		{"a bool flag takes no value", []string{"--all", "a"}, []string{"a"}, "kind= all=true n=0", ""},
		{"-- ends the flags", []string{"a", "--", "--kind", "b"}, []string{"a", "--kind", "b"}, "kind= all=false n=0", ""},
		{"a lone dash is an argument", []string{"-", "--all"}, []string{"-"}, "kind= all=true n=0", ""},
		{"unknown flag", []string{"a", "--bogus"}, nil, "", "flag provided but not defined: -bogus"},
		{"missing value", []string{"a", "--kind"}, nil, "", "flag needs an argument: -kind"},
		{"bad number", []string{"--n", "two"}, nil, "", `invalid value "two" for flag -n`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFlagSet("test")
			kind := fs.String("kind", "", "")
			all := fs.Bool("all", false, "")
			n := fs.Int("n", 0, "")
			pos, err := parseArgs(fs, tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf("kind=%s all=%v n=%d", *kind, *all, *n)
			if !slices.Equal(pos, tt.wantPos) || got != tt.want {
				t.Errorf("positional %q, flags %s; want %q, %s", pos, got, tt.wantPos, tt.want)
			}
		})
	}
	fs := newFlagSet("test")
	if _, err := parseArgs(fs, []string{"a", "-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h after an argument: %v, want flag.ErrHelp", err)
	}
}

// TestREADMECommands: README's command table is the one the declarations
// generate (refresh it with `go test ./internal/cli -run TestREADMECommands
// -update`).
func TestREADMECommands(t *testing.T) {
	const begin, end = "<!-- commands: generated from internal/cli -->\n", "<!-- end of commands -->\n"
	path := filepath.Join("..", "..", "README.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the markers %q and %q around the command table", begin, end)
	}
	want := markdownCommands()
	if got := readme[i+len(begin) : j]; got != want {
		if *update {
			if err := os.WriteFile(path, []byte(readme[:i+len(begin)]+want+readme[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("README.md's command table is stale; run `go test ./internal/cli -run TestREADMECommands -update`.\ngot:\n%s\nwant:\n%s", got, want)
	}
}
