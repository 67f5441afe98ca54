package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"capeval/annotation"
	"capeval/models"
)

// newSelectionTestApp is newTestApp with the real campaign and selection
// services and campaign 1 "sel" (Likert): 6 images with references, three
// captioners with scores (m0 best).
func newSelectionTestApp(t *testing.T) *testApp {
	t.Helper()
	app := newTestApp(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	campaigns := annotation.NewCampaigns(app.store, log)
	app.srv = New(app.srv.cfg, app.store, app.accounts, Services{Campaigns: campaigns,
		Selection: annotation.NewSelection(app.store, campaigns, log)}, log)
	ctx := context.Background()
	s := app.store
	camp := &models.Campaign{Name: "sel", Mode: models.ModeLikert}
	if err := s.CreateCampaign(ctx, camp); err != nil {
		t.Fatal(err)
	}
	var images []models.Image
	for i := range 6 {
		images = append(images, models.Image{CampaignID: camp.ID, ExternalID: fmt.Sprint("img", i)})
	}
	if err := s.InsertImages(ctx, images); err != nil {
		t.Fatal(err)
	}
	var refs []models.Reference
	for i, im := range images {
		refs = append(refs, models.Reference{ImageID: im.ID, Text: fmt.Sprint("a reference of image ", i)})
	}
	if err := s.InsertReferences(ctx, refs); err != nil {
		t.Fatal(err)
	}
	var cs []models.CaptionerScore
	for k, cider := range []float64{0.9, 0.6, 0.3} {
		c := models.Captioner{CampaignID: camp.ID, Name: fmt.Sprint("model", k), Version: "1"}
		if err := s.CreateCaptioner(ctx, &c); err != nil {
			t.Fatal(err)
		}
		var caps []models.Caption
		for i, im := range images {
			caps = append(caps, models.Caption{CaptionerID: c.ID, ImageID: im.ID, Text: fmt.Sprintf("model %d on image %d", k, i)})
		}
		if err := s.InsertCaptions(ctx, caps); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, models.CaptionerScore{CaptionerID: c.ID, Metric: "CIDEr", Value: cider, N: 6})
	}
	if err := s.InsertScoreRows(ctx, nil, cs); err != nil {
		t.Fatal(err)
	}
	return app
}

