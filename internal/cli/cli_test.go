package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"capeval/annotation/demo"
)

// cli runs capeval with args, input on standard input, and returns the
// exit code, stdout and stderr.
func cli(t *testing.T, input string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &env{stdin: strings.NewReader(input), stdout: &out, stderr: &errOut, getenv: os.Getenv})
	return code, out.String(), errOut.String()
}

// cliCase is a command line and what it must give: the exit code and
// substrings of stdout and stderr together.
type cliCase struct {
	name     string
	input    string // standard input
	args     []string
	wantCode int
	wantOut  []string
}

// runCases runs the cases in order: later ones see what earlier ones did.
func runCases(t *testing.T, tests []cliCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := cli(t, tt.input, tt.args...)
			for _, want := range tt.wantOut {
				if !strings.Contains(out+errOut, want) {
					t.Errorf("output lacks %q", want)
				}
			}
			if code != tt.wantCode || t.Failed() {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tt.wantCode, out, errOut)
			}
		})
	}
}

// execArgs runs capeval with args and returns stdout, stderr and the
// command's error itself, for tests that check what it wraps.
func execArgs(args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	_, err := execute(context.Background(), args, &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: os.Getenv})
	return out.String(), errOut.String(), err
}

func setEnv(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("CAPEVAL_DATA_DIR", dir)
	t.Setenv("CAPEVAL_DB", "")
	t.Setenv("CAPEVAL_LOG_LEVEL", "warn")
	return dir
}

func TestCLI(t *testing.T) {
	setEnv(t)
	tests := []struct {
		name     string
		input    string
		args     []string
		wantCode int
		wantOut  string // substring of stdout+stderr
	}{
		{"help", "", []string{"help"}, 0, "Commands:"},
		{"no command", "", nil, 2, "Usage: capeval COMMAND"},
		{"unknown command", "", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"help of a command", "", []string{"help", "user"}, 0, "set-password"},
		{"serve -h explains", "", []string{"serve", "-h"}, 0, "SIGINT"},
		{"version", "", []string{"version"}, 0, "capeval "},
		{"migrate", "", []string{"migrate"}, 0, "applied migration 0001"},
		{"migrate again is a no-op", "", []string{"migrate"}, 0, "up to date"},
		{"add admin", "s3cret-pass\n", []string{"user", "add", "--email", "root@example.com", "--role", "admin", "--password-stdin"}, 0, "created admin root@example.com"},
		{"add duplicate", "s3cret-pass\n", []string{"user", "add", "--email", "ROOT@example.com", "--role", "lead", "--password-stdin"}, 1, "exists already"},
		{"add bad role", "s3cret-pass\n", []string{"user", "add", "--email", "x@example.com", "--role", "boss", "--password-stdin"}, 1, `role: role "boss"`},
		{"add without stdin flag", "", []string{"user", "add", "--email", "x@example.com", "--role", "lead"}, 2, "--password-stdin is required"},
		{"add short password", "short\n", []string{"user", "add", "--email", "x@example.com", "--role", "lead", "--password-stdin"}, 1, "at least 8"},
		{"add empty stdin", "", []string{"user", "add", "--email", "x@example.com", "--role", "lead", "--password-stdin"}, 1, "no password"},
		{"add unknown flag", "", []string{"user", "add", "--mail", "x"}, 2, "flag provided but not defined: -mail"},
		{"add annotator", "another-pass\n", []string{"user", "add", "--email", "ann@example.com", "--role", "annotator", "--name", "Ann", "--password-stdin"}, 0, "created annotator"},
		{"disable", "", []string{"user", "disable", "--email", "ann@example.com"}, 0, "disable done"},
		{"list", "", []string{"user", "list"}, 0, "ann@example.com   Ann   annotator  disabled"},
		{"enable", "", []string{"user", "enable", "--email", "ann@example.com"}, 0, "enable done"},
		{"set-password", "brand-new-pass\n", []string{"user", "set-password", "--email", "ann@example.com", "--password-stdin"}, 0, "set-password done"},
		{"disable unknown", "", []string{"user", "disable", "--email", "nobody@example.com"}, 1, "no account with email nobody@example.com"},
		{"user bad subcommand", "", []string{"user", "remove"}, 2, `unknown subcommand "remove"`},
		{"config", "", []string{"config"}, 0, "CAPEVAL_ADDR=127.0.0.1:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := cli(t, tt.input, tt.args...)
			if code != tt.wantCode || !strings.Contains(out+errOut, tt.wantOut) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant substring %q", code, tt.wantCode, out, errOut, tt.wantOut)
			}
		})
	}
}

