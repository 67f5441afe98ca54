package cli

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3" // the driver models uses, for a failure only SQL can inject

	"capeval/models"
)

// TestUserWriteFailureIsReported makes the database refuse each account
// write with a trigger and checks that the command fails and says so, rather
// than printing "done" (set-password once dropped the error of its write).
func TestUserWriteFailureIsReported(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		args    []string
		trigger string
	}{
		{"set-password", "brand-new-pass\n", []string{"user", "set-password", "--email", "ann@example.com", "--password-stdin"},
			"CREATE TRIGGER refuse BEFORE UPDATE OF password_hash ON users BEGIN SELECT RAISE(ABORT, 'write refused by test'); END"},
		{"disable", "", []string{"user", "disable", "--email", "ann@example.com"},
			"CREATE TRIGGER refuse BEFORE UPDATE OF disabled ON users BEGIN SELECT RAISE(ABORT, 'write refused by test'); END"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := setEnv(t)
			if code, out, errOut := cli(t, "another-pass\n", "user", "add", "--email", "ann@example.com", "--role", "annotator", "--password-stdin"); code != 0 {
				t.Fatalf("user add: %d %s %s", code, out, errOut)
			}
			db, err := sql.Open("sqlite3", filepath.Join(dir, models.SQLiteFile))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(tt.trigger); err != nil {
				t.Fatal(err)
			}
			db.Close()
			code, out, errOut := cli(t, tt.input, tt.args...)
			if code != 1 || strings.Contains(out, "done") || !strings.Contains(errOut, "write refused by test") {
				t.Fatalf("exit %d (want 1)\nstdout: %s\nstderr: %s\nwant the write's error and no \"done\"", code, out, errOut)
			}
		})
	}
}
