package accounts_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"capeval/accounts"
	"capeval/models"
	"capeval/models/modelstest"
)

const password = "correct horse battery"

// clock is a fake clock that only moves when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// fixture is the service on a real migrated store with a fake clock, one
// account per role (<role>@example.com, password above) and a count of the
// argon2 computations.
type fixture struct {
	svc    *accounts.Service
	store  *models.Store
	clock  *clock
	hashes atomic.Int64
	users  map[models.Role]*models.User
}

func newFixture(t *testing.T, s *models.Store, limits accounts.Limits, beforeHash func()) *fixture {
	t.Helper()
	f := &fixture{store: s, clock: newClock(), users: map[models.Role]*models.User{}}
	svc, err := accounts.New(s, modelstest.Logger(t), accounts.Config{
		Secret: strings.Repeat("k", 32), TokenTTL: time.Hour, Limits: limits, Now: f.clock.Now,
		BeforeHash: func() {
			f.hashes.Add(1)
			if beforeHash != nil {
				beforeHash()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	for _, role := range []models.Role{models.RoleAdmin, models.RoleLead, models.RoleAnnotator} {
		u, err := svc.Create(context.Background(), accounts.NewUser{Email: string(role) + "@example.com", Role: string(role), Password: password})
		if err != nil {
			t.Fatal(err)
		}
		f.users[role] = u
	}
	f.hashes.Store(0)
	return f
}

func TestNewChecksConfig(t *testing.T) {
	s := modelstest.NewStore(t)
	tests := []struct {
		name string
		cfg  accounts.Config
		want string
	}{
		{"short secret", accounts.Config{Secret: "short", TokenTTL: time.Hour}, "at least 32"},
		{"no ttl", accounts.Config{Secret: strings.Repeat("k", 32)}, "token lifetime"},
		{"forget not above max delay", accounts.Config{Secret: strings.Repeat("k", 32), TokenTTL: time.Hour,
			Limits: accounts.Limits{MaxDelay: time.Hour, Forget: time.Minute}}, "Forget"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := accounts.New(s, modelstest.Logger(t), tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestCreate(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newFixture(t, s, accounts.Limits{}, nil)
		ctx := context.Background()
		tests := []struct {
			name      string
			in        accounts.NewUser
			wantField string
			wantErr   error
			wantName  string
		}{
			{"valid", accounts.NewUser{Email: " New@Example.com ", Name: " New One ", Role: "annotator", Password: "longenough"}, "", nil, "New One"},
			{"name defaults to the local part", accounts.NewUser{Email: "ann.other@example.com", Role: "lead", Password: "longenough"}, "", nil, "ann.other"},
			{"bad email", accounts.NewUser{Email: "nope", Role: "lead", Password: "longenough"}, "email", accounts.ErrInvalid, ""},
			{"email with a display name", accounts.NewUser{Email: "Bob <bob@example.com>", Role: "lead", Password: "longenough"}, "email", accounts.ErrInvalid, ""},
			{"bad role", accounts.NewUser{Email: "r@example.com", Role: "boss", Password: "longenough"}, "role", accounts.ErrInvalid, ""},
			{"short password", accounts.NewUser{Email: "p@example.com", Role: "lead", Password: "short"}, "password", accounts.ErrInvalid, ""},
			{"long password", accounts.NewUser{Email: "p@example.com", Role: "lead", Password: strings.Repeat("x", 1025)}, "password", accounts.ErrInvalid, ""},
			{"duplicate ignoring case", accounts.NewUser{Email: "LEAD@example.com", Role: "lead", Password: "longenough"}, "", accounts.ErrEmailTaken, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before, _ := f.svc.List(ctx)
				u, err := f.svc.Create(ctx, tt.in)
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("Create = %v, want %v", err, tt.wantErr)
					}
					var fe *accounts.FieldError
					if tt.wantField != "" && (!errors.As(err, &fe) || fe.Field != tt.wantField) {
						t.Fatalf("Create = %v, want a field error on %s", err, tt.wantField)
					}
					if after, _ := f.svc.List(ctx); len(after) != len(before) {
						t.Fatal("a refused create stored an account")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if u.ID == 0 || u.Name != tt.wantName || u.Email != strings.ToLower(strings.TrimSpace(tt.in.Email)) || strings.Contains(u.PasswordHash, tt.in.Password) {
					t.Fatalf("created %+v", u)
				}
				if _, err := f.svc.Login(ctx, tt.in.Email, tt.in.Password, "192.0.2.1"); err != nil {
					t.Fatalf("login as the new account: %v", err)
				}
			})
		}
	})
}

func wantThrottled(t *testing.T, err error, wait time.Duration) {
	t.Helper()
	var te *accounts.ThrottledError
	if !errors.As(err, &te) || !errors.Is(err, accounts.ErrThrottled) {
		t.Fatalf("err = %v, want *ThrottledError", err)
	}
	if te.RetryAfter != wait {
		t.Fatalf("RetryAfter = %s, want %s", te.RetryAfter, wait)
	}
}

// TestLoginBackoff: after the free failures each attempt from the same
// address waits twice as long as the one before, up to the cap; the owner
// from elsewhere is never locked out; a success clears the slate, and so
// does an hour without attempts.
func TestLoginBackoff(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newFixture(t, s, accounts.Limits{FreeFailures: 3, BaseDelay: time.Second, MaxDelay: 8 * time.Second, Forget: time.Hour}, nil)
		ctx := context.Background()
		const attacker, owner = "192.0.2.66", "198.51.100.7"
		guess := func() error { _, err := f.svc.Login(ctx, "lead@example.com", "guess guess", attacker); return err }
		for i := range 3 {
			if err := guess(); !errors.Is(err, accounts.ErrInvalidCredentials) {
				t.Fatalf("free guess %d: %v", i, err)
			}
		}
		for _, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second} {
			wantThrottled(t, guess(), wait)
			f.clock.Advance(wait - time.Millisecond)
			wantThrottled(t, guess(), time.Millisecond)
			f.clock.Advance(time.Millisecond)
			if err := guess(); !errors.Is(err, accounts.ErrInvalidCredentials) {
				t.Fatalf("guess after waiting %s: %v", wait, err)
			}
		}
		checked := f.hashes.Load()
		if checked != 8 {
			t.Fatalf("%d passwords checked, want 8 (3 free + 5 after waiting): refused attempts must not hash", checked)
		}
		// Not a lockout: the owner signs in from another address at once.
		if _, err := f.svc.Login(ctx, "lead@example.com", password, owner); err != nil {
			t.Fatalf("owner from another address: %v", err)
		}
		// A success from the attacker's address, after the wait, clears
		// the account's slate there.
		f.clock.Advance(8 * time.Second)
		if _, err := f.svc.Login(ctx, "lead@example.com", password, attacker); err != nil {
			t.Fatalf("right password after the wait: %v", err)
		}
		for i := range 3 {
			if err := guess(); !errors.Is(err, accounts.ErrInvalidCredentials) {
				t.Fatalf("free guess %d after a success: %v", i, err)
			}
		}
		wantThrottled(t, guess(), time.Second)
		// An hour without attempts forgets the key.
		f.clock.Advance(time.Hour)
		if err := guess(); !errors.Is(err, accounts.ErrInvalidCredentials) {
			t.Fatalf("guess after an hour: %v", err)
		}
	})
}

// TestAddressBackoff: one address guessing many accounts is slowed down too.
func TestAddressBackoff(t *testing.T) {
	f := newFixture(t, modelstest.NewStore(t), accounts.Limits{FreeFailures: 5, AddressFreeFailures: 3}, nil)
	ctx := context.Background()
	for i := range 3 {
		if _, err := f.svc.Login(ctx, fmt.Sprintf("user%d@example.com", i), "guess guess", "192.0.2.9"); !errors.Is(err, accounts.ErrInvalidCredentials) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	_, err := f.svc.Login(ctx, "user9@example.com", "guess guess", "192.0.2.9")
	wantThrottled(t, err, time.Second)
	// A valid account of the guesser's does not wipe the address's count.
	f.clock.Advance(time.Second)
	if _, err := f.svc.Login(ctx, "lead@example.com", password, "192.0.2.9"); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Login(ctx, "user9@example.com", "guess guess", "192.0.2.9")
	wantThrottled(t, err, time.Second)
}

// TestGlobalCeiling: guesses from ever new addresses for ever new accounts
// stop at the global ceiling until the window passes; successes do not
// count towards it.
func TestGlobalCeiling(t *testing.T) {
	f := newFixture(t, modelstest.NewStore(t), accounts.Limits{GlobalFailures: 4, GlobalWindow: time.Minute}, nil)
	ctx := context.Background()
	for i := range 6 {
		if _, err := f.svc.Login(ctx, "lead@example.com", password, fmt.Sprintf("198.51.100.%d", i)); err != nil {
			t.Fatalf("success %d: %v", i, err)
		}
	}
	for i := range 4 {
		if _, err := f.svc.Login(ctx, fmt.Sprintf("spray%d@example.com", i), "123456789", fmt.Sprintf("203.0.113.%d", i)); !errors.Is(err, accounts.ErrInvalidCredentials) {
			t.Fatalf("spray %d: %v", i, err)
		}
	}
	f.clock.Advance(20 * time.Second)
	_, err := f.svc.Login(ctx, "spray9@example.com", "123456789", "203.0.113.99")
	wantThrottled(t, err, 40*time.Second)
	if got := f.hashes.Load(); got != 10 {
		t.Fatalf("%d passwords checked, want 10", got)
	}
	f.clock.Advance(40 * time.Second)
	if _, err := f.svc.Login(ctx, "spray9@example.com", "123456789", "203.0.113.99"); !errors.Is(err, accounts.ErrInvalidCredentials) {
		t.Fatalf("after the window: %v", err)
	}
}

// TestHashPoolFull: with every worker busy and no room to wait, a check is
// refused at once with ErrBusy, and the refused attempt is not counted
// against the client.
func TestHashPoolFull(t *testing.T) {
	entered := make(chan struct{}, 10)
	hold := make(chan struct{})
	var armed atomic.Bool
	f := newFixture(t, modelstest.NewStore(t), accounts.Limits{HashWorkers: 1, HashQueue: -1, FreeFailures: 2}, func() {
		if armed.CompareAndSwap(true, false) {
			entered <- struct{}{}
			<-hold
		}
	})
	armed.Store(true) // the next hash holds the only worker
	ctx := context.Background()
	first := make(chan error, 1)
	go func() {
		_, err := f.svc.Login(ctx, "lead@example.com", password, "192.0.2.1")
		first <- err
	}()
	<-entered
	for range 3 {
		if _, err := f.svc.Login(ctx, "annotator@example.com", "guess guess", "192.0.2.2"); !errors.Is(err, accounts.ErrBusy) {
			t.Fatalf("login with the pool full: %v, want ErrBusy", err)
		}
	}
	close(hold)
	if err := <-first; err != nil {
		t.Fatalf("the login that held the worker: %v", err)
	}
	// The busy refusals took their attempts back: both free guesses remain.
	for i := range 2 {
		if _, err := f.svc.Login(ctx, "annotator@example.com", "guess guess", "192.0.2.2"); !errors.Is(err, accounts.ErrInvalidCredentials) {
			t.Fatalf("guess %d after the pool freed up: %v", i, err)
		}
	}
}

func TestTokens(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newFixture(t, s, accounts.Limits{}, nil)
		ctx := context.Background()
		lead := f.users[models.RoleLead]
		sess, err := f.svc.Issue(lead)
		if err != nil {
			t.Fatal(err)
		}
		if !sess.ExpiresAt.Equal(f.clock.Now().Add(time.Hour)) {
			t.Fatalf("expires at %s, want an hour from now", sess.ExpiresAt)
		}
		sign := func(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
			tok, err := jwt.NewWithClaims(method, claims).SignedString(key)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		now := f.clock.Now()
		claims := func(edit func(jwt.MapClaims)) jwt.MapClaims {
			c := jwt.MapClaims{"iss": "capeval", "sub": fmt.Sprint(lead.ID), "role": "lead", "tv": 0, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
			if edit != nil {
				edit(c)
			}
			return c
		}
		key := []byte(strings.Repeat("k", 32))
		tests := []struct {
			name string
			raw  string
			ok   bool
		}{
			{"issued", sess.Token, true},
			{"hand-made, same key", sign(jwt.SigningMethodHS256, key, claims(nil)), true},
			{"other key", sign(jwt.SigningMethodHS256, []byte(strings.Repeat("x", 32)), claims(nil)), false},
			{"alg none", sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil)), false},
			{"HS512", sign(jwt.SigningMethodHS512, key, claims(nil)), false},
			{"no exp", sign(jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { delete(c, "exp") })), false},
			{"other issuer", sign(jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { c["iss"] = "else" })), false},
			{"old token version", sign(jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { c["tv"] = -1 })), false},
			{"unknown user", sign(jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { c["sub"] = "99999" })), false},
			{"bad subject", sign(jwt.SigningMethodHS256, key, claims(func(c jwt.MapClaims) { c["sub"] = "lead" })), false},
			{"garbage", "not.a.token", false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				u, err := f.svc.Authenticate(ctx, tt.raw)
				if tt.ok && (err != nil || u.ID != lead.ID) {
					t.Fatalf("Authenticate = %v, %v", u, err)
				}
				if !tt.ok && !errors.Is(err, accounts.ErrInvalidToken) {
					t.Fatalf("Authenticate = %v, %v; want ErrInvalidToken", u, err)
				}
			})
		}
		f.clock.Advance(time.Hour + time.Second)
		if _, err := f.svc.Authenticate(ctx, sess.Token); !errors.Is(err, accounts.ErrInvalidToken) {
			t.Fatalf("expired token: %v", err)
		}
		// Logout revokes every token issued before it.
		a, _ := f.svc.Issue(lead)
		if err := f.svc.Logout(ctx, lead.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Authenticate(ctx, a.Token); !errors.Is(err, accounts.ErrInvalidToken) {
			t.Fatalf("token after logout: %v", err)
		}
		if err := f.svc.Logout(ctx, 99999); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("logout of an unknown user: %v", err)
		}
	})
}

