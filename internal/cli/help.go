package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// writeUsage writes the list of commands: `capeval help`.
func writeUsage(w io.Writer) {
	fmt.Fprintf(w, "capeval %s — evaluate image-captioning models with metrics and humans\n\nUsage: capeval COMMAND [flags]\n\nCommands:\n", versionString())
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "  %-8s %s\n", "help", "show this help, or `capeval help COMMAND` for a command's flags")
	fmt.Fprint(w, "\nConfiguration comes from CAPEVAL_* environment variables: `capeval config` prints them.\n")
}

// synopsis is the usage line of c, called full: "capeval user add --email E …".
func synopsis(c *command, full string) string {
	s := "capeval " + full
	if len(c.subs) > 0 {
		names := make([]string, len(c.subs))
		for i, sub := range c.subs {
			names[i] = sub.name
		}
		s += " " + strings.Join(names, "|")
	}
	if c.usage != "" {
		s += " " + c.usage
	}
	return s
}

// writeHelp writes the help block of c, called full: the synopsis, the
// description, then the subcommands or the flags.
func writeHelp(w io.Writer, c *command, full string) {
	fmt.Fprintf(w, "Usage: %s\n", synopsis(c, full))
	if c.help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(c.help, "\n"))
	}
	if len(c.subs) > 0 {
		width := 0
		for _, s := range c.subs {
			width = max(width, len(s.name))
		}
		fmt.Fprint(w, "\nSubcommands:\n")
		for _, s := range c.subs {
			fmt.Fprintf(w, "  %-*s  %s\n", width, s.name, s.summary)
			fmt.Fprintf(w, "  %-*s  %s\n", width, "", synopsis(s, full+" "+s.name))
		}
		fmt.Fprintf(w, "\n`capeval %s SUBCOMMAND -h` explains its flags.\n", full)
		return
	}
	fs := newFlagSet(full)
	c.flags(fs, &env{})
	fmt.Fprint(w, "\nFlags:\n")
	writeFlags(w, fs)
}

// flagColumn is where flag descriptions start.
const flagColumn = 26

// writeFlags lists the flags of fs, in name order, with their value names
// (from the backquoted word of their usage) and non-empty defaults; usage
// lines after the first are indented under the first.
func writeFlags(w io.Writer, fs *flag.FlagSet) {
	line := func(spec, usage string) {
		lines := strings.Split(usage, "\n")
		if len(spec) > flagColumn-4 {
			fmt.Fprintf(w, "  %s\n%s%s\n", spec, strings.Repeat(" ", flagColumn), lines[0])
		} else {
			fmt.Fprintf(w, "  %-*s  %s\n", flagColumn-4, spec, lines[0])
		}
		for _, l := range lines[1:] {
			fmt.Fprintf(w, "%s%s\n", strings.Repeat(" ", flagColumn), l)
		}
	}
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		spec := "--" + f.Name
		if isBoolFlag(f) {
			name = ""
		}
		if name != "" {
			spec += " " + name
		}
		switch f.DefValue {
		case "", "0", "false", "[]":
		default:
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		line(spec, usage)
	})
	line("-h, --help", "show this help")
}

// markdownCommands is README's command table, generated from the
// declarations: one row per command that runs (subcommands included).
func markdownCommands() string {
	var b strings.Builder
	b.WriteString("| command | does |\n| --- | --- |\n")
	var walk func(c *command, full string)
	walk = func(c *command, full string) {
		if len(c.subs) == 0 {
			syn := strings.ReplaceAll(synopsis(c, full), "|", `\|`)
			fmt.Fprintf(&b, "| `%s` | %s |\n", syn, strings.ReplaceAll(c.summary, "|", `\|`))
			return
		}
		for _, s := range c.subs {
			walk(s, full+" "+s.name)
		}
	}
	for _, c := range commands() {
		walk(c, c.name)
	}
	return b.String()
}
