package models_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"capeval/models"
	"capeval/models/modelstest"
)

// closedPort returns an address on which nothing listens: a real
// connection to it is refused.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// silentServer accepts connections and never answers: a database host
// that hangs. It returns its address.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	return ln.Addr().String()
}

// TestIsUnavailable classifies real errors: those that say the database
// cannot be reached, and those that must not (a constraint, a request
// cancelled by its client, a request deadline).
func TestIsUnavailable(t *testing.T) {
	ctx := context.Background()
	type errCase struct {
		name string
		err  func(t *testing.T) error
		want bool
		// sentinel: the error came through the store's classification, so
		// it must wrap ErrUnavailable as well.
		sentinel bool
	}
	tests := []errCase{
		{name: "connection refused (open on a closed port)", want: true, err: func(t *testing.T) error {
			_, err := models.Open(ctx, "postgres://postgres@"+closedPort(t)+"/postgres?sslmode=disable", "", nil)
			return err
		}},
		{name: "connect timeout set by the DSN", want: true, err: func(t *testing.T) error {
			start := time.Now()
			_, err := models.Open(ctx, "postgres://postgres@"+silentServer(t)+"/postgres?sslmode=disable&connect_timeout=1", "", nil)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("open of a silent server with connect_timeout=1 took %v", d)
			}
			return err
		}},
		{name: "connect timeout by default", want: true, err: func(t *testing.T) error {
			// The caller's own bound is far above the default: only the
			// store's connect timeout can end the open in time.
			c, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			start := time.Now()
			_, err := models.Open(c, "postgres://postgres@"+silentServer(t)+"/postgres?sslmode=disable", "", nil)
			if d := time.Since(start); d < 4*time.Second || d > 8*time.Second {
				t.Errorf("open of a silent server took %v, want the default connect timeout of 5 s", d)
			}
			return err
		}},
		{name: "constraint error", want: false, err: func(t *testing.T) error {
			s := modelstest.NewStore(t)
			u := models.User{Email: "a@example.com", Name: "a", Role: models.RoleAnnotator}
			if err := s.CreateUser(ctx, &u); err != nil {
				t.Fatal(err)
			}
			u2 := models.User{Email: "a@example.com", Name: "b", Role: models.RoleAnnotator}
			err := s.CreateUser(ctx, &u2)
			if !errors.Is(err, models.ErrConflict) {
				t.Fatalf("duplicate email: %v, want ErrConflict", err)
			}
			return err
		}},
		{name: "request cancelled by its client", want: false, err: func(t *testing.T) error {
			s := modelstest.NewStore(t)
			c, cancel := context.WithCancel(ctx)
			cancel()
			_, err := s.UserByID(c, 1)
			return err
		}},
		{name: "request deadline passed", want: false, err: func(t *testing.T) error {
			s := modelstest.NewStore(t)
			c, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
			defer cancel()
			return s.Ping(c)
		}},
		{name: "driver.ErrBadConn", want: true, err: func(*testing.T) error { return fmt.Errorf("query: %w", driver.ErrBadConn) }},
		{name: "connection closed by the driver after a failure", want: true, err: func(*testing.T) error {
			return fmt.Errorf("annotation: rate task 83: %w", pgconn.ErrConnClosed)
		}},
		{name: "SQLSTATE 08006 connection failure", want: true, err: pgErr("08006")},
		{name: "SQLSTATE 08001 cannot establish", want: true, err: pgErr("08001")},
		{name: "SQLSTATE 57P01 admin shutdown", want: true, err: pgErr("57P01")},
		{name: "SQLSTATE 57P02 crash shutdown", want: true, err: pgErr("57P02")},
		{name: "SQLSTATE 57P03 cannot connect now", want: true, err: pgErr("57P03")},
		{name: "SQLSTATE 40001 serialization failure", want: false, err: pgErr("40001")},
		{name: "SQLSTATE 57014 query canceled", want: false, err: pgErr("57014")},
		{name: "SQLSTATE 23505 unique violation", want: false, err: pgErr("23505")},
		{name: "not a database error", want: false, err: func(*testing.T) error { return errors.New("disk full") }},
	}
	if os.Getenv(modelstest.PostgresDSNEnv) != "" {
		tests = append(tests,
			errCase{name: "constraint error on PostgreSQL", want: false, err: func(t *testing.T) error {
				s := modelstest.NewPostgresStore(t)
				u := models.User{Email: "a@example.com", Name: "a", Role: models.RoleAnnotator}
				if err := s.CreateUser(ctx, &u); err != nil {
					t.Fatal(err)
				}
				return s.CreateUser(ctx, &models.User{Email: "a@example.com", Name: "b", Role: models.RoleAnnotator})
			}},
			errCase{name: "session terminated by the administrator (57P01)", want: true, sentinel: true, err: func(t *testing.T) error {
				dsn := modelstest.NewPostgresDatabase(t)
				s := modelstest.OpenMigrated(t, dsn)
				if err := s.Ping(ctx); err != nil { // an idle connection in the pool
					t.Fatal(err)
				}
				terminateSessions(t, dsn)
				_, err := s.UserByID(ctx, 1)
				return err
			}},
		)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err(t)
			if err == nil {
				t.Fatal("no error")
			}
			if got := models.IsUnavailable(err); got != tt.want {
				t.Errorf("IsUnavailable(%v) = %v, want %v", err, got, tt.want)
			}
			if tt.sentinel && !errors.Is(err, models.ErrUnavailable) {
				t.Errorf("%v does not wrap models.ErrUnavailable", err)
			}
		})
	}
}

