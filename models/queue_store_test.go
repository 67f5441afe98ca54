package models_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"capeval/models"
	"capeval/models/modelstest"
)

// queueFixture is a collecting campaign with n single tasks (position i+1,
// ratings_wanted wanted) and three annotators.
type queueFixture struct {
	campaign models.Campaign
	image    models.Image
	tasks    []models.Task
	ann      [3]models.User
}

func seedQueue(t *testing.T, s *models.Store, n, wanted int) *queueFixture {
	t.Helper()
	ctx := context.Background()
	f := &queueFixture{}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("seed %s: %v", what, err)
		}
	}
	for i := range f.ann {
		f.ann[i] = models.User{Email: fmt.Sprintf("ann%d@example.com", i), Role: models.RoleAnnotator}
		must("annotator", s.CreateUser(ctx, &f.ann[i]))
	}
	f.campaign = models.Campaign{Name: "q", Mode: models.ModeLikert, Status: models.StatusCollecting}
	must("campaign", s.CreateCampaign(ctx, &f.campaign))
	imgs := []models.Image{{CampaignID: f.campaign.ID, ExternalID: "i", SHA256: strings.Repeat("a", 64), StorageKey: "aa/" + strings.Repeat("a", 64) + ".png"}}
	must("image", s.InsertImages(ctx, imgs))
	f.image = imgs[0]
	k := models.Captioner{CampaignID: f.campaign.ID, Name: "m"}
	must("captioner", s.CreateCaptioner(ctx, &k))
	caps := []models.Caption{{CaptionerID: k.ID, ImageID: f.image.ID, Text: "a caption"}}
	must("caption", s.InsertCaptions(ctx, caps))
	for i := range n {
		f.tasks = append(f.tasks, models.Task{CampaignID: f.campaign.ID, ImageID: f.image.ID, Kind: models.TaskSingle,
			CaptionID: &caps[0].ID, RatingsWanted: wanted, Position: i + 1})
	}
	must("tasks", s.InsertTasks(ctx, f.tasks, nil))
	return f
}

