package hub

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// authRecorder answers the listing request and remembers the Authorization
// header each path received.
type authRecorder struct {
	mu   sync.Mutex
	seen map[string]string
}

func (a *authRecorder) record(r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seen[r.URL.Path] = r.Header.Get("Authorization")
}

func (a *authRecorder) get(path string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	v, ok := a.seen[path]
	return v, ok
}

// TestTokenNotForwardedOnRedirect drives Client.Info through real redirects
// between httptest servers. Go's client drops Authorization only when the
// host name changes; the hub client must also drop it when a redirect
// leaves https for http, or goes to another port, and must keep it for a
// redirect within the same origin.
func TestTokenNotForwardedOnRedirect(t *testing.T) {
	rec := &authRecorder{seen: map[string]string{}}
	listing := func(w http.ResponseWriter, r *http.Request) {
		rec.record(r)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"o/r","sha":"0123456789abcdef0123456789abcdef01234567","siblings":[]}`))
	}
	var plain, plain2, secure *httptest.Server
	mux := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := r.URL.Path
			switch {
			case strings.HasPrefix(p, "/api/models/"):
				// The listing request: where it goes next is named by the
				// repository ("o/<case>").
				rest := strings.TrimPrefix(p, "/api/models/o/")
				target := map[string]string{
					"to-http":        plain.URL + "/final/to-http",
					"to-other-port":  plain2.URL + "/final/to-other-port",
					"same-origin":    "/final/same-origin",
					"to-other-host":  strings.Replace(plain.URL, "127.0.0.1", "localhost", 1) + "/final/to-other-host",
					"down-and-back":  plain.URL + "/bounce/down-and-back",
					"https-to-https": secure.URL + "/final/https-to-https",
				}[strings.SplitN(rest, "/", 2)[0]]
				http.Redirect(w, r, target, http.StatusFound)
			case strings.HasPrefix(p, "/bounce/"):
				rec.record(r)
				http.Redirect(w, r, secure.URL+"/final/"+strings.TrimPrefix(p, "/bounce/")+"-back", http.StatusFound)
			default:
				listing(w, r)
			}
		})
	}
	plain = httptest.NewServer(mux("plain"))
	defer plain.Close()
	plain2 = httptest.NewServer(mux("plain2"))
	defer plain2.Close()
	secure = httptest.NewTLSServer(mux("secure"))
	defer secure.Close()

	tests := []struct {
		name      string
		endpoint  string
		repo      string
		finalPath string
		wantAuth  bool
	}{
		{"https to http", secure.URL, "o/to-http", "/final/to-http", false},
		{"https to http and back to https", secure.URL, "o/down-and-back", "/final/down-and-back-back", false},
		{"http to another port of the same host", plain.URL, "o/to-other-port", "/final/to-other-port", false},
		{"https to another host", secure.URL, "o/to-other-host", "/final/to-other-host", false},
		{"within the same origin", plain.URL, "o/same-origin", "/final/same-origin", true},
		{"https within the same origin", secure.URL, "o/https-to-https", "/final/https-to-https", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(Options{Endpoint: tt.endpoint, Token: "hf_secret", HTTPClient: secure.Client()})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Info(context.Background(), tt.repo, "main"); err != nil {
				t.Fatalf("Info: %v", err)
			}
			got, ok := rec.get(tt.finalPath)
			if !ok {
				t.Fatalf("the redirect never reached %s", tt.finalPath)
			}
			if tt.wantAuth && got != "Bearer hf_secret" {
				t.Fatalf("%s received Authorization %q, want the token", tt.finalPath, got)
			}
			if !tt.wantAuth && got != "" {
				t.Fatalf("%s received Authorization %q, want none", tt.finalPath, got)
			}
			if v, _ := rec.get("/bounce/down-and-back"); tt.repo == "o/down-and-back" && v != "" {
				t.Fatalf("the http hop received Authorization %q", v)
			}
		})
	}
}

// TestRedirectPolicyOfCallerKept: a caller's CheckRedirect still decides,
// and the caller's client is not modified.
func TestRedirectPolicyOfCallerKept(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"id":"o/r","sha":"0123456789abcdef0123456789abcdef01234567","siblings":[]}`))
	}))
	defer target.Close()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/x", http.StatusFound)
	}))
	defer origin.Close()
	var calls int
	own := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		calls++
		return http.ErrUseLastResponse
	}}
	before := own.CheckRedirect
	c, err := NewClient(Options{Endpoint: origin.URL, Token: "t", HTTPClient: own})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Info(context.Background(), "o/r", "main"); err == nil {
		t.Fatal("Info followed a redirect that the caller's policy stops")
	}
	if calls != 1 {
		t.Fatalf("the caller's CheckRedirect ran %d times, want 1", calls)
	}
	own.CheckRedirect(nil, nil)
	if calls != 2 || own.CheckRedirect == nil || before == nil {
		t.Fatal("the caller's client was changed")
	}
}

// TestLeavesOrigin covers the hops that real test servers cannot (default
// ports).
func TestLeavesOrigin(t *testing.T) {
	tests := []struct {
		chain []string // the first request, then each redirect target
		want  bool
	}{
		{[]string{"https://huggingface.co/api/x", "https://huggingface.co/api/y"}, false},
		{[]string{"https://huggingface.co/api/x", "http://huggingface.co/api/y"}, true},
		{[]string{"https://huggingface.co/api/x", "https://huggingface.co:8443/api/y"}, true},
		{[]string{"https://huggingface.co/api/x", "https://huggingface.co:443/api/y"}, false},
		{[]string{"http://mirror.local/hf/api/x", "https://mirror.local/hf/api/x"}, false},
		{[]string{"http://mirror.local:8080/api/x", "https://mirror.local/api/x"}, true},
		{[]string{"https://huggingface.co/a", "http://huggingface.co/b", "https://huggingface.co/c"}, true},
		{[]string{"https://huggingface.co/a", "https://cdn-lfs.huggingface.co/b"}, false}, // Go's own rule decides other hosts
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.chain, " → "), func(t *testing.T) {
			var via []*http.Request
			for _, u := range tt.chain[:len(tt.chain)-1] {
				via = append(via, httptest.NewRequest("GET", u, nil))
			}
			req := httptest.NewRequest("GET", tt.chain[len(tt.chain)-1], nil)
			if got := leavesOrigin(req, via); got != tt.want {
				t.Fatalf("leavesOrigin = %t, want %t", got, tt.want)
			}
		})
	}
}
