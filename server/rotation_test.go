package server

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"capeval/accounts"
	"capeval/models"
	"capeval/models/modelstest"
)

// TestSecretRotationOverHTTP follows README's rotation of the JWT secret
// across replicas on one database, over HTTP: step 1, every replica keeps
// signing with the old secret and also accepts the new one; step 2,
// replicas move one by one to signing with the new secret while accepting
// the old one, so tokens from replicas of either step work on both; step 3,
// after the grace period the old secret's tokens are refused everywhere.
func TestSecretRotationOverHTTP(t *testing.T) {
	store := modelstest.NewStore(t)
	clock := &testClock{t: time.Date(2031, 1, 2, 9, 0, 0, 0, time.UTC)}
	oldKey, newKey := strings.Repeat("o", 40), strings.Repeat("n", 40)
	u := &models.User{Email: "r@example.com", Role: models.RoleLead}
	if err := store.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	replica := func(current, previous string, until time.Time) (*Server, *accounts.Service) {
		cfg := testConfig(t, nil)
		cfg.JWTSecret, cfg.JWTSecretPrevious, cfg.JWTSecretPreviousUntil = current, previous, until
		acfg := cfg.AccountsConfig()
		acfg.Now = clock.Now
		log := slog.New(slog.DiscardHandler)
		acc, err := accounts.New(store, log, acfg)
		if err != nil {
			t.Fatal(err)
		}
		return New(cfg, store, acc, Services{}, log), acc
	}
	issue := func(acc *accounts.Service) string {
		s, err := acc.Issue(u)
		if err != nil {
			t.Fatal(err)
		}
		return s.Token
	}
	me := func(srv *Server, token string) int {
		req := httptest.NewRequest("GET", "/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		return rec.Code
	}
	before, beforeAcc := replica(oldKey, "", time.Time{})
	oldTok := issue(beforeAcc)
	stepEnd := clock.Now().Add(2 * time.Hour)
	step1, step1Acc := replica(oldKey, newKey, stepEnd)
	step2, step2Acc := replica(newKey, oldKey, stepEnd)
	after, _ := replica(newKey, "", time.Time{})
	fromStep1, fromStep2 := issue(step1Acc), issue(step2Acc)
	tests := []struct {
		name  string
		srv   *Server
		token string
		want  int
	}{
		{"step 1 accepts an old token", step1, oldTok, 200},
		{"step 1 accepts a step-2 token", step1, fromStep2, 200},
		{"step 2 accepts an old token", step2, oldTok, 200},
		{"step 2 accepts a step-1 token", step2, fromStep1, 200},
		{"a replica not yet at step 1 refuses a step-2 token", before, fromStep2, 401},
		{"step 3 refuses an old token", after, oldTok, 401},
		{"step 3 accepts a step-2 token", after, fromStep2, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := me(tt.srv, tt.token); got != tt.want {
				t.Fatalf("GET /api/v1/me: %d, want %d", got, tt.want)
			}
		})
	}
	// Step 1 signs with the old key still, step 2 with the new one.
	if me(before, fromStep1) != 200 || me(after, fromStep1) != 401 {
		t.Error("a step-1 replica did not sign with the old secret")
	}
	// After the grace period, a step-2 replica left unchanged refuses the
	// old secret's tokens by itself.
	clock.Advance(2 * time.Hour)
	if got := me(step2, oldTok); got != 401 {
		t.Errorf("old token on a step-2 replica after the grace period: %d, want 401", got)
	}
	if got := me(step2, fromStep2); got != 200 {
		t.Errorf("new token on a step-2 replica after the grace period: %d, want 200", got)
	}
}
