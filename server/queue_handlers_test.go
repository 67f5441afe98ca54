package server

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"capeval/annotation"
	"capeval/models"
	"capeval/models/modelstest"
)

// forEachStore runs fn on SQLite and on PostgreSQL (when
// CAPEVAL_TEST_POSTGRES_DSN names a server; skipped otherwise, a failure
// under CI=true).
func forEachStore(t *testing.T, fn func(t *testing.T, kind string)) {
	for _, kind := range modelstest.Stores {
		t.Run(kind, func(t *testing.T) { fn(t, kind) })
	}
}

func TestQueueNext(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind string) {
		app := newQueueApp(t, kind, annotation.QueueOptions{})
		f := app.seedCampaign("likert", models.ModeLikert, 3, 1, 0)
		ann := app.users[models.RoleAnnotator]
		tok := app.tokenFor(ann)
		other := app.tokenFor(app.addUser("other", models.RoleAnnotator))
		next := fmt.Sprintf("/api/v1/queue/next?campaign=%d", f.campaign.ID)
		ctx := context.Background()

		// Drafts and campaigns naming other annotators are not there.
		draft := models.Campaign{Name: "draft", Mode: models.ModeLikert}
		if err := app.store.CreateCampaign(ctx, &draft); err != nil {
			t.Fatal(err)
		}
		closed := models.Campaign{Name: "closed", Mode: models.ModeLikert, Status: models.StatusClosed}
		if err := app.store.CreateCampaign(ctx, &closed); err != nil {
			t.Fatal(err)
		}
		private := app.seedCampaign("private", models.ModeLikert, 1, 1, 0)
		if err := app.store.SetCampaignAnnotators(ctx, private.campaign.ID, []int64{app.users[models.RoleLead].ID}); err != nil {
			t.Fatal(err)
		}

		first := f.tasks[0].ID
		for _, tt := range []struct {
			name       string
			path       string
			token      string
			wantStatus int
			wantTask   int64  // 0: any
			wantBody   string // substring
		}{
			{"first task: lowest position", next, tok, 200, first, `"lease_expires_at"`},
			{"asking again returns the same task", next, tok, 200, first, `"kind":"single"`},
			{"after: the prefetch is another task", next + fmt.Sprintf("&after=%d", first), tok, 200, f.tasks[1].ID, ""},
			{"after again: the same prefetched task", next + fmt.Sprintf("&after=%d", first), tok, 200, f.tasks[1].ID, ""},
			{"no after: the oldest lease", next, tok, 200, first, ""},
			{"another annotator gets the task left", next, other, 200, f.tasks[2].ID, ""},
			{"nothing left for the other", next + fmt.Sprintf("&after=%d", f.tasks[2].ID), other, 204, 0, ""},
			{"no campaign parameter", "/api/v1/queue/next", tok, 400, 0, `"field":"campaign"`},
			{"bad campaign parameter", "/api/v1/queue/next?campaign=x", tok, 400, 0, `"field":"campaign"`},
			{"bad after", next + "&after=-1", tok, 400, 0, `"field":"after"`},
			{"unknown campaign", "/api/v1/queue/next?campaign=9999", tok, 404, 0, `no campaign 9999 open to you`},
			{"draft campaign", fmt.Sprintf("/api/v1/queue/next?campaign=%d", draft.ID), tok, 404, 0, `open to you`},
			{"campaign of other annotators", fmt.Sprintf("/api/v1/queue/next?campaign=%d", private.campaign.ID), tok, 404, 0, `open to you`},
			{"named annotator", fmt.Sprintf("/api/v1/queue/next?campaign=%d", private.campaign.ID), app.tokenFor(app.users[models.RoleLead]), 200, private.tasks[0].ID, ""},
			{"closed campaign: nothing", fmt.Sprintf("/api/v1/queue/next?campaign=%d", closed.ID), tok, 204, 0, ""},
			{"no token", next, "", 401, 0, ""},
		} {
			t.Run(tt.name, func(t *testing.T) {
				rec := app.do("GET", tt.path, "", tt.token)
				if rec.Code != tt.wantStatus {
					t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
				}
				if !strings.Contains(rec.Body.String(), tt.wantBody) {
					t.Errorf("body %s, want it to contain %s", rec.Body, tt.wantBody)
				}
				if tt.wantTask != 0 {
					_, m, _ := app.call("GET", tt.path, "", tt.token) // idempotent: ask again
					if got := taskID(t, m); got != tt.wantTask {
						t.Errorf("task %d, want %d", got, tt.wantTask)
					}
				}
				if tt.name == "closed campaign: nothing" {
					reason, _ := url.PathUnescape(rec.Header().Get(queueReasonHeader))
					if !strings.Contains(reason, "closed") {
						t.Errorf("reason %q, want it to say the campaign is closed", reason)
					}
				}
			})
		}
		// Two leases at most: the first three asks held two tasks.
		got, err := app.store.AnnotatorLiveLeases(ctx, ann.ID, f.campaign.ID, app.clock.Now())
		if err != nil || len(got) != annotation.MaxLeasesPerCampaign {
			t.Errorf("live leases %d, %v; want %d", len(got), err, annotation.MaxLeasesPerCampaign)
		}
	})
}

