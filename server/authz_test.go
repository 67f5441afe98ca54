package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"capeval/annotation"
	"capeval/autoeval"
	"capeval/models"
)

// principal is who sends a request of the authorization matrix: a role,
// or nobody (no token at all).
type principal string

const anonymous principal = "anonymous"

// principals in rank order, lowest first: a request that changes state
// (disabling an account, revoking tokens) is sent by the lower ranks,
// who must be refused, before the one allowed to make it.
var principals = []principal{anonymous, principal(models.RoleAnnotator), principal(models.RoleLead), principal(models.RoleAdmin)}

// routeClass says how a refusal looks: the API answers 401, a page
// redirects to the login page.
type routeClass int

const (
	classAPI routeClass = iota
	classPage
	classPublic  // no role needed
	classMetrics // not by role at all: loopback or the metrics token
)

// authzEntry is one route's row of the matrix. Paths hold placeholders
// ({campaign}, {own_task}, …) that authzFixture.expand fills with seeded
// rows' ids, per principal where the row is the principal's own.
type authzEntry struct {
	class routeClass
	min   models.Role // the lowest role allowed (API and page routes)
	// The allowed request: path and body of a request on the principal's
	// own (or any existing) object. allowed lists the statuses it may get;
	// empty means any below 500 other than 401 and 403 (the role check
	// passed; what the handler thinks of the body is another test's).
	path, body string
	allowed    []int
	// The allowed-but-wrong-object request: another annotator's task or
	// rating, an object that does not exist. wrongStatus is what every
	// allowed principal gets for it; wrongPath "" means the route has no
	// object.
	wrongPath, wrongBody string
	wrongStatus          int
}

