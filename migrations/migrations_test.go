package migrations_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver
	_ "github.com/mattn/go-sqlite3"    // "sqlite3" driver

	"capeval/migrations"
	"capeval/models/modelstest"
)

var dialects = []string{migrations.DialectSQLite, migrations.DialectPostgres}

// openEmpty returns a handle on an empty database of dialect. newHandle opens
// one more independent handle on the same database, as a second process would.
func openEmpty(t *testing.T, dialect string) (db *sql.DB, newHandle func() *sql.DB) {
	t.Helper()
	var driver, dsn string
	switch dialect {
	case migrations.DialectSQLite:
		driver = "sqlite3"
		dsn = filepath.Join(t.TempDir(), "m.db") + "?_busy_timeout=10000&_journal_mode=WAL&_foreign_keys=on"
	case migrations.DialectPostgres:
		driver = "pgx"
		dsn = modelstest.NewPostgresDatabase(t)
	}
	newHandle = func() *sql.DB {
		h, err := sql.Open(driver, dsn)
		if err != nil {
			t.Fatalf("open %s: %v", dialect, err)
		}
		t.Cleanup(func() { h.Close() })
		return h
	}
	return newHandle(), newHandle
}

func allVersions(t *testing.T, dialect string) []int {
	t.Helper()
	ms, err := migrations.List(dialect)
	if err != nil {
		t.Fatal(err)
	}
	var vs []int
	for _, m := range ms {
		vs = append(vs, m.Version)
	}
	return vs
}

func TestEmbeddedFilesMatchAcrossDialects(t *testing.T) {
	sq, err := migrations.List(migrations.DialectSQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := migrations.List(migrations.DialectPostgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(sq) == 0 {
		t.Fatal("no embedded migrations")
	}
	if len(sq) != len(pg) {
		t.Fatalf("sqlite has %d migrations, postgres %d", len(sq), len(pg))
	}
	for i := range sq {
		if sq[i].Version != pg[i].Version || sq[i].Name != pg[i].Name {
			t.Errorf("migration %d: sqlite %s, postgres %s", i, sq[i], pg[i])
		}
		if sq[i].Version != i+1 {
			t.Errorf("migration %s: versions must run 1, 2, 3… without gaps", sq[i])
		}
	}
	if got, want := migrations.Latest(), sq[len(sq)-1].Version; got != want {
		t.Errorf("Latest() = %d, want %d", got, want)
	}
	if _, err := migrations.List("mysql"); err == nil {
		t.Error("List(mysql): want an error for an unknown dialect")
	}
}

func TestApplyFromEmptyToLatest(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			db, _ := openEmpty(t, dialect)

			st, err := migrations.Status(ctx, db, dialect)
			if err != nil {
				t.Fatal(err)
			}
			if st.Current != 0 || len(st.Applied) != 0 || len(st.Pending) != migrations.Latest() {
				t.Fatalf("Status on empty database = current %d, %d applied, %d pending; want 0, 0, %d",
					st.Current, len(st.Applied), len(st.Pending), migrations.Latest())
			}

			applied, err := migrations.Apply(ctx, db, dialect, modelstest.Logger(t))
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if want := allVersions(t, dialect); !reflect.DeepEqual(applied, want) {
				t.Fatalf("Apply applied %v, want %v", applied, want)
			}

			st, err = migrations.Status(ctx, db, dialect)
			if err != nil {
				t.Fatal(err)
			}
			if st.Current != migrations.Latest() || len(st.Pending) != 0 || st.Newer() {
				t.Fatalf("Status after Apply = %+v", st)
			}
			for _, a := range st.Applied {
				if a.AppliedAt.IsZero() || a.AppliedAt.Location().String() != "UTC" || a.Name == "" {
					t.Errorf("applied row %+v: want a name and a UTC time", a)
				}
			}

			// Every table of the data model exists and is empty.
			for _, table := range []string{"users", "campaigns", "campaign_annotators", "images",
				"image_references", "captioners", "captions", "scores", "captioner_scores", "eval_jobs",
				"embeddings", "tasks", "leases", "ratings", "audit_entries"} {
				var n int
				if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
					t.Errorf("table %s: %v", table, err)
				}
			}

			again, err := migrations.Apply(ctx, db, dialect, modelstest.Logger(t))
			if err != nil || len(again) != 0 {
				t.Fatalf("second Apply = %v, %v; want nothing applied and no error", again, err)
			}
		})
	}
}

func TestApplyRefusesNewerDatabase(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			db, _ := openEmpty(t, dialect)
			if _, err := migrations.Apply(ctx, db, dialect, nil); err != nil {
				t.Fatal(err)
			}
			newer := migrations.Latest() + 1
			insert := "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from_the_future', CURRENT_TIMESTAMP)"
			if dialect == migrations.DialectPostgres {
				insert = strings.Replace(insert, "?", "$1", 1)
			}
			if _, err := db.ExecContext(ctx, insert, newer); err != nil {
				t.Fatal(err)
			}

			applied, err := migrations.Apply(ctx, db, dialect, nil)
			if !errors.Is(err, migrations.ErrDatabaseNewer) {
				t.Fatalf("Apply on a newer database = %v, %v; want ErrDatabaseNewer", applied, err)
			}
			msg := err.Error()
			for _, want := range []string{fmt.Sprint(newer), fmt.Sprint(migrations.Latest()), "upgrade capeval"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not mention %q", msg, want)
				}
			}
			st, err := migrations.Status(ctx, db, dialect)
			if err != nil || !st.Newer() || st.Current != newer {
				t.Errorf("Status = %+v, %v; want Newer with current %d", st, err, newer)
			}
		})
	}
}

// Several processes starting at once (server replicas, workers) must apply
// each migration exactly once and all succeed.
func TestApplyConcurrentProcesses(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			first, newHandle := openEmpty(t, dialect)
			// The first connection to a new SQLite file switches it to WAL, which
			// needs an exclusive lock; models.Open retries that step, raw handles
			// do not, so do it once before the race.
			if err := first.PingContext(ctx); err != nil {
				t.Fatal(err)
			}
			const procs = 4
			handles := make([]*sql.DB, procs)
			for i := range handles {
				handles[i] = newHandle()
			}
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				applied []int
				errs    []error
			)
			for _, h := range handles {
				wg.Add(1)
				go func() {
					defer wg.Done()
					got, err := migrations.Apply(ctx, h, dialect, nil)
					mu.Lock()
					defer mu.Unlock()
					applied = append(applied, got...)
					if err != nil {
						errs = append(errs, err)
					}
				}()
			}
			wg.Wait()
			if len(errs) > 0 {
				t.Fatalf("concurrent Apply failed: %v", errors.Join(errs...))
			}
			if want := allVersions(t, dialect); len(applied) != len(want) {
				t.Fatalf("versions applied across %d processes = %v, want each of %v exactly once", procs, applied, want)
			}
			var rows int
			if err := handles[0].QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if rows != migrations.Latest() {
				t.Errorf("schema_migrations holds %d rows, want %d", rows, migrations.Latest())
			}
		})
	}
}

func TestApplyUnknownDialect(t *testing.T) {
	db, _ := openEmpty(t, migrations.DialectSQLite)
	if _, err := migrations.Apply(context.Background(), db, "oracle", nil); err == nil {
		t.Fatal("Apply with dialect oracle: want an error")
	}
}
