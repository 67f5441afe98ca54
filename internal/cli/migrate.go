package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"capeval/models"
	"capeval/server"
)

func migrateCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", "migrate",
		"Apply the pending database migrations of CAPEVAL_DB (default: SQLite in CAPEVAL_DATA_DIR) and exit.\n"+
			"A database newer than this binary is refused.", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := server.LoadConfig(os.Getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log := cfg.NewLogger(stderrFile(stderr))
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	store, err := models.Open(ctx, cfg.DB, cfg.DataDir, log)
	if err != nil {
		return err
	}
	defer store.Close()
	applied, err := store.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "database is up to date")
	}
	for _, v := range applied {
		fmt.Fprintf(stdout, "applied migration %04d\n", v)
	}
	return nil
}
