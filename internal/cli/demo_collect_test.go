package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"capeval/annotation/demo"
)

// TestServeOpensTheDemoQueue: `capeval serve` with the demo starts with
// its text metrics computed and its queue committed and collecting, so
// both demo annotators get a task at once; a restart changes nothing; the
// lead closes it from the command line, for good.
func TestServeOpensTheDemoQueue(t *testing.T) {
	setEnv(t)
	srv := startServe(t)
	login := func(a demo.Account) string {
		t.Helper()
		resp, err := http.Post(srv.base+"/api/v1/login", "application/json", strings.NewReader(fmt.Sprintf(`{"email":%q,"password":%q}`, a.Email, a.Password)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got struct{ Token string }
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || got.Token == "" {
			t.Fatalf("login %s: %d %v", a.Email, resp.StatusCode, err)
		}
		return got.Token
	}
	get := func(path, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	lead := login(demo.Accounts[1])
	code, body := get("/api/v1/campaigns/1", lead)
	if code != 200 || !strings.Contains(body, `"status":"collecting"`) || !strings.Contains(body, `"ratings_per_item":6`) ||
		!strings.Contains(body, `"instructions":"Each picture shows`) {
		t.Fatalf("the demo campaign: %d %s", code, body)
	}
	var camp struct{ Counts struct{ Tasks int } }
	if err := json.Unmarshal([]byte(body), &camp); err != nil || camp.Counts.Tasks < 40 {
		t.Fatalf("the demo's queue: %+v %v", camp, err)
	}
	if code, body := get("/api/v1/campaigns/1/captioners", lead); code != 200 || !strings.Contains(body, `"CIDEr":`) {
		t.Errorf("the demo's text metrics: %d %s", code, body)
	}
	if code, body := get("/api/v1/campaigns/1/jobs", lead); code != 200 || !strings.Contains(body, `"kind":"text","status":"done"`) {
		t.Errorf("the demo's text job: %d %s", code, body)
	}
	if code, body := get("/api/v1/campaigns/1/progress", lead); code != 200 || !strings.Contains(body, `"status":"collecting"`) ||
		!strings.Contains(body, fmt.Sprintf(`"min_seconds":%g`, demo.Quality.MinSeconds)) {
		t.Errorf("the demo's progress: %d %s", code, body)
	}
	for _, a := range demo.Accounts[2:] {
		tok := login(a)
		if code, body := get("/api/v1/annotator/campaigns", tok); code != 200 || !strings.Contains(body, `"name":"`+demo.CampaignName+`"`) {
			t.Errorf("%s's campaigns: %d %s", a.Email, code, body)
		}
		if code, body := get("/api/v1/queue/next?campaign=1", tok); code != 200 || !strings.Contains(body, `"task_id":`) {
			t.Errorf("%s's first task: %d %s", a.Email, code, body)
		}
	}
	if code := srv.stop(t); code != 0 {
		t.Fatalf("serve exited %d: %s", code, srv.errOut.String())
	}

	// A restart finds the queue open and leaves it as it is.
	srv = startServe(t)
	lead = login(demo.Accounts[1])
	code, body = get("/api/v1/campaigns/1", lead)
	var again struct{ Counts struct{ Tasks int } }
	if err := json.Unmarshal([]byte(body), &again); code != 200 || err != nil || again.Counts.Tasks != camp.Counts.Tasks {
		t.Errorf("after a restart: %d %+v, want %d tasks", code, again, camp.Counts.Tasks)
	}
	if code := srv.stop(t); code != 0 {
		t.Fatalf("serve exited %d: %s", code, srv.errOut.String())
	}

	runCases(t, []cliCase{
		{"close the demo", "", []string{"campaign", "update", demo.CampaignName, "--status", "closed"}, 0, []string{"status:         closed"}},
		{"no way back", "", []string{"campaign", "update", "1", "--status", "collecting"}, 1, []string{"only moves forward"}},
	})
	srv = startServe(t)
	ann := login(demo.Accounts[2])
	if code, body := get("/api/v1/queue/next?campaign=1", ann); code != 204 {
		t.Errorf("next in the closed demo: %d %s", code, body)
	}
}
