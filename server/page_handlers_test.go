package server

import (
	"net/http"
	"strings"
	"testing"

	"capeval/models"
)

// TestCampaignPage checks the lead's campaign page route: leads (and
// admins) get the page, annotators the 403 page, the signed-out the login
// page that comes back, and an id that cannot be a campaign the 404 page.
func TestCampaignPage(t *testing.T) {
	app := newTestApp(t)
	tests := []struct {
		name, path   string
		role         models.Role
		wantStatus   int
		wantLocation string
		wantBody     string
	}{
		{"lead", "/lead/campaigns/1", models.RoleLead, http.StatusOK, "", `src="/static/js/campaign.js"`},
		{"admin", "/lead/campaigns/42", models.RoleAdmin, http.StatusOK, "", `id="thresholds-form"`},
		{"annotator refused", "/lead/campaigns/1", models.RoleAnnotator, http.StatusForbidden, "", "403"},
		{"signed out", "/lead/campaigns/1", "", http.StatusSeeOther, "/login?next=%2Flead%2Fcampaigns%2F1", ""},
		{"id not a number", "/lead/campaigns/abc", models.RoleLead, http.StatusNotFound, "", "No such campaign: abc"},
		{"id zero", "/lead/campaigns/0", models.RoleLead, http.StatusNotFound, "", "404"},
		{"id negative", "/lead/campaigns/-3", models.RoleLead, http.StatusNotFound, "", "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := ""
			if tt.role != "" {
				token = app.token(tt.role)
			}
			rec := app.do("GET", tt.path, "", token)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if got := rec.Header().Get("Location"); got != tt.wantLocation {
				t.Errorf("Location %q, want %q", got, tt.wantLocation)
			}
			if !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("body does not contain %q:\n%s", tt.wantBody, rec.Body)
			}
			if tt.wantStatus != http.StatusSeeOther && !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
				t.Errorf("Content-Type %q, want text/html", rec.Header().Get("Content-Type"))
			}
		})
	}
}