func TestChangePassword(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newFixture(t, s, accounts.Limits{FreeFailures: 2}, nil)
		ctx := context.Background()
		ann := f.users[models.RoleAnnotator]
		other, _ := f.svc.Issue(ann)
		var fe *accounts.FieldError
		if _, err := f.svc.ChangePassword(ctx, ann, password, "short", "192.0.2.1"); !errors.As(err, &fe) || fe.Field != "new_password" {
			t.Fatalf("short new password: %v", err)
		}
		for range 2 {
			if _, err := f.svc.ChangePassword(ctx, ann, "guess guess", "a new password", "192.0.2.1"); !errors.Is(err, accounts.ErrWrongPassword) {
				t.Fatalf("wrong current password: %v", err)
			}
		}
		_, err := f.svc.ChangePassword(ctx, ann, password, "a new password", "192.0.2.1")
		wantThrottled(t, err, time.Second)
		// The same count as login: the account is throttled there too.
		_, err = f.svc.Login(ctx, ann.Email, password, "192.0.2.1")
		wantThrottled(t, err, time.Second)
		f.clock.Advance(time.Second)
		sess, err := f.svc.ChangePassword(ctx, ann, password, "a new password", "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Authenticate(ctx, other.Token); !errors.Is(err, accounts.ErrInvalidToken) {
			t.Fatalf("older token after the change: %v", err)
		}
		if _, err := f.svc.Authenticate(ctx, sess.Token); err != nil {
			t.Fatalf("the fresh token: %v", err)
		}
		if _, err := f.svc.Login(ctx, ann.Email, "a new password", "192.0.2.5"); err != nil {
			t.Fatalf("login with the new password: %v", err)
		}
	})
}