func TestLeaseExpiryAndRenewal(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind string) {
		app := newQueueApp(t, kind, annotation.QueueOptions{LeaseTTL: 10 * time.Minute})
		f := app.seedCampaign("one", models.ModeLikert, 1, 1, 0)
		task := f.tasks[0].ID
		a := app.tokenFor(app.users[models.RoleAnnotator])
		b := app.tokenFor(app.addUser("b", models.RoleAnnotator))
		next := fmt.Sprintf("/api/v1/queue/next?campaign=%d", f.campaign.ID)
		heartbeat := fmt.Sprintf("/api/v1/tasks/%d/heartbeat", task)
		start := app.clock.Now()
		steps := []struct {
			name       string
			advance    time.Duration
			method     string
			path       string
			token      string
			wantStatus int
			wantExpiry time.Duration // from start; 0: not checked
		}{
			{"a gets the task", 0, "GET", next, a, 200, 10 * time.Minute},
			{"b: it wants one rating and a holds it", time.Minute, "GET", next, b, 204, 0},
			{"a's heartbeat renews", 8 * time.Minute, "POST", heartbeat, a, 200, 19 * time.Minute},
			{"b still waits after a's first lease would have expired", 3 * time.Minute, "GET", next, b, 204, 0},
			{"b's heartbeat: never handed to b", 0, "POST", heartbeat, b, 404, 0},
			{"after the renewed expiry b gets it", 9 * time.Minute, "GET", next, b, 200, 31 * time.Minute},
			{"a's heartbeat: the task is b's now", 0, "POST", heartbeat, a, 409, 0},
			{"b's heartbeat renews", time.Minute, "POST", heartbeat, b, 200, 32 * time.Minute},
			{"a, expired, asks for a task: none", 0, "GET", next, a, 204, 0},
			{"b's lease expires; a's heartbeat takes it again", 15 * time.Minute, "POST", heartbeat, a, 200, 47 * time.Minute},
		}
		for _, st := range steps {
			app.clock.Advance(st.advance)
			code, m, body := app.call(st.method, st.path, "", st.token)
			if code != st.wantStatus {
				t.Fatalf("%s: status %d, want %d: %s", st.name, code, st.wantStatus, body)
			}
			if st.wantExpiry != 0 {
				got, err := time.Parse(time.RFC3339Nano, m["lease_expires_at"].(string))
				if err != nil || !got.Equal(start.Add(st.wantExpiry)) {
					t.Errorf("%s: lease_expires_at %v (%v), want %v", st.name, got, err, start.Add(st.wantExpiry))
				}
			}
		}
	})
}

