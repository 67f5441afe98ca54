package annotation_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"capeval/annotation"
	"capeval/models"
	"capeval/models/modelstest"
)

// selFixture is a campaign with images, references, captioners, captions
// and scores, built the same way on every store so that row IDs match.
type selFixture struct {
	store    *models.Store
	svc      *annotation.Selection
	camp     *models.Campaign
	images   []models.Image
	caps     []models.Captioner
	captions map[int64]models.Caption // by ID
	lead     *models.User
}

// selSpec describes the fixture's captioners: CIDEr per captioner (NaN: no
// captioner scores at all); captioner 1 writes the same text as captioner 0
// (other case and spacing) on every fifth image; the last captioner skips
// every third image.
type selSpec struct {
	mode   models.CampaignMode
	images int
	cider  []float64
	refs   bool
}

func newSelFixture(t *testing.T, s *models.Store, spec selSpec) *selFixture {
	t.Helper()
	ctx := context.Background()
	f := &selFixture{store: s, captions: map[int64]models.Caption{}}
	f.lead = &models.User{Email: "lead@example.com", Name: "Lead", Role: models.RoleLead}
	if err := s.CreateUser(ctx, f.lead); err != nil {
		t.Fatal(err)
	}
	f.camp = &models.Campaign{Name: "sel", Mode: spec.mode, Rubric: models.JSON("null"), Thresholds: models.JSON("null"), BlendWeights: models.JSON("null")}
	if err := s.CreateCampaign(ctx, f.camp); err != nil {
		t.Fatal(err)
	}
	for i := range spec.images {
		// Strata of unequal sizes: count:1 for a quarter of the images.
		tag := "count:2"
		if i%4 == 0 {
			tag = "count:1"
		}
		f.images = append(f.images, models.Image{CampaignID: f.camp.ID, ExternalID: fmt.Sprintf("img%03d", i),
			Tags: models.MustJSON([]string{"shape:circle", tag})})
	}
	if err := s.InsertImages(ctx, f.images); err != nil {
		t.Fatal(err)
	}
	if spec.refs {
		var refs []models.Reference
		for i, im := range f.images {
			for r := range 2 {
				refs = append(refs, models.Reference{ImageID: im.ID, Position: r, Text: fmt.Sprintf("reference %d of picture %d", r, i)})
			}
		}
		if err := s.InsertReferences(ctx, refs); err != nil {
			t.Fatal(err)
		}
	}
	var scores []models.Score
	var capScores []models.CaptionerScore
	last := len(spec.cider) - 1
	for k, cider := range spec.cider {
		c := models.Captioner{CampaignID: f.camp.ID, Name: fmt.Sprintf("m%d", k), Version: "v1"}
		if err := s.CreateCaptioner(ctx, &c); err != nil {
			t.Fatal(err)
		}
		f.caps = append(f.caps, c)
		var cs []models.Caption
		for i, im := range f.images {
			if k == last && i%3 == 0 {
				continue
			}
			text := fmt.Sprintf("captioner %d sees thing %d", k, i)
			switch {
			case k == 1 && i%5 == 0:
				text = fmt.Sprintf("  Captioner 0 SEES   thing %d ", i)
			case k == 0 && i%5 == 0:
				text = fmt.Sprintf("captioner 0 sees thing %d", i)
			}
			cs = append(cs, models.Caption{CaptionerID: c.ID, ImageID: im.ID, Text: text})
		}
		if err := s.InsertCaptions(ctx, cs); err != nil {
			t.Fatal(err)
		}
		for j, cp := range cs {
			f.captions[cp.ID] = cp
			if !math.IsNaN(cider) {
				// Per-caption CIDEr around the captioner's, varying by image.
				scores = append(scores, models.Score{CaptionID: cp.ID, Metric: "CIDEr", Value: cider + float64((j*7)%10)/100},
					models.Score{CaptionID: cp.ID, Metric: "CLIPScore", Value: 0.7})
			}
		}
		if !math.IsNaN(cider) {
			capScores = append(capScores, models.CaptionerScore{CaptionerID: c.ID, Metric: "CIDEr", Value: cider, N: len(cs)},
				models.CaptionerScore{CaptionerID: c.ID, Metric: "CLIPScore", Value: 0.7, N: len(cs)})
		}
	}
	if err := s.InsertScoreRows(ctx, scores, capScores); err != nil {
		t.Fatal(err)
	}
	campaigns := annotation.NewCampaigns(s, modelstest.Logger(t))
	f.svc = annotation.NewSelection(s, campaigns, modelstest.Logger(t))
	return f
}

func (f *selFixture) setThresholds(t *testing.T, doc string) {
	t.Helper()
	if _, err := f.svc.SetThresholds(context.Background(), f.lead.ID, f.camp.ID, models.JSON(doc)); err != nil {
		t.Fatalf("set thresholds %s: %v", doc, err)
	}
}

