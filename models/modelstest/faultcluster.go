package modelstest

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"capeval/internal/sharedtest"
)

// Environment variables naming the PostgreSQL cluster that fault tests may
// stop and start. It must not be the cluster of PostgresDSNEnv: other
// packages' tests use that one at the same time.
const (
	// FaultDSNEnv is the DSN of the cluster (any database on it).
	FaultDSNEnv = "CAPEVAL_TEST_PG_FAULT_DSN"
	// FaultCtlEnv is an executable that runs pg_ctl for that cluster with
	// the arguments it is given ("restart -m immediate -w"). Tests run as
	// root and pg_ctl refuses root, so it switches to the cluster's owner.
	FaultCtlEnv = "CAPEVAL_TEST_PG_CTL"
)

// FaultCluster is a PostgreSQL cluster that a test may stop, start and
// restart under a running server. A test holds it alone: NewFaultCluster
// waits for a lock that tests of other packages take too.
type FaultCluster struct {
	t testing.TB
	// DSN names the cluster's postgres database.
	DSN string
	ctl string
}

// NewFaultCluster returns the cluster named by FaultDSNEnv and FaultCtlEnv,
// running, and held by this test until it ends, when it is started again if
// the test left it down. Without the variables the test is skipped, or fails
// under CI=true.
func NewFaultCluster(t testing.TB) *FaultCluster {
	t.Helper()
	dsn, ctl := os.Getenv(FaultDSNEnv), os.Getenv(FaultCtlEnv)
	if dsn == "" || ctl == "" {
		sharedtest.Missing(t, "%s and %s are not set: the database fault tests need a PostgreSQL cluster of their own that they may stop "+
			"(not the one of %s), and a script that runs its pg_ctl with the arguments given (.ci/run starts one on port 54330)",
			FaultDSNEnv, FaultCtlEnv, PostgresDSNEnv)
	}
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		t.Fatalf("modelstest: %s is not a postgres:// URL with a host: %q", FaultDSNEnv, dsn)
	}
	if shared := os.Getenv(PostgresDSNEnv); shared != "" {
		if su, err := url.Parse(shared); err == nil && su.Host == u.Host {
			t.Fatalf("modelstest: %s and %s name the same server %s: the fault tests would stop it under the other tests", FaultDSNEnv, PostgresDSNEnv, u.Host)
		}
	}
	c := &FaultCluster{t: t, DSN: dsn, ctl: ctl}
	c.lock(u.Host)
	c.ensureRunning()
	t.Cleanup(c.ensureRunning)
	return c
}

// lock takes an exclusive lock for the cluster at host, released when the
// test ends: go test runs packages in parallel, and two tests stopping one
// cluster would break each other.
func (c *FaultCluster) lock(host string) {
	name := "capeval-pg-fault-" + strings.NewReplacer(":", "_", "/", "_", "[", "", "]", "").Replace(host) + ".lock"
	f, err := os.OpenFile(filepath.Join(os.TempDir(), name), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		c.t.Fatalf("modelstest: fault cluster lock: %v", err)
	}
	start := time.Now()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		_ = f.Close()
		c.t.Fatalf("modelstest: fault cluster lock %s: %v", f.Name(), err)
	}
	if waited := time.Since(start); waited > time.Second {
		c.t.Logf("waited %v for the fault cluster (another package's test held it)", waited.Round(time.Millisecond))
	}
	c.t.Cleanup(func() { _ = f.Close() }) // closing releases the lock
}

// Ctl runs the pg_ctl script with args and returns how long it took. It
// does not fail the test itself, so that it may be called from any
// goroutine.
func (c *FaultCluster) Ctl(args ...string) (time.Duration, error) {
	start := time.Now()
	out, err := exec.Command(c.ctl, args...).CombinedOutput()
	if err != nil {
		return time.Since(start), fmt.Errorf("modelstest: %s %s: %w\n%s", c.ctl, strings.Join(args, " "), err, out)
	}
	return time.Since(start), nil
}

// ensureRunning starts the cluster when pg_ctl status says it is not
// running (exit status 3).
func (c *FaultCluster) ensureRunning() {
	c.t.Helper()
	err := exec.Command(c.ctl, "status").Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return
	case errors.As(err, &ee) && ee.ExitCode() == 3:
		if _, err := c.Ctl("start", "-w"); err != nil {
			c.t.Fatal(err)
		}
	default:
		c.t.Fatalf("modelstest: %s status: %v", c.ctl, err)
	}
}

// NewDatabase creates an empty database on the cluster for this test,
// drops it when the test ends (after starting the cluster again if the test
// left it down), and returns its DSN.
func (c *FaultCluster) NewDatabase(t testing.TB) string {
	t.Helper()
	dsn := createDatabase(t, c.DSN, FaultDSNEnv)
	t.Cleanup(c.ensureRunning) // runs before the drop
	return dsn
}
