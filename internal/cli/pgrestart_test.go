package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"capeval/models/modelstest"
)

// probe is one answer of the server while its database was down.
type probe struct {
	path       string
	status     int
	code       string // the JSON error code
	retryAfter string
	took       time.Duration
	err        error
}

// probeOnce sends one GET, with the token unless it is "", and reads the
// answer.
func probeOnce(client *http.Client, base, path, token string) probe {
	p := probe{path: path}
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		p.err = err
		return p
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	res, err := client.Do(req)
	if err != nil {
		p.took, p.err = time.Since(start), err
		return p
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	p.took, p.status, p.retryAfter, p.err = time.Since(start), res.StatusCode, res.Header.Get("Retry-After"), err
	var body struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &body) == nil {
		p.code = body.Error.Code
	}
	return p
}

// TestServeSurvivesPostgresRestart: 100 simulated annotators rate through
// a real `capeval serve` on a PostgreSQL cluster of the test's own that is
// restarted with pg_ctl restart -m immediate mid-load, and later stopped
// with -m immediate for a few seconds and started again. While it is
// down, requests are answered 503 database_unavailable with Retry-After,
// at once (not after the client's timeout); once it is back the same
// server process serves again. Afterwards every acknowledged rating is
// stored exactly once, no task is over-filled and no lease outlives its
// TTL (the kill -9 test's checks).
func TestServeSurvivesPostgresRestart(t *testing.T) {
	cluster := modelstest.NewFaultCluster(t)
	bin := buildCapeval(t)
	dsn := cluster.NewDatabase(t)
	const tasks, wanted, annotators = 150, 3, 100
	// The bound on an answer during the outage: far below the client's
	// 30 s timeout, and below the 5 s connect timeout, so that a connect
	// left to time out instead of being refused fails too; loose enough
	// for a race build on a busy 2-core machine (the slowest seen: 0.3 s).
	const answerBound = 4 * time.Second
	const outage = 3 * time.Second
	f := newLoadFixture(t, dsn, tasks, wanted, annotators)
	p := newServeProc(t, bin, dsn, f.dataDir)
	p.start()
	pid := p.cmd.Process.Pid
	base := "http://" + p.addr

	acks := make(chan int, 1024)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var (
		mu                                 sync.Mutex
		ctlErrs                            []error
		probes                             []probe
		restartTook, stopTook, firstOutage time.Duration
		recovery                           time.Duration
		restartAt, stopAt                  time.Time
		restarted, stopped                 bool
	)
	fail := func(err error) { mu.Lock(); ctlErrs = append(ctlErrs, err); mu.Unlock() }
	waitAcks := func(n int) bool {
		for k := range acks {
			if k >= n {
				return ctx.Err() == nil
			}
		}
		return false
	}
	probeClient := &http.Client{Timeout: 30 * time.Second}
	ctlDone := make(chan struct{})
	go func() {
		defer close(ctlDone)
		defer func() {
			for range acks { // drain until the run ends
			}
		}()
		if !waitAcks(tasks * wanted / 4) {
			return
		}
		restartAt = time.Now()
		d, err := cluster.Ctl("restart", "-m", "immediate", "-w")
		if err != nil {
			fail(err)
			return
		}
		restartTook, restarted = d, true
		if !waitAcks(tasks * wanted / 2) {
			return
		}
		stopAt = time.Now()
		if stopTook, err = cluster.Ctl("stop", "-m", "immediate", "-w"); err != nil {
			fail(err)
			return
		}
		stopped = true
		down := time.Now()
		for time.Since(down) < outage {
			// An annotator's read, and a load balancer's readiness probe.
			for _, q := range [][2]string{{"/api/v1/annotator/campaigns", f.tokens[0]}, {"/readyz", ""}} {
				pr := probeOnce(probeClient, base, q[0], q[1])
				mu.Lock()
				if firstOutage == 0 && pr.status == http.StatusServiceUnavailable {
					firstOutage = time.Since(down)
				}
				probes = append(probes, pr)
				mu.Unlock()
			}
			time.Sleep(50 * time.Millisecond)
		}
		if _, err := cluster.Ctl("start", "-w"); err != nil {
			fail(err)
			return
		}
		up := time.Now()
		for time.Since(up) < time.Minute {
			a := probeOnce(probeClient, base, "/api/v1/annotator/campaigns", f.tokens[0])
			r := probeOnce(probeClient, base, "/readyz", "")
			if a.status == http.StatusOK && r.status == http.StatusOK {
				recovery = time.Since(up)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		fail(fmt.Errorf("the server did not serve again within a minute of the database's start"))
	}()
	res, err := f.runUnderFaults(ctx, base, 13, acks)
	<-ctlDone
	if err != nil {
		p.kill() // before reading its output
		t.Fatalf("run: %v\nserver output:\n%s", err, p.out)
	}
	for _, err := range ctlErrs {
		t.Error(err)
	}
	if !restarted || !stopped {
		t.Fatalf("the run ended before the faults (restarted %v, stopped %v) after %d ratings", restarted, stopped, len(res.Acks))
	}
	// Signal 0 checks that the process is still there.
	survived := p.cmd != nil && p.cmd.Process.Pid == pid && p.cmd.Process.Signal(syscall.Signal(0)) == nil
	// Its output is read below: end the process first, so that nothing
	// writes to the buffer any more.
	p.kill()
	if !survived {
		t.Errorf("the server process did not survive the outage:\n%s", p.out)
	}

	// Every answer during the outage: a prompt 503 that says why and when
	// to come back.
	var slowest time.Duration
	for _, pr := range probes {
		slowest = max(slowest, pr.took)
		switch {
		case pr.err != nil:
			t.Errorf("GET %s with the database down: %v after %v", pr.path, pr.err, pr.took)
		case pr.status != http.StatusServiceUnavailable || pr.code != "database_unavailable" || pr.retryAfter == "":
			t.Errorf("GET %s with the database down: %d %q, Retry-After %q; want 503 database_unavailable with Retry-After",
				pr.path, pr.status, pr.code, pr.retryAfter)
		case pr.took > answerBound:
			t.Errorf("GET %s with the database down took %v, want under %v", pr.path, pr.took, answerBound)
		}
	}
	if len(probes) == 0 {
		t.Error("no request was sent during the outage")
	}
	// The annotators' requests that met the faults were answered 503 (and
	// sent again), never 500 nor a broken connection.
	if res.Status503 == 0 || res.Unavailable != res.Status503 {
		var failed []string
		for _, line := range strings.Split(p.out.String(), "\n") {
			if strings.Contains(line, "request failed") && len(failed) < 20 {
				failed = append(failed, line)
			}
		}
		t.Errorf("%d requests of the annotators met the server unavailable, %d of them with 503: want some, all 503; the server's failures:\n%s",
			res.Unavailable, res.Status503, strings.Join(failed, "\n"))
	}
	// The restart broke the server's connections under load: requests
	// between it and the stop met the database away.
	if n := unavailableLogged(p.out.String(), restartAt, stopAt); n == 0 {
		t.Errorf("no request met the database away during the restart (log lines between %v and %v)", restartAt, stopAt)
	} else {
		t.Logf("%d requests answered 503 during the restart", n)
	}
	t.Logf("restart -m immediate took %v; stop -m immediate %v, outage %v: first 503 after %v, %d probes, slowest %v; serving again %v after the start",
		restartTook.Round(time.Millisecond), stopTook.Round(time.Millisecond), outage, firstOutage.Round(time.Millisecond),
		len(probes), slowest.Round(time.Millisecond), recovery.Round(time.Millisecond))
	t.Logf("%d ratings acknowledged, %d annotator requests answered 503 and sent again; next p99 %v, submit p99 %v, max %v",
		len(res.Acks), res.Status503, res.Next.Quantile(0.99), res.Submit.Quantile(0.99), res.Submit.Max())

	// The fixture's own store lost its pooled connections in the restart:
	// each dead one fails once and is dropped.
	for i := 0; ; i++ {
		err := f.store.Ping(context.Background())
		if err == nil {
			break
		}
		if i == 20 {
			t.Fatalf("the checking store does not reconnect: %v", err)
		}
	}
	f.check(t, res)
}

// unavailableLogged counts the server's "database unavailable" log lines
// stamped from from to until.
func unavailableLogged(log string, from, until time.Time) int {
	n := 0
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, `msg="database unavailable"`) {
			continue
		}
		stamp, _, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
		if at, err := time.Parse(time.RFC3339Nano, stamp); err == nil && !at.Before(from) && at.Before(until) {
			n++
		}
	}
	return n
}
