package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"capeval/models"
)

var backupCommand = &command{
	name:    "backup",
	summary: "write a consistent copy of the SQLite database while the server runs (PostgreSQL: says how to pg_dump)",
	usage:   "--out FILE [--force]",
	help: "Write a consistent copy of the SQLite database (CAPEVAL_DB, default CAPEVAL_DATA_DIR/capeval.db)\n" +
		"to FILE while servers and workers keep using it: the copy holds every transaction committed\n" +
		"before it started, and nothing of one committed after. It is written to a temporary file beside\n" +
		"FILE, checked, made private (mode 0600: it holds password hashes) and renamed into place, so FILE\n" +
		"is either the whole copy or absent. An existing FILE is refused unless --force.\n" +
		"The database is not all there is: back up CAPEVAL_DATA_DIR/images and the JWT secret\n" +
		"(CAPEVAL_DATA_DIR/jwt-secret unless configured) too; README.md (Backup and restore) says how to\n" +
		"restore. For PostgreSQL the command prints the pg_dump command line to use instead and exits 1.",
	flags: func(fs *flag.FlagSet, e *env) action {
		out := fs.String("out", "", "`FILE` to write the copy to (required)")
		force := fs.Bool("force", false, "replace FILE if it exists")
		return func(ctx context.Context, args []string) error {
			if err := wantArgs(args, 0, "backup", ""); err != nil {
				return err
			}
			if *out == "" {
				return usagef("--out FILE is required: where to write the copy")
			}
			return backup(ctx, e, *out, *force)
		}
	},
}

// backup opens the database without migrating it: a backup changes
// nothing, and copies a database of any version.
func backup(ctx context.Context, e *env, out string, force bool) error {
	cfg, err := e.loadConfig()
	if err != nil {
		return err
	}
	if store := cfg.DB; store != "" && !isSQLiteDSN(store) {
		cmd, err := models.PgDumpCommand(store, out)
		if err != nil {
			return err
		}
		return fmt.Errorf("CAPEVAL_DB is PostgreSQL, which capeval does not copy itself: pg_dump takes a consistent snapshot while the servers run:\n"+
			"  %s\n(the password from PGPASSWORD or ~/.pgpass, not shown here; restore with pg_restore --dbname=… %s).\n"+
			"Back up CAPEVAL_DATA_DIR/images and the JWT secret too", cmd, out)
	}
	if _, err := os.Stat(cfg.DataDir); cfg.DB == "" && err != nil {
		return fmt.Errorf("data directory %s: %w (set CAPEVAL_DATA_DIR to the server's)", cfg.DataDir, err)
	}
	log := cfg.NewLogger(e.stderr)
	dbPath := cfg.DB
	if dbPath == "" {
		dbPath = filepath.Join(cfg.DataDir, models.SQLiteFile)
		// Open would create an empty database: a backup of nothing.
		if _, err := os.Stat(dbPath); err != nil {
			return fmt.Errorf("no database at %s: %w (set CAPEVAL_DATA_DIR or CAPEVAL_DB to the server's)", dbPath, err)
		}
	}
	store, err := models.Open(ctx, cfg.DB, cfg.DataDir, log)
	if err != nil {
		return err
	}
	defer store.Close()
	size, err := store.Backup(ctx, out, force)
	switch {
	case errors.Is(err, models.ErrBackupExists):
		return fmt.Errorf("%s exists: choose another file or pass --force to replace it", out)
	case err != nil:
		return err
	}
	fmt.Fprintf(e.stdout, "backup of %s written to %s (%d bytes)\n", store.Dialect(), out, size)
	fmt.Fprintf(e.stdout, "also back up %s and the JWT secret (%s)\n", filepath.Join(cfg.DataDir, "images"), secretSource(e, cfg.JWTSecretFile, cfg.DataDir))
	return nil
}

func isSQLiteDSN(dsn string) bool { return strings.HasPrefix(dsn, "sqlite:") }

// secretSource says where the JWT secret lives, without its value.
func secretSource(e *env, file, dataDir string) string {
	switch {
	case file != "":
		return file
	case e.getenv("CAPEVAL_JWT_SECRET") != "":
		return "CAPEVAL_JWT_SECRET"
	}
	return filepath.Join(dataDir, "jwt-secret")
}
