package migrations

import (
	"context"
	"database/sql"
	"log/slog"
)

// ApplyUpTo applies the embedded migrations of dialect up to and including
// version, so that external tests can seed a database at an older schema
// and then migrate it on.
func ApplyUpTo(ctx context.Context, db *sql.DB, dialect string, log *slog.Logger, version int) ([]int, error) {
	ms, err := List(dialect)
	if err != nil {
		return nil, err
	}
	var upTo []Migration
	for _, m := range ms {
		if m.Version <= version {
			upTo = append(upTo, m)
		}
	}
	return apply(ctx, db, dialect, log, upTo)
}
