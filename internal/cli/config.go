package cli

import (
	"context"
	"fmt"
)

var configCommand = &command{
	name:    "config",
	summary: "print the effective configuration, secrets redacted",
	help: "Print the effective configuration (CAPEVAL_* variables with defaults applied), secrets redacted,\n" +
		"after validating it.",
	flags: noArgs("config", func(_ context.Context, e *env) error {
		cfg, err := e.loadConfig()
		if err != nil {
			return err
		}
		for _, kv := range cfg.Redacted() {
			fmt.Fprintf(e.stdout, "%s=%s\n", kv[0], kv[1])
		}
		return nil
	}),
}
