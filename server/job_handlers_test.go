package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"capeval/annotation"
	"capeval/autoeval"
	"capeval/models"
)

// newJobTestApp is newTestApp with the real campaign and job services and
// a campaign of two captioners over three images.
func newJobTestApp(t *testing.T) (*testApp, *models.Campaign) {
	t.Helper()
	app := newTestApp(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	app.srv = New(app.srv.cfg, app.store, app.accounts, Services{
		Campaigns: annotation.NewCampaigns(app.store, log),
		Jobs:      autoeval.NewJobs(app.store, false, log),
	}, log)
	ctx := context.Background()
	c := &models.Campaign{Name: "jobs", Mode: models.ModeLikert}
	if err := app.store.CreateCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	imgs := make([]models.Image, 3)
	for i := range imgs {
		imgs[i] = models.Image{CampaignID: c.ID, ExternalID: fmt.Sprint(i + 1), SHA256: fmt.Sprint(i), StorageKey: fmt.Sprint(i), Width: 1, Height: 1}
	}
	if err := app.store.InsertImages(ctx, imgs); err != nil {
		t.Fatal(err)
	}
	colours := []string{"red", "green", "yellow"}
	var refs []models.Reference
	for i, im := range imgs {
		refs = append(refs, models.Reference{ImageID: im.ID, Position: 0, Text: "a " + colours[i] + " circle on a white background"},
			models.Reference{ImageID: im.ID, Position: 1, Text: "one " + colours[i] + " disc in the middle of a white picture"})
	}
	if err := app.store.InsertReferences(ctx, refs); err != nil {
		t.Fatal(err)
	}
	for k, name := range []string{"good-model", "bad-model"} {
		capt := &models.Captioner{CampaignID: c.ID, Name: name, Version: "1"}
		if err := app.store.CreateCaptioner(ctx, capt); err != nil {
			t.Fatal(err)
		}
		var caps []models.Caption
		for i, im := range imgs {
			text := "a " + colours[i] + " circle on a white background"
			if k == 1 {
				text = "two blue squares"
			}
			caps = append(caps, models.Caption{CaptionerID: capt.ID, ImageID: im.ID, Text: text})
		}
		if err := app.store.InsertCaptions(ctx, caps); err != nil {
			t.Fatal(err)
		}
	}
	return app, c
}

func TestJobAPI(t *testing.T) {
	app, c := newJobTestApp(t)
	lead, ann := app.token(models.RoleLead), app.token(models.RoleAnnotator)
	camp := fmt.Sprintf("/api/v1/campaigns/%d", c.ID)
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		token      string
		wantStatus int
		wantBody   []string // substrings of the response body
	}{
		{"captioners before any job", "GET", camp + "/captioners", "", lead, 200,
			[]string{`"name":"good-model"`, `"captions":3`, `"scores":{}`, `"available":false`, `CAPEVAL_CLIP_MODEL`, `capeval models pull`}},
		{"captioners hidden from annotators", "GET", camp + "/captioners", "", ann, 403, []string{`"code":"forbidden"`}},
		{"start as annotator", "POST", camp + "/jobs", `{"kind":"text"}`, ann, 403, []string{`"code":"forbidden"`}},
		{"start without a token", "POST", camp + "/jobs", `{"kind":"text"}`, "", 401, []string{`"code":"unauthorized"`}},
		{"start needs a kind", "POST", camp + "/jobs", `{}`, lead, 400, []string{`"field":"kind"`, `kind is required`}},
		{"start unknown kind", "POST", camp + "/jobs", `{"kind":"bleu"}`, lead, 400, []string{`"field":"kind"`, `kind \"bleu\": want text or clip`}},
		{"start unknown field", "POST", camp + "/jobs", `{"kind":"text","fast":true}`, lead, 400, []string{`unknown field \"fast\"`}},
		{"start clip without a model", "POST", camp + "/jobs", `{"kind":"clip"}`, lead, 409, []string{`"code":"clip_unavailable"`, `CAPEVAL_CLIP_MODEL`}},
		{"start in a missing campaign", "POST", "/api/v1/campaigns/999/jobs", `{"kind":"text"}`, lead, 404, []string{`campaign 999 not found`}},
		{"start with a bad campaign id", "POST", "/api/v1/campaigns/x/jobs", `{"kind":"text"}`, lead, 400, []string{`"field":"id"`}},
		{"start text", "POST", camp + "/jobs", `{"kind":"text"}`, lead, 202, []string{`"status":"queued"`, `"kind":"text"`, `"eta_seconds":null`}},
		{"start text twice", "POST", camp + "/jobs", `{"kind":"text"}`, lead, 409, []string{`"code":"conflict"`, `queued already`}},
		{"list", "GET", camp + "/jobs", "", lead, 200, []string{`"jobs":[{"id":1,`}},
		{"list of a missing campaign", "GET", "/api/v1/campaigns/999/jobs", "", lead, 404, []string{`"code":"not_found"`}},
		{"get", "GET", "/api/v1/jobs/1", "", lead, 200, []string{`"id":1`, `"status":"queued"`}},
		{"get as annotator", "GET", "/api/v1/jobs/1", "", ann, 403, []string{`"code":"forbidden"`}},
		{"get missing", "GET", "/api/v1/jobs/999", "", lead, 404, []string{`job 999 not found`}},
		{"get bad id", "GET", "/api/v1/jobs/one", "", lead, 400, []string{`"field":"id"`}},
		{"events of a missing job", "GET", "/api/v1/jobs/999/events", "", lead, 404, []string{`"code":"not_found"`}},
		{"cancel", "POST", "/api/v1/jobs/1/cancel", "", lead, 200, []string{`"status":"cancelled"`}},
		{"cancel again", "POST", "/api/v1/jobs/1/cancel", "", lead, 409, []string{`cancelled already`}},
		{"events of an ended job", "GET", "/api/v1/jobs/1/events", "", lead, 200, []string{"event: end\ndata: {\"id\":1,", `"status":"cancelled"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := app.do(tt.method, tt.path, tt.body, tt.token)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			for _, w := range tt.wantBody {
				if !strings.Contains(rec.Body.String(), w) {
					t.Fatalf("body %s does not contain %s", rec.Body, w)
				}
			}
		})
	}
}

// TestJobEventsFollowARun streams a job's events while a worker runs it:
// progress events, then one end event with the scores stored.
func TestJobEventsFollowARun(t *testing.T) {
	app, c := newJobTestApp(t)
	defer func(d time.Duration) { jobEventsPoll = d }(jobEventsPoll)
	jobEventsPoll = 5 * time.Millisecond
	lead := app.token(models.RoleLead)
	rec := app.do("POST", fmt.Sprintf("/api/v1/campaigns/%d/jobs", c.ID), `{"kind":"text"}`, lead)
	if rec.Code != 202 || rec.Header().Get("Location") != "/api/v1/jobs/1" {
		t.Fatalf("start = %d %s (Location %q)", rec.Code, rec.Body, rec.Header().Get("Location"))
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(50 * time.Millisecond) // let the stream see the queued job first
		autoeval.NewRunner(app.store, autoeval.Scorers{}, nil).
			WithOptions(autoeval.RunnerOptions{Poll: 5 * time.Millisecond, Heartbeat: 5 * time.Millisecond}).Run(ctx, 1)
	}()
	rec = app.do("GET", "/api/v1/jobs/1/events", "", lead)
	stop()
	wg.Wait()
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events = %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	events := strings.Split(strings.TrimSpace(rec.Body.String()), "\n\n")
	if len(events) < 2 || !strings.HasPrefix(events[0], "event: progress\n") {
		t.Fatalf("events %q: want progress events first", events)
	}
	last := events[len(events)-1]
	if !strings.HasPrefix(last, "event: end\ndata: ") || strings.Count(rec.Body.String(), "event: end") != 1 {
		t.Fatalf("last event %q: want one end event", last)
	}
	var job autoeval.Job
	if err := json.Unmarshal([]byte(strings.TrimPrefix(last, "event: end\ndata: ")), &job); err != nil {
		t.Fatal(err)
	}
	if job.Status != models.JobDone || job.Done != 6 || job.Total != 6 || job.ETASeconds == nil || *job.ETASeconds != 0 {
		t.Fatalf("final job %+v, want done 6/6 with ETA 0", job)
	}
	rec = app.do("GET", fmt.Sprintf("/api/v1/campaigns/%d/captioners", c.ID), "", lead)
	var rep autoeval.CaptionerReport
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Captioners) != 2 || rep.Captioners[0].Scores["CIDEr"] <= rep.Captioners[1].Scores["CIDEr"] ||
		rep.Captioners[0].Scores["Bleu_4"] <= 0 || strings.Join(rep.Metrics, ",") != "Bleu_1,Bleu_2,Bleu_3,Bleu_4,ROUGE_L,CIDEr" {
		t.Fatalf("captioners after the job: %s", rec.Body)
	}
	if _, ok := rep.Captioners[0].Scores["CLIPScore"]; ok {
		t.Fatalf("a CLIPScore without a CLIP model: %s", rec.Body)
	}
}

func TestJobAPINotConfigured(t *testing.T) {
	app := newTestApp(t)
	rec := app.do("GET", "/api/v1/jobs/1", "", app.token(models.RoleLead))
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), `"code":"not_configured"`) {
		t.Fatalf("without a job service: %d %s", rec.Code, rec.Body)
	}
}
