package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"capeval/annotation/report"
	"capeval/internal/pdftext"
)

// TestExportCommand exports the demo campaign (opened by serve, with its
// simulated ratings) in every format: the same bytes twice, --weights
// replaces the saved weights, --out writes a whole file, bad flags exit 2.
func TestExportCommand(t *testing.T) {
	dataDir := setEnv(t)
	srv := startServe(t)
	if code := srv.stop(t); code != 0 {
		t.Fatalf("serve exited %d: %s", code, srv.errOut.String())
	}
	export := func(args ...string) string {
		t.Helper()
		code, out, errOut := cli(t, "", append([]string{"export", "--campaign", "1"}, args...)...)
		if code != 0 {
			t.Fatalf("export %q: exit %d: %s", args, code, errOut)
		}
		return out
	}
	for _, f := range []string{"csv", "json", "md", "html"} {
		a, b := export("--format", f), export("--format", f)
		if a != b || a == "" {
			t.Errorf("--format %s: two exports differ (or are empty)", f)
		}
	}
	var lb struct {
		Leaderboard []struct {
			Captioner string
			Rank      *int
		}
		Provenance struct {
			Settings struct{ Weights map[string]float64 }
		}
	}
	if err := json.Unmarshal([]byte(export("--format", "json")), &lb); err != nil {
		t.Fatal(err)
	}
	if len(lb.Leaderboard) != 4 || lb.Leaderboard[0].Captioner != "accurate@1" || *lb.Leaderboard[0].Rank != 1 || lb.Leaderboard[3].Captioner != "random@1" {
		t.Errorf("the demo's leaderboard: %+v", lb.Leaderboard)
	}
	// Bleu_1 alone ranks random above generic (a vague caption shares few
	// words with the references).
	lb.Provenance.Settings.Weights = nil // Unmarshal would merge into the map
	if err := json.Unmarshal([]byte(export("--format", "json", "--weights", "Bleu_1=1")), &lb); err != nil {
		t.Fatal(err)
	}
	if w := lb.Provenance.Settings.Weights; len(w) != 1 || w["Bleu_1"] != 1 {
		t.Errorf("--weights Bleu_1=1 exported with weights %v", w)
	}
	if lb.Leaderboard[2].Captioner != "random@1" || lb.Leaderboard[3].Captioner != "generic@1" {
		t.Errorf("ranked by Bleu_1 alone: %+v", lb.Leaderboard)
	}
	csv := export("--format", "csv")
	if !strings.HasPrefix(csv, "rank,rank_low,rank_high,captioner,blended,blended_ci_low,blended_ci_high,human raw,human normalized,") ||
		!strings.Contains(csv, "\n1,1,1,accurate@1,") {
		t.Errorf("CSV:\n%s", csv)
	}
	html := export("--format", "html")
	for _, want := range []string{"<h1>Demo: coloured shapes</h1>", "sim-careless@demo.capeval.test", "low_accuracy", `class="chart chart-leaderboard"`} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML report lacks %q", want)
		}
	}
	out := filepath.Join(dataDir, "report.md")
	if got := export("--format", "md", "--out", out); got != "" {
		t.Errorf("--out still wrote to stdout: %q", got)
	}
	if b, err := os.ReadFile(out); err != nil || !bytes.HasPrefix(b, []byte("# Demo: coloured shapes — leaderboard")) {
		t.Errorf("--out file: %v %.60q", err, b)
	}
	if _, err := report.FindChromium(); err == nil {
		pdf := filepath.Join(dataDir, "report.pdf")
		export("--format", "pdf", "--out", pdf)
		b, err := os.ReadFile(pdf)
		if err != nil {
			t.Fatal(err)
		}
		text, err := pdftext.Text(b)
		if err != nil || !strings.Contains(text, "1 1 accurate@1") || !strings.Contains(text, "Provenance") {
			t.Errorf("PDF text (%v):\n%.2000s", err, text)
		}
	}
	runCases(t, []cliCase{
		{"help", "", []string{"export", "-h"}, 0, []string{"--format csv|json|md|html|pdf", "a source it does not name weighs 0"}},
		{"in the command list", "", []string{"help"}, 0, []string{"export   write a campaign's leaderboard"}},
		{"format required", "", []string{"export", "--campaign", "1"}, 2, []string{"--format is required"}},
		{"unknown format", "", []string{"export", "--campaign", "1", "--format", "xlsx"}, 2, []string{`unknown format "xlsx": want csv, json, md, html or pdf`}},
		{"malformed weights", "", []string{"export", "--campaign", "1", "--format", "csv", "--weights", "human"}, 2, []string{`"human": want SOURCE=WEIGHT`}},
		{"unknown campaign", "", []string{"export", "--campaign", "nope", "--format", "csv"}, 1, []string{"nope"}},
		{"unknown source", "", []string{"export", "--campaign", "1", "--format", "csv", "--weights", "SPICE=1"}, 1, []string{"SPICE"}},
		{"out in a missing folder", "", []string{"export", "--campaign", "1", "--format", "csv", "--out", filepath.Join(dataDir, "no", "x.csv")}, 1, []string{"--out"}},
	})
}

// TestExportWithoutChromium: the PDF export says which package to install.
func TestExportWithoutChromium(t *testing.T) {
	setEnv(t)
	t.Setenv("PATH", t.TempDir())
	code, _, errOut := cli(t, "", "export", "--campaign", "1", "--format", "pdf")
	if code != 1 || !strings.Contains(errOut, "install the Debian package chromium") {
		t.Errorf("exit %d: %s", code, errOut)
	}
}
