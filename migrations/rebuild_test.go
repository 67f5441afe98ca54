package migrations

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3" // "sqlite3" driver
)

// SQLite migrations rebuild tables to change them. With foreign keys
// enforced, dropping the old parent table would first delete its rows and
// cascade into the children; the runner switches enforcement off around the
// migration and checks the keys before committing instead.
func TestSQLiteTableRebuildKeepsChildren(t *testing.T) {
	base := Migration{Version: 1, Name: "base", sql: `
CREATE TABLE parents (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parents (id) ON DELETE CASCADE);
INSERT INTO parents (id, name) VALUES (1, 'p1'), (2, 'p2');
INSERT INTO children (parent_id) VALUES (1), (1), (2);`}
	rebuild := Migration{Version: 2, Name: "rebuild_parents", sql: `
CREATE TABLE parents_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL CHECK (name <> ''));
INSERT INTO parents_new (id, name) SELECT id, name FROM parents;
DROP TABLE parents;
ALTER TABLE parents_new RENAME TO parents;`}
	breaking := Migration{Version: 2, Name: "drop_a_parent", sql: `DELETE FROM parents WHERE id = 2;`}

	tests := []struct {
		name         string
		second       Migration
		wantErr      string
		wantChildren int
		wantVersion  int
	}{
		{name: "rebuild keeps every child", second: rebuild, wantChildren: 3, wantVersion: 2},
		{name: "broken keys roll back", second: breaking, wantErr: "children row 3 references a missing parents", wantChildren: 3, wantVersion: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db, err := sql.Open("sqlite3", filepath.Join(t.TempDir(), "r.db")+"?_foreign_keys=on&_journal_mode=WAL")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1) // the runner's connection is the one checked below
			if _, err := apply(ctx, db, DialectSQLite, nil, []Migration{base}); err != nil {
				t.Fatal(err)
			}
			_, err = apply(ctx, db, DialectSQLite, nil, []Migration{base, tt.second})
			if tt.wantErr == "" && err != nil {
				t.Fatalf("apply: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("apply = %v, want an error containing %q", err, tt.wantErr)
			}
			var children, version, fk int
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM children").Scan(&children); err != nil {
				t.Fatal(err)
			}
			if err := db.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&version); err != nil {
				t.Fatal(err)
			}
			if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
				t.Fatal(err)
			}
			if children != tt.wantChildren || version != tt.wantVersion {
				t.Errorf("after apply: %d children at version %d, want %d at %d", children, version, tt.wantChildren, tt.wantVersion)
			}
			if fk != 1 {
				t.Errorf("foreign_keys = %d on the pooled connection after apply, want it restored to 1", fk)
			}
		})
	}
}
