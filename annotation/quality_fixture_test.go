package annotation_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"capeval/annotation"
	"capeval/models"
)

// qualityClock is a clock the quality tests move by hand.
type qualityClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *qualityClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *qualityClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// qualityFixture is a collecting campaign with regular and gold tasks, the
// real queue with Quality as its admission step, and annotator accounts.
type qualityFixture struct {
	t       *testing.T
	ctx     context.Context
	store   *models.Store
	camp    *models.Campaign
	clock   *qualityClock
	quality *annotation.Quality
	queue   *annotation.Queue
	// regular and gold task IDs in queue order; a Likert campaign's gold
	// alternates known_good and known_bad.
	regular, gold []int64
	goldKind      map[int64]string // task → known_good / known_bad / known_pair
	goldWinner    map[int64]string // pair task → the text that must win
	images        []int64
	lead          *models.User
	clientIDs     int
}

type qualitySpec struct {
	mode          models.CampaignMode
	regular, gold int
	wanted        int // ratings wanted by each task
}

func newQualityFixture(t *testing.T, s *models.Store, spec qualitySpec) *qualityFixture {
	t.Helper()
	ctx := context.Background()
	if spec.mode == "" {
		spec.mode = models.ModeLikert
	}
	if spec.wanted == 0 {
		spec.wanted = 3
	}
	f := &qualityFixture{t: t, ctx: ctx, store: s, clock: &qualityClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)},
		goldKind: map[int64]string{}, goldWinner: map[int64]string{}}
	f.lead = f.user("lead@example.com", models.RoleLead)
	camp, err := annotation.NewCampaigns(s, nil).Create(ctx, f.lead.ID, annotation.NewCampaign{Name: "Quality " + string(spec.mode), Mode: spec.mode})
	if err != nil {
		t.Fatal(err)
	}
	if f.camp, err = s.CampaignByID(ctx, camp.ID); err != nil {
		t.Fatal(err)
	}
	n := spec.regular + spec.gold
	imgs := make([]models.Image, n)
	for i := range imgs {
		imgs[i] = models.Image{CampaignID: camp.ID, ExternalID: fmt.Sprint("img", i), SHA256: fmt.Sprintf("%064x", i+1),
			StorageKey: fmt.Sprintf("k/%d.png", i), Width: 10, Height: 10, Tags: models.JSON("null")}
	}
	if err := s.InsertImages(ctx, imgs); err != nil {
		t.Fatal(err)
	}
	cap1 := &models.Captioner{CampaignID: camp.ID, Name: "m", Version: "1"}
	cap2 := &models.Captioner{CampaignID: camp.ID, Name: "m", Version: "2"}
	for _, c := range []*models.Captioner{cap1, cap2} {
		if err := s.CreateCaptioner(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	var captions []models.Caption
	for i := range spec.regular {
		captions = append(captions, models.Caption{CaptionerID: cap1.ID, ImageID: imgs[i].ID, Text: fmt.Sprint("a caption of image ", i)},
			models.Caption{CaptionerID: cap2.ID, ImageID: imgs[i].ID, Text: fmt.Sprint("another caption of image ", i)})
	}
	if err := s.InsertCaptions(ctx, captions); err != nil {
		t.Fatal(err)
	}
	var tasks []models.Task
	var links [][]models.TaskCaption
	for i := range spec.regular {
		a, b := captions[2*i].ID, captions[2*i+1].ID
		task := models.Task{CampaignID: camp.ID, ImageID: imgs[i].ID, Kind: models.TaskSingle, CaptionID: &a,
			RatingsWanted: spec.wanted, GoldAnswer: models.JSON("null"), Seed: 7, Position: len(tasks) + 1}
		link := []models.TaskCaption{{CaptionID: a}}
		if spec.mode == models.ModePairwise {
			task.Kind, task.CaptionBID = models.TaskPair, &b
			link = append(link, models.TaskCaption{CaptionID: b, Side: 1})
		}
		tasks, links = append(tasks, task), append(links, link)
	}
	for i := range spec.gold {
		img := imgs[spec.regular+i].ID
		task := models.Task{CampaignID: camp.ID, ImageID: img, IsGold: true, RatingsWanted: spec.wanted, Seed: 7, Position: len(tasks) + 1}
		switch {
		case spec.mode == models.ModePairwise:
			task.Kind = models.TaskPair
			task.GoldAnswer = models.MustJSON(map[string]any{"kind": "known_pair", "text_a": fmt.Sprint("right ", i),
				"text_b": fmt.Sprint("wrong ", i), "expect": map[string]string{"winner": "a"}})
		case i%2 == 0:
			task.Kind = models.TaskSingle
			task.GoldAnswer = models.MustJSON(map[string]any{"kind": "known_good", "text": fmt.Sprint("good ", i),
				"expect": map[string]any{"criterion": "overall", "min": 4}})
		default:
			task.Kind = models.TaskSingle
			task.GoldAnswer = models.MustJSON(map[string]any{"kind": "known_bad", "text": fmt.Sprint("bad ", i),
				"expect": map[string]any{"criterion": "overall", "max": 2}})
		}
		tasks = append(tasks, task)
	}
	if err := s.InsertTasks(ctx, tasks, links); err != nil {
		t.Fatal(err)
	}
	for i, task := range tasks {
		if i < spec.regular {
			f.regular = append(f.regular, task.ID)
			continue
		}
		f.gold = append(f.gold, task.ID)
		kind := "known_good"
		switch {
		case spec.mode == models.ModePairwise:
			kind = "known_pair"
			f.goldWinner[task.ID] = fmt.Sprint("right ", i-spec.regular)
		case (i-spec.regular)%2 == 1:
			kind = "known_bad"
		}
		f.goldKind[task.ID] = kind
	}
	for _, img := range imgs {
		f.images = append(f.images, img.ID)
	}
	f.quality = annotation.NewQuality(s, nil).WithClock(f.clock.Now)
	f.queue = annotation.NewQueue(s, annotation.NewImageStore(t.TempDir()), nil,
		annotation.QueueOptions{Now: f.clock.Now, Admitter: f.quality})
	f.setStatus(models.StatusCollecting)
	return f
}

// user creates an account (no password: the tests call the services).
func (f *qualityFixture) user(email string, role models.Role) *models.User {
	f.t.Helper()
	u := &models.User{Email: email, Name: strings.Split(email, "@")[0], Role: role}
	if err := f.store.CreateUser(f.ctx, u); err != nil {
		f.t.Fatal(err)
	}
	return u
}

func (f *qualityFixture) annotator(name string) int64 {
	return f.user(name+"@example.com", models.RoleAnnotator).ID
}

func (f *qualityFixture) setStatus(st models.CampaignStatus) {
	f.t.Helper()
	if _, err := annotation.NewCampaigns(f.store, nil).Update(f.ctx, f.lead.ID, f.camp.ID, annotation.CampaignPatch{Status: &st}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *qualityFixture) settings(s annotation.QualitySettings) {
	f.t.Helper()
	if _, err := f.quality.SetSettings(f.ctx, f.lead.ID, f.camp.ID, s); err != nil {
		f.t.Fatal(err)
	}
}

// next asks the queue for the annotator's next task: nil and the reason
// when there is none.
func (f *qualityFixture) next(annotatorID int64) (*annotation.TaskView, string) {
	f.t.Helper()
	v, reason, err := f.queue.Next(f.ctx, annotatorID, f.camp.ID, 0)
	if err != nil {
		f.t.Fatalf("next for annotator %d: %v", annotatorID, err)
	}
	return v, reason
}

// isGold reports whether the fixture made task id a gold task.
func (f *qualityFixture) isGold(id int64) bool { _, ok := f.goldKind[id]; return ok }

// qans is how an annotator answers a task in the tests: right or wrong
// on gold, and a fixed value for regular Likert tasks.
type qans struct {
	right    bool // gold: answer as the gold answer expects
	value    int  // Likert: every criterion's value (regular tasks; 0: 3)
	choice   string
	seconds  float64
	criteria map[string]int // overrides value
}

// rate submits an answer to the task v and moves the clock on by its
// seconds.
func (f *qualityFixture) rate(annotatorID int64, v *annotation.TaskView, a qans) {
	f.t.Helper()
	f.clientIDs++
	in := annotation.RatingInput{ClientID: fmt.Sprint("c", f.clientIDs), DurationMS: int64(a.seconds * 1000)}
	if f.camp.Mode == models.ModePairwise {
		in.Choice = a.choice
		if f.isGold(v.TaskID) {
			winner := f.goldWinner[v.TaskID]
			right, wrong := "A", "B"
			if v.CaptionB == winner {
				right, wrong = "B", "A"
			}
			in.Choice = wrong
			if a.right {
				in.Choice = right
			}
		}
		if in.Choice == "" {
			in.Choice = "A"
		}
	} else {
		val := a.value
		if val == 0 {
			val = 3
		}
		if f.isGold(v.TaskID) {
			good := f.goldKind[v.TaskID] == "known_good"
			val = map[bool]int{true: 5, false: 1}[good == a.right]
		}
		in.Answers = map[string]any{}
		for _, k := range []string{"precision", "recall", "fluency", "overall"} {
			in.Answers[k] = float64(val) // as JSON decodes it
		}
		for k, x := range a.criteria {
			in.Answers[k] = float64(x)
		}
	}
	if _, _, err := f.queue.Rate(f.ctx, annotatorID, v.TaskID, in); err != nil {
		f.t.Fatalf("rate task %d by annotator %d: %v", v.TaskID, annotatorID, err)
	}
	f.clock.Advance(time.Duration(max(a.seconds, 1) * float64(time.Second)))
}

// work has the annotator take and rate n tasks with the same answer.
func (f *qualityFixture) work(annotatorID int64, n int, a qans) {
	f.t.Helper()
	for i := range n {
		v, reason := f.next(annotatorID)
		if v == nil {
			f.t.Fatalf("annotator %d: no task %d of %d (%s)", annotatorID, i+1, n, reason)
		}
		f.rate(annotatorID, v, a)
	}
}

// countRatings counts the campaign's ratings in the database.
func (f *qualityFixture) countRatings() int {
	f.t.Helper()
	n := 0
	if err := f.store.EachCampaignRating(f.ctx, f.camp.ID, func(models.QualityRating) error { n++; return nil }); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *qualityFixture) report() *annotation.QualityReport {
	f.t.Helper()
	rep, err := f.quality.Report(f.ctx, f.camp.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return rep
}

func (f *qualityFixture) annotatorReport(id int64) annotation.AnnotatorQuality {
	f.t.Helper()
	for _, a := range f.report().Annotators {
		if a.Annotator.ID == id {
			return a
		}
	}
	f.t.Fatalf("annotator %d not in the report", id)
	return annotation.AnnotatorQuality{}
}

func hasFlag(a annotation.AnnotatorQuality, code string) bool {
	for _, fl := range a.Flags {
		if fl.Code == code {
			return true
		}
	}
	return false
}
