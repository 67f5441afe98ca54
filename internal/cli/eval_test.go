package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"capeval/annotation"
	"capeval/annotation/demo"
	"capeval/autoeval"
	"capeval/autoeval/clip"
	"capeval/autoeval/clip/onnxgen"
	"capeval/internal/sharedtest"
	"capeval/models"
	"capeval/models/modelstest"
)

// loadDemoFor migrates the database of the test's data directory and loads
// the demo into it (which also writes the demo's COCO files to DIR/demo).
// The store it returns is closed when the test ends.
func loadDemoFor(t *testing.T, dir string) *models.Store {
	t.Helper()
	ctx := context.Background()
	store, err := models.Open(ctx, os.Getenv("CAPEVAL_DB"), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := loadDemo(ctx, store, annotation.NewImageStore(dir), dir, slog.New(slog.DiscardHandler), io.Discard); err != nil {
		t.Fatal(err)
	}
	return store
}

type evalOutput struct {
	Captioners []struct {
		Name    string             `json:"name"`
		Version string             `json:"version"`
		Scores  map[string]float64 `json:"scores"`
	} `json:"captioners"`
}

// TestEvalEqualsScore checks the interface other tools rely on: `capeval
// eval` of the demo campaign gives, for every captioner, exactly the corpus
// scores `capeval score` gives for its results file.
func TestEvalEqualsScore(t *testing.T) {
	for _, db := range modelstest.Stores {
		t.Run(db, func(t *testing.T) { testEvalEqualsScore(t, db) })
	}
}

func testEvalEqualsScore(t *testing.T, db string) {
	dir := setEnv(t)
	if db == models.DialectPostgres {
		t.Setenv("CAPEVAL_DB", modelstest.NewPostgresDatabase(t))
	}
	loadDemoFor(t, dir)
	ctx := context.Background()
	var out, errb bytes.Buffer
	if code := Run(ctx, []string{"eval", "--campaign", demo.CampaignName, "--format", "json"}, &out, &errb); code != 0 {
		t.Fatalf("eval exited %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "192/192 100%") {
		t.Errorf("stderr %q: want a progress bar ending at 192/192", errb.String())
	}
	var got evalOutput
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("eval JSON %s: %v", out.String(), err)
	}
	data := demo.Generate(demo.DefaultSeed)
	if len(got.Captioners) != len(data.Captioners) {
		t.Fatalf("%d captioners in %s, want %d", len(got.Captioners), out.String(), len(data.Captioners))
	}
	for i, c := range data.Captioners {
		e := got.Captioners[i]
		if e.Name != c.Name || e.Version != c.Version {
			t.Fatalf("captioner %d is %s@%s, want %s@%s", i, e.Name, e.Version, c.Name, c.Version)
		}
		var sout, serr bytes.Buffer
		args := []string{"score", "--annotations", filepath.Join(dir, "demo", "references.json"),
			"--results", filepath.Join(dir, "demo", "results-"+c.Name+".json"), "--format", "json"}
		if code := Run(ctx, args, &sout, &serr); code != 0 {
			t.Fatalf("score %s exited %d: %s", c.Name, code, serr.String())
		}
		var want map[string]any
		if err := json.Unmarshal(sout.Bytes(), &want); err != nil {
			t.Fatal(err)
		}
		if len(e.Scores) != len(autoeval.TextNames) {
			t.Errorf("%s: scores %v, want exactly the %d text scores (no CLIP model)", c.Name, e.Scores, len(autoeval.TextNames))
		}
		for _, name := range autoeval.TextNames {
			if w, ok := want[name].(float64); !ok || e.Scores[name] != w {
				t.Errorf("%s %s: eval %v, score %v", c.Name, name, e.Scores[name], want[name])
			}
		}
	}

	// A second run finds the work done and prints the same scores, here as
	// a table that says why CLIPScore is missing.
	out.Reset()
	errb.Reset()
	if code := Run(ctx, []string{"eval", "--campaign", "1", "--quiet"}, &out, &errb); code != 0 {
		t.Fatalf("second eval exited %d: %s", code, errb.String())
	}
	for _, w := range []string{"captioner", "Bleu_4", "CIDEr", "accurate", "CLIPScore is unavailable", "CAPEVAL_CLIP_MODEL"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("table %q does not contain %q", out.String(), w)
		}
	}
	if errb.Len() != 0 {
		t.Errorf("--quiet wrote to stderr: %q", errb.String())
	}
}