// authzTable is the matrix, by "METHOD path" as echo registered it. A new
// route without an entry fails TestAuthorizationMatrix.
var authzTable = map[string]authzEntry{
	// Public.
	"GET /healthz":            {class: classPublic, path: "/healthz", allowed: []int{200}},
	"GET /readyz":             {class: classPublic, path: "/readyz", allowed: []int{200}},
	"GET /favicon.ico":        {class: classPublic, path: "/favicon.ico", allowed: []int{204}},
	"GET /static*":            {class: classPublic, path: "/static/css/app.css", allowed: []int{200}},
	"GET /login":              {class: classPublic, path: "/login", allowed: []int{200}},
	"POST /api/v1/login":      {class: classPublic, path: "/api/v1/login", body: `{"email":"","password":""}`, allowed: []int{400}},
	"echo_route_not_found /*": {class: classPublic, path: "/no/such/page", allowed: []int{404}},
	// The API's not-found routes (routes.go registers them after the role
	// groups, whose catch-alls they replace): an unknown endpoint is 404
	// to everyone, so a typo in a script is not reported as a 401 or 403.
	// The routes are public (README), so this tells nobody anything.
	"echo_route_not_found /api/v1":    {class: classPublic, path: "/api/v1", allowed: []int{404}},
	"echo_route_not_found /api/v1/*":  {class: classPublic, path: "/api/v1/no/such/endpoint", allowed: []int{404}},
	"GET /metrics":                    {class: classMetrics, path: "/metrics"},
	"GET /":                           {class: classPage, min: models.RoleAnnotator, path: "/", allowed: []int{303}},
	"GET /annotate":                   {class: classPage, min: models.RoleAnnotator, path: "/annotate", allowed: []int{200}},
	"GET /lead":                       {class: classPage, min: models.RoleLead, path: "/lead", allowed: []int{200}},
	"GET /lead/campaigns/:id":         {class: classPage, min: models.RoleLead, path: "/lead/campaigns/{campaign}", allowed: []int{200}, wrongPath: "/lead/campaigns/x", wrongStatus: 404},
	"GET /admin":                      {class: classPage, min: models.RoleAdmin, path: "/admin", allowed: []int{200}},
	"POST /api/v1/logout":             {min: models.RoleAnnotator, path: "/api/v1/logout", allowed: []int{204}},
	"GET /api/v1/me":                  {min: models.RoleAnnotator, path: "/api/v1/me", allowed: []int{200}},
	"POST /api/v1/me/password":        {min: models.RoleAnnotator, path: "/api/v1/me/password", body: `{"current_password":"wrong guess","new_password":"x"}`},
	"GET /api/v1/annotator/campaigns": {min: models.RoleAnnotator, path: "/api/v1/annotator/campaigns", allowed: []int{200}},
	"GET /api/v1/queue/next": {min: models.RoleAnnotator, path: "/api/v1/queue/next?campaign={campaign}", allowed: []int{200, 204},
		wrongPath: "/api/v1/queue/next?campaign=999999", wrongStatus: 404},
	"POST /api/v1/tasks/:id/heartbeat": {min: models.RoleAnnotator, path: "/api/v1/tasks/{own_task}/heartbeat", allowed: []int{200},
		wrongPath: "/api/v1/tasks/{other_task}/heartbeat", wrongStatus: 404},
	"POST /api/v1/tasks/:id/ratings": {min: models.RoleAnnotator, path: "/api/v1/tasks/{own_task}/ratings", body: `{own_rating_body}`, allowed: []int{201},
		wrongPath: "/api/v1/tasks/{other_task}/ratings", wrongBody: `{wrong_rating_body}`, wrongStatus: 404},
	"POST /api/v1/tasks/:id/skip": {min: models.RoleAnnotator, path: "/api/v1/tasks/{own_skip}/skip", body: `{"reason":"cant_judge"}`, allowed: []int{204},
		wrongPath: "/api/v1/tasks/{other_task}/skip", wrongBody: `{"reason":"cant_judge"}`, wrongStatus: 404},
	"PUT /api/v1/ratings/:id": {min: models.RoleAnnotator, path: "/api/v1/ratings/{own_rating}", body: likertBody("", 2), allowed: []int{200},
		wrongPath: "/api/v1/ratings/{other_rating}", wrongBody: likertBody("", 1), wrongStatus: 404},
	"GET /api/v1/images/:sha256": {min: models.RoleAnnotator, path: "/api/v1/images/{own_image}", allowed: []int{200},
		wrongPath: "/api/v1/images/" + strings.Repeat("0", 64), wrongStatus: 404},

	// Leads.
	"GET /api/v1/campaigns":  {min: models.RoleLead, path: "/api/v1/campaigns", allowed: []int{200}},
	"POST /api/v1/campaigns": {min: models.RoleLead, path: "/api/v1/campaigns", body: `{}`, allowed: []int{400}},
	"GET /api/v1/campaigns/:id": {min: models.RoleLead, path: "/api/v1/campaigns/{campaign}", allowed: []int{200},
		wrongPath: "/api/v1/campaigns/999999", wrongStatus: 404},
	"PATCH /api/v1/campaigns/:id": {min: models.RoleLead, path: "/api/v1/campaigns/{draft}", body: `{"description":"checked by the matrix"}`, allowed: []int{200},
		wrongPath: "/api/v1/campaigns/999999", wrongBody: `{"description":"x"}`, wrongStatus: 404},
	"GET /api/v1/campaigns/:id/audit": {min: models.RoleLead, path: "/api/v1/campaigns/{campaign}/audit", allowed: []int{200},
		wrongPath: "/api/v1/campaigns/999999/audit", wrongStatus: 404},
	"PUT /api/v1/campaigns/:id/thresholds": {min: models.RoleLead, path: "/api/v1/campaigns/{draft}/thresholds", body: `{}`,
		wrongPath: "/api/v1/campaigns/999999/thresholds", wrongBody: `{}`, wrongStatus: 404},
	"POST /api/v1/campaigns/:id/selection/preview": {min: models.RoleLead, path: "/api/v1/campaigns/{draft}/selection/preview", body: `{}`,
		wrongPath: "/api/v1/campaigns/999999/selection/preview", wrongBody: `{}`, wrongStatus: 404},
	"POST /api/v1/campaigns/:id/selection/commit": {min: models.RoleLead, path: "/api/v1/campaigns/{draft}/selection/commit", body: `{}`,
		wrongPath: "/api/v1/campaigns/999999/selection/commit", wrongBody: `{}`, wrongStatus: 404},
	"POST /api/v1/campaigns/:id/jobs": {min: models.RoleLead, path: "/api/v1/campaigns/{campaign}/jobs", body: `{"kind":"text"}`,
		wrongPath: "/api/v1/campaigns/999999/jobs", wrongBody: `{"kind":"text"}`, wrongStatus: 404},
	"GET /api/v1/campaigns/:id/jobs": {min: models.RoleLead, path: "/api/v1/campaigns/{campaign}/jobs", allowed: []int{200},
		wrongPath: "/api/v1/campaigns/999999/jobs", wrongStatus: 404},
	"GET /api/v1/campaigns/:id/captioners": {min: models.RoleLead, path: "/api/v1/campaigns/{campaign}/captioners", allowed: []int{200},
		wrongPath: "/api/v1/campaigns/999999/captioners", wrongStatus: 404},
	"GET /api/v1/campaigns/:id/quality": {min: models.RoleLead, path: "/api/v1/campaigns/{campaign}/quality", allowed: []int{200},
		wrongPath: "/api/v1/campaigns/999999/quality", wrongStatus: 404},
	"PUT /api/v1/campaigns/:id/quality": {min: models.RoleLead, path: "/api/v1/campaigns/{draft}/quality", body: `{}`,
		wrongPath: "/api/v1/campaigns/999999/quality", wrongBody: `{}`, wrongStatus: 404},
	"PUT /api/v1/campaigns/:id/annotators/:annotator/exclusion": {min: models.RoleLead, path: "/api/v1/campaigns/{draft}/annotators/{annotator}/exclusion",
		body: `{"decision":"include","reason":"matrix"}`, wrongPath: "/api/v1/campaigns/999999/annotators/{annotator}/exclusion",
		wrongBody: `{"decision":"include","reason":"matrix"}`, wrongStatus: 404},
	"POST /api/v1/campaigns/:id/replacements": {min: models.RoleLead, path: "/api/v1/campaigns/{draft}/replacements", allowed: []int{200},
		wrongPath: "/api/v1/campaigns/999999/replacements", wrongStatus: 404},
	"POST /api/v1/campaigns/:id/gold": {min: models.RoleLead, path: "/api/v1/campaigns/{draft}/gold", body: `{}`,
		wrongPath: "/api/v1/campaigns/999999/gold", wrongBody: `{}`, wrongStatus: 404},
	"GET /api/v1/campaigns/:id/progress": {min: models.RoleLead, path: "/api/v1/campaigns/{campaign}/progress", allowed: []int{200},
		wrongPath: "/api/v1/campaigns/999999/progress", wrongStatus: 404},
	"POST /api/v1/campaigns/:id/set-aside/:task": {min: models.RoleLead, path: "/api/v1/campaigns/{campaign}/set-aside/{other_task}", body: `{}`,
		wrongPath: "/api/v1/campaigns/999999/set-aside/{other_task}", wrongBody: `{"decision":"put_back"}`, wrongStatus: 404},
	"GET /api/v1/jobs/:id": {min: models.RoleLead, path: "/api/v1/jobs/{job}", allowed: []int{200},
		wrongPath: "/api/v1/jobs/999999", wrongStatus: 404},
	"POST /api/v1/jobs/:id/cancel": {min: models.RoleLead, path: "/api/v1/jobs/{job}/cancel",
		wrongPath: "/api/v1/jobs/999999/cancel", wrongStatus: 404},
	"GET /api/v1/jobs/:id/events": {min: models.RoleLead, path: "/api/v1/jobs/{job}/events", allowed: []int{200},
		wrongPath: "/api/v1/jobs/999999/events", wrongStatus: 404},
	// The upload's Content-Type is checked before the campaign is looked up.
	"POST /api/v1/campaigns/:id/import": {min: models.RoleLead, path: "/api/v1/campaigns/{draft}/import", allowed: []int{400, 415},
		wrongPath: "/api/v1/campaigns/999999/import", wrongStatus: 415},
	// The leaderboard, agreement, adjudication and exports.
	"GET /api/v1/campaigns/:id/leaderboard": {min: models.RoleLead, path: "/api/v1/campaigns/{campaign}/leaderboard",
		wrongPath: "/api/v1/campaigns/999999/leaderboard", wrongStatus: 404},
	"PUT /api/v1/campaigns/:id/weights": {min: models.RoleLead, path: "/api/v1/campaigns/{draft}/weights", body: `{}`,
		wrongPath: "/api/v1/campaigns/999999/weights", wrongBody: `{}`, wrongStatus: 404},
	"GET /api/v1/campaigns/:id/agreement": {min: models.RoleLead, path: "/api/v1/campaigns/{campaign}/agreement",
		wrongPath: "/api/v1/campaigns/999999/agreement", wrongStatus: 404},
	"GET /api/v1/campaigns/:id/adjudication": {min: models.RoleLead, path: "/api/v1/campaigns/{campaign}/adjudication",
		wrongPath: "/api/v1/campaigns/999999/adjudication", wrongStatus: 404},
	"GET /api/v1/campaigns/:id/adjudication/:task": {min: models.RoleLead, path: "/api/v1/campaigns/{campaign}/adjudication/{other_task}",
		wrongPath: "/api/v1/campaigns/999999/adjudication/{other_task}", wrongStatus: 404},
	"PUT /api/v1/campaigns/:id/adjudication/:task": {min: models.RoleLead, path: "/api/v1/campaigns/{campaign}/adjudication/{other_task}", body: `{}`,
		wrongPath: "/api/v1/campaigns/999999/adjudication/{other_task}", wrongBody: `{}`, wrongStatus: 404},
	"GET /api/v1/campaigns/:id/export": {min: models.RoleLead, path: "/api/v1/campaigns/{campaign}/export",
		wrongPath: "/api/v1/campaigns/999999/export", wrongStatus: 404},
	"GET /api/v1/campaigns/:id/charts": {min: models.RoleLead, path: "/api/v1/campaigns/{campaign}/charts",
		wrongPath: "/api/v1/campaigns/999999/charts", wrongStatus: 404},

	// Admins. The bodies are the ones a lead must never get through:
	// creating an admin, disabling one.
	"GET /api/v1/users": {min: models.RoleAdmin, path: "/api/v1/users", allowed: []int{200}},
	"POST /api/v1/users": {min: models.RoleAdmin, path: "/api/v1/users", allowed: []int{201},
		body: `{"email":"new-admin@example.com","name":"New Admin","role":"admin","password":"a long enough new password"}`},
	"PATCH /api/v1/users/:id": {min: models.RoleAdmin, path: "/api/v1/users/{other_admin}", body: `{"disabled":true}`, allowed: []int{200},
		wrongPath: "/api/v1/users/999999", wrongBody: `{"disabled":false}`, wrongStatus: 404},
}

