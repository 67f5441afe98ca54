package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"capeval/accounts"
	"capeval/annotation"
	"capeval/models"
	"capeval/models/modelstest"
)

// syncBuffer is a log sink that several goroutines may write.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// scenario is one server on a store, everything it logs (at debug level,
// the store's and the services' lines included) going to one buffer, and
// every response body it gave.
type scenario struct {
	t       *testing.T
	srv     *Server
	log     *syncBuffer
	bodies  *[]string
	cookies *[]string
}

func randomSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func (sc *scenario) send(method, path, body, token string, headers ...string) (int, map[string]any) {
	sc.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	req.RemoteAddr = "192.0.2.44:5000"
	rec := httptest.NewRecorder()
	sc.srv.Handler().ServeHTTP(rec, req)
	*sc.bodies = append(*sc.bodies, rec.Body.String())
	for _, c := range rec.Result().Cookies() {
		if c.Value != "" {
			*sc.cookies = append(*sc.cookies, c.Value)
		}
	}
	var m map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &m)
	return rec.Code, m
}

// TestNoSecretInLogsOrResponses runs a full scenario with every log line
// of the server, its services and the store captured at debug level:
// accounts created by the CLI's service and over the API, logins right
// and wrong (unknown email, wrong password, throttled), a browser login
// with its cookie, a password change with a wrong current password first,
// a disabled account, a rotation of the JWT secret (a second server
// signing with the new secret and accepting the old one), campaigns, bad
// and foreign tokens, a metrics scrape. Then no log line and no response
// body may hold any password (right or wrong), any password hash or its
// hash part, either JWT secret, or any token or its signature.
func TestNoSecretInLogsOrResponses(t *testing.T) {
	for _, kind := range modelstest.Stores {
		t.Run(kind, func(t *testing.T) { testNoSecrets(t, kind) })
	}
}