func TestSetDisabledAndPassword(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newFixture(t, s, accounts.Limits{}, nil)
		ctx := context.Background()
		admin, ann := f.users[models.RoleAdmin], f.users[models.RoleAnnotator]
		if _, err := f.svc.SetDisabled(ctx, admin.ID, admin.ID, true); !errors.Is(err, accounts.ErrCannotDisableSelf) {
			t.Fatalf("disable self: %v", err)
		}
		if _, err := f.svc.SetDisabled(ctx, admin.ID, 99999, true); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("disable unknown: %v", err)
		}
		tok, _ := f.svc.Issue(ann)
		u, err := f.svc.SetDisabled(ctx, admin.ID, ann.ID, true)
		if err != nil || !u.Disabled {
			t.Fatalf("disable: %+v, %v", u, err)
		}
		if _, err := f.svc.Authenticate(ctx, tok.Token); !errors.Is(err, accounts.ErrInvalidToken) {
			t.Fatalf("disabled account's token: %v", err)
		}
		if _, err := f.svc.Login(ctx, ann.Email, password, "192.0.2.1"); !errors.Is(err, accounts.ErrDisabled) {
			t.Fatalf("disabled login with the right password: %v", err)
		}
		if _, err := f.svc.Login(ctx, ann.Email, "guess guess", "192.0.2.1"); !errors.Is(err, accounts.ErrInvalidCredentials) {
			t.Fatalf("disabled login with a wrong password: %v (must not reveal the state)", err)
		}
		if u, err := f.svc.SetDisabled(ctx, 0, ann.ID, false); err != nil || u.Disabled {
			t.Fatalf("enable: %+v, %v", u, err)
		}
		var fe *accounts.FieldError
		if err := f.svc.SetPassword(ctx, ann.ID, "short"); !errors.As(err, &fe) || fe.Field != "password" {
			t.Fatalf("short password: %v", err)
		}
		if err := f.svc.SetPassword(ctx, 99999, "long enough"); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("unknown user: %v", err)
		}
		if err := f.svc.SetPassword(ctx, ann.ID, "long enough"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Login(ctx, ann.Email, "long enough", "192.0.2.1"); err != nil {
			t.Fatalf("login with the set password: %v", err)
		}
		if _, err := f.svc.ByEmail(ctx, "nobody@example.com"); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("ByEmail unknown: %v", err)
		}
		if u, err := f.svc.ByEmail(ctx, " ADMIN@example.com"); err != nil || u.ID != admin.ID {
			t.Fatalf("ByEmail: %v, %v", u, err)
		}
	})
}