func (f *selFixture) tasks(t *testing.T) []models.TaskWithCaptions {
	t.Helper()
	ts, err := f.store.CampaignTasks(context.Background(), f.camp.ID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func (f *selFixture) capName(id int64) string {
	for _, c := range f.caps {
		if c.ID == id {
			return c.Name
		}
	}
	return "?"
}

// standard fixture: m0 0.9, m1 0.8, m2 0.3, m3 0.7, m4 0.6, m5 without
// scores (and skipping every third image).
var sixCaptioners = []float64{0.9, 0.8, 0.3, 0.7, 0.6, math.NaN()}

func TestParseThresholds(t *testing.T) {
	tests := []struct {
		name   string
		mode   models.CampaignMode
		doc    string
		wheres []string // problems expected, in order; none: valid
	}{
		{"minimal", models.ModeLikert, `{}`, nil},
		{"full likert", models.ModeLikert, `{"seed":7,"rank":{"weights":{"CIDEr":2,"CLIPScore":1},"normalize":"zscore"},"top_k":3,
			"min_scores":{"CIDEr":0.4},"selection":"per_captioner","images":{"count":100,"sampling":"stratified","tag_prefix":"count:"},
			"ratings_per_item":3,"gold_rate":0.1}`, nil},
		{"per image pairwise", models.ModePairwise, `{"selection":"per_image","per_image_top_k":3,"pairs":"adjacent"}`, nil},
		{"null", models.ModeLikert, `null`, []string{"thresholds"}},
		{"not an object", models.ModeLikert, `[1]`, []string{"thresholds"}},
		{"unknown field", models.ModeLikert, `{"topk":3}`, []string{"topk"}},
		{"wrong type", models.ModeLikert, `{"top_k":"3"}`, []string{"top_k"}},
		{"trailing data", models.ModeLikert, `{} {}`, []string{"thresholds"}},
		{"every problem named", models.ModeLikert, `{"seed":-1,"rank":{"metric":"cider","normalize":"rank"},"top_k":-2,
			"min_scores":{"BLEU":1},"selection":"everything","images":{"count":-5,"sampling":"stratified"},
			"ratings_per_item":51,"gold_rate":0.6,"pairs":"all"}`,
			[]string{"seed", "rank.metric", "rank.normalize", "top_k", "min_scores.BLEU", "selection", "images.count",
				"images.tag_prefix", "ratings_per_item", "gold_rate", "pairs"}},
		{"metric and weights", models.ModeLikert, `{"rank":{"metric":"CIDEr","weights":{"CIDEr":1}}}`, []string{"rank"}},
		{"bad weights", models.ModeLikert, `{"rank":{"weights":{"CIDEr":0,"Bleu_4":-1,"SPICE":1}}}`,
			[]string{"rank.weights.Bleu_4", "rank.weights.CIDEr", "rank.weights.SPICE"}},
		{"empty weights", models.ModeLikert, `{"rank":{"weights":{}}}`, []string{"rank.weights"}},
		{"pairwise top 1", models.ModePairwise, `{"top_k":1}`, []string{"top_k"}},
		{"pairwise one caption per image", models.ModePairwise, `{"selection":"per_image","per_image_top_k":1}`, []string{"per_image_top_k"}},
		{"per image top k in per captioner", models.ModeLikert, `{"per_image_top_k":2}`, []string{"per_image_top_k"}},
		{"tag prefix without stratified", models.ModeLikert, `{"images":{"count":3,"tag_prefix":"count:"}}`, []string{"images.tag_prefix"}},
		{"bad pairs", models.ModePairwise, `{"pairs":"some"}`, []string{"pairs"}},
		{"seed too large for JavaScript", models.ModeLikert, `{"seed":9007199254740993}`, []string{"seed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th, err := annotation.ParseThresholds(models.JSON(tt.doc), tt.mode, 42)
			if len(tt.wheres) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if th.Seed == nil || th.RatingsPerItem < 1 || th.Rank.Normalize == "" || th.Selection == "" {
					t.Errorf("defaults not filled in: %+v", th)
				}
				return
			}
			var ve *annotation.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, annotation.ErrInvalid) {
				t.Fatalf("got %v, want a validation error", err)
			}
			var got []string
			for _, p := range ve.Problems {
				got = append(got, p.Where)
			}
			if !slices.Equal(got, tt.wheres) {
				t.Errorf("problems at %q, want %q\n%v", got, tt.wheres, err)
			}
		})
	}
}

func TestThresholdDefaults(t *testing.T) {
	tests := []struct {
		name     string
		mode     models.CampaignMode
		doc      string
		seed     int64
		metric   string
		perImage int
		pairs    string
	}{
		{"likert", models.ModeLikert, `{}`, 42, "CIDEr", 0, ""},
		{"pairwise", models.ModePairwise, `{"seed":0}`, 0, "CIDEr", 0, "all"},
		{"likert per image", models.ModeLikert, `{"selection":"per_image","rank":{"metric":"CLIPScore"}}`, 42, "CLIPScore", 1, ""},
		{"pairwise per image", models.ModePairwise, `{"selection":"per_image","seed":9}`, 9, "CIDEr", 2, "all"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th, err := annotation.ParseThresholds(models.JSON(tt.doc), tt.mode, 42)
			if err != nil {
				t.Fatal(err)
			}
			if *th.Seed != tt.seed || th.Rank.Metric != tt.metric || th.PerImageTopK != tt.perImage || th.Pairs != tt.pairs ||
				th.Images.Sampling != annotation.SampleRandom || th.RatingsPerItem != 1 || th.Rank.Normalize != annotation.NormalizeMinMax {
				t.Errorf("got %+v", th)
			}
		})
	}
}

// TestRanking checks the pre-ranking: combined scores, minimums, top K and
// the reasons given for every dropped captioner.
func TestRanking(t *testing.T) {
	s := modelstest.NewStore(t)
	f := newSelFixture(t, s, selSpec{mode: models.ModeLikert, images: 12, cider: sixCaptioners})
	tests := []struct {
		name    string
		doc     string
		kept    []string
		reasons map[string]string // substring of the reason
	}{
		{"by CIDEr, top 3 above 0.35", `{"top_k":3,"min_scores":{"CIDEr":0.35}}`, []string{"m0", "m1", "m3"},
			map[string]string{"m2": "CIDEr 0.3 below the minimum 0.35", "m4": "outside the top 3", "m5": "no CIDEr score (run auto-eval)"}},
		{"weighted z-score: equal CLIPScore adds nothing", `{"rank":{"weights":{"CIDEr":1,"CLIPScore":5},"normalize":"zscore"}}`,
			[]string{"m0", "m1", "m3", "m4", "m2"}, map[string]string{"m5": "no CIDEr, CLIPScore score"}},
		{"minimum on a metric nobody has", `{"min_scores":{"RefCLIPScore":0.1}}`, nil,
			map[string]string{"m0": "no RefCLIPScore score to compare with the minimum 0.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkKept(t, f, tt.doc, tt.kept, tt.reasons)
		})
	}
}

