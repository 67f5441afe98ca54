package server

// The lead's whole path through the UI in a real browser: create a
// campaign, upload the demo data, run auto-eval and read the scores, set
// thresholds, preview and commit the queue.

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"capeval/annotation"
	"capeval/annotation/demo"
	"capeval/autoeval"
	"capeval/models"
)

// leadServices gives app the services serve wires: campaigns (with the
// thresholds validator), selection, import and jobs without a CLIP model.
// No worker runs until the returned function starts one, so a test can see
// a job queued before it runs.
func leadServices(t *testing.T) (configure func(*testApp), startWorker func()) {
	var app *testApp
	configure = func(a *testApp) {
		app = a
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		campaigns := annotation.NewCampaigns(a.store, log, annotation.WithThresholdsValidator(annotation.ValidateThresholds))
		a.srv = New(a.srv.cfg, a.store, a.accounts, Services{
			Campaigns: campaigns,
			Selection: annotation.NewSelection(a.store, campaigns, log),
			Import:    annotation.NewImporter(a.store, annotation.NewImageStore(a.srv.cfg.DataDir), log),
			Jobs:      autoeval.NewJobs(a.store, false, log),
		}, log)
	}
	startWorker = func() {
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			autoeval.NewRunner(app.store, autoeval.Scorers{}, nil).
				WithOptions(autoeval.RunnerOptions{Poll: 20 * time.Millisecond, Heartbeat: 20 * time.Millisecond}).Run(ctx, 1)
		}()
		// Stopped before the store closes (cleanups run last first).
		t.Cleanup(func() { stop(); wg.Wait() })
	}
	return configure, startWorker
}

// demoUpload writes the demo dataset's files as a lead would have them:
// images.zip, references.json and results-<captioner>.json.
func demoUpload(t *testing.T) (dir string, ds *demo.Dataset) {
	t.Helper()
	dir = t.TempDir()
	ds = demo.Generate(demo.DefaultSeed)
	if err := ds.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "images.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, img := range ds.Images {
		w, err := zw.Create("images/" + img.FileName)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(img.PNG); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, ds
}

