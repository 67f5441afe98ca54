package server

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"capeval/accounts"
	"capeval/models"
)

// request is one request for testApp.send: the fields left empty are not
// sent (remote defaults to httptest's 192.0.2.1:1234).
type request struct {
	method, path, body string
	token              string // sent as Authorization: Bearer
	cookie             string // sent as the session cookie
	cookieName         string // default cookieToken
	remote             string
	tls                bool
	header             map[string]string
}

func (a *testApp) send(r request) *httptest.ResponseRecorder {
	a.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req := httptest.NewRequest(r.method, r.path, body)
	if r.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.cookie != "" {
		name := r.cookieName
		if name == "" {
			name = cookieToken
		}
		req.AddCookie(&http.Cookie{Name: name, Value: r.cookie})
	}
	if r.remote != "" {
		req.RemoteAddr = r.remote
	}
	if r.tls {
		req.TLS = &tls.ConnectionState{}
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	a.srv.Handler().ServeHTTP(rec, req)
	return rec
}

func loginBody(email, password string) string {
	return fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)
}

// TestLoginBurstIsThrottledBeforeHashing sends 40 wrong guesses for one
// account at once: the throttle must count each attempt before the password
// is checked, so that only the free attempts are checked and the rest are
// answered 429 with Retry-After without any hashing.
func TestLoginBurstIsThrottledBeforeHashing(t *testing.T) {
	app := newTestApp(t)
	const n = 40
	codes := make([]int, n)
	retry := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			rec := app.send(request{method: "POST", path: "/api/v1/login", body: loginBody("lead@example.com", "guess guess")})
			codes[i], retry[i] = rec.Code, rec.Header().Get("Retry-After")
		}()
	}
	close(start)
	wg.Wait()
	var checked, throttled int
	for i, c := range codes {
		switch c {
		case http.StatusUnauthorized:
			checked++
		case http.StatusTooManyRequests:
			throttled++
			if retry[i] == "" || retry[i] == "0" {
				t.Errorf("429 without a Retry-After (%q)", retry[i])
			}
		default:
			t.Errorf("status %d, want 401 or 429", c)
		}
	}
	if checked > 5 || checked+throttled != n {
		t.Fatalf("of %d parallel guesses %d were checked (401) and %d throttled (429); want at most 5 checked", n, checked, throttled)
	}
	if got := app.hashes.Load(); got != int64(checked) {
		t.Fatalf("%d passwords went through argon2, want %d (one per 401, none for a 429)", got, checked)
	}
}

// TestHashPoolFullAnswers503: with every hashing worker busy and no room to
// wait, a login is answered 503 with Retry-After at once, not queued.
func TestHashPoolFullAnswers503(t *testing.T) {
	entered, hold := make(chan struct{}), make(chan struct{})
	var armed atomic.Bool
	app := newTestAppWith(t, appOptions{limits: accounts.Limits{HashWorkers: 1, HashQueue: -1}, beforeHash: func() {
		if armed.CompareAndSwap(true, false) {
			close(entered)
			<-hold
		}
	}})
	armed.Store(true)
	first := make(chan int, 1)
	go func() {
		first <- app.send(request{method: "POST", path: "/api/v1/login", body: loginBody("lead@example.com", testPassword), remote: "192.0.2.10:1"}).Code
	}()
	<-entered
	rec := app.send(request{method: "POST", path: "/api/v1/login", body: loginBody("admin@example.com", testPassword), remote: "192.0.2.11:1"})
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" || !strings.Contains(rec.Body.String(), `"code":"busy"`) {
		t.Fatalf("login with the pool full: %d (Retry-After %q) %s, want 503 busy with Retry-After 1", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	close(hold)
	if code := <-first; code != http.StatusOK {
		t.Fatalf("the login holding the worker: %d", code)
	}
}

// TestGlobalLoginCeiling: a spray from ever new addresses at ever new
// accounts stops at the global ceiling of failed checks per window.
func TestGlobalLoginCeiling(t *testing.T) {
	app := newTestAppWith(t, appOptions{limits: accounts.Limits{GlobalFailures: 3, GlobalWindow: time.Minute}})
	for i := range 3 {
		rec := app.send(request{method: "POST", path: "/api/v1/login", body: loginBody(fmt.Sprintf("u%d@example.com", i), "123456789"), remote: fmt.Sprintf("203.0.113.%d:1", i)})
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("spray %d: %d", i, rec.Code)
		}
	}
	app.clock.Advance(15 * time.Second)
	rec := app.send(request{method: "POST", path: "/api/v1/login", body: loginBody("u9@example.com", "123456789"), remote: "203.0.113.99:1"})
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "45" {
		t.Fatalf("over the ceiling: %d (Retry-After %q), want 429 with Retry-After 45", rec.Code, rec.Header().Get("Retry-After"))
	}
	app.clock.Advance(45 * time.Second)
	if rec := app.send(request{method: "POST", path: "/api/v1/login", body: loginBody("lead@example.com", testPassword), remote: "198.51.100.1:1"}); rec.Code != http.StatusOK {
		t.Fatalf("after the window: %d", rec.Code)
	}
}

