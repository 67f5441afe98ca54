package models_test

import (
	"context"
	"errors"
	"testing"

	"capeval/models"
	"capeval/models/modelstest"
)

func TestCreateUser(t *testing.T) {
	tests := []struct {
		name    string
		seed    []models.User
		user    models.User
		wantErr error
	}{
		{name: "new user", user: models.User{Email: "ann@example.com", Name: "Ann", Role: models.RoleAnnotator, PasswordHash: "h"}},
		{name: "email trimmed", user: models.User{Email: "  lead@example.com ", Role: models.RoleLead}},
		{
			name:    "duplicate email in another case",
			seed:    []models.User{{Email: "Ann@Example.com", Role: models.RoleAnnotator}},
			user:    models.User{Email: "ann@EXAMPLE.COM", Role: models.RoleAdmin},
			wantErr: models.ErrConflict,
		},
		{name: "unknown role", user: models.User{Email: "x@example.com", Role: "root"}, wantErr: models.ErrInvalid},
		{name: "empty email", user: models.User{Email: "  ", Role: models.RoleAdmin}, wantErr: models.ErrInvalid},
	}
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := context.Background()
				// Each case gets its own emails' namespace: clean the table.
				if err := s.GormDB().Exec("DELETE FROM users").Error; err != nil {
					t.Fatal(err)
				}
				for _, u := range tt.seed {
					if err := s.CreateUser(ctx, &u); err != nil {
						t.Fatalf("seed: %v", err)
					}
				}
				u := tt.user
				err := s.CreateUser(ctx, &u)
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("CreateUser = %v, want %v", err, tt.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if u.ID == 0 || u.CreatedAt.IsZero() || u.UpdatedAt.IsZero() {
					t.Errorf("CreateUser did not set ID/timestamps: %+v", u)
				}
				got, err := s.UserByID(ctx, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Email != u.Email || got.Role != u.Role || got.Name != u.Name ||
					got.PasswordHash != u.PasswordHash || got.Disabled || got.TokenVersion != 0 ||
					!got.CreatedAt.Equal(u.CreatedAt) {
					t.Errorf("UserByID = %+v, want %+v", got, u)
				}
			})
		}
	})
}

// The role CHECK holds in the database itself, not only in CreateUser.
func TestUserRoleCheckedByDatabase(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		err := s.GormDB().Create(&models.User{Email: "x@example.com", Role: "superuser"}).Error
		if !errors.Is(models.Classify(err), models.ErrInvalid) {
			t.Fatalf("insert with role superuser = %v, want ErrInvalid", err)
		}
	})
}

func TestUserQueries(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seed := []models.User{
			{Email: "Admin@Example.com", Role: models.RoleAdmin, PasswordHash: "h0"},
			{Email: "lead@example.com", Role: models.RoleLead, PasswordHash: "h1"},
			{Email: "ann@example.com", Role: models.RoleAnnotator, PasswordHash: "h2"},
		}
		for i := range seed {
			if err := s.CreateUser(ctx, &seed[i]); err != nil {
				t.Fatal(err)
			}
		}
		const missing = int64(1 << 40)

		t.Run("count and list in id order", func(t *testing.T) {
			n, err := s.CountUsers(ctx)
			if err != nil || n != 3 {
				t.Fatalf("CountUsers = %d, %v", n, err)
			}
			users, err := s.ListUsers(ctx)
			if err != nil || len(users) != 3 {
				t.Fatalf("ListUsers = %d users, %v", len(users), err)
			}
			for i := range users {
				if users[i].ID != seed[i].ID {
					t.Errorf("ListUsers[%d].ID = %d, want %d", i, users[i].ID, seed[i].ID)
				}
			}
		})

		emailTests := []struct {
			query  string
			wantID int64
			want   error
		}{
			{"admin@example.com", seed[0].ID, nil},
			{" ADMIN@EXAMPLE.COM ", seed[0].ID, nil},
			{"Lead@Example.Com", seed[1].ID, nil},
			{"nobody@example.com", 0, models.ErrNotFound},
		}
		for _, tt := range emailTests {
			t.Run("by email "+tt.query, func(t *testing.T) {
				u, err := s.UserByEmail(ctx, tt.query)
				if !errors.Is(err, tt.want) {
					t.Fatalf("UserByEmail = %v, want %v", err, tt.want)
				}
				if err == nil && u.ID != tt.wantID {
					t.Errorf("UserByEmail id = %d, want %d", u.ID, tt.wantID)
				}
			})
		}

		t.Run("missing id", func(t *testing.T) {
			if _, err := s.UserByID(ctx, missing); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("UserByID = %v", err)
			}
			if err := s.SetUserDisabled(ctx, missing, true); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("SetUserDisabled = %v", err)
			}
			if err := s.SetUserPassword(ctx, missing, "h"); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("SetUserPassword = %v", err)
			}
			if _, err := s.BumpTokenVersion(ctx, missing); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("BumpTokenVersion = %v", err)
			}
		})

		t.Run("token version", func(t *testing.T) {
			id := seed[2].ID
			v, err := s.BumpTokenVersion(ctx, id)
			if err != nil || v != 1 {
				t.Fatalf("BumpTokenVersion = %d, %v; want 1", v, err)
			}
			if err := s.SetUserPassword(ctx, id, "new-hash"); err != nil {
				t.Fatal(err)
			}
			u, _ := s.UserByID(ctx, id)
			if u.PasswordHash != "new-hash" || u.TokenVersion != 2 {
				t.Errorf("after SetUserPassword: hash %q, token version %d; want new-hash, 2", u.PasswordHash, u.TokenVersion)
			}
			if !u.UpdatedAt.After(u.CreatedAt) && !u.UpdatedAt.Equal(u.CreatedAt) {
				t.Errorf("updated_at %v before created_at %v", u.UpdatedAt, u.CreatedAt)
			}
			if err := s.SetUserPassword(ctx, id, ""); !errors.Is(err, models.ErrInvalid) {
				t.Errorf("SetUserPassword with empty hash = %v, want ErrInvalid", err)
			}
			// Only the named user changed.
			other, _ := s.UserByID(ctx, seed[1].ID)
			if other.TokenVersion != 0 || other.PasswordHash != "h1" {
				t.Errorf("another user changed: %+v", other)
			}
		})

		t.Run("disable and enable", func(t *testing.T) {
			id := seed[1].ID
			tests := []struct {
				disabled    bool
				wantVersion int64
			}{
				{true, 1},  // disabling revokes tokens
				{false, 1}, // enabling does not bring them back
				{true, 2},
			}
			for _, tt := range tests {
				if err := s.SetUserDisabled(ctx, id, tt.disabled); err != nil {
					t.Fatal(err)
				}
				u, _ := s.UserByID(ctx, id)
				if u.Disabled != tt.disabled || u.TokenVersion != tt.wantVersion {
					t.Errorf("after SetUserDisabled(%t): disabled %t, token version %d; want %t, %d",
						tt.disabled, u.Disabled, u.TokenVersion, tt.disabled, tt.wantVersion)
				}
			}
		})
	})
}
