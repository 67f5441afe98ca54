package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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

// testApp is the real echo app on a real, migrated SQLite store and the
// real accounts service, with one account per role. Every account's
// password is testPassword. The clock starts now and moves only when a
// test advances it; hashes counts the argon2 computations.
type testApp struct {
	t        testing.TB
	srv      *Server
	store    *models.Store
	accounts *accounts.Service
	users    map[models.Role]*models.User // by role, plus "disabled"
	secret   string
	clock    *testClock
	hashes   atomic.Int64
}

const testPassword = "correct horse battery"

// testClock is a clock that moves only when told.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *testClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// appOptions configure newTestAppWith; the zero value is newTestApp's.
type appOptions struct {
	env        map[string]string // CAPEVAL_* variables
	log        io.Writer         // default: discarded
	limits     accounts.Limits
	beforeHash func() // called before each argon2 computation, after counting it
	// prepare runs on the fresh store and data directory before the test
	// accounts exist (the demo loads only into an empty database).
	prepare func(store *models.Store, dataDir string)
}

func newTestApp(t *testing.T) *testApp {
	t.Helper()
	return newTestAppWith(t, appOptions{})
}

func newTestAppWith(t *testing.T, opts appOptions) *testApp {
	t.Helper()
	store := modelstest.NewStore(t)
	dataDir := t.TempDir()
	cfg, err := LoadConfig(func(k string) string {
		if k == "CAPEVAL_DATA_DIR" {
			return dataDir
		}
		return opts.env[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.JWTSecret = strings.Repeat("k", 32)
	if opts.prepare != nil {
		opts.prepare(store, dataDir)
	}
	logw := opts.log
	if logw == nil {
		logw = io.Discard
	}
	log := slog.New(slog.NewTextHandler(logw, nil))
	app := &testApp{t: t, store: store, users: map[models.Role]*models.User{}, secret: cfg.JWTSecret,
		clock: &testClock{t: time.Now()}}
	acfg := cfg.AccountsConfig()
	acfg.Limits, acfg.Now = opts.limits, app.clock.Now
	acfg.BeforeHash = func() {
		app.hashes.Add(1)
		if opts.beforeHash != nil {
			opts.beforeHash()
		}
	}
	app.accounts, err = accounts.New(store, log, acfg)
	if err != nil {
		t.Fatal(err)
	}
	app.srv = New(cfg, store, app.accounts, Services{}, log)
	ctx := context.Background()
	for _, role := range []models.Role{models.RoleAdmin, models.RoleLead, models.RoleAnnotator, "disabled"} {
		r := role
		if role == "disabled" {
			r = models.RoleAnnotator
		}
		u, err := app.accounts.Create(ctx, accounts.NewUser{Email: string(role) + "@example.com", Name: string(role), Role: string(r), Password: testPassword})
		if err != nil {
			t.Fatal(err)
		}
		if role == "disabled" {
			if u, err = app.accounts.SetDisabled(ctx, 0, u.ID, true); err != nil {
				t.Fatal(err)
			}
		}
		app.users[role] = u
	}
	app.hashes.Store(0)
	return app
}

// token issues a valid token for the account of role.
func (a *testApp) token(role models.Role) string {
	a.t.Helper()
	u, err := a.store.UserByID(context.Background(), a.users[role].ID)
	if err != nil {
		a.t.Fatal(err)
	}
	sess, err := a.accounts.Issue(u)
	if err != nil {
		a.t.Fatal(err)
	}
	return sess.Token
}

// do sends one request through the app and returns the recorded response.
func (a *testApp) do(method, path, body, token string, headers ...string) *httptest.ResponseRecorder {
	a.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	a.srv.Handler().ServeHTTP(rec, req)
	return rec
}

func signWith(t *testing.T, method jwt.SigningMethod, key any, claims jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// claimsFor are the claims of a capeval token for u, made by hand.
func claimsFor(u *models.User, iat, exp time.Time) jwt.MapClaims {
	return jwt.MapClaims{"iss": "capeval", "sub": jsonNumber(u.ID), "role": string(u.Role), "tv": u.TokenVersion,
		"iat": iat.Unix(), "exp": exp.Unix()}
}

func jsonNumber(id int64) string { b, _ := json.Marshal(id); return string(b) }

func TestAPI(t *testing.T) {
	app := newTestApp(t)
	admin := app.users[models.RoleAdmin]
	now := time.Now()
	expired := signWith(t, jwt.SigningMethodHS256, []byte(app.secret), claimsFor(admin, now.Add(-2*time.Hour), now.Add(-time.Hour)))
	otherKey := signWith(t, jwt.SigningMethodHS256, []byte(strings.Repeat("x", 32)), claimsFor(admin, now, now.Add(time.Hour)))
	algNone := signWith(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claimsFor(admin, now, now.Add(time.Hour)))
	hs512 := signWith(t, jwt.SigningMethodHS512, []byte(app.secret), claimsFor(admin, now, now.Add(time.Hour)))
	noExpClaims := claimsFor(admin, now, now)
	delete(noExpClaims, "exp")
	noExp := signWith(t, jwt.SigningMethodHS256, []byte(app.secret), noExpClaims)
	disabledTok := app.token("disabled")

	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		token      string
		wantStatus int
		wantBody   string // a substring of the response body
	}{
		{"login ok", "POST", "/api/v1/login", `{"email":"lead@example.com","password":"` + testPassword + `"}`, "", 200, `"role":"lead"`},
		{"login email case-insensitive", "POST", "/api/v1/login", `{"email":"Lead@Example.com","password":"` + testPassword + `"}`, "", 200, `"token":`},
		{"login wrong password", "POST", "/api/v1/login", `{"email":"lead@example.com","password":"nope nope"}`, "", 401, `"code":"invalid_credentials"`},
		{"login unknown email", "POST", "/api/v1/login", `{"email":"who@example.com","password":"nope nope"}`, "", 401, `"code":"invalid_credentials"`},
		{"login disabled user", "POST", "/api/v1/login", `{"email":"disabled@example.com","password":"` + testPassword + `"}`, "", 403, `"code":"account_disabled"`},
		{"login missing password", "POST", "/api/v1/login", `{"email":"lead@example.com"}`, "", 400, `"field":"password"`},
		{"malformed JSON", "POST", "/api/v1/login", `{"email": "a@b.c",`, "", 400, `malformed JSON`},
		{"malformed JSON syntax names byte", "POST", "/api/v1/login", `{"email" "a"}`, "", 400, `at byte 10`},
		{"wrong JSON type names field", "POST", "/api/v1/login", `{"email": 12, "password": "x"}`, "", 400, `"field":"email"`},
		{"unknown field", "POST", "/api/v1/login", `{"email":"a@b.c","password":"x","admin":true}`, "", 400, `unknown field \"admin\"`},
		{"trailing data", "POST", "/api/v1/login", `{"email":"a@b.c","password":"x"} {}`, "", 400, `unexpected data`},
		{"body too large", "POST", "/api/v1/login", `{"email":"a@b.c","password":"` + strings.Repeat("x", 2<<20) + `"}`, "", 413, `"code":"body_too_large"`},
		{"me without token", "GET", "/api/v1/me", "", "", 401, `"code":"unauthorized"`},
		{"me with token", "GET", "/api/v1/me", "", app.token(models.RoleAnnotator), 200, `"email":"annotator@example.com"`},
		{"expired token", "GET", "/api/v1/me", "", expired, 401, `"code":"unauthorized"`},
		{"token signed with another key", "GET", "/api/v1/me", "", otherKey, 401, `"code":"unauthorized"`},
		{"alg none", "GET", "/api/v1/me", "", algNone, 401, `"code":"unauthorized"`},
		{"alg HS512 refused", "GET", "/api/v1/me", "", hs512, 401, `"code":"unauthorized"`},
		{"token without exp", "GET", "/api/v1/me", "", noExp, 401, `"code":"unauthorized"`},
		{"garbage token", "GET", "/api/v1/me", "", "not.a.token", 401, `"code":"unauthorized"`},
		{"disabled user's token", "GET", "/api/v1/me", "", disabledTok, 401, `"code":"unauthorized"`},
		{"users as admin", "GET", "/api/v1/users", "", app.token(models.RoleAdmin), 200, `"users":[`},
		{"users as lead is 403", "GET", "/api/v1/users", "", app.token(models.RoleLead), 403, `"code":"forbidden"`},
		{"users as annotator is 403", "GET", "/api/v1/users", "", app.token(models.RoleAnnotator), 403, `"code":"forbidden"`},
		{"create user bad role", "POST", "/api/v1/users", `{"email":"n@example.com","role":"boss","password":"longenough"}`, app.token(models.RoleAdmin), 400, `"field":"role"`},
		{"create user bad email", "POST", "/api/v1/users", `{"email":"nope","role":"lead","password":"longenough"}`, app.token(models.RoleAdmin), 400, `"field":"email"`},
		{"create user short password", "POST", "/api/v1/users", `{"email":"n@example.com","role":"lead","password":"short"}`, app.token(models.RoleAdmin), 400, `"field":"password"`},
		{"create user duplicate", "POST", "/api/v1/users", `{"email":"LEAD@example.com","role":"lead","password":"longenough"}`, app.token(models.RoleAdmin), 409, `"field":"email"`},
		{"create user", "POST", "/api/v1/users", `{"email":"new@example.com","role":"annotator","password":"longenough"}`, app.token(models.RoleAdmin), 201, `"email":"new@example.com"`},
		{"json needs content type", "POST", "/api/v1/login", "", "", 415, `application/json`},
		{"unknown API path", "GET", "/api/v1/nope", "", app.token(models.RoleAdmin), 404, `"code":"not_found"`},
		{"healthz", "GET", "/healthz", "", "", 200, `"ok"`},
		{"readyz", "GET", "/readyz", "", "", 200, `"ready"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec *httptest.ResponseRecorder
			if tt.name == "json needs content type" {
				req := httptest.NewRequest("POST", tt.path, strings.NewReader(`{}`))
				req.Header.Set("Content-Type", "text/plain")
				rec = httptest.NewRecorder()
				app.srv.Handler().ServeHTTP(rec, req)
			} else {
				rec = app.do(tt.method, tt.path, tt.body, tt.token)
			}
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Fatalf("body %s does not contain %s", rec.Body, tt.wantBody)
			}
			if rec.Code >= 400 && strings.HasPrefix(tt.path, "/api/") {
				var shape struct {
					Error *apiError `json:"error"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &shape); err != nil || shape.Error == nil || shape.Error.Code == "" || shape.Error.Message == "" {
					t.Fatalf("error body %s is not {\"error\":{\"code\",\"message\"}}", rec.Body)
				}
			}
		})
	}
}

