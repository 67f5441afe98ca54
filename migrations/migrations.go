// Package migrations holds capeval's database schema as numbered SQL files, one
// folder per dialect, embedded into the binary, and the small runner that applies
// them. These files are the only source of the schema: gorm is used for queries,
// never for AutoMigrate.
//
// A file is named NNNN_short_name.sql. Each file is applied in its own
// transaction and recorded in schema_migrations(version, name, applied_at). A
// database whose recorded version is newer than the newest embedded file is
// refused, so that an old binary never writes into a schema it does not know.
//
// A schema change is always the next number, added to both folders (a test
// checks that they carry the same versions). SQLite cannot alter most of a
// table in place: create the new table, copy, drop the old one, rename. The
// runner makes that safe by switching foreign key enforcement off around each
// SQLite migration (otherwise dropping a parent table deletes its rows and
// cascades into the children) and running PRAGMA foreign_key_check before the
// commit.
//
// The package imports none of capeval's packages.
package migrations

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Dialect names accepted by Apply and Status.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// ErrDatabaseNewer is returned when the database records a schema version newer
// than the newest migration embedded in this binary.
var ErrDatabaseNewer = errors.New("migrations: database schema is newer than this binary")

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// advisoryLockKey is the PostgreSQL advisory lock that serializes runners of
// several processes (replicas, workers) starting at the same time. The value is
// arbitrary but fixed: every capeval binary must use the same one.
const advisoryLockKey int64 = 0x63617065_76616c01 // "capeval" + 1

// Migration is one embedded schema change.
type Migration struct {
	Version int    `json:"version"`
	Name    string `json:"name"`
	sql     string
}

// Applied is a migration recorded in schema_migrations.
type Applied struct {
	Version   int       `json:"version"`
	Name      string    `json:"name"`
	AppliedAt time.Time `json:"applied_at"`
}

// State describes how a database compares with the embedded migrations.
type State struct {
	// Current is the highest applied version, 0 for an empty database.
	Current int `json:"current"`
	// Latest is the newest embedded version.
	Latest  int         `json:"latest"`
	Applied []Applied   `json:"applied"`
	Pending []Migration `json:"pending"`
}

// Newer reports whether the database is newer than this binary.
func (s State) Newer() bool { return s.Current > s.Latest }

