package models_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm/schema"

	"capeval/migrations"
	"capeval/models"
	"capeval/models/modelstest"
)

func TestOpenSelectsDatabaseFromDSN(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name     string
		dsn      string
		dataDir  string
		wantFile string // SQLite file that must exist afterwards
		wantErr  string
	}{
		{name: "empty DSN uses the data dir", dsn: "", dataDir: filepath.Join(dir, "data"), wantFile: filepath.Join(dir, "data", "capeval.db")},
		{name: "sqlite prefix", dsn: "sqlite:" + filepath.Join(dir, "a", "x.db"), wantFile: filepath.Join(dir, "a", "x.db")},
		{name: "sqlite URL-like prefix", dsn: "sqlite://" + filepath.Join(dir, "b.db"), wantFile: filepath.Join(dir, "b.db")},
		{name: "plain path", dsn: filepath.Join(dir, "c.db"), wantFile: filepath.Join(dir, "c.db")},
		{name: "no DSN and no data dir", dsn: "", wantErr: "neither a DSN nor a data directory"},
		{name: "unknown scheme", dsn: "mysql://u:secret@h/db", wantErr: "unsupported DSN scheme"},
		{name: "in-memory refused", dsn: "sqlite::memory:", wantErr: "not a file path"},
		{name: "parameters refused", dsn: filepath.Join(dir, "d.db") + "?_journal_mode=DELETE", wantErr: "must not contain '?'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := models.Open(context.Background(), tt.dsn, tt.dataDir, modelstest.Logger(t))
			if tt.wantErr != "" {
				if err == nil {
					s.Close()
					t.Fatalf("Open(%q) succeeded, want error containing %q", tt.dsn, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Open(%q) error = %q, want it to contain %q", tt.dsn, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error %q leaks the password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q): %v", tt.dsn, err)
			}
			defer s.Close()
			if s.Dialect() != models.DialectSQLite {
				t.Errorf("Dialect() = %q, want sqlite", s.Dialect())
			}
			if err := s.Ping(context.Background()); err != nil {
				t.Errorf("Ping: %v", err)
			}
			if _, err := os.Stat(tt.wantFile); err != nil {
				t.Errorf("database file: %v", err)
			}
		})
	}
}

func TestOpenPostgres(t *testing.T) {
	s := modelstest.NewPostgresStore(t)
	if s.Dialect() != models.DialectPostgres {
		t.Errorf("Dialect() = %q, want postgres", s.Dialect())
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	settings := []struct{ name, want string }{
		{"plan_cache_mode", "force_custom_plan"},
		{"application_name", "capeval"},
	}
	for _, tt := range settings {
		var got string
		if err := s.SQLDB().QueryRowContext(context.Background(), "SHOW "+tt.name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// The durability settings must hold on every pooled connection, not only on
// the first: mattn runs the DSN pragmas on each new connection.
func TestSQLiteDurabilitySettingsOnPooledConnections(t *testing.T) {
	s := modelstest.NewStore(t)
	ctx := context.Background()
	db := s.SQLDB()
	const n = 3 // held at once, so they are distinct connections
	held := make([]func(), 0, n)
	for i := 0; i < n; i++ {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, func() { c.Close() })
		tests := []struct {
			pragma string
			want   string
		}{
			{"journal_mode", "wal"},
			{"synchronous", "2"}, // FULL
			{"foreign_keys", "1"},
			{"busy_timeout", "10000"},
		}
		for _, tt := range tests {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got); err != nil {
				t.Fatalf("conn %d: PRAGMA %s: %v", i, tt.pragma, err)
			}
			if !strings.EqualFold(got, tt.want) {
				t.Errorf("conn %d: PRAGMA %s = %s, want %s", i, tt.pragma, got, tt.want)
			}
		}
	}
	if got := db.Stats().OpenConnections; got < n {
		t.Errorf("%d open connections, want at least %d", got, n)
	}
	for _, release := range held {
		release()
	}
}

// Every entity field has its column and every column has its field, on both
// databases: the migrations are the schema, the structs must follow them.
func TestEntitiesMatchMigratedSchema(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		db := s.GormDB()
		for _, m := range models.All() {
			sch, err := schema.Parse(m, &sync.Map{}, db.NamingStrategy)
			if err != nil {
				t.Fatalf("parse %T: %v", m, err)
			}
			cols, err := db.Migrator().ColumnTypes(sch.Table)
			if err != nil {
				t.Fatalf("columns of %s: %v", sch.Table, err)
			}
			inTable := map[string]bool{}
			for _, c := range cols {
				inTable[c.Name()] = true
			}
			if len(inTable) == 0 {
				t.Errorf("%T: table %s has no columns (missing?)", m, sch.Table)
				continue
			}
			inStruct := map[string]bool{}
			for _, f := range sch.Fields {
				if f.DBName == "" {
					continue
				}
				inStruct[f.DBName] = true
				if !inTable[f.DBName] {
					t.Errorf("%T.%s: column %s.%s does not exist", m, f.Name, sch.Table, f.DBName)
				}
			}
			var missing []string
			for c := range inTable {
				if !inStruct[c] {
					missing = append(missing, c)
				}
			}
			sort.Strings(missing)
			if len(missing) > 0 {
				t.Errorf("%T: columns %v of %s have no field", m, missing, sch.Table)
			}
		}
	})
}

