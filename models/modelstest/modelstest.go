// Package modelstest gives tests real, migrated stores: SQLite in the test's
// temporary directory, and PostgreSQL in a database of its own per test when
// CAPEVAL_TEST_POSTGRES_DSN names a server.
package modelstest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"capeval/internal/sharedtest"
	"capeval/models"
)

// PostgresDSNEnv names the environment variable with the DSN of a PostgreSQL
// server (any database on it) where tests may create and drop databases.
const PostgresDSNEnv = "CAPEVAL_TEST_POSTGRES_DSN"

// Logger returns a logger that writes to the test's output, so that store
// and migration logs show only for failing or verbose tests.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// NewStore returns a migrated SQLite store in t.TempDir(), closed when the
// test ends.
func NewStore(t testing.TB) *models.Store {
	t.Helper()
	return OpenMigrated(t, "sqlite:"+filepath.Join(t.TempDir(), models.SQLiteFile))
}

// NewPostgresStore returns a migrated store on a fresh PostgreSQL database
// created for this test and dropped when it ends. Without
// CAPEVAL_TEST_POSTGRES_DSN the test is skipped, or fails under CI=true.
func NewPostgresStore(t testing.TB) *models.Store {
	t.Helper()
	return OpenMigrated(t, NewPostgresDatabase(t))
}

// NewPostgresDatabase creates an empty PostgreSQL database for this test,
// drops it when the test ends, and returns its DSN. Without
// CAPEVAL_TEST_POSTGRES_DSN the test is skipped, or fails under CI=true.
func NewPostgresDatabase(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresDSNEnv)
	if base == "" {
		sharedtest.Missing(t, "%s is not set: PostgreSQL store tests need a server (.ci/run starts one)", PostgresDSNEnv)
	}
	return createDatabase(t, base, PostgresDSNEnv)
}

// createDatabase creates an empty database on the server that base (the
// value of the variable env) names, drops it when the test ends, and
// returns its DSN.
func createDatabase(t testing.TB, base, env string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("modelstest: %s is not a URL: %v", env, err)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("modelstest: random database name: %v", err)
	}
	name := "capeval_test_" + hex.EncodeToString(b[:])

	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("modelstest: connect to %s: %v", env, err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The name is ours and contains only [a-z0-9_]: safe to splice.
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("modelstest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("modelstest: drop database %s: %v", name, err)
			return
		}
		defer a.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// WITH (FORCE) ends sessions a failed test may have left open.
		if _, err := a.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("modelstest: drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// OpenMigrated opens dsn with models.Open, migrates it to the latest version
// and closes it when the test ends.
func OpenMigrated(t testing.TB, dsn string) *models.Store {
	t.Helper()
	ctx := context.Background()
	s, err := models.Open(ctx, dsn, "", Logger(t))
	if err != nil {
		t.Fatalf("modelstest: open: %v", err)
	}
	// Registered before the drop of a PostgreSQL database (cleanups run last
	// in, first out), so the store is closed first.
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("modelstest: close: %v", err)
		}
	})
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("modelstest: migrate: %v", err)
	}
	return s
}

// Stores lists the store kinds that store tests run against, by name:
// "sqlite" and "postgres". Use it with ForEach.
var Stores = []string{models.DialectSQLite, models.DialectPostgres}

// New returns a fresh migrated store of the given kind ("sqlite" or
// "postgres").
func New(t testing.TB, kind string) *models.Store {
	t.Helper()
	switch kind {
	case models.DialectSQLite:
		return NewStore(t)
	case models.DialectPostgres:
		return NewPostgresStore(t)
	}
	t.Fatalf("modelstest: unknown store kind %q", kind)
	return nil
}

// ForEach runs fn as a subtest once per store kind, each with a fresh
// migrated store: the way to run one table of cases against both databases.
func ForEach(t *testing.T, fn func(t *testing.T, s *models.Store)) {
	t.Helper()
	for _, kind := range Stores {
		t.Run(kind, func(t *testing.T) {
			fn(t, New(t, kind))
		})
	}
}