// TestLoginBackoffOverHTTP: the Retry-After of successive throttled
// guesses doubles, on the injected clock.
func TestLoginBackoffOverHTTP(t *testing.T) {
	app := newTestApp(t)
	guess := request{method: "POST", path: "/api/v1/login", body: loginBody("lead@example.com", "guess guess")}
	for i := range 5 {
		if rec := app.send(guess); rec.Code != http.StatusUnauthorized {
			t.Fatalf("free guess %d: %d", i, rec.Code)
		}
	}
	for _, wait := range []string{"1", "2", "4", "8"} {
		rec := app.send(guess)
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != wait {
			t.Fatalf("throttled guess: %d (Retry-After %q), want 429 with Retry-After %s", rec.Code, rec.Header().Get("Retry-After"), wait)
		}
		d, _ := time.ParseDuration(wait + "s")
		app.clock.Advance(d)
		if rec := app.send(guess); rec.Code != http.StatusUnauthorized {
			t.Fatalf("guess after waiting %ss: %d", wait, rec.Code)
		}
	}
}

// TestClientIPIgnoresForwardedFor checks which address the server takes for
// the client (the request log shows it): the direct peer, unless the peer is
// a trusted proxy.
func TestClientIPIgnoresForwardedFor(t *testing.T) {
	tests := []struct {
		name, trusted, remote, xff, want string
	}{
		{"no proxies: X-Forwarded-For ignored", "", "192.0.2.1:1234", "203.0.113.9", "192.0.2.1"},
		{"trusted proxy", "192.0.2.0/24", "192.0.2.1:1234", "203.0.113.9", "203.0.113.9"},
		{"trusted proxy, spoofed left part", "192.0.2.0/24", "192.0.2.1:1234", "10.9.9.9, 203.0.113.9", "203.0.113.9"},
		{"two trusted proxies", "192.0.2.1, 198.51.100.0/24", "192.0.2.1:1234", "203.0.113.9, 198.51.100.5", "203.0.113.9"},
		{"peer is not the trusted proxy", "198.51.100.7", "192.0.2.1:1234", "203.0.113.9", "192.0.2.1"},
		{"loopback peer is not trusted by default", "", "127.0.0.1:1234", "203.0.113.9", "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer // the request is served in this goroutine
			app := newTestAppWith(t, appOptions{env: map[string]string{"CAPEVAL_TRUSTED_PROXIES": tt.trusted}, log: &logs})
			app.send(request{method: "GET", path: "/healthz", remote: tt.remote, header: map[string]string{"X-Forwarded-For": tt.xff}})
			if want := "remote=" + tt.want + " "; !strings.Contains(logs.String(), want) {
				t.Fatalf("request log %q does not contain %q", logs.String(), want)
			}
		})
	}
}

