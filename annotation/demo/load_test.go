package demo_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"capeval/annotation"
	"capeval/annotation/demo"
	"capeval/models"
	"capeval/models/modelstest"
)

// plainUser builds account rows without hashing: the loader's business is
// which rows it writes, and the accounts service that hashes for real is
// tested on its own (and with the demo's logins in internal/cli).
func plainUser(email, name, role, password string) (*models.User, error) {
	return &models.User{Email: email, Name: name, Role: models.Role(role), PasswordHash: "plain:" + password}, nil
}

func loadOptions(dataDir string) demo.LoadOptions {
	return demo.LoadOptions{Images: annotation.NewImageStore(dataDir), FilesDir: filepath.Join(dataDir, "demo"), NewUser: plainUser}
}

// TestLoad: the demo campaign has its images with their tags and stored
// files, references and captioners; a second load changes nothing.
func TestLoad(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		dir := t.TempDir()
		opts := loadOptions(dir)
		if st, err := demo.Load(ctx, store, opts); err != nil || st != demo.Loaded {
			t.Fatalf("Load: %v, %v; want Loaded", st, err)
		}
		c, err := store.CampaignByName(ctx, demo.CampaignName)
		if err != nil {
			t.Fatal(err)
		}
		data := demo.Generate(demo.DefaultSeed)
		for _, want := range data.Images[:3] {
			img, err := store.ImageByExternalID(ctx, c.ID, strconv.Itoa(want.ID))
			if err != nil {
				t.Fatal(err)
			}
			if img.Width != want.Width || img.Height != want.Height || string(img.Tags) != string(models.MustJSON(want.Tags)) {
				t.Errorf("image %d: %+v, want %dx%d tags %q", want.ID, img, want.Width, want.Height, want.Tags)
			}
			if !opts.Images.Has(img.StorageKey) {
				t.Errorf("image %d: file %s not stored", want.ID, img.StorageKey)
			}
		}
		refs := 0
		if err := store.EachReference(ctx, c.ID, func(models.Reference) error { refs++; return nil }); err != nil {
			t.Fatal(err)
		}
		if refs != demo.NumImages*demo.RefsPerImage {
			t.Errorf("%d references", refs)
		}
		for _, k := range data.Captioners {
			if _, err := store.CaptionerByName(ctx, c.ID, k.Name, k.Version); err != nil {
				t.Errorf("captioner %s: %v", k.Name, err)
			}
		}
		for _, a := range demo.Accounts {
			if u, err := store.UserByEmail(ctx, a.Email); err != nil || string(u.Role) != a.Role {
				t.Errorf("account %s: %+v, %v", a.Email, u, err)
			}
		}
		if _, err := os.Stat(filepath.Join(opts.FilesDir, "references.json")); err != nil {
			t.Errorf("the demo's files stay for `capeval score`: %v", err)
		}
		if st, err := demo.Load(ctx, store, opts); err != nil || st != demo.Present {
			t.Fatalf("second Load: %v, %v; want Present", st, err)
		}
		if n, err := store.CountUsers(ctx); err != nil || n != int64(len(demo.Accounts)) {
			t.Errorf("%d accounts after a second load (%v)", n, err)
		}
	})
}

// TestLoadLeavesOthersAlone: a database with an account of its own, or one
// where the load fails half-way, ends without any of the demo.
func TestLoadLeavesOthersAlone(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, store *models.Store, dataDir string)
		want    demo.Status
		wantErr bool
	}{
		{name: "an account of its own", want: demo.Skipped, prepare: func(t *testing.T, store *models.Store, _ string) {
			u, _ := plainUser("root@example.com", "Root", "admin", "not-the-demo")
			if err := store.CreateUser(context.Background(), u); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "the image store cannot be written", wantErr: true, prepare: func(t *testing.T, _ *models.Store, dataDir string) {
			// A file where the image store's folder belongs: the import
			// fails after the accounts and the campaign are written.
			if err := os.WriteFile(filepath.Join(dataDir, "images"), []byte("in the way"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			store, dir := modelstest.NewStore(t), t.TempDir()
			tt.prepare(t, store, dir)
			before, err := store.CountUsers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			st, err := demo.Load(ctx, store, loadOptions(dir))
			if (err != nil) != tt.wantErr || (err == nil && st != tt.want) {
				t.Fatalf("Load: %v, %v; want %v (error: %v)", st, err, tt.want, tt.wantErr)
			}
			if _, err := store.CampaignByName(ctx, demo.CampaignName); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("demo campaign: %v, want none", err)
			}
			if after, err := store.CountUsers(ctx); err != nil || after != before {
				t.Errorf("%d accounts, want %d (%v)", after, before, err)
			}
		})
	}
}