var fileName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// List returns the embedded migrations of dialect in version order.
func List(dialect string) ([]Migration, error) {
	if err := checkDialect(dialect); err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(files, dialect)
	if err != nil {
		return nil, fmt.Errorf("migrations: read embedded %s folder: %w", dialect, err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migrations: embedded file %s/%s is not named NNNN_short_name.sql", dialect, e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		if v == 0 {
			return nil, fmt.Errorf("migrations: embedded file %s/%s: version 0 is reserved for an empty database", dialect, e.Name())
		}
		if prev, ok := seen[v]; ok {
			return nil, fmt.Errorf("migrations: %s: version %d used by both %s and %s", dialect, v, prev, e.Name())
		}
		seen[v] = e.Name()
		body, err := files.ReadFile(path.Join(dialect, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("migrations: read %s/%s: %w", dialect, e.Name(), err)
		}
		out = append(out, Migration{Version: v, Name: m[2], sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Latest returns the newest embedded schema version. Every dialect carries the
// same versions (a test checks it), so the answer does not depend on the dialect.
func Latest() int {
	latest := 0
	for _, d := range []string{DialectSQLite, DialectPostgres} {
		ms, err := List(d)
		if err != nil {
			// The embedded files are fixed at build time and checked by tests,
			// so this cannot happen in a released binary.
			panic(err)
		}
		if n := len(ms); n > 0 && ms[n-1].Version > latest {
			latest = ms[n-1].Version
		}
	}
	return latest
}

func checkDialect(dialect string) error {
	switch dialect {
	case DialectSQLite, DialectPostgres:
		return nil
	}
	return fmt.Errorf("migrations: unknown dialect %q (want %q or %q)", dialect, DialectSQLite, DialectPostgres)
}

// Status reads what db has applied and what is pending. It changes nothing: on
// an empty database Current is 0 and every migration is pending.
func Status(ctx context.Context, db *sql.DB, dialect string) (State, error) {
	ms, err := List(dialect)
	if err != nil {
		return State{}, err
	}
	st := State{Latest: latestOf(ms)}
	exists, err := tableExists(ctx, db, dialect)
	if err != nil {
		return State{}, err
	}
	if exists {
		st.Applied, err = readApplied(ctx, db, dialect)
		if err != nil {
			return State{}, err
		}
	}
	done := map[int]bool{}
	for _, a := range st.Applied {
		done[a.Version] = true
		if a.Version > st.Current {
			st.Current = a.Version
		}
	}
	for _, m := range ms {
		if !done[m.Version] {
			st.Pending = append(st.Pending, m)
		}
	}
	return st, nil
}

func latestOf(ms []Migration) int {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

// queryer is what *sql.DB, *sql.Conn and *sql.Tx have in common.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func tableExists(ctx context.Context, q queryer, dialect string) (bool, error) {
	var query string
	switch dialect {
	case DialectSQLite:
		query = `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
	default:
		// to_regclass follows search_path, as unqualified queries do.
		query = `SELECT count(*) FROM (SELECT to_regclass('schema_migrations') AS t) s WHERE t IS NOT NULL`
	}
	var n int
	if err := q.QueryRowContext(ctx, query).Scan(&n); err != nil {
		return false, fmt.Errorf("migrations: look for schema_migrations: %w", err)
	}
	return n > 0, nil
}

func readApplied(ctx context.Context, q queryer, dialect string) ([]Applied, error) {
	rows, err := q.QueryContext(ctx, `SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("migrations: read schema_migrations: %w", err)
	}
	defer rows.Close()
	var out []Applied
	for rows.Next() {
		var a Applied
		if err := rows.Scan(&a.Version, &a.Name, &a.AppliedAt); err != nil {
			return nil, fmt.Errorf("migrations: read schema_migrations: %w", err)
		}
		a.AppliedAt = a.AppliedAt.UTC()
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrations: read schema_migrations: %w", err)
	}
	return out, nil
}

func currentVersion(ctx context.Context, q queryer) (int, error) {
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("migrations: read current version: %w", err)
	}
	return int(v.Int64), nil
}

func newerError(current, latest int) error {
	return fmt.Errorf("%w: the database is at schema version %d but this capeval knows versions up to %d; "+
		"upgrade capeval to a release that includes migration %d (never run an older binary on a newer database)",
		ErrDatabaseNewer, current, latest, current)
}

// Apply brings db up to the newest embedded migration of dialect and returns the
// versions it applied, in order (none when the database is already current).
// Each file runs in its own transaction together with its schema_migrations
// row, so a failure leaves the database at the last complete version.
//
// Several processes may call Apply at once on the same database: on PostgreSQL
// they queue on an advisory lock; on SQLite each step takes the write lock
// with BEGIN IMMEDIATE and re-reads the version inside it, so a migration that
// another process applied meanwhile is skipped, not run twice.
func Apply(ctx context.Context, db *sql.DB, dialect string, log *slog.Logger) (applied []int, err error) {
	ms, err := List(dialect)
	if err != nil {
		return nil, err
	}
	return apply(ctx, db, dialect, log, ms)
}

// apply is Apply for a given list of migrations, so that tests can run
// migrations that are not embedded.
func apply(ctx context.Context, db *sql.DB, dialect string, log *slog.Logger, ms []Migration) (applied []int, err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	latest := latestOf(ms)

	// One connection for the whole run: the PostgreSQL advisory lock belongs to
	// a session, and SQLite's BEGIN/COMMIT issued as plain statements must go to
	// the same connection.
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: get a connection: %w", err)
	}
	defer conn.Close()

	r := runner{conn: conn, dialect: dialect}
	if dialect == DialectSQLite {
		restore, ferr := r.foreignKeysOff(ctx)
		if ferr != nil {
			return nil, ferr
		}
		defer func() {
			if rerr := restore(); rerr != nil && err == nil {
				err = rerr
			}
		}()
	}
	if dialect == DialectPostgres {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, advisoryLockKey); err != nil {
			return nil, fmt.Errorf("migrations: take the advisory lock: %w", err)
		}
		defer func() {
			// A fresh context: the caller's may be cancelled, and the lock must
			// not outlive this run on a pooled connection.
			uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, uerr := conn.ExecContext(uctx, `SELECT pg_advisory_unlock($1)`, advisoryLockKey); uerr != nil {
				// Dropping the connection releases the lock for sure.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
				if err == nil {
					err = fmt.Errorf("migrations: release the advisory lock: %w", uerr)
				}
			}
		}()
	}

	if err := r.inTx(ctx, func() error {
		_, err := conn.ExecContext(ctx, r.createTableSQL())
		return err
	}); err != nil {
		return nil, fmt.Errorf("migrations: create schema_migrations: %w", err)
	}

	current, err := currentVersion(ctx, conn)
	if err != nil {
		return nil, err
	}
	if current > latest {
		return nil, newerError(current, latest)
	}
	for _, m := range ms {
		if m.Version > current {
			log.Info("migration pending", "dialect", dialect, "version", m.Version, "name", m.Name)
		}
	}

	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		start := time.Now()
		ran := false
		err := r.inTx(ctx, func() error {
			// Re-read inside the write lock: another process may have moved on
			// since we looked (SQLite has no lock spanning the whole run).
			now, err := currentVersion(ctx, conn)
			if err != nil {
				return err
			}
			if now > latest {
				return newerError(now, latest)
			}
			if now >= m.Version {
				return nil
			}
			if _, err := conn.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("migrations: apply %04d_%s (%s): %w", m.Version, m.Name, dialect, err)
			}
			if err := r.checkForeignKeys(ctx); err != nil {
				return fmt.Errorf("migrations: apply %04d_%s (%s): %w", m.Version, m.Name, dialect, err)
			}
			if _, err := conn.ExecContext(ctx, r.insertSQL(), m.Version, m.Name, time.Now().UTC()); err != nil {
				return fmt.Errorf("migrations: record %04d_%s: %w", m.Version, m.Name, err)
			}
			ran = true
			return nil
		})
		if err != nil {
			return applied, err
		}
		if ran {
			applied = append(applied, m.Version)
			log.Info("migration applied", "dialect", dialect, "version", m.Version, "name", m.Name,
				"duration", time.Since(start).Round(time.Millisecond))
		} else {
			log.Info("migration applied by another process", "dialect", dialect, "version", m.Version, "name", m.Name)
		}
		current = m.Version
	}
	return applied, nil
}

