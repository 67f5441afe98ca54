package loadtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options sizes a run of simulated annotators.
type Options struct {
	// Bases are the servers' base URLs ("http://127.0.0.1:8080"); with
	// several (replicas behind one database), each annotator sends its
	// requests to them in turn.
	Bases    []string
	Campaign int64
	// Tokens are the annotators' login tokens, one annotator each.
	Tokens []string
	// Duration bounds the run (0: none); MaxRatings bounds the new ratings
	// acknowledged (0: none). The run also ends when every annotator has
	// found nothing to rate for IdleStop (default 2 s).
	Duration   time.Duration
	MaxRatings int
	IdleStop   time.Duration
	// Think is the longest pause before a rating (uniform from 0).
	Think time.Duration
	// Seed makes each annotator's choices reproducible.
	Seed uint64
	// RetryFor is how long a request that found the server unavailable
	// (connection refused, 5xx) is sent again, the same rating with the
	// same client id, before the run fails; 0 fails at once. The fault
	// tests set it: the server is killed and restarted under the load.
	RetryFor time.Duration
	// OnAck, when set, is called after every new acknowledged rating with
	// the count so far (the fault tests kill the server from it).
	OnAck func(n int)
	// Client is the HTTP client (default: one sized for the annotators,
	// 30 s timeout).
	Client *http.Client
}

// Ack is a rating that the server acknowledged as new (201, or 200 for a
// retry of a request whose first answer was lost).
type Ack struct {
	Annotator int // index into Options.Tokens
	Task      int64
	ClientID  string
	RatingID  int64
}

// Result is what a run did and how fast.
type Result struct {
	Acks []Ack
	// Next and Submit are the latencies of the answered requests.
	Next, Submit Latencies
	Elapsed      time.Duration
	// Empty counts 204s of next; Refused, 409s of ratings (the task was
	// full or rated already); Resent, ratings sent twice on purpose with
	// the same client id; Unavailable, requests that found the server
	// down and were sent again, and Status503 those answered 503.
	Empty, Refused, Resent, Unavailable, Status503 int64
}

// Throughput is the new ratings acknowledged per second.
func (r *Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(len(r.Acks)) / r.Elapsed.Seconds()
}

// Latencies are request durations.
type Latencies []time.Duration

