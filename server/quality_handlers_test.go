package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"capeval/annotation"
	"capeval/models"
	"capeval/models/modelstest"
)

// qualityApp is queueApp with the quality checks as the queue's admission
// step and every lead service the quality and progress routes use.
type qualityApp struct {
	*queueApp
	quality *annotation.Quality
}

func newQualityApp(t *testing.T, kind string) *qualityApp {
	t.Helper()
	qa := newQueueApp(t, kind, annotation.QueueOptions{})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	quality := annotation.NewQuality(qa.store, log).WithClock(qa.clock.Now)
	qa.queue.Admitter = quality
	campaigns := annotation.NewCampaigns(qa.store, log)
	qa.srv = New(qa.srv.cfg, qa.store, qa.accounts, Services{Queue: qa.queue, Campaigns: campaigns, Quality: quality,
		Progress: annotation.NewProgress(qa.store, quality, log).WithClock(qa.clock.Now)}, log)
	return &qualityApp{queueApp: qa, quality: quality}
}

// apiCase is one request of an API table and what its answer must hold.
type apiCase struct {
	name       string
	method     string
	path       string
	body       string
	token      string
	wantStatus int
	wantBody   []string
	wantHeader string // a substring of the queue's reason header
}

func (a *qualityApp) run(t *testing.T, tests []apiCase) {
	t.Helper()
	for _, tt := range tests {
		rec := a.do(tt.method, tt.path, tt.body, tt.token)
		if rec.Code != tt.wantStatus {
			t.Errorf("%s: %s %s = %d, want %d; body %s", tt.name, tt.method, tt.path, rec.Code, tt.wantStatus, rec.Body)
			continue
		}
		for _, want := range tt.wantBody {
			if !strings.Contains(rec.Body.String(), want) {
				t.Errorf("%s: body %s does not contain %s", tt.name, rec.Body, want)
			}
		}
		if tt.wantHeader != "" {
			reason, _ := url.PathUnescape(rec.Header().Get(queueReasonHeader))
			if !strings.Contains(reason, tt.wantHeader) {
				t.Errorf("%s: reason %q, want %q", tt.name, reason, tt.wantHeader)
			}
		}
	}
}

