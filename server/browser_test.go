package server

// Browser tests: the real app on a real SQLite store, served over HTTP and
// driven by headless Chromium through the DevTools protocol (chromedp). They
// check what only a browser shows: redirects, cookies, ES modules running
// under the Content-Security-Policy, and the pages each role sees.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"capeval/internal/sharedtest"
)

// chromiumPath finds the browser: $CAPEVAL_CHROMIUM when set (and
// executable), otherwise a Chromium or Chrome on PATH; "" when there is none.
func chromiumPath() string {
	if p := os.Getenv("CAPEVAL_CHROMIUM"); p != "" {
		if found, err := exec.LookPath(p); err == nil {
			return found
		}
		return ""
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser is one headless Chromium with a fresh profile, pointed at one
// running app. Console errors and exceptions of every page are collected so
// that a test can fail on a broken script or a CSP violation.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string // where screenshots go

	mu      sync.Mutex
	console []string

	// requests are what the app answered the browser (set by startBrowserApp).
	requests *requestLog
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		sharedtest.Missing(t, "chromium not found: install the Debian package chromium (.ci/run does) or set CAPEVAL_CHROMIUM")
	}
	profile := filepath.Join(t.TempDir(), "profile")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // tests run as root in containers, where the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// A page kept alive in the back/forward cache keeps its JavaScript
		// context, and an evaluation can then land in the page the test just
		// left; the tests want the page that is on screen.
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,BackForwardCache"),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 860),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		// Chromium's helpers can write to the profile for a moment after the
		// browser exits; TempDir's own removal would then fail the test.
		for range 50 {
			if err := os.RemoveAll(profile); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	b := &browser{t: t, ctx: ctx, base: base, dir: filepath.Join(t.TempDir(), "screenshots")}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			// The browser logs every 401/403 fetch as a network error; those
			// are answers the pages expect (signed out, wrong role).
			if m.Source == "network" {
				continue
			}
			if m.IsException() || m.Type == chromedp.ConsoleError || m.Source == "security" {
				b.mu.Lock()
				b.console = append(b.console, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line))
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// checkConsole fails the test for every error a page logged so far.
func (b *browser) checkConsole() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		b.t.Errorf("browser console: %s", m)
	}
	b.console = nil
}

// do runs steps with a deadline short enough to name the step that hangs.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func run[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// open navigates to path and returns the HTTP status of the page.
func (b *browser) open(path string) int64 {
	b.t.Helper()
	resp := run(b, "open "+path, chromedp.NavigateResponse(b.base+path))
	if resp == nil {
		return 0
	}
	return resp.Status
}

// location returns the URL the browser shows now. It asks the browser's
// navigation history rather than a page's script, which during a navigation
// can still be the page being left.
func (b *browser) location() *url.URL {
	b.t.Helper()
	var u *url.URL
	// Between two documents the page can be briefly "not attached"; asking
	// again a moment later gets the new one.
	b.retry("read location", func(ctx context.Context) error {
		h, err := chromedp.Run(ctx, chromedp.NavigationEntries())
		if err != nil {
			return err
		}
		if h.CurrentIndex < 0 || int(h.CurrentIndex) >= len(h.Entries) {
			return fmt.Errorf("no current entry in %d", len(h.Entries))
		}
		u, err = url.Parse(h.Entries[h.CurrentIndex].URL)
		return err
	})
	return u
}

