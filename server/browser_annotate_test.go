package server

// The annotator's path in a real browser: the campaign list, the
// instructions, five Likert and three pairwise tasks rated with the
// keyboard alone, a skip with its reason, an undo that revises a rating, a
// connection that drops under a submission; then the database must hold
// exactly what was typed, the pairwise choices translated back from the
// order they were shown in.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"capeval/annotation"
	"capeval/autoeval"
	"capeval/internal/sharedtest"
	"capeval/models"
)

// netSwitch stands between the browser and the app. It can cut every API
// request (the connection drops before the app sees it), or lose the
// answer of the next rating POST after the app stored it, which is what a
// connection that drops mid-request looks like to the page. It keeps every
// JSON answer the browser got, for the blindness check, and counts the
// rating POSTs per client id.
type netSwitch struct {
	mu         sync.Mutex
	down       bool
	dropRating bool
	answers    []string
	posts      map[string]int // client_id → rating POSTs that reached the app
}

func (s *netSwitch) set(fn func(s *netSwitch)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}

var ratingPostPath = regexp.MustCompile(`^/api/v1/tasks/\d+/ratings$`)

func (s *netSwitch) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api := strings.HasPrefix(r.URL.Path, "/api/")
		s.mu.Lock()
		down := s.down
		s.mu.Unlock()
		if api && down {
			panic(http.ErrAbortHandler) // the connection closes without an answer
		}
		drop := false
		if r.Method == http.MethodPost && ratingPostPath.MatchString(r.URL.Path) {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			var req struct {
				ClientID string `json:"client_id"`
			}
			_ = json.Unmarshal(body, &req)
			s.mu.Lock()
			if s.posts == nil {
				s.posts = map[string]int{}
			}
			s.posts[req.ClientID]++
			drop, s.dropRating = s.dropRating, false
			s.mu.Unlock()
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if drop {
			panic(http.ErrAbortHandler) // stored, but the page never hears so
		}
		if api && strings.Contains(rec.Header().Get("Content-Type"), "json") {
			s.mu.Lock()
			s.answers = append(s.answers, r.Method+" "+r.URL.RequestURI()+" "+rec.Body.String())
			s.mu.Unlock()
		}
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// annotatorFixture is the app with every service the annotator's page
// needs, served to a browser through a netSwitch.
type annotatorFixture struct {
	t         *testing.T
	app       *testApp
	b         *browser
	net       *netSwitch
	campaigns *annotation.Campaigns
	selection *annotation.Selection
	importer  *annotation.Importer
	log       *slog.Logger
}

func startAnnotatorApp(t *testing.T) *annotatorFixture {
	t.Helper()
	if chromiumPath() == "" {
		sharedtest.Missing(t, "chromium not found: install the Debian package chromium (.ci/run does) or set CAPEVAL_CHROMIUM")
	}
	app := newTestApp(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	images := annotation.NewImageStore(app.srv.cfg.DataDir)
	fx := &annotatorFixture{t: t, app: app, net: &netSwitch{}, log: log}
	fx.campaigns = annotation.NewCampaigns(app.store, log, annotation.WithThresholdsValidator(annotation.ValidateThresholds))
	fx.selection = annotation.NewSelection(app.store, fx.campaigns, log)
	fx.importer = annotation.NewImporter(app.store, images, log)
	queue := annotation.NewQueue(app.store, images, log, annotation.QueueOptions{LeaseTTL: 15 * time.Second})
	app.srv = New(app.srv.cfg, app.store, app.accounts, Services{
		Campaigns: fx.campaigns,
		Selection: fx.selection,
		Import:    fx.importer,
		Jobs:      autoeval.NewJobs(app.store, false, log),
		Queue:     queue,
	}, log)
	requests := &requestLog{}
	ts := httptest.NewServer(requests.wrap(fx.net.wrap(app.srv.Handler())))
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("requests the browser made:\n%s", requests)
		}
	})
	fx.b = newBrowser(t, ts.URL)
	fx.b.requests = requests
	if dir := artifactsDir(); dir != "" {
		t.Logf("screenshots in %s and %s", fx.b.dir, dir)
	} else {
		t.Logf("screenshots in %s (set CAPEVAL_ARTIFACTS to keep them)", fx.b.dir)
	}
	return fx
}

