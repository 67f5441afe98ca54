package models_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"capeval/models"
	"capeval/models/modelstest"
)

// judgmentFixture is a Likert campaign with two captioners on two images:
// a single task of caption 0 linked to caption 1 (the same text), a pair,
// a gold task, a set-aside task the lead left out, and an imported task;
// two annotators rated the regular tasks, and the imported task carries
// two imported ratings, one without an annotator id.
type judgmentFixture struct {
	campaign             models.Campaign
	ann                  [2]models.User
	captions             []models.Caption
	single, pair, gold   models.Task
	leftOut, imported    models.Task
	ratingIDs            []int64
	importedA, importedB int64
}

func seedJudgments(t *testing.T, s *models.Store) *judgmentFixture {
	t.Helper()
	ctx := context.Background()
	f := &judgmentFixture{}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("seed %s: %v", what, err)
		}
	}
	for i := range f.ann {
		f.ann[i] = models.User{Email: fmt.Sprintf("j%d@example.com", i), Role: models.RoleAnnotator}
		must("annotator", s.CreateUser(ctx, &f.ann[i]))
	}
	f.campaign = models.Campaign{Name: "j", Mode: models.ModeLikert, Status: models.StatusCollecting}
	must("campaign", s.CreateCampaign(ctx, &f.campaign))
	imgs := []models.Image{
		{CampaignID: f.campaign.ID, ExternalID: "i1", SHA256: strings.Repeat("a", 64), StorageKey: "a"},
		{CampaignID: f.campaign.ID, ExternalID: "i2", SHA256: strings.Repeat("b", 64), StorageKey: "b"},
	}
	must("images", s.InsertImages(ctx, imgs))
	var ks [2]models.Captioner
	for i := range ks {
		ks[i] = models.Captioner{CampaignID: f.campaign.ID, Name: fmt.Sprintf("m%d", i)}
		must("captioner", s.CreateCaptioner(ctx, &ks[i]))
	}
	f.captions = []models.Caption{
		{CaptionerID: ks[0].ID, ImageID: imgs[0].ID, Text: "a dog"},
		{CaptionerID: ks[1].ID, ImageID: imgs[0].ID, Text: "a dog"},
		{CaptionerID: ks[0].ID, ImageID: imgs[1].ID, Text: "a cat"},
		{CaptionerID: ks[1].ID, ImageID: imgs[1].ID, Text: "a cat on a mat"},
	}
	must("captions", s.InsertCaptions(ctx, f.captions))
	c := f.captions
	tasks := []models.Task{
		{CampaignID: f.campaign.ID, ImageID: imgs[0].ID, Kind: models.TaskSingle, CaptionID: &c[0].ID, RatingsWanted: 2, Position: 1},
		{CampaignID: f.campaign.ID, ImageID: imgs[1].ID, Kind: models.TaskPair, CaptionID: &c[2].ID, CaptionBID: &c[3].ID, RatingsWanted: 2, Position: 2},
		{CampaignID: f.campaign.ID, ImageID: imgs[1].ID, Kind: models.TaskSingle, IsGold: true, GoldAnswer: models.JSON(`{"kind":"known_good"}`), RatingsWanted: 2, Position: 3},
		{CampaignID: f.campaign.ID, ImageID: imgs[1].ID, Kind: models.TaskSingle, CaptionID: &c[3].ID, RatingsWanted: 2, Position: 4},
	}
	links := [][]models.TaskCaption{
		{{CaptionID: c[0].ID}, {CaptionID: c[1].ID}},
		{{CaptionID: c[2].ID, Side: 0}, {CaptionID: c[3].ID, Side: 1}},
		nil,
		{{CaptionID: c[3].ID}},
	}
	must("tasks", s.InsertTasks(ctx, tasks, links))
	f.single, f.pair, f.gold, f.leftOut = tasks[0], tasks[1], tasks[2], tasks[3]
	// An imported task: complete, no link rows.
	f.imported = models.Task{CampaignID: f.campaign.ID, ImageID: imgs[1].ID, Kind: models.TaskSingle, CaptionID: &c[2].ID,
		RatingsWanted: 2, RatingsDone: 2, Origin: models.OriginImported, Position: 5}
	must("imported task", s.GormDB().Create(&f.imported).Error)

	choice := func(s string) *string { return &s }
	add := func(task models.Task, ann int, answers string, ch *string) {
		t.Helper()
		r := &models.Rating{TaskID: task.ID, AnnotatorID: f.ann[ann].ID, Answers: models.JSON(answers), Choice: ch,
			ClientID: fmt.Sprintf("c%d-%d", task.ID, ann)}
		must("rating", s.AddRating(ctx, r))
		f.ratingIDs = append(f.ratingIDs, r.ID)
	}
	add(f.single, 0, `{"overall":4}`, nil)
	add(f.single, 1, `{"overall":2}`, nil)
	add(f.pair, 0, `null`, choice("a"))
	add(f.gold, 1, `{"overall":5}`, nil)
	add(f.leftOut, 0, `{"overall":3}`, nil)
	must("set aside", s.GormDB().Exec(`UPDATE tasks SET set_aside_at = ? WHERE id = ?`, f.campaign.CreatedAt, f.leftOut.ID).Error)
	must("leave out", s.LeaveOutTask(ctx, f.campaign.ID, f.leftOut.ID, nil))
	key := func(s string) *string { return &s }
	imp := []models.Rating{
		{TaskID: f.imported.ID, Answers: models.JSON(`{"overall":3.67}`), ClientID: "import:k1", Imported: true, ExternalAnnotator: "w7", ImportKey: key("k1")},
		{TaskID: f.imported.ID, Answers: models.JSON(`{"overall":4}`), ClientID: "import:k2", Imported: true, ImportKey: key("k2")},
	}
	for i := range imp {
		must("imported rating", s.GormDB().Create(&imp[i]).Error)
	}
	f.importedA, f.importedB = imp[0].ID, imp[1].ID
	return f
}