// TestNoAccountLockout: someone guessing an account's password from one
// address is slowed down, and the owner signing in from another address is
// not.
func TestNoAccountLockout(t *testing.T) {
	app := newTestApp(t)
	attacker := request{method: "POST", path: "/api/v1/login", body: loginBody("lead@example.com", "guess guess"), remote: "192.0.2.66:4000"}
	var throttled bool
	for range 8 {
		rec := app.send(attacker)
		throttled = throttled || rec.Code == http.StatusTooManyRequests
	}
	if !throttled {
		t.Fatal("8 wrong guesses from one address were never throttled")
	}
	// A forged X-Forwarded-For does not make the attacker someone else.
	spoof := attacker
	spoof.header = map[string]string{"X-Forwarded-For": "198.51.100.7"}
	if rec := app.send(spoof); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("attacker with a forged X-Forwarded-For: %d, want 429", rec.Code)
	}
	owner := request{method: "POST", path: "/api/v1/login", body: loginBody("lead@example.com", testPassword), remote: "198.51.100.7:5000"}
	if rec := app.send(owner); rec.Code != http.StatusOK {
		t.Fatalf("the owner from another address: %d %s, want 200", rec.Code, rec.Body)
	}
}

// TestCSRF: a state-changing request carried by the cookie is accepted only
// from this origin (scheme, host and port); scripts with a bearer token and
// no cookie are not subject to the check.
func TestCSRF(t *testing.T) {
	app := newTestAppWith(t, appOptions{env: map[string]string{"CAPEVAL_TRUSTED_PROXIES": "10.0.0.2"}})
	admin := app.token(models.RoleAdmin)
	patch := fmt.Sprintf("/api/v1/users/%d", app.users[models.RoleAnnotator].ID)
	body := `{"disabled":false}`
	tests := []struct {
		name       string
		req        request
		wantStatus int
	}{
		{"cookie, no browser headers", request{cookie: admin}, 200},
		{"cookie, same origin", request{cookie: admin, header: map[string]string{"Origin": "http://example.com", "Sec-Fetch-Site": "same-origin"}}, 200},
		{"cookie, another port of the same host", request{cookie: admin, header: map[string]string{"Origin": "http://example.com:8081", "Sec-Fetch-Site": "same-site"}}, 403},
		{"cookie, another port, Origin only", request{cookie: admin, header: map[string]string{"Origin": "http://example.com:8081"}}, 403},
		{"cookie, same-site only", request{cookie: admin, header: map[string]string{"Sec-Fetch-Site": "same-site"}}, 403},
		{"cookie, cross-site", request{cookie: admin, header: map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}}, 403},
		{"cookie, user-initiated (none)", request{cookie: admin, header: map[string]string{"Sec-Fetch-Site": "none"}}, 403},
		{"cookie, Origin null", request{cookie: admin, header: map[string]string{"Origin": "null"}}, 403},
		{"cookie, https origin of an http server", request{cookie: admin, header: map[string]string{"Origin": "https://example.com"}}, 403},
		{"cookie, explicit default port", request{cookie: admin, header: map[string]string{"Origin": "http://example.com:80"}}, 200},
		{"bearer without cookie from anywhere", request{token: admin, header: map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}}, 200},
		{"bearer with cookie is checked", request{token: admin, cookie: admin, header: map[string]string{"Origin": "https://evil.example"}}, 403},
		{"behind the trusted proxy", request{cookie: admin, remote: "10.0.0.2:3000", header: map[string]string{
			"Origin": "https://capeval.example.org", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "capeval.example.org"}}, 200},
		{"forwarded headers from an untrusted peer", request{cookie: admin, remote: "10.0.0.3:3000", header: map[string]string{
			"Origin": "https://capeval.example.org", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "capeval.example.org"}}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req
			r.method, r.path, r.body = "PATCH", patch, body
			rec := app.send(r)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantStatus == 403 && !strings.Contains(rec.Body.String(), `"code":"cross_origin"`) {
				t.Fatalf("body %s, want code cross_origin", rec.Body)
			}
		})
	}
	// Safe methods are not checked; login is (a forged login would sign
	// the victim into the attacker's account).
	if rec := app.send(request{method: "GET", path: "/api/v1/me", cookie: admin, header: map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}}); rec.Code != 200 {
		t.Errorf("cross-site GET: %d, want 200", rec.Code)
	}
	if rec := app.send(request{method: "POST", path: "/api/v1/login", body: loginBody("lead@example.com", testPassword),
		header: map[string]string{"Origin": "http://example.com:8081", "Sec-Fetch-Site": "same-site"}}); rec.Code != 403 {
		t.Errorf("login from another port: %d, want 403", rec.Code)
	}
}

