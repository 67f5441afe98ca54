package cli

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"capeval/accounts"
	"capeval/annotation"
	"capeval/internal/loadtest"
	"capeval/models"
	"capeval/models/modelstest"
)

const loadtestSecret = "loadtest-secret-0123456789abcdefghijkl"

// serveProc is one `capeval serve` child process on a fixed address, so
// that it can be killed and started again where the annotators look.
type serveProc struct {
	t         *testing.T
	bin, addr string
	env       []string
	cmd       *exec.Cmd
	out       *bytes.Buffer
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func newServeProc(t *testing.T, bin, dsn, dataDir string) *serveProc {
	p := &serveProc{t: t, bin: bin, addr: freeAddr(t)}
	p.env = append(os.Environ(), "CAPEVAL_ADDR="+p.addr, "CAPEVAL_DB="+dsn, "CAPEVAL_DATA_DIR="+dataDir,
		"CAPEVAL_JWT_SECRET="+loadtestSecret, "CAPEVAL_LEASE_TTL=30s", "CAPEVAL_CLIP_MODEL=", "CAPEVAL_LOG_LEVEL=warn", "CAPEVAL_DEMO=false")
	t.Cleanup(func() {
		if p.cmd != nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})
	return p
}

// start starts the server and waits until it answers /healthz.
func (p *serveProc) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.bin, "serve")
	p.cmd.Env = p.env
	p.out = &bytes.Buffer{}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get("http://" + p.addr + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("capeval serve did not answer on %s in 60 s", p.addr)
}

// kill sends SIGKILL and waits for the process to end.
func (p *serveProc) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		p.t.Fatal(err)
	}
	_ = p.cmd.Wait()
	p.cmd = nil
}

// loadFixture is a seeded campaign and its annotators' tokens.
type loadFixture struct {
	store    *models.Store
	dataDir  string
	campaign *models.Campaign
	tokens   []string
	ids      []int64
}

func newLoadFixture(t *testing.T, dsn string, tasks, wanted, annotators int) *loadFixture {
	t.Helper()
	ctx := context.Background()
	f := &loadFixture{store: modelstest.OpenMigrated(t, dsn), dataDir: t.TempDir()}
	var err error
	if f.campaign, err = loadtest.Seed(ctx, f.store, annotation.NewImageStore(f.dataDir), "load", tasks, wanted); err != nil {
		t.Fatal(err)
	}
	// Tokens signed with the servers' secret: no argon2 for 100 logins.
	acc, err := accounts.New(f.store, modelstest.Logger(t), accounts.Config{Secret: loadtestSecret, TokenTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for i := range annotators {
		u := &models.User{Email: fmt.Sprintf("ann%d@example.com", i+1), Name: fmt.Sprintf("ann%d", i+1), Role: models.RoleAnnotator}
		if err := f.store.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		sess, err := acc.Issue(u)
		if err != nil {
			t.Fatal(err)
		}
		f.tokens, f.ids = append(f.tokens, sess.Token), append(f.ids, u.ID)
	}
	return f
}

// check runs the invariant check: complete, exactly the acknowledged
// ratings, no lease past the TTL.
func (f *loadFixture) check(t *testing.T, res *loadtest.Result) {
	t.Helper()
	rep, err := loadtest.Check(context.Background(), f.store, f.campaign.ID, res,
		loadtest.Expect{AnnotatorIDs: f.ids, LeaseTTL: 30 * time.Second, Complete: true, Exact: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		t.Error(p)
	}
	t.Logf("%d tasks (%d complete), %d ratings stored, %d acknowledged", rep.Tasks, rep.Complete, rep.Ratings, len(res.Acks))
}

// TestServeSurvivesKill9UnderLoad: 100 simulated annotators rate through a
// real `capeval serve` that is killed with SIGKILL at four seeded moments
// and started again; the annotators send every unanswered request again
// (the same rating with the same client id). Afterwards every
// acknowledged rating is stored exactly once, nothing else is, no task is
// over-filled, no lease outlives its TTL and the campaign is complete.
// runUnderFaults drives the fixture's annotators against base, with
// retries for a minute, until the campaign is done; each acknowledged
// count goes to acks (dropped when the fault-maker lags), which is closed
// when the run ends.
func (f *loadFixture) runUnderFaults(ctx context.Context, base string, seed uint64, acks chan<- int) (*loadtest.Result, error) {
	defer close(acks)
	return loadtest.Run(ctx, loadtest.Options{Bases: []string{base}, Campaign: f.campaign.ID,
		Tokens: f.tokens, Think: 5 * time.Millisecond, Seed: seed, RetryFor: time.Minute, IdleStop: 3 * time.Second,
		OnAck: func(n int) {
			select {
			case acks <- n:
			default:
			}
		}})
}

func TestServeSurvivesKill9UnderLoad(t *testing.T) {
	bin := buildCapeval(t)
	dsns := []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "load.db") }},
		{"postgres", func(t *testing.T) string { return modelstest.NewPostgresDatabase(t) }},
	}
	const kills, tasks, wanted, annotators = 4, 150, 3, 100
	for _, tt := range dsns {
		t.Run(tt.name, func(t *testing.T) {
			dsn := tt.dsn(t)
			f := newLoadFixture(t, dsn, tasks, wanted, annotators)
			p := newServeProc(t, bin, dsn, f.dataDir)
			p.start()
			// Kill after a seeded number of acknowledged ratings in each of
			// four windows spread over the run, plus a seeded delay.
			rng := rand.New(rand.NewPCG(7, 11))
			var at []int
			for i := range kills {
				at = append(at, i*tasks*wanted/(kills+1)+20+rng.IntN(tasks*wanted/(kills+1)-20))
			}
			acks := make(chan int, 1024)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			survived := 0
			ctlDone := make(chan struct{})
			go func() {
				defer close(ctlDone)
				for _, k := range at {
					for n := range acks {
						if n >= k {
							break
						}
					}
					if ctx.Err() != nil {
						return
					}
					time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond)
					p.kill()
					p.start()
					survived++
				}
				for range acks { // drain until the run ends
				}
			}()
			res, err := f.runUnderFaults(ctx, "http://"+p.addr, 3, acks)
			<-ctlDone
			if err != nil {
				t.Fatalf("run: %v\nserver output:\n%s", err, p.out)
			}
			if survived != kills {
				t.Errorf("the server was killed %d times, want %d", survived, kills)
			}
			t.Logf("%s: %d kills survived, %d ratings acknowledged, %d requests met the server down (%d with 503)",
				tt.name, survived, len(res.Acks), res.Unavailable, res.Status503)
			f.check(t, res)
		})
	}
}