func TestJudgmentReads(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := seedJudgments(t, s)
		var got []models.JudgmentRating
		if err := s.EachJudgment(ctx, f.campaign.ID, func(j models.JudgmentRating) error { got = append(got, j); return nil }); err != nil {
			t.Fatal(err)
		}
		type row struct {
			id, task, ann int64
			imported      bool
			ext, answers  string
			choice        string
			kind          models.TaskKind
		}
		var gotRows []row
		for _, j := range got {
			gotRows = append(gotRows, row{j.ID, j.TaskID, j.AnnotatorID, j.Imported, j.ExternalAnnotator, string(j.Answers), j.Choice, j.Kind})
		}
		// Gold and left-out tasks are not read; the imported ratings are,
		// annotator 0 for both.
		want := []row{
			{f.ratingIDs[0], f.single.ID, f.ann[0].ID, false, "", `{"overall":4}`, "", models.TaskSingle},
			{f.ratingIDs[1], f.single.ID, f.ann[1].ID, false, "", `{"overall":2}`, "", models.TaskSingle},
			{f.ratingIDs[2], f.pair.ID, f.ann[0].ID, false, "", `null`, "a", models.TaskPair},
			{f.importedA, f.imported.ID, 0, true, "w7", `{"overall":3.67}`, "", models.TaskSingle},
			{f.importedB, f.imported.ID, 0, true, "", `{"overall":4}`, "", models.TaskSingle},
		}
		if !reflect.DeepEqual(gotRows, want) {
			t.Errorf("EachJudgment =\n%v\nwant\n%v", gotRows, want)
		}

		var caps []string
		err := s.EachJudgedCaption(ctx, f.campaign.ID, func(c models.JudgedCaption) error {
			caps = append(caps, fmt.Sprintf("%d/%d/%d/%s", c.TaskID, c.Side, c.CaptionID, c.Text))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		c := f.captions
		wantCaps := []string{
			fmt.Sprintf("%d/0/%d/a dog", f.single.ID, c[0].ID), fmt.Sprintf("%d/0/%d/a dog", f.single.ID, c[1].ID),
			fmt.Sprintf("%d/0/%d/a cat", f.pair.ID, c[2].ID), fmt.Sprintf("%d/1/%d/a cat on a mat", f.pair.ID, c[3].ID),
			fmt.Sprintf("%d/0/%d/a cat on a mat", f.leftOut.ID, c[3].ID),
			fmt.Sprintf("%d/0/%d/a cat", f.imported.ID, c[2].ID),
		}
		if !reflect.DeepEqual(caps, wantCaps) {
			t.Errorf("EachJudgedCaption =\n%v\nwant\n%v", caps, wantCaps)
		}

		// gorm reads an imported rating's NULL annotator as 0, and the
		// quality checks do not walk imported ratings.
		rs, err := s.TaskRatings(ctx, f.imported.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 2 || rs[0].AnnotatorID != 0 || !rs[0].Imported || rs[0].ImportKey == nil || *rs[0].ImportKey != "k1" {
			t.Errorf("TaskRatings(imported) = %+v", rs)
		}
		var nulls int
		if err := s.GormDB().Raw(`SELECT count(*) FROM ratings WHERE annotator_id IS NULL`).Scan(&nulls).Error; err != nil || nulls != 2 {
			t.Errorf("%d ratings with a NULL annotator (%v), want the 2 imported", nulls, err)
		}
		var walked int
		if err := s.EachCampaignRating(ctx, f.campaign.ID, func(models.QualityRating) error { walked++; return nil }); err != nil {
			t.Fatalf("quality walk over a campaign with imported ratings: %v", err)
		}
		if walked != 5 {
			t.Errorf("quality walk saw %d ratings, want the 5 given in capeval", walked)
		}
		if task, err := s.TaskOfCampaign(ctx, f.campaign.ID, f.imported.ID); err != nil || task.Origin != models.OriginImported {
			t.Errorf("TaskOfCampaign(imported) = %+v, %v", task, err)
		}
		if task, err := s.TaskOfCampaign(ctx, f.campaign.ID, f.single.ID); err != nil || task.Origin != models.OriginSelection {
			t.Errorf("TaskOfCampaign(single) origin = %+v, %v; want selection by default", task, err)
		}
		if _, err := s.TaskOfCampaign(ctx, f.campaign.ID+1, f.single.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("TaskOfCampaign of another campaign: %v, want ErrNotFound", err)
		}
	})
}

func TestAdjudicationsInForce(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := seedJudgments(t, s)
		v := func(x float64) *float64 { return &x }
		ch := func(x string) *string { return &x }
		lead := models.User{Email: "lead@example.com", Role: models.RoleLead}
		if err := s.CreateUser(ctx, &lead); err != nil {
			t.Fatal(err)
		}
		rows := []models.Adjudication{
			{TaskID: f.single.ID, Criterion: "overall", Value: v(3), Note: "first"},
			{TaskID: f.single.ID, Criterion: "overall", Value: v(3.5), Note: "second", DecidedBy: &lead.ID},
			{TaskID: f.single.ID, Criterion: "fluency", Value: v(5)},
			{TaskID: f.single.ID, Criterion: "fluency"}, // withdrawn
			{TaskID: f.pair.ID, Choice: ch("tie")},
		}
		for i := range rows {
			rows[i].CampaignID = f.campaign.ID
			if err := s.AddAdjudication(ctx, &rows[i]); err != nil {
				t.Fatalf("add %d: %v", i, err)
			}
		}
		got, err := s.AdjudicationsInForce(ctx, f.campaign.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != rows[1].ID || *got[0].Value != 3.5 || got[0].DecidedBy == nil || *got[0].DecidedBy != lead.ID ||
			got[1].ID != rows[4].ID || *got[1].Choice != "tie" {
			t.Errorf("AdjudicationsInForce = %+v", got)
		}
		hist, err := s.TaskAdjudications(ctx, f.single.ID)
		if err != nil || len(hist) != 4 || hist[0].Note != "first" {
			t.Errorf("TaskAdjudications = %+v, %v", hist, err)
		}
		for _, bad := range []models.Adjudication{
			{CampaignID: f.campaign.ID, TaskID: f.single.ID, Criterion: "overall", Value: v(3), Choice: ch("a")},
			{CampaignID: f.campaign.ID, TaskID: f.pair.ID, Criterion: "overall", Choice: ch("a")},
			{CampaignID: f.campaign.ID, TaskID: f.single.ID + 1000, Criterion: "overall", Value: v(3)},
		} {
			if err := s.AddAdjudication(ctx, &bad); !errors.Is(err, models.ErrInvalid) {
				t.Errorf("AddAdjudication(%+v) = %v, want ErrInvalid", bad, err)
			}
		}
	})
}

