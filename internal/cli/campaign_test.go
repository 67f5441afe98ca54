package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"capeval/annotation/demo"
	"capeval/models"
)

// TestCampaignCommand runs its cases in order on one database holding the
// demo campaign (id 1); later cases see what earlier ones did.
func TestCampaignCommand(t *testing.T) {
	dir := setEnv(t)
	loadDemoFor(t, dir)

	rubric := filepath.Join(t.TempDir(), "rubric.json")
	if err := os.WriteFile(rubric, []byte(`{"criteria":[{"key":"better","name":"Which is better?","description":"d",`+
		`"scale":{"min":1,"max":5,"labels":["A much","A","same","B","B much"]}}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []cliCase{
		{"help", "", []string{"campaign", "-h"}, 0, []string{"list    list campaigns", "update  change"}},
		{"help of a subcommand", "", []string{"campaign", "update", "-h"}, 0, []string{"only moves forward", "-thresholds JSON", "-as EMAIL"}},
		{"unknown subcommand", "", []string{"campaign", "delete"}, 2, []string{`unknown subcommand "delete"`}},
		{"the demo is listed with its counts", "", []string{"campaign", "list"}, 0,
			[]string{"ID  NAME", "1   Demo: coloured shapes  likert  draft   48      4           192       0      all"}},
		{"list as JSON", "", []string{"campaign", "list", "--format", "json"}, 0,
			[]string{`"name": "Demo: coloured shapes"`, `"images": 48`, `"captions": 192`}},
		{"bad format", "", []string{"campaign", "list", "--format", "yaml"}, 2, []string{`--format "yaml": want table or json`}},
		{"create needs a name", "", []string{"campaign", "create", "--mode", "ab"}, 1,
			[]string{"invalid campaign: 2 problems", "name: a campaign needs a name", `mode: mode "ab"`}},
		{"create lists every problem", "", []string{"campaign", "create", "--name", "x", "--mode", "ranking", "--annotators", "nobody@example.com,ann1@demo.capeval.test"}, 1,
			[]string{`mode: mode "ranking": want likert or pairwise`}},
		{"create with an unknown annotator", "", []string{"campaign", "create", "--name", "x", "--annotators", "nobody@example.com"}, 1,
			[]string{`annotators[0]: no `, `"nobody@example.com"`}},
		{"create with a missing rubric file", "", []string{"campaign", "create", "--name", "x", "--rubric", "@" + rubric + ".nope"}, 1,
			[]string{"--rubric: open", "no such file"}},
		{"create", "", []string{"campaign", "create", "--name", "AB test", "--mode", "pairwise", "--rubric", "@" + rubric,
			"--annotators", "ann1@demo.capeval.test, 3", "--as", "lead@demo.capeval.test"}, 0,
			[]string{"id:             2", "mode:           pairwise", "status:         draft",
				"annotators:     ann1@demo.capeval.test (id 3)", "rubric:         better\n"}},
		{"create a duplicate", "", []string{"campaign", "create", "--name", "AB test"}, 1, []string{`a campaign named "AB test" exists already`}},
		{"create with thresholds", "", []string{"campaign", "create", "--name", "t", "--thresholds", "{}"}, 2, []string{"flag provided but not defined: -thresholds"}},
		{"show by name as JSON", "", []string{"campaign", "show", "AB test", "--format", "json"}, 0,
			[]string{`"id": 2`, `"key": "better"`, `"thresholds": null`}},
		{"show prints the rubric in full", "", []string{"campaign", "show", "2"}, 0,
			[]string{"rubric (1–5):\n  better — Which is better?: d\n", "      5 B much\n"}},
		{"show a missing campaign", "", []string{"campaign", "show", "999"}, 1, []string{`no campaign with id or name "999"`}},
		{"show needs one campaign", "", []string{"campaign", "show", "1", "2"}, 2, []string{"takes one campaign"}},
		{"update thresholds and status", "", []string{"campaign", "update", "2", "--status", "collecting", "--thresholds", `{"top_k": 2}`,
			"--as", "lead@demo.capeval.test"}, 0, []string{"status:         collecting", `thresholds:     {"top_k":2}`}},
		{"update thresholds from stdin by the CLI", `{"top_k": 3}`, []string{"campaign", "update", "AB test", "--thresholds", "@-"}, 0,
			[]string{`thresholds:     {"top_k":3}`}},
		{"status backwards", "", []string{"campaign", "update", "2", "--status", "draft"}, 1, []string{"only moves forward"}},
		{"mode of the demo", "", []string{"campaign", "update", "Demo: coloured shapes", "--mode", "pairwise", "--annotators", ""}, 0,
			[]string{"mode:           pairwise", "annotators:     every annotator"}},
		{"unknown actor", "", []string{"campaign", "update", "2", "--name", "y", "--as", "nobody@example.com"}, 1, []string{"--as nobody@example.com: no account"}},
		{"empty thresholds", "", []string{"campaign", "update", "2", "--thresholds", ""}, 1, []string{"--thresholds is empty"}},
		{"show with the audit log", "", []string{"campaign", "show", "2", "--audit", "10"}, 0,
			[]string{"audit log (newest first):", `cli                     campaign.thresholds  {"top_k":2} → {"top_k":3}`,
				`lead@demo.capeval.test  campaign.thresholds  null → {"top_k":2}`, "lead@demo.capeval.test  campaign.status      \"draft\" → \"collecting\"",
				"lead@demo.capeval.test  campaign.create      null → {"}},
		{"audit as JSON", "", []string{"campaign", "show", "2", "--audit", "1", "--format", "json"}, 0,
			[]string{`"audit": [`, `"action": "campaign.thresholds"`, `"actor": null`}},
		{"audit limit", "", []string{"campaign", "show", "2", "--audit", "5000"}, 2, []string{"--audit 5000: want 0..1000"}},
		{"instructions from stdin", "Read both captions.\nThen choose.", []string{"campaign", "update", "2", "--instructions", "@-"}, 0,
			[]string{"instructions:   Read both captions.\n                Then choose.\n"}},
		{"instructions inline, as JSON", "", []string{"campaign", "update", "2", "--instructions", "Be quick.", "--format", "json"}, 0,
			[]string{`"instructions": "Be quick."`}},
		{"blend weights are checked by the CLI too", "", []string{"campaign", "update", "2", "--blend-weights", `{"weights":{"BLEU-9":1}}`}, 1,
			[]string{"invalid blend weights", "BLEU-9"}},
		{"instructions from a missing file", "", []string{"campaign", "update", "2", "--instructions", "@" + rubric + ".nope"}, 1,
			[]string{"--instructions: open", "no such file"}},
		{"campaign in the command list", "", []string{"help"}, 0, []string{"campaign manage campaigns"}},
	}
	runCases(t, tests)

	// The JSON list is the API's shape.
	_, out, _ := cli(t, "", "campaign", "list", "--format", "json")
	var list struct {
		Campaigns []struct {
			ID     int64
			Name   string
			Mode   string
			Counts models.CampaignCounts
		}
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("list JSON: %v\n%s", err, out)
	}
	if len(list.Campaigns) != 2 || list.Campaigns[1].Counts.Images != 48 || list.Campaigns[1].Mode != "pairwise" {
		t.Errorf("list = %+v", list)
	}
}

// TestServeListsDemoCampaign checks serve's wiring of the campaign service:
// the demo campaign is in the lead's list over real HTTP, with its counts,
// and annotators are refused the list.
func TestServeListsDemoCampaign(t *testing.T) {
	setEnv(t)
	base := startServe(t).base
	list := func(email, password string) (int, string) {
		t.Helper()
		resp, err := http.Post(base+"/api/v1/login", "application/json",
			strings.NewReader(fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)))
		if err != nil {
			t.Fatal(err)
		}
		var tok struct{ Token string }
		json.NewDecoder(resp.Body).Decode(&tok)
		resp.Body.Close()
		req, _ := http.NewRequest("GET", base+"/api/v1/campaigns", nil)
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	lead, annotator := demo.Accounts[1], demo.Accounts[2]
	code, body := list(lead.Email, lead.Password)
	want := `"name":"` + demo.CampaignName + `"`
	if code != 200 || !strings.Contains(body, want) ||
		!strings.Contains(body, `"counts":{"images":48,"captioners":4,"captions":192,"tasks":`) || !strings.Contains(body, `"status":"collecting"`) {
		t.Errorf("lead's campaign list: %d %s", code, body)
	}
	if code, body := list(annotator.Email, annotator.Password); code != http.StatusForbidden {
		t.Errorf("annotator's campaign list: %d %s", code, body)
	}
}
