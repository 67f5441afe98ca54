package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"capeval/annotation"
	"capeval/internal/loadtest"
	"capeval/models"
)

// concurrencyRun sizes the simulation: 200 annotators rate a campaign of
// tasks × wanted ratings; think times are scaled down from seconds to
// milliseconds, the lease to a fraction of a second, so that abandoned
// leases expire within the run.
type concurrencyRun struct {
	annotators int
	tasks      int
	wanted     int
	ttl        time.Duration
	think      time.Duration // the longest think time
	deadline   time.Duration
}

// ack is a rating the server acknowledged (201, or 200 for a retry).
type ack struct {
	annotator int64
	task      int64
	clientID  string
	ratingID  int64
}

// The "Done when" test of issue 10: 200 simulated annotators over real HTTP
// against one server rate a campaign to completion with random think
// times, retries of the same client id, prefetches, abandoned leases, late
// ratings and skips. Afterwards no task has more ratings than it wants, no
// annotator rated a task twice, every acknowledged rating is in the
// database exactly once (and nothing else is), and every task is complete
// or set aside. SQLite always; PostgreSQL when CAPEVAL_TEST_POSTGRES_DSN is
// set (CI sets it).
func TestQueueConcurrentAnnotators(t *testing.T) {
	run := concurrencyRun{annotators: 200, tasks: 240, wanted: 3, ttl: 1500 * time.Millisecond,
		think: 4 * time.Millisecond, deadline: 50 * time.Second}
	if testing.Short() {
		run.annotators, run.tasks = 40, 60
	}
	forEachStore(t, func(t *testing.T, kind string) {
		app := newQueueApp(t, kind, annotation.QueueOptions{LeaseTTL: run.ttl, Now: time.Now})
		f := app.seedCampaign("crowd", models.ModeLikert, run.tasks-run.tasks/10, run.wanted, run.tasks/10)
		ts := httptest.NewServer(app.srv.Handler())
		t.Cleanup(ts.Close)
		client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: run.annotators + 8}}
		t.Cleanup(client.CloseIdleConnections)

		users := make([]*models.User, run.annotators)
		tokens := make([]string, run.annotators)
		for i := range users {
			users[i] = app.addUser(fmt.Sprintf("crowd%03d", i), models.RoleAnnotator)
			tokens[i] = app.tokenFor(users[i])
		}
		var (
			mu    sync.Mutex
			acks  []ack
			stats struct {
				next, rated, retried, late, lateRefused, liveRefused, skipped, abandoned, prefetched, empty atomic.Int64
			}
			done atomic.Bool
		)
		ctx, cancel := context.WithTimeout(context.Background(), run.deadline)
		defer cancel()
		// The monitor ends the run when every task is complete or set
		// aside.
		monitorDone := make(chan error, 1)
		go func() {
			for ctx.Err() == nil {
				tasks, err := app.store.CampaignTasks(ctx, f.campaign.ID, time.Now())
				if err != nil {
					monitorDone <- err
					return
				}
				left := 0
				for _, task := range tasks {
					if task.RatingsDone < task.RatingsWanted && task.SetAsideAt == nil {
						left++
					}
				}
				if left == 0 {
					done.Store(true)
					monitorDone <- nil
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
			monitorDone <- fmt.Errorf("the campaign was not complete after %v", run.deadline)
		}()

		errs := make(chan error, run.annotators)
		var wg sync.WaitGroup
		for i := range run.annotators {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(i), 42))
				sim := &annotatorSim{ctx: ctx, base: ts.URL, client: client, token: tokens[i], campaign: f.campaign.ID}
				think := func(d time.Duration) { time.Sleep(time.Duration(rng.Int64N(int64(d) + 1))) }
				n := 0
				for !done.Load() && ctx.Err() == nil {
					stats.next.Add(1)
					code, task, err := sim.next(0)
					leased := time.Now()
					if err != nil {
						errs <- err
						return
					}
					if code == http.StatusNoContent {
						// Nothing for me now: others hold the rest, or I did
						// all I can. Leases expire; ask again later.
						stats.empty.Add(1)
						time.Sleep(run.ttl / 4)
						continue
					}
					think(run.think)
					roll := rng.IntN(100)
					switch {
					case roll < 4: // walks away: the lease expires
						stats.abandoned.Add(1)
						time.Sleep(run.ttl + run.ttl/4)
						continue
					case roll < 7:
						stats.skipped.Add(1)
						reason := []string{"image_broken", "cant_judge", "the caption is not English"}[rng.IntN(3)]
						if code, body, err := sim.post(fmt.Sprintf("/api/v1/tasks/%d/skip", task), fmt.Sprintf(`{"reason":%q}`, reason)); err != nil || code != 204 {
							errs <- fmt.Errorf("skip of task %d: %d %s %v", task, code, body, err)
							return
						}
						continue
					case roll < 17: // prefetch the next screen first
						stats.prefetched.Add(1)
						if code, _, err := sim.next(task); err != nil || code != 200 && code != 204 {
							errs <- fmt.Errorf("prefetch after task %d: %d %v", task, code, err)
							return
						}
					}
					late := roll >= 17 && roll < 20
					if late {
						time.Sleep(run.ttl + run.ttl/4)
					}
					// A lease can also run out while requests wait for the
					// database: that rating is late too.
					late = late || time.Since(leased) >= run.ttl
					n++
					clientID := fmt.Sprintf("a%d-r%d", i, n)
					body := likertBody(clientID, 1+rng.IntN(5))
					tries := 1
					if rng.IntN(10) == 0 {
						tries = 2 + rng.IntN(2) // the answer was "lost": send again
					}
					var first int64
					for try := range tries {
						code, r, refusal, err := sim.rate(task, body)
						if err != nil {
							errs <- err
							return
						}
						switch {
						case code == http.StatusConflict && try == 0 && strings.Contains(refusal, "has all the ratings it wants"):
							// Late, or beaten by someone else's late rating
							// (or by a lease that expired while the request
							// waited): the task was full.
							if late {
								stats.lateRefused.Add(1)
							} else {
								stats.liveRefused.Add(1)
							}
						case code == http.StatusCreated && try == 0, code == http.StatusOK && try > 0:
							if first != 0 && r.ID != first {
								errs <- fmt.Errorf("retry of %s returned rating %d, the first was %d", clientID, r.ID, first)
								return
							}
							if first == 0 {
								first = r.ID
								mu.Lock()
								acks = append(acks, ack{annotator: users[i].ID, task: task, clientID: clientID, ratingID: r.ID})
								mu.Unlock()
							}
						default:
							errs <- fmt.Errorf("rating %s of task %d (try %d, late %v): status %d %s", clientID, task, try, late, code, refusal)
							return
						}
						if code == http.StatusConflict {
							break
						}
					}
					if first != 0 {
						stats.rated.Add(1)
						stats.retried.Add(int64(tries - 1))
						if late {
							stats.late.Add(1)
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if err := <-monitorDone; err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d nexts (%d empty), %d ratings (%d retries, %d late), %d refused as full (%d late), %d skips, %d abandoned, %d prefetches",
			kind, stats.next.Load(), stats.empty.Load(), stats.rated.Load(), stats.retried.Load(), stats.late.Load(),
			stats.lateRefused.Load()+stats.liveRefused.Load(), stats.lateRefused.Load(), stats.skipped.Load(), stats.abandoned.Load(), stats.prefetched.Load())

		// What the database holds.
		bg := context.Background()
		tasks, err := app.store.CampaignTasks(bg, f.campaign.ID, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		ratings, err := app.store.CampaignRatings(bg, f.campaign.ID)
		if err != nil {
			t.Fatal(err)
		}
		perTask := map[int64]int{}
		pairs := map[[2]int64]int{}
		byID := map[int64]models.Rating{}
		for _, r := range ratings {
			perTask[r.TaskID]++
			pairs[[2]int64{r.TaskID, r.AnnotatorID}]++
			byID[r.ID] = r
		}
		setAside := 0
		for _, task := range tasks {
			switch {
			case perTask[task.ID] > task.RatingsWanted:
				t.Errorf("task %d has %d ratings, wants %d", task.ID, perTask[task.ID], task.RatingsWanted)
			case perTask[task.ID] != task.RatingsDone:
				t.Errorf("task %d has %d ratings, ratings_done says %d", task.ID, perTask[task.ID], task.RatingsDone)
			case task.SetAsideAt != nil:
				setAside++
			case task.RatingsDone != task.RatingsWanted:
				t.Errorf("task %d is not complete: %d of %d ratings", task.ID, task.RatingsDone, task.RatingsWanted)
			}
		}
		for p, n := range pairs {
			if n > 1 {
				t.Errorf("annotator %d rated task %d %d times", p[1], p[0], n)
			}
		}
		acked := map[int64]bool{}
		for _, a := range acks {
			r, ok := byID[a.ratingID]
			if !ok {
				t.Errorf("acknowledged rating %d (%s) is not in the database", a.ratingID, a.clientID)
				continue
			}
			if r.TaskID != a.task || r.AnnotatorID != a.annotator || r.ClientID != a.clientID {
				t.Errorf("acknowledged rating %d is %+v, want task %d by %d with %s", a.ratingID, r, a.task, a.annotator, a.clientID)
			}
			if acked[a.ratingID] {
				t.Errorf("rating %d acknowledged twice as a new rating", a.ratingID)
			}
			acked[a.ratingID] = true
		}
		if len(acked) != len(ratings) {
			t.Errorf("%d ratings in the database, %d acknowledged", len(ratings), len(acked))
		}
		if want := run.tasks * run.wanted; len(ratings) > want {
			t.Errorf("%d ratings for %d wanted", len(ratings), want)
		}
		t.Logf("%s: %d ratings stored, %d tasks set aside", kind, len(ratings), setAside)
	})
}

// annotatorSim is one simulated annotator's HTTP client: the load test's
// (internal/loadtest), which `capeval loadtest` and the kill -9 and
// replica tests drive too, with the answers this test reads.
type annotatorSim struct {
	ctx      context.Context
	base     string
	client   *http.Client
	token    string
	campaign int64
}

func (s *annotatorSim) api() *loadtest.Annotator {
	return &loadtest.Annotator{Ctx: s.ctx, Base: s.base, Client: s.client, Token: s.token, Campaign: s.campaign}
}

func (s *annotatorSim) post(path, body string) (int, string, error) { return s.api().Post(path, body) }

// next asks for a task (after one, for a prefetch) and returns its ID.
func (s *annotatorSim) next(after int64) (int, int64, error) {
	code, task, err := s.api().Next(after)
	if err != nil || task == nil {
		return code, 0, err
	}
	return code, task.ID, nil
}

// rate posts a rating; a 409 is an answer (its message returned), not an
// error.
func (s *annotatorSim) rate(task int64, body string) (int, *annotation.RatingView, string, error) {
	code, id, refusal, err := s.api().Rate(task, body)
	if err != nil || code == http.StatusConflict {
		return code, nil, refusal, err
	}
	return code, &annotation.RatingView{ID: id}, "", nil
}