func TestLogoutRevokesTokens(t *testing.T) {
	app := newTestApp(t)
	first := login(t, app, "lead@example.com")
	time.Sleep(time.Millisecond)
	second := login(t, app, "lead@example.com")
	if rec := app.do("POST", "/api/v1/logout", "", first); rec.Code != http.StatusNoContent {
		t.Fatalf("logout: %d %s", rec.Code, rec.Body)
	}
	for _, tok := range []string{first, second} {
		if rec := app.do("GET", "/api/v1/me", "", tok); rec.Code != http.StatusUnauthorized {
			t.Fatalf("token after logout: status %d, want 401", rec.Code)
		}
	}
	if rec := app.do("GET", "/api/v1/me", "", login(t, app, "lead@example.com")); rec.Code != http.StatusOK {
		t.Fatalf("new login after logout: %d", rec.Code)
	}
}

func TestPasswordChangeRevokesOlderTokens(t *testing.T) {
	app := newTestApp(t)
	old := login(t, app, "annotator@example.com")
	other := login(t, app, "annotator@example.com")
	rec := app.do("POST", "/api/v1/me/password", `{"current_password":"wrong wrong","new_password":"a new password"}`, old)
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), `"field":"current_password"`) {
		t.Fatalf("wrong current password: %d %s", rec.Code, rec.Body)
	}
	rec = app.do("POST", "/api/v1/me/password", `{"current_password":"`+testPassword+`","new_password":"a new password"}`, old)
	if rec.Code != http.StatusOK {
		t.Fatalf("change password: %d %s", rec.Code, rec.Body)
	}
	var resp tokenResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	if rec := app.do("GET", "/api/v1/me", "", other); rec.Code != http.StatusUnauthorized {
		t.Fatalf("older token after password change: %d, want 401", rec.Code)
	}
	if rec := app.do("GET", "/api/v1/me", "", resp.Token); rec.Code != http.StatusOK {
		t.Fatalf("fresh token after password change: %d, want 200", rec.Code)
	}
	if rec := app.do("POST", "/api/v1/login", `{"email":"annotator@example.com","password":"a new password"}`, ""); rec.Code != http.StatusOK {
		t.Fatalf("login with the new password: %d", rec.Code)
	}
}