func testNoSecrets(t *testing.T, kind string) {
	ctx := context.Background()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), models.SQLiteFile)
	if kind == models.DialectPostgres {
		dsn = modelstest.NewPostgresDatabase(t)
	}
	logs := &syncBuffer{}
	secret1, secret2 := randomSecret(t), randomSecret(t)
	cfg1 := testConfig(t, map[string]string{"CAPEVAL_JWT_SECRET": secret1, "CAPEVAL_LOG_LEVEL": "debug"})
	log := cfg1.NewLogger(logs)
	store, err := models.Open(ctx, dsn, "", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var bodies, cookies []string
	newServer := func(cfg Config) *scenario {
		acc, err := accounts.New(store, log, cfg.AccountsConfig())
		if err != nil {
			t.Fatal(err)
		}
		srv := New(cfg, store, acc, Services{Campaigns: annotation.NewCampaigns(store, log)}, log)
		return &scenario{t: t, srv: srv, log: logs, bodies: &bodies, cookies: &cookies}
	}
	one := newServer(cfg1)

	passwords := map[string]string{
		"admin": "admin pass " + randomSecret(t)[:12], "lead": "lead pass " + randomSecret(t)[:12],
		"ann": "annotator pass " + randomSecret(t)[:12], "ann-new": "new annotator pass " + randomSecret(t)[:12],
		"wrong": "wrong guess " + randomSecret(t)[:12], "wrong2": "another guess " + randomSecret(t)[:12],
		"unknown": "nobody's pass " + randomSecret(t)[:12],
	}
	// The first admin, as `capeval user add` makes it.
	cli, err := accounts.New(store, log, accounts.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Create(ctx, accounts.NewUser{Email: "admin@example.com", Role: "admin", Password: passwords["admin"]}); err != nil {
		t.Fatal(err)
	}
	var tokens []string
	login := func(sc *scenario, email, password string, want int) string {
		t.Helper()
		code, m := sc.send("POST", "/api/v1/login", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password), "")
		if code != want {
			t.Fatalf("login %s: %d %v, want %d", email, code, m, want)
		}
		tok, _ := m["token"].(string)
		if tok != "" {
			tokens = append(tokens, tok)
		}
		return tok
	}
	expect := func(what string, code, want int, m map[string]any) {
		t.Helper()
		if code != want {
			t.Fatalf("%s: %d %v, want %d", what, code, m, want)
		}
	}
	admin := login(one, "admin@example.com", passwords["admin"], 200)
	for _, u := range []struct{ email, role, pw string }{{"lead@example.com", "lead", passwords["lead"]}, {"ann@example.com", "annotator", passwords["ann"]}} {
		code, m := one.send("POST", "/api/v1/users", fmt.Sprintf(`{"email":%q,"name":"x","role":%q,"password":%q}`, u.email, u.role, u.pw), admin)
		expect("create "+u.email, code, 201, m)
	}
	code, m := one.send("POST", "/api/v1/users", fmt.Sprintf(`{"email":"short@example.com","role":"lead","password":%q}`, "short"), admin)
	expect("create with a short password", code, 400, m)
	code, m = one.send("GET", "/api/v1/users", "", admin)
	expect("list users", code, 200, m)
	login(one, "lead@example.com", passwords["wrong"], 401)
	login(one, "unknown@example.com", passwords["unknown"], 401)
	lead := login(one, "lead@example.com", passwords["lead"], 200)
	ann := login(one, "ann@example.com", passwords["ann"], 200)
	// A browser: the token comes in the cookie only.
	code, m = one.send("POST", "/api/v1/login", fmt.Sprintf(`{"email":"lead@example.com","password":%q}`, passwords["lead"]), "",
		"Sec-Fetch-Mode", "cors", "Sec-Fetch-Site", "same-origin")
	expect("browser login", code, 200, m)
	code, m = one.send("POST", "/api/v1/me/password", fmt.Sprintf(`{"current_password":%q,"new_password":%q}`, passwords["wrong2"], passwords["ann-new"]), ann)
	expect("password change with a wrong current password", code, 403, m)
	code, m = one.send("POST", "/api/v1/me/password", fmt.Sprintf(`{"current_password":%q,"new_password":%q}`, passwords["ann"], passwords["ann-new"]), ann)
	expect("password change", code, 200, m)
	ann, _ = m["token"].(string)
	tokens = append(tokens, ann)
	code, m = one.send("POST", "/api/v1/campaigns", `{"name":"secrets campaign"}`, lead)
	expect("create campaign", code, 201, m)
	code, m = one.send("GET", "/api/v1/campaigns", "", lead)
	expect("list campaigns", code, 200, m)
	code, m = one.send("GET", "/api/v1/campaigns", "", ann)
	expect("annotator lists campaigns", code, 403, m)
	code, m = one.send("GET", "/api/v1/me", "", "garbage."+lead)
	expect("garbage token", code, 401, m)

	// Rotation: the next server signs with secret2 and accepts secret1's
	// tokens for an hour.
	two := newServer(testConfig(t, map[string]string{"CAPEVAL_JWT_SECRET": secret2, "CAPEVAL_JWT_SECRET_PREVIOUS": secret1,
		"CAPEVAL_JWT_SECRET_PREVIOUS_UNTIL": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}))
	code, m = two.send("GET", "/api/v1/me", "", lead)
	expect("old token on the rotated server", code, 200, m)
	lead2 := login(two, "lead@example.com", passwords["lead"], 200)
	code, m = one.send("GET", "/api/v1/me", "", lead2)
	expect("new token on the server with the old secret only", code, 401, m)
	code, m = two.send("GET", "/api/v1/me", "", lead2)
	expect("new token", code, 200, m)
	annUser, err := store.UserByEmail(ctx, "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	code, m = two.send("PATCH", fmt.Sprintf("/api/v1/users/%d", annUser.ID), `{"disabled":true}`, two.token(t, "admin@example.com", passwords["admin"], &tokens))
	expect("disable the annotator", code, 200, m)
	code, m = two.send("GET", "/api/v1/me", "", ann)
	expect("disabled annotator's token", code, 401, m)
	code, m = two.send("POST", "/api/v1/logout", "", lead2)
	expect("logout", code, 204, m)
	scrapeCode, _, metricsBody := scrape(t, two.srv.Handler(), "127.0.0.1:9")
	if scrapeCode != 200 {
		t.Fatalf("metrics: %d", scrapeCode)
	}
	bodies = append(bodies, metricsBody)

	secrets := map[string]string{"JWT secret 1": secret1, "JWT secret 2": secret2}
	for name, pw := range passwords {
		secrets["password "+name] = pw
	}
	for _, email := range []string{"admin@example.com", "lead@example.com", "ann@example.com"} {
		u, err := store.UserByEmail(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
			t.Fatalf("%s's hash %q is not argon2id", email, u.PasswordHash)
		}
		secrets["hash of "+email] = u.PasswordHash
		parts := strings.Split(u.PasswordHash, "$")
		secrets["hash part of "+email] = parts[len(parts)-1]
		secrets["salt of "+email] = parts[len(parts)-2]
	}
	tokens = append(tokens, cookies...)
	for i, tok := range tokens {
		if tok == "" {
			continue
		}
		secrets[fmt.Sprintf("token %d", i)] = tok
		parts := strings.Split(tok, ".")
		if len(parts) == 3 {
			secrets[fmt.Sprintf("signature of token %d", i)] = parts[2]
		}
	}
	if len(tokens) < 6 || len(cookies) < 2 {
		t.Fatalf("the scenario collected %d tokens and %d cookies: it did not run as planned", len(tokens), len(cookies))
	}
	out := logs.String()
	if !strings.Contains(out, "login failed") || !strings.Contains(out, "password changed") || !strings.Contains(out, "token refused") {
		t.Fatalf("the log lacks lines the scenario must have written:\n%s", out)
	}
	for name, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the log holds %s:\n%s", name, lineWith(out, s))
		}
	}
	// A login's answer to a script carries its token, and only there: with
	// those fields taken out, no body may hold any secret.
	for i, b := range bodies {
		for _, tok := range tokens {
			b = strings.ReplaceAll(b, `"token":"`+tok+`"`, `"token":"…"`)
		}
		for name, s := range secrets {
			if strings.Contains(b, s) {
				t.Errorf("response %d holds %s: %s", i, name, b)
			}
		}
	}
	t.Logf("%d secrets checked in %d log bytes and %d responses", len(secrets), len(out), len(bodies))
}

