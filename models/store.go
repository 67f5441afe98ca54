// Package models holds capeval's data model: the gorm entity types that map the
// tables of package migrations, the sentinel errors of the data layer, and
// Store, the only holder of *gorm.DB, which carries every query.
//
// One Store serves SQLite (the default, a file in the data directory) and
// PostgreSQL (for several replicas and workers); queries are written so that
// both databases give the same answers.
package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/mattn/go-sqlite3"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	"capeval/migrations"
)

// Dialect names, as Store.Dialect returns them.
const (
	DialectSQLite   = migrations.DialectSQLite
	DialectPostgres = migrations.DialectPostgres
)

// SQLiteFile is the database file name inside the data directory.
const SQLiteFile = "capeval.db"

// sqlitePragmas configure every SQLite connection (the mattn driver runs them
// on connect). The order states intent; mattn itself always sets the busy
// timeout first, so that the pragmas after it wait for a lock instead of
// failing.
//
//   - _busy_timeout=10000: a writer waits up to 10 s for another one instead
//     of failing at once with SQLITE_BUSY.
//   - _journal_mode=WAL: readers never block the writer nor the writer them.
//   - _foreign_keys=on: SQLite ignores REFERENCES clauses without it.
//   - _synchronous=FULL: in WAL mode, NORMAL only syncs the WAL at checkpoints,
//     so a committed transaction survives a kill -9 of the process but may be
//     lost on power loss or an OS crash. A rating must be durable before its
//     2xx is sent, so every commit fsyncs the WAL: FULL. The cost is one fsync
//     per write transaction, which is why bulk imports run in one transaction.
//   - _txlock=immediate: BEGIN takes the write lock at once. With deferred
//     transactions, two that read and then write deadlock: one gets
//     SQLITE_BUSY at its first write, which busy_timeout cannot resolve.
const sqlitePragmas = "_busy_timeout=10000&_journal_mode=WAL&_foreign_keys=on&_synchronous=FULL&_txlock=immediate"

// Store holds the database handle and every query. The zero value is not
// usable; create one with Open. A Store is safe for concurrent use.
type Store struct {
	db      *gorm.DB
	sqlDB   *sql.DB
	dialect string
	log     *slog.Logger
	// stmts caches the queue's prepared statements on SQLite (see
	// stmt_cache.go); transactions share the root's. group lets the
	// queue's transactions share commits (group_commit.go).
	stmts *stmtCache
	group *groupCommit
}

// nowUTC is gorm's clock: UTC, so that SQLite's text timestamps sort in time
// order, and truncated to microseconds, PostgreSQL's precision, so that a
// value reads back the same from both databases.
func nowUTC() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Open connects to the database named by dsn and returns a Store; it does not
// migrate (call Migrate). dsn selects the database:
//
//   - "" : SQLite file capeval.db in dataDir (created if missing);
//   - "sqlite:PATH" or a plain PATH: that SQLite file;
//   - "postgres://…" or "postgresql://…": PostgreSQL.
func Open(ctx context.Context, dsn string, dataDir string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := &gorm.Config{
		NowFunc: nowUTC,
		// Single statements are atomic already; the implicit transaction gorm
		// adds around each write would cost an extra fsync on SQLite.
		SkipDefaultTransaction: true,
		// Open checks the connection itself: SQLite's first connection needs
		// a retry that gorm's automatic ping would not give it.
		DisableAutomaticPing: true,
		Logger:               gormLogger{log: log, slow: 500 * time.Millisecond},
	}
	lower := strings.ToLower(dsn)
	if strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://") {
		return openPostgres(ctx, dsn, cfg, log)
	}
	path := dsn
	switch {
	case dsn == "":
		if dataDir == "" {
			return nil, errors.New("models: open: neither a DSN nor a data directory given")
		}
		path = filepath.Join(dataDir, SQLiteFile)
	case strings.HasPrefix(lower, "sqlite:"):
		path = strings.TrimPrefix(dsn[len("sqlite:"):], "//")
	case strings.Contains(dsn, "://"):
		return nil, fmt.Errorf("models: open: unsupported DSN scheme in %q (want sqlite:PATH, a path, or postgres://…)", redactDSN(dsn))
	}
	return openSQLite(ctx, path, cfg, log)
}

