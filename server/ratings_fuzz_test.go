package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"capeval/annotation"
	"capeval/models"
)

// FuzzCreateRating posts any body as a rating of a task handed to the
// annotator, through the real echo app, the real queue and a real SQLite
// store, as the rating page does (POST /api/v1/tasks/:id/ratings): the
// answer is never a 5xx nor a panic; a refusal is a 4xx with a JSON
// message and leaves the task's ratings as they were; an accepted rating
// (201, or 200 for a retry) is the task's, stored once, with a value for
// every criterion of the rubric, each a whole number inside its scale
// (Likert), or one of the four choices (pairwise), and is what the body
// said. Each input gets a task of its own from the queue: the Likert or
// the pairwise campaign as the first byte says. The seeds are in
// testdata/fuzz/FuzzCreateRating and below.
func FuzzCreateRating(f *testing.F) {
	for _, s := range []struct {
		pair bool
		body string
	}{
		{false, likertBody("seed-1", 4)},
		{false, `{"client_id":"seed-2","answers":{"precision":1,"recall":5,"fluency":3,"overall":2},"comment":"  a blurry photo  ","duration_ms":0}`},
		{false, `{"client_id":"seed-3","answers":{"precision":4.5,"recall":"5","fluency":null,"overall":1e400,"extra":1}}`},
		{false, `{"client_id":"seed-4","answers":{"precision":5,"recall":5,"fluency":5,"overall":5},"Answers":{"overall":9}}`},
		{false, `{"client_id":"seed 5","answers":[],"choice":"A","duration_ms":-1}`},
		{true, `{"client_id":"seed-6","choice":"B","duration_ms":86400000}`},
		{true, `{"client_id":"seed-7","choice":"both_bad","answers":{}}`},
		{true, `{"client_id":"seed-8","choice":"a"} {}`},
		{true, "{\"client_id\":\"\\u0000\",\"choice\":\"tie\",\"comment\":\"\xff\"}"},
	} {
		f.Add(s.pair, []byte(s.body))
	}
	qa := newQueueApp(f, models.DialectSQLite, annotation.QueueOptions{})
	tok := qa.tokenFor(qa.users[models.RoleAnnotator])
	rubric := annotation.DefaultRubric()
	campaigns := map[bool]int64{}
	seeded := 0
	// nextTask leases a task of the mode, seeding a new campaign when the
	// last one has none left.
	nextTask := func(t *testing.T, pair bool) int64 {
		for range 2 {
			if id := campaigns[pair]; id != 0 {
				rec := qa.do(http.MethodGet, fmt.Sprintf("/api/v1/queue/next?campaign=%d", id), "", tok)
				if rec.Code == http.StatusOK {
					var task struct {
						TaskID int64 `json:"task_id"`
					}
					if err := json.Unmarshal(rec.Body.Bytes(), &task); err != nil || task.TaskID == 0 {
						t.Fatalf("queue next: %v %s", err, rec.Body)
					}
					return task.TaskID
				}
				if rec.Code != http.StatusNoContent {
					t.Fatalf("queue next: %d %s", rec.Code, rec.Body)
				}
			}
			mode := models.ModeLikert
			if pair {
				mode = models.ModePairwise
			}
			seeded++
			campaigns[pair] = qa.seedCampaign(fmt.Sprintf("fuzz-%d", seeded), mode, 200, 1, 0).campaign.ID
		}
		t.Fatal("no task after seeding a campaign")
		return 0
	}
	f.Fuzz(func(t *testing.T, pair bool, body []byte) {
		// The app's helpers fail the test they hold: this input's (f's
		// methods may not be called from here; inputs run one at a time
		// in a process).
		qa.t = t
		id := nextTask(t, pair)
		before := qa.taskRow(id).RatingsDone
		rec := qa.do(http.MethodPost, fmt.Sprintf("/api/v1/tasks/%d/ratings", id), string(body), tok)
		after := qa.taskRow(id).RatingsDone
		switch {
		case rec.Code >= 500:
			t.Fatalf("%d for %q: %s", rec.Code, body, rec.Body)
		case rec.Code >= 400:
			var e struct{ Error apiError }
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Message == "" {
				t.Fatalf("%d for %q without a JSON message: %s", rec.Code, body, rec.Body)
			}
			if after != before {
				t.Fatalf("%d for %q, yet the task's ratings went from %d to %d", rec.Code, body, before, after)
			}
			return
		case rec.Code != http.StatusCreated && rec.Code != http.StatusOK:
			t.Fatalf("%d for %q: %s", rec.Code, body, rec.Body)
		}
		var got annotation.RatingView
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatalf("%d for %q, not a rating: %v %s", rec.Code, body, err, rec.Body)
		}
		if rec.Code == http.StatusOK {
			// A retry with a client ID used before: the first rating,
			// nothing added.
			if after != before {
				t.Fatalf("a retry (200) for %q added a rating", body)
			}
			return
		}
		if got.TaskID != id || after != before+1 {
			t.Fatalf("201 for %q: rating of task %d, task %d's ratings went from %d to %d", body, got.TaskID, id, before, after)
		}
		stored, err := qa.store.RatingByID(context.Background(), got.ID)
		if err != nil {
			t.Fatal(err)
		}
		var sent ratingRequest
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&sent); err != nil {
			t.Fatalf("201 for %q, which does not decode: %v", body, err)
		}
		if pair {
			if got.Choice != sent.Choice || stored.Choice == nil {
				t.Fatalf("201 for %q: choice %q shown, %v stored", body, got.Choice, stored.Choice)
			}
			switch got.Choice {
			case annotation.ChoiceA, annotation.ChoiceB, annotation.ChoiceTie, annotation.ChoiceBothBad:
			default:
				t.Fatalf("201 for %q: choice %q accepted", body, got.Choice)
			}
			return
		}
		var answers map[string]int
		if err := json.Unmarshal(stored.Answers, &answers); err != nil {
			t.Fatalf("201 for %q: stored answers %s: %v", body, stored.Answers, err)
		}
		if len(answers) != len(rubric.Criteria) || len(got.Answers) != len(answers) {
			t.Fatalf("201 for %q: answers %v stored, %v shown, for %d criteria", body, answers, got.Answers, len(rubric.Criteria))
		}
		for _, c := range rubric.Criteria {
			v, ok := answers[c.Key]
			if !ok || v < c.Scale.Min || v > c.Scale.Max || got.Answers[c.Key] != v {
				t.Fatalf("201 for %q: %s = %d stored, %d shown, outside %d–%d or missing", body, c.Key, v, got.Answers[c.Key], c.Scale.Min, c.Scale.Max)
			}
			if sv, _ := sent.Answers[c.Key].(float64); sv != float64(v) {
				t.Fatalf("201 for %q: %s = %d stored, %v sent", body, c.Key, v, sent.Answers[c.Key])
			}
		}
	})
}
