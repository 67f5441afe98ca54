package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"capeval/accounts"
	"capeval/annotation"
	"capeval/models"
	"capeval/models/modelstest"
)

// BenchmarkQueueNextAndRate is the rating path as annotators live it: 200
// concurrent annotators, each over real HTTP asking for its next task and
// submitting a Likert rating of it, against one server on SQLite (every
// commit synced to disk). One op is one next plus one submit; p50-ms and
// p99-ms are the latency of that pair, ratings/s the throughput of the
// whole run. Goals (issue 10): p99 under 50 ms, over 1,000 ratings/s.
//
//   - saturated: nobody thinks; every annotator sends its next request as
//     soon as the last is answered. This measures the capacity; the latency
//     is then mostly waiting in line (200 in flight at all times).
//   - think=150ms: each annotator thinks 75–225 ms between ratings (a
//     person takes seconds; these are 200 very fast ones), which offers
//     about 1,300 ratings/s: the latency a person sees at that load.
func BenchmarkQueueNextAndRate(b *testing.B) {
	for _, bc := range []struct {
		name  string
		think time.Duration // the mean; each pause is drawn in [think/2, 3·think/2]
	}{{"saturated", 0}, {"think=150ms", 150 * time.Millisecond}} {
		b.Run(bc.name, func(b *testing.B) { benchNextAndRate(b, bc.think) })
	}
}

func benchNextAndRate(b *testing.B, think time.Duration) {
	const annotators = 200
	const wanted = 3
	ctx := context.Background()
	store := modelstest.NewStore(b)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := testConfig(b, nil)
	cfg.JWTSecret = strings.Repeat("k", 32)
	acc, err := accounts.New(store, log, cfg.AccountsConfig())
	if err != nil {
		b.Fatal(err)
	}
	queue := annotation.NewQueue(store, annotation.NewImageStore(cfg.DataDir), log, annotation.QueueOptions{})
	ts := httptest.NewServer(New(cfg, store, acc, Services{Queue: queue}, log).Handler())
	b.Cleanup(ts.Close)

	camp := &models.Campaign{Name: "bench", Mode: models.ModeLikert, Status: models.StatusCollecting}
	if err := store.CreateCampaign(ctx, camp); err != nil {
		b.Fatal(err)
	}
	imgs := []models.Image{{CampaignID: camp.ID, ExternalID: "img", SHA256: fmt.Sprintf("%064x", 7)}}
	if err := store.InsertImages(ctx, imgs); err != nil {
		b.Fatal(err)
	}
	k := models.Captioner{CampaignID: camp.ID, Name: "m"}
	if err := store.CreateCaptioner(ctx, &k); err != nil {
		b.Fatal(err)
	}
	caps := []models.Caption{{CaptionerID: k.ID, ImageID: imgs[0].ID, Text: "a dog on a sofa"}}
	if err := store.InsertCaptions(ctx, caps); err != nil {
		b.Fatal(err)
	}
	// Enough tasks that nobody runs out: b.N ratings at 3 per task, and a
	// margin for the tasks each annotator has rated already.
	if err := store.GenerateTasks(ctx, camp.ID, imgs[0].ID, caps[0].ID, 1, b.N/wanted+4*annotators, wanted, 0); err != nil {
		b.Fatal(err)
	}
	tokens := make([]string, annotators)
	for i := range tokens {
		u := &models.User{Email: fmt.Sprintf("bench%d@example.com", i), Role: models.RoleAnnotator}
		if err := store.CreateUser(ctx, u); err != nil {
			b.Fatal(err)
		}
		sess, err := acc.Issue(u)
		if err != nil {
			b.Fatal(err)
		}
		tokens[i] = sess.Token
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: annotators + 8}}
	b.Cleanup(client.CloseIdleConnections)

	var left atomic.Int64
	left.Store(int64(b.N))
	lat := make([][]time.Duration, annotators)
	errs := make(chan error, annotators)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i := range annotators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sim := &annotatorSim{ctx: ctx, base: ts.URL, client: client, token: tokens[i], campaign: camp.ID}
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			for n := 0; left.Add(-1) >= 0; n++ {
				if think > 0 {
					time.Sleep(think/2 + time.Duration(rng.Int64N(int64(think))))
				}
				t0 := time.Now()
				code, task, err := sim.next(0)
				if err != nil || code != http.StatusOK {
					errs <- fmt.Errorf("next: %d %v", code, err)
					return
				}
				code, _, refusal, err := sim.rate(task, likertBody(fmt.Sprintf("b%d-%d", i, n), 1+n%5))
				if err != nil || code != http.StatusCreated {
					errs <- fmt.Errorf("rating: %d %s %v", code, refusal, err)
					return
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "ratings/s")
}
