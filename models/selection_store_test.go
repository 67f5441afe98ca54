package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"capeval/models"
	"capeval/models/modelstest"
)

// TestTasksWithLinks: tasks and their caption links are inserted together,
// read back in queue order, and a replacement deletes only the untouched
// ones (no rating, no live lease).
func TestTasksWithLinks(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		_, captions, err := loadCampaign(ctx, s, "a", 4, 1, 2)
		if err != nil {
			t.Fatal(err)
		}
		b := captions[4].ID
		task := func(c models.Caption, kind models.TaskKind, wanted, pos int) models.Task {
			return models.Task{CampaignID: 1, ImageID: c.ImageID, Kind: kind, CaptionID: &c.ID, RatingsWanted: wanted, Seed: 9, Position: pos}
		}
		pair := task(captions[1], models.TaskPair, 1, 1)
		pair.CaptionBID = &b
		tasks := []models.Task{
			task(captions[0], models.TaskSingle, 2, 3),
			pair,
			{CampaignID: 1, ImageID: captions[2].ImageID, Kind: models.TaskSingle, RatingsWanted: 1, Seed: 9, Position: 2, IsGold: true,
				GoldAnswer: models.JSON(`{"kind":"known_good"}`)},
			task(captions[3], models.TaskSingle, 1, 4),
		}
		links := [][]models.TaskCaption{
			{{CaptionID: captions[0].ID}, {CaptionID: captions[5].ID}},
			{{CaptionID: captions[1].ID, Side: 0}, {CaptionID: captions[4].ID, Side: 1}},
		}
		if err := s.InsertTasks(ctx, tasks, links); err != nil {
			t.Fatal(err)
		}
		got, err := s.CampaignTasks(ctx, 1, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 4 || got[0].ID != tasks[1].ID || got[1].ID != tasks[2].ID || got[2].ID != tasks[0].ID {
			t.Fatalf("tasks not in queue order: %+v", got)
		}
		if len(got[0].Captions) != 2 || got[0].Captions[1] != (models.TaskCaption{TaskID: tasks[1].ID, CaptionID: captions[4].ID, Side: 1}) ||
			len(got[1].Captions) != 0 || len(got[2].Captions) != 2 || string(got[1].GoldAnswer) != `{"kind":"known_good"}` {
			t.Errorf("links %+v", got)
		}
		if got[0].TextA != captions[1].Text || got[0].TextB != captions[4].Text || got[1].TextA != "" || got[2].TextB != "" {
			t.Errorf("shown texts %q/%q, gold %q, single B %q", got[0].TextA, got[0].TextB, got[1].TextA, got[2].TextB)
		}
		// Links added to an existing task; one that exists is a conflict
		// and nothing of its batch is kept.
		if err := s.LinkTaskCaptions(ctx, []models.TaskCaption{{TaskID: tasks[3].ID, CaptionID: captions[5].ID}}); err != nil {
			t.Fatal(err)
		}
		dup := []models.TaskCaption{{TaskID: tasks[3].ID, CaptionID: captions[4].ID}, {TaskID: tasks[3].ID, CaptionID: captions[5].ID}}
		if err := s.LinkTaskCaptions(ctx, dup); !errors.Is(err, models.ErrConflict) {
			t.Errorf("link twice: %v", err)
		}
		if got, _ := s.CampaignTasks(ctx, 1, time.Now()); len(got[3].Captions) != 1 {
			t.Errorf("task links after a refused batch: %+v", got[3].Captions)
		}
		// A link to a missing caption: nothing of the batch remains.
		bad := []models.Task{task(captions[0], models.TaskSingle, 1, 0)}
		if err := s.InsertTasks(ctx, bad, [][]models.TaskCaption{{{CaptionID: 99999}}}); !errors.Is(err, models.ErrInvalid) {
			t.Errorf("bad link: %v", err)
		}
		if got, _ := s.CampaignTasks(ctx, 1, time.Now()); len(got) != 4 {
			t.Errorf("%d tasks after a refused insert", len(got))
		}

		// Rate the first task, lease the second until later and the third
		// until earlier.
		u := &models.User{Email: "ann@example.com", Role: models.RoleAnnotator}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		db := s.GormDB()
		now := time.Now().UTC()
		if err := db.Create(&models.Rating{TaskID: tasks[0].ID, AnnotatorID: u.ID, Answers: models.JSON(`{}`), ClientID: "c"}).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Create(&models.Lease{TaskID: tasks[1].ID, AnnotatorID: u.ID, ExpiresAt: now.Add(time.Hour)}).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Create(&models.Lease{TaskID: tasks[2].ID, AnnotatorID: u.ID, ExpiresAt: now.Add(-time.Hour)}).Error; err != nil {
			t.Fatal(err)
		}
		got, err = s.CampaignTasks(ctx, 1, now)
		if err != nil {
			t.Fatal(err)
		}
		touched := map[int64]bool{}
		for _, task := range got {
			touched[task.ID] = task.Touched
		}
		if !touched[tasks[0].ID] || !touched[tasks[1].ID] || touched[tasks[2].ID] || touched[tasks[3].ID] {
			t.Errorf("touched %v", touched)
		}
		// Only the given tasks of the campaign, and only the untouched ones
		// among them; the lock is a no-op on SQLite and holds on PostgreSQL.
		all := []int64{tasks[0].ID, tasks[1].ID, tasks[2].ID, tasks[3].ID}
		if n, err := s.DeleteUntouchedTasks(ctx, 2, all, now); err != nil || n != 0 {
			t.Fatalf("deleted %d, %v from another campaign; want 0", n, err)
		}
		var n int64
		err = s.InTx(ctx, func(tx *models.Store) error {
			if err := tx.LockCampaignTasks(ctx, 1); err != nil {
				return err
			}
			n, err = tx.DeleteUntouchedTasks(ctx, 1, all, now)
			return err
		})
		if err != nil || n != 2 {
			t.Fatalf("deleted %d, %v; want 2", n, err)
		}
		got, _ = s.CampaignTasks(ctx, 1, now)
		if len(got) != 2 || got[0].ID != tasks[1].ID || got[1].ID != tasks[0].ID || len(got[1].Captions) != 2 {
			t.Errorf("after delete: %+v", got)
		}
		// Once the lease has expired, the leased task is untouched too.
		if n, err := s.DeleteUntouchedTasks(ctx, 1, all, now.Add(2*time.Hour)); err != nil || n != 1 {
			t.Errorf("deleted %d, %v; want the formerly leased task", n, err)
		}
	})
}