type runner struct {
	conn    *sql.Conn
	dialect string
}

// foreignKeysOff switches SQLite's foreign key enforcement off on the
// runner's connection and returns the function that restores it. SQLite
// cannot alter most of a table in place: a migration rebuilds it (create the
// new table, copy, drop the old, rename), and with enforcement on, DROP TABLE
// of a parent first deletes its rows, which cascades into the children. The
// pragma has no effect inside a transaction, so it is set around them;
// checkForeignKeys verifies the result before each commit instead.
func (r runner) foreignKeysOff(ctx context.Context) (restore func() error, err error) {
	var was int
	if err := r.conn.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&was); err != nil {
		return nil, fmt.Errorf("migrations: read foreign_keys: %w", err)
	}
	if _, err := r.conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return nil, fmt.Errorf("migrations: switch foreign keys off: %w", err)
	}
	return func() error {
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := r.conn.ExecContext(rctx, fmt.Sprintf("PRAGMA foreign_keys = %d", was)); err != nil {
			// Never hand a connection without enforcement back to the pool.
			_ = r.conn.Raw(func(any) error { return driver.ErrBadConn })
			return fmt.Errorf("migrations: restore foreign_keys: %w", err)
		}
		return nil
	}, nil
}

// checkForeignKeys fails when a migration left rows that break a foreign key
// (SQLite only; PostgreSQL enforces them throughout).
func (r runner) checkForeignKeys(ctx context.Context) error {
	if r.dialect != DialectSQLite {
		return nil
	}
	rows, err := r.conn.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fk int
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return fmt.Errorf("foreign key check: %w", err)
		}
		if len(problems) < 5 {
			problems = append(problems, fmt.Sprintf("%s row %d references a missing %s", table, rowid.Int64, parent))
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("foreign keys broken: %s", strings.Join(problems, "; "))
	}
	return nil
}

func (r runner) createTableSQL() string {
	if r.dialect == DialectSQLite {
		return `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at DATETIME NOT NULL
)`
	}
	return `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    BIGINT PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL
)`
}

func (r runner) insertSQL() string {
	if r.dialect == DialectSQLite {
		return `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`
	}
	return `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`
}

// inTx runs fn inside one transaction on r.conn. On SQLite the transaction is
// opened with BEGIN IMMEDIATE, whatever the DSN says, so that it holds the
// write lock from the start: a deferred transaction that first reads and then
// writes can fail with SQLITE_BUSY when a second process does the same.
func (r runner) inTx(ctx context.Context, fn func() error) (err error) {
	begin, commit, rollback := "BEGIN", "COMMIT", "ROLLBACK"
	if r.dialect == DialectSQLite {
		begin = "BEGIN IMMEDIATE"
	}
	if _, err := r.conn.ExecContext(ctx, begin); err != nil {
		return fmt.Errorf("migrations: begin: %w", err)
	}
	defer func() {
		if err != nil {
			// Background context: the rollback must run even when ctx is done.
			if _, rerr := r.conn.ExecContext(context.Background(), rollback); rerr != nil {
				err = errors.Join(err, fmt.Errorf("migrations: rollback: %w", rerr))
			}
		}
	}()
	if err := fn(); err != nil {
		return err
	}
	if _, err := r.conn.ExecContext(ctx, commit); err != nil {
		return fmt.Errorf("migrations: commit: %w", err)
	}
	return nil
}

// String names a migration as its file does.
func (m Migration) String() string {
	return fmt.Sprintf("%04d_%s", m.Version, strings.TrimSpace(m.Name))
}