func TestLateRatings(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind string) {
		app := newQueueApp(t, kind, annotation.QueueOptions{LeaseTTL: 10 * time.Minute})
		f := app.seedCampaign("late", models.ModeLikert, 2, 1, 0)
		a := app.tokenFor(app.users[models.RoleAnnotator])
		b := app.tokenFor(app.addUser("b", models.RoleAnnotator))
		next := fmt.Sprintf("/api/v1/queue/next?campaign=%d", f.campaign.ID)
		rate := func(task int64, tok, client string) (int, string) {
			code, _, body := app.call("POST", fmt.Sprintf("/api/v1/tasks/%d/ratings", task), likertBody(client, 4), tok)
			return code, body
		}
		// Task 1: a's lease expires, nobody else takes it: a's rating is
		// accepted, marked late.
		if code, _, body := app.call("GET", next, "", a); code != 200 || !strings.Contains(body, fmt.Sprintf(`"task_id":%d`, f.tasks[0].ID)) {
			t.Fatalf("a's next: %d %s", code, body)
		}
		app.clock.Advance(30 * time.Minute)
		if code, body := rate(f.tasks[0].ID, a, "a-1"); code != 201 {
			t.Fatalf("late rating on a task that can take it: %d %s", code, body)
		}
		r, err := app.store.RatingOf(context.Background(), f.tasks[0].ID, app.users[models.RoleAnnotator].ID)
		if err != nil || !r.Late {
			t.Errorf("rating %+v, %v: want it stored and marked late", r, err)
		}
		// Task 2: a's lease expires, b takes the task and rates it: a's late
		// rating would overfill it and is refused.
		if code, _, body := app.call("GET", next, "", a); code != 200 || !strings.Contains(body, fmt.Sprintf(`"task_id":%d`, f.tasks[1].ID)) {
			t.Fatalf("a's second next: %d %s", code, body)
		}
		app.clock.Advance(11 * time.Minute)
		if code, _, body := app.call("GET", next, "", b); code != 200 || !strings.Contains(body, fmt.Sprintf(`"task_id":%d`, f.tasks[1].ID)) {
			t.Fatalf("b's next: %d %s", code, body)
		}
		if code, body := rate(f.tasks[1].ID, b, "b-1"); code != 201 {
			t.Fatalf("b's rating: %d %s", code, body)
		}
		code, body := rate(f.tasks[1].ID, a, "a-2")
		if code != 409 || !strings.Contains(body, "has all the ratings it wants") || !strings.Contains(body, "lease had expired") {
			t.Errorf("late rating on a full task: %d %s, want 409 saying why", code, body)
		}
		if got := app.taskRow(f.tasks[1].ID).RatingsDone; got != 1 {
			t.Errorf("ratings_done %d, want 1", got)
		}
	})
}

func TestRatingIdempotencyAndOwnership(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind string) {
		app := newQueueApp(t, kind, annotation.QueueOptions{})
		f := app.seedCampaign("idem", models.ModeLikert, 3, 2, 0)
		a := app.tokenFor(app.users[models.RoleAnnotator])
		b := app.tokenFor(app.addUser("b", models.RoleAnnotator))
		next := fmt.Sprintf("/api/v1/queue/next?campaign=%d", f.campaign.ID)
		_, m, _ := app.call("GET", next, "", a)
		t1 := taskID(t, m)
		_, m, _ = app.call("GET", next+fmt.Sprintf("&after=%d", t1), "", a)
		t2 := taskID(t, m)
		ratings := func(task int64) string { return fmt.Sprintf("/api/v1/tasks/%d/ratings", task) }
		var firstID float64
		for _, tt := range []struct {
			name       string
			method     string
			path       string
			body       string
			token      string
			wantStatus int
			wantBody   string
		}{
			{"first submission", "POST", ratings(t1), likertBody("c-1", 4), a, 201, `"client_id":"c-1"`},
			{"retry with the same client id", "POST", ratings(t1), likertBody("c-1", 4), a, 200, `"client_id":"c-1"`},
			{"retry with other answers returns the first", "POST", ratings(t1), likertBody("c-1", 2), a, 200, `"overall":4`},
			{"same client id on another task", "POST", ratings(t2), likertBody("c-1", 3), a, 409, `client_id \"c-1\" was used`},
			{"a second rating of the task", "POST", ratings(t1), likertBody("c-2", 3), a, 409, `you rated task`},
			{"a task never handed to b", "POST", ratings(t1), likertBody("b-1", 3), b, 404, `no task`},
			{"a task that does not exist", "POST", ratings(99999), likertBody("b-2", 3), b, 404, `no task 99999 handed to you`},
			{"b's skip of a's task", "POST", fmt.Sprintf("/api/v1/tasks/%d/skip", t2), `{"reason":"cant_judge"}`, b, 404, `no task`},
			{"b's heartbeat of a's task", "POST", fmt.Sprintf("/api/v1/tasks/%d/heartbeat", t2), "", b, 404, `no task`},
			{"b's revision of a's rating", "PUT", "/api/v1/ratings/RATING", likertBody("", 1), b, 404, `no rating`},
			{"bad task id", "POST", "/api/v1/tasks/x/ratings", likertBody("x", 1), a, 400, `"field":"id"`},
		} {
			t.Run(tt.name, func(t *testing.T) {
				path := strings.Replace(tt.path, "RATING", fmt.Sprint(int64(firstID)), 1)
				code, m, body := app.call(tt.method, path, tt.body, tt.token)
				if code != tt.wantStatus || !strings.Contains(body, tt.wantBody) {
					t.Fatalf("%d %s; want %d with %s", code, body, tt.wantStatus, tt.wantBody)
				}
				if tt.name == "first submission" {
					firstID = m["id"].(float64)
				} else if code == 200 && m["id"].(float64) != firstID {
					t.Errorf("retry returned rating %v, want %v", m["id"], firstID)
				}
			})
		}
		if got := app.taskRow(t1).RatingsDone; got != 1 {
			t.Errorf("ratings_done %d after retries, want 1", got)
		}
	})
}

