package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"capeval/annotation/demo"
	"capeval/models"
)

// TestBackupWhileServing is the restore test: `capeval serve` takes
// writes over HTTP (campaigns, each with its audit entry, in one
// transaction) while `capeval backup` copies the database; the copy, opened
// as a database, is up to date with the migrations, passes SQLite's
// integrity check, holds every campaign whose 201 came before the backup
// started, and holds each campaign it has together with its audit entry
// (nothing half-committed).
func TestBackupWhileServing(t *testing.T) {
	dir := setEnv(t)
	srv := startServe(t)
	lead := srv.login(t, demo.Accounts[1].Email, demo.Accounts[1].Password)

	var mu sync.Mutex
	var acked []string
	ctx, stopLoad := context.WithCancel(context.Background())
	loadDone := make(chan error, 1)
	go func() {
		// Bounded in count and time; stopped by the test before either.
		deadline := time.Now().Add(60 * time.Second)
		for i := 0; i < 5000 && ctx.Err() == nil && time.Now().Before(deadline); i++ {
			name := fmt.Sprintf("load-%04d", i)
			code, body, err := srv.call(ctx, "POST", "/api/v1/campaigns", fmt.Sprintf(`{"name":%q}`, name), lead)
			if ctx.Err() != nil {
				break
			}
			if err != nil || code != http.StatusCreated {
				loadDone <- fmt.Errorf("create %s: %d %s %v", name, code, body, err)
				return
			}
			mu.Lock()
			acked = append(acked, name)
			mu.Unlock()
		}
		loadDone <- nil
	}()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	waitFor := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); count() < n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("only %d writes acknowledged in 30 s", count())
			}
		}
	}
	waitFor(20)
	mu.Lock()
	before := append([]string(nil), acked...)
	mu.Unlock()
	file := filepath.Join(t.TempDir(), "capeval-backup.db")
	code, out, errOut := cli(t, "", "backup", "--out", file)
	if code != 0 || !strings.Contains(out, "written to "+file) || !strings.Contains(out, filepath.Join(dir, "images")) {
		t.Fatalf("backup: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	waitFor(len(before) + 20) // the server kept writing during and after the copy
	stopLoad()
	if err := <-loadDone; err != nil {
		t.Fatal(err)
	}

	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %04o, want 0600 (it holds password hashes)", st.Mode().Perm())
	}
	if tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".*tmp*")); len(tmps) > 0 {
		t.Errorf("temporary files left: %v", tmps)
	}
	// An existing file is kept unless --force.
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := cli(t, "", "backup", "--out", file); code != 1 || !strings.Contains(errOut, "exists") || !strings.Contains(errOut, "--force") {
		t.Errorf("backup over an existing file: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	if now, _ := os.ReadFile(file); !bytes.Equal(now, orig) {
		t.Error("a refused backup changed the existing file")
	}
	forced := filepath.Join(filepath.Dir(file), "forced.db")
	if err := os.WriteFile(forced, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := cli(t, "", "backup", "--out", forced, "--force"); code != 0 {
		t.Errorf("backup --force: exit %d: %s", code, errOut)
	}
	if b, _ := os.ReadFile(forced); bytes.Equal(b, []byte("old")) {
		t.Error("backup --force left the old file")
	}

	// Restore: the copy is a database of its own.
	bctx := context.Background()
	restored, err := models.Open(bctx, "sqlite:"+file, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	state, err := restored.MigrationStatus(bctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(state.Pending) != 0 || state.Current != state.Latest {
		t.Errorf("restored database at migration %d of %d, %d pending: want up to date", state.Current, state.Latest, len(state.Pending))
	}
	if err := restored.CheckIntegrity(bctx); err != nil {
		t.Errorf("integrity check of the copy: %v", err)
	}
	for _, name := range before {
		c, err := restored.CampaignByName(bctx, name)
		if err != nil {
			t.Errorf("campaign %s, acknowledged before the backup, is not in it: %v", name, err)
			continue
		}
		checkCreateAudit(t, restored, c)
	}
	all, err := restored.ListCampaignSummaries(bctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range all {
		if strings.HasPrefix(c.Name, "load-") {
			checkCreateAudit(t, restored, &c.Campaign)
		}
	}
	t.Logf("%d campaigns acknowledged before the backup, %d in it, %d acknowledged in all", len(before), len(all)-1, count())
	if code := srv.stop(t); code != 0 {
		t.Fatalf("serve exited %d: %s", code, srv.errOut.String())
	}
}

// checkCreateAudit fails unless campaign c has its campaign.create audit
// entry: written in the same transaction, a copy has both or neither.
func checkCreateAudit(t *testing.T, s *models.Store, c *models.Campaign) {
	t.Helper()
	entries, err := s.AuditLog(context.Background(), c.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Action == "campaign.create" {
			return
		}
	}
	t.Errorf("campaign %s is in the backup without its campaign.create audit entry (%d entries)", c.Name, len(entries))
}

func TestBackupCommandErrors(t *testing.T) {
	dir := setEnv(t)
	t.Run("no database yet", func(t *testing.T) {
		code, _, errOut := cli(t, "", "backup", "--out", filepath.Join(dir, "b.db"))
		if code != 1 || !strings.Contains(errOut, "no database at "+filepath.Join(dir, models.SQLiteFile)) {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if _, err := os.Stat(filepath.Join(dir, models.SQLiteFile)); err == nil {
			t.Fatal("backup created an empty database")
		}
	})
	t.Run("no --out", func(t *testing.T) {
		if code, _, errOut := cli(t, "", "backup"); code != 2 || !strings.Contains(errOut, "--out FILE is required") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	t.Run("onto the live database", func(t *testing.T) {
		if code, _, errOut := cli(t, "", "migrate"); code != 0 {
			t.Fatal(errOut)
		}
		live := filepath.Join(dir, models.SQLiteFile)
		if code, _, errOut := cli(t, "", "backup", "--force", "--out", live); code != 1 || !strings.Contains(errOut, "live database") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		t.Setenv("CAPEVAL_DB", "postgres://capeval:hunter2-secret@db.internal:5433/evals?sslmode=require")
		code, out, errOut := cli(t, "", "backup", "--out", "/backups/capeval.dump")
		want := "PGSSLMODE=require pg_dump --format=custom --file=/backups/capeval.dump --host=db.internal --port=5433 --username=capeval --dbname=evals"
		if code != 1 || !strings.Contains(errOut, want) {
			t.Fatalf("exit %d, stderr %s; want the command %q", code, errOut, want)
		}
		if strings.Contains(out+errOut, "hunter2") {
			t.Fatalf("the password is printed: %s", out+errOut)
		}
	})
}

// login signs in over HTTP and returns the bearer token.
func (s *served) login(t *testing.T, email, password string) string {
	t.Helper()
	code, body, err := s.call(context.Background(), "POST", "/api/v1/login", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password), "")
	if err != nil || code != 200 {
		t.Fatalf("login %s: %d %s %v", email, code, body, err)
	}
	var got struct{ Token string }
	if err := json.Unmarshal([]byte(body), &got); err != nil || got.Token == "" {
		t.Fatalf("login %s: %s %v", email, body, err)
	}
	return got.Token
}

// call sends one request to the server and returns the status and body.
func (s *served) call(ctx context.Context, method, path, body, token string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String(), err
}
