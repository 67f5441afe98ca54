package models

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
	"gorm.io/gorm"
)

// Sentinel errors of the data layer. Store methods wrap them with context;
// test with errors.Is.
var (
	// ErrNotFound: the row asked for does not exist.
	ErrNotFound = errors.New("models: not found")
	// ErrConflict: a unique constraint refused the write (duplicate email,
	// campaign name, rating of the same task twice…).
	ErrConflict = errors.New("models: conflict with an existing row")
	// ErrInvalid: a CHECK, NOT NULL or foreign key constraint, or the type of
	// a column, refused the write (unknown role, malformed JSON, reference to
	// a missing row, delete of a user who has ratings…).
	ErrInvalid = errors.New("models: value refused by a database constraint")
	// ErrHeld: a delete was refused because ratings hold what it would
	// remove (human work is never deleted, see migration 0004); the message
	// says what holds it.
	ErrHeld = errors.New("models: held by ratings")
	// ErrJobLost is returned to a worker whose job is no longer running
	// under its id: it was cancelled, or reclaimed by another worker after
	// the heartbeat went stale. The worker must stop and write nothing more.
	ErrJobLost = errors.New("models: the job is no longer running for this worker")
)

// PostgreSQL SQLSTATE codes, class 23: integrity constraint violation.
const (
	pgUniqueViolation     = "23505"
	pgForeignKeyViolation = "23503"
	pgCheckViolation      = "23514"
	pgNotNullViolation    = "23502"
)

// classify maps a driver error to ErrNotFound, ErrConflict, ErrInvalid or
// ErrUnavailable, keeping the driver error in the chain for its details;
// other errors are returned unchanged. It knows both drivers, so callers never look at them.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrInvalid) || errors.Is(err, ErrHeld) || errors.Is(err, ErrUnavailable) {
		return err
	}
	// Before the SQLSTATE codes below: a server shutting down answers with
	// a PgError of its own (57P01).
	if connectionLost(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrConstraint {
		switch se.ExtendedCode {
		case sqlite3.ErrConstraintUnique, sqlite3.ErrConstraintPrimaryKey:
			return fmt.Errorf("%w: %w", ErrConflict, err)
		default: // CHECK, NOT NULL, FOREIGN KEY, TRIGGER
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case pgUniqueViolation:
			return fmt.Errorf("%w: %w", ErrConflict, err)
		case pgForeignKeyViolation, pgCheckViolation, pgNotNullViolation:
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		// Class 22, data exception: malformed JSON, out-of-range numbers…
		// SQLite reports the same inputs as CHECK failures.
		if strings.HasPrefix(pe.Code, "22") {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	return err
}

// wrap classifies err and prefixes it with what the store was doing.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("models: "+format+": %w", append(args, classify(err))...)
}