func TestDisablingRefusesAtOnce(t *testing.T) {
	app := newTestApp(t)
	tok := login(t, app, "annotator@example.com")
	id := app.users[models.RoleAnnotator].ID
	rec := app.do("PATCH", "/api/v1/users/"+jsonNumber(id), `{"disabled":true}`, app.token(models.RoleAdmin))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"disabled":true`) {
		t.Fatalf("disable: %d %s", rec.Code, rec.Body)
	}
	if rec := app.do("GET", "/api/v1/me", "", tok); rec.Code != http.StatusUnauthorized {
		t.Fatalf("disabled user's live token: %d, want 401", rec.Code)
	}
	if rec := app.do("PATCH", "/api/v1/users/"+jsonNumber(app.users[models.RoleAdmin].ID), `{"disabled":true}`, app.token(models.RoleAdmin)); rec.Code != http.StatusBadRequest {
		t.Fatalf("admin disabling itself: %d, want 400", rec.Code)
	}
	if rec := app.do("PATCH", "/api/v1/users/999999", `{"disabled":true}`, app.token(models.RoleAdmin)); rec.Code != http.StatusNotFound {
		t.Fatalf("disable unknown user: %d, want 404", rec.Code)
	}
}

func TestLoginRateLimit(t *testing.T) {
	app := newTestApp(t)
	for i := 0; i < 5; i++ {
		if rec := app.do("POST", "/api/v1/login", `{"email":"lead@example.com","password":"wrong wrong"}`, ""); rec.Code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, rec.Code)
		}
	}
	rec := app.do("POST", "/api/v1/login", `{"email":"lead@example.com","password":"`+testPassword+`"}`, "")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("after 5 failures: %d (Retry-After %q), want 429", rec.Code, rec.Header().Get("Retry-After"))
	}
}

func TestCookieAuthAndPages(t *testing.T) {
	app := newTestApp(t)
	rec := app.do("POST", "/api/v1/login", `{"email":"annotator@example.com","password":"`+testPassword+`"}`, "")
	var cookie *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == cookieToken {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login cookie = %+v, want HttpOnly SameSite=Strict %s", cookie, cookieToken)
	}
	tests := []struct {
		path, cookie string
		wantStatus   int
		wantLocation string
	}{
		{"/", "", http.StatusSeeOther, "/login?next=%2F"},
		{"/lead", "", http.StatusSeeOther, "/login?next=%2Flead"},
		{"/", cookie.Value, http.StatusSeeOther, "/annotate"},
		{"/annotate", cookie.Value, http.StatusOK, ""},
		{"/lead", cookie.Value, http.StatusForbidden, ""},
		{"/admin", cookie.Value, http.StatusForbidden, ""},
		{"/login", "", http.StatusOK, ""},
		{"/no-such-page", "", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+map[bool]string{true: "logged in", false: "anonymous"}[tt.cookie != ""], func(t *testing.T) {
			var h []string
			if tt.cookie != "" {
				h = []string{"Cookie", cookieToken + "=" + tt.cookie}
			}
			rec := app.do("GET", tt.path, "", "", h...)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := rec.Header().Get("Location"); got != tt.wantLocation {
				t.Fatalf("Location %q, want %q", got, tt.wantLocation)
			}
			if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
				t.Fatalf("CSP %q", csp)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("X-Frame-Options") != "DENY" {
				t.Fatalf("security headers missing: %v", rec.Header())
			}
			if rec.Code == http.StatusForbidden && !bytes.Contains(rec.Body.Bytes(), []byte("403")) {
				t.Fatalf("403 page does not say 403: %s", rec.Body)
			}
		})
	}
}

func login(t *testing.T, app *testApp, email string) string {
	t.Helper()
	rec := app.do("POST", "/api/v1/login", `{"email":"`+email+`","password":"`+testPassword+`"}`, "")
	if rec.Code != http.StatusOK {
		t.Fatalf("login %s: %d %s", email, rec.Code, rec.Body)
	}
	var resp tokenResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	return resp.Token
}
