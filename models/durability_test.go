package models_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"capeval/models"
	"capeval/models/modelstest"
)

// durabilityChildEnv, when set to a DSN, turns this test binary into the
// writer child of TestKill9KeepsCommittedRows.
const durabilityChildEnv = "CAPEVAL_MODELS_DURABILITY_CHILD_DSN"

// TestKill9KeepsCommittedRows re-runs this test binary as a child that commits
// rows in a loop and prints each committed id; the parent kills it with
// SIGKILL mid-stream, reopens the database and checks that every id the child
// reported is there. (Power loss is what synchronous=FULL adds on top; a test
// cannot pull the plug, so that part rests on SQLite's documented behaviour.)
func TestKill9KeepsCommittedRows(t *testing.T) {
	if dsn := os.Getenv(durabilityChildEnv); dsn != "" {
		durabilityChild(t, dsn)
		return
	}
	tests := []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "kill.db") }},
		{"postgres", func(t *testing.T) string { return modelstest.NewPostgresDatabase(t) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := tt.dsn(t)
			modelstest.OpenMigrated(t, dsn) // closed at cleanup; the child opens its own

			cmd := exec.Command(os.Args[0], "-test.run=^TestKill9KeepsCommittedRows$", "-test.count=1")
			cmd.Env = append(os.Environ(), durabilityChildEnv+"="+dsn)
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Should the parent fail early, the child must not outlive it.
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			var ids []int64
			sc := bufio.NewScanner(out)
			deadline := time.Now().Add(20 * time.Second)
			for sc.Scan() {
				line := sc.Text()
				id, ok := strings.CutPrefix(line, "committed ")
				if !ok {
					continue // the test framework's own output
				}
				n, err := strconv.ParseInt(id, 10, 64)
				if err != nil {
					t.Fatalf("child printed %q", line)
				}
				ids = append(ids, n)
				// Kill mid-stream, while the child is busy writing.
				if len(ids) == 300 || time.Now().After(deadline) {
					if err := cmd.Process.Kill(); err != nil {
						t.Fatal(err)
					}
					break
				}
			}
			_ = cmd.Wait()
			if len(ids) < 10 {
				t.Fatalf("child committed only %d rows before it stopped", len(ids))
			}

			s := modelstest.OpenMigrated(t, dsn)
			ctx := context.Background()
			for _, id := range ids {
				if _, err := s.UserByID(ctx, id); err != nil {
					t.Errorf("row %d was reported committed before the kill but is gone: %v", id, err)
				}
			}
			t.Logf("%d committed rows survived kill -9", len(ids))
		})
	}
}

func durabilityChild(t *testing.T, dsn string) {
	ctx := context.Background()
	s, err := models.Open(ctx, dsn, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stop := time.Now().Add(30 * time.Second) // the parent kills us long before
	for i := 0; time.Now().Before(stop); i++ {
		u := models.User{Email: fmt.Sprintf("u%d@example.com", i), Role: models.RoleAnnotator}
		err := s.InTx(ctx, func(tx *models.Store) error { return tx.CreateUser(ctx, &u) })
		if err != nil {
			t.Fatal(err)
		}
		// Printed only after the commit returned: the promise under test.
		fmt.Fprintf(os.Stdout, "committed %d\n", u.ID)
	}
}
