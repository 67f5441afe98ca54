package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"capeval/accounts"
	"capeval/models"
	"capeval/models/modelstest"
)

// tcpProxy forwards TCP connections to a server. cut closes the listener
// and every connection, as a database that went down does (pooled
// connections break, new ones are refused); restore listens on the same
// address again.
type tcpProxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{t: t, target: target}
	p.listen("127.0.0.1:0")
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); _ = u.Close() }()
			go func() { _, _ = io.Copy(c, u); _ = c.Close() }()
		}
	}()
}

func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.ln.Close()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func (p *tcpProxy) restore() { p.listen(p.addr) }

// TestDatabaseOutageAnswers503: the real app on a real PostgreSQL reached
// through a TCP proxy that the test cuts. While the database is away,
// every request that needs it (an API call, the login, a page, the
// readiness probe) is answered at once with 503 database_unavailable and
// Retry-After, without the database's address or the driver's error, and
// logged once with its request id; liveness stays 200. Once the database
// is reachable again the same app serves again.
func TestDatabaseOutageAnswers503(t *testing.T) {
	dsn := modelstest.NewPostgresDatabase(t)
	direct := modelstest.OpenMigrated(t, dsn)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, u.Host)
	u.Host = proxy.addr
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	store, err := models.Open(context.Background(), u.String(), "", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })

	cfg := testConfig(t, nil)
	cfg.JWTSecret = strings.Repeat("k", 32)
	app := &testApp{t: t, store: store, users: map[models.Role]*models.User{}, secret: cfg.JWTSecret, clock: &testClock{t: time.Now()}}
	if app.accounts, err = accounts.New(store, log, cfg.AccountsConfig()); err != nil {
		t.Fatal(err)
	}
	app.srv = New(cfg, store, app.accounts, Services{}, log)
	lead := &models.User{Email: "lead@example.com", Name: "lead", Role: models.RoleLead}
	if err := direct.CreateUser(context.Background(), lead); err != nil {
		t.Fatal(err)
	}
	sess, err := app.accounts.Issue(lead)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, method, path, body, token string
		wantUp                          int
		page                            bool // an HTML page, not the JSON API
	}{
		{name: "API call", method: "GET", path: "/api/v1/me", token: sess.Token, wantUp: http.StatusOK},
		{name: "login", method: "POST", path: "/api/v1/login", body: `{"email":"nobody@example.com","password":"x"}`, wantUp: http.StatusUnauthorized},
		{name: "page", method: "GET", path: "/lead", token: sess.Token, wantUp: http.StatusOK, page: true},
		{name: "readiness", method: "GET", path: "/readyz", wantUp: http.StatusOK},
	}
	for _, tt := range tests {
		if rec := app.do(tt.method, tt.path, tt.body, tt.token); rec.Code != tt.wantUp {
			t.Fatalf("%s before the outage: %d %s, want %d", tt.name, rec.Code, rec.Body, tt.wantUp)
		}
	}

	proxy.cut()
	// Twice each: the first meets a pooled connection that broke, the
	// second a connect that is refused.
	for round := range 2 {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				start := time.Now()
				rec := app.do(tt.method, tt.path, tt.body, tt.token)
				// Below the 5 s connect timeout: a refused connect answers at once.
				if d := time.Since(start); d > 4*time.Second {
					t.Errorf("round %d: answered after %v with the database down, want at once", round, d)
				}
				if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "3" {
					t.Fatalf("round %d: %d, Retry-After %q: %s; want 503 with Retry-After 3", round, rec.Code, rec.Header().Get("Retry-After"), rec.Body)
				}
				body := rec.Body.String()
				if tt.page {
					if !strings.Contains(body, "The database is unavailable") {
						t.Errorf("round %d: the error page does not say the database is unavailable:\n%s", round, body)
					}
				} else {
					var got map[string]apiError
					if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
						t.Fatalf("round %d: %v: %s", round, err, body)
					}
					if e := got["error"]; e.Code != "database_unavailable" || !strings.Contains(e.Message, "database is unavailable") {
						t.Errorf("round %d: error %+v, want code database_unavailable saying the database is unavailable", round, e)
					}
				}
				for _, internal := range []string{proxy.addr, "capeval_test_", "SQLSTATE", "dial", "EOF", "postgres"} {
					if strings.Contains(body, internal) {
						t.Errorf("round %d: the answer shows %q: %s", round, internal, body)
					}
				}
				id := rec.Header().Get("X-Request-Id")
				if n := strings.Count(logs.String(), `msg="database unavailable"`+" method="+tt.method+" path="+tt.path+" request_id="+id); n != 1 {
					t.Errorf("round %d: request %s logged %d times as database unavailable, want once:\n%s", round, id, n, logs)
				}
			})
		}
	}
	if rec := app.do("GET", "/healthz", "", ""); rec.Code != http.StatusOK {
		t.Errorf("liveness with the database down: %d, want 200 (restarting the server would not help)", rec.Code)
	}

	proxy.restore()
	for _, tt := range tests {
		// Pooled connections that broke and were not used during the
		// outage fail once each, then are dropped: at most the idle pool.
		var rec = app.do(tt.method, tt.path, tt.body, tt.token)
		for i := 0; rec.Code == http.StatusServiceUnavailable && i < 10; i++ {
			rec = app.do(tt.method, tt.path, tt.body, tt.token)
		}
		if rec.Code != tt.wantUp {
			t.Errorf("%s after the database came back: %d %s, want %d", tt.name, rec.Code, rec.Body, tt.wantUp)
		}
	}
}
