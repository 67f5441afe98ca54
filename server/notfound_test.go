package server

import (
	"strings"
	"testing"

	"capeval/models"
)

// TestUnknownAPIPathIsNotFound: an endpoint that does not exist answers 404
// to everyone, anonymous included, rather than the 401 or 403 of a role
// group's catch-all (which would say it exists); an endpoint that exists
// still asks for a login.
func TestUnknownAPIPathIsNotFound(t *testing.T) {
	app := newTestApp(t)
	tests := []struct {
		name, method, path string
		role               models.Role // "" = anonymous
		wantStatus         int
		wantBody           string
	}{
		{"anonymous GET", "GET", "/api/v1/nope", "", 404, `"code":"not_found"`},
		{"anonymous POST", "POST", "/api/v1/nope/deeper", "", 404, `no such page or endpoint: /api/v1/nope/deeper`},
		{"annotator under a campaign", "GET", "/api/v1/campaigns/1/nope", models.RoleAnnotator, 404, `"code":"not_found"`},
		{"lead", "DELETE", "/api/v1/users/nope/x", models.RoleLead, 404, `"code":"not_found"`},
		{"admin", "GET", "/api/v1/nope", models.RoleAdmin, 404, `"code":"not_found"`},
		{"the group's own path", "GET", "/api/v1", "", 404, `"code":"not_found"`},
		{"an existing endpoint still needs a login", "GET", "/api/v1/campaigns", "", 401, `"code":"unauthorized"`},
		{"and its role", "GET", "/api/v1/users", models.RoleLead, 403, `"code":"forbidden"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := ""
			if tt.role != "" {
				token = app.token(tt.role)
			}
			body := ""
			if tt.method == "POST" {
				body = "{}"
			}
			rec := app.do(tt.method, tt.path, body, token)
			if rec.Code != tt.wantStatus || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("%s %s = %d %s, want %d with %s", tt.method, tt.path, rec.Code, rec.Body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}