func TestRatingValidation(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind string) {
		app := newQueueApp(t, kind, annotation.QueueOptions{})
		lik := app.seedCampaign("lik", models.ModeLikert, 1, 1, 0)
		pair := app.seedCampaign("pair", models.ModePairwise, 1, 1, 0)
		a := app.tokenFor(app.users[models.RoleAnnotator])
		for _, f := range []*ratingFixture{lik, pair} {
			if code, _, body := app.call("GET", fmt.Sprintf("/api/v1/queue/next?campaign=%d", f.campaign.ID), "", a); code != 200 {
				t.Fatalf("next: %d %s", code, body)
			}
		}
		likPath := fmt.Sprintf("/api/v1/tasks/%d/ratings", lik.tasks[0].ID)
		pairPath := fmt.Sprintf("/api/v1/tasks/%d/ratings", pair.tasks[0].ID)
		long := strings.Repeat("é", annotation.MaxComment+1)
		for _, tt := range []struct {
			name      string
			path      string
			body      string
			wantField string
			wantBody  string
		}{
			{"no client id", likPath, `{"answers":{"precision":1,"recall":1,"fluency":1,"overall":1}}`, "client_id", "required"},
			{"client id with spaces", likPath, `{"client_id":"a b","answers":{"precision":1,"recall":1,"fluency":1,"overall":1}}`, "client_id", "printable"},
			{"no answers", likPath, `{"client_id":"x"}`, "answers", "precision, recall, fluency, overall"},
			{"a missing criterion", likPath, `{"client_id":"x","answers":{"precision":1,"fluency":1,"overall":1}}`, "answers.recall", "required"},
			{"out of range", likPath, `{"client_id":"x","answers":{"precision":6,"recall":1,"fluency":1,"overall":1}}`, "answers.precision", "from 1 to 5"},
			{"zero", likPath, `{"client_id":"x","answers":{"precision":0,"recall":1,"fluency":1,"overall":1}}`, "answers.precision", "from 1 to 5"},
			{"not whole", likPath, `{"client_id":"x","answers":{"precision":2.5,"recall":1,"fluency":1,"overall":1}}`, "answers.precision", "whole number"},
			{"a string", likPath, `{"client_id":"x","answers":{"precision":"3","recall":1,"fluency":1,"overall":1}}`, "answers.precision", "got a string"},
			{"unknown criterion", likPath, `{"client_id":"x","answers":{"precision":1,"recall":1,"fluency":1,"overall":1,"beauty":3}}`, "answers.beauty", "not a criterion"},
			{"choice on a Likert task", likPath, `{"client_id":"x","choice":"A","answers":{"precision":1,"recall":1,"fluency":1,"overall":1}}`, "choice", "takes answers"},
			{"negative duration", likPath, `{"client_id":"x","duration_ms":-1,"answers":{"precision":1,"recall":1,"fluency":1,"overall":1}}`, "duration_ms", "want 0"},
			{"duration not a number", likPath, `{"client_id":"x","duration_ms":"soon"}`, "duration_ms", ""},
			{"comment too long", likPath, `{"client_id":"x","comment":"` + long + `","answers":{"precision":1,"recall":1,"fluency":1,"overall":1}}`, "comment", "limit of 2000"},
			{"unknown field", likPath, `{"client_id":"x","score":3}`, "score", "unknown field"},
			{"no choice", pairPath, `{"client_id":"y"}`, "choice", "A, B, tie or both_bad"},
			{"bad choice", pairPath, `{"client_id":"y","choice":"C"}`, "choice", `\"C\"`},
			{"lower-case choice", pairPath, `{"client_id":"y","choice":"a"}`, "choice", "want A, B"},
			{"answers on a pair", pairPath, `{"client_id":"y","choice":"A","answers":{"overall":3}}`, "answers", "takes a choice"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				code, _, body := app.call("POST", tt.path, tt.body, a)
				if code != 400 || !strings.Contains(body, `"field":"`+tt.wantField+`"`) || !strings.Contains(body, tt.wantBody) {
					t.Errorf("%d %s; want 400 naming %s with %q", code, body, tt.wantField, tt.wantBody)
				}
			})
		}
		// Nothing was stored by any of them.
		for _, f := range []*ratingFixture{lik, pair} {
			if got := app.taskRow(f.tasks[0].ID).RatingsDone; got != 0 {
				t.Errorf("ratings_done %d after refused ratings, want 0", got)
			}
		}
	})
}

