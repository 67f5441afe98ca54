package server

// The lead's rating progress in a real browser: the campaign list keeps
// long names readable beside long descriptions; the progress panel shows
// the API's numbers, the annotators with their flags and the set-aside
// tasks; the lead changes the quality checks, excludes (asking for
// replacements of the excluded ratings) and re-includes an
// annotator, puts a set-aside task back, and closes the campaign after a
// confirmation that says it cannot be undone.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"capeval/annotation"
	"capeval/models"
)

// sectionShot saves a screenshot of the element sel as name.png, at the
// page's resolution, where screenshot puts its files.
func sectionShot(b *browser, name, sel string) {
	b.t.Helper()
	png := run(b, "screenshot "+name, chromedp.Screenshot(chromedp.CSS(sel)))
	dirs := []string{b.dir}
	if a := os.Getenv("CAPEVAL_ARTIFACTS"); a != "" {
		dirs = append(dirs, filepath.Join(a, "browser"))
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
}

func TestBrowserLeadProgress(t *testing.T) {
	var qa *queueApp
	app, b := startBrowserAppWith(t, func(a *testApp) {
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		qa = &queueApp{testApp: a, images: annotation.NewImageStore(a.srv.cfg.DataDir)}
		quality := annotation.NewQuality(a.store, log)
		qa.queue = annotation.NewQueue(a.store, qa.images, log, annotation.QueueOptions{Admitter: quality})
		campaigns := annotation.NewCampaigns(a.store, log, annotation.WithThresholdsValidator(annotation.ValidateThresholds))
		a.srv = New(a.srv.cfg, a.store, a.accounts, Services{Campaigns: campaigns, Queue: qa.queue, Quality: quality,
			Progress:  annotation.NewProgress(a.store, quality, log),
			Selection: annotation.NewSelection(a.store, campaigns, log),
			Import:    annotation.NewImporter(a.store, qa.images, log)}, log)
	})
	ctx := context.Background()
	lead := app.token(models.RoleLead)
	long := "A campaign whose description goes on and on: " + strings.Repeat("it explains the captioners, the images, the rubric and what the lead hopes to learn. ", 6)
	draft := &models.Campaign{Name: "Spring evaluation of the new captioners", Description: long, Mode: models.ModeLikert}
	if err := app.store.CreateCampaign(ctx, draft); err != nil {
		t.Fatal(err)
	}
	f := qa.seedCampaign("Progress demo", models.ModeLikert, 6, 2, 2)
	cid := f.campaign.ID
	// Two annotators at work: the first rates three tasks fast, the second
	// one; both skip the same task as broken, which sets it aside.
	ann := app.users[models.RoleAnnotator]
	ann2 := qa.addUser("second", models.RoleAnnotator)
	rate := func(u *models.User, n int, ms int64) {
		for i := range n {
			v, reason, err := qa.queue.Next(ctx, u.ID, cid, 0)
			if err != nil || v == nil {
				t.Fatalf("next for %s: %v %s", u.Email, err, reason)
			}
			in := annotation.RatingInput{ClientID: fmt.Sprintf("%s-%d", u.Name, i), DurationMS: ms,
				Answers: map[string]any{"precision": 4.0, "recall": 4.0, "fluency": 5.0, "overall": 4.0}}
			if _, _, err := qa.queue.Rate(ctx, u.ID, v.TaskID, in); err != nil {
				t.Fatal(err)
			}
		}
	}
	rate(ann, 3, 1200)
	rate(ann2, 1, 9000)
	aside := f.tasks[5].ID
	for _, u := range []*models.User{ann, ann2} {
		if _, err := app.store.TakeLease(ctx, aside, u.ID, time.Now(), time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := qa.queue.Skip(ctx, u.ID, aside, "image_broken"); err != nil {
			t.Fatal(err)
		}
	}
	// A task on someone's screen: a live lease.
	if v, _, err := qa.queue.Next(ctx, ann2.ID, cid, 0); err != nil || v == nil {
		t.Fatalf("lease: %v", err)
	}
	progress := func() annotation.CampaignProgress {
		t.Helper()
		var p annotation.CampaignProgress
		apiGet(t, app, lead, fmt.Sprintf("/api/v1/campaigns/%d/progress", cid), &p)
		return p
	}

	// 1. The list: a long description no longer squeezes the names.
	b.open("/lead")
	b.login("lead@example.com", testPassword)
	b.waitPath("/lead")
	b.waitText("#campaigns-table", "Spring evaluation")
	for _, name := range []string{"Progress demo", draft.Name} {
		box := b.eval(fmt.Sprintf(`(a => { const r = a.getBoundingClientRect(); return Math.round(r.width) + 'x' + Math.round(r.height) + 'x' + parseFloat(getComputedStyle(a).lineHeight) })([...document.querySelectorAll('#campaigns-table .campaign-name')].find(a => a.textContent === %q))`, name))
		var w, h, line float64
		if _, err := fmt.Sscanf(strings.ReplaceAll(box, "x", " "), "%g %g %g", &w, &h, &line); err != nil {
			t.Fatalf("%s: box %q", name, box)
		}
		if w < 200 || h > 1.5*line {
			t.Errorf("campaign name %q is %gx%g px (line %g px): squeezed", name, w, h, line)
		}
	}
	desc := b.eval(`(d => Math.round(d.getBoundingClientRect().height) + ' ' + d.title.length + ' ' + parseFloat(getComputedStyle(d).lineHeight))(document.querySelector('#campaigns-table .campaign-desc'))`)
	var dh, dtitle, dline float64
	fmt.Sscanf(desc, "%g %g %g", &dh, &dtitle, &dline)
	if dh > 2.5*dline || int(dtitle) != len(long) {
		t.Errorf("the long description takes %g px (line %g px), title %g characters of %d", dh, dline, dtitle, len(long))
	}
	b.screenshot("progress-1-list")
	b.phoneFits("progress-list")

	// 2. The progress panel shows the API's numbers.
	page := fmt.Sprintf("/lead/campaigns/%d", cid)
	b.open(page)
	b.waitPath(page)
	b.waitText(`#progress-counts [data-count="done"]`, "")
	p := progress()
	for key, want := range map[string]string{
		"done": strconv.FormatInt(p.Tasks.Done, 10), "in_progress": strconv.FormatInt(p.Tasks.InProgress, 10),
		"remaining": strconv.FormatInt(p.Tasks.Remaining, 10), "set_aside": "1",
		"ratings": fmt.Sprintf("%d / %d", p.Tasks.RatingsDone, p.Tasks.RatingsWanted), "leases": "1",
	} {
		if got := b.text(fmt.Sprintf(`#progress-counts [data-count=%q]`, key)); got != want {
			t.Errorf("progress %s shows %q, the API says %q", key, got, want)
		}
	}
	if p.Tasks.RatingsDone+p.Gold.RatingsDone != 4 || p.Estimate == nil {
		t.Errorf("progress %+v, estimate %+v", p.Tasks, p.Estimate)
	}
	if got := b.text(`#progress-counts [data-count="eta"]`); got == "—" || got == "" {
		t.Errorf("no estimate shown: %q", got)
	}
	row := func(u *models.User) string { return fmt.Sprintf(`#annotators-table tr[data-annotator="%d"]`, u.ID) }
	b.waitText(row(ann), ann.Email)
	if got := b.text(row(ann2)); !strings.Contains(got, ann2.Email) {
		t.Errorf("second annotator's row %q", got)
	}
	b.waitText("#set-aside", fmt.Sprintf("Task %d", aside))
	if got := b.text("#set-aside"); !strings.Contains(got, "image broken") || !strings.Contains(got, ann2.Email) {
		t.Errorf("set-aside list %q, want who skipped it why", got)
	}
	b.waitEval(`String(document.querySelector('#set-aside img').complete && document.querySelector('#set-aside img').naturalWidth > 0)`, "true")
	b.screenshot("progress-2-panel")
	sectionShot(b, "progress-2-panel-section", "#progress")

	// 3. The quality checks: a bad value is marked on its field; then a
	// minimum time flags the fast annotator.
	b.do("open the quality checks", chromedp.Click(chromedp.CSS("#quality-settings summary")))
	b.clear("qs-daily_cap")
	b.do("a negative cap", chromedp.SendKeys(chromedp.ID("qs-daily_cap"), "-3"), chromedp.Click(chromedp.CSS(`#quality-form [type="submit"]`)))
	b.waitEval(`document.getElementById('qs-daily_cap').getAttribute('aria-invalid') ?? ''`, "true")
	if msg := b.formError("#quality-form"); !strings.Contains(msg, "-3") {
		t.Errorf("daily cap error %q", msg)
	}
	if got, _ := app.store.CampaignQualityByID(ctx, cid); !got.UpdatedAt.IsZero() {
		t.Errorf("refused settings were stored: %+v", got)
	}
	b.clear("qs-daily_cap")
	b.clear("qs-min_seconds")
	b.do("a minimum time", chromedp.SendKeys(chromedp.ID("qs-daily_cap"), "50"), chromedp.SendKeys(chromedp.ID("qs-min_seconds"), "2"),
		chromedp.Click(chromedp.CSS(`#quality-form [type="submit"]`)))
	b.waitText("#quality-form .form-status", "Quality checks saved")
	if got, _ := app.store.CampaignQualityByID(ctx, cid); got.DailyCap != 50 || got.MinSeconds != 2 || got.UpdatedBy == nil {
		t.Errorf("stored settings %+v", got)
	}
	b.waitText(row(ann)+" .flags", "fast ratings")
	if got := b.text(row(ann2) + " .flags"); strings.Contains(got, "fast") {
		t.Errorf("the careful annotator is flagged: %q", got)
	}
	b.screenshot("progress-3-quality")
	sectionShot(b, "progress-3-quality-section", "#progress")

	// 4. Exclude the fast annotator's ratings, then count them again: the
	// ratings stay in the database throughout.
	countRatings := func() int {
		n := 0
		if err := app.store.EachCampaignRating(ctx, cid, func(models.QualityRating) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := countRatings()
	b.do("exclude", chromedp.Click(chromedp.CSS(row(ann)+` button[data-decision="exclude"]`)))
	b.waitText(row(ann)+" .exclusion-state", "excluded by the lead")
	b.waitText("#progress-status", "nothing was deleted")
	if got := b.eval(`document.activeElement.closest('tr')?.dataset.annotator ?? ''`); got != strconv.FormatInt(ann.ID, 10) {
		t.Errorf("focus after excluding is in row %q", got)
	}
	if ids, err := annotation.NewQuality(app.store, nil).ExcludedAnnotators(ctx, cid); err != nil || len(ids) != 1 || ids[0] != ann.ID {
		t.Errorf("excluded annotators %v, %v", ids, err)
	}
	b.waitText("#progress-notes", "excluded from the results")
	// Their ratings of regular tasks still fill those tasks: ask for
	// replacements (the queue interleaves gold, which is not rated again).
	shown := progress()
	r := shown.Replaceable
	if r.Ratings < 1 || r.Ratings > 3 || r.Tasks != r.Ratings {
		t.Fatalf("replaceable after the exclusion: %+v, want 1 to 3 ratings, one per task", r)
	}
	plural := func(n int, noun string) string {
		if n == 1 {
			return "1 " + noun
		}
		return fmt.Sprintf("%d %ss", n, noun)
	}
	b.waitText("#replacements", plural(r.Ratings, "excluded rating")+" still fill")
	b.waitText("#replace-excluded", "Ask for "+plural(r.Ratings, "replacement rating"))
	b.screenshot("progress-4-excluded")
	sectionShot(b, "progress-4-excluded-section", "#progress")
	wantedBefore := shown.Tasks.RatingsWanted
	b.do("ask for replacements", chromedp.Click(chromedp.CSS("#replace-excluded")))
	b.waitText("#progress-status", plural(r.Tasks, "task"))
	b.waitText("#progress-status", plural(r.Ratings, "more rating")+" in place of the excluded ones")
	if got := b.eval(`String(document.getElementById('replacements') === null)`); got != "true" {
		t.Errorf("the replacement offer is still shown after the replacements")
	}
	if after := progress(); after.Tasks.RatingsWanted != wantedBefore+int64(r.Ratings) || after.Replaceable.Ratings != 0 {
		t.Errorf("after the replacements: %d ratings wanted (%d before), %d still replaceable", after.Tasks.RatingsWanted, wantedBefore, after.Replaceable.Ratings)
	}
	b.waitText("#audit-table", "campaign.replacements")
	b.do("include again", chromedp.Click(chromedp.CSS(row(ann)+` button[data-decision="include"]`)))
	b.waitText(row(ann)+" .exclusion-state", "kept by the lead")
	b.do("reset", chromedp.Click(chromedp.CSS(row(ann)+` button[data-decision="policy"]`)))
	b.waitText(row(ann)+" .exclusion-state", "counted")
	if n := countRatings(); n != before {
		t.Errorf("%d ratings after the exclusion and its reversal, %d before", n, before)
	}
	b.waitText("#audit-table", "annotator.exclusion")

	// 5. Put the set-aside task back in the queue.
	b.do("put back", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#set-aside li[data-task="%d"] button[data-decision="put_back"]`, aside))))
	b.waitText("#set-aside", "No task is set aside")
	b.waitText(`#progress-counts [data-count="set_aside"]`, "0")
	if task := qa.taskRow(aside); task.SetAsideAt != nil {
		t.Errorf("task %d still set aside", aside)
	}

	// 6. Close the campaign: a confirmation that says it cannot be undone;
	// cancelling changes nothing.
	b.do("close", chromedp.Click(chromedp.ID("close-queue")))
	b.waitEval(`String(document.getElementById('close-dialog').open)`, "true")
	if got := b.text("#close-dialog-text"); !strings.Contains(got, "cannot be undone") || !strings.Contains(got, f.campaign.Name) {
		t.Errorf("confirmation %q", got)
	}
	if got := b.eval(`document.activeElement.id`); got != "close-cancel" {
		t.Errorf("focus in the confirmation is on %q, want the safe choice", got)
	}
	b.screenshot("progress-5-close-confirm")
	b.do("cancel with Escape", chromedp.KeyEvent(kb.Escape))
	b.waitEval(`String(document.getElementById('close-dialog').open)`, "false")
	if c, _ := app.store.CampaignByID(ctx, cid); c.Status != models.StatusCollecting {
		t.Fatalf("cancelled close left the campaign %s", c.Status)
	}
	b.do("close for real", chromedp.Click(chromedp.ID("close-queue")))
	b.waitEval(`String(document.getElementById('close-dialog').open)`, "true")
	b.do("confirm", chromedp.Click(chromedp.ID("close-confirm")))
	b.waitText("#progress-status", "The campaign is closed")
	b.waitText("#progress-body .progress-state", "closed")
	b.waitText("#campaign-meta", "closed")
	b.waitEval(`String(document.getElementById('close-queue') === null)`, "true")
	if c, _ := app.store.CampaignByID(ctx, cid); c.Status != models.StatusClosed {
		t.Errorf("campaign %s after the confirmed close", c.Status)
	}
	if v, reason, err := qa.queue.Next(ctx, ann.ID, cid, 0); v != nil || err != nil || !strings.Contains(reason, "closed") {
		t.Errorf("next after closing: %+v %q %v", v, reason, err)
	}
	b.waitText("#audit-table", "campaign.status")
	b.screenshot("progress-6-closed")
	sectionShot(b, "progress-6-closed-section", "#progress")
	b.phoneFits("progress-campaign")

	// 7. The settings form asks too: closing the draft from there, then
	// cancelling, saves nothing.
	page = fmt.Sprintf("/lead/campaigns/%d", draft.ID)
	b.open(page)
	b.waitPath(page)
	b.waitText("#progress-body .progress-state", "Draft")
	b.do("choose closed", chromedp.SetValue(chromedp.ID("cf-status"), "closed"), chromedp.Click(chromedp.CSS(`#campaign-form [type="submit"]`)))
	b.waitEval(`String(document.getElementById('close-dialog').open)`, "true")
	b.do("cancel", chromedp.Click(chromedp.ID("close-cancel")))
	b.waitEval(`String(document.getElementById('close-dialog').open)`, "false")
	time.Sleep(200 * time.Millisecond)
	var c struct{ Status string }
	apiGet(t, app, lead, fmt.Sprintf("/api/v1/campaigns/%d", draft.ID), &c)
	if c.Status != "draft" {
		t.Errorf("a cancelled close from the settings left the campaign %s", c.Status)
	}
	// Opening it for rating needs no confirmation.
	b.do("open for rating", chromedp.Click(chromedp.ID("open-queue")))
	b.waitText("#progress-status", "open for rating")
	apiGet(t, app, lead, fmt.Sprintf("/api/v1/campaigns/%d", draft.ID), &c)
	if c.Status != "collecting" {
		t.Errorf("after Open for rating: %s", c.Status)
	}
	b.waitEval(`document.getElementById('cf-status').value`, "collecting")
	b.checkConsole()
}
