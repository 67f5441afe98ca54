package cli

import (
	"context"
	"encoding/json"
	"testing"

	"capeval/annotation"
	"capeval/models"
)

// TestSelectCommand runs its cases in order on one database holding the
// demo campaign (id 1) with synthetic captioner scores.
func TestSelectCommand(t *testing.T) {
	dir := setEnv(t)
	ctx := context.Background()
	store := loadDemoFor(t, dir)
	caps, err := store.Captioners(ctx, 1)
	if err != nil || len(caps) < 3 {
		t.Fatalf("demo captioners %v, %v", caps, err)
	}
	var scores []models.CaptionerScore
	for i, c := range caps {
		scores = append(scores, models.CaptionerScore{CaptionerID: c.ID, Metric: "CIDEr", Value: 1 - float64(i)/10, N: c.Captions})
	}
	if err := store.InsertScoreRows(ctx, nil, scores); err != nil {
		t.Fatal(err)
	}

	draft := `{"seed":4,"top_k":2,"images":{"count":5},"gold_rate":0.2}`
	tests := []cliCase{
		{"no thresholds yet", "", []string{"select", "1"}, 1, []string{"no thresholds: set them first"}},
		{"no campaign", "", []string{"select"}, 2, []string{"select takes one campaign"}},
		{"unknown campaign", "", []string{"select", "nope"}, 1, []string{`no campaign with id or name "nope"`}},
		{"bad thresholds named", "", []string{"select", "1", "--thresholds", `{"top_k":-1,"images":{"sampling":"stratified"}}`}, 1,
			[]string{"top_k: -1", "images.tag_prefix: stratified sampling needs a tag prefix"}},
		{"preview a draft", "", []string{"select", "1", "--thresholds", draft}, 0,
			[]string{"seed 4", "captioners kept:  2 (dropped", "items:", "gold items:", "estimated hours:", "outside the top 2",
				"examples (queue order):", "preview only: nothing was written"}},
		{"fingerprint needs commit", "", []string{"select", "1", "--fingerprint", "ab"}, 2, []string{"--fingerprint needs --commit"}},
		{"commit the draft, stored and audited", draft, []string{"select", "1", "--thresholds", "@-", "--commit", "--as", "lead@demo.capeval.test"}, 0,
			[]string{"committed: ", "tasks created, 0 untouched tasks deleted"}},
		{"second commit refused", "", []string{"select", "1", "--commit"}, 1, []string{"tasks already: commit with replace"}},
		{"thresholds of a refused commit not stored", "", []string{"select", "1", "--thresholds", `{"seed":5,"top_k":3}`, "--commit"}, 1,
			[]string{"tasks already: commit with replace"}},
		{"stored thresholds unchanged", "", []string{"campaign", "show", "1"}, 0, []string{`{"seed":4,`}},
		{"replace", "", []string{"select", "1", "--commit", "--replace", "--examples", "0"}, 0, []string{"untouched tasks deleted"}},
		{"audit log", "", []string{"campaign", "show", "1", "--audit", "3"}, 0,
			[]string{"campaign.selection", "lead@demo.capeval.test  campaign.thresholds  null → " + `{"seed":4`}},
		{"select in the command list", "", []string{"help"}, 0, []string{"select", "pre-rank captioners"}},
	}
	runCases(t, tests)

	// The JSON preview is the API's shape.
	_, out, _ := cli(t, "", "select", "1", "--replace", "--format", "json")
	var pv annotation.SelectionPreview
	if err := json.Unmarshal([]byte(out), &pv); err != nil {
		t.Fatalf("preview JSON: %v\n%s", err, out)
	}
	if pv.Seed != 4 || pv.Counts.CaptionersKept != 2 || pv.Counts.ExistingTasks == 0 || pv.Fingerprint == "" {
		t.Errorf("preview %+v", pv)
	}
}