func openSQLite(ctx context.Context, path string, cfg *gorm.Config, log *slog.Logger) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("models: open SQLite: %q is not a file path (an in-memory or URI database would not be durable nor shared)", path)
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("models: open SQLite %s: the path must not contain '?': capeval sets the connection parameters itself", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("models: open SQLite %s: create its directory: %w", path, err)
	}
	sqlDB := sql.OpenDB(utcConnector{dsn: path + "?" + sqlitePragmas, drv: &sqlite3.SQLiteDriver{}})
	// WAL gives concurrent readers; writers queue on the write lock (busy
	// timeout), and the rating queue's share commits (group_commit.go).
	// Readers are many: under 200 annotators, the reads that each rating
	// request makes outside its transaction waited for one of 4
	// connections, and 16 halved the p99. Connections are kept: each new
	// one re-runs the pragmas.
	n := max(16, runtime.NumCPU())
	sqlDB.SetMaxOpenConns(n)
	sqlDB.SetMaxIdleConns(n)
	sqlDB.SetConnMaxLifetime(0)
	sqlDB.SetConnMaxIdleTime(0)

	// The first connection before gorm's, which queries at once: see
	// firstJournalMode. WAL cannot be enabled on some file systems (network
	// mounts); the durability argument above depends on it, so refuse rather
	// than run silently in another journal mode.
	mode, err := firstJournalMode(ctx, sqlDB)
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("models: open SQLite %s: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("models: open SQLite %s: journal mode is %q, not WAL; put the database on a local file system", path, mode)
	}
	db, err := gorm.Open(sqlite.New(sqlite.Config{Conn: sqlDB}), cfg)
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("models: open SQLite %s: %w", path, err)
	}
	s := &Store{db: db, sqlDB: sqlDB, dialect: DialectSQLite, log: log, stmts: newStmtCache(sqlDB), group: &groupCommit{}}
	log.Debug("database opened", "dialect", DialectSQLite, "path", path)
	return s, nil
}

// firstJournalMode opens the first connection and returns the journal mode.
// The first connection to a new file switches it to WAL, which needs an
// exclusive lock and fails at once with "database is locked" (the busy
// timeout does not cover it) when a second process is doing the same; so
// retry for as long as the busy timeout would have waited.
func firstJournalMode(ctx context.Context, db *sql.DB) (string, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		var mode string
		err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)
		if err == nil {
			return mode, nil
		}
		var se sqlite3.Error
		busy := errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked)
		if !busy || time.Now().After(deadline) {
			return "", err
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func openPostgres(ctx context.Context, dsn string, cfg *gorm.Config, log *slog.Logger) (*Store, error) {
	connCfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("models: open PostgreSQL %s: %w", redactDSN(dsn), err)
	}
	// A connect that never ends would hang the request that needs the new
	// connection, and every request queued behind the pool's limit; a
	// connect_timeout in the DSN (seconds, 0 meaning none) is kept.
	if !dsnSets(dsn, "connect_timeout") {
		connCfg.ConnectTimeout = DefaultConnectTimeout
	}
	// Name the sessions, so that pg_stat_activity shows whose they are.
	if _, ok := connCfg.RuntimeParams["application_name"]; !ok {
		connCfg.RuntimeParams["application_name"] = "capeval"
	}
	// pgx prepares every query and PostgreSQL switches a prepared statement
	// to a generic plan after five runs. A generic plan cannot hash an IN list
	// of parameters nor estimate it: reading 500 cached embeddings by hash went
	// from 9 ms to 85 ms per query, a sequential scan comparing every row with
	// every parameter. Planning each query costs well under a millisecond.
	if _, ok := connCfg.RuntimeParams["plan_cache_mode"]; !ok {
		connCfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	// pgx returns timestamptz in the local zone; ask for UTC so that times read
	// back alike from SQLite and PostgreSQL.
	utc := stdlib.OptionAfterConnect(func(_ context.Context, c *pgx.Conn) error {
		c.TypeMap().RegisterType(&pgtype.Type{
			Name: "timestamptz", OID: pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
		})
		return nil
	})
	sqlDB := stdlib.OpenDB(*connCfg, utc)
	sqlDB.SetMaxOpenConns(20)
	sqlDB.SetMaxIdleConns(10)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), cfg)
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("models: open PostgreSQL %s: %w", redactDSN(dsn), err)
	}
	s := &Store{db: db, sqlDB: sqlDB, dialect: DialectPostgres, log: log}
	if err := s.Ping(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("models: open PostgreSQL %s: %w", redactDSN(dsn), err)
	}
	log.Debug("database opened", "dialect", DialectPostgres, "dsn", redactDSN(dsn))
	return s, nil
}