// Quantile returns the q-quantile (nearest rank) of the latencies, 0 for
// none.
func (l Latencies) Quantile(q float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// Max returns the longest latency.
func (l Latencies) Max() time.Duration {
	if len(l) == 0 {
		return 0
	}
	return slices.Max(l)
}

// Run drives one simulated annotator per token until the campaign has
// nothing left for any of them, the duration or the rating count is
// reached, or ctx ends. Each asks for the next task, thinks, rates it
// (every rubric criterion, or a pairwise choice), and now and then sends
// the same rating again, which must return the same rating. Any answer
// that breaks the API's promises ends the run with an error.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if len(opts.Bases) == 0 || len(opts.Tokens) == 0 || opts.Campaign <= 0 {
		return nil, errors.New("loadtest: run: need base URLs, tokens and a campaign")
	}
	if opts.IdleStop <= 0 {
		opts.IdleStop = 2 * time.Second
	}
	client := opts.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: len(opts.Tokens) + 8, MaxIdleConns: 2*len(opts.Tokens) + 16}}
		defer client.CloseIdleConnections()
	}
	if opts.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Duration)
		defer cancel()
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()

	var (
		mu     sync.Mutex
		res    = &Result{}
		failed error
		acked  atomic.Int64
	)
	fail := func(err error) {
		mu.Lock()
		if failed == nil {
			failed = err
		}
		mu.Unlock()
		stop()
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i, token := range opts.Tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sim := &sim{i: i, opts: &opts, ctx: ctx, rng: rand.New(rand.NewPCG(opts.Seed, uint64(i))),
				a: Annotator{Ctx: ctx, Client: client, Token: token, Campaign: opts.Campaign}}
			err := sim.run(func(a Ack) bool {
				mu.Lock()
				res.Acks = append(res.Acks, a)
				mu.Unlock()
				n := int(acked.Add(1))
				if opts.OnAck != nil {
					opts.OnAck(n)
				}
				if opts.MaxRatings > 0 && n >= opts.MaxRatings {
					stop()
					return false
				}
				return true
			})
			mu.Lock()
			res.Next = append(res.Next, sim.next...)
			res.Submit = append(res.Submit, sim.submit...)
			res.Empty += sim.empty
			res.Refused += sim.refused
			res.Resent += sim.resent
			res.Unavailable += sim.unavailable
			res.Status503 += sim.status503
			mu.Unlock()
			if err != nil && ctx.Err() == nil {
				fail(fmt.Errorf("annotator %d: %w", i, err))
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	return res, failed
}

// sim is one simulated annotator's state during a run.
type sim struct {
	i    int
	opts *Options
	ctx  context.Context
	rng  *rand.Rand
	a    Annotator
	turn int
	n    int // ratings made, for client ids

	next, submit                                   Latencies
	empty, refused, resent, unavailable, status503 int64
}

// base returns the server for the next request: the replicas in turn.
func (s *sim) base() string {
	b := s.opts.Bases[s.turn%len(s.opts.Bases)]
	s.turn++
	return b
}

// retry decides, after an unavailable answer to a request first sent at
// since, whether to send it again (after a short pause).
func (s *sim) retry(err error, code int, since time.Time) bool {
	if !errors.Is(err, ErrUnavailable) || s.ctx.Err() != nil {
		return false
	}
	s.unavailable++
	if code == http.StatusServiceUnavailable {
		s.status503++
	}
	if time.Since(since) > s.opts.RetryFor {
		return false
	}
	sleep(s.ctx, time.Duration(20+s.rng.IntN(60))*time.Millisecond)
	return s.ctx.Err() == nil
}

func (s *sim) run(ack func(Ack) bool) error {
	idleSince := time.Time{}
	for s.ctx.Err() == nil {
		task, err := s.nextTask()
		if err != nil {
			return err
		}
		if task == nil {
			if idleSince.IsZero() {
				idleSince = time.Now()
			}
			if time.Since(idleSince) >= s.opts.IdleStop {
				return nil
			}
			// Others hold the rest; their leases end in a rating soon.
			sleep(s.ctx, time.Duration(50+s.rng.IntN(100))*time.Millisecond)
			continue
		}
		idleSince = time.Time{}
		if s.opts.Think > 0 {
			sleep(s.ctx, time.Duration(s.rng.Int64N(int64(s.opts.Think)+1)))
		}
		s.n++
		clientID := fmt.Sprintf("lt%d-%d-%d", s.opts.Seed, s.i, s.n)
		var body string
		if task.Kind == "pair" {
			body = PairBody(clientID, []string{"A", "B", "tie", "both_bad"}[s.rng.IntN(4)])
		} else {
			body = LikertBody(clientID, task, 1+s.rng.IntN(5))
		}
		id, err := s.rate(task.ID, body, clientID)
		if err != nil {
			return err
		}
		if id == 0 {
			continue
		}
		if s.rng.IntN(20) == 0 { // the answer was "lost": the page sends it again
			s.resent++
			again, err := s.rate(task.ID, body, clientID)
			if err != nil {
				return err
			}
			if again != id {
				return fmt.Errorf("the retry of %s returned rating %d, the first was %d", clientID, again, id)
			}
		}
		if !ack(Ack{Annotator: s.i, Task: task.ID, ClientID: clientID, RatingID: id}) {
			return nil
		}
	}
	return nil
}

// nextTask asks for a task until an answer comes: the task, or nil for a
// 204.
func (s *sim) nextTask() (*Task, error) {
	since := time.Now()
	for {
		s.a.Base = s.base()
		t0 := time.Now()
		code, task, err := s.a.Next(0)
		if err != nil {
			if s.retry(err, code, since) {
				continue
			}
			return nil, err
		}
		s.next = append(s.next, time.Since(t0))
		if code == http.StatusNoContent {
			s.empty++
			return nil, nil
		}
		return task, nil
	}
}

// rate sends the rating until an answer comes and returns its id, or 0
// when the task was full (a 409 naming that). A rating whose first
// answer was lost may come back 200: it is the same rating, committed
// before the server went away.
func (s *sim) rate(task int64, body, clientID string) (int64, error) {
	since := time.Now()
	for {
		s.a.Base = s.base()
		t0 := time.Now()
		code, id, refusal, err := s.a.Rate(task, body)
		if err != nil {
			if s.retry(err, code, since) {
				continue
			}
			return 0, err
		}
		s.submit = append(s.submit, time.Since(t0))
		switch code {
		case http.StatusCreated, http.StatusOK:
			return id, nil
		case http.StatusConflict:
			if strings.Contains(refusal, "has all the ratings it wants") {
				s.refused++
				return 0, nil
			}
			return 0, fmt.Errorf("rating %s of task %d refused: %s", clientID, task, refusal)
		}
		return 0, fmt.Errorf("rating %s of task %d: status %d", clientID, task, code)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
