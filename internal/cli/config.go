package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"capeval/server"
)

func configCommand(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("config", "config",
		"Print the effective configuration (CAPEVAL_* variables with defaults applied), secrets redacted,\n"+
			"after validating it.", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := server.LoadConfig(os.Getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	for _, kv := range cfg.Redacted() {
		fmt.Fprintf(stdout, "%s=%s\n", kv[0], kv[1])
	}
	return nil
}
