package cli

import (
	"context"
	"fmt"
	"runtime/debug"
)

// version is set at build time (the Makefile passes -ldflags
// "-X capeval/internal/cli.version=…"); otherwise it comes from the
// module's VCS information.
var version = ""

// versionString is the version capeval reports.
func versionString() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "dev-" + rev
}

var versionCommand = &command{
	name:    "version",
	summary: "print the version",
	help:    "Print capeval's version: the one stamped by `make build`, else dev-COMMIT from the build's VCS information.",
	flags: noArgs("version", func(_ context.Context, e *env) error {
		_, err := fmt.Fprintln(e.stdout, "capeval", versionString())
		return err
	}),
}
