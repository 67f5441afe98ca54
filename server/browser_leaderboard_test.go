package server

// The lead's leaderboard in a real browser, on the demo as `make run`
// opens it (simulated annotators' ratings, text metrics): re-weighting
// re-ranks at once, saving is audited, an item is adjudicated, every
// export downloads, and the HTML report renders with its charts.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"capeval/annotation"
	"capeval/internal/pdftext"
	"capeval/internal/sharedtest"
	"capeval/models"
)

// startBrowserDemoApp is startBrowserAppWith on the opened demo, with the
// services serve wires.
func startBrowserDemoApp(t *testing.T) (*testApp, *browser) {
	t.Helper()
	if chromiumPath() == "" {
		sharedtest.Missing(t, "chromium not found: install the Debian package chromium (.ci/run does) or set CAPEVAL_CHROMIUM")
	}
	app := newTestAppWith(t, appOptions{prepare: func(store *models.Store, dataDir string) { openDemoInto(t, store, dataDir) }})
	svc := demoServices(app)
	svc.Leaderboards = annotation.NewLeaderboards(app.store, annotation.NewQuality(app.store, nil), slog.New(slog.NewTextHandler(io.Discard, nil)))
	app.srv = New(app.srv.cfg, app.store, app.accounts, svc, app.srv.log)
	log := &requestLog{}
	ts := httptest.NewServer(log.wrap(app.srv.Handler()))
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("requests the browser made:\n%s", log)
		}
	})
	b := newBrowser(t, ts.URL)
	b.requests = log
	return app, b
}