// TestTwoReplicasOnePostgres: two `capeval serve` processes on one
// PostgreSQL database; every annotator sends its requests to both in turn.
// The queue's invariants hold across them.
func TestTwoReplicasOnePostgres(t *testing.T) {
	dsn := modelstest.NewPostgresDatabase(t)
	bin := buildCapeval(t)
	f := newLoadFixture(t, dsn, 150, 3, 100)
	a, b := newServeProc(t, bin, dsn, f.dataDir), newServeProc(t, bin, dsn, f.dataDir)
	a.start()
	b.start()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := loadtest.Run(ctx, loadtest.Options{Bases: []string{"http://" + a.addr, "http://" + b.addr},
		Campaign: f.campaign.ID, Tokens: f.tokens, Think: 5 * time.Millisecond, Seed: 5, IdleStop: 3 * time.Second})
	if err != nil {
		t.Fatalf("run: %v\nreplica a:\n%s\nreplica b:\n%s", err, a.out, b.out)
	}
	t.Logf("two replicas: %d ratings, %.0f ratings/s", len(res.Acks), res.Throughput())
	f.check(t, res)
}

// TestLoadtestRefusesRemoteURL: the load test never runs against an
// address off this machine.
func TestLoadtestRefusesRemoteURL(t *testing.T) {
	tests := []struct {
		url  string
		want string
	}{
		{"http://10.0.0.7:8080", "not a loopback address"},
		{"http://example.com", "not a loopback address"},
		{"ftp://127.0.0.1", "want http://HOST:PORT"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), []string{"loadtest", "--url", tt.url, "--seed-tasks", "5", "--admin", "a@b.c", "--password-stdin"},
				&env{stdin: strings.NewReader("pw\n"), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }})
			if code != 2 || !strings.Contains(errb.String(), tt.want) {
				t.Errorf("exit %d, stderr %q: want 2 and %q", code, errb.String(), tt.want)
			}
		})
	}
	for _, ok := range []string{"http://127.0.0.1:8080", "http://[::1]:9", "http://localhost:1"} {
		if _, err := loopbackURL(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}
