package cli

import (
	"context"
	"flag"
	"fmt"
)

var configCommand = &command{
	name:    "config",
	summary: "print the effective configuration, secrets redacted",
	help: "Print the effective configuration (CAPEVAL_* variables with defaults applied), secrets redacted,\n" +
		"after validating it.",
	flags: func(fs *flag.FlagSet, e *env) action {
		return func(_ context.Context, args []string) error {
			if err := wantArgs(args, 0, "config", ""); err != nil {
				return err
			}
			cfg, err := e.loadConfig()
			if err != nil {
				return err
			}
			for _, kv := range cfg.Redacted() {
				fmt.Fprintf(e.stdout, "%s=%s\n", kv[0], kv[1])
			}
			return nil
		}
	},
}
