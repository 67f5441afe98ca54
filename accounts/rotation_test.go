package accounts_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"capeval/accounts"
	"capeval/models"
	"capeval/models/modelstest"
)

// TestSecretRotation: a service with a previous secret signs with the
// current one only, accepts tokens of either key until the grace period
// ends and then only the current key's; everything else about a token
// (expiry, issuer, algorithm, revocation) is checked alike for both keys.
func TestSecretRotation(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		oldKey, newKey := strings.Repeat("o", 32), strings.Repeat("n", 32)
		clk := newClock()
		until := clk.Now().Add(2 * time.Hour)
		before, err := accounts.New(s, modelstest.Logger(t), accounts.Config{Secret: oldKey, TokenTTL: 3 * time.Hour, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		after, err := accounts.New(s, modelstest.Logger(t), accounts.Config{Secret: newKey, TokenTTL: 3 * time.Hour, Now: clk.Now,
			PreviousSecret: oldKey, PreviousUntil: until})
		if err != nil {
			t.Fatal(err)
		}
		u := &models.User{Email: "rot@example.com", Role: models.RoleLead}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		oldTok, err := before.Issue(u)
		if err != nil {
			t.Fatal(err)
		}
		newTok, err := after.Issue(u)
		if err != nil {
			t.Fatal(err)
		}
		// New tokens are signed with the current key: they verify with it
		// alone, and the service that only knows the old key refuses them.
		if _, err := jwt.Parse(newTok.Token, func(*jwt.Token) (any, error) { return []byte(newKey), nil }, jwt.WithTimeFunc(clk.Now)); err != nil {
			t.Fatalf("a new token does not verify with the current key: %v", err)
		}
		if _, err := before.Authenticate(ctx, newTok.Token); !errors.Is(err, accounts.ErrInvalidToken) {
			t.Fatalf("old-key service accepted a new-key token: %v", err)
		}
		now := clk.Now()
		sign := func(key string, edit func(jwt.MapClaims)) string {
			c := jwt.MapClaims{"iss": "capeval", "sub": fmt.Sprint(u.ID), "role": "lead", "tv": 0, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
			if edit != nil {
				edit(c)
			}
			tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(key))
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		tests := []struct {
			name string
			raw  string
			ok   bool
		}{
			{"issued with the old key", oldTok.Token, true},
			{"issued with the new key", newTok.Token, true},
			{"old key, expired", sign(oldKey, func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Second).Unix() }), false},
			{"old key, other issuer", sign(oldKey, func(c jwt.MapClaims) { c["iss"] = "else" }), false},
			{"old key, HS512", func() string {
				tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{"iss": "capeval", "sub": fmt.Sprint(u.ID),
					"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}).SignedString([]byte(oldKey))
				return tok
			}(), false},
			{"old key, old token version", sign(oldKey, func(c jwt.MapClaims) { c["tv"] = -1 }), false},
			{"a third key", sign(strings.Repeat("x", 32), nil), false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := after.Authenticate(ctx, tt.raw)
				if tt.ok && (err != nil || got.ID != u.ID) {
					t.Fatalf("Authenticate = %v, %v; want the user", got, err)
				}
				if !tt.ok && !errors.Is(err, accounts.ErrInvalidToken) {
					t.Fatalf("Authenticate = %v, %v; want ErrInvalidToken", got, err)
				}
			})
		}
		// The grace period ends before the old token expires: from then on
		// the old key is ignored, the new one still works.
		clk.Advance(2 * time.Hour)
		if _, err := after.Authenticate(ctx, oldTok.Token); !errors.Is(err, accounts.ErrInvalidToken) {
			t.Fatalf("old-key token after the grace period: %v, want ErrInvalidToken", err)
		}
		if _, err := before.Authenticate(ctx, oldTok.Token); err != nil {
			t.Fatalf("the old token itself is still valid (%v): the refusal must come from the grace period", err)
		}
		if _, err := after.Authenticate(ctx, newTok.Token); err != nil {
			t.Fatalf("new-key token after the grace period: %v", err)
		}
	})
}

func TestSecretRotationConfig(t *testing.T) {
	s := modelstest.NewStore(t)
	cur, prev := strings.Repeat("k", 32), strings.Repeat("p", 32)
	until := time.Now().Add(time.Hour)
	tests := []struct {
		name string
		cfg  accounts.Config
		want string
	}{
		{"short previous", accounts.Config{Secret: cur, TokenTTL: time.Hour, PreviousSecret: "short", PreviousUntil: until}, "previous token secret of 5 bytes"},
		{"previous is current", accounts.Config{Secret: cur, TokenTTL: time.Hour, PreviousSecret: cur, PreviousUntil: until}, "is the current one"},
		{"no grace period", accounts.Config{Secret: cur, TokenTTL: time.Hour, PreviousSecret: prev}, "end of its grace period"},
		{"grace period alone", accounts.Config{Secret: cur, TokenTTL: time.Hour, PreviousUntil: until}, "no previous secret"},
		{"previous without current", accounts.Config{PreviousSecret: prev, PreviousUntil: until}, "without a current one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := accounts.New(s, modelstest.Logger(t), tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
