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

// newLeaderboardApp is the opened demo with the services serve wires for
// the leaderboard: the leaderboard service and campaigns whose blend
// weights are checked by the leaderboard's schema.
func newLeaderboardApp(t *testing.T) *testApp {
	t.Helper()
	app := newDemoApp(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := demoServices(app)
	svc.Campaigns = annotation.NewCampaigns(app.store, log, annotation.WithThresholdsValidator(annotation.ValidateThresholds),
		annotation.WithBlendWeightsValidator(annotation.ValidateBlendWeights))
	svc.Leaderboards = annotation.NewLeaderboards(app.store, annotation.NewQuality(app.store, log), log)
	app.srv = New(app.srv.cfg, app.store, app.accounts, svc, app.srv.log)
	return app
}

// TestLeaderboardAPI drives the leaderboard, agreement, weights and
// adjudication endpoints of the opened demo: what each answers, the
// lead-only role, the errors, and that a saved weighting and an
// adjudication change what the leaderboard says (and are audited).
func TestLeaderboardAPI(t *testing.T) {
	app := newLeaderboardApp(t)
	lead, annot := app.token(models.RoleLead), app.token(models.RoleAnnotator)
	id := demoCampaignID(t, app)
	base := fmt.Sprintf("/api/v1/campaigns/%d", id)

	var queues annotation.AdjudicationQueues
	rec := app.do("GET", base+"/adjudication?resamples=50", "", lead)
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &queues) != nil || len(queues.Disagreement) == 0 {
		t.Fatalf("adjudication queues: %d %.300s", rec.Code, rec.Body)
	}
	item := queues.Disagreement[0]
	itemPath := fmt.Sprintf("%s/adjudication/%d", base, item.TaskID)

	tests := []struct {
		name, method, path, body, token string
		wantStatus                      int
		wantBody                        string
	}{
		{"leaderboard", "GET", base + "/leaderboard?resamples=100", "", lead, 200, `"rank_range"`},
		{"leaderboard keys", "GET", base + "/leaderboard?resamples=100", "", lead, 200, `"metric_human_correlation"`},
		{"leaderboard with weights", "GET", base + "/leaderboard?resamples=100&weights=human%3D1,CIDEr%3D0.5&normalization=rank", "", lead, 200, `"normalization":"rank"`},
		{"leaderboard of a group", "GET", base + "/leaderboard?resamples=100&group=ui", "", lead, 200, `"group":"ui"`},
		{"an annotator may not see it", "GET", base + "/leaderboard", "", annot, 403, `forbidden`},
		{"unknown source", "GET", base + "/leaderboard?weights=speed%3D1", "", lead, 400, `weights.speed`},
		{"weights not numbers", "GET", base + "/leaderboard?weights=human%3Dlots", "", lead, 400, `"field":"weights"`},
		{"bad annotators", "GET", base + "/leaderboard?annotators=1,x", "", lead, 400, `"field":"annotators"`},
		{"bad consensus", "GET", base + "/leaderboard?consensus=median", "", lead, 400, `consensus`},
		{"missing campaign", "GET", "/api/v1/campaigns/999999/leaderboard", "", lead, 404, `not_found`},
		{"agreement", "GET", base + "/agreement?resamples=50", "", lead, 200, `"fleiss_kappa"`},
		{"agreement annotators", "GET", base + "/agreement?resamples=50", "", lead, 200, `"rest_correlation"`},
		{"agreement for annotators", "GET", base + "/agreement", "", annot, 403, `forbidden`},
		{"open an item", "GET", itemPath, "", lead, 200, `"ratings"`},
		{"open a missing task", "GET", base + "/adjudication/999999", "", lead, 404, `not_found`},
		{"adjudicate out of the scale", "PUT", itemPath, fmt.Sprintf(`{"criterion":%q,"value":9}`, item.Criterion), lead, 400, `"field":"value"`},
		{"adjudicate an unknown criterion", "PUT", itemPath, `{"criterion":"speed","value":3}`, lead, 400, `"field":"criterion"`},
		{"annotators may not adjudicate", "PUT", itemPath, fmt.Sprintf(`{"criterion":%q,"value":3}`, item.Criterion), annot, 403, `forbidden`},
		{"bad weights document", "PUT", base + "/weights", `{"weights":{"human":-1}}`, lead, 400, `blend_weights.weights.human`},
		{"weights with unknown fields", "PUT", base + "/weights", `{"weights":{"human":1},"colour":"red"}`, lead, 400, `unknown field`},
		{"annotators may not weigh", "PUT", base + "/weights", `{"weights":{"human":1}}`, annot, 403, `forbidden`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := app.do(tt.method, tt.path, tt.body, tt.token)
			if rec.Code != tt.wantStatus || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("%s %s = %d %.400s; want %d with %s", tt.method, tt.path, rec.Code, rec.Body, tt.wantStatus, tt.wantBody)
			}
		})
	}

	// A saved weighting is what the leaderboard uses, and is audited.
	rec = app.do("PUT", base+"/weights", `{"weights":{"human":1,"CIDEr":2},"normalization":"minmax"}`, lead)
	if rec.Code != http.StatusOK {
		t.Fatalf("save weights: %d %s", rec.Code, rec.Body)
	}
	var lb annotation.Leaderboard
	rec = app.do("GET", base+"/leaderboard?resamples=50", "", lead)
	if json.Unmarshal(rec.Body.Bytes(), &lb) != nil || lb.Provenance.Settings.Weights["CIDEr"] != 2 || lb.Provenance.Settings.Normalization != "minmax" {
		t.Errorf("leaderboard after saving weights: %+v", lb.Provenance.Settings)
	}
	// Adjudicate: the value is in force, the leaderboard counts it, the
	// audit log has it.
	body := fmt.Sprintf(`{"criterion":%q,"value":2.5,"note":"checked the image"}`, item.Criterion)
	if item.Criterion == annotation.ChoiceCriterion {
		body = `{"criterion":"choice","choice":"tie","note":"checked the image"}`
	}
	rec = app.do("PUT", itemPath, body, lead)
	var d annotation.AdjudicationDetail
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &d) != nil || len(d.InForce) != 1 {
		t.Fatalf("adjudicate: %d %.400s", rec.Code, rec.Body)
	}
	rec = app.do("GET", base+"/leaderboard?resamples=50", "", lead)
	lb = annotation.Leaderboard{}
	if json.Unmarshal(rec.Body.Bytes(), &lb) != nil || lb.Provenance.Adjudications != 1 {
		t.Errorf("leaderboard after adjudicating: %d adjudications", lb.Provenance.Adjudications)
	}
	audit, err := app.store.AuditLog(context.Background(), id, 20)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range audit {
		seen[e.Action] = true
	}
	if !seen[annotation.AuditAdjudicate] || !seen[annotation.AuditBlendWeights] {
		t.Errorf("audit actions %v: want %s and %s", seen, annotation.AuditAdjudicate, annotation.AuditBlendWeights)
	}
}