func TestBadConfigStopsStartup(t *testing.T) {
	tests := []struct{ env, value, want string }{
		{"CAPEVAL_ADDR", "nonsense", "CAPEVAL_ADDR=\"nonsense\": want host:port"},
		{"CAPEVAL_LOG_LEVEL", "loud", "CAPEVAL_LOG_LEVEL=\"loud\""},
		{"CAPEVAL_LOG_FORMAT", "xml", "CAPEVAL_LOG_FORMAT=\"xml\": want text or json"},
		{"CAPEVAL_DB", "mysql://x", "CAPEVAL_DB"},
		{"CAPEVAL_JWT_SECRET", "short", "at least 32"},
		{"CAPEVAL_JWT_SECRET_FILE", "/nonexistent/secret", "CAPEVAL_JWT_SECRET_FILE"},
		{"CAPEVAL_TOKEN_TTL", "forever", "CAPEVAL_TOKEN_TTL"},
		{"CAPEVAL_DEMO", "yes please", "CAPEVAL_DEMO"},
		{"CAPEVAL_DEVICE", "tpu", "CAPEVAL_DEVICE=\"tpu\""},
		{"CAPEVAL_ONNXRUNTIME_LIB", "/nonexistent/libonnxruntime.so", "CAPEVAL_ONNXRUNTIME_LIB"},
		{"CAPEVAL_MAX_BODY_BYTES", "12", "CAPEVAL_MAX_BODY_BYTES=12"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			dir := setEnv(t)
			t.Setenv(tt.env, tt.value)
			code, _, errOut := cli(t, "", "serve")
			if code != 1 || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, errOut, tt.want)
			}
			if entries, _ := filepathGlob(dir); len(entries) != 0 {
				t.Fatalf("a refused start-up wrote %v", entries)
			}
		})
	}
}

// TestServeDemoAndShutdown starts the real server with the demo on a free
// port, logs in as each demo account over HTTP, then stops it with a
// cancelled context (as SIGTERM does) and checks the shutdown is clean.
func TestServeDemoAndShutdown(t *testing.T) {
	setEnv(t)
	srv := startServe(t)
	base, out := srv.base, srv.out
	for _, a := range demo.Accounts {
		if !strings.Contains(out.String(), a.Email) || !strings.Contains(out.String(), a.Password) {
			t.Errorf("credentials of %s not printed:\n%s", a.Email, out.String())
		}
		body := fmt.Sprintf(`{"email":%q,"password":%q}`, a.Email, a.Password)
		resp, err := http.Post(base+"/api/v1/login", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			User struct{ Role string } `json:"user"`
		}
		json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if resp.StatusCode != 200 || got.User.Role != a.Role {
			t.Errorf("login %s: status %d role %q", a.Email, resp.StatusCode, got.User.Role)
		}
	}
	if code := srv.stop(t); code != 0 {
		t.Fatalf("serve exited %d after shutdown: %s", code, srv.errOut.String())
	}
	// A second start finds the demo loaded and leaves it as it is.
	code, out2, errOut2 := cli(t, "", "migrate")
	if code != 0 || !strings.Contains(out2, "up to date") {
		t.Fatalf("migrate after serve: %d %s %s", code, out2, errOut2)
	}
}

// served is a `capeval serve` running with the demo on a free port.
type served struct {
	base        string // http://host:port
	out, errOut *safeBuffer
	cancel      context.CancelFunc
	done        chan int
}

// startServe runs `capeval serve` with the demo in the test's data
// directory and waits until it is ready; the test's end stops it.
func startServe(t *testing.T) *served {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv("CAPEVAL_ADDR", addr)
	t.Setenv("CAPEVAL_DEMO", "true")
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{base: "http://" + addr, out: &safeBuffer{}, errOut: &safeBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() { s.done <- Run(ctx, []string{"serve"}, s.out, s.errOut) }()
	t.Cleanup(func() { s.stop(t) })
	for deadline := time.Now().Add(60 * time.Second); ; {
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready after 60s: %v\nstdout %s\nstderr %s", err, s.out.String(), s.errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop cancels the server's context, as SIGTERM does, and returns its exit
// code once it has shut down (-1 if it did not within 20 s, or if stopped
// already).
func (s *served) stop(t *testing.T) int {
	t.Helper()
	s.cancel()
	select {
	case code, ok := <-s.done:
		if !ok {
			return -1
		}
		close(s.done)
		return code
	case <-time.After(20 * time.Second):
		t.Error("serve did not shut down within 20s")
		return -1
	}
}

type safeBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}
func (b *safeBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }

func filepathGlob(dir string) ([]string, error) { return filepath.Glob(filepath.Join(dir, "*")) }
