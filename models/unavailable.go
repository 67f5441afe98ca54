package models

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrUnavailable: the database cannot be reached (it is down, restarting,
// or the connection to it broke). The request may succeed when sent again
// later; a write whose commit met it may or may not have been applied, so
// clients resend with the same idempotency key. Test with IsUnavailable,
// which also knows the driver errors that did not pass through the store's
// classification.
var ErrUnavailable = errors.New("models: the database is unavailable")

// DefaultConnectTimeout bounds each new PostgreSQL connection (dial, TLS,
// authentication) unless the DSN sets connect_timeout: without a bound, a
// request that needs a new connection to a database host that does not
// answer would wait as long as the kernel retries the TCP handshake.
const DefaultConnectTimeout = 5 * time.Second

// PostgreSQL SQLSTATE codes that say the server is going away or not
// accepting connections yet (class 57, operator intervention). Class 08,
// connection exception, is taken whole.
const (
	pgAdminShutdown    = "57P01"
	pgCrashShutdown    = "57P02"
	pgCannotConnectNow = "57P03"
)

// IsUnavailable reports whether err says that the database cannot be
// reached: ErrUnavailable (the store classified a driver error so), a failed
// connect (refused, timed out, the server starting or shutting down),
// driver.ErrBadConn, pgx's closed connection, or a PostgreSQL error of class 08 or 57P01-03. A
// request cancelled by its client is not (the database may be fine), nor a
// request deadline outside a connect, nor any constraint or serialization
// error. Bare network errors and EOF count only inside the store, where
// they can only come from the database connection: elsewhere they may be a
// client's truncated upload or a browser that went away.
func IsUnavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	return errors.Is(err, ErrUnavailable) || unreachable(err)
}

// unreachable recognises the driver's own signals of an unreachable
// database.
func unreachable(err error) bool {
	var ce *pgconn.ConnectError
	connect := errors.As(err, &ce)
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), pe.Code == pgAdminShutdown, pe.Code == pgCrashShutdown, pe.Code == pgCannotConnectNow:
			return true
		case strings.HasPrefix(pe.Code, "28"), strings.HasPrefix(pe.Code, "3D"):
			// A refused password or a missing database: the server answers
			// and the configuration is wrong; sending again will not help.
			return false
		}
		// Another server error inside a failed connect (too many
		// connections, out of memory) still leaves no connection.
		return connect
	}
	// ErrConnClosed: the driver closed the connection after an earlier
	// failure on it (the database went away mid-query).
	return connect || errors.Is(err, driver.ErrBadConn) || errors.Is(err, pgconn.ErrConnClosed)
}

// connectionLost reports whether err, an error of the database driver,
// says that the connection broke under a query (EOF where a reply was due,
// reset, broken pipe) or could not be made.
func connectionLost(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	if unreachable(err) {
		return true
	}
	var oe *net.OpError
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &oe) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}