// checkKept previews the thresholds doc and checks which captioners are
// kept, in rank order, and that each dropped one named in reasons is
// dropped for a reason containing its text.
func checkKept(t *testing.T, f *selFixture, doc string, want []string, reasons map[string]string) {
	t.Helper()
	pv, err := f.svc.Preview(context.Background(), f.camp.ID, annotation.PreviewOptions{Thresholds: models.JSON(doc)})
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, c := range pv.Captioners {
		if c.Kept {
			kept = append(kept, c.Name)
			if c.Reason != "" {
				t.Errorf("%s kept with reason %q", c.Name, c.Reason)
			}
		} else if want, ok := reasons[c.Name]; ok && !strings.Contains(c.Reason, want) {
			t.Errorf("%s dropped for %q, want %q", c.Name, c.Reason, want)
		}
	}
	if !slices.Equal(kept, want) {
		t.Errorf("kept %v, want %v", kept, want)
	}
	if pv.Counts.CaptionersKept != len(want) || pv.Counts.CaptionersDropped != len(f.caps)-len(want) {
		t.Errorf("counts %+v", pv.Counts)
	}
}

// TestRankingNeedsCoveringScores: a captioner's aggregate that covers only
// some of its captions (RefCLIPScore of images without references, scores
// from before captions were added) is not ranked on nor compared with a
// minimum: a mean over a subset is not comparable with another
// captioner's over all. The reason says how many captions it covers.
func TestRankingNeedsCoveringScores(t *testing.T) {
	s := modelstest.NewStore(t)
	f := newSelFixture(t, s, selSpec{mode: models.ModeLikert, images: 12, cider: sixCaptioners})
	ref := func(k int, v float64, n int) models.CaptionerScore {
		return models.CaptionerScore{CaptionerID: f.caps[k].ID, Metric: "RefCLIPScore", Value: v, N: n}
	}
	if err := s.PutCaptionerScores(context.Background(), []models.CaptionerScore{ref(0, 0.9, 6), ref(1, 0.5, 12), ref(3, 0.6, 12)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		doc     string
		kept    []string
		reasons map[string]string
	}{
		{"ranked on a partial mean", `{"rank":{"metric":"RefCLIPScore"}}`, []string{"m3", "m1"},
			map[string]string{"m0": "RefCLIPScore covers 6 of its 12 captions", "m2": "no RefCLIPScore score"}},
		{"minimum on a partial mean", `{"min_scores":{"RefCLIPScore":0.1}}`, []string{"m1", "m3"},
			map[string]string{"m0": "RefCLIPScore covers 6 of its 12 captions"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkKept(t, f, tt.doc, tt.kept, tt.reasons)
		})
	}
}

// TestSelectionRespectsThresholds commits selections and checks every
// threshold on the tasks in the database, on both stores.
func TestSelectionRespectsThresholds(t *testing.T) {
	tests := []struct {
		name       string
		mode       models.CampaignMode
		doc        string
		kept       []string
		perCapt    int // captions linked per kept captioner (0: not checked)
		wantGold   bool
		wantShared bool
	}{
		{"likert per captioner", models.ModeLikert,
			`{"seed":5,"rank":{"weights":{"CIDEr":2,"CLIPScore":1}},"top_k":3,"min_scores":{"CIDEr":0.35},"images":{"count":10},"ratings_per_item":2,"gold_rate":0.2}`,
			[]string{"m0", "m1", "m3"}, 10, true, true},
		{"likert stratified", models.ModeLikert,
			`{"seed":6,"top_k":2,"images":{"count":8,"sampling":"stratified","tag_prefix":"count:"},"ratings_per_item":3}`,
			[]string{"m0", "m1"}, 8, false, true},
		{"pairwise all pairs", models.ModePairwise, `{"seed":7,"top_k":3,"images":{"count":6},"gold_rate":0.1,"pairs":"all"}`,
			[]string{"m0", "m1", "m3"}, 0, true, false},
		{"pairwise adjacent", models.ModePairwise, `{"seed":8,"top_k":4,"images":{"count":6},"pairs":"adjacent"}`,
			[]string{"m0", "m1", "m3", "m4"}, 0, false, false},
		{"likert per image", models.ModeLikert, `{"seed":9,"selection":"per_image","per_image_top_k":2,"images":{"count":12},"gold_rate":0.25}`,
			[]string{"m0", "m1", "m3", "m4", "m2"}, 0, true, true},
		{"pairwise per image", models.ModePairwise, `{"seed":10,"selection":"per_image","per_image_top_k":3,"pairs":"all"}`,
			[]string{"m0", "m1", "m3", "m4", "m2"}, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
				f := newSelFixture(t, s, selSpec{mode: tt.mode, images: 24, cider: sixCaptioners, refs: true})
				f.setThresholds(t, tt.doc)
				th, err := annotation.ParseThresholds(models.JSON(tt.doc), tt.mode, f.camp.ID)
				if err != nil {
					t.Fatal(err)
				}
				res, err := f.svc.Commit(context.Background(), f.lead.ID, f.camp.ID, annotation.CommitOptions{})
				if err != nil {
					t.Fatal(err)
				}
				checkThresholds(t, f, th, res, tt.kept, tt.perCapt, tt.wantGold, tt.wantShared)
			})
		})
	}
}