func TestPairwiseShownOrder(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind string) {
		app := newQueueApp(t, kind, annotation.QueueOptions{})
		f := app.seedCampaign("pairs", models.ModePairwise, 12, 1, 2)
		a := app.tokenFor(app.users[models.RoleAnnotator])
		next := fmt.Sprintf("/api/v1/queue/next?campaign=%d", f.campaign.ID)
		swapped := 0
		choices := []string{"A", "B", "tie", "both_bad"}
		for i := 0; ; i++ {
			code, m, body := app.call("GET", next, "", a)
			if code == 204 {
				break
			}
			if code != 200 {
				t.Fatalf("next: %d %s", code, body)
			}
			id := taskID(t, m)
			texts := f.texts[id]
			shownA, shownB := m["caption_a"].(string), m["caption_b"].(string)
			var position int
			switch {
			case shownA == texts[0] && shownB == texts[1]:
			case shownA == texts[1] && shownB == texts[0]:
				position = 1
				swapped++
			default:
				t.Fatalf("task %d shows %q / %q, want its texts %q", id, shownA, shownB, texts)
			}
			choice := choices[i%len(choices)]
			code, m, body = app.call("POST", fmt.Sprintf("/api/v1/tasks/%d/ratings", id), fmt.Sprintf(`{"client_id":"p-%d","choice":%q}`, i, choice), a)
			if code != 201 || m["choice"] != choice {
				t.Fatalf("rating: %d %s, want 201 echoing choice %s", code, body, choice)
			}
			r, err := app.store.RatingOf(context.Background(), id, app.users[models.RoleAnnotator].ID)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"A": "a", "B": "b", "tie": "tie", "both_bad": "both_bad"}[choice]
			if position == 1 && (want == "a" || want == "b") {
				want = map[string]string{"a": "b", "b": "a"}[want]
			}
			if r.ShownPosition != position || r.Choice == nil || *r.Choice != want {
				t.Errorf("task %d shown swapped=%d, chose %s: stored position %d choice %v, want %d %s", id, position, choice, r.ShownPosition, r.Choice, position, want)
			}
		}
		if swapped == 0 || swapped == 14 {
			t.Errorf("%d of 14 pairs shown swapped: want the order drawn per task", swapped)
		}
	})
}

func TestSkipAndSetAside(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind string) {
		app := newQueueApp(t, kind, annotation.QueueOptions{})
		f := app.seedCampaign("skips", models.ModeLikert, 1, 3, 0)
		task := f.tasks[0].ID
		next := fmt.Sprintf("/api/v1/queue/next?campaign=%d", f.campaign.ID)
		skip := fmt.Sprintf("/api/v1/tasks/%d/skip", task)
		toks := make([]string, 4)
		for i := range toks {
			toks[i] = app.tokenFor(app.addUser(fmt.Sprint("s", i), models.RoleAnnotator))
			if code, _, body := app.call("GET", next, "", toks[i]); i < 3 && code != 200 {
				t.Fatalf("next for %d: %d %s", i, code, body)
			}
		}
		for _, tt := range []struct {
			name       string
			token      string
			body       string
			wantStatus int
			wantBody   string
		}{
			{"empty reason", toks[0], `{"reason":"  "}`, 400, `"field":"reason"`},
			{"reason too long", toks[0], `{"reason":"` + strings.Repeat("x", annotation.MaxSkipReason+1) + `"}`, 400, `"field":"reason"`},
			{"image broken", toks[0], `{"reason":"image_broken"}`, 204, ""},
			{"skipping again is fine", toks[0], `{"reason":"cant_judge"}`, 204, ""},
			{"a rating after the skip", toks[0], likertBody("late", 3), 409, "you skipped task"},
			{"free text", toks[1], `{"reason":"the caption is in French"}`, 204, ""},
			{"a second image broken sets it aside", toks[2], `{"reason":"image_broken"}`, 204, ""},
			{"never handed", toks[3], `{"reason":"cant_judge"}`, 404, "no task"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				path := skip
				if tt.name == "a rating after the skip" {
					path = fmt.Sprintf("/api/v1/tasks/%d/ratings", task)
				}
				code, _, body := app.call("POST", path, tt.body, tt.token)
				if code != tt.wantStatus || !strings.Contains(body, tt.wantBody) {
					t.Errorf("%d %s; want %d with %s", code, body, tt.wantStatus, tt.wantBody)
				}
			})
		}
		if app.taskRow(task).SetAsideAt == nil {
			t.Error("task not set aside after two image_broken skips")
		}
		k, err := app.store.SkipOf(context.Background(), task, app.users[models.RoleAnnotator].ID+2)
		if err != nil || k.Reason != models.SkipOther || k.Note != "the caption is in French" {
			t.Errorf("free-text skip stored as %+v, %v", k, err)
		}
		if code, _, body := app.call("GET", next, "", toks[3]); code != 204 {
			t.Errorf("next after the set-aside: %d %s, want 204", code, body)
		}
	})
}