// waitPath waits until the browser shows path, as after a script navigates.
func (b *browser) waitPath(path string) *url.URL {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		u := b.location()
		if u.Path == path {
			return u
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser at %s, want %s", u, path)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// text waits for sel to be visible and returns its text. A query that meets
// a page still loading fails with a stale node or context; retry asks again.
func (b *browser) text(sel string) string {
	b.t.Helper()
	var text string
	b.retry("text of "+sel, func(ctx context.Context) error {
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
			return err
		}
		var err error
		text, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		return err
	})
	return strings.TrimSpace(text)
}

// waitText waits until sel's text contains want.
func (b *browser) waitText(sel, want string) {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := b.text(sel)
		if strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s says %q, want it to contain %q", sel, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// formError waits until the form shows an error, in its live region or next
// to a field, and returns the text.
func (b *browser) formError(form string) string {
	b.t.Helper()
	expr := fmt.Sprintf(`[...document.querySelectorAll('%[1]s .form-status.is-error, %[1]s .field-error')].map(e => e.textContent).join(' ')`, form)
	deadline := time.Now().Add(15 * time.Second)
	for {
		if msg := strings.TrimSpace(b.eval(expr)); msg != "" {
			return msg
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s shows no error", form)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clear empties an input the way a user selecting all and deleting would.
func (b *browser) clear(id string) {
	b.t.Helper()
	run(b, "clear "+id, chromedp.Evaluate[bool](fmt.Sprintf(`(document.getElementById(%q).value = '', true)`, id)))
}

// eval evaluates a JavaScript expression that yields a string in the page.
// Like text, it retries while a navigation has the old page's context gone.
func (b *browser) eval(expr string) string {
	b.t.Helper()
	var v string
	b.retry("evaluate "+expr, func(ctx context.Context) (err error) {
		v, err = chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		return err
	})
	return v
}

// retry runs fn until it succeeds, failing the test after 15 seconds.
func (b *browser) retry(what string, fn func(ctx context.Context) error) {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		err := fn(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) || b.ctx.Err() != nil {
			b.t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// login signs in through the login page, with the keyboard only: type the
// address, type the password, press Enter.
func (b *browser) login(email, password string) {
	b.t.Helper()
	if b.location().Path != "/login" {
		b.open("/login")
	}
	// The page may still be loading when the previous step saw /login; a
	// query that meets the old document fails, and typing starts over.
	b.retry("type credentials", func(ctx context.Context) error {
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#login-form[data-ready="true"]`))); err != nil {
			return err
		}
		for _, id := range []string{"email", "password"} {
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(document.getElementById(%q).value = '', true)`, id))); err != nil {
				return err
			}
		}
		return chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.ID("email"), email),
			chromedp.SendKeys(chromedp.ID("password"), password+kb.Enter),
		)
	})
}

// screenshot saves the whole page as name.png under the test's temp dir and,
// when CAPEVAL_ARTIFACTS is set, under $CAPEVAL_ARTIFACTS/browser too.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png := run(b, "screenshot "+name, chromedp.FullScreenshot(100))
	dirs := []string{b.dir}
	if a := os.Getenv("CAPEVAL_ARTIFACTS"); a != "" {
		dirs = append(dirs, filepath.Join(a, "browser"))
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.t.Fatalf("screenshot dir: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			b.t.Fatalf("write screenshot: %v", err)
		}
	}
}

// startBrowserApp serves the test app over real HTTP for the browser. The
// accounts are newTestApp's: <role>@example.com with testPassword.
func startBrowserApp(t *testing.T) (*testApp, *browser) {
	t.Helper()
	return startBrowserAppWith(t, nil)
}

// startBrowserAppWith is startBrowserApp with configure run on the app
// before it is served (to give it services).
func startBrowserAppWith(t *testing.T, configure func(*testApp)) (*testApp, *browser) {
	t.Helper()
	if chromiumPath() == "" {
		// Before the app starts, so that a missing browser costs nothing.
		sharedtest.Missing(t, "chromium not found: install the Debian package chromium (.ci/run does) or set CAPEVAL_CHROMIUM")
	}
	app := newTestApp(t)
	if configure != nil {
		configure(app)
	}
	log := &requestLog{}
	ts := httptest.NewServer(log.wrap(app.srv.Handler()))
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		// Registered after the server's Close, so it runs first; on failure the
		// requests the browser made are the quickest way to see what happened.
		if t.Failed() {
			t.Logf("requests the browser made:\n%s", log)
		}
	})
	b := newBrowser(t, ts.URL)
	b.requests = log
	return app, b
}

// requestLog records the requests the browser sends and the answers.
type requestLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *requestLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		session := "no cookie"
		if c, err := r.Cookie(cookieToken); err == nil {
			session = fmt.Sprintf("cookie …%s", c.Value[max(0, len(c.Value)-8):])
		}
		l.mu.Lock()
		l.lines = append(l.lines, fmt.Sprintf("%s %s %s (%s) -> %d %s",
			time.Now().Format("15:04:05.000"), r.Method, r.URL.RequestURI(), session, rec.status, rec.Header().Get("Location")))
		l.mu.Unlock()
	})
}

func (l *requestLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Flush passes flushes on, so that server-sent events reach the browser as
// they are written.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func TestBrowserRoles(t *testing.T) {
	_, b := startBrowserApp(t)
	tests := []struct {
		role     string
		home     string
		h1       string
		nav      []string
		ready    string // selector of what the home page loads
		readyHas string
	}{
		{"admin", "/admin", "Users", []string{"Users", "Campaigns", "Rate"}, "#users-body", "lead@example.com"},
		{"lead", "/lead", "Campaigns", []string{"Campaigns", "Rate"}, "#campaigns", "No campaigns yet"},
		{"annotator", "/annotate", "Rate captions", []string{"Rate"}, "#queue", "No tasks yet"},
	}
	for i, tt := range tests {
		t.Run(tt.role, func(t *testing.T) {
			b.t = t
			email := tt.role + "@example.com"

			// Signed out, "/" sends the visitor to the login page, which will
			// come back to "/".
			b.open("/")
			u := b.waitPath("/login")
			if got := u.Query().Get("next"); got != "/" {
				t.Errorf("login next = %q, want /", got)
			}
			if i == 0 {
				if got := b.eval(`document.activeElement && document.activeElement.id`); got != "email" {
					t.Errorf("focus on load is on %q, want the email field", got)
				}
				b.screenshot("login")
			}

			b.login(email, testPassword)
			b.waitPath(tt.home)
			if got := b.text("h1"); got != tt.h1 {
				t.Errorf("h1 = %q, want %q", got, tt.h1)
			}
			b.waitText("#account-email", email)
			b.waitText(tt.ready, tt.readyHas)
			nav := strings.Split(b.eval(`[...document.querySelectorAll('#mainnav a')].map(a => a.textContent).join('|')`), "|")
			if !slices.Equal(nav, tt.nav) {
				t.Errorf("nav links %q, want %q", nav, tt.nav)
			}
			if got := b.eval(`document.querySelector('#mainnav [aria-current="page"]')?.getAttribute('href') ?? ''`); got != tt.home {
				t.Errorf("current nav link %q, want %q", got, tt.home)
			}
			b.screenshot("home-" + tt.role)

			// On a phone-sized screen nothing may force sideways scrolling.
			b.do("phone viewport", chromedp.EmulateViewport(390, 844))
			if got := b.eval(`String(document.documentElement.scrollWidth <= window.innerWidth)`); got != "true" {
				t.Errorf("at 390px wide the page scrolls sideways (scrollWidth %s); widest: %s", b.eval(`String(document.documentElement.scrollWidth)`),
					b.eval(`[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap table')).slice(0, 5).map(e => e.tagName + '.' + e.className + ':' + Math.round(e.getBoundingClientRect().right)).join(', ')`))
			}
			b.screenshot("home-" + tt.role + "-phone")
			b.do("desktop viewport", chromedp.EmulateViewport(1280, 860))

			// The first Tab from the top of the page reaches the skip link.
			b.eval(`document.activeElement.blur(), ""`)
			b.do("tab to skip link", chromedp.KeyEvent(kb.Tab))
			if got := b.eval(`document.activeElement.className`); got != "skip-link" {
				t.Errorf("first Tab focuses class %q, want the skip link", got)
			}
			if got := b.eval(`getComputedStyle(document.activeElement).outlineStyle`); got == "none" {
				t.Error("the focused skip link has no visible outline")
			}

			if tt.role == "annotator" {
				// A lead page is refused with the error page, not a redirect.
				if status := b.open("/lead"); status != http.StatusForbidden {
					t.Errorf("annotator opening /lead: status %d, want 403", status)
				}
				if got := b.text(".error-status"); !strings.Contains(got, "403") {
					t.Errorf("error page status line %q, want 403", got)
				}
				if b.location().Path != "/lead" {
					t.Errorf("403 moved the browser to %s", b.location())
				}
				b.screenshot("forbidden-annotator")
				b.open(tt.home)
				b.waitText("#account-email", email)
			}

			// Log out without a mouse: Tab along the header to the button and
			// press Enter.
			b.eval(`document.activeElement.blur(), ""`)
			for range 12 {
				if b.eval(`document.activeElement.id`) == "logout" {
					break
				}
				b.do("tab", chromedp.KeyEvent(kb.Tab))
			}
			if got := b.eval(`document.activeElement.id`); got != "logout" {
				t.Fatalf("12 Tabs did not reach the logout button (focus on %q)", got)
			}
			b.do("log out", chromedp.KeyEvent(kb.Enter))
			b.waitPath("/login")
			b.waitText("#login-notice", "logged out")
			// The session is gone: the home page asks for a login again.
			b.open(tt.home)
			if u := b.waitPath("/login"); u.Query().Get("next") != tt.home {
				t.Errorf("after logout %s redirects to %s, want next=%s", tt.home, u, tt.home)
			}
			b.checkConsole()
		})
	}
}

func TestBrowserLoginErrorsAndNext(t *testing.T) {
	_, b := startBrowserApp(t)
	email := "lead@example.com"

	b.open("/login")
	b.login(email, "wrong password")
	b.formError("#login-form")
	if got := b.eval(`document.querySelector('#login-form .form-status').getAttribute('role')`); got != "alert" {
		t.Errorf("login message role %q, want alert (announced at once)", got)
	}
	if b.location().Path != "/login" {
		t.Errorf("a failed login left the login page for %s", b.location())
	}
	b.screenshot("login-error")

	tests := []struct {
		name, next, want string
	}{
		{"same-origin path", "/annotate", "/annotate"},
		{"protocol-relative host refused", "//example.com/annotate", "/lead"},
		{"backslash host refused", `/\example.com`, "/lead"},
		{"absolute URL refused", "https://example.com/", "/lead"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b.t = t
			b.open("/login?next=" + url.QueryEscape(tt.next))
			b.login(email, testPassword)
			if u := b.waitPath(tt.want); u.Host != strings.TrimPrefix(b.base, "http://") {
				t.Errorf("after login the browser is at %s", u)
			}
			b.do("log out", chromedp.WaitVisible(chromedp.ID("logout")), chromedp.Click(chromedp.ID("logout")))
			b.waitPath("/login")
		})
	}
	b.t = t
	b.checkConsole()
}

func TestBrowserAdminManagesUsers(t *testing.T) {
	app, b := startBrowserApp(t)
	b.open("/admin")
	b.login("admin@example.com", testPassword)
	b.waitPath("/admin")
	b.waitText("#users-body", "annotator@example.com")

	// A missing field is marked on the field itself.
	b.do("submit empty form", chromedp.Click(chromedp.CSS(`#create-user [type="submit"]`)))
	if got := b.eval(`document.getElementById('cu-email').getAttribute('aria-invalid') ?? ''`); got != "true" {
		t.Errorf("empty email: aria-invalid=%q, want true", got)
	}
	if got := b.eval(`document.activeElement.id`); got != "cu-email" {
		t.Errorf("focus after the error is on %q, want cu-email", got)
	}

	const newEmail = "new.annotator@example.com"
	b.do("fill the create-user form",
		chromedp.SendKeys(chromedp.ID("cu-email"), newEmail),
		chromedp.SendKeys(chromedp.ID("cu-name"), "New Annotator"),
		chromedp.SendKeys(chromedp.ID("cu-password"), "a long enough password"),
		chromedp.Click(chromedp.CSS(`#create-user [type="submit"]`)),
	)
	b.waitText("#create-user .form-status", "Created "+newEmail)
	b.waitText("#users-body", newEmail)
	b.screenshot("admin-user-created")

	b.do("disable the new user", chromedp.Click(chromedp.CSS(fmt.Sprintf(`button[aria-label="Disable %s"]`, newEmail))))
	b.waitText("#users-status", newEmail+" is now disabled")
	u, err := app.store.UserByEmail(context.Background(), newEmail)
	if err != nil {
		t.Fatalf("load created user: %v", err)
	}
	if !u.Disabled || string(u.Role) != "annotator" || u.Name != "New Annotator" {
		t.Errorf("stored user = %+v, want a disabled annotator named New Annotator", u)
	}
	b.screenshot("admin-user-disabled")

	// The disabled account cannot sign in.
	b.do("log out", chromedp.Click(chromedp.ID("logout")))
	b.waitPath("/login")
	b.login(newEmail, "a long enough password")
	b.formError("#login-form")
	if b.location().Path != "/login" {
		t.Errorf("disabled user got past the login page to %s", b.location())
	}
	b.checkConsole()
}

func TestBrowserChangePassword(t *testing.T) {
	_, b := startBrowserApp(t)
	email := "annotator@example.com"
	b.open("/annotate")
	b.login(email, testPassword)
	b.waitPath("/annotate")
	b.waitText("#account-email", email)

	const newPassword = "a brand new passphrase"
	b.do("change password",
		chromedp.Click(chromedp.ID("change-password-open")),
		chromedp.WaitVisible(chromedp.ID("password-dialog")),
		chromedp.SendKeys(chromedp.ID("pw-current"), testPassword),
		chromedp.SendKeys(chromedp.ID("pw-new"), newPassword),
		chromedp.SendKeys(chromedp.ID("pw-confirm"), "something else"+kb.Enter),
	)
	if msg := b.formError("#password-dialog"); !strings.Contains(msg, "differ") {
		t.Errorf("mismatched repeat: error %q, want one saying the passwords differ", msg)
	}
	if got := b.eval(`document.getElementById('pw-confirm').getAttribute('aria-invalid') ?? ''`); got != "true" {
		t.Errorf("mismatched repeat: aria-invalid=%q on the repeat field, want true", got)
	}
	b.screenshot("change-password-mismatch")
	b.clear("pw-confirm")
	b.do("fix the repeat", chromedp.SendKeys(chromedp.ID("pw-confirm"), newPassword+kb.Enter))
	// The server revokes older tokens on a password change, so the page
	// either confirms in place or sends the user to sign in again.
	deadline := time.Now().Add(15 * time.Second)
	for {
		if b.location().Path == "/login" {
			b.waitText("#login-notice", "password was changed")
			break
		}
		if s := b.eval(`document.getElementById('shell-notice')?.textContent ?? ''`); strings.HasPrefix(s, "Password changed.") {
			if open := b.eval(`String(document.getElementById('password-dialog').open)`); open != "false" {
				t.Errorf("the dialog is still open after the change")
			}
			b.screenshot("change-password-done")
			b.do("log out", chromedp.Click(chromedp.ID("logout")))
			b.waitPath("/login")
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("password change neither confirmed nor asked to sign in again; dialog says %q",
				b.eval(`document.getElementById('password-dialog').innerText`))
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.login(email, newPassword)
	b.waitPath("/annotate")
	b.checkConsole()
}

// TestBrowserRevokedSession checks that a page whose session ends under it
// (here: revoked as a logout elsewhere would) sends the user to sign in on
// its next API call, and back to the same page afterwards.
func TestBrowserRevokedSession(t *testing.T) {
	app, b := startBrowserApp(t)
	b.open("/admin")
	b.login("admin@example.com", testPassword)
	b.waitPath("/admin")
	b.waitText("#users-body", "lead@example.com")

	ctx := context.Background()
	admin, err := app.store.UserByEmail(ctx, "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.store.BumpTokenVersion(ctx, admin.ID); err != nil {
		t.Fatal(err)
	}
	b.do("disable a user", chromedp.Click(chromedp.CSS(`button[aria-label="Disable lead@example.com"]`)))
	if u := b.waitPath("/login"); u.Query().Get("next") != "/admin" {
		t.Errorf("revoked session went to %s, want /login?next=/admin", u)
	}
	b.login("admin@example.com", testPassword)
	b.waitPath("/admin")
	lead, err := app.store.UserByEmail(ctx, "lead@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if lead.Disabled {
		t.Error("the request refused for the revoked session disabled the user anyway")
	}
	b.checkConsole()
}