// An imported task is always complete (the schema holds it so), so the
// queue's pick never hands it out, even when it is the campaign's only
// task and the first in queue order.
func TestImportedTasksAreNeverPicked(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := seedJudgments(t, s)
		// Only the imported task (position 0, before every other) is left:
		// the others are filled.
		if err := s.GormDB().Exec(`UPDATE tasks SET ratings_done = ratings_wanted WHERE campaign_id = ? AND origin <> 'imported'`, f.campaign.ID).Error; err != nil {
			t.Fatal(err)
		}
		if err := s.GormDB().Exec(`UPDATE tasks SET position = 0 WHERE id = ?`, f.imported.ID).Error; err != nil {
			t.Fatal(err)
		}
		other := models.User{Email: "new@example.com", Role: models.RoleAnnotator}
		if err := s.CreateUser(ctx, &other); err != nil {
			t.Fatal(err)
		}
		err := s.InTx(ctx, func(tx *models.Store) error {
			task, err := tx.PickOpenTask(ctx, models.PickQuery{CampaignID: f.campaign.ID, AnnotatorID: other.ID, Now: time.Now().UTC()})
			if err == nil {
				t.Errorf("the queue handed out task %d (origin %s)", task.ID, task.Origin)
			}
			if !errors.Is(err, models.ErrNotFound) {
				return err
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// And the schema refuses to reopen it.
		if err := s.GormDB().Exec(`UPDATE tasks SET ratings_wanted = ratings_wanted + 1 WHERE id = ?`, f.imported.ID).Error; err == nil {
			t.Error("an imported task was reopened")
		}
	})
}