func TestUndoWindow(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind string) {
		app := newQueueApp(t, kind, annotation.QueueOptions{})
		f := app.seedCampaign("undo", models.ModeLikert, 2, 1, 0)
		pair := app.seedCampaign("undo-pairs", models.ModePairwise, 1, 1, 0)
		a := app.tokenFor(app.users[models.RoleAnnotator])
		rateNext := func(f *ratingFixture, body string) (int64, float64) {
			_, m, _ := app.call("GET", fmt.Sprintf("/api/v1/queue/next?campaign=%d", f.campaign.ID), "", a)
			id := taskID(t, m)
			code, r, b := app.call("POST", fmt.Sprintf("/api/v1/tasks/%d/ratings", id), body, a)
			if code != 201 {
				t.Fatalf("rating: %d %s", code, b)
			}
			return id, r["id"].(float64)
		}
		_, r1 := rateNext(f, likertBody("u-1", 2))
		_, r2 := rateNext(f, likertBody("u-2", 2))
		_, r3 := rateNext(pair, `{"client_id":"u-3","choice":"A"}`)
		put := func(id float64) string { return fmt.Sprintf("/api/v1/ratings/%d", int64(id)) }
		for _, tt := range []struct {
			name       string
			advance    time.Duration
			path       string
			body       string
			wantStatus int
			wantBody   string
		}{
			{"revise within the window", time.Minute, put(r1), `{"answers":{"precision":5,"recall":4,"fluency":3,"overall":5},"comment":"on second look"}`, 200, `"overall":5`},
			{"revise again", 0, put(r1), likertBody("u-1", 1), 200, `"revised_at":"`},
			{"revision with another rating's client id", 0, put(r1), likertBody("u-2", 1), 400, `"field":"client_id"`},
			{"revision validated", 0, put(r1), `{"answers":{"precision":9}}`, 400, `"field":"answers.precision"`},
			{"pairwise revision", 0, put(r3), `{"choice":"B"}`, 200, `"choice":"B"`},
			{"unknown rating", 0, "/api/v1/ratings/99999", likertBody("", 1), 404, "no rating 99999"},
			{"after the window", 4*time.Minute + time.Second, put(r2), likertBody("", 5), 409, "undo window closed"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				app.clock.Advance(tt.advance)
				code, _, body := app.call("PUT", tt.path, tt.body, a)
				if code != tt.wantStatus || !strings.Contains(body, tt.wantBody) {
					t.Errorf("%d %s; want %d with %s", code, body, tt.wantStatus, tt.wantBody)
				}
			})
		}
		ctx := context.Background()
		got, err := app.store.RatingByID(ctx, int64(r1))
		if err != nil || got.Revisions != 2 || string(got.Answers) != `{"fluency":1,"overall":1,"precision":1,"recall":1}` {
			t.Errorf("revised rating %+v (%s), %v; want 2 revisions ending at all 1s", got, got.Answers, err)
		}
		if tasks, err := app.store.CampaignTasks(ctx, f.campaign.ID, app.clock.Now()); err != nil || tasks[0].RatingsDone != 1 || tasks[1].RatingsDone != 1 {
			t.Errorf("ratings_done changed by revisions: %v", err)
		}
	})
}