func TestPickOpenTaskOrderAndExclusions(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := seedQueue(t, s, 4, 2)
		now := time.Now().UTC()
		pick := func(ann int, exclude ...int64) int64 {
			t.Helper()
			var id int64
			err := s.InTx(ctx, func(tx *models.Store) error {
				task, err := tx.PickOpenTask(ctx, models.PickQuery{CampaignID: f.campaign.ID, AnnotatorID: f.ann[ann].ID, Now: now, Exclude: exclude})
				if errors.Is(err, models.ErrNotFound) {
					return nil
				}
				if err != nil {
					return err
				}
				id = task.ID
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		t1, t2, t3, t4 := f.tasks[0].ID, f.tasks[1].ID, f.tasks[2].ID, f.tasks[3].ID
		if got := pick(0); got != t1 {
			t.Fatalf("first pick = %d, want task %d (lowest position)", got, t1)
		}
		if got := pick(0, t1); got != t2 {
			t.Errorf("pick excluding %d = %d, want %d", t1, got, t2)
		}
		// Annotators 0 and 1 lease task 1: it wants 2, so annotator 2
		// cannot have it; annotator 0 holds it already, so not for it either.
		for _, a := range []int{0, 1} {
			if _, err := s.TakeLease(ctx, t1, f.ann[a].ID, now, now.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		if got := pick(2); got != t2 {
			t.Errorf("pick with task 1 fully leased = %d, want %d", got, t2)
		}
		if got := pick(0); got != t2 {
			t.Errorf("pick by a holder of task 1 = %d, want %d", got, t2)
		}
		// A rating on task 2 moves it after the unrated ones; an expired
		// lease counts for nothing.
		if err := s.AddRating(ctx, &models.Rating{TaskID: t2, AnnotatorID: f.ann[0].ID, Answers: models.JSON(`{"overall":3}`), ClientID: "c1"}); err != nil {
			t.Fatal(err)
		}
		if got := pick(2); got != t3 {
			t.Errorf("pick after a rating of task 2 = %d, want %d (fewest ratings first)", got, t3)
		}
		if _, err := s.TakeLease(ctx, t3, f.ann[0].ID, now.Add(-time.Hour), now.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TakeLease(ctx, t3, f.ann[1].ID, now.Add(-time.Hour), now.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got := pick(2); got != t3 {
			t.Errorf("pick with expired leases on task 3 = %d, want %d", got, t3)
		}
		// A skip or a rating by this annotator removes a task for it only.
		if _, err := s.AddSkip(ctx, &models.Skip{TaskID: t3, AnnotatorID: f.ann[2].ID, Reason: models.SkipCantJudge}); err != nil {
			t.Fatal(err)
		}
		if got := pick(2); got != t4 {
			t.Errorf("pick after skipping task 3 = %d, want %d", got, t4)
		}
		if got := pick(1, t4); got != t3 {
			t.Errorf("annotator 1's pick = %d, want %d", got, t3)
		}
		if got := pick(0, t3, t4); got != 0 {
			t.Errorf("annotator 0, who rated 2 and holds 1, excluding 3 and 4 got %d, want none", got)
		}
	})
}

func TestAddRatingCountsAndRefusesOverfill(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := seedQueue(t, s, 1, 2)
		task := f.tasks[0].ID
		now := time.Now().UTC()
		if _, err := s.TakeLease(ctx, task, f.ann[0].ID, now, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		choice := "a"
		for i, c := range []struct {
			ann     int
			client  string
			wantErr error
		}{
			{0, "x", nil},
			{0, "y", models.ErrConflict}, // rated twice
			{1, "x", nil},                // client IDs are per annotator
			{2, "z", models.ErrTaskFull}, // the task has its 2
			{1, "x", models.ErrConflict}, // same client ID again
		} {
			err := s.AddRating(ctx, &models.Rating{TaskID: task, AnnotatorID: f.ann[c.ann].ID, Choice: &choice, ClientID: c.client})
			if !errors.Is(err, c.wantErr) || (c.wantErr == nil) != (err == nil) {
				t.Errorf("rating %d: err = %v, want %v", i, err, c.wantErr)
			}
		}
		var got models.Task
		if err := s.GormDB().Take(&got, task).Error; err != nil {
			t.Fatal(err)
		}
		if got.RatingsDone != 2 {
			t.Errorf("ratings_done = %d, want 2", got.RatingsDone)
		}
		if _, err := s.LeaseOf(ctx, task, f.ann[0].ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("lease after the rating: %v, want it deleted", err)
		}
	})
}

func TestTakeLeaseKeepsOrRestartsTheHold(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := seedQueue(t, s, 1, 3)
		task := f.tasks[0].ID
		t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
		l, err := s.TakeLease(ctx, task, f.ann[0].ID, t0, t0.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if !l.TakenAt.Equal(t0) || !l.ExpiresAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("lease = %+v", l)
		}
		// Taken again while live: the hold keeps its start.
		l2, err := s.TakeLease(ctx, task, f.ann[0].ID, t0.Add(30*time.Second), t0.Add(2*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if l2.ID != l.ID || !l2.TakenAt.Equal(t0) || !l2.ExpiresAt.Equal(t0.Add(2*time.Minute)) {
			t.Errorf("renewed lease = %+v, want the same hold until +2m", l2)
		}
		// Taken again after expiry: a new hold.
		t1 := t0.Add(time.Hour)
		l3, err := s.TakeLease(ctx, task, f.ann[0].ID, t1, t1.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if !l3.TakenAt.Equal(t1) {
			t.Errorf("lease taken after expiry starts at %v, want %v", l3.TakenAt, t1)
		}
		if _, err := s.TakeLease(ctx, task, f.ann[1].ID, t1.Add(time.Second), t1.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			ann    int
			before *models.Lease
			want   int64
		}{{0, nil, 1}, {1, nil, 1}, {2, nil, 2}, {0, l3, 0}} {
			n, err := s.OtherLiveLeases(ctx, task, f.ann[c.ann].ID, t1.Add(2*time.Second), c.before)
			if err != nil || n != c.want {
				t.Errorf("OtherLiveLeases(ann %d, before %v) = %d, %v; want %d", c.ann, c.before != nil, n, err, c.want)
			}
		}
		n, err := s.PurgeExpiredLeases(ctx, t1.Add(2*time.Hour), 10)
		if err != nil || n != 2 {
			t.Errorf("PurgeExpiredLeases = %d, %v; want 2", n, err)
		}
	})
}

func TestAddSkipSetsAsideOnTheSecondBrokenImage(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := seedQueue(t, s, 1, 3)
		task := f.tasks[0].ID
		for i, c := range []struct {
			ann     int
			reason  models.SkipReason
			note    string
			want    bool
			wantErr error
		}{
			{0, models.SkipImageBroken, "", false, nil},
			{0, models.SkipImageBroken, "", false, models.ErrConflict},
			{1, models.SkipOther, "", false, models.ErrInvalid}, // free text needs its text
			{1, models.SkipCantJudge, "", false, nil},
			{2, models.SkipImageBroken, "black", true, nil},
		} {
			aside, err := s.AddSkip(ctx, &models.Skip{TaskID: task, AnnotatorID: f.ann[c.ann].ID, Reason: c.reason, Note: c.note})
			if aside != c.want || !errors.Is(err, c.wantErr) || (c.wantErr == nil) != (err == nil) {
				t.Errorf("skip %d: set aside %v, err %v; want %v, %v", i, aside, err, c.want, c.wantErr)
			}
		}
		var got models.Task
		if err := s.GormDB().Take(&got, task).Error; err != nil {
			t.Fatal(err)
		}
		if got.SetAsideAt == nil {
			t.Error("task not set aside after two image_broken skips")
		}
	})
}

// The pick reads the partial index in its order (no sort), whatever the
// number of finished tasks.
func TestPickOpenTaskUsesTheOpenIndex(t *testing.T) {
	s := modelstest.NewStore(t)
	ctx := context.Background()
	f := seedQueue(t, s, 3, 1)
	for _, c := range []struct {
		q    models.PickQuery
		want string
	}{
		{models.PickQuery{CampaignID: f.campaign.ID, AnnotatorID: f.ann[0].ID, Now: time.Now()}, "tasks_open_idx"},
		{models.PickQuery{CampaignID: f.campaign.ID, AnnotatorID: f.ann[0].ID, Now: time.Now(), Exclude: []int64{1}}, "tasks_open_idx"},
		{models.PickQuery{CampaignID: f.campaign.ID, AnnotatorID: f.ann[0].ID, Now: time.Now(), GoldOnly: true}, "tasks_open_gold_idx"},
	} {
		plan, err := s.PickPlan(ctx, c.q)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, "USING INDEX "+c.want) || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%+v: plan %q, want a walk of %s without a sort", c.q, plan, c.want)
		}
	}
}
