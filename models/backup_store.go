package models

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/mattn/go-sqlite3"
)

// Errors of Backup.
var (
	// ErrBackupExists: the backup's destination exists and overwriting was
	// not asked for.
	ErrBackupExists = errors.New("models: backup destination exists")
	// ErrBackupPostgres: a PostgreSQL database is backed up with pg_dump,
	// not by capeval (see PgDumpCommand).
	ErrBackupPostgres = errors.New("models: PostgreSQL is backed up with pg_dump")
)

// Backup writes a consistent copy of the SQLite database to dest while
// the database stays in use, and returns the copy's size in bytes.
//
// The copy is made by VACUUM INTO, which reads the database inside one
// read transaction: in WAL mode writers go on meanwhile, and the copy holds
// exactly the transactions committed before it started. It goes to a
// temporary file beside dest, is checked (PRAGMA quick_check), made
// private (it holds password hashes), synced, and only then appears under
// dest: renamed over it when overwrite is set, otherwise hard-linked,
// which fails if dest appeared meanwhile, so an existing file is never
// replaced by accident. A failed backup leaves no file behind.
func (s *Store) Backup(ctx context.Context, dest string, overwrite bool) (int64, error) {
	if s.dialect == DialectPostgres {
		return 0, ErrBackupPostgres
	}
	if s.sqlDB == nil {
		return 0, errors.New("models: backup: not the root store (called inside InTx)")
	}
	abs, err := filepath.Abs(dest)
	if err != nil {
		return 0, fmt.Errorf("models: backup to %s: %w", dest, err)
	}
	if st, err := os.Stat(abs); err == nil {
		if st.IsDir() {
			return 0, fmt.Errorf("models: backup to %s: it is a directory: name a file", dest)
		}
		if !overwrite {
			return 0, fmt.Errorf("%w: %s", ErrBackupExists, dest)
		}
	}
	if live, err := s.databaseFile(ctx); err != nil {
		return 0, err
	} else if sameFile(live, abs) || sameFile(live+"-wal", abs) || sameFile(live+"-shm", abs) {
		return 0, fmt.Errorf("models: backup to %s: that is the live database itself", dest)
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return 0, fmt.Errorf("models: backup: %w", err)
	}
	tmp := filepath.Join(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp-"+hex.EncodeToString(rnd[:]))
	published := false
	defer func() {
		if !published {
			_ = os.Remove(tmp)
		}
	}()
	// The file name is a parameter: SQLite takes any expression there.
	if _, err := s.sqlDB.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		return 0, fmt.Errorf("models: backup: VACUUM INTO %s: %w", tmp, err)
	}
	if err := quickCheck(ctx, tmp); err != nil {
		return 0, fmt.Errorf("models: backup: the copy %s fails its check: %w", tmp, err)
	}
	size, err := syncPrivate(tmp)
	if err != nil {
		return 0, fmt.Errorf("models: backup: %w", err)
	}
	if overwrite {
		err = os.Rename(tmp, abs)
	} else if err = os.Link(tmp, abs); err == nil {
		_ = os.Remove(tmp)
	} else if errors.Is(err, os.ErrExist) {
		return 0, fmt.Errorf("%w: %s", ErrBackupExists, dest)
	}
	if err != nil {
		return 0, fmt.Errorf("models: backup: publish %s: %w", dest, err)
	}
	published = true
	if d, err := os.Open(filepath.Dir(abs)); err == nil {
		// The rename or link is durable once the directory is synced.
		_ = d.Sync()
		_ = d.Close()
	}
	s.log.InfoContext(ctx, "backup written", "file", abs, "bytes", size)
	return size, nil
}

// databaseFile returns the path of the main SQLite database file.
func (s *Store) databaseFile(ctx context.Context) (string, error) {
	rows, err := s.sqlDB.QueryContext(ctx, "PRAGMA database_list")
	if err != nil {
		return "", fmt.Errorf("models: backup: list the database files: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var seq int
		var name, file string
		if err := rows.Scan(&seq, &name, &file); err != nil {
			return "", fmt.Errorf("models: backup: list the database files: %w", err)
		}
		if name == "main" {
			return file, nil
		}
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("models: backup: list the database files: %w", err)
	}
	return "", errors.New("models: backup: SQLite lists no main database")
}

func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}

// quickCheck runs PRAGMA quick_check on the SQLite file at path.
func quickCheck(ctx context.Context, path string) error {
	db := sql.OpenDB(utcConnector{dsn: path + "?_busy_timeout=10000", drv: &sqlite3.SQLiteDriver{}})
	defer db.Close()
	return integrity(ctx, db, "quick_check")
}

// integrity runs PRAGMA pragma (integrity_check or quick_check) and turns
// anything but "ok" into an error listing what SQLite found.
func integrity(ctx context.Context, db *sql.DB, pragma string) error {
	rows, err := db.QueryContext(ctx, "PRAGMA "+pragma)
	if err != nil {
		return err
	}
	defer rows.Close()
	var found []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return err
		}
		found = append(found, line)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(found) == 1 && found[0] == "ok" {
		return nil
	}
	return fmt.Errorf("%s: %s", pragma, strings.Join(found, "; "))
}

// CheckIntegrity runs SQLite's PRAGMA integrity_check (every page, index
// and constraint) and returns nil when it says ok. PostgreSQL has no such
// check of a whole database; there it returns nil.
func (s *Store) CheckIntegrity(ctx context.Context) error {
	if s.dialect != DialectSQLite {
		return nil
	}
	if s.sqlDB == nil {
		return errors.New("models: integrity check: not the root store (called inside InTx)")
	}
	if err := integrity(ctx, s.sqlDB, "integrity_check"); err != nil {
		return fmt.Errorf("models: %w", err)
	}
	return nil
}

// syncPrivate makes the file at path readable by its owner only, flushes
// it to disk and returns its size.
func syncPrivate(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := f.Chmod(0o600); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// PgDumpCommand returns the pg_dump command line that backs up the
// PostgreSQL database of dsn (a postgres:// URL) into out, in pg_dump's
// custom format (restored with pg_restore). The password is never part of
// it: pg_dump reads PGPASSWORD or ~/.pgpass.
func PgDumpCommand(dsn, out string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("models: %s is not a postgres:// URL", redactDSN(dsn))
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		host = "localhost"
	}
	if port == "" {
		port = "5432"
	}
	user := u.User.Username()
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" {
		db = user
	}
	var b strings.Builder
	if mode := u.Query().Get("sslmode"); mode != "" {
		fmt.Fprintf(&b, "PGSSLMODE=%s ", shellQuote(mode))
	}
	fmt.Fprintf(&b, "pg_dump --format=custom --file=%s --host=%s --port=%s", shellQuote(out), shellQuote(host), shellQuote(port))
	if user != "" {
		fmt.Fprintf(&b, " --username=%s", shellQuote(user))
	}
	fmt.Fprintf(&b, " --dbname=%s", shellQuote(db))
	return b.String(), nil
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@%+=,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