// Every answer an annotator can reach, for Likert and pairwise campaigns
// with gold tasks, names no captioner, version, score, caption ID or gold
// flag, and a gold task has exactly the keys of a regular one.
func TestBlindness(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind string) {
		app := newQueueApp(t, kind, annotation.QueueOptions{})
		lik := app.seedCampaign("blind-likert", models.ModeLikert, 4, 1, 2)
		pair := app.seedCampaign("blind-pairs", models.ModePairwise, 4, 1, 2)
		a := app.tokenFor(app.users[models.RoleAnnotator])
		var answers []string
		keep := func(code int, _ map[string]any, body string) {
			answers = append(answers, fmt.Sprintf("%d %s", code, body))
		}
		code, _, body := app.call("GET", "/api/v1/annotator/campaigns", "", a)
		if code != 200 || !strings.Contains(body, `"remaining_for_me":6`) {
			t.Fatalf("campaigns: %d %s", code, body)
		}
		keep(code, nil, body)
		keys := map[bool][]string{} // by gold
		for _, f := range []*ratingFixture{lik, pair} {
			next := fmt.Sprintf("/api/v1/queue/next?campaign=%d", f.campaign.ID)
			for i := 0; ; i++ {
				code, m, body := app.call("GET", next, "", a)
				keep(code, m, body)
				if code == 204 {
					break
				}
				id := taskID(t, m)
				var ks []string
				for k := range m {
					ks = append(ks, k)
				}
				sort.Strings(ks)
				gold := slices.Contains(f.gold, id)
				if prev, ok := keys[gold]; ok && f == lik && !slices.Equal(prev, ks) {
					t.Errorf("task %d (gold %v) has keys %v, another %v", id, gold, ks, prev)
				}
				if f == lik {
					keys[gold] = ks
				}
				// The image: its URL, its bytes' headers.
				rec := app.do("GET", m["image_url"].(string), "", a)
				keep(rec.Code, nil, fmt.Sprint(rec.Header()))
				if rec.Code != 200 {
					t.Fatalf("image %s: %d", m["image_url"], rec.Code)
				}
				keep(app.call("POST", fmt.Sprintf("/api/v1/tasks/%d/heartbeat", id), "", a))
				var rb string
				switch {
				case i == 0:
					keep(app.call("POST", fmt.Sprintf("/api/v1/tasks/%d/skip", id), `{"reason":"cant_judge"}`, a))
					continue
				case f == lik:
					rb = likertBody(fmt.Sprint("b", id), 3)
				default:
					rb = fmt.Sprintf(`{"client_id":"b%d","choice":"A"}`, id)
				}
				code, r, body := app.call("POST", fmt.Sprintf("/api/v1/tasks/%d/ratings", id), rb, a)
				keep(code, r, body)
				keep(app.call("POST", fmt.Sprintf("/api/v1/tasks/%d/ratings", id), rb, a))                                 // retry
				keep(app.call("POST", fmt.Sprintf("/api/v1/tasks/%d/ratings", id), strings.Replace(rb, `"b`, `"x`, 1), a)) // twice
				keep(app.call("PUT", fmt.Sprintf("/api/v1/ratings/%d", int64(r["id"].(float64))), rb, a))
				keep(app.call("POST", fmt.Sprintf("/api/v1/tasks/%d/ratings", id), `{"client_id":"bad","answers":{"nope":1}}`, a))
			}
		}
		if !slices.Equal(keys[true], keys[false]) {
			t.Errorf("gold task keys %v, regular %v", keys[true], keys[false])
		}
		all := strings.ToLower(strings.Join(answers, "\n"))
		for _, leak := range []string{strings.ToLower(secretCaptionerA), strings.ToLower(secretCaptionerB), secretVersion,
			fmt.Sprint(secretScore), "gold", "captioner", "caption_id", "cider", "known_good", "known_pair", "reference", "position"} {
			if strings.Contains(all, leak) {
				i := strings.Index(all, leak)
				t.Errorf("an annotator's answer contains %q: …%s…", leak, all[max(0, i-80):min(len(all), i+80)])
			}
		}
	})
}