func TestEvalErrors(t *testing.T) {
	dir := setEnv(t)
	loadDemoFor(t, dir)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"help", []string{"eval", "-h"}, 0, "--kinds"},
		{"campaign required", []string{"eval"}, 2, "--campaign is required"},
		{"unknown campaign", []string{"eval", "--campaign", "nope"}, 1, `no campaign with id or name "nope"`},
		{"bad format", []string{"eval", "--campaign", demo.CampaignName, "--format", "yaml"}, 2, `--format "yaml": want table or json`},
		{"unknown kind", []string{"eval", "--campaign", demo.CampaignName, "--kinds", "text,bleu"}, 1, `--kinds: unknown kind "bleu"`},
		{"clip without a model", []string{"eval", "--campaign", demo.CampaignName, "--kinds", "clip"}, 1, "CLIPScore is unavailable"},
		{"stray argument", []string{"eval", "--campaign", demo.CampaignName, "extra"}, 2, `unexpected argument "extra"`},
		{"unknown flag", []string{"eval", "--fast"}, 2, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Run(context.Background(), tt.args, &out, &errb)
			if code != tt.wantCode || !strings.Contains(out.String()+errb.String(), tt.wantErr) {
				t.Fatalf("exit %d, output %q; want %d with %q", code, out.String()+errb.String(), tt.wantCode, tt.wantErr)
			}
		})
	}
}

// TestEvalWithCLIP runs text and clip jobs with a tiny generated CLIP model
// on the real ONNX Runtime: every captioner gets CLIPScore and RefCLIPScore
// beside its text scores.
func TestEvalWithCLIP(t *testing.T) {
	lib := sharedtest.ONNXRuntimeLibrary(t, clip.DefaultLibraryPath())
	dir := setEnv(t)
	model := filepath.Join(t.TempDir(), "tiny-clip")
	if _, err := onnxgen.WriteTinyFolder(model, onnxgen.DefaultTinyConfig(), onnxgen.TokenizerJSON); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CAPEVAL_ONNXRUNTIME_LIB", lib)
	t.Setenv("CAPEVAL_CLIP_MODEL", model)
	loadDemoFor(t, dir)
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"eval", "--campaign", demo.CampaignName, "--format", "json"}, &out, &errb); code != 0 {
		t.Fatalf("eval exited %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "clip [") {
		t.Errorf("stderr %q: want a progress bar for the clip job", errb.String())
	}
	var got evalOutput
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("eval JSON %s: %v", out.String(), err)
	}
	for _, c := range got.Captioners {
		if len(c.Scores) != len(autoeval.ScoreNames) {
			t.Errorf("%s: scores %v, want all of %v", c.Name, c.Scores, autoeval.ScoreNames)
		}
		for _, name := range autoeval.CLIPNames {
			if v, ok := c.Scores[name]; !ok || v < 0 || v > 2.5 {
				t.Errorf("%s %s = %v (present %v), want a value in [0, 2.5]", c.Name, name, v, ok)
			}
		}
	}
}

// TestServeRunsJobs starts the real server with the demo: a lead queues a
// text job over HTTP, the server's own worker runs it, the events stream
// ends with the job done, and the captioners carry their scores; an
// annotator may see none of it.
func TestServeRunsJobs(t *testing.T) {
	setEnv(t)
	srv := startServe(t)
	base := srv.base
	login := func(email, password string) string {
		resp, err := http.Post(base+"/api/v1/login", "application/json", strings.NewReader(fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got struct{ Token string }
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || got.Token == "" {
			t.Fatalf("login %s: %d %v", email, resp.StatusCode, err)
		}
		return got.Token
	}
	do := func(method, path, body, token string) (int, string) {
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	lead := login(demo.Accounts[1].Email, demo.Accounts[1].Password)
	ann := login(demo.Accounts[2].Email, demo.Accounts[2].Password)
	if code, body := do("POST", "/api/v1/campaigns/1/jobs", `{"kind":"text"}`, lead); code != 202 || !strings.Contains(body, `"status":"queued"`) {
		t.Fatalf("start job: %d %s", code, body)
	}
	if code, body := do("POST", "/api/v1/campaigns/1/jobs", `{"kind":"clip"}`, lead); code != 409 || !strings.Contains(body, "CAPEVAL_CLIP_MODEL") {
		t.Fatalf("start clip job without a model: %d %s", code, body)
	}
	code, events := do("GET", "/api/v1/jobs/1/events", "", lead)
	if code != 200 || !strings.Contains(events, "event: end\ndata: ") || !strings.Contains(events, `"status":"done","done":192,"total":192`) {
		t.Fatalf("events: %d %s", code, events)
	}
	code, body := do("GET", "/api/v1/campaigns/1/captioners", "", lead)
	if code != 200 || !strings.Contains(body, `"name":"accurate"`) || !strings.Contains(body, `"CIDEr":`) {
		t.Fatalf("captioners: %d %s", code, body)
	}
	for _, path := range []string{"/api/v1/campaigns/1/captioners", "/api/v1/jobs/1", "/api/v1/campaigns/1/jobs"} {
		if code, body := do("GET", path, "", ann); code != 403 {
			t.Errorf("annotator GET %s: %d %s, want 403", path, code, body)
		}
	}
	if code := srv.stop(t); code != 0 {
		t.Fatalf("serve exited %d after shutdown: %s", code, srv.errOut.String())
	}
}