func TestMigrateIsIdempotentAndReportsStatus(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		applied, err := s.Migrate(ctx)
		if err != nil || len(applied) != 0 {
			t.Fatalf("Migrate on a migrated store = %v, %v; want nothing applied", applied, err)
		}
		st, err := s.MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Current != migrations.Latest() || len(st.Pending) != 0 {
			t.Errorf("MigrationStatus = %+v, want current %d and nothing pending", st, migrations.Latest())
		}
	})
}

func TestMigrateRefusesNewerDatabase(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		err := s.GormDB().Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			migrations.Latest()+7, "future", time.Now().UTC()).Error
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Migrate(ctx); !errors.Is(err, migrations.ErrDatabaseNewer) {
			t.Fatalf("Migrate = %v, want ErrDatabaseNewer", err)
		}
	})
}

// Times come back in UTC with the same value from both databases, and JSON
// documents come back byte for byte.
func TestTimesAndJSONRoundTrip(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		before := time.Now().UTC().Add(-time.Second)
		c := models.Campaign{
			Name: "round trip", Mode: models.ModeLikert,
			// Key order and spacing must survive (PostgreSQL's jsonb would not keep them).
			Rubric:     models.JSON(`{"z": 1, "a":[1, 2.50]}`),
			Thresholds: nil, // stored as JSON null
		}
		if err := s.CreateCampaign(ctx, &c); err != nil {
			t.Fatal(err)
		}
		got, err := s.CampaignByName(ctx, "round trip")
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Rubric) != `{"z": 1, "a":[1, 2.50]}` {
			t.Errorf("rubric = %s", got.Rubric)
		}
		if string(got.Thresholds) != "null" || string(got.BlendWeights) != "null" {
			t.Errorf("absent JSON = %q, %q; want null", got.Thresholds, got.BlendWeights)
		}
		if got.Status != models.StatusDraft {
			t.Errorf("status = %q, want draft", got.Status)
		}
		if got.CreatedAt.Location() != time.UTC {
			t.Errorf("created_at location = %v, want UTC", got.CreatedAt.Location())
		}
		if !got.CreatedAt.Equal(c.CreatedAt) || got.CreatedAt.Before(before) {
			t.Errorf("created_at = %v, written %v", got.CreatedAt, c.CreatedAt)
		}
	})
}

func TestInTxRollsBackOnError(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		boom := errors.New("boom")
		err := s.InTx(ctx, func(tx *models.Store) error {
			if err := tx.CreateUser(ctx, &models.User{Email: "a@example.com", Role: models.RoleAdmin}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want boom", err)
		}
		if n, err := s.CountUsers(ctx); err != nil || n != 0 {
			t.Fatalf("CountUsers after rollback = %d, %v; want 0", n, err)
		}
		err = s.InTx(ctx, func(tx *models.Store) error {
			return tx.CreateUser(ctx, &models.User{Email: "a@example.com", Role: models.RoleAdmin})
		})
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := s.CountUsers(ctx); n != 1 {
			t.Fatalf("CountUsers after commit = %d, want 1", n)
		}
	})
}

