package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"capeval/annotation"
	"capeval/internal/loadtest"
	"capeval/models"
)

var loadtestCommand = &command{
	name:    "loadtest",
	summary: "drive N simulated annotators against a server on a loopback address and report latencies and the queue's invariants",
	usage:   "--admin EMAIL --password-stdin (--campaign ID | --seed-tasks N) [--annotators N] [--duration D] [flags]",
	help: "Drive simulated annotators over HTTP against a running `capeval serve` at --url, which must be a\n" +
		"loopback address (a load test is never pointed at someone else's server). The admin signs in with\n" +
		"the password read from standard input and creates the annotators lt-RUN-NNN@loadtest.invalid with\n" +
		"a random password; each signs in and rates until the campaign has nothing left for anyone, --duration\n" +
		"passes or --max-ratings ratings are acknowledged. The command reads the server's database from the\n" +
		"same CAPEVAL_DB / CAPEVAL_DATA_DIR as serve: --seed-tasks writes a synthetic collecting campaign\n" +
		"into it first, and afterwards the queue's invariants are checked there (no task over-filled, no\n" +
		"annotator twice on a task, every acknowledged rating stored once, no lease past its TTL).\n" +
		"Prints throughput and p50/p95/p99 of next-task and submit; exits 1 when an invariant is broken.",
	flags: func(fs *flag.FlagSet, e *env) action {
		o := loadtestFlags{}
		fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "the server's `URL` (loopback only)")
		fs.IntVar(&o.annotators, "annotators", 100, "simulated annotators (1 to 5000)")
		fs.DurationVar(&o.duration, "duration", 2*time.Minute, "longest run")
		fs.IntVar(&o.maxRatings, "max-ratings", 0, "stop after this many acknowledged ratings (0: none)")
		fs.Int64Var(&o.campaign, "campaign", 0, "the collecting campaign to rate, by `ID`")
		fs.IntVar(&o.seedTasks, "seed-tasks", 0, "create a synthetic campaign of `N` tasks to rate instead")
		fs.IntVar(&o.wanted, "wanted", 3, "ratings wanted per seeded task")
		fs.DurationVar(&o.think, "think", 0, "longest think time before a rating (uniform from 0)")
		fs.StringVar(&o.admin, "admin", "", "an admin's `EMAIL`, to create the annotators")
		fs.BoolVar(&o.passwordStdin, "password-stdin", false, "read the admin's password from standard input")
		fs.Uint64Var(&o.seed, "seed", 1, "seed of the annotators' choices")
		return func(ctx context.Context, args []string) error {
			if err := wantArgs(args, 0, "loadtest", ""); err != nil {
				return err
			}
			return runLoadtest(ctx, e, o)
		}
	},
}

type loadtestFlags struct {
	url                            string
	annotators, maxRatings, wanted int
	seedTasks                      int
	duration, think                time.Duration
	campaign                       int64
	admin                          string
	passwordStdin                  bool
	seed                           uint64
}

// loopbackURL checks that u is http(s) on a loopback address.
func loopbackURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", usagef("--url %q: want http://HOST:PORT", raw)
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", usagef("--url %s: %s is not a loopback address; the load test only runs against a server on this machine (127.0.0.1, ::1 or localhost)", raw, host)
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host, "/"), nil
}