// TestQualityAPI drives the quality settings, lead-authored gold, the
// exclusion decisions and the set-aside decisions over HTTP, with the
// queue's answers to an annotator showing that each is in force.
func TestQualityAPI(t *testing.T) {
	for _, kind := range modelstest.Stores {
		t.Run(kind, func(t *testing.T) {
			app := newQualityApp(t, kind)
			f := app.seedCampaign("Q", models.ModeLikert, 4, 2, 2)
			lead, ann := app.tokenFor(app.users[models.RoleLead]), app.tokenFor(app.users[models.RoleAnnotator])
			other := app.addUser("other", models.RoleAnnotator)
			otherTok := app.tokenFor(other)
			annID := app.users[models.RoleAnnotator].ID
			c := fmt.Sprintf("/api/v1/campaigns/%d", f.campaign.ID)
			next := "/api/v1/queue/next?campaign=" + fmt.Sprint(f.campaign.ID)
			img := fmt.Sprint(f.tasks[0].ImageID)
			app.run(t, []apiCase{
				{"defaults", "GET", c + "/quality", "", lead, 200, []string{`"qualification_tasks":0`, `"min_gold_answers":5`, `"daily_cap":0`, `"updated_by":null`}, ""},
				{"annotators may not read them", "GET", c + "/quality", "", ann, 403, nil, ""},
				{"annotators may not change them", "PUT", c + "/quality", `{"daily_cap":1}`, ann, 403, nil, ""},
				{"missing campaign", "GET", "/api/v1/campaigns/999/quality", "", lead, 404, []string{"no campaign with id 999"}, ""},
				{"a bad value names its field", "PUT", c + "/quality", `{"daily_cap":-1,"min_seconds":2}`, lead, 400, []string{`"field":"daily_cap"`}, ""},
				{"every problem listed", "PUT", c + "/quality", `{"qualification_tasks":500,"min_accuracy":2}`, lead, 400,
					[]string{`"field":"qualification_tasks"`, `{"where":"min_accuracy"`}, ""},
				{"a wrong type names its field", "PUT", c + "/quality", `{"daily_cap":"ten"}`, lead, 400, []string{`"field":"daily_cap"`}, ""},
				{"an unknown field", "PUT", c + "/quality", `{"cap":1}`, lead, 400, []string{`unknown field \"cap\"`}, ""},
				{"a daily cap of one", "PUT", c + "/quality", `{"daily_cap":1,"min_seconds":2}`, lead, 200,
					[]string{`"daily_cap":1`, `"min_seconds":2`, `"min_gold_answers":5`, `"updated_by":{"id":` + fmt.Sprint(app.users[models.RoleLead].ID)}, ""},
				{"the annotator's list shows the cap", "GET", "/api/v1/annotator/campaigns", "", ann, 200, []string{`"daily_cap":1`}, ""},
				{"the first task", "GET", next, "", ann, 200, []string{`"task_id":`}, ""},
			})
			// Rate the leased task; then the cap stops the annotator.
			code, m, body := app.call("GET", next, "", ann)
			if code != 200 {
				t.Fatalf("next: %d %s", code, body)
			}
			first := taskID(t, m)
			if code, _, body := app.call("POST", fmt.Sprintf("/api/v1/tasks/%d/ratings", first), likertBody("r1", 1), ann); code != 201 {
				t.Fatalf("rate: %d %s", code, body)
			}
			app.run(t, []apiCase{
				{"at the daily cap", "GET", next, "", ann, 204, nil, "today's limit of 1"},
				{"the audit log has the change", "GET", c + "/audit", "", lead, 200,
					[]string{`"action":"campaign.quality","before":null,"after":{"qualification_tasks":0`}, ""},
				{"qualification: one task, all right", "PUT", c + "/quality", `{"qualification_tasks":1,"qualification_accuracy":1,"min_seconds":2}`, lead, 200,
					[]string{`"qualification_tasks":1`, `"daily_cap":0`}, ""},
				// The annotator's first rating was a gold task at position 1,
				// rated 1 against a known-good gold: not admitted further.
				{"a failed qualification", "GET", next, "", ann, 204, nil, "did not reach the accuracy"},
				{"the progress view shows it", "GET", c + "/progress", "", lead, 200,
					[]string{`"status":"failed"`, `"code":"not_qualified"`, `"code":"fast_ratings"`, `"ratings_done":1`}, ""},
				{"annotators may not see the progress", "GET", c + "/progress", "", ann, 403, nil, ""},
				{"the lead keeps them in", "PUT", fmt.Sprintf("%s/annotators/%d/exclusion", c, annID), `{"decision":"include","reason":"new rubric"}`, lead, 200,
					[]string{`"excluded":false`, `"decision":"include"`, `"reason":"new rubric"`, `"decided_by":{"id":`}, ""},
				{"admitted again", "GET", next, "", ann, 200, []string{`"task_id":`}, ""},
				{"the lead excludes another", "PUT", fmt.Sprintf("%s/annotators/%d/exclusion", c, other.ID), `{"decision":"exclude"}`, lead, 200,
					[]string{`"excluded":true`, `"decision":"exclude"`}, ""},
				{"the excluded annotator gets nothing", "GET", next, "", otherTok, 204, nil, "under review"},
				{"and the reversal", "PUT", fmt.Sprintf("%s/annotators/%d/exclusion", c, other.ID), `{"decision":"policy"}`, lead, 200,
					[]string{`"excluded":false`, `"decision":"policy"`}, ""},
				{"an unknown decision", "PUT", fmt.Sprintf("%s/annotators/%d/exclusion", c, other.ID), `{"decision":"ban"}`, lead, 400, []string{`"field":"decision"`}, ""},
				{"a bad annotator id", "PUT", c + "/annotators/x/exclusion", `{"decision":"exclude"}`, lead, 400, []string{`"field":"annotator"`}, ""},
				{"no such user", "PUT", c + "/annotators/9999/exclusion", `{"decision":"exclude"}`, lead, 404, []string{"no user with id 9999"}, ""},
				{"annotators may not decide", "PUT", fmt.Sprintf("%s/annotators/%d/exclusion", c, annID), `{"decision":"policy"}`, ann, 403, nil, ""},
				{"a gold task without an image", "POST", c + "/gold", `{"text":"a cat","expect":"bad"}`, lead, 400, []string{`"field":"image_id"`}, ""},
				{"a gold task with a pair's fields", "POST", c + "/gold", `{"image_id":` + img + `,"text_a":"a cat","expect":"bad","text":"x"}`, lead, 400,
					[]string{`"field":"text_a"`}, ""},
				{"a gold task", "POST", c + "/gold", `{"image_id":` + img + `,"text":"a cat on a mat","expect":"bad","ratings_wanted":10}`, lead, 201,
					[]string{`"task_id":`, `"kind":"single"`, `"ratings_wanted":10`, `"known_bad"`}, ""},
				{"annotators may not write gold", "POST", c + "/gold", `{"image_id":` + img + `,"text":"a cat","expect":"bad"}`, ann, 403, nil, ""},
				{"a task that is not set aside", "POST", fmt.Sprintf("%s/set-aside/%d", c, f.tasks[1].ID), `{"decision":"put_back"}`, lead, 404,
					[]string{"no set-aside task"}, ""},
				{"a bad task id", "POST", c + "/set-aside/0", `{"decision":"put_back"}`, lead, 400, []string{`"field":"task"`}, ""},
			})
			// Two annotators skip a task as broken: set aside; the lead
			// sees it and puts it back.
			aside := f.tasks[3].ID
			for i, tok := range []string{ann, otherTok} {
				if _, err := app.store.TakeLease(context.Background(), aside, []int64{annID, other.ID}[i], app.clock.Now(), app.clock.Now().Add(600e9)); err != nil {
					t.Fatal(err)
				}
				if code, _, body := app.call("POST", fmt.Sprintf("/api/v1/tasks/%d/skip", aside), `{"reason":"image_broken"}`, tok); code != 204 {
					t.Fatalf("skip: %d %s", code, body)
				}
			}
			app.run(t, []apiCase{
				{"the set-aside task in the progress view", "GET", c + "/progress", "", lead, 200,
					[]string{fmt.Sprintf(`"set_aside":[{"task_id":%d`, aside), `"reason":"image_broken"`, `"set_aside_total":1`, `"left_out_at":null`}, ""},
				{"an unknown decision", "POST", fmt.Sprintf("%s/set-aside/%d", c, aside), `{"decision":"drop"}`, lead, 400, []string{`"field":"decision"`}, ""},
				{"annotators may not decide", "POST", fmt.Sprintf("%s/set-aside/%d", c, aside), `{"decision":"put_back"}`, ann, 403, nil, ""},
				{"leave it out", "POST", fmt.Sprintf("%s/set-aside/%d", c, aside), `{"decision":"leave_out"}`, lead, 204, nil, ""},
				{"left out", "GET", c + "/progress", "", lead, 200, []string{`"left_out":1`, `"left_out_at":"`}, ""},
				{"put it back", "POST", fmt.Sprintf("%s/set-aside/%d", c, aside), `{"decision":"put_back"}`, lead, 204, nil, ""},
				{"back in the queue", "GET", c + "/progress", "", lead, 200, []string{`"set_aside_total":0`, `"set_aside":[]`}, ""},
				{"audited", "GET", c + "/audit?limit=3", "", lead, 200, []string{`"action":"task.put_back"`, `"action":"task.leave_out"`}, ""},
			})
			if task := app.taskRow(aside); task.SetAsideAt != nil {
				t.Errorf("task %d is still set aside: %v", aside, task.SetAsideAt)
			}
		})
	}
}

