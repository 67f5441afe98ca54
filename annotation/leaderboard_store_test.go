package annotation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"capeval/annotation"
	"capeval/models"
	"capeval/models/modelstest"
)

// lbFixture is a Likert campaign in a real store: four captioners of known
// quality (m0 best) on 24 images tagged even/odd, three careful
// annotators and a careless one (random ratings) rating every caption, a
// CIDEr score per caption, and a gold task.
type lbFixture struct {
	s        *models.Store
	campaign models.Campaign
	lead     models.User
	ann      []models.User
	tasks    []models.Task // regular, by image then captioner
	gold     models.Task
}

func seedLeaderboard(t *testing.T, s *models.Store) *lbFixture {
	t.Helper()
	ctx := context.Background()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("seed %s: %v", what, err)
		}
	}
	f := &lbFixture{s: s}
	f.lead = models.User{Email: "lead@example.com", Role: models.RoleLead}
	must("lead", s.CreateUser(ctx, &f.lead))
	for i := range 4 {
		u := models.User{Email: fmt.Sprintf("ann%d@example.com", i), Role: models.RoleAnnotator}
		must("annotator", s.CreateUser(ctx, &u))
		f.ann = append(f.ann, u)
	}
	f.campaign = models.Campaign{Name: "lb", Mode: models.ModeLikert, Status: models.StatusCollecting, Rubric: models.JSON("null"),
		Thresholds: models.JSON(`{"seed": 4242}`), BlendWeights: models.JSON("null")}
	must("campaign", s.CreateCampaign(ctx, &f.campaign))
	var imgs []models.Image
	for i := range 24 {
		imgs = append(imgs, models.Image{CampaignID: f.campaign.ID, ExternalID: fmt.Sprintf("img%02d", i), SHA256: fmt.Sprintf("%064d", i),
			StorageKey: fmt.Sprintf("k%d", i), Tags: models.MustJSON([]string{[]string{"even", "odd"}[i%2]})})
	}
	must("images", s.InsertImages(ctx, imgs))
	var ks []models.Captioner
	for c := range 4 {
		k := models.Captioner{CampaignID: f.campaign.ID, Name: fmt.Sprintf("m%d", c), Version: "1"}
		must("captioner", s.CreateCaptioner(ctx, &k))
		ks = append(ks, k)
	}
	r := rand.New(rand.NewPCG(8, 9))
	var caps []models.Caption
	truth := map[int]float64{}
	for i, im := range imgs {
		for c, k := range ks {
			caps = append(caps, models.Caption{CaptionerID: k.ID, ImageID: im.ID, Text: fmt.Sprintf("caption %d of image %d", c, i)})
			truth[len(caps)-1] = 4.5 - 0.8*float64(c) + r.NormFloat64()*0.3
		}
	}
	must("captions", s.InsertCaptions(ctx, caps))
	var scores []models.Score
	for q, c := range caps {
		scores = append(scores, models.Score{CaptionID: c.ID, Metric: "CIDEr", Value: truth[q]/5 + r.NormFloat64()*0.05, MetricVersion: "cider-v1"})
	}
	must("scores", s.InsertScoreRows(ctx, scores, nil))
	var links [][]models.TaskCaption
	for q, c := range caps {
		f.tasks = append(f.tasks, models.Task{CampaignID: f.campaign.ID, ImageID: c.ImageID, Kind: models.TaskSingle, CaptionID: &caps[q].ID,
			RatingsWanted: 4, Position: q + 1})
		links = append(links, []models.TaskCaption{{CaptionID: c.ID}})
	}
	f.gold = models.Task{CampaignID: f.campaign.ID, ImageID: imgs[0].ID, Kind: models.TaskSingle, IsGold: true,
		GoldAnswer: models.JSON(`{"kind":"known_good","text":"x","expect":{"criterion":"overall","min":4}}`), RatingsWanted: 4, Position: 1000}
	all := append(append([]models.Task{}, f.tasks...), f.gold)
	must("tasks", s.InsertTasks(ctx, all, links))
	copy(f.tasks, all[:len(f.tasks)])
	f.gold = all[len(all)-1]
	for q, task := range f.tasks {
		for a, u := range f.ann {
			v := math.Max(1, math.Min(5, math.Round(truth[q]+r.NormFloat64()*0.5)))
			if a == 3 {
				v = float64(1 + r.IntN(5)) // careless
			}
			answers := fmt.Sprintf(`{"precision":%g,"recall":%g,"fluency":%g,"overall":%g}`, v, v, v, v)
			must("rating", s.AddRating(ctx, &models.Rating{TaskID: task.ID, AnnotatorID: u.ID, Answers: models.JSON(answers),
				ClientID: fmt.Sprintf("t%d-a%d", task.ID, a)}))
		}
	}
	return f
}