// authzFixture is a server with every service, on a store seeded with a
// collecting campaign (the queue's), a draft one (for the leads' changes),
// a finished job, and per principal its own leases and rating; a second
// annotator holds a lease and a rating nobody else may touch.
type authzFixture struct {
	*queueApp
	vars map[principal]map[string]string
	// annotatorBodies: every 2xx API answer the annotator got.
	annotatorBodies []string
}

func newAuthzFixture(t *testing.T) *authzFixture {
	t.Helper()
	qa, cfg, log := newQueueAppBase(t, models.DialectSQLite)
	app, store := qa.testApp, qa.store
	// The services as `capeval serve` wires them (internal/cli/serve.go).
	campaigns := annotation.NewCampaigns(store, log)
	quality := annotation.NewQuality(store, log)
	qa.queue = annotation.NewQueue(store, qa.images, log, annotation.QueueOptions{Now: app.clock.Now, Admitter: quality})
	jobs := autoeval.NewJobs(store, false, log)
	app.srv = New(cfg, store, app.accounts, Services{
		Campaigns: campaigns,
		Selection: annotation.NewSelection(store, campaigns, log),
		Jobs:      jobs,
		Import:    annotation.NewImporter(store, qa.images, log),
		Queue:     qa.queue,
		Quality:   quality,
		Progress:  annotation.NewProgress(store, quality, log),
	}, log)
	for _, role := range []models.Role{models.RoleAdmin, models.RoleLead, models.RoleAnnotator} {
		app.users[role] = qa.addUser(string(role), role)
	}
	fx := &authzFixture{queueApp: qa, vars: map[principal]map[string]string{}}
	ctx := context.Background()

	collecting := qa.seedCampaign("authz", models.ModeLikert, 16, 1, 4)
	draft := models.Campaign{Name: "authz-draft", Mode: models.ModeLikert, Status: models.StatusDraft}
	if err := store.CreateCampaign(ctx, &draft); err != nil {
		t.Fatal(err)
	}
	job, err := jobs.Start(ctx, collecting.campaign.ID, autoeval.KindText)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.Cancel(ctx, job.ID); err != nil { // ended: its event stream ends at once
		t.Fatal(err)
	}
	otherAdmin := qa.addUser("admin2", models.RoleAdmin)
	shared := map[string]string{
		"campaign":    fmt.Sprint(collecting.campaign.ID),
		"draft":       fmt.Sprint(draft.ID),
		"job":         fmt.Sprint(job.ID),
		"annotator":   fmt.Sprint(app.users[models.RoleAnnotator].ID),
		"other_admin": fmt.Sprint(otherAdmin.ID),
	}
	next := "/api/v1/queue/next?campaign=" + shared["campaign"]
	// lease takes the next task for u and returns its id and image.
	lease := func(tok string, after int64) (int64, string) {
		q := next
		if after > 0 {
			q += fmt.Sprintf("&after=%d", after)
		}
		code, m, body := qa.call("GET", q, "", tok)
		if code != http.StatusOK {
			t.Fatalf("seeding: next: %d %s", code, body)
		}
		id := taskID(t, m)
		return id, collecting.sha[id]
	}
	// own gives u a rated task (its rating), a leased one to heartbeat and
	// rate, and a leased one to skip.
	own := func(u *models.User) map[string]string {
		tok := qa.tokenFor(u)
		t1, _ := lease(tok, 0)
		code, m, body := qa.call("POST", fmt.Sprintf("/api/v1/tasks/%d/ratings", t1), likertBody(u.Name+"-seed", 4), tok)
		if code != http.StatusCreated {
			t.Fatalf("seeding: rate: %d %s", code, body)
		}
		t2, img := lease(tok, t1)
		t3, _ := lease(tok, t2)
		v := map[string]string{
			"own_rating":        fmt.Sprint(int64(m["id"].(float64))),
			"own_task":          fmt.Sprint(t2),
			"own_image":         img,
			"own_skip":          fmt.Sprint(t3),
			"own_rating_body":   likertBody(u.Name+"-matrix", 3),
			"wrong_rating_body": likertBody(u.Name+"-wrong", 3),
		}
		for k, s := range shared {
			v[k] = s
		}
		return v
	}
	other := own(qa.addUser("annotator2", models.RoleAnnotator))
	for _, p := range principals {
		var v map[string]string
		if p == anonymous {
			v = map[string]string{}
			for k, s := range shared {
				v[k] = s
			}
			// Anonymous requests are refused before any object is
			// looked at; these only make the paths real.
			for _, k := range []string{"own_rating", "own_task", "own_image", "own_skip", "own_rating_body", "wrong_rating_body"} {
				v[k] = other[k]
			}
		} else {
			v = own(app.users[models.Role(p)])
		}
		v["other_task"], v["other_rating"] = other["own_task"], other["own_rating"]
		fx.vars[p] = v
	}
	return fx
}