func TestRefusePublished(t *testing.T) {
	f := newFixture(t, modelstest.NewStore(t), accounts.Limits{}, nil)
	ctx := context.Background()
	creds := []accounts.Credential{
		{Email: "admin@example.com", Password: password},
		{Email: "lead@example.com", Password: password},
		{Email: "annotator@example.com", Password: password},
		{Email: "absent@example.com", Password: password},
	}
	err := f.svc.RefusePublished(ctx, creds)
	if !errors.Is(err, accounts.ErrPublishedPassword) || !strings.Contains(err.Error(), "admin@example.com, lead@example.com, annotator@example.com") {
		t.Fatalf("RefusePublished = %v", err)
	}
	if err := f.svc.SetPassword(ctx, f.users[models.RoleAdmin].ID, "changed since"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetDisabled(ctx, 0, f.users[models.RoleLead].ID, true); err != nil {
		t.Fatal(err)
	}
	err = f.svc.RefusePublished(ctx, creds)
	if !errors.Is(err, accounts.ErrPublishedPassword) || strings.Contains(err.Error(), "admin@") || strings.Contains(err.Error(), "lead@") {
		t.Fatalf("after changing and disabling: %v, want only the annotator named", err)
	}
	if err := f.svc.SetPassword(ctx, f.users[models.RoleAnnotator].ID, "changed since"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RefusePublished(ctx, creds); err != nil {
		t.Fatalf("no published password left: %v", err)
	}
}

// TestWithoutSecret: the command line's service manages accounts and
// neither issues nor accepts tokens.
func TestWithoutSecret(t *testing.T) {
	s := modelstest.NewStore(t)
	svc, err := accounts.New(s, modelstest.Logger(t), accounts.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	u, err := svc.Create(ctx, accounts.NewUser{Email: "a@example.com", Role: "admin", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Issue(u); !errors.Is(err, accounts.ErrNoSecret) {
		t.Fatalf("Issue without a secret: %v", err)
	}
	if _, err := svc.Login(ctx, u.Email, password, "192.0.2.1"); !errors.Is(err, accounts.ErrNoSecret) {
		t.Fatalf("Login without a secret: %v", err)
	}
	withKey, err := accounts.New(s, modelstest.Logger(t), accounts.Config{Secret: strings.Repeat("k", 32), TokenTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := withKey.Issue(u)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, sess.Token); !errors.Is(err, accounts.ErrInvalidToken) {
		t.Fatalf("Authenticate without a secret: %v", err)
	}
}