// Several processes starting at once on the same database (replicas,
// workers, a CLI command beside the server) all open and migrate it, and each
// migration is applied exactly once. For SQLite the file is new, so they also
// race to switch it to WAL.
func TestConcurrentOpenAndMigrate(t *testing.T) {
	tests := []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "race.db") }},
		{"postgres", func(t *testing.T) string { return modelstest.NewPostgresDatabase(t) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := tt.dsn(t)
			ctx := context.Background()
			const procs = 4
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				applied int
				errs    []error
			)
			for i := 0; i < procs; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s, err := models.Open(ctx, dsn, "", nil)
					if err == nil {
						var got []int
						got, err = s.Migrate(ctx)
						mu.Lock()
						applied += len(got)
						mu.Unlock()
						s.Close()
					}
					if err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if len(errs) > 0 {
				t.Fatalf("concurrent open and migrate: %v", errors.Join(errs...))
			}
			if applied != migrations.Latest() {
				t.Errorf("%d migrations applied across %d processes, want %d", applied, procs, migrations.Latest())
			}
		})
	}
}

// Two stores on one SQLite file (two processes) with several goroutines
// each, all running read-then-write transactions: with deferred transactions
// some would fail with SQLITE_BUSY (a lock upgrade the busy timeout cannot
// resolve); with BEGIN IMMEDIATE they queue and all commit.
func TestSQLiteConcurrentWritersDoNotDeadlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy.db")
	a := modelstest.OpenMigrated(t, "sqlite:"+path)
	b := modelstest.OpenMigrated(t, "sqlite:"+path)
	ctx := context.Background()
	const workers, each = 4, 25
	var wg sync.WaitGroup
	errc := make(chan error, 2*workers*each)
	for w := 0; w < 2*workers; w++ {
		s := a
		if w%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				errc <- s.InTx(ctx, func(tx *models.Store) error {
					n, err := tx.CountUsers(ctx) // read first…
					if err != nil {
						return err
					}
					return tx.CreateUser(ctx, &models.User{ // …then write
						Email: fmt.Sprintf("w%d-%d-%d@example.com", w, i, n), Role: models.RoleAnnotator})
				})
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatalf("concurrent transaction failed: %v", err)
		}
	}
	if n, err := a.CountUsers(ctx); err != nil || n != 2*workers*each {
		t.Errorf("CountUsers = %d, %v; want %d", n, err, 2*workers*each)
	}
}

// SQLite keeps times as text; whatever zone a caller uses, the text is UTC,
// so that comparisons and ORDER BY in SQL follow time order.
func TestSQLiteWritesTimesInUTC(t *testing.T) {
	s := modelstest.NewStore(t)
	f := seedFixture(t, s)
	db := s.GormDB()
	east := time.FixedZone("UTC+5", 5*3600)
	expires := time.Date(2030, 1, 2, 8, 0, 0, 0, east) // 03:00 UTC
	if err := db.Model(&models.Lease{}).Where("id = ?", f.lease.ID).Update("expires_at", expires).Error; err != nil {
		t.Fatal(err)
	}
	var text string
	if err := db.Raw("SELECT expires_at || '' FROM leases WHERE id = ?", f.lease.ID).Scan(&text).Error; err != nil {
		t.Fatal(err)
	}
	if text != "2030-01-02 03:00:00+00:00" {
		t.Errorf("stored text = %q, want UTC", text)
	}
	tests := []struct {
		name  string
		at    time.Time
		count int64
	}{
		{"a minute before, in UTC+5", time.Date(2030, 1, 2, 7, 59, 0, 0, east), 0},
		{"a minute after, in UTC-8", time.Date(2030, 1, 1, 19, 1, 0, 0, time.FixedZone("UTC-8", -8*3600)), 1},
		{"same instant, pointer", expires, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n int64
			arg := any(tt.at)
			if tt.name == "same instant, pointer" {
				arg = &tt.at
			}
			if err := db.Model(&models.Lease{}).Where("expires_at < ?", arg).Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			if n != tt.count {
				t.Errorf("leases expiring before %v = %d, want %d", tt.at, n, tt.count)
			}
		})
	}
	var l models.Lease
	if err := db.Take(&l, f.lease.ID).Error; err != nil {
		t.Fatal(err)
	}
	if !l.ExpiresAt.Equal(expires) || l.ExpiresAt.Location() != time.UTC {
		t.Errorf("read back %v, want %v in UTC", l.ExpiresAt, expires)
	}
}