func (f *lbFixture) service() (*annotation.Leaderboards, *annotation.Quality) {
	q := annotation.NewQuality(f.s, nil)
	return annotation.NewLeaderboards(f.s, q, nil, annotation.WithVersion("test")), q
}

func leaderboardJSON(t *testing.T, l *annotation.Leaderboards, id int64, s annotation.LeaderboardSettings) ([]byte, *annotation.Leaderboard) {
	t.Helper()
	lb, err := l.Leaderboard(context.Background(), id, s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(lb)
	if err != nil {
		t.Fatal(err)
	}
	return b, lb
}

// The leaderboard from a real store: the best captioner first with its
// interval above the worst's, the careless annotator's exclusion honoured
// unless included, identical bytes across two runs and across SQLite and
// PostgreSQL.
func TestLeaderboardFromTheStore(t *testing.T) {
	var perDialect [][]byte
	for _, kind := range modelstest.Stores {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			f := seedLeaderboard(t, modelstest.New(t, kind))
			l, q := f.service()
			if _, err := q.SetExclusion(ctx, f.lead.ID, f.campaign.ID, f.ann[3].ID, annotation.DecisionExclude, "careless"); err != nil {
				t.Fatal(err)
			}
			s := annotation.LeaderboardSettings{Weights: map[string]float64{annotation.SourceHuman: 1, "CIDEr": 0.5}, Resamples: 300}
			first, lb := leaderboardJSON(t, l, f.campaign.ID, s)
			again, _ := leaderboardJSON(t, l, f.campaign.ID, s)
			if !bytes.Equal(first, again) {
				t.Error("two runs gave different bytes")
			}
			perDialect = append(perDialect, first)
			if got := lb.Leaderboard[0].Captioner; got != "m0@1" {
				t.Errorf("first %s, want m0@1", got)
			}
			best, worst := lb.Leaderboard[0], lb.Leaderboard[3]
			if worst.Captioner != "m3@1" || !(best.Blended.CILow > worst.Blended.CIHigh) {
				t.Errorf("best %+v, worst %+v", best.Blended, worst.Blended)
			}
			p := lb.Provenance
			if p.Settings.Seed != 4242 || p.Ratings != 96*3 || p.ExcludedRatings != 96 || len(p.ExcludedAnnotators) != 1 ||
				p.Images != 24 || p.Items != 96 || p.MetricVersions["CIDEr"][0] != "cider-v1" || len(p.DataSHA256) != 64 {
				t.Errorf("provenance %+v", p)
			}
			if len(lb.Slices) != 2 || lb.Slices[0].Name != "even" || lb.Slices[0].Images != 12 {
				t.Errorf("slices %+v", lb.Slices)
			}
			if len(lb.Agreement.Criteria) != 4 || lb.Agreement.Criteria[3].Annotators != 3 {
				t.Errorf("agreement criteria %+v", lb.Agreement.Criteria)
			}
			var careless *annotation.AnnotatorAgreement
			for i, a := range lb.Agreement.Annotators {
				if a.AnnotatorID == f.ann[3].ID {
					careless = &lb.Agreement.Annotators[i]
				}
			}
			if careless == nil || !careless.Excluded || !(careless.Criteria[3].AlphaDelta > 0) || !(careless.Criteria[3].RestCorrelation < 0.5) {
				t.Errorf("careless annotator %+v", careless)
			}
			incl, lbIn := leaderboardJSON(t, l, f.campaign.ID, annotation.LeaderboardSettings{Weights: s.Weights, Resamples: 300, IncludeExcluded: true})
			if bytes.Equal(incl, first) || lbIn.Provenance.Ratings != 96*4 || lbIn.Agreement.Criteria[3].Annotators != 4 {
				t.Errorf("with the excluded annotator included: provenance %+v", lbIn.Provenance)
			}
			if !(lbIn.Agreement.Criteria[3].Alpha.Ordinal < lb.Agreement.Criteria[3].Alpha.Ordinal) {
				t.Errorf("alpha with the careless annotator %v, without %v", lbIn.Agreement.Criteria[3].Alpha.Ordinal, lb.Agreement.Criteria[3].Alpha.Ordinal)
			}
		})
	}
	if len(perDialect) == 2 && !bytes.Equal(perDialect[0], perDialect[1]) {
		t.Errorf("SQLite and PostgreSQL gave different bytes:\n%.400s\n%.400s", perDialect[0], perDialect[1])
	}
}