// TestSelectionAPI runs its cases in order on one database.
func TestSelectionAPI(t *testing.T) {
	app := newSelectionTestApp(t)
	lead, annot := app.token(models.RoleLead), app.token(models.RoleAnnotator)
	const stored = `{"seed":3,"top_k":2,"images":{"count":4},"ratings_per_item":2,"gold_rate":0.2}`

	// The fingerprint of the stored thresholds' preview, for the commit.
	var fingerprint string
	tests := []struct {
		name       string
		method     string
		path       string
		body       func() string
		token      string
		wantStatus int
		wantBody   []string
		after      func(body string)
	}{
		{name: "annotators may not set thresholds", method: "PUT", path: "/api/v1/campaigns/1/thresholds", body: lit(`{}`), token: annot,
			wantStatus: 403, wantBody: []string{`"code":"forbidden"`}},
		{name: "annotators may not preview", method: "POST", path: "/api/v1/campaigns/1/selection/preview", body: lit(`{}`), token: annot,
			wantStatus: 403, wantBody: []string{`"code":"forbidden"`}},
		{name: "annotators may not commit", method: "POST", path: "/api/v1/campaigns/1/selection/commit", body: lit(`{}`), token: annot,
			wantStatus: 403, wantBody: []string{`"code":"forbidden"`}},
		{name: "preview without thresholds", method: "POST", path: "/api/v1/campaigns/1/selection/preview", body: lit(""), token: lead,
			wantStatus: 400, wantBody: []string{`"field":"thresholds"`, `no thresholds: set them first`}},
		{name: "malformed thresholds", method: "PUT", path: "/api/v1/campaigns/1/thresholds", body: lit(`{"top_k":`), token: lead,
			wantStatus: 400, wantBody: []string{`"code":"invalid_input"`, `malformed JSON`}},
		{name: "thresholds not an object", method: "PUT", path: "/api/v1/campaigns/1/thresholds", body: lit(`[1]`), token: lead,
			wantStatus: 400, wantBody: []string{`"field":"thresholds"`, `want a JSON object`}},
		{name: "every bad field named", method: "PUT", path: "/api/v1/campaigns/1/thresholds",
			body: lit(`{"rank":{"metric":"SPICE"},"top_k":-1,"gold_rate":2,"pairs":"all"}`), token: lead, wantStatus: 400,
			wantBody: []string{`"field":"rank.metric"`, `{"where":"top_k"`, `{"where":"gold_rate"`,
				`{"where":"pairs","message":"only for pairwise campaigns (this one is likert)"}`}},
		{name: "unknown threshold", method: "PUT", path: "/api/v1/campaigns/1/thresholds", body: lit(`{"topk":2}`), token: lead,
			wantStatus: 400, wantBody: []string{`"field":"topk"`, `unknown field`}},
		{name: "thresholds of a missing campaign", method: "PUT", path: "/api/v1/campaigns/9/thresholds", body: lit(`{}`), token: lead,
			wantStatus: 404, wantBody: []string{`no campaign with id 9`}},
		{name: "set thresholds", method: "PUT", path: "/api/v1/campaigns/1/thresholds", body: lit(stored), token: lead,
			wantStatus: 200, wantBody: []string{`{"thresholds":` + stored + `}`}},
		{name: "audited", method: "GET", path: "/api/v1/campaigns/1/audit", token: lead, wantStatus: 200,
			wantBody: []string{`"action":"campaign.thresholds","before":null,"after":` + stored, `"actor":{"id":` + fmt.Sprint(app.users[models.RoleLead].ID)}},
		{name: "preview a draft", method: "POST", path: "/api/v1/campaigns/1/selection/preview",
			body: lit(`{"thresholds":{"top_k":1},"examples":2}`), token: lead, wantStatus: 200,
			wantBody: []string{`"captioners_kept":1`, `"items":6`, `"gold_items":0`, `"reason":"outside the top 1"`}},
		{name: "preview the stored thresholds", method: "POST", path: "/api/v1/campaigns/1/selection/preview", body: lit(""), token: lead,
			wantStatus: 200, wantBody: []string{`"seed":3`, `"captioners_kept":2`, `"captioners_dropped":1`, `"items":8`, `"gold_items":2`,
				`"tasks":10`, `"ratings_needed":20`, `"seconds_per_rating":20`, `"estimated_hours":0.11`, `"captioners":["model0@1"]`},
			after: func(body string) {
				var pv annotation.SelectionPreview
				if err := json.Unmarshal([]byte(body), &pv); err != nil {
					t.Fatal(err)
				}
				fingerprint = pv.Fingerprint
			}},
		{name: "too many examples", method: "POST", path: "/api/v1/campaigns/1/selection/preview", body: lit(`{"examples":1000}`), token: lead,
			wantStatus: 400, wantBody: []string{`"field":"examples"`}},
		{name: "unknown preview field", method: "POST", path: "/api/v1/campaigns/1/selection/preview", body: lit(`{"seed":1}`), token: lead,
			wantStatus: 400, wantBody: []string{`"field":"seed"`}},
		{name: "stale fingerprint", method: "POST", path: "/api/v1/campaigns/1/selection/commit", body: lit(`{"fingerprint":"00"}`), token: lead,
			wantStatus: 409, wantBody: []string{`"code":"conflict"`, `changed since the preview`}},
		{name: "commit", method: "POST", path: "/api/v1/campaigns/1/selection/commit",
			body: func() string { return `{"fingerprint":"` + fingerprint + `"}` }, token: lead, wantStatus: 201,
			wantBody: []string{`"created":10`, `"deleted":0`, `"tasks":10`}},
		{name: "tasks counted", method: "GET", path: "/api/v1/campaigns/1", token: lead, wantStatus: 200, wantBody: []string{`"tasks":10`}},
		{name: "second commit refused", method: "POST", path: "/api/v1/campaigns/1/selection/commit", body: lit(""), token: lead,
			wantStatus: 409, wantBody: []string{`has 10 tasks already: commit with replace`}},
		{name: "replace untouched", method: "POST", path: "/api/v1/campaigns/1/selection/commit", body: lit(`{"replace":true}`), token: lead,
			wantStatus: 201, wantBody: []string{`"created":10`, `"deleted":10`}},
		{name: "commit of a missing campaign", method: "POST", path: "/api/v1/campaigns/9/selection/commit", body: lit(""), token: lead,
			wantStatus: 404, wantBody: []string{`no campaign with id 9`}},
		{name: "bad id", method: "POST", path: "/api/v1/campaigns/x/selection/preview", body: lit(""), token: lead,
			wantStatus: 400, wantBody: []string{`"field":"id"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := ""
			if tt.body != nil {
				body = tt.body()
			}
			rec := app.do(tt.method, tt.path, body, tt.token)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			for _, want := range tt.wantBody {
				if !strings.Contains(rec.Body.String(), want) {
					t.Errorf("body lacks %s:\n%s", want, rec.Body)
				}
			}
			if tt.after != nil {
				tt.after(rec.Body.String())
			}
		})
	}
}

func lit(s string) func() string { return func() string { return s } }

// TestSelectionNotConfigured: a server built without the service answers
// 404 not_configured, as the campaign routes do.
func TestSelectionNotConfigured(t *testing.T) {
	app := newTestApp(t)
	rec := app.do("POST", "/api/v1/campaigns/1/selection/preview", "", app.token(models.RoleLead))
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), `"code":"not_configured"`) {
		t.Errorf("got %d %s", rec.Code, rec.Body)
	}
}
