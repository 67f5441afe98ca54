package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"capeval/accounts"
	"capeval/annotation"
	"capeval/models"
	"capeval/models/modelstest"
)

// queueApp is the real echo app with the real queue service on a real
// store of the given kind (SQLite or PostgreSQL), its clock the testApp's
// (it moves only when a test advances it).
type queueApp struct {
	*testApp
	queue  *annotation.Queue
	images *annotation.ImageStore
}

// Distinctive names that must never reach an annotator.
const (
	secretCaptionerA = "SecretNetAlpha"
	secretCaptionerB = "SecretNetBravo"
	secretVersion    = "v77.7-private"
	secretScore      = 0.918273
)

func newQueueApp(t testing.TB, kind string, opts annotation.QueueOptions) *queueApp {
	t.Helper()
	qa, cfg, log := newQueueAppBase(t, kind)
	app, store := qa.testApp, qa.store
	if opts.Now == nil {
		opts.Now = app.clock.Now
	}
	qa.queue = annotation.NewQueue(store, qa.images, log, opts)
	app.srv = New(cfg, store, app.accounts, Services{Queue: qa.queue}, log)
	for _, role := range []models.Role{models.RoleAdmin, models.RoleLead, models.RoleAnnotator} {
		app.users[role] = qa.addUser(string(role), role)
	}
	return qa
}

// newQueueAppBase returns a queueApp with a migrated store of kind, an
// image store, the accounts service on the app's clock and the server's
// configuration; the caller builds the services and the server.
func newQueueAppBase(t testing.TB, kind string) (*queueApp, Config, *slog.Logger) {
	t.Helper()
	store := modelstest.New(t, kind)
	cfg := testConfig(t, nil)
	cfg.JWTSecret = strings.Repeat("k", 32)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	app := &testApp{t: t, store: store, users: map[models.Role]*models.User{}, secret: cfg.JWTSecret,
		clock: &testClock{t: time.Date(2031, 3, 4, 10, 0, 0, 0, time.UTC)}}
	acfg := cfg.AccountsConfig()
	acfg.Now = app.clock.Now
	var err error
	if app.accounts, err = accounts.New(store, log, acfg); err != nil {
		t.Fatal(err)
	}
	qa := &queueApp{testApp: app, images: annotation.NewImageStore(cfg.DataDir)}
	return qa, cfg, log
}

// addUser creates an account without a password (no argon2: tokens are
// issued directly).
func (a *queueApp) addUser(name string, role models.Role) *models.User {
	a.t.Helper()
	u := &models.User{Email: name + "@example.com", Name: name, Role: role}
	if err := a.store.CreateUser(context.Background(), u); err != nil {
		a.t.Fatal(err)
	}
	return u
}

// tokenFor issues a token for u.
func (a *queueApp) tokenFor(u *models.User) string {
	a.t.Helper()
	sess, err := a.accounts.Issue(u)
	if err != nil {
		a.t.Fatal(err)
	}
	return sess.Token
}

// call sends a request and decodes a JSON answer into a map (nil for an
// empty body).
func (a *queueApp) call(method, path, body, token string) (int, map[string]any, string) {
	a.t.Helper()
	rec := a.do(method, path, body, token)
	var m map[string]any
	if rec.Body.Len() > 0 && strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			a.t.Fatalf("%s %s: answer is not JSON: %v\n%s", method, path, err, rec.Body)
		}
	}
	return rec.Code, m, rec.Body.String()
}

// ratingFixture is one collecting campaign, its tasks in queue order and
// their image hashes.
type ratingFixture struct {
	campaign models.Campaign
	tasks    []models.Task
	gold     []int64 // IDs of the gold tasks
	sha      map[int64]string
	// texts: the texts a task shows, A then B (gold: from its answer).
	texts map[int64][2]string
}