func runLoadtest(ctx context.Context, e *env, o loadtestFlags) error {
	base, err := loopbackURL(o.url)
	if err != nil {
		return err
	}
	switch {
	case o.annotators < 1 || o.annotators > 5000:
		return usagef("--annotators %d: want 1 to 5000", o.annotators)
	case (o.campaign > 0) == (o.seedTasks > 0):
		return usagef("give one of --campaign ID and --seed-tasks N")
	case o.admin == "" || !o.passwordStdin:
		return usagef("--admin EMAIL and --password-stdin are needed to create the annotators")
	case o.duration <= 0:
		return usagef("--duration %s: want a positive duration", o.duration)
	}
	pw, err := readPassword(e.stdin)
	if err != nil {
		return err
	}
	cfg, err := e.loadConfig()
	if err != nil {
		return err
	}
	store, err := models.Open(ctx, cfg.DB, cfg.DataDir, cfg.NewLogger(e.stderr))
	if err != nil {
		return err
	}
	defer store.Close()
	st, err := store.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	if len(st.Pending) > 0 {
		return fmt.Errorf("the database of CAPEVAL_DB/CAPEVAL_DATA_DIR has pending migrations: point them at the running server's database")
	}
	var run [4]byte
	_, _ = rand.Read(run[:])
	runID := hex.EncodeToString(run[:])
	campaign := o.campaign
	if o.seedTasks > 0 {
		c, err := loadtest.Seed(ctx, store, annotation.NewImageStore(cfg.DataDir), "loadtest-"+runID, o.seedTasks, o.wanted)
		if err != nil {
			return err
		}
		campaign = c.ID
		fmt.Fprintf(e.stdout, "seeded campaign %d (%s): %d tasks × %d ratings\n", c.ID, c.Name, o.seedTasks, o.wanted)
	}
	api := &apiClient{base: base, http: &http.Client{Timeout: 60 * time.Second}}
	adminToken, err := api.login(ctx, o.admin, pw)
	if err != nil {
		return fmt.Errorf("admin login: %w", err)
	}
	_, _ = rand.Read(run[:])
	annPass := hex.EncodeToString(run[:]) + "-" + runID + "-loadtest"
	tokens := make([]string, o.annotators)
	ids := make([]int64, o.annotators)
	start := time.Now()
	for i := range tokens {
		email := fmt.Sprintf("lt-%s-%04d@loadtest.invalid", runID, i+1)
		body := map[string]string{"email": email, "name": fmt.Sprintf("load test %d", i+1), "role": "annotator", "password": annPass}
		var u struct {
			ID int64 `json:"id"`
		}
		if err := api.call(ctx, "POST", "/api/v1/users", adminToken, body, http.StatusCreated, &u); err != nil {
			return fmt.Errorf("create annotator %s: %w", email, err)
		}
		if ids[i] = u.ID; u.ID == 0 {
			return fmt.Errorf("create annotator %s: the answer has no id", email)
		}
		if tokens[i], err = api.login(ctx, email, annPass); err != nil {
			return fmt.Errorf("annotator %s: %w", email, err)
		}
	}
	fmt.Fprintf(e.stdout, "%d annotators created and signed in (%s)\n", o.annotators, time.Since(start).Round(time.Millisecond))
	res, runErr := loadtest.Run(ctx, loadtest.Options{Bases: []string{base}, Campaign: campaign, Tokens: tokens,
		Duration: o.duration, MaxRatings: o.maxRatings, Think: o.think, Seed: o.seed})
	if res != nil {
		printLoad(e.stdout, o.annotators, res)
	}
	if runErr != nil {
		return runErr
	}
	rep, err := loadtest.Check(ctx, store, campaign, res, loadtest.Expect{AnnotatorIDs: ids, LeaseTTL: cfg.LeaseTTL})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "invariants: %d tasks (%d complete, %d set aside), %d ratings stored\n", rep.Tasks, rep.Complete, rep.SetAside, rep.Ratings)
	if len(rep.Problems) > 0 {
		for _, p := range rep.Problems {
			fmt.Fprintln(e.stdout, "  broken:", p)
		}
		return fmt.Errorf("%d queue invariants broken", len(rep.Problems))
	}
	fmt.Fprintln(e.stdout, "invariants hold")
	return nil
}

func printLoad(w io.Writer, n int, res *loadtest.Result) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintf(w, "%d annotators, %s: %d ratings, %.0f ratings/s (%d resent, %d refused as full, %d empty nexts)\n",
		n, res.Elapsed.Round(time.Millisecond), len(res.Acks), res.Throughput(), res.Resent, res.Refused, res.Empty)
	for _, l := range []struct {
		name string
		l    loadtest.Latencies
	}{{"next", res.Next}, {"submit", res.Submit}} {
		fmt.Fprintf(w, "  %-6s %7d requests  p50 %s  p95 %s  p99 %s  max %s\n", l.name, len(l.l),
			ms(l.l.Quantile(0.50)), ms(l.l.Quantile(0.95)), ms(l.l.Quantile(0.99)), ms(l.l.Max()))
	}
}

// apiClient is the admin side of the load test: JSON calls with a token.
type apiClient struct {
	base string
	http *http.Client
}

// call sends body as JSON and decodes the answer into out; a busy server
// (503, 429: argon2's bounded pool, the login ceiling) is asked again.
func (a *apiClient) call(ctx context.Context, method, path, token string, body any, want int, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	for try := 0; ; try++ {
		req, err := http.NewRequestWithContext(ctx, method, a.base+path, bytes.NewReader(b))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := a.http.Do(req)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		rb, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		if (res.StatusCode == http.StatusServiceUnavailable || res.StatusCode == http.StatusTooManyRequests) && try < 50 {
			time.Sleep(time.Second)
			continue
		}
		if res.StatusCode != want {
			return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, bytes.TrimSpace(rb))
		}
		return json.Unmarshal(rb, out)
	}
}

func (a *apiClient) login(ctx context.Context, email, password string) (string, error) {
	var r struct {
		Token string `json:"token"`
	}
	if err := a.call(ctx, "POST", "/api/v1/login", "", map[string]string{"email": email, "password": password}, http.StatusOK, &r); err != nil {
		return "", err
	}
	if r.Token == "" {
		return "", fmt.Errorf("login of %s: no token in the answer", email)
	}
	return r.Token, nil
}
