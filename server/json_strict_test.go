package server

import (
	"strings"
	"testing"

	"capeval/models"
)

// TestJSONKeysAreExact: a body whose meaning encoding/json would pick for
// its sender (a key given twice: the last wins, or two objects merge; a
// field named in another case, long s included: json matches it anyway)
// is refused with the field named, and nothing is written; the exact body
// passes.
func TestJSONKeysAreExact(t *testing.T) {
	app := newTestApp(t)
	admin := app.token(models.RoleAdmin)
	user := func(extra string) string {
		return `{"email":"new@example.com","role":"annotator","password":"longenough"` + extra + `}`
	}
	tests := []struct {
		name, path, body, token string
		wantStatus              int
		wantBody                string
	}{
		{"key twice", "/api/v1/login", `{"email":"a@example.com","email":"lead@example.com","password":"x"}`, "", 400,
			`field \"email\" is given twice`},
		{"key twice, once escaped", "/api/v1/login", `{"email":"a@example.com","em\u0061il":"lead@example.com","password":"x"}`, "", 400,
			`"field":"email"`},
		{"field in another case", "/api/v1/login", `{"Email":"lead@example.com","password":"x"}`, "", 400,
			`unknown field \"Email\": field names are case-sensitive (did you mean \"email\"?)`},
		{"long s for s", "/api/v1/login", `{"email":"lead@example.com","paſsword":"x"}`, "", 400,
			`did you mean \"password\"?`},
		{"nested key twice", "/api/v1/users", user(`,"name":"n","name":"m"`), admin, 400, `"field":"name"`},
		{"case in a created user", "/api/v1/users", user(`,"Name":"n"`), admin, 400, `case-sensitive`},
		{"the exact body", "/api/v1/users", user(`,"name":"n"`), admin, 201, `"email":"new@example.com"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := app.do("POST", tt.path, tt.body, tt.token)
			if rec.Code != tt.wantStatus || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Fatalf("POST %s %s = %d %s, want %d with %s", tt.path, tt.body, rec.Code, rec.Body, tt.wantStatus, tt.wantBody)
			}
		})
	}
	// Only the exact body created a user.
	rec := app.do("GET", "/api/v1/users", "", admin)
	if n := strings.Count(rec.Body.String(), "new@example.com"); n != 1 {
		t.Errorf("%d users new@example.com, want 1: %s", n, rec.Body)
	}
}