func pgErr(code string) func(*testing.T) error {
	return func(*testing.T) error {
		return fmt.Errorf("models: user 1: %w", &pgconn.PgError{Severity: "FATAL", Code: code, Message: "test"})
	}
}

// terminateSessions ends every session on the database that dsn names,
// as an administrator's pg_terminate_backend does.
func terminateSessions(t *testing.T, dsn string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("pgx", os.Getenv(modelstest.PostgresDSNEnv))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var n int
	if err := admin.QueryRow("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1",
		strings.TrimPrefix(u.Path, "/")).Scan(&n); err != nil || n == 0 {
		t.Fatalf("terminate the sessions on %s: %d ended, %v", u.Path, n, err)
	}
	// The signal is sent; wait until the sessions are gone.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if err := admin.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", strings.TrimPrefix(u.Path, "/")).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatalf("%d sessions on %s outlived pg_terminate_backend by 5 s", n, u.Path)
}

// TestFaultClusterStopped: a store whose PostgreSQL cluster is stopped with
// pg_ctl stop -m immediate answers ErrUnavailable, first on the pooled
// connection (cut), then on a new one (refused), and serves again once the
// cluster is back, without being reopened.
func TestFaultClusterStopped(t *testing.T) {
	ctx := context.Background()
	c := modelstest.NewFaultCluster(t)
	s := modelstest.OpenMigrated(t, c.NewDatabase(t))
	u := models.User{Email: "a@example.com", Name: "a", Role: models.RoleAnnotator}
	if err := s.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Ctl("stop", "-m", "immediate", "-w"); err != nil {
		t.Fatal(err)
	}
	for i, what := range []string{"pooled connection", "new connection"} {
		start := time.Now()
		_, err := s.UserByID(ctx, u.ID)
		if d := time.Since(start); d > 7*time.Second {
			t.Errorf("%s: the read took %v with the database down", what, d)
		}
		if !models.IsUnavailable(err) || !errors.Is(err, models.ErrUnavailable) {
			t.Errorf("read %d (%s) with the cluster stopped: %v; want ErrUnavailable", i, what, err)
		}
		var ce *pgconn.ConnectError
		if i == 1 && !errors.As(err, &ce) {
			t.Errorf("read on a new connection: %v; want a *pgconn.ConnectError", err)
		}
	}
	if _, err := c.Ctl("start", "-w"); err != nil {
		t.Fatal(err)
	}
	got, err := s.UserByID(ctx, u.ID)
	if err != nil || got.Email != u.Email {
		t.Fatalf("after the restart: %v, %v; want the user back without reopening the store", got, err)
	}
}
