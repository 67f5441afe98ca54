package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"capeval/annotation"
	"capeval/models"
)

// newCampaignTestApp is newTestApp with the real campaign service.
func newCampaignTestApp(t *testing.T) *testApp {
	t.Helper()
	app := newTestApp(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	app.srv = New(app.srv.cfg, app.store, app.accounts, Services{Campaigns: annotation.NewCampaigns(app.store, log)}, log)
	return app
}

// TestCampaignAPI runs its cases in order on one database: later cases see
// what earlier ones created (campaign 1 "Spring", then 2 "AB").
func TestCampaignAPI(t *testing.T) {
	app := newCampaignTestApp(t)
	lead, annot, admin := app.token(models.RoleLead), app.token(models.RoleAnnotator), app.token(models.RoleAdmin)
	annID := app.users[models.RoleAnnotator].ID
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		token      string
		wantStatus int
		wantBody   []string // substrings of the response body
	}{
		{"list empty", "GET", "/api/v1/campaigns", "", lead, 200, []string{`{"campaigns":[]}`}},
		{"list needs a token", "GET", "/api/v1/campaigns", "", "", 401, []string{`"code":"unauthorized"`}},
		{"annotators may not list", "GET", "/api/v1/campaigns", "", annot, 403, []string{`"code":"forbidden"`}},
		{"annotators may not create", "POST", "/api/v1/campaigns", `{"name":"x"}`, annot, 403, []string{`"code":"forbidden"`}},
		{"create with defaults", "POST", "/api/v1/campaigns", `{"name":"Spring","description":"first"}`, lead, 201,
			[]string{`"id":1`, `"name":"Spring"`, `"mode":"likert"`, `"status":"draft"`, `"key":"precision"`, `"key":"overall"`,
				`"annotators":[]`, `"thresholds":null`, `"counts":{"images":0,"captioners":0,"captions":0,"tasks":0}`}},
		{"create pairwise with annotators by id and email", "POST", "/api/v1/campaigns",
			fmt.Sprintf(`{"name":"AB","mode":"pairwise","annotators":[%d,"Annotator@Example.com"]}`, annID), admin, 201,
			[]string{`"mode":"pairwise"`, `"annotators":[{"id":` + fmt.Sprint(annID) + `,"email":"annotator@example.com"`}},
		{"duplicate name", "POST", "/api/v1/campaigns", `{"name":"Spring"}`, lead, 409,
			[]string{`"code":"conflict"`, `a campaign named \"Spring\" exists already`}},
		{"every problem listed", "POST", "/api/v1/campaigns",
			`{"name":"","mode":"ranking","rubric":{"criteria":[{"key":"x","name":"X","scale":{"min":1,"max":5,"labels":["a"]}}]},"annotators":["nobody@example.com"]}`,
			lead, 400, []string{`"code":"invalid_input"`, `"field":"name"`, `"problems":[{"where":"name"`, `{"where":"mode"`,
				`{"where":"rubric.criteria[0].scale.labels","message":"1 labels, want 5`}},
		{"unknown annotator", "POST", "/api/v1/campaigns", `{"name":"N","annotators":["nobody@example.com"]}`, lead, 400,
			[]string{`"field":"annotators[0]"`, `no enabled annotator account with id or email \"nobody@example.com\"`}},
		{"annotator of the wrong type", "POST", "/api/v1/campaigns", `{"name":"N","annotators":[true]}`, lead, 400,
			[]string{`"code":"invalid_input"`, `want a user id`}},
		{"unknown field", "POST", "/api/v1/campaigns", `{"name":"N","owner":"me"}`, lead, 400, []string{`unknown field \"owner\"`}},
		{"list after creating", "GET", "/api/v1/campaigns", "", lead, 200,
			[]string{`"name":"AB"`, `"name":"Spring"`, `"annotators":1`, `"counts":{"images":0`}},
		{"get", "GET", "/api/v1/campaigns/1", "", lead, 200, []string{`"name":"Spring"`, `"rubric":{"criteria":[`}},
		{"get missing", "GET", "/api/v1/campaigns/99", "", lead, 404, []string{`"code":"not_found"`, `no campaign with id 99`}},
		{"get bad id", "GET", "/api/v1/campaigns/abc", "", lead, 400, []string{`"field":"id"`}},
		{"annotators may not get", "GET", "/api/v1/campaigns/1", "", annot, 403, []string{`"code":"forbidden"`}},
		{"patch nothing", "PATCH", "/api/v1/campaigns/1", `{}`, lead, 200, []string{`"name":"Spring"`}},
		{"patch thresholds and status", "PATCH", "/api/v1/campaigns/1",
			`{"thresholds":{"top_k":3},"status":"collecting","description":"second"}`, lead, 200,
			[]string{`"thresholds":{"top_k":3}`, `"status":"collecting"`, `"description":"second"`}},
		{"status backwards", "PATCH", "/api/v1/campaigns/1", `{"status":"draft"}`, lead, 409,
			[]string{`"code":"conflict"`, `only moves forward`}},
		{"thresholds not an object", "PATCH", "/api/v1/campaigns/1", `{"thresholds":[3]}`, lead, 400,
			[]string{`"field":"thresholds"`, `want a JSON object or null`}},
		{"thresholds cleared", "PATCH", "/api/v1/campaigns/1", `{"thresholds":null}`, lead, 200, []string{`"thresholds":null`}},
		{"rubric reset to the default it has: no change", "PATCH", "/api/v1/campaigns/1", `{"rubric":null}`, lead, 200,
			[]string{`"key":"fluency"`}},
		{"annotators emptied", "PATCH", "/api/v1/campaigns/2", `{"annotators":[]}`, lead, 200, []string{`"annotators":[]`}},
		{"patch missing", "PATCH", "/api/v1/campaigns/99", `{"name":"x"}`, lead, 404, []string{`"code":"not_found"`}},
		{"rename to a taken name", "PATCH", "/api/v1/campaigns/2", `{"name":"Spring"}`, lead, 409, []string{`exists already`}},
		{"audit", "GET", "/api/v1/campaigns/1/audit", "", lead, 200,
			[]string{`"action":"campaign.thresholds","before":{"top_k":3},"after":null`, `"action":"campaign.status","before":"draft","after":"collecting"`,
				`"action":"campaign.create"`, `"actor":{"id":` + fmt.Sprint(app.users[models.RoleLead].ID) + `,"email":"lead@example.com"`}},
		{"audit limit", "GET", "/api/v1/campaigns/1/audit?limit=1", "", lead, 200, []string{`{"entries":[{"id":6,`, `"after":null`}},
		{"audit bad limit", "GET", "/api/v1/campaigns/1/audit?limit=0", "", lead, 400, []string{`"field":"limit"`}},
		{"audit missing", "GET", "/api/v1/campaigns/99/audit", "", lead, 404, []string{`"code":"not_found"`}},
		{"annotators may not read the audit", "GET", "/api/v1/campaigns/1/audit", "", annot, 403, []string{`"code":"forbidden"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := app.do(tt.method, tt.path, tt.body, tt.token)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			for _, want := range tt.wantBody {
				if !strings.Contains(rec.Body.String(), want) {
					t.Errorf("body %s does not contain %s", rec.Body, want)
				}
			}
			if tt.method == "POST" && rec.Code == http.StatusCreated {
				var c struct{ ID int64 }
				if err := json.Unmarshal(rec.Body.Bytes(), &c); err != nil {
					t.Fatal(err)
				}
				if loc := rec.Header().Get("Location"); loc != fmt.Sprintf("/api/v1/campaigns/%d", c.ID) {
					t.Errorf("Location = %q", loc)
				}
			}
		})
	}

	// One entry per kind of change ("patch thresholds and status" made
	// three in one transaction); refused changes and no-ops left none.
	log, err := app.store.AuditLog(context.Background(), 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action)
	}
	want := "campaign.thresholds campaign.thresholds campaign.status campaign.update campaign.create"
	if got := strings.Join(actions, " "); got != want {
		t.Errorf("audit actions of campaign 1 = %s, want %s", got, want)
	}
}

// Without a campaign service (a server built for other tests), the routes
// answer 404 not_configured rather than panic; the lead page shows an
// empty list for it.
func TestCampaignAPIWithoutService(t *testing.T) {
	app := newTestApp(t)
	rec := app.do("GET", "/api/v1/campaigns", "", app.token(models.RoleLead))
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `"code":"not_configured"`) {
		t.Fatalf("status %d body %s", rec.Code, rec.Body)
	}
}