func TestImages(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind string) {
		app := newQueueApp(t, kind, annotation.QueueOptions{})
		f := app.seedCampaign("img", models.ModeLikert, 1, 1, 0)
		private := app.seedCampaign("img-private", models.ModeLikert, 1, 1, 0)
		if err := app.store.SetCampaignAnnotators(context.Background(), private.campaign.ID, []int64{app.users[models.RoleLead].ID}); err != nil {
			t.Fatal(err)
		}
		a := app.tokenFor(app.users[models.RoleAnnotator])
		lead := app.tokenFor(app.users[models.RoleLead])
		sha := f.sha[f.tasks[0].ID]
		psha := private.sha[private.tasks[0].ID]
		for _, tt := range []struct {
			name       string
			path       string
			token      string
			header     []string
			wantStatus int
		}{
			{"annotator, campaign open to them", "/api/v1/images/" + sha, a, nil, 200},
			{"cached copy still good", "/api/v1/images/" + sha, a, []string{"If-None-Match", `"` + sha + `"`}, 304},
			{"annotator, campaign not open to them", "/api/v1/images/" + psha, a, nil, 404},
			{"lead, any image", "/api/v1/images/" + psha, lead, nil, 200},
			{"unknown hash", "/api/v1/images/" + strings.Repeat("0", 64), a, nil, 404},
			{"not a hash", "/api/v1/images/..%2f..%2fetc%2fpasswd", a, nil, 404},
			{"upper-case hash", "/api/v1/images/" + strings.ToUpper(sha), a, nil, 404},
			{"no token", "/api/v1/images/" + sha, "", nil, 401},
		} {
			t.Run(tt.name, func(t *testing.T) {
				rec := app.do("GET", tt.path, "", tt.token, tt.header...)
				if rec.Code != tt.wantStatus {
					t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
				}
				if rec.Code != 200 {
					if cc := rec.Header().Get("Cache-Control"); rec.Code == 404 && cc != "no-store" {
						t.Errorf("a 404 is cached: Cache-Control %q", cc)
					}
					return
				}
				h := rec.Header()
				if h.Get("Cache-Control") != "private, max-age=31536000, immutable" || h.Get("ETag") != `"`+strings.TrimPrefix(tt.path, "/api/v1/images/")+`"` ||
					h.Get("Content-Type") != "image/png" {
					t.Errorf("headers %v", h)
				}
				if !strings.HasPrefix(rec.Body.String(), "\x89PNG") {
					t.Errorf("body is not the PNG")
				}
			})
		}
	})
}

func TestAnnotatorCampaigns(t *testing.T) {
	app := newQueueApp(t, models.DialectSQLite, annotation.QueueOptions{})
	f := app.seedCampaign("listed", models.ModePairwise, 3, 1, 1)
	a := app.tokenFor(app.users[models.RoleAnnotator])
	_, m, _ := app.call("GET", fmt.Sprintf("/api/v1/queue/next?campaign=%d", f.campaign.ID), "", a)
	if code, _, body := app.call("POST", fmt.Sprintf("/api/v1/tasks/%d/ratings", taskID(t, m)), `{"client_id":"l1","choice":"tie"}`, a); code != 201 {
		t.Fatalf("rating: %d %s", code, body)
	}
	code, _, body := app.call("GET", "/api/v1/annotator/campaigns", "", a)
	for _, want := range []string{`"name":"listed"`, `"mode":"pairwise"`, `"instructions":"Judge the caption against the picture."`,
		`"done_by_me":1`, `"done_today":1`, `"daily_cap":0`, `"tasks_total":4`, `"tasks_done":1`, `"remaining_for_me":3`, `"rubric":{"criteria":[`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("campaigns: %d %s; want %s", code, body, want)
		}
	}
	app.clock.Advance(24 * time.Hour)
	a = app.tokenFor(app.users[models.RoleAnnotator]) // yesterday's has expired
	if _, _, body := app.call("GET", "/api/v1/annotator/campaigns", "", a); !strings.Contains(body, `"done_today":0`) {
		t.Errorf("the next day: %s, want done_today 0", body)
	}
}

func TestLeaseTTLConfig(t *testing.T) {
	for _, tt := range []struct {
		value   string
		want    time.Duration
		wantErr string
	}{
		{"", 10 * time.Minute, ""},
		{"90s", 90 * time.Second, ""},
		{"2h", 2 * time.Hour, ""},
		{"ten minutes", 0, `CAPEVAL_LEASE_TTL="ten minutes": want a Go duration`},
		{"5s", 0, "CAPEVAL_LEASE_TTL=5s: want between 30s and 24h"},
		{"48h", 0, "CAPEVAL_LEASE_TTL=48h0m0s: want between 30s and 24h"},
	} {
		t.Run(tt.value, func(t *testing.T) {
			cfg, err := loadWith(t, map[string]string{"CAPEVAL_LEASE_TTL": tt.value})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || cfg.LeaseTTL != tt.want {
				t.Errorf("LeaseTTL %v, %v; want %v", cfg.LeaseTTL, err, tt.want)
			}
		})
	}
}