// seedCampaign makes a collecting campaign of the mode with n images, each
// with a real PNG in the image store and one caption per captioner; a
// task per image (single: captioner A's caption; pair: A against B), each
// wanting `wanted` ratings, and `gold` gold tasks after them, interleaved by
// position.
func (a *queueApp) seedCampaign(name string, mode models.CampaignMode, n, wanted, gold int) *ratingFixture {
	a.t.Helper()
	t := a.t
	ctx := context.Background()
	s := a.store
	f := &ratingFixture{sha: map[int64]string{}, texts: map[int64][2]string{}}
	f.campaign = models.Campaign{Name: name, Mode: mode, Status: models.StatusCollecting,
		Instructions: "Judge the caption against the picture."}
	if err := s.CreateCampaign(ctx, &f.campaign); err != nil {
		t.Fatal(err)
	}
	var imgs []models.Image
	for i := range n + gold {
		b := seededPNG(t, len(name)*1000+i)
		sum := sha256.Sum256(b)
		sha := hex.EncodeToString(sum[:])
		if _, err := a.images.Put(bytes.NewReader(b), sha, "png", 1<<20); err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, models.Image{CampaignID: f.campaign.ID, ExternalID: fmt.Sprintf("%s-%d.png", name, i), SHA256: sha,
			StorageKey: annotation.StorageKey(sha, "png"), Width: 8, Height: 6})
	}
	if err := s.InsertImages(ctx, imgs); err != nil {
		t.Fatal(err)
	}
	var caps [2][]models.Caption
	for k, cname := range []string{secretCaptionerA, secretCaptionerB} {
		c := models.Captioner{CampaignID: f.campaign.ID, Name: cname, Version: secretVersion}
		if err := s.CreateCaptioner(ctx, &c); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			caps[k] = append(caps[k], models.Caption{CaptionerID: c.ID, ImageID: imgs[i].ID, Text: fmt.Sprintf("caption %d of image %d in %s", k, i, name)})
		}
		if err := s.InsertCaptions(ctx, caps[k]); err != nil {
			t.Fatal(err)
		}
	}
	var scores []models.Score
	for _, cs := range caps {
		for _, c := range cs {
			scores = append(scores, models.Score{CaptionID: c.ID, Metric: "CIDEr", Value: secretScore})
		}
	}
	if err := s.InsertScoreRows(ctx, scores, nil); err != nil {
		t.Fatal(err)
	}
	kind := models.TaskSingle
	if mode == models.ModePairwise {
		kind = models.TaskPair
	}
	var tasks []models.Task
	var links [][]models.TaskCaption
	for i := range n {
		task := models.Task{CampaignID: f.campaign.ID, ImageID: imgs[i].ID, Kind: kind, CaptionID: &caps[0][i].ID,
			RatingsWanted: wanted, Seed: 1234, Position: 2*i + 2}
		l := []models.TaskCaption{{CaptionID: caps[0][i].ID}}
		if kind == models.TaskPair {
			task.CaptionBID = &caps[1][i].ID
			l = append(l, models.TaskCaption{CaptionID: caps[1][i].ID, Side: 1})
		}
		tasks, links = append(tasks, task), append(links, l)
	}
	var goldTexts [][2]string
	for g := range gold {
		task := models.Task{CampaignID: f.campaign.ID, ImageID: imgs[n+g].ID, Kind: kind, RatingsWanted: wanted,
			IsGold: true, Seed: 1234, Position: 2*g + 1}
		// Texts like a reference's: nothing in them says "gold".
		if kind == models.TaskPair {
			texts := [2]string{fmt.Sprintf("a dog asleep on a red sofa %d", g), fmt.Sprintf("two trains in the snow %d", g)}
			task.GoldAnswer = models.MustJSON(map[string]any{"kind": "known_pair", "text_a": texts[0], "text_b": texts[1],
				"expect": map[string]string{"winner": "a"}})
			goldTexts = append(goldTexts, texts)
		} else {
			text := fmt.Sprintf("a dog asleep on a red sofa %d", g)
			task.GoldAnswer = models.MustJSON(map[string]any{"kind": "known_good", "text": text,
				"expect": map[string]any{"criterion": "overall", "min": 4}})
			goldTexts = append(goldTexts, [2]string{text, ""})
		}
		tasks = append(tasks, task)
	}
	if err := s.InsertTasks(ctx, tasks, links); err != nil {
		t.Fatal(err)
	}
	for i, task := range tasks {
		f.sha[task.ID] = imgs[i].SHA256
		if task.IsGold {
			f.gold = append(f.gold, task.ID)
			f.texts[task.ID] = goldTexts[i-n]
			continue
		}
		b := ""
		if kind == models.TaskPair {
			b = caps[1][i].Text
		}
		f.texts[task.ID] = [2]string{caps[0][i].Text, b}
	}
	f.tasks = tasks
	return f
}

// seededPNG is a small PNG whose bytes depend on seed.
func seededPNG(t testing.TB, seed int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 6))
	for i := range img.Pix {
		img.Pix[i] = byte(seed*31 + i*7)
	}
	img.Set(0, 0, color.RGBA{R: byte(seed), G: byte(seed >> 8), B: byte(seed >> 16), A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// likertBody is a valid Likert rating of the default rubric.
func likertBody(clientID string, v int) string {
	return fmt.Sprintf(`{"client_id":%q,"answers":{"precision":%d,"recall":%d,"fluency":%d,"overall":%d},"duration_ms":1500}`,
		clientID, v, v, v, v)
}

// taskRow reads a task as stored.
func (a *queueApp) taskRow(id int64) *models.Task {
	a.t.Helper()
	task, err := a.store.LockTask(context.Background(), id)
	if err != nil {
		a.t.Fatal(err)
	}
	return task
}

// taskID reads task_id from a next answer.
func taskID(t *testing.T, m map[string]any) int64 {
	t.Helper()
	v, ok := m["task_id"].(float64)
	if !ok {
		t.Fatalf("no task_id in %v", m)
	}
	return int64(v)
}