// viewportShot saves what the window shows (a modal dialog sits in the
// viewport, not on the full page) as screenshot does.
func (b *browser) viewportShot(name string) {
	b.t.Helper()
	png := run(b, "screenshot "+name, chromedp.CaptureScreenshot())
	for _, dir := range []string{b.dir, filepath.Join(os.Getenv("CAPEVAL_ARTIFACTS"), "browser")} {
		if dir == "browser" {
			continue // no CAPEVAL_ARTIFACTS
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
}

// tableOrder is the captioners of the leaderboard table, top to bottom.
func (b *browser) tableOrder() string {
	b.t.Helper()
	return b.eval(`[...document.querySelectorAll('#leaderboard-table tbody tr')].map(r => r.dataset.captioner).join(',')`)
}

// setWeight types a weight into the source's input.
func (b *browser) setWeight(source, value string) {
	b.t.Helper()
	b.eval(fmt.Sprintf(`(i => { i.value = %q; i.dispatchEvent(new Event('input', {bubbles: true})); return '' })(document.querySelector('input[data-source=%q]'))`, value, source))
}

func TestBrowserLeaderboard(t *testing.T) {
	app, b := startBrowserDemoApp(t)
	ctx := context.Background()
	id := demoCampaignID(t, app)
	lead := app.token(models.RoleLead)
	page := fmt.Sprintf("/lead/campaigns/%d", id)

	b.open(page)
	b.login("lead@example.com", testPassword)
	b.waitPath(page)
	b.waitEval(`String(document.querySelectorAll('#leaderboard-table tbody tr').length)`, "4")
	b.waitText("#leaderboard-note", "Rank as Chatbot Arena ranks")
	if got := b.tableOrder(); got != "accurate@1,partly-wrong@1,generic@1,random@1" {
		t.Errorf("the demo's leaderboard: %s", got)
	}
	// Intervals are drawn, and the careless simulated annotator is shown
	// excluded in the agreement table.
	if n := b.eval(`String(document.querySelectorAll('#leaderboard-table .ci-range').length)`); n != "4" {
		t.Errorf("%s interval bars, want 4", n)
	}
	if got := b.text("#annotator-agreement"); !strings.Contains(got, "sim-careless@demo.capeval.test") || !strings.Contains(got, "no: excluded") || !strings.Contains(got, "low_accuracy") {
		t.Errorf("annotator agreement table: %q", got)
	}
	b.waitEval(`String(document.querySelectorAll('#lb-charts img').length > 0 && [...document.querySelectorAll('#lb-charts img')].every(i => i.complete && i.naturalWidth > 0))`, "true")
	b.screenshot("leaderboard-1-demo")

	// A weight change re-ranks at once: Bleu_1 alone puts random above
	// generic (a vague caption shares few words with the references).
	b.setWeight("human", "0")
	b.setWeight("Bleu_1", "1")
	if got := b.tableOrder(); got != "accurate@1,partly-wrong@1,random@1,generic@1" {
		t.Errorf("re-ranked at once by Bleu_1: %s", got)
	}
	if !strings.Contains(b.text("#leaderboard-note"), "Re-ranked with your weights") {
		t.Errorf("note after a change: %q", b.text("#leaderboard-note"))
	}
	// Then the server's intervals for these weights arrive.
	b.waitText("#leaderboard-note", "Rank as Chatbot Arena ranks")
	if got := b.tableOrder(); got != "accurate@1,partly-wrong@1,random@1,generic@1" {
		t.Errorf("order from the server with Bleu_1: %s", got)
	}
	b.screenshot("leaderboard-2-reweighted")
	b.do("save the weights", chromedp.Click(chromedp.ID("lb-save")))
	b.waitText("#leaderboard-form .form-status", "Weights saved")
	c, err := app.store.CampaignByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var saved struct{ Weights map[string]float64 }
	if err := json.Unmarshal(c.BlendWeights, &saved); err != nil || len(saved.Weights) != 1 || saved.Weights["Bleu_1"] != 1 {
		t.Errorf("saved blend weights %s (%v)", c.BlendWeights, err)
	}
	audit, err := app.store.AuditLog(ctx, id, 20)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range audit {
		found = found || e.Action == "campaign.blend_weights"
	}
	if !found {
		t.Error("saving the weights wrote no campaign.blend_weights audit entry")
	}
	// Back to the human score for what follows.
	b.setWeight("Bleu_1", "0")
	b.setWeight("human", "1")
	b.waitText("#leaderboard-note", "Rank as Chatbot Arena ranks")
	b.waitEval(`document.querySelector('#leaderboard-table tbody tr').dataset.captioner`, "accurate@1")

	// Adjudicate the item the annotators disagree on most.
	b.do("open an item", chromedp.Click(chromedp.CSS(`#adj-disagreement button[data-task]`)))
	b.waitEval(`String(document.getElementById('adjudication-dialog').open)`, "true")
	b.waitEval(`String(document.querySelectorAll('#adjudication-ratings tbody tr').length >= 2)`, "true")
	task := b.eval(`document.querySelector('#adj-disagreement button[data-task]').dataset.task`)
	crit := b.eval(`document.querySelector('#adj-disagreement button[data-task]').dataset.criterion`)
	b.viewportShot("leaderboard-3-adjudication")
	b.do("set the value",
		chromedp.SendKeys(chromedp.ID("adj-value"), "4"),
		chromedp.SendKeys(chromedp.ID("adj-note"), "the caption is right about the shapes"),
		chromedp.Click(chromedp.ID("adj-save")),
	)
	b.waitEval(`String(document.getElementById('adjudication-dialog').open)`, "false")
	b.waitText("#leaderboard-status", "set to 4")
	adj, err := app.store.AdjudicationsInForce(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(adj) != 1 || fmt.Sprint(adj[0].TaskID) != task || adj[0].Criterion != crit || adj[0].Value == nil || *adj[0].Value != 4 {
		t.Errorf("adjudications in force %+v, want task %s %s = 4", adj, task, crit)
	}

	// Human judgments from elsewhere through the Import form: counted as
	// imported in the report, and in the leaderboard's agreement.
	csv := filepath.Join(t.TempDir(), "expert.csv")
	if err := os.WriteFile(csv, []byte("image_id,captioner,annotator,overall\n1,accurate@1,expert-1,4.5\n2,random@1,expert-1,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.do("choose a ratings file", chromedp.SetUploadFiles(chromedp.ID("im-ratings"), []string{csv}))
	b.do("import it", chromedp.Click(chromedp.CSS(`#import-form [type="submit"]`)))
	b.waitText("#import-table", "Ratings (expert.csv) imported\t2\t0")
	b.waitText("#annotator-agreement", "imported:expert-1")

	// Every download link gives its format (fetched by the page, with its
	// session, as a click would).
	for _, tt := range []struct{ format, contentType, starts string }{
		{"csv", "text/csv", "rank,rank_low,rank_high,captioner"},
		{"json", "application/json", "{"},
		{"md", "text/markdown", "# Demo: coloured shapes — leaderboard"},
		{"html", "text/html", "<!DOCTYPE html>"},
		{"pdf", "application/pdf", "%PDF-"},
	} {
		expr := fmt.Sprintf(`(async () => { const a = document.querySelector('#lb-downloads a[data-format=%q]'); a.click(); const r = await fetch(a.href);
			const buf = new Uint8Array(await r.arrayBuffer()); return r.status + '|' + r.headers.get('Content-Type') + '|' + (r.headers.get('Content-Disposition') || '') + '|' +
			new TextDecoder().decode(buf.slice(0, 60)) })()`, tt.format)
		got := run(b, "download "+tt.format, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
		parts := strings.SplitN(got, "|", 4)
		if len(parts) != 4 || parts[0] != "200" || !strings.HasPrefix(parts[1], tt.contentType) || !strings.HasPrefix(parts[2], "attachment;") ||
			!strings.HasPrefix(parts[3], tt.starts) {
			t.Errorf("download %s: %q", tt.format, got)
		}
	}
	b.checkConsole()

	// The HTML report in the browser: its charts render.
	b.open(fmt.Sprintf("/api/v1/campaigns/%d/export?format=html&inline=true", id))
	b.waitEval(`String(document.querySelectorAll('svg.chart').length >= 3)`, "true")
	if got := b.eval(`String([...document.querySelectorAll('svg.chart')].every(s => s.getBoundingClientRect().width > 200))`); got != "true" {
		t.Error("the report's charts have no size")
	}
	if got := b.eval(`String(document.querySelectorAll('svg.chart-leaderboard .ci').length)`); got != "4" {
		t.Errorf("report chart has %s interval bars, want 4", got)
	}
	b.screenshot("leaderboard-4-report")
	b.do("print media", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
		return err
	}))
	b.do("A4 width", chromedp.EmulateViewport(794, 1123))
	b.screenshot("leaderboard-5-report-print")

	// The PDF holds the leaderboard's text.
	rec := app.do("GET", fmt.Sprintf("/api/v1/campaigns/%d/export?format=pdf", id), "", lead)
	if rec.Code != 200 {
		t.Fatalf("pdf: %d %s", rec.Code, rec.Body)
	}
	text, err := pdftext.Text(rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Demo: coloured shapes", "1 1 accurate@1", "4 4 random@1", "Human–metric agreement", "careless@demo.capeval.test", "low_accuracy", "Provenance"} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	if a := os.Getenv("CAPEVAL_ARTIFACTS"); a != "" {
		os.WriteFile(filepath.Join(a, "browser", "leaderboard-report.pdf"), rec.Body.Bytes(), 0o644)
	}
}