// waitEval waits until the JavaScript expression yields want.
func (b *browser) waitEval(expr, want string) {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := b.eval(expr)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s = %q, want %q", expr, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// count reads a number the page shows (thousands separators allowed).
func (b *browser) count(sel string) int {
	b.t.Helper()
	s := strings.ReplaceAll(b.text(sel), ",", "")
	n, err := strconv.Atoi(s)
	if err != nil {
		b.t.Fatalf("%s shows %q, want a number", sel, s)
	}
	return n
}

// phoneFits checks at 390px wide that nothing forces sideways scrolling.
func (b *browser) phoneFits(name string) {
	b.t.Helper()
	b.do("phone viewport", chromedp.EmulateViewport(390, 844))
	if got := b.eval(`String(document.documentElement.scrollWidth <= window.innerWidth)`); got != "true" {
		b.t.Errorf("%s at 390px wide scrolls sideways; widest: %s", name,
			b.eval(`[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap')).slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className + ':' + Math.round(e.getBoundingClientRect().right)).join(', ')`))
	}
	b.screenshot(name + "-phone")
	b.do("desktop viewport", chromedp.EmulateViewport(1280, 860))
}

func TestBrowserLeadCampaignFlow(t *testing.T) {
	configure, startWorker := leadServices(t)
	app, b := startBrowserAppWith(t, configure)
	dir, ds := demoUpload(t)
	ctx := context.Background()
	lead := app.token(models.RoleLead)

	b.open("/lead")
	b.login("lead@example.com", testPassword)
	b.waitPath("/lead")
	b.waitText("#campaigns", "No campaigns yet")

	// 1. Create the campaign; a missing name is marked on the field.
	b.do("submit an empty new campaign", chromedp.Click(chromedp.CSS(`#new-campaign [type="submit"]`)))
	b.waitEval(`document.getElementById('nc-name').getAttribute('aria-invalid') ?? ''`, "true")
	if got := b.eval(`document.activeElement.id`); got != "nc-name" {
		t.Errorf("focus after the missing name is on %q, want nc-name", got)
	}
	b.do("create the campaign",
		chromedp.SendKeys(chromedp.ID("nc-name"), "Demo shapes"),
		chromedp.SendKeys(chromedp.ID("nc-description"), "Four captioners of coloured shapes"),
		chromedp.Click(chromedp.CSS(`#new-campaign [type="submit"]`)),
	)
	b.waitPath("/lead/campaigns/1")
	b.waitText("#campaign-name", "Demo shapes")
	b.waitText("#campaign-meta", "All annotators")
	b.screenshot("lead-1-campaign-created")

	// 2a. A bad results file is refused with its file and line, and
	// changes nothing.
	bad := filepath.Join(dir, "broken.jsonl")
	if err := os.WriteFile(bad, []byte("{\"image_id\": 1, \"caption\": \"a red circle\"}\n{\"image_id\": 2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.do("choose a bad results file", chromedp.SetUploadFiles(chromedp.ID("im-results-1"), []string{bad}))
	b.waitEval(`document.getElementById('im-captioner-1').value`, "broken")
	b.do("upload it", chromedp.Click(chromedp.CSS(`#import-form [type="submit"]`)))
	if msg := b.formError("#import-form"); !strings.Contains(msg, "broken.jsonl") || !strings.Contains(msg, "line 2") {
		t.Errorf("bad import error %q, want it to name broken.jsonl and line 2", msg)
	}
	if c, err := app.store.CampaignByID(ctx, 1); err != nil || c == nil {
		t.Fatalf("campaign 1: %v", err)
	}
	if n := apiCount(t, app, lead, "/api/v1/campaigns/1", "captions"); n != 0 {
		t.Errorf("a refused import left %d captions", n)
	}
	b.screenshot("lead-2a-import-refused")

	// 2b. The demo data: images zip, COCO references, four results files.
	for range len(ds.Captioners) - 1 {
		b.do("add a results row", chromedp.Click(chromedp.ID("add-results")))
	}
	b.do("choose the images and references",
		chromedp.SetUploadFiles(chromedp.ID("im-images"), []string{filepath.Join(dir, "images.zip")}),
		chromedp.SetUploadFiles(chromedp.ID("im-references"), []string{filepath.Join(dir, "references.json")}),
	)
	b.clear("im-captioner-1")
	for i, c := range ds.Captioners {
		b.do("choose results of "+c.Name, chromedp.SetUploadFiles(chromedp.ID(fmt.Sprintf("im-results-%d", i+1)),
			[]string{filepath.Join(dir, "results-"+c.Name+".json")}))
	}
	b.waitEval(`document.getElementById('im-captioner-1').value`, ds.Captioners[0].Name)
	b.do("type a version", chromedp.SendKeys(chromedp.ID("im-captioner-1"), "@2"))
	b.do("upload", chromedp.Click(chromedp.CSS(`#import-form [type="submit"]`)))
	b.waitText("#import-form .form-status", "Imported")
	b.waitText("#upload-text", "Import done")
	if got := b.eval(`String(document.getElementById('upload-bar').value)`); got != "100" {
		t.Errorf("upload bar at %s after the import, want 100", got)
	}
	report := b.text("#import-table")
	for _, want := range []string{"Images\t48\t0", "References\t240\t0", "Captions of accurate@2 (results-accurate.json) new captioner\t48\t0"} {
		if !strings.Contains(report, want) {
			t.Errorf("import report %q, want a row %q", report, want)
		}
	}
	b.waitText(`#campaign-counts [data-count="captions"]`, "192")
	b.screenshot("lead-2b-import-report")

	// 3. Auto-eval. No CLIP model: the page says so and how to enable it.
	b.waitText("#clip-notice", "CLIPScore is unavailable")
	if !strings.Contains(b.text("#clip-notice"), "CAPEVAL_CLIP_MODEL") {
		t.Errorf("the CLIP notice %q does not say how to enable it", b.text("#clip-notice"))
	}
	b.waitEval(`String(document.getElementById('run-clip').disabled)`, "true")
	b.waitText("#captioners", "No scores yet")
	b.do("run the text metrics", chromedp.Click(chromedp.ID("run-text")))
	b.waitText("#job-text .job-text", "queued")
	b.screenshot("lead-3a-job-queued")
	// Cancel it while it waits, then start another.
	b.do("cancel the job", chromedp.Click(chromedp.CSS("#job-text .job-cancel")))
	b.waitText("#job-text .job-text", "cancelled")
	b.waitEval(`String(document.querySelector('#job-text .job-cancel').offsetParent === null)`, "true")
	if j := apiJob(t, app, lead, 1); j.Status != models.JobCancelled {
		t.Errorf("job 1 is %s after Cancel, want cancelled", j.Status)
	}
	b.screenshot("lead-3b-job-cancelled")
	b.do("run the text metrics again", chromedp.Click(chromedp.ID("run-text")))
	b.waitText("#job-text .job-text", "queued")
	startWorker()
	// The events stream carries the job to its end without a reload.
	b.waitText("#job-text .job-text", "done: 192 of 192 captions scored")
	b.waitEval(`(p => String(p.value === p.max && p.max === 192))(document.getElementById('job-text-bar'))`, "true")
	if got := b.eval(`document.querySelector('#job-text .job-text').getAttribute('aria-live') ?? ''`); got != "polite" {
		t.Errorf("job progress aria-live=%q, want polite", got)
	}
	b.waitEval(`String(document.querySelectorAll('#captioners-table tbody tr').length)`, "4")
	if got := b.requests.String(); !strings.Contains(got, "GET /api/v1/jobs/2/events") || regexp.MustCompile(`GET /api/v1/jobs/\d+ `).MatchString(got) {
		t.Errorf("the page did not follow the jobs through their events streams alone:\n%s", got)
	}

	var rep autoeval.CaptionerReport
	apiGet(t, app, lead, "/api/v1/campaigns/1/captioners", &rep)
	if _, ok := rep.Captioners[0].Scores["CLIPScore"]; ok || strings.Contains(b.text("#captioners-table thead"), "CLIP") {
		t.Errorf("a CLIPScore without a CLIP model: API %v, table head %q", rep.Captioners[0].Scores, b.text("#captioners-table thead"))
	}
	// Sorted by CIDEr, best first, each score exactly the API's.
	if got := b.eval(`document.querySelector('#captioners-table th[aria-sort]').textContent`); !strings.HasPrefix(got, "CIDEr") {
		t.Errorf("sorted column %q, want CIDEr", got)
	}
	rows := strings.Split(b.eval(`[...document.querySelectorAll('#captioners-table tbody tr')].map(r => r.querySelector('th').textContent + '=' + r.cells[r.cells.length - 1].textContent).join('|')`), "|")
	var cider []float64
	for i, row := range rows {
		name, shown, _ := strings.Cut(row, "=")
		var c *autoeval.CaptionerScores
		for j := range rep.Captioners {
			if label := rep.Captioners[j].Name + versionSuffix(rep.Captioners[j].Version); label == name {
				c = &rep.Captioners[j]
			}
		}
		if c == nil {
			t.Fatalf("row %d names %q, not a captioner of the API's %+v", i, name, rep.Captioners)
		}
		if want := fmt.Sprintf("%.3f", c.Scores["CIDEr"]); shown != want {
			t.Errorf("%s CIDEr shown %q, API %s", name, shown, want)
		}
		cider = append(cider, c.Scores["CIDEr"])
		if i > 0 && cider[i] > cider[i-1] {
			t.Errorf("rows %q are not in descending CIDEr order", rows)
		}
	}
	if !strings.HasPrefix(rows[0], "accurate@2=") {
		t.Errorf("CIDEr ranking %q, want accurate@2 first", rows)
	}
	// The keyboard sorts too: Tab to the Captioner header, press Enter.
	b.do("focus the Captioner header", chromedp.Focus(chromedp.CSS(`#captioners-table button[data-key="name"]`)))
	b.do("sort by name", chromedp.KeyEvent(kb.Enter))
	b.waitEval(`document.querySelector('#captioners-table th[aria-sort]').textContent + ':' + document.querySelector('#captioners-table th[aria-sort]').getAttribute('aria-sort')`, "Captioner:ascending")
	b.waitEval(`[...document.querySelectorAll('#captioners-table tbody th')].map(t => t.textContent).join(',')`, "accurate@2,generic,partly-wrong,random")
	b.do("sort by name, descending", chromedp.KeyEvent(kb.Enter))
	b.waitEval(`[...document.querySelectorAll('#captioners-table tbody th')].map(t => t.textContent).join(',')`, "random,partly-wrong,generic,accurate@2")
	b.screenshot("lead-3c-scores")

	// 4. Thresholds: a bad value is named on its field; then a good set.
	b.do("type a top K beyond the limit",
		chromedp.ScrollIntoView(chromedp.ID("th-topk")),
		chromedp.SendKeys(chromedp.ID("th-topk"), "5000"),
		chromedp.Click(chromedp.CSS(`#thresholds-form [type="submit"]`)),
	)
	b.waitEval(`document.getElementById('th-topk').getAttribute('aria-invalid') ?? ''`, "true")
	if msg := b.formError("#thresholds-form"); !strings.Contains(msg, "5000") {
		t.Errorf("top K error %q, want it to name the value", msg)
	}
	if c := campaignThresholds(t, app); c != "null" {
		t.Errorf("a refused thresholds document was stored: %s", c)
	}
	b.screenshot("lead-4a-thresholds-refused")
	b.clear("th-topk")
	b.do("fill the thresholds",
		chromedp.SendKeys(chromedp.ID("th-topk"), "2"),
		chromedp.SendKeys(chromedp.ID("th-min-Bleu_1"), "0.1"),
		chromedp.SendKeys(chromedp.ID("th-images"), "10"),
		chromedp.SendKeys(chromedp.ID("th-seed"), "7"),
		chromedp.SendKeys(chromedp.ID("th-ratings"), "3"),
		chromedp.SendKeys(chromedp.ID("th-gold"), "0.1"),
		chromedp.Click(chromedp.CSS(`#thresholds-form [type="submit"]`)),
	)
	b.waitText("#thresholds-form .form-status", "Thresholds saved")
	var stored map[string]any
	if err := json.Unmarshal([]byte(campaignThresholds(t, app)), &stored); err != nil {
		t.Fatal(err)
	}
	if stored["top_k"] != 2.0 || stored["seed"] != 7.0 || stored["ratings_per_item"] != 3.0 || stored["gold_rate"] != 0.1 {
		t.Errorf("stored thresholds %v", stored)
	}
	if got := b.count(`#preview-counts [data-count="captioners_kept"]`); got != 2 {
		t.Errorf("preview keeps %d captioners, want 2", got)
	}
	if got := b.count(`#preview-counts [data-count="captioners_dropped"]`); got != 2 {
		t.Errorf("preview drops %d captioners, want 2", got)
	}
	ranking := b.text("#ranking-table tbody")
	if !strings.Contains(ranking, "kept") || !strings.Contains(ranking, "dropped") {
		t.Errorf("ranking table %q, want kept and dropped captioners", ranking)
	}
	if got := b.eval(`String(document.querySelectorAll('#ranking-table .reason').length)`); got == "0" {
		t.Errorf("dropped captioners show no reason: %q", ranking)
	}
	b.waitText("#preview-examples", "image")
	tasks := b.count(`#preview-counts [data-count="tasks"]`)
	if tasks == 0 {
		t.Fatal("the preview queues no tasks")
	}
	b.waitText(`#preview-counts [data-count="hours"]`, "")
	b.screenshot("lead-4b-preview")

	// 5. Commit after a confirmation: exactly the previewed tasks.
	b.do("open the commit dialog", chromedp.Click(chromedp.ID("commit-open")))
	b.waitEval(`String(document.getElementById('commit-dialog').open)`, "true")
	b.waitText("#commit-dialog-text", fmt.Sprintf("This queues %d tasks", tasks))
	if got := b.eval(`document.activeElement.id`); got != "commit-confirm" {
		t.Errorf("focus in the dialog is on %q, want the confirm button", got)
	}
	b.screenshot("lead-5a-commit-confirm")
	if n := apiCount(t, app, lead, "/api/v1/campaigns/1", "tasks"); n != 0 {
		t.Fatalf("%d tasks before the commit was confirmed", n)
	}
	b.do("confirm", chromedp.KeyEvent(kb.Enter))
	b.waitText("#commit-result", fmt.Sprintf("Queued %d tasks", tasks))
	if got := b.eval(`document.activeElement.id`); got != "commit-result" {
		t.Errorf("focus after the commit is on %q, want the result", got)
	}
	if n := apiCount(t, app, lead, "/api/v1/campaigns/1", "tasks"); n != tasks {
		t.Errorf("%d tasks in the campaign, the preview showed %d", n, tasks)
	}
	b.waitText(`#campaign-counts [data-count="tasks"]`, strconv.Itoa(tasks))
	b.screenshot("lead-5b-committed")

	// 6. The audit log shows who changed the thresholds.
	b.waitText("#audit-table", "campaign.thresholds")
	if got := b.text("#audit-table"); !strings.Contains(got, "lead@example.com") || !strings.Contains(got, "campaign.create") {
		t.Errorf("audit log %q, want the lead's create and thresholds entries", got)
	}
	// 6. Settings: open the campaign for ratings. The status only moves
	// forward, and the change is audited.
	if got := b.eval(`String(document.querySelector('#cf-status option[value="draft"]').disabled)`); got != "false" {
		t.Errorf("draft option disabled=%s on a draft campaign", got)
	}
	b.do("collect ratings",
		chromedp.SetValue(chromedp.ID("cf-status"), "collecting"),
		chromedp.Click(chromedp.CSS(`#campaign-form [type="submit"]`)),
	)
	b.waitText("#campaign-form .form-status", "Settings saved")
	b.waitText("#campaign-meta", "collecting")
	if got := b.eval(`String(document.querySelector('#cf-status option[value="draft"]').disabled)`); got != "true" {
		t.Errorf("draft option disabled=%s on a collecting campaign, want true", got)
	}
	b.waitText("#audit-table", "campaign.status")
	b.screenshot("lead-6-settings-audit")
	b.phoneFits("lead-campaign")

	// Back on the list, the campaign links to its page and counts its tasks.
	b.open("/lead")
	b.waitText("#campaigns-table", "Demo shapes")
	if got := b.eval(`document.querySelector('#campaigns-table tbody a').getAttribute('href')`); got != "/lead/campaigns/1" {
		t.Errorf("campaign link %q, want /lead/campaigns/1", got)
	}
	if got := b.text("#campaigns-table tbody"); !strings.Contains(got, "All annotators") {
		t.Errorf("campaign row %q, want All annotators", got)
	}
	b.screenshot("lead-7-list")
	b.phoneFits("lead-list")

	// A campaign that does not exist says so instead of empty sections.
	b.open("/lead/campaigns/99")
	b.waitText("#campaign-name", "Campaign not found")
	if got := b.eval(`String([...document.querySelectorAll('.section')].every(s => s.hidden))`); got != "true" {
		t.Error("the sections of a missing campaign are shown")
	}
	b.checkConsole()
}

func versionSuffix(v string) string {
	if v == "" {
		return ""
	}
	return "@" + v
}

// apiGet decodes a lead API answer into v.
func apiGet(t *testing.T, app *testApp, token, path string, v any) {
	t.Helper()
	rec := app.do("GET", path, "", token)
	if rec.Code != 200 {
		t.Fatalf("GET %s = %d %s", path, rec.Code, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// apiCount reads one of a campaign's counts through the API.
func apiCount(t *testing.T, app *testApp, token, path, key string) int {
	t.Helper()
	var c struct {
		Counts map[string]int `json:"counts"`
	}
	apiGet(t, app, token, path, &c)
	return c.Counts[key]
}

func campaignThresholds(t *testing.T, app *testApp) string {
	t.Helper()
	c, err := app.store.CampaignByID(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Thresholds) == 0 {
		return "null"
	}
	return string(c.Thresholds)
}

func apiJob(t *testing.T, app *testApp, token string, id int64) autoeval.Job {
	t.Helper()
	var j autoeval.Job
	apiGet(t, app, token, fmt.Sprintf("/api/v1/jobs/%d", id), &j)
	return j
}

// TestBrowserLeadPairwiseSelection sets the other kind of thresholds in
// the UI: a pairwise campaign ranked by a weighted combination, adjacent
// pairs, images stratified by tag; then a second commit that must replace
// the untouched tasks of the first.
func TestBrowserLeadPairwiseSelection(t *testing.T) {
	configure, startWorker := leadServices(t)
	app, b := startBrowserAppWith(t, configure)
	dir, ds := demoUpload(t)
	ctx := context.Background()
	lead := app.token(models.RoleLead)

	// The data arrive as `capeval import` brings them, with the demo's tags.
	camp := &models.Campaign{Name: "Pairs", Mode: models.ModePairwise}
	if err := app.store.CreateCampaign(ctx, camp); err != nil {
		t.Fatal(err)
	}
	req := annotation.ImportRequest{
		Images:     annotation.SourceFile{Path: filepath.Join(dir, "images.zip"), Name: "images.zip"},
		References: annotation.SourceFile{Path: filepath.Join(dir, "references.json"), Name: "references.json"},
		Tags:       map[string][]string{},
	}
	for _, img := range ds.Images {
		req.Tags[strconv.Itoa(img.ID)] = img.Tags
	}
	for _, c := range ds.Captioners {
		req.Results = append(req.Results, annotation.ResultsFile{Captioner: c.Name, Version: "1",
			SourceFile: annotation.SourceFile{Path: filepath.Join(dir, "results-"+c.Name+".json"), Name: c.Name + ".json"}})
	}
	imp := annotation.NewImporter(app.store, annotation.NewImageStore(app.srv.cfg.DataDir), nil)
	if _, err := imp.Import(ctx, camp.ID, req); err != nil {
		t.Fatal(err)
	}
	startWorker()
	if rec := app.do("POST", fmt.Sprintf("/api/v1/campaigns/%d/jobs", camp.ID), `{"kind":"text"}`, lead); rec.Code != 202 {
		t.Fatalf("start job: %d %s", rec.Code, rec.Body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for apiJob(t, app, lead, 1).Status != models.JobDone {
		if time.Now().After(deadline) {
			t.Fatalf("text job not done: %+v", apiJob(t, app, lead, 1))
		}
		time.Sleep(20 * time.Millisecond)
	}

	page := fmt.Sprintf("/lead/campaigns/%d", camp.ID)
	b.open(page)
	b.login("lead@example.com", testPassword)
	b.waitPath(page)
	b.waitText("#campaign-meta", "Pairwise")
	// The finished job is shown as it is on arrival.
	b.waitText("#job-text .job-text", "done: 192 of 192")
	b.waitEval(`String(document.getElementById('pairs-field').hidden)`, "false")
	b.waitEval(`String(document.getElementById('normalize-field').hidden)`, "true")
	b.waitEval(`String(document.getElementById('th-w-CIDEr').disabled)`, "true")

	// Per-image selection has its own control and counts images in all.
	choose := func(id, value string) {
		b.do("choose "+value, chromedp.SetValue(chromedp.ID(id), value))
		b.eval(fmt.Sprintf(`(document.getElementById(%q).dispatchEvent(new Event('change', {bubbles: true})), "")`, id))
	}
	choose("th-selection", "per_image")
	b.waitEval(`String(document.getElementById('per-image-field').hidden)`, "false")
	b.waitText("#th-images-label", "Images in all")
	choose("th-selection", "per_captioner")
	b.waitEval(`String(document.getElementById('per-image-field').hidden)`, "true")
	b.waitText("#th-images-label", "Images per captioner")

	b.do("rank by weights", chromedp.ScrollIntoView(chromedp.ID("th-rank-weights")), chromedp.Click(chromedp.ID("th-rank-weights")))
	b.waitEval(`String(document.getElementById('normalize-field').hidden)`, "false")
	b.waitEval(`String(document.getElementById('th-w-CIDEr').disabled)`, "false")
	choose("th-sampling", "stratified")
	b.waitEval(`String(document.getElementById('tag-prefix-field').hidden)`, "false")
	b.do("fill the thresholds",
		chromedp.SendKeys(chromedp.ID("th-w-CIDEr"), "2"),
		chromedp.SendKeys(chromedp.ID("th-w-Bleu_4"), "1"),
		chromedp.SetValue(chromedp.ID("th-normalize"), "zscore"),
		chromedp.SendKeys(chromedp.ID("th-topk"), "3"),
		chromedp.SendKeys(chromedp.ID("th-images"), "6"),
		chromedp.SendKeys(chromedp.ID("th-tag-prefix"), "count:"),
		chromedp.SendKeys(chromedp.ID("th-seed"), "11"),
		chromedp.SetValue(chromedp.ID("th-pairs"), "adjacent"),
		chromedp.Click(chromedp.CSS(`#thresholds-form [type="submit"]`)),
	)
	b.waitText("#thresholds-form .form-status", "Thresholds saved")
	c, err := app.store.CampaignByID(ctx, camp.ID)
	if err != nil {
		t.Fatal(err)
	}
	var stored annotation.Thresholds
	if err := json.Unmarshal(c.Thresholds, &stored); err != nil {
		t.Fatal(err)
	}
	if stored.Rank.Weights["CIDEr"] != 2 || stored.Rank.Weights["Bleu_4"] != 1 || stored.Rank.Normalize != "zscore" || stored.Rank.Metric != "" ||
		stored.TopK != 3 || stored.Images.Count != 6 || stored.Images.Sampling != "stratified" || stored.Images.TagPrefix != "count:" ||
		stored.Pairs != "adjacent" || stored.Seed == nil || *stored.Seed != 11 {
		t.Errorf("stored thresholds %s", c.Thresholds)
	}
	if got := b.count(`#preview-counts [data-count="captioners_kept"]`); got != 3 {
		t.Errorf("preview keeps %d captioners, want 3", got)
	}
	// Adjacent pairs of three captioners: two pairs per image, each an A/B.
	b.waitText("#preview-examples", "pair")
	if got := b.eval(`String(document.querySelectorAll('#preview-examples li')[0].querySelectorAll('blockquote').length)`); got != "2" {
		t.Errorf("a pairwise example shows %s captions, want 2", got)
	}
	if got := b.text("#preview"); !strings.Contains(got, "2 × CIDEr + 1 × Bleu_4 (zscore)") && !strings.Contains(got, "1 × Bleu_4 + 2 × CIDEr (zscore)") {
		t.Errorf("preview does not say how it ranks: %q", got)
	}
	first := b.count(`#preview-counts [data-count="tasks"]`)
	b.screenshot("pairs-1-preview")
	b.do("commit", chromedp.Click(chromedp.ID("commit-open")), chromedp.Click(chromedp.ID("commit-confirm")))
	b.waitText("#commit-result", fmt.Sprintf("Queued %d tasks", first))

	// A second selection meets the first's tasks: the commit waits until
	// the lead chooses to replace the untouched ones.
	b.clear("th-images")
	b.do("more images", chromedp.SendKeys(chromedp.ID("th-images"), "9"), chromedp.Click(chromedp.CSS(`#thresholds-form [type="submit"]`)))
	b.waitEval(`String(document.getElementById('sel-replace') !== null)`, "true")
	b.waitEval(`String(document.getElementById('commit-open').disabled)`, "true")
	b.do("replace", chromedp.Click(chromedp.ID("sel-replace")))
	b.waitEval(`String(document.getElementById('commit-open').disabled)`, "false")
	if got := b.eval(`document.activeElement.id`); got != "sel-replace" {
		t.Errorf("focus after ticking replace is on %q, want the checkbox", got)
	}
	second := b.count(`#preview-counts [data-count="tasks"]`)
	b.screenshot("pairs-2-replace")
	b.do("commit again", chromedp.Click(chromedp.ID("commit-open")))
	b.waitText("#commit-dialog-text", fmt.Sprintf("deleting %d untouched tasks", first))
	b.do("confirm", chromedp.Click(chromedp.ID("commit-confirm")))
	b.waitText("#commit-result", fmt.Sprintf("Queued %d tasks for the annotators and deleted %d untouched ones", second, first))
	if n := apiCount(t, app, lead, "/api/v1"+page[len("/lead"):], "tasks"); n != second {
		t.Errorf("%d tasks after the replacing commit, want %d", n, second)
	}
	b.screenshot("pairs-3-replaced")
	b.checkConsole()
}

// fakeJobs is a JobService whose one job the test moves by hand, to see a
// running job's progress, rate and ETA on the page (a real text job over
// the demo data ends too fast to be seen running).
type fakeJobs struct {
	mu  sync.Mutex
	job autoeval.Job
}

func (f *fakeJobs) set(fn func(j *autoeval.Job)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.job)
}

// get returns a deep copy: the handlers encode it while the test moves the
// job on.
func (f *fakeJobs) get() autoeval.Job {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.job
	if j.ETASeconds != nil {
		eta := *j.ETASeconds
		j.ETASeconds = &eta
	}
	return j
}

func (f *fakeJobs) Start(context.Context, int64, string) (*autoeval.Job, error) {
	return nil, fmt.Errorf("%w: text job running", autoeval.ErrConflict)
}

func (f *fakeJobs) Get(_ context.Context, id int64) (*autoeval.Job, error) {
	j := f.get()
	if id != j.ID {
		return nil, fmt.Errorf("%w: job %d", autoeval.ErrNotFound, id)
	}
	return &j, nil
}

func (f *fakeJobs) List(context.Context, int64) ([]autoeval.Job, error) {
	return []autoeval.Job{f.get()}, nil
}

func (f *fakeJobs) Cancel(_ context.Context, id int64) (*autoeval.Job, error) {
	f.set(func(j *autoeval.Job) { j.Status = models.JobCancelled; j.ETASeconds = nil })
	return f.Get(context.Background(), id)
}

func (f *fakeJobs) Captioners(context.Context, int64) (*autoeval.CaptionerReport, error) {
	return &autoeval.CaptionerReport{
		Metrics: []string{"CIDEr", "CLIPScore"},
		CLIP:    autoeval.CLIPStatus{Available: true},
		Captioners: []autoeval.CaptionerScores{
			{ID: 1, Name: "blip", Version: "2", Captions: 192, Scores: map[string]float64{"CIDEr": 1.23456, "CLIPScore": 0.7654}},
			{ID: 2, Name: "git", Captions: 192, Scores: map[string]float64{"CIDEr": 0.5}},
		},
	}, nil
}

func TestBrowserLeadJobProgress(t *testing.T) {
	defer func(d time.Duration) { jobEventsPoll = d }(jobEventsPoll)
	jobEventsPoll = 50 * time.Millisecond
	eta := 11.4
	jobs := &fakeJobs{job: autoeval.Job{ID: 7, CampaignID: 1, Kind: autoeval.KindCLIP, Status: models.JobRunning,
		Done: 50, Total: 192, Rate: 12.5, ETASeconds: &eta, Device: "cuda:0"}}
	app, b := startBrowserAppWith(t, func(a *testApp) {
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		a.srv = New(a.srv.cfg, a.store, a.accounts, Services{Campaigns: annotation.NewCampaigns(a.store, log), Jobs: jobs}, log)
	})
	if err := app.store.CreateCampaign(context.Background(), &models.Campaign{Name: "progress", Mode: models.ModeLikert}); err != nil {
		t.Fatal(err)
	}
	b.open("/lead/campaigns/1")
	b.login("lead@example.com", testPassword)
	b.waitPath("/lead/campaigns/1")

	// A job running when the page opens is followed from where it is.
	b.waitText("#job-clip .job-text", "CLIP metrics: 50 of 192 captions scored (26 %), 12.5 per second, about 11 s left.")
	b.waitText("#job-clip .job-detail", "on cuda:0")
	b.waitEval(`(p => p.value + '/' + p.max)(document.getElementById('job-clip-bar'))`, "50/192")
	b.screenshot("progress-1-running")
	jobs.set(func(j *autoeval.Job) { j.Done = 120; eta = 5.76; j.ETASeconds = &eta })
	// The bar follows at once; the live text at most every few seconds.
	b.waitEval(`(p => p.value + '/' + p.max)(document.getElementById('job-clip-bar'))`, "120/192")
	b.waitText("#job-clip .job-text", "120 of 192 captions scored (62 %), 12.5 per second, about 6 s left.")

	b.do("cancel", chromedp.Click(chromedp.CSS("#job-clip .job-cancel")))
	b.waitText("#job-clip .job-text", "cancelled after 120 of 192 captions")
	b.waitEval(`String(document.querySelector('#job-clip .job-cancel').offsetParent === null)`, "true")

	// A CLIPScore missing for a captioner is shown as not computed.
	b.waitText("#captioners-table", "CLIPScore")
	if got := b.eval(`[...document.querySelectorAll('#captioners-table tbody tr')].map(r => [...r.cells].map(c => c.textContent).join(' ')).join(' | ')`); got != "blip@2 192 1.235 0.765 | git 192 0.500 —not computed" {
		t.Errorf("captioner rows %q", got)
	}
	if got := b.eval(`String(document.getElementById('clip-notice').hidden)`); got != "true" {
		t.Error("the CLIP notice is shown although CLIP is available")
	}
	b.screenshot("progress-2-cancelled")
	b.checkConsole()
}