// The lead adjudicates an item: the value is in force in the item's view
// and the leaderboard's data, recorded in the audit log, and can be
// withdrawn; bad decisions change nothing.
func TestAdjudicateThroughTheService(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := seedLeaderboard(t, s)
		l, _ := f.service()
		task := f.tasks[5].ID
		hashBefore := mustLeaderboard(t, l, f.campaign.ID).Provenance.DataSHA256
		v := 1.5
		d, err := l.Adjudicate(ctx, f.lead.ID, f.campaign.ID, task, annotation.AdjudicationInput{Criterion: "overall", Value: &v, Note: "all wrong"})
		if err != nil {
			t.Fatal(err)
		}
		if rec, ok := d.InForce["overall"]; !ok || rec.Value != 1.5 || rec.DecidedBy == nil || rec.DecidedBy.ID != f.lead.ID || rec.Note != "all wrong" {
			t.Errorf("in force after adjudicating: %+v", d.InForce)
		}
		if len(d.Ratings) != 4 || d.CaptionA.Text == "" || len(d.CaptionA.Captioners) != 1 {
			t.Errorf("detail: %d ratings, caption %+v", len(d.Ratings), d.CaptionA)
		}
		lb := mustLeaderboard(t, l, f.campaign.ID)
		if lb.Provenance.Adjudications != 1 || lb.Provenance.DataSHA256 == hashBefore {
			t.Errorf("leaderboard after adjudication: %d adjudications, hash changed %v", lb.Provenance.Adjudications, lb.Provenance.DataSHA256 != hashBefore)
		}
		// Same decision again: nothing written.
		if _, err := l.Adjudicate(ctx, f.lead.ID, f.campaign.ID, task, annotation.AdjudicationInput{Criterion: "overall", Value: &v, Note: "all wrong"}); err != nil {
			t.Fatal(err)
		}
		d, err = l.Adjudicate(ctx, f.lead.ID, f.campaign.ID, task, annotation.AdjudicationInput{Criterion: "overall", Withdraw: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := d.InForce["overall"]; ok || len(d.History) != 2 || !d.History[1].Withdrawn {
			t.Errorf("after withdrawing: in force %+v, history %+v", d.InForce, d.History)
		}
		audit, err := s.AuditLog(ctx, f.campaign.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range audit {
			if strings.HasPrefix(e.Action, "adjudication.") {
				actions = append(actions, e.Action)
			}
		}
		if strings.Join(actions, ",") != annotation.AuditWithdraw+","+annotation.AuditAdjudicate {
			t.Errorf("audit actions %v", actions)
		}
		big, bad := 6.0, 0.0
		for _, tt := range []struct {
			name string
			task int64
			in   annotation.AdjudicationInput
			want error
		}{
			{"value above the scale", task, annotation.AdjudicationInput{Criterion: "overall", Value: &big}, annotation.ErrInvalid},
			{"value below the scale", task, annotation.AdjudicationInput{Criterion: "overall", Value: &bad}, annotation.ErrInvalid},
			{"unknown criterion", task, annotation.AdjudicationInput{Criterion: "speed", Value: &v}, annotation.ErrInvalid},
			{"a choice on a Likert item", task, annotation.AdjudicationInput{Criterion: "overall", Choice: "a"}, annotation.ErrInvalid},
			{"no value", task, annotation.AdjudicationInput{Criterion: "overall"}, annotation.ErrInvalid},
			{"a gold task", f.gold.ID, annotation.AdjudicationInput{Criterion: "overall", Value: &v}, annotation.ErrConflict},
			{"another campaign's task", task, annotation.AdjudicationInput{Criterion: "overall", Value: &v}, annotation.ErrNotFound},
		} {
			campaign := f.campaign.ID
			if tt.name == "another campaign's task" {
				campaign++
			}
			if _, err := l.Adjudicate(ctx, f.lead.ID, campaign, tt.task, tt.in); !errors.Is(err, tt.want) {
				t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
			}
		}
		if hist, _ := s.TaskAdjudications(ctx, task); len(hist) != 2 {
			t.Errorf("%d adjudication rows after the refused ones, want 2", len(hist))
		}
	})
}

func mustLeaderboard(t *testing.T, l *annotation.Leaderboards, id int64) *annotation.Leaderboard {
	t.Helper()
	lb, err := l.Leaderboard(context.Background(), id, annotation.LeaderboardSettings{Resamples: 50})
	if err != nil {
		t.Fatal(err)
	}
	return lb
}

// Bad settings name what is wrong.
func TestLeaderboardSettingsErrors(t *testing.T) {
	s := modelstest.NewStore(t)
	f := seedLeaderboard(t, s)
	l, _ := f.service()
	for _, tt := range []struct {
		name  string
		s     annotation.LeaderboardSettings
		where string
	}{
		{"unknown source", annotation.LeaderboardSettings{Weights: map[string]float64{"BLEU": 1}}, "weights.BLEU"},
		{"negative weight", annotation.LeaderboardSettings{Weights: map[string]float64{"human": -1}}, "weights.human"},
		{"every weight 0", annotation.LeaderboardSettings{Weights: map[string]float64{"human": 0}}, "weights"},
		{"normalization", annotation.LeaderboardSettings{Normalization: "log"}, "normalization"},
		{"consensus", annotation.LeaderboardSettings{Consensus: "median"}, "consensus"},
		{"criterion", annotation.LeaderboardSettings{Criterion: "choice"}, "criterion"},
		{"resamples", annotation.LeaderboardSettings{Resamples: 1}, "resamples"},
		{"level", annotation.LeaderboardSettings{Level: 1.5}, "level"},
		{"group", annotation.LeaderboardSettings{Group: "friends"}, "group"},
		{"ids without a list", annotation.LeaderboardSettings{Group: annotation.GroupIDs}, "annotators"},
	} {
		_, err := l.Leaderboard(context.Background(), f.campaign.ID, tt.s)
		var ve *annotation.ValidationError
		if !errors.As(err, &ve) || ve.Problems[0].Where != tt.where {
			t.Errorf("%s: %v, want a problem at %s", tt.name, err, tt.where)
		}
	}
	if _, err := l.Leaderboard(context.Background(), f.campaign.ID+7, annotation.LeaderboardSettings{}); !errors.Is(err, annotation.ErrNotFound) {
		t.Errorf("missing campaign: %v", err)
	}
	// The saved document is validated when saved.
	c := annotation.NewCampaigns(s, nil, annotation.WithBlendWeightsValidator(annotation.ValidateBlendWeights))
	if err := c.SetBlendWeights(context.Background(), f.lead.ID, f.campaign.ID, models.JSON(`{"weights":{"CIDEr":1,"human":2},"normalization":"rank"}`)); err != nil {
		t.Fatal(err)
	}
	lb := mustLeaderboard(t, l, f.campaign.ID)
	if w := lb.Provenance.Settings.Weights; w["CIDEr"] != 1 || w["human"] != 2 || lb.Provenance.Settings.Normalization != "rank" {
		t.Errorf("saved settings not used: %+v", lb.Provenance.Settings)
	}
	for _, doc := range []string{`{"weights":{"human":1},"extra":1}`, `{"weights":{"ROUGE":1}}`, `{"normalization":"rank"}`} {
		if err := c.SetBlendWeights(context.Background(), f.lead.ID, f.campaign.ID, models.JSON(doc)); !errors.Is(err, annotation.ErrInvalid) {
			t.Errorf("blend document %s: %v, want invalid", doc, err)
		}
	}
}
