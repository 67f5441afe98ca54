package cli

import (
	"context"
	"fmt"
	"os"

	"capeval/models"
)

var migrateCommand = &command{
	name:    "migrate",
	summary: "apply pending database migrations and exit",
	help: "Apply the pending database migrations of CAPEVAL_DB (default: SQLite in CAPEVAL_DATA_DIR) and exit.\n" +
		"A database newer than this binary is refused.",
	flags: noArgs("migrate", migrate),
}

// migrate opens the database without setup's migration, to report each
// version it applies.
func migrate(ctx context.Context, e *env) error {
	cfg, err := e.loadConfig()
	if err != nil {
		return err
	}
	log := cfg.NewLogger(e.stderr)
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
		fmt.Fprintln(e.stdout, "database is up to date")
	}
	for _, v := range applied {
		fmt.Fprintf(e.stdout, "applied migration %04d\n", v)
	}
	return nil
}