func checkThresholds(t *testing.T, f *selFixture, th annotation.Thresholds, res *annotation.SelectionResult, wantKept []string,
	perCapt int, wantGold, wantShared bool) {
	t.Helper()
	var kept []string
	keptIDs := map[int64]bool{}
	for _, c := range res.Captioners {
		if c.Kept {
			kept = append(kept, c.Name)
			keptIDs[c.ID] = true
		}
	}
	if !slices.Equal(kept, wantKept) {
		t.Errorf("kept %v, want %v", kept, wantKept)
	}
	tasks := f.tasks(t)
	if len(tasks) != res.Created || res.Counts.Tasks != res.Created {
		t.Fatalf("%d tasks in the database, result says %d created, counts %d", len(tasks), res.Created, res.Counts.Tasks)
	}
	perCaptioner := map[string]int{}
	gold, items, shared := 0, 0, false
	seenText := map[string]bool{}
	for i, task := range tasks {
		if task.Position != i+1 {
			t.Errorf("task %d at position %d, want %d", task.ID, task.Position, i+1)
		}
		if task.RatingsWanted != th.RatingsPerItem || task.Seed != *th.Seed {
			t.Errorf("task %d: ratings wanted %d seed %d, want %d and %d", task.ID, task.RatingsWanted, task.Seed, th.RatingsPerItem, *th.Seed)
		}
		wantKind := models.TaskSingle
		if f.camp.Mode == models.ModePairwise {
			wantKind = models.TaskPair
		}
		if task.Kind != wantKind {
			t.Errorf("task %d is %s, want %s", task.ID, task.Kind, wantKind)
		}
		if task.IsGold {
			gold++
			if len(task.Captions) != 0 || task.GoldAnswer.IsNull() || task.CaptionID != nil || task.CaptionBID != nil {
				t.Errorf("gold task %d: links %v, captions %v %v, answer %s; want no caption borrowed",
					task.ID, task.Captions, task.CaptionID, task.CaptionBID, task.GoldAnswer)
			}
			checkGold(t, f, task.Task)
			continue
		}
		items++
		shown := f.captions[*task.CaptionID]
		if task.ImageID != shown.ImageID {
			t.Errorf("task %d: image %d, shows a caption of image %d", task.ID, task.ImageID, shown.ImageID)
		}
		key := fmt.Sprint(shown.ImageID, "|", strings.Join(strings.Fields(strings.ToLower(shown.Text)), " "))
		if task.Kind == models.TaskSingle {
			if seenText[key] {
				t.Errorf("task %d: a second task for the text %q", task.ID, key)
			}
			seenText[key] = true
		}
		if task.CaptionBID != nil && f.captions[*task.CaptionBID].ImageID != shown.ImageID {
			t.Errorf("task %d pairs captions of two images", task.ID)
		}
		for _, l := range task.Captions {
			c := f.captions[l.CaptionID]
			if !keptIDs[c.CaptionerID] {
				t.Errorf("task %d links a caption of dropped captioner %s", task.ID, f.capName(c.CaptionerID))
			}
			if c.ImageID != shown.ImageID {
				t.Errorf("task %d links a caption of another image", task.ID)
			}
			sideShown := shown
			if l.Side == 1 {
				sideShown = f.captions[*task.CaptionBID]
			}
			if strings.Join(strings.Fields(strings.ToLower(c.Text)), " ") != strings.Join(strings.Fields(strings.ToLower(sideShown.Text)), " ") {
				t.Errorf("task %d side %d links %q, shows %q", task.ID, l.Side, c.Text, sideShown.Text)
			}
			perCaptioner[f.capName(c.CaptionerID)]++
		}
		if task.Kind == models.TaskSingle && len(task.Captions) > 1 {
			shared = true
		}
	}
	if perCapt > 0 {
		for _, name := range wantKept {
			if perCaptioner[name] != perCapt {
				t.Errorf("captioner %s: %d captions queued, want %d", name, perCaptioner[name], perCapt)
			}
		}
	}
	wantGoldN := int(math.Round(th.GoldRate * float64(items) / (1 - th.GoldRate)))
	if gold != wantGoldN || (wantGold && gold == 0) || res.Counts.GoldItems != gold || res.Counts.Items != items {
		t.Errorf("%d gold and %d items, want %d gold (counts %+v)", gold, items, wantGoldN, res.Counts)
	}
	if shared != wantShared {
		t.Errorf("shared ratings: %t, want %t", shared, wantShared)
	}
	if res.Counts.RatingsNeeded != len(tasks)*th.RatingsPerItem {
		t.Errorf("ratings needed %d, want %d", res.Counts.RatingsNeeded, len(tasks)*th.RatingsPerItem)
	}
}

// checkGold checks a gold task's answer against the fixture's references
// ("reference R of picture I"): a known good text (or the expected winner)
// is a reference of the task's image, a known bad one of another image.
func checkGold(t *testing.T, f *selFixture, task models.Task) {
	t.Helper()
	var ans struct {
		Kind   string `json:"kind"`
		Text   string `json:"text"`
		A      string `json:"text_a"`
		B      string `json:"text_b"`
		Expect struct {
			Criterion string `json:"criterion"`
			Min, Max  *int
			Winner    string `json:"winner"`
		} `json:"expect"`
	}
	if err := json.Unmarshal(task.GoldAnswer, &ans); err != nil {
		t.Fatalf("gold task %d: %v", task.ID, err)
	}
	var image int
	for i, im := range f.images {
		if im.ID == task.ImageID {
			image = i
		}
	}
	picture := func(text string) int {
		var r, i int
		if _, err := fmt.Sscanf(text, "reference %d of picture %d", &r, &i); err != nil {
			t.Errorf("gold task %d shows %q, not a reference", task.ID, text)
		}
		return i
	}
	switch ans.Kind {
	case "known_good":
		if picture(ans.Text) != image || ans.Expect.Criterion != "overall" || ans.Expect.Min == nil || *ans.Expect.Min != 4 {
			t.Errorf("gold task %d on image %d: %s", task.ID, image, task.GoldAnswer)
		}
	case "known_bad":
		if picture(ans.Text) == image || ans.Expect.Max == nil || *ans.Expect.Max != 2 {
			t.Errorf("gold task %d on image %d: %s", task.ID, image, task.GoldAnswer)
		}
	case "known_pair":
		good, bad := ans.A, ans.B
		if ans.Expect.Winner == "b" {
			good, bad = bad, good
		}
		if picture(good) != image || picture(bad) == image || task.Kind != models.TaskPair {
			t.Errorf("gold task %d on image %d: %s", task.ID, image, task.GoldAnswer)
		}
	default:
		t.Errorf("gold task %d: kind %q", task.ID, ans.Kind)
	}
}