// TestCampaignStatusOverHTTP: the status opens and closes the queue, only
// forward, each change audited.
func TestCampaignStatusOverHTTP(t *testing.T) {
	for _, kind := range modelstest.Stores {
		t.Run(kind, func(t *testing.T) {
			app := newQualityApp(t, kind)
			f := app.seedCampaign("S", models.ModeLikert, 3, 1, 0)
			draft := models.StatusDraft
			if err := app.store.UpdateCampaign(context.Background(), f.campaign.ID, models.CampaignChanges{Status: &draft}); err != nil {
				t.Fatal(err)
			}
			lead, ann := app.tokenFor(app.users[models.RoleLead]), app.tokenFor(app.users[models.RoleAnnotator])
			c := fmt.Sprintf("/api/v1/campaigns/%d", f.campaign.ID)
			next := "/api/v1/queue/next?campaign=" + fmt.Sprint(f.campaign.ID)
			app.run(t, []apiCase{
				{"a draft is not open", "GET", next, "", ann, 404, nil, ""},
				{"nor in the annotator's list", "GET", "/api/v1/annotator/campaigns", "", ann, 200, []string{`"campaigns":[]`}, ""},
				{"collecting", "PATCH", c, `{"status":"collecting"}`, lead, 200, []string{`"status":"collecting"`}, ""},
				{"open", "GET", next, "", ann, 200, []string{`"task_id":`}, ""},
				{"closed", "PATCH", c, `{"status":"closed"}`, lead, 200, []string{`"status":"closed"`}, ""},
				{"the queue is closed", "GET", next, "", ann, 204, nil, "closed"},
				{"no way back", "PATCH", c, `{"status":"collecting"}`, lead, 409, []string{"only moves forward"}, ""},
				{"an unknown status", "PATCH", c, `{"status":"paused"}`, lead, 400, []string{`"field":"status"`}, ""},
				{"the progress view says closed", "GET", c + "/progress", "", lead, 200, []string{`"status":"closed"`}, ""},
				{"both changes audited", "GET", c + "/audit", "", lead, 200,
					[]string{`"action":"campaign.status","before":"collecting","after":"closed"`, `"action":"campaign.status","before":"draft","after":"collecting"`}, ""},
			})
			code, m, _ := app.call("GET", "/api/v1/campaigns/"+fmt.Sprint(f.campaign.ID), "", lead)
			if code != http.StatusOK || m["status"] != "closed" {
				t.Errorf("campaign after closing: %d %v", code, m["status"])
			}
		})
	}
}