// TestSessionCookie: the cookie is Secure (with the __Host- prefix, and HSTS
// sent) when the request came over TLS or through a trusted proxy that says
// https, or when CAPEVAL_SECURE_COOKIE forces it.
func TestSessionCookie(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		req        request
		wantName   string
		wantSecure bool
	}{
		{"plain http", nil, request{}, cookieToken, false},
		{"tls", nil, request{tls: true}, "__Host-" + cookieToken, true},
		{"trusted proxy says https", map[string]string{"CAPEVAL_TRUSTED_PROXIES": "10.0.0.0/8"},
			request{remote: "10.1.2.3:5555", header: map[string]string{"X-Forwarded-Proto": "https"}}, "__Host-" + cookieToken, true},
		{"untrusted peer says https", map[string]string{"CAPEVAL_TRUSTED_PROXIES": "10.0.0.0/8"},
			request{remote: "192.0.2.1:5555", header: map[string]string{"X-Forwarded-Proto": "https"}}, cookieToken, false},
		{"private peer without configured proxies says https", nil,
			request{remote: "10.1.2.3:5555", header: map[string]string{"X-Forwarded-Proto": "https"}}, cookieToken, false},
		{"forced by CAPEVAL_SECURE_COOKIE", map[string]string{"CAPEVAL_SECURE_COOKIE": "true"}, request{}, "__Host-" + cookieToken, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newTestAppWith(t, appOptions{env: tt.env})
			r := tt.req
			r.method, r.path, r.body = "POST", "/api/v1/login", loginBody("lead@example.com", testPassword)
			rec := app.send(r)
			if rec.Code != 200 {
				t.Fatalf("login: %d %s", rec.Code, rec.Body)
			}
			cookies := rec.Result().Cookies()
			if len(cookies) != 1 {
				t.Fatalf("cookies %v, want one", cookies)
			}
			c := cookies[0]
			if c.Name != tt.wantName || c.Secure != tt.wantSecure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Domain != "" {
				t.Fatalf("cookie %+v, want %s Secure=%t HttpOnly SameSite=Strict Path=/ without Domain", c, tt.wantName, tt.wantSecure)
			}
			hsts := rec.Header().Get("Strict-Transport-Security")
			if tt.wantSecure != (hsts != "") {
				t.Fatalf("Strict-Transport-Security %q with Secure=%t", hsts, tt.wantSecure)
			}
			// The cookie authenticates under its own name.
			me := request{method: "GET", path: "/api/v1/me", cookie: c.Value, cookieName: c.Name, remote: r.remote, tls: r.tls, header: r.header}
			if rec := app.send(me); rec.Code != 200 {
				t.Fatalf("GET /me with the %s cookie: %d", c.Name, rec.Code)
			}
			// Logout clears it under the same name.
			out := me
			out.method, out.path = "POST", "/api/v1/logout"
			rec = app.send(out)
			if rec.Code != http.StatusNoContent {
				t.Fatalf("logout: %d %s", rec.Code, rec.Body)
			}
			var cleared bool
			for _, k := range rec.Result().Cookies() {
				cleared = cleared || (k.Name == c.Name && k.MaxAge < 0)
			}
			if !cleared {
				t.Fatalf("logout did not clear %s: %v", c.Name, rec.Result().Cookies())
			}
		})
	}
}