// expand fills a path or body's placeholders with p's values; a body
// that is one placeholder is replaced whole.
func (fx *authzFixture) expand(p principal, s string) string {
	for k, v := range fx.vars[p] {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	if strings.Contains(s, "{own_") || strings.Contains(s, "{other_") {
		fx.t.Fatalf("unfilled placeholder in %q", s)
	}
	return s
}

// send sends one request as p, with a token issued just before it (an
// earlier logout or password change revoked the older ones).
func (fx *authzFixture) send(p principal, method, path, body string) *httptest.ResponseRecorder {
	fx.t.Helper()
	tok := ""
	if p != anonymous {
		u, err := fx.store.UserByID(context.Background(), fx.users[models.Role(p)].ID)
		if err != nil {
			fx.t.Fatal(err)
		}
		tok = fx.tokenFor(u)
	}
	// An event stream ends when its job has; the deadline only keeps a
	// regression from hanging the test.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequestWithContext(ctx, method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	fx.srv.Handler().ServeHTTP(rec, req)
	if p == principal(models.RoleAnnotator) && rec.Code < 300 && strings.HasPrefix(path, "/api/") {
		fx.annotatorBodies = append(fx.annotatorBodies, method+" "+path+" → "+rec.Body.String())
	}
	return rec
}

// TestAuthorizationMatrix sends every route of the router as every role
// and as nobody, with real path parameters naming seeded rows: anonymous
// requests get 401 (API) or a redirect to the login page (pages), roles
// below the route's get 403, allowed roles pass the check and get the
// row's status for another annotator's or a missing object. Afterwards
// no answer the annotator got names a captioner, a score, a metric or
// gold.
func TestAuthorizationMatrix(t *testing.T) {
	fx := newAuthzFixture(t)
	var keys []string
	for _, r := range fx.srv.echo.Routes() {
		key := r.Method + " " + r.Path
		if _, ok := authzTable[key]; !ok {
			t.Errorf("route %s has no entry in authzTable (server/authz_test.go): add one with its minimum role and what a wrong object gets", key)
			continue
		}
		if !slices.Contains(keys, key) {
			keys = append(keys, key)
		}
	}
	for key := range authzTable {
		if !slices.Contains(keys, key) {
			// Logged, not failed: a route another change removes must not
			// break this test before the entry goes.
			t.Logf("authzTable has an entry for %s, which the router does not have: remove it", key)
		}
	}
	sort.Strings(keys)
	t.Logf("authorization matrix: %d routes × %d principals = %d cells", len(keys), len(principals), len(keys)*len(principals))

	for _, key := range keys {
		e := authzTable[key]
		method := strings.SplitN(key, " ", 2)[0]
		if method == echoRouteNotFound {
			method = http.MethodGet
		}
		t.Run(key, func(t *testing.T) {
			for _, p := range principals {
				path, body := fx.expand(p, e.path), fx.expand(p, e.body)
				rec := fx.send(p, method, path, body)
				got := rec.Code
				switch {
				case e.class == classMetrics:
					// Not a role's: no token opens it from a non-loopback
					// address (metrics_test.go tests the rules).
					if got != http.StatusForbidden {
						t.Errorf("%s: %s %s: %d, want 403: metrics are not a role's to read\n%s", p, method, path, got, rec.Body)
					}
					continue
				case e.class != classPublic && p == anonymous && e.class == classPage:
					if loc := rec.Header().Get("Location"); got != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?next=") {
						t.Errorf("anonymous: %s %s: %d to %q, want 303 to /login", method, path, got, loc)
					}
					continue
				case e.class != classPublic && p == anonymous:
					if got != http.StatusUnauthorized {
						t.Errorf("anonymous: %s %s: %d, want 401\n%s", method, path, got, rec.Body)
					}
					continue
				case e.class != classPublic && roleRank[models.Role(p)] < roleRank[e.min]:
					if got != http.StatusForbidden {
						t.Errorf("%s below %s: %s %s: %d, want 403\n%s", p, e.min, method, path, got, rec.Body)
					}
					if e.wrongPath != "" {
						wp := fx.expand(p, e.wrongPath)
						if rec := fx.send(p, method, wp, fx.expand(p, e.wrongBody)); rec.Code != http.StatusForbidden && e.class != classPublic {
							t.Errorf("%s below %s: %s %s: %d, want 403\n%s", p, e.min, method, wp, rec.Code, rec.Body)
						}
					}
					continue
				}
				// Allowed: the role check passed.
				if len(e.allowed) > 0 && !slices.Contains(e.allowed, got) ||
					got == http.StatusUnauthorized || got == http.StatusForbidden || got >= 500 {
					t.Errorf("%s: %s %s: %d, want %v (allowed)\n%s", p, method, path, got, e.allowedText(), rec.Body)
				}
				if e.wrongPath != "" {
					wp := fx.expand(p, e.wrongPath)
					if rec := fx.send(p, method, wp, fx.expand(p, e.wrongBody)); rec.Code != e.wrongStatus {
						t.Errorf("%s: %s %s (wrong object): %d, want %d\n%s", p, method, wp, rec.Code, e.wrongStatus, rec.Body)
					}
				}
			}
		})
	}

	t.Run("blindness", func(t *testing.T) {
		if len(fx.annotatorBodies) < 8 {
			t.Fatalf("only %d 2xx answers to the annotator: the matrix did not reach the rating endpoints", len(fx.annotatorBodies))
		}
		for _, b := range fx.annotatorBodies {
			low := strings.ToLower(b)
			for _, leak := range []string{strings.ToLower(secretCaptionerA), strings.ToLower(secretCaptionerB), secretVersion,
				fmt.Sprint(secretScore), "cider", "gold", "captioner", "known_good"} {
				if i := strings.Index(low, leak); i >= 0 {
					t.Errorf("an annotator's answer contains %q: …%s…", leak, b[max(0, i-120):min(len(b), i+80)])
				}
			}
		}
	})
}

// echoRouteNotFound is the method echo lists RouteNotFound handlers under.
const echoRouteNotFound = "echo_route_not_found"

func (e authzEntry) allowedText() string {
	if len(e.allowed) == 0 {
		return "any status below 500 but 401 and 403"
	}
	return fmt.Sprint(e.allowed)
}