// dsnSets reports whether the URL DSN sets the query parameter name.
func dsnSets(dsn, name string) bool {
	u, err := url.Parse(dsn)
	return err == nil && u.Query().Has(name)
}

// redactDSN hides a password in a URL DSN, for messages and logs.
func redactDSN(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	scheme := strings.Index(dsn, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return dsn
	}
	userinfo := dsn[scheme+3 : at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return dsn[:scheme+3] + userinfo[:i] + ":xxxxx" + dsn[at:]
	}
	return dsn
}

// Dialect returns DialectSQLite or DialectPostgres.
func (s *Store) Dialect() string { return s.dialect }

// Migrate applies the pending migrations and returns the versions it applied.
// A database newer than this binary is refused with migrations.ErrDatabaseNewer.
func (s *Store) Migrate(ctx context.Context) ([]int, error) {
	if s.sqlDB == nil {
		return nil, errors.New("models: migrate: not the root store (called inside InTx)")
	}
	applied, err := migrations.Apply(ctx, s.sqlDB, s.dialect, s.log)
	if err != nil {
		return applied, fmt.Errorf("models: migrate: %w", err)
	}
	return applied, nil
}

// MigrationStatus reports the applied and pending migrations without
// changing anything.
func (s *Store) MigrationStatus(ctx context.Context) (migrations.State, error) {
	if s.sqlDB == nil {
		return migrations.State{}, errors.New("models: migration status: not the root store (called inside InTx)")
	}
	st, err := migrations.Status(ctx, s.sqlDB, s.dialect)
	if err != nil {
		return st, fmt.Errorf("models: migration status: %w", err)
	}
	return st, nil
}

// Ping checks that the database answers a query, for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.conn(ctx).Raw("SELECT 1").Scan(&one).Error; err != nil {
		return fmt.Errorf("models: ping %s: %w", s.dialect, err)
	}
	return nil
}

// Close closes the database. Calling it on a Store from InTx is an error.
func (s *Store) Close() error {
	if s.sqlDB == nil {
		return errors.New("models: close: not the root store")
	}
	if err := s.sqlDB.Close(); err != nil {
		return fmt.Errorf("models: close %s: %w", s.dialect, err)
	}
	return nil
}

// InTx runs fn in one transaction: fn's error (or panic) rolls back, nil
// commits. The Store that fn receives runs every query in the transaction;
// calling InTx on it nests with a savepoint. On SQLite the transaction holds
// the write lock from its start (BEGIN IMMEDIATE), so keep it short.
func (s *Store) InTx(ctx context.Context, fn func(tx *Store) error) error {
	fnFailed := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := fn(&Store{db: tx, dialect: s.dialect, log: s.log, stmts: s.stmts}); err != nil {
			fnFailed = true
			return err
		}
		return nil
	})
	if err != nil && !fnFailed {
		// BEGIN or COMMIT failed in the driver: classified like a query's
		// error, so that a connection lost at COMMIT is ErrUnavailable
		// (whether it committed is unknown; clients resend with the same
		// idempotency key). fn's own errors are classified already.
		return classify(err)
	}
	return err
}

// conn returns the gorm handle bound to ctx.
func (s *Store) conn(ctx context.Context) *gorm.DB { return s.db.WithContext(ctx) }