// TestTokenOnlyToScripts: a browser (it sends Sec-Fetch-Mode) gets the
// session as an HttpOnly cookie only; a script gets the token in the body.
func TestTokenOnlyToScripts(t *testing.T) {
	app := newTestApp(t)
	tests := []struct {
		name      string
		header    map[string]string
		wantToken bool
	}{
		{"script", nil, true},
		{"browser fetch", map[string]string{"Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin", "Origin": "http://example.com"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/api/v1/login", "/api/v1/me/password"} {
				r := request{method: "POST", path: path, body: loginBody("annotator@example.com", testPassword), header: tt.header}
				if path == "/api/v1/me/password" {
					r.body = fmt.Sprintf(`{"current_password":%q,"new_password":%q}`, testPassword, testPassword)
					r.token = app.token(models.RoleAnnotator)
				}
				rec := app.send(r)
				if rec.Code != 200 {
					t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
				}
				if got := strings.Contains(rec.Body.String(), `"token":`); got != tt.wantToken {
					t.Errorf("%s: token in the body = %t, want %t: %s", path, got, tt.wantToken, rec.Body)
				}
				if !strings.Contains(rec.Body.String(), `"expires_at":`) || !strings.Contains(rec.Body.String(), `"user":`) {
					t.Errorf("%s: body %s lacks expires_at or user", path, rec.Body)
				}
				if len(rec.Result().Cookies()) != 1 {
					t.Errorf("%s: cookies %v, want the session cookie", path, rec.Result().Cookies())
				}
			}
		})
	}
}

// TestAPIResponsesAreNotStored: every /api answer, errors included, says
// Cache-Control: no-store.
func TestAPIResponsesAreNotStored(t *testing.T) {
	app := newTestApp(t)
	tests := []request{
		{method: "POST", path: "/api/v1/login", body: loginBody("lead@example.com", testPassword)},
		{method: "POST", path: "/api/v1/login", body: loginBody("lead@example.com", "wrong wrong")},
		{method: "GET", path: "/api/v1/me", token: app.token(models.RoleLead)},
		{method: "GET", path: "/api/v1/me"},
		{method: "GET", path: "/api/v1/users", token: app.token(models.RoleAdmin)},
		{method: "GET", path: "/api/v1/no-such-thing"},
		{method: "POST", path: "/api/v1/campaigns/1/import", token: app.token(models.RoleLead)},
	}
	for _, r := range tests {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			rec := app.send(r)
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Fatalf("status %d: Cache-Control %q, want no-store", rec.Code, got)
			}
		})
	}
}

// TestChangePasswordThrottled: guessing the current password through
// POST /me/password is throttled like login.
func TestChangePasswordThrottled(t *testing.T) {
	app := newTestApp(t)
	tok := app.token(models.RoleAnnotator)
	var last *httptest.ResponseRecorder
	for range 8 {
		last = app.send(request{method: "POST", path: "/api/v1/me/password", token: tok,
			body: `{"current_password":"guess guess","new_password":"a new password"}`})
		if last.Code == http.StatusTooManyRequests {
			break
		}
		if last.Code != http.StatusForbidden {
			t.Fatalf("wrong current password: %d %s", last.Code, last.Body)
		}
	}
	if last.Code != http.StatusTooManyRequests || last.Header().Get("Retry-After") == "" {
		t.Fatalf("after 8 wrong current passwords: %d (Retry-After %q), want 429", last.Code, last.Header().Get("Retry-After"))
	}
}