// collectingCampaign makes a campaign the way a lead does: create it,
// import the demo data, run the text metrics, commit a selection, open it
// for ratings with instructions.
func (fx *annotatorFixture) collectingCampaign(name string, mode models.CampaignMode, thresholds, instructions string) *annotation.Campaign {
	t := fx.t
	t.Helper()
	ctx := context.Background()
	lead := fx.app.users[models.RoleLead].ID
	camp, err := fx.campaigns.Create(ctx, lead, annotation.NewCampaign{Name: name, Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	dir, ds := demoUpload(t)
	req := annotation.ImportRequest{
		Images:     annotation.SourceFile{Path: filepath.Join(dir, "images.zip"), Name: "images.zip"},
		References: annotation.SourceFile{Path: filepath.Join(dir, "references.json"), Name: "references.json"},
	}
	for _, c := range ds.Captioners {
		req.Results = append(req.Results, annotation.ResultsFile{Captioner: c.Name, Version: "1",
			SourceFile: annotation.SourceFile{Path: filepath.Join(dir, "results-"+c.Name+".json"), Name: c.Name + ".json"}})
	}
	if _, err := fx.importer.Import(ctx, camp.ID, req); err != nil {
		t.Fatal(err)
	}
	runner := autoeval.NewRunner(fx.app.store, autoeval.Scorers{}, fx.log)
	if j, err := runner.RunToEnd(ctx, autoeval.NewJobs(fx.app.store, false, fx.log), camp.ID, autoeval.KindText, nil); err != nil || j.Status != models.JobDone {
		t.Fatalf("text metrics of %s: %+v %v", name, j, err)
	}
	if _, err := fx.selection.Commit(ctx, lead, camp.ID, annotation.CommitOptions{Thresholds: models.JSON(thresholds)}); err != nil {
		t.Fatalf("commit %s: %v", name, err)
	}
	collecting := models.StatusCollecting
	camp, err = fx.campaigns.Update(ctx, lead, camp.ID, annotation.CampaignPatch{Status: &collecting, Instructions: &instructions})
	if err != nil {
		t.Fatal(err)
	}
	return camp
}

// key presses keys one after the other, as a person at the keyboard.
func (b *browser) key(keys ...string) {
	b.t.Helper()
	for _, k := range keys {
		b.do("press "+strconv.Quote(k), chromedp.KeyEvent(k))
	}
}

// shownTask waits until the rating screen shows a task other than prev and
// returns its id.
func (b *browser) shownTask(prev int64) int64 {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s := b.eval(`(f => document.getElementById('rate-screen').hidden || f.dataset.revising === 'true' ? '' : (f.dataset.task || ''))(document.getElementById('rate-form'))`)
		if id, err := strconv.ParseInt(s, 10, 64); err == nil && id != prev {
			return id
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("no task after %d on the rating screen; the page says %q", prev, b.eval(`document.getElementById('rater').innerText`))
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// waitShown waits until the element with id is shown and its text
// contains want. It asks the page, not chromedp's copy of the DOM, which
// can miss a hidden attribute that comes and goes within a few ms.
func (b *browser) waitShown(id, want string) {
	b.t.Helper()
	expr := fmt.Sprintf(`(e => e && !e.hidden && e.offsetParent !== null ? e.textContent : '')(document.getElementById(%q))`, id)
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := b.eval(expr)
		if strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("#%s shows %q, want it to contain %q", id, got, want)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// shot saves what the viewport shows as name.png, where screenshot saves
// the whole page: the rating screen is meant to fit a laptop's screen, and
// a dialog covers the viewport, not the page.
func (b *browser) shot(name string) {
	b.t.Helper()
	png := run(b, "screenshot "+name, chromedp.CaptureScreenshot())
	for _, dir := range []string{b.dir, artifactsDir()} {
		if dir == "" {
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.t.Fatalf("screenshot dir: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			b.t.Fatalf("write screenshot: %v", err)
		}
	}
}

// focused describes the focused element (id, or the radio's name=value).
func (b *browser) focused() string {
	b.t.Helper()
	return b.eval(`(e => e.type === 'radio' ? e.name + '=' + e.value : e.id || e.tagName)(document.activeElement)`)
}

// tabTo presses Tab until the element matching sel has focus.
func (b *browser) tabTo(sel string, max int) {
	b.t.Helper()
	for range max {
		if b.eval(fmt.Sprintf(`String(document.activeElement === document.querySelector(%q))`, sel)) == "true" {
			return
		}
		b.key(kb.Tab)
	}
	b.t.Fatalf("%d Tabs did not reach %s (focus on %s)", max, sel, b.focused())
}

// likertWant is what the test typed for one Likert task.
type likertWant struct {
	answers   map[string]int
	comment   string
	revisions int
}

func TestBrowserAnnotatorRates(t *testing.T) {
	fx := startAnnotatorApp(t)
	app, b := fx.app, fx.b
	ctx := context.Background()
	const instructions = "Judge each caption against the image only.\n\nRead the caption first, then look at the image. Use the whole scale."
	likert := fx.collectingCampaign("Shapes: rate each caption", models.ModeLikert,
		`{"top_k":2,"images":{"count":5},"seed":3,"ratings_per_item":2,"gold_rate":0.2}`, instructions)
	pairs := fx.collectingCampaign("Shapes: which caption is better", models.ModePairwise,
		`{"top_k":2,"images":{"count":2},"seed":5,"ratings_per_item":1,"gold_rate":0.2}`, "Pick the caption a careful person would write.")
	ann := app.users[models.RoleAnnotator]
	outboxLen := fmt.Sprintf(`String(JSON.parse(sessionStorage.getItem('capeval.rate.%d.outbox') || '[]').length)`, ann.ID)

	b.open("/annotate")
	b.login("annotator@example.com", testPassword)
	b.waitPath("/annotate")
	b.waitEval(`document.body.dataset.ready ?? ''`, "true")
	b.waitText("#rate-campaigns", likert.Name)
	if got := b.text("#rate-campaigns"); !strings.Contains(got, pairs.Name) || !strings.Contains(got, "Start rating") {
		t.Errorf("campaign list %q, want both campaigns with Start rating", got)
	}
	b.screenshot("annotate-1-campaigns")
	b.phoneFits("annotate-campaigns")

	// Open the Likert campaign with the keyboard: its instructions come first.
	b.eval(`document.activeElement.blur(), ""`)
	b.tabTo(fmt.Sprintf(`a[href="/annotate?campaign=%d"]`, likert.ID), 20)
	b.key(kb.Enter)
	b.waitText("#rate-intro", "Judge each caption against the image only.")
	if got := b.focused(); got != "rate-start" {
		t.Errorf("focus on the instructions is on %q, want the Start button", got)
	}
	if got := b.text("#rate-intro"); !strings.Contains(got, "Precision") || !strings.Contains(got, "Everything stated is correct") {
		t.Errorf("the instructions do not show the rubric with its scale labels: %q", got)
	}
	b.screenshot("annotate-2-instructions")
	b.key(kb.Enter)

	// Five Likert tasks with the keys alone. The third is revised with U
	// after the fourth has been shown; the second carries a comment.
	keys := [][]string{{"4", "3", "5", "2"}, {"5", "5", "4"}, {"1", "2", "3", "1"}, {"3", "3", "3", "3"}, {"2", "4", "4", "5"}}
	criteria := annotation.DefaultRubric().Keys()
	want := map[int64]*likertWant{}
	var prev int64
	for i, k := range keys {
		id := b.shownTask(prev)
		prev = id
		if got := b.focused(); got != "c-"+criteria[0]+"=1" {
			t.Errorf("task %d: focus on arrival is on %q, want the first criterion", i+1, got)
		}
		w := &likertWant{answers: map[string]int{}}
		for j, key := range k {
			w.answers[criteria[j]], _ = strconv.Atoi(key)
		}
		switch i {
		case 0:
			b.key(k[0], k[1])
			b.shot("annotate-3-likert")
			b.key(k[2:]...)
		case 4:
			// Half rated, then the page reloads: the same task comes back
			// with what was typed, focus on the next criterion.
			b.key(k[0], k[1])
			b.waitEval(outboxLen, "0")
			b.open(fmt.Sprintf("/annotate?campaign=%d", likert.ID))
			if got := b.shownTask(0); got != id {
				t.Fatalf("after a reload task %d is on screen, want %d", got, id)
			}
			if got := b.eval(`[...document.querySelectorAll('#rate-criteria input:checked')].map(i => i.name + '=' + i.value).join(' ')`); got != "c-precision=2 c-recall=4" {
				t.Errorf("after a reload the task shows %q, want what was typed: c-precision=2 c-recall=4", got)
			}
			if got := b.focused(); got != "c-fluency=1" {
				t.Errorf("after a reload focus is on %q, want the first criterion not rated", got)
			}
			b.key(k[2:]...)
		default:
			b.key(k...)
		}
		if i == 1 {
			// The last criterion by arrow (2), then Tab to the comment.
			b.key(kb.ArrowRight)
			w.answers[criteria[3]] = 2
			b.key(kb.Tab)
			if got := b.focused(); got != "rate-comment" {
				t.Fatalf("Tab after the last criterion is on %q, want the comment", got)
			}
			w.comment = "the circle is more orange than red"
			b.do("type a comment", chromedp.SendKeys(chromedp.ID("rate-comment"), w.comment))
		} else if got := b.focused(); got != "rate-submit" {
			t.Errorf("task %d: after the last criterion focus is on %q, want Submit", i+1, got)
		}
		if i == 3 {
			// The connection drops just after the server stored this
			// rating: the page keeps the answer and sends it again with
			// the same client id; the server answers with the first.
			fx.net.set(func(s *netSwitch) { s.dropRating = true })
		}
		b.key(kb.Enter)
		want[id] = w
		if i == 2 {
			// U: the last rating comes back (from the next task) and
			// Enter saves the change as a revision.
			b.shownTask(id)
			b.key("u")
			b.waitEval(`document.getElementById('rate-form').dataset.revising ?? ''`, "true")
			b.waitEval(`document.getElementById('rate-form').dataset.task`, strconv.FormatInt(id, 10))
			if got := b.eval(`[...document.querySelectorAll('#rate-criteria input:checked')].map(i => i.value).join('')`); got != "1231" {
				t.Errorf("the undone rating shows %q, want the answers 1231", got)
			}
			b.shot("annotate-4-undo")
			b.key(kb.ArrowUp, "4") // the last criterion: overall 1 → 4
			w.answers[criteria[3]] = 4
			w.revisions = 1
			b.key(kb.Enter)
			b.waitEval(`document.getElementById('rate-form').dataset.revising ?? ''`, "false")
			prev = id
		}
	}
	b.waitEval(outboxLen, "0")

	// S: skip the sixth task for a reason of one's own.
	skipped := b.shownTask(prev)
	b.key("s")
	b.waitEval(`String(document.getElementById('skip-dialog').open)`, "true")
	if got := b.focused(); got != "reason=image_broken" {
		t.Errorf("focus in the skip dialog is on %q, want the first reason", got)
	}
	b.key(kb.ArrowDown, kb.ArrowDown)
	if got := b.focused(); got != "skip-text" {
		t.Fatalf("choosing Another reason moves focus to %q, want the text field", got)
	}
	b.do("type the reason", chromedp.SendKeys(chromedp.ID("skip-text"), "the shapes overlap"))
	b.shot("annotate-5-skip")
	b.key(kb.Enter)
	b.waitEval(`String(document.getElementById('skip-dialog').open)`, "false")
	after := b.shownTask(skipped)

	// ? shows the keys and the instructions; Esc closes it.
	b.key("?")
	b.waitEval(`String(document.getElementById('help-dialog').open)`, "true")
	if got := b.text("#help-dialog"); !strings.Contains(got, "Use the whole scale") || !strings.Contains(got, "Skip this task") {
		t.Errorf("help %q, want the keys and the instructions", got)
	}
	b.shot("annotate-6-help")
	b.key(kb.Escape)
	b.waitEval(`String(document.getElementById('help-dialog').open)`, "false")
	// Z enlarges the image; Z again closes it.
	b.key("z")
	b.waitEval(`String(document.getElementById('zoom-dialog').open)`, "true")
	b.waitEval(`String(document.getElementById('zoom-image').naturalWidth > 0)`, "true")
	b.shot("annotate-7-zoom")
	b.key("z")
	b.waitEval(`String(document.getElementById('zoom-dialog').open)`, "false")

	// The connection is lost: the answer is kept and sent when it is back.
	fx.net.set(func(s *netSwitch) { s.down = true })
	offline := likertWant{answers: map[string]int{"precision": 2, "recall": 2, "fluency": 5, "overall": 2}}
	b.key("2", "2", "5", "2", kb.Enter)
	b.waitShown("rate-net", "Offline — retrying")
	b.waitShown("rate-net", "One answer is kept")
	b.shot("annotate-8-offline")
	fx.net.set(func(s *netSwitch) { s.down = false })
	b.waitShown("rate-net", "Back online")
	want[after] = &offline

	// Tablet and phone widths: nothing scrolls sideways.
	b.shownTask(after)
	b.do("tablet viewport", chromedp.EmulateViewport(820, 1180))
	b.shot("annotate-9-likert-tablet")
	b.phoneFits("annotate-likert")

	// While the page is open its leases are renewed: the fixture's 15 s
	// lease gets a heartbeat every 5 s.
	deadline := time.Now().Add(20 * time.Second)
	for !regexp.MustCompile(`POST /api/v1/tasks/\d+/heartbeat \(cookie …[^)]*\) -> 200`).MatchString(b.requests.String()) {
		if time.Now().After(deadline) {
			t.Fatal("no lease heartbeat in 20 s")
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Three pairwise tasks: B, A, X (both bad).
	b.open(fmt.Sprintf("/annotate?campaign=%d", pairs.ID))
	b.waitText("#rate-intro", "careful person")
	b.key(kb.Enter)
	type pairShown struct{ a, b, key string }
	shown := map[int64]pairShown{}
	prev = 0
	for i, k := range []string{"b", "a", "x"} {
		id := b.shownTask(prev)
		prev = id
		texts := strings.Split(b.eval(`[...document.querySelectorAll('#rate-captions blockquote')].map(q => q.textContent).join('\n')`), "\n")
		if len(texts) != 2 {
			t.Fatalf("pair task %d shows %d captions, want 2", id, len(texts))
		}
		shown[id] = pairShown{a: texts[0], b: texts[1], key: k}
		b.key(k)
		if i == 0 {
			b.shot("annotate-10-pairwise")
		}
		if got := b.focused(); got != "rate-submit" {
			t.Errorf("after %s focus is on %q, want Submit", k, got)
		}
		if i == 2 {
			b.phoneFits("annotate-pairwise")
		}
		b.key(kb.Enter)
	}
	// The campaign holds three tasks (two pairs and a gold one): done.
	b.waitShown("rate-wait", "All done for now")
	if got := b.focused(); got != "A" {
		t.Errorf("focus on the done screen is on %q, want the link back", got)
	}
	b.shot("annotate-11-done")
	b.waitEval(outboxLen, "0")
	b.key(kb.Enter)
	b.waitShown("queue", pairs.Name)
	if got := b.text("#rate-campaigns"); !strings.Contains(got, "You rated 3 (3 today); 0 left for you.") ||
		!strings.Contains(got, "You rated 6 (6 today)") || !strings.Contains(got, "Nothing left for you to rate here") {
		t.Errorf("the list after rating says %q, want the counts of what was rated", got)
	}
	b.screenshot("annotate-12-campaigns-after")
	b.checkConsole()

	// The database holds exactly what was entered.
	ratedLikert, skips := 0, 0
	tasks, err := app.store.CampaignTasks(ctx, likert.ID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		r, err := app.store.RatingOf(ctx, task.ID, ann.ID)
		w := want[task.ID]
		switch {
		case err == nil && w == nil:
			t.Errorf("task %d has a rating %s nobody entered", task.ID, r.Answers)
		case err != nil && w != nil:
			t.Errorf("task %d: the rating entered is not stored: %v", task.ID, err)
		case err == nil:
			ratedLikert++
			var got map[string]int
			if err := json.Unmarshal(r.Answers, &got); err != nil || !maps.Equal(got, w.answers) {
				t.Errorf("task %d: stored answers %s, entered %v", task.ID, r.Answers, w.answers)
			}
			if r.Comment != w.comment || r.Revisions != w.revisions || r.DurationMS <= 0 || r.Choice != nil {
				t.Errorf("task %d: stored comment %q revisions %d duration %d ms choice %v; want %q, %d, > 0, none",
					task.ID, r.Comment, r.Revisions, r.DurationMS, r.Choice, w.comment, w.revisions)
			}
		}
		if k, err := app.store.SkipOf(ctx, task.ID, ann.ID); err == nil {
			skips++
			if task.ID != skipped || k.Reason != models.SkipOther || k.Note != "the shapes overlap" {
				t.Errorf("skip of task %d: %+v, want task %d skipped for other: the shapes overlap", task.ID, k, skipped)
			}
		}
	}
	if ratedLikert != len(want) || skips != 1 {
		t.Errorf("%d Likert ratings and %d skips stored, want %d and 1", ratedLikert, skips, len(want))
	}
	fx.net.mu.Lock()
	retried := slices.Max(slices.Collect(maps.Values(fx.net.posts)))
	fx.net.mu.Unlock()
	if retried < 2 {
		t.Errorf("no rating was sent twice with the same client id; the dropped answer was not retried")
	}

	ptasks, err := app.store.CampaignTasks(ctx, pairs.ID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ratedPairs := 0
	for _, task := range ptasks {
		r, err := app.store.RatingOf(ctx, task.ID, ann.ID)
		s, ok := shown[task.ID]
		if err != nil {
			if ok {
				t.Errorf("pair task %d: the choice entered is not stored: %v", task.ID, err)
			}
			continue
		}
		if !ok {
			t.Errorf("pair task %d has a rating nobody entered", task.ID)
			continue
		}
		ratedPairs++
		textA, textB := storedTexts(t, app, task.ID)
		swapped := 0
		switch {
		case s.a == textA && s.b == textB:
		case s.a == textB && s.b == textA:
			swapped = 1
		default:
			t.Errorf("pair task %d showed %q / %q, stored %q / %q", task.ID, s.a, s.b, textA, textB)
		}
		wantChoice := map[string]string{"a": "a", "b": "b", "x": "both_bad", "t": "tie"}[s.key]
		if swapped == 1 && (wantChoice == "a" || wantChoice == "b") {
			wantChoice = map[string]string{"a": "b", "b": "a"}[wantChoice]
		}
		if r.Choice == nil || *r.Choice != wantChoice || r.ShownPosition != swapped || r.DurationMS <= 0 {
			t.Errorf("pair task %d: key %s with A/B swapped=%d stored choice %v shown position %d duration %d; want %s, %d",
				task.ID, s.key, swapped, r.Choice, r.ShownPosition, r.DurationMS, wantChoice, swapped)
		}
	}
	if ratedPairs != 3 {
		t.Errorf("%d pairwise ratings stored, want 3", ratedPairs)
	}

	// Blindness: nothing the page holds or the API sent names a captioner,
	// a score or a gold flag.
	html := b.eval(`document.documentElement.outerHTML`)
	fx.net.mu.Lock()
	answers := strings.Join(fx.net.answers, "\n")
	fx.net.mu.Unlock()
	for _, leak := range []string{"accurate", "partly-wrong", "generic", "gold", "CIDEr", "Bleu", "captioner", "caption_id"} {
		if strings.Contains(strings.ToLower(html), strings.ToLower(leak)) {
			t.Errorf("the page contains %q", leak)
		}
		if strings.Contains(strings.ToLower(answers), strings.ToLower(leak)) {
			t.Errorf("an API answer to the annotator contains %q", leak)
		}
	}
}

// storedTexts returns the texts of a pair task's A and B as stored (a gold
// task's come from its gold answer).
func storedTexts(t *testing.T, app *testApp, taskID int64) (a, b string) {
	t.Helper()
	c, err := app.store.TaskContentByID(context.Background(), taskID)
	if err != nil {
		t.Fatal(err)
	}
	if !c.IsGold {
		return c.TextA, c.TextB
	}
	var g struct {
		TextA string `json:"text_a"`
		TextB string `json:"text_b"`
	}
	if err := json.Unmarshal(c.GoldAnswer, &g); err != nil {
		t.Fatal(err)
	}
	return g.TextA, g.TextB
}

func artifactsDir() string {
	if a := strings.TrimSpace(os.Getenv("CAPEVAL_ARTIFACTS")); a != "" {
		return filepath.Join(a, "browser")
	}
	return ""
}