// TestPreviewEqualsCommit: the preview of the stored thresholds shows
// exactly the tasks the commit creates, in the same order, and the same
// seed on the other database (same rows, same IDs) plans the same tasks.
func TestPreviewEqualsCommit(t *testing.T) {
	docs := map[models.CampaignMode]string{
		models.ModeLikert:   `{"seed":11,"top_k":4,"images":{"count":5},"gold_rate":0.2,"ratings_per_item":2}`,
		models.ModePairwise: `{"seed":12,"top_k":3,"images":{"count":5},"gold_rate":0.2,"pairs":"adjacent"}`,
	}
	for _, mode := range []models.CampaignMode{models.ModeLikert, models.ModePairwise} {
		t.Run(string(mode), func(t *testing.T) {
			fingerprints := map[string]string{}
			modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
				ctx := context.Background()
				f := newSelFixture(t, s, selSpec{mode: mode, images: 20, cider: sixCaptioners, refs: true})
				f.setThresholds(t, docs[mode])
				pv, err := f.svc.Preview(ctx, f.camp.ID, annotation.PreviewOptions{Examples: annotation.MaxExamples})
				if err != nil {
					t.Fatal(err)
				}
				if pv.Counts.Tasks > annotation.MaxExamples || pv.Counts.Tasks == 0 {
					t.Fatalf("%d tasks: the test wants every task among the examples", pv.Counts.Tasks)
				}
				again, err := f.svc.Preview(ctx, f.camp.ID, annotation.PreviewOptions{Examples: annotation.MaxExamples})
				if err != nil {
					t.Fatal(err)
				}
				if a, b := mustJSON(t, pv), mustJSON(t, again); a != b {
					t.Fatalf("two previews differ:\n%s\n%s", a, b)
				}
				res, err := f.svc.Commit(ctx, f.lead.ID, f.camp.ID, annotation.CommitOptions{Fingerprint: pv.Fingerprint})
				if err != nil {
					t.Fatal(err)
				}
				if res.Fingerprint != pv.Fingerprint || res.Created != pv.Counts.Tasks {
					t.Errorf("commit fingerprint %s created %d, preview %s with %d", res.Fingerprint, res.Created, pv.Fingerprint, pv.Counts.Tasks)
				}
				tasks := f.tasks(t)
				if len(tasks) != len(pv.Examples) {
					t.Fatalf("%d tasks, preview showed %d", len(tasks), len(pv.Examples))
				}
				linked := 0
				for i, task := range tasks {
					ex := pv.Examples[i]
					a, b := task.Shown()
					var exB int64
					if ex.B != nil {
						exB = ex.B.CaptionID
					}
					if task.Position != ex.Position || task.Kind != ex.Kind || task.ImageID != ex.ImageID || a != ex.A.CaptionID || b != exB ||
						task.IsGold != ex.Gold || (task.IsGold && string(task.GoldAnswer) != string(ex.GoldAnswer)) {
						t.Errorf("task %d: %+v, preview showed %+v", i, task.Task, ex)
					}
					if !task.IsGold && f.captions[a].Text != ex.A.Text {
						t.Errorf("task %d shows %q, preview %q", i, f.captions[a].Text, ex.A.Text)
					}
					linked += len(task.Captions)
				}
				if linked != pv.Counts.CaptionsLinked {
					t.Errorf("%d captions linked, preview said %d", linked, pv.Counts.CaptionsLinked)
				}
				entries, err := s.AuditLog(ctx, f.camp.ID, 1)
				if err != nil || len(entries) != 1 || entries[0].Action != annotation.AuditSelection ||
					!strings.Contains(string(entries[0].After), pv.Fingerprint) || entries[0].ActorID == nil {
					t.Errorf("audit entry %+v (%v)", entries, err)
				}
				fingerprints[s.Dialect()] = pv.Fingerprint
			})
			if len(fingerprints) == 2 && fingerprints[models.DialectSQLite] != fingerprints[models.DialectPostgres] {
				t.Errorf("SQLite and PostgreSQL plan different tasks: %v", fingerprints)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSelectionDeterminism: a seed always gives the same plan; another seed
// another sample, queue order and A/B sides; a larger count extends a
// smaller one's sample.
func TestSelectionDeterminism(t *testing.T) {
	s := modelstest.NewStore(t)
	f := newSelFixture(t, s, selSpec{mode: models.ModePairwise, images: 30, cider: sixCaptioners, refs: true})
	ctx := context.Background()
	preview := func(doc string) *annotation.SelectionPreview {
		t.Helper()
		pv, err := f.svc.Preview(ctx, f.camp.ID, annotation.PreviewOptions{Thresholds: models.JSON(doc), Examples: annotation.MaxExamples})
		if err != nil {
			t.Fatal(err)
		}
		return pv
	}
	a1, a2 := preview(`{"seed":1,"top_k":2,"images":{"count":20}}`), preview(`{"seed":1,"top_k":2,"images":{"count":20}}`)
	b := preview(`{"seed":2,"top_k":2,"images":{"count":20}}`)
	if a1.Fingerprint != a2.Fingerprint || mustJSON(t, a1) != mustJSON(t, a2) {
		t.Error("the same seed planned two different selections")
	}
	if a1.Fingerprint == b.Fingerprint {
		t.Error("seeds 1 and 2 planned the same selection")
	}
	swapped := 0
	for _, ex := range a1.Examples {
		if ex.A.Captioners[0] == "m1@v1" {
			swapped++
		}
	}
	if swapped == 0 || swapped == len(a1.Examples) {
		t.Errorf("A/B sides not drawn: m1 on side A in %d of %d pairs", swapped, len(a1.Examples))
	}
	images := func(pv *annotation.SelectionPreview) []int64 {
		var out []int64
		for _, ex := range pv.Examples {
			out = append(out, ex.ImageID)
		}
		slices.Sort(out)
		return out
	}
	small := images(preview(`{"seed":1,"top_k":2,"images":{"count":10}}`))
	large := images(a1)
	for _, id := range small {
		if !slices.Contains(large, id) {
			t.Errorf("image %d sampled with count 10 but not with 20", id)
		}
	}
}

// TestIdenticalTexts: captioners 0 and 1 write the same text (other case
// and spacing) on every fifth image: Likert rates it once for both,
// pairwise does not compare them.
func TestIdenticalTexts(t *testing.T) {
	tests := []struct {
		mode models.CampaignMode
		doc  string
	}{
		{models.ModeLikert, `{"top_k":2}`},
		{models.ModePairwise, `{"top_k":2}`},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			s := modelstest.NewStore(t)
			f := newSelFixture(t, s, selSpec{mode: tt.mode, images: 10, cider: sixCaptioners})
			pv, err := f.svc.Preview(context.Background(), f.camp.ID, annotation.PreviewOptions{Thresholds: models.JSON(tt.doc), Examples: 100})
			if err != nil {
				t.Fatal(err)
			}
			// Images 0 and 5 have the same text from m0 and m1.
			if tt.mode == models.ModeLikert {
				if pv.Counts.Items != 18 || pv.Counts.CaptionsLinked != 20 || pv.Counts.SharedRatings != 2 {
					t.Errorf("counts %+v, want 18 items for 20 captions, 2 shared", pv.Counts)
				}
				shared := 0
				for _, ex := range pv.Examples {
					if len(ex.A.Captioners) == 2 {
						shared++
					}
				}
				if shared != 2 {
					t.Errorf("%d examples stand for two captioners, want 2", shared)
				}
				return
			}
			if pv.Counts.Items != 8 || pv.Counts.IdenticalPairsSkipped != 2 {
				t.Errorf("counts %+v, want 8 pairs and 2 identical ones skipped", pv.Counts)
			}
		})
	}
}

// TestStratifiedSampling: strata get quotas proportional to their sizes.
func TestStratifiedSampling(t *testing.T) {
	s := modelstest.NewStore(t)
	// m0 has every image (m1, the last, skips some and is not kept).
	f := newSelFixture(t, s, selSpec{mode: models.ModeLikert, images: 40, cider: []float64{0.5, 0.4}})
	tests := []struct {
		count    int
		ones     int // images tagged count:1 (a quarter of all)
		prefix   string
		unstrata int
	}{
		{8, 2, "count:", 0},
		{10, 3, "count:", 0}, // 2.5 and 7.5: the tie goes to count:1, which sorts first
		{5, 0, "size:", 5},   // no image has the prefix: one stratum ""
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.count, tt.prefix), func(t *testing.T) {
			doc := fmt.Sprintf(`{"top_k":1,"images":{"count":%d,"sampling":"stratified","tag_prefix":%q}}`, tt.count, tt.prefix)
			pv, err := f.svc.Preview(context.Background(), f.camp.ID, annotation.PreviewOptions{Thresholds: models.JSON(doc), Examples: 100})
			if err != nil {
				t.Fatal(err)
			}
			if len(pv.Examples) != tt.count {
				t.Fatalf("%d items, want %d", len(pv.Examples), tt.count)
			}
			ones := 0
			for _, ex := range pv.Examples {
				var i int
				fmt.Sscanf(ex.ImageExternalID, "img%d", &i)
				if i%4 == 0 {
					ones++
				}
			}
			if tt.prefix == "count:" && ones != tt.ones {
				t.Errorf("%d images of stratum count:1, want %d", ones, tt.ones)
			}
		})
	}
}