// token logs in on sc and returns the token, keeping it among tokens.
func (sc *scenario) token(t *testing.T, email, password string, tokens *[]string) string {
	t.Helper()
	code, m := sc.send("POST", "/api/v1/login", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password), "")
	tok, _ := m["token"].(string)
	if code != http.StatusOK || tok == "" {
		t.Fatalf("login %s: %d %v", email, code, m)
	}
	*tokens = append(*tokens, tok)
	return tok
}

func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

// TestRequestIDReachesServiceLogs: a line a service logs while answering a
// request (the accounts service's login line) carries the request id that
// the response names in X-Request-ID, also one the client sent.
func TestRequestIDReachesServiceLogs(t *testing.T) {
	logs := &syncBuffer{}
	cfg := testConfig(t, map[string]string{"CAPEVAL_LOG_FORMAT": "json"})
	cfg.JWTSecret = strings.Repeat("k", 32)
	log := cfg.NewLogger(logs)
	store := modelstest.NewStore(t)
	acc, err := accounts.New(store, log, cfg.AccountsConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := acc.Create(context.Background(), accounts.NewUser{Email: "rid@example.com", Role: "lead", Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	srv := New(cfg, store, acc, Services{Campaigns: annotation.NewCampaigns(store, log)}, log)
	token, err := acc.Login(context.Background(), "rid@example.com", testPassword, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	login := func(password string) string {
		return fmt.Sprintf(`{"email":"rid@example.com","password":%q}`, password)
	}
	tests := []struct {
		name     string
		clientID string
		wantMsg  string
		path     string
		body     string
	}{
		{"generated id, login", "", "login", "/api/v1/login", login(testPassword)},
		{"client's id, failed login", "trace-abc-123", "login failed", "/api/v1/login", login("wrong password here")},
		{"annotation service", "trace-campaign-7", "campaign created", "/api/v1/campaigns", `{"name":"traced","mode":"likert"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			if tt.path != "/api/v1/login" {
				req.Header.Set("Authorization", "Bearer "+token.Token)
			}
			if tt.clientID != "" {
				req.Header.Set("X-Request-ID", tt.clientID)
			}
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, req)
			id := rec.Header().Get("X-Request-ID")
			if id == "" || (tt.clientID != "" && id != tt.clientID) {
				t.Fatalf("X-Request-ID %q (client sent %q)", id, tt.clientID)
			}
			found := false
			for _, line := range strings.Split(logs.String(), "\n") {
				var rec struct {
					Msg       string `json:"msg"`
					RequestID string `json:"request_id"`
				}
				if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == tt.wantMsg && rec.RequestID == id {
					found = true
				}
			}
			if !found {
				t.Fatalf("no %q line with request_id %s:\n%s", tt.wantMsg, id, logs.String())
			}
		})
	}
}