// TestPerImageTopK: every image gets its best per_image_top_k distinct
// texts by the per-caption score.
func TestPerImageTopK(t *testing.T) {
	s := modelstest.NewStore(t)
	f := newSelFixture(t, s, selSpec{mode: models.ModeLikert, images: 6, cider: []float64{0.2, 0.5, 0.9}})
	pv, err := f.svc.Preview(context.Background(), f.camp.ID,
		annotation.PreviewOptions{Thresholds: models.JSON(`{"selection":"per_image","per_image_top_k":1}`), Examples: 100})
	if err != nil {
		t.Fatal(err)
	}
	if pv.Counts.Items != 6 {
		t.Fatalf("%d items, want one per image", pv.Counts.Items)
	}
	for _, ex := range pv.Examples {
		// Per-caption CIDEr is the captioner's + 0..0.09: m2 always wins,
		// except on images m2 skips (every third), where m1 does.
		var i int
		fmt.Sscanf(ex.ImageExternalID, "img%d", &i)
		want := "m2@v1"
		if i%3 == 0 {
			want = "m1@v1"
		}
		if ex.A.Captioners[0] != want {
			t.Errorf("image %d: queued %v, want %s", i, ex.A.Captioners, want)
		}
	}
}

// TestCommitRules: a second commit is refused; replace keeps rated and
// leased tasks and deletes the others; a stale fingerprint, a closed
// campaign, missing thresholds and an empty selection are refused and
// change nothing.
func TestCommitRules(t *testing.T) {
	for _, kind := range modelstest.Stores {
		t.Run(kind, func(t *testing.T) {
			s, raw := newStoreWithSQL(t, kind)
			ctx := context.Background()
			f := newSelFixture(t, s, selSpec{mode: models.ModeLikert, images: 10, cider: sixCaptioners, refs: true})
			if _, err := f.svc.Commit(ctx, f.lead.ID, f.camp.ID, annotation.CommitOptions{}); !errors.Is(err, annotation.ErrInvalid) ||
				!strings.Contains(err.Error(), "no thresholds") {
				t.Errorf("commit without thresholds: %v", err)
			}
			f.setThresholds(t, `{"top_k":1,"min_scores":{"CIDEr":0.95}}`)
			if _, err := f.svc.Commit(ctx, f.lead.ID, f.camp.ID, annotation.CommitOptions{}); !errors.Is(err, annotation.ErrInvalid) ||
				!strings.Contains(err.Error(), "nothing to queue: no captioner is kept") {
				t.Errorf("empty selection: %v", err)
			}
			f.setThresholds(t, `{"top_k":2,"images":{"count":4}}`)
			first, err := f.svc.Commit(ctx, f.lead.ID, f.camp.ID, annotation.CommitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.Commit(ctx, f.lead.ID, f.camp.ID, annotation.CommitOptions{}); !errors.Is(err, annotation.ErrConflict) ||
				!strings.Contains(err.Error(), fmt.Sprintf("has %d tasks already", first.Created)) {
				t.Errorf("second commit: %v", err)
			}
			tasks := f.tasks(t)
			// Rate the first task, lease the second (live) and the third
			// (expired).
			ann := &models.User{Email: "ann@example.com", Role: models.RoleAnnotator}
			if err := s.CreateUser(ctx, ann); err != nil {
				t.Fatal(err)
			}
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := raw.ExecContext(ctx, q, args...); err != nil {
					t.Fatal(err)
				}
			}
			exec("INSERT INTO ratings (task_id, annotator_id, answers, client_id) VALUES ($1, $2, '{}', 'c1')", tasks[0].ID, ann.ID)
			exec("UPDATE tasks SET ratings_done = 1 WHERE id = $1", tasks[0].ID)
			exec("INSERT INTO leases (task_id, annotator_id, expires_at) VALUES ($1, $2, $3)", tasks[1].ID, ann.ID, time.Now().Add(time.Hour).UTC())
			exec("INSERT INTO leases (task_id, annotator_id, expires_at) VALUES ($1, $2, $3)", tasks[2].ID, ann.ID, time.Now().Add(-time.Hour).UTC())

			f.setThresholds(t, `{"top_k":3,"images":{"count":4}}`)
			pv, err := f.svc.Preview(ctx, f.camp.ID, annotation.PreviewOptions{Replace: true, Examples: 100})
			if err != nil {
				t.Fatal(err)
			}
			// The same 4 images (same seed): m3's 4 captions are new, the
			// rated and the leased task's captions are queued already.
			n1 := first.Created
			if c := pv.Counts; c.ExistingTasks != n1 || c.KeptTasks != 2 || c.ReplacedTasks != n1-2 || c.AlreadyQueued != 2 || c.Tasks != n1+2 {
				t.Errorf("replace preview counts %+v (first commit: %d tasks)", c, n1)
			}
			if _, err := f.svc.Commit(ctx, f.lead.ID, f.camp.ID, annotation.CommitOptions{Replace: true, Fingerprint: first.Fingerprint}); !errors.Is(err, annotation.ErrConflict) ||
				!strings.Contains(err.Error(), "changed since the preview") {
				t.Errorf("stale fingerprint: %v", err)
			}
			res, err := f.svc.Commit(ctx, f.lead.ID, f.camp.ID, annotation.CommitOptions{Replace: true, Fingerprint: pv.Fingerprint})
			if err != nil {
				t.Fatal(err)
			}
			if res.Deleted != int64(n1-2) || res.Created != n1+2 {
				t.Errorf("replace deleted %d created %d, want %d and %d", res.Deleted, res.Created, n1-2, n1+2)
			}
			after := f.tasks(t)
			if len(after) != 2+res.Created {
				t.Fatalf("%d tasks after replace, want 2 kept + %d new", len(after), res.Created)
			}
			if after[0].ID != tasks[0].ID || after[1].ID != tasks[1].ID {
				t.Errorf("kept tasks %d, %d; want the rated %d and the leased %d", after[0].ID, after[1].ID, tasks[0].ID, tasks[1].ID)
			}
			for i, task := range after[2:] {
				if task.Position != after[1].Position+1+i {
					t.Errorf("new task at position %d, want %d", task.Position, after[1].Position+1+i)
				}
				if *task.CaptionID == *tasks[0].CaptionID || *task.CaptionID == *tasks[1].CaptionID {
					t.Errorf("caption %d queued twice", *task.CaptionID)
				}
			}
			closed := models.StatusClosed
			if err := s.UpdateCampaign(ctx, f.camp.ID, models.CampaignChanges{Status: &closed}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.Commit(ctx, f.lead.ID, f.camp.ID, annotation.CommitOptions{Replace: true}); !errors.Is(err, annotation.ErrConflict) ||
				!strings.Contains(err.Error(), "is closed") {
				t.Errorf("commit on a closed campaign: %v", err)
			}
			if n := len(f.tasks(t)); n != len(after) {
				t.Errorf("refused commits changed the tasks: %d", n)
			}
			if _, err := f.svc.Commit(ctx, f.lead.ID, 999, annotation.CommitOptions{}); !errors.Is(err, annotation.ErrNotFound) {
				t.Errorf("missing campaign: %v", err)
			}
		})
	}
}

// TestGoldNeedsReferences: a gold rate without references is a problem
// of gold_rate, and nothing is written.
func TestGoldNeedsReferences(t *testing.T) {
	s := modelstest.NewStore(t)
	f := newSelFixture(t, s, selSpec{mode: models.ModeLikert, images: 5, cider: []float64{0.5}})
	f.setThresholds(t, `{"gold_rate":0.2}`)
	_, err := f.svc.Commit(context.Background(), f.lead.ID, f.camp.ID, annotation.CommitOptions{})
	var ve *annotation.ValidationError
	if !errors.As(err, &ve) || ve.Problems[0].Where != "gold_rate" || !strings.Contains(err.Error(), "import references") {
		t.Fatalf("got %v", err)
	}
	if n := len(f.tasks(t)); n != 0 {
		t.Errorf("%d tasks written", n)
	}
}

// TestSetThresholdsAudited: thresholds go through the campaign service's
// audit; a bad document names its fields and changes nothing.
func TestSetThresholdsAudited(t *testing.T) {
	s := modelstest.NewStore(t)
	f := newSelFixture(t, s, selSpec{mode: models.ModeLikert, images: 3, cider: []float64{0.5}})
	ctx := context.Background()
	got, err := f.svc.SetThresholds(ctx, f.lead.ID, f.camp.ID, models.JSON(`{ "top_k": 2 }`))
	if err != nil || string(got) != `{"top_k":2}` {
		t.Fatalf("got %s, %v", got, err)
	}
	_, err = f.svc.SetThresholds(ctx, f.lead.ID, f.camp.ID, models.JSON(`{"top_k":-1,"pairs":"all"}`))
	var ve *annotation.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 2 || ve.Problems[0].Where != "top_k" || ve.Problems[1].Where != "pairs" {
		t.Fatalf("got %v", err)
	}
	entries, err := s.AuditLog(ctx, f.camp.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Action != annotation.AuditThresholds || string(entries[0].After) != `{"top_k":2}` ||
		*entries[0].ActorID != f.lead.ID {
		t.Errorf("audit %+v", entries)
	}
	if _, err := f.svc.SetThresholds(ctx, f.lead.ID, 999, models.JSON(`{}`)); !errors.Is(err, annotation.ErrNotFound) {
		t.Errorf("missing campaign: %v", err)
	}
}

// TestSelectionSizeLimit: a selection larger than the limit is refused
// with a problem that says what to lower, and nothing is written.
func TestSelectionSizeLimit(t *testing.T) {
	defer annotation.SetMaxSelectionTasks(10)()
	s := modelstest.NewStore(t)
	f := newSelFixture(t, s, selSpec{mode: models.ModePairwise, images: 12, cider: sixCaptioners})
	tests := []struct {
		name string
		doc  string
		ok   bool
	}{
		{"all pairs of 5 captioners", `{"pairs":"all"}`, false},
		{"per image", `{"selection":"per_image","per_image_top_k":4}`, false},
		{"small enough", `{"top_k":2,"images":{"count":5}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.setThresholds(t, tt.doc)
			_, err := f.svc.Commit(context.Background(), f.lead.ID, f.camp.ID, annotation.CommitOptions{Replace: true})
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, annotation.ErrInvalid) || !strings.Contains(err.Error(), "more than 10 items: lower images.count or top_k") {
				t.Fatalf("got %v", err)
			}
			if n := len(f.tasks(t)); n != 0 {
				t.Errorf("%d tasks written", n)
			}
		})
	}
}

// TestConcurrentCommits: of two commits at once, exactly one creates the
// queue; the other is refused because tasks exist.
func TestConcurrentCommits(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newSelFixture(t, s, selSpec{mode: models.ModeLikert, images: 20, cider: sixCaptioners, refs: true})
		f.setThresholds(t, `{"top_k":3,"gold_rate":0.1}`)
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				_, err := f.svc.Commit(context.Background(), f.lead.ID, f.camp.ID, annotation.CommitOptions{})
				errs <- err
			}()
		}
		var ok, conflict int
		for range 2 {
			switch err := <-errs; {
			case err == nil:
				ok++
			case errors.Is(err, annotation.ErrConflict):
				conflict++
			default:
				t.Errorf("commit: %v", err)
			}
		}
		pv, err := f.svc.Preview(context.Background(), f.camp.ID, annotation.PreviewOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ok != 1 || conflict != 1 || len(f.tasks(t)) != pv.Counts.ExistingTasks || pv.Counts.ExistingTasks == 0 {
			t.Errorf("%d commits succeeded, %d refused, %d tasks", ok, conflict, len(f.tasks(t)))
		}
	})
}

// TestEmptySelectionReasons: a commit that would queue nothing says why.
func TestEmptySelectionReasons(t *testing.T) {
	tests := []struct {
		name string
		mode models.CampaignMode
		doc  string
		want string
	}{
		{"nobody above the minimum", models.ModeLikert, `{"min_scores":{"CIDEr":0.95}}`, "no captioner is kept"},
		{"one captioner cannot pair", models.ModePairwise, `{"min_scores":{"CIDEr":0.85}}`, "a pairwise selection needs at least 2 kept captioners, and 1 is kept"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := modelstest.NewStore(t)
			f := newSelFixture(t, s, selSpec{mode: tt.mode, images: 4, cider: sixCaptioners})
			f.setThresholds(t, tt.doc)
			_, err := f.svc.Commit(context.Background(), f.lead.ID, f.camp.ID, annotation.CommitOptions{})
			if !errors.Is(err, annotation.ErrInvalid) || !strings.Contains(err.Error(), "nothing to queue: "+tt.want) {
				t.Errorf("got %v", err)
			}
		})
	}
}
