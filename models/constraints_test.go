package models_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"capeval/models"
	"capeval/models/modelstest"
)

// fixture is one of every row, linked: a campaign with an image, a reference,
// a captioner with two captions, a task, a lease and a rating.
type fixture struct {
	admin, annotator   models.User
	campaign           models.Campaign
	image              models.Image
	captioner          models.Captioner
	captionA, captionB models.Caption
	task, pairTask     models.Task
	lease              models.Lease
	rating             models.Rating
	job                models.EvalJob
	audit              models.AuditEntry
	score              models.Score
	captionerScore     models.CaptionerScore
	reference          models.Reference
	member             models.CampaignAnnotator
}

func seedFixture(t *testing.T, s *models.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	db := s.GormDB()
	f := &fixture{}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("seed %s: %v", what, err)
		}
	}
	f.admin = models.User{Email: "admin@example.com", Role: models.RoleAdmin}
	must("admin", s.CreateUser(ctx, &f.admin))
	f.annotator = models.User{Email: "ann@example.com", Role: models.RoleAnnotator}
	must("annotator", s.CreateUser(ctx, &f.annotator))
	f.campaign = models.Campaign{Name: "c1", Mode: models.ModePairwise, CreatedBy: &f.admin.ID}
	must("campaign", s.CreateCampaign(ctx, &f.campaign))
	f.member = models.CampaignAnnotator{CampaignID: f.campaign.ID, UserID: f.annotator.ID}
	must("member", db.Create(&f.member).Error)
	imgs := []models.Image{{CampaignID: f.campaign.ID, ExternalID: "img-1", SHA256: "ab", Width: 4, Height: 3, Tags: models.JSON(`["red"]`)}}
	must("image", s.InsertImages(ctx, imgs))
	f.image = imgs[0]
	refs := []models.Reference{{ImageID: f.image.ID, Position: 0, Text: "a red square"}}
	must("reference", s.InsertReferences(ctx, refs))
	f.reference = refs[0]
	f.captioner = models.Captioner{CampaignID: f.campaign.ID, Name: "m", Version: "1"}
	must("captioner", s.CreateCaptioner(ctx, &f.captioner))
	other := models.Captioner{CampaignID: f.campaign.ID, Name: "m", Version: "2"}
	must("captioner v2", s.CreateCaptioner(ctx, &other))
	caps := []models.Caption{
		{CaptionerID: f.captioner.ID, ImageID: f.image.ID, Text: "a square"},
		{CaptionerID: other.ID, ImageID: f.image.ID, Text: "a circle"},
	}
	must("captions", s.InsertCaptions(ctx, caps))
	f.captionA, f.captionB = caps[0], caps[1]
	f.score = models.Score{CaptionID: f.captionA.ID, Metric: "CIDEr", Value: 1.25, MetricVersion: "1"}
	must("score", db.Create(&f.score).Error)
	f.captionerScore = models.CaptionerScore{CaptionerID: f.captioner.ID, Metric: "CIDEr", Value: 1.25, N: 1}
	must("captioner score", db.Create(&f.captionerScore).Error)
	f.job = models.EvalJob{CampaignID: f.campaign.ID, Kind: "text", Status: models.JobQueued}
	must("job", db.Create(&f.job).Error)
	f.task = models.Task{CampaignID: f.campaign.ID, ImageID: f.image.ID, Kind: models.TaskSingle, CaptionID: &f.captionA.ID, RatingsWanted: 1}
	must("task", db.Create(&f.task).Error)
	f.pairTask = models.Task{CampaignID: f.campaign.ID, ImageID: f.image.ID, Kind: models.TaskPair, CaptionID: &f.captionA.ID, CaptionBID: &f.captionB.ID, RatingsWanted: 3, Seed: 42}
	must("pair task", db.Create(&f.pairTask).Error)
	f.lease = models.Lease{TaskID: f.task.ID, AnnotatorID: f.annotator.ID, ExpiresAt: time.Now().UTC().Add(time.Hour)}
	must("lease", db.Create(&f.lease).Error)
	f.rating = models.Rating{TaskID: f.task.ID, AnnotatorID: f.annotator.ID, Answers: models.JSON(`{"overall":4}`), ClientID: "c-1", DurationMS: 1500}
	must("rating", db.Create(&f.rating).Error)
	f.audit = models.AuditEntry{ActorID: &f.admin.ID, CampaignID: &f.campaign.ID, Action: "thresholds.update",
		Before: models.JSON(`{"k":3}`), After: models.JSON(`{"k":5}`)}
	must("audit", db.Create(&f.audit).Error)
	return f
}

func TestConstraints(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := seedFixture(t, s)
		ctx := context.Background()
		db := s.GormDB()
		ptr := func(v int64) *int64 { return &v }
		tests := []struct {
			name  string
			write func() error
			want  error // nil: the write must succeed
		}{
			{"campaign name unique", func() error {
				return s.CreateCampaign(ctx, &models.Campaign{Name: "c1", Mode: models.ModeLikert})
			}, models.ErrConflict},
			{"campaign mode checked", func() error {
				return s.CreateCampaign(ctx, &models.Campaign{Name: "c2", Mode: "ranking"})
			}, models.ErrInvalid},
			{"campaign status checked", func() error {
				return s.CreateCampaign(ctx, &models.Campaign{Name: "c3", Mode: models.ModeLikert, Status: "archived"})
			}, models.ErrInvalid},
			{"campaign annotator once", func() error {
				return db.Create(&models.CampaignAnnotator{CampaignID: f.campaign.ID, UserID: f.annotator.ID}).Error
			}, models.ErrConflict},
			{"image external id unique per campaign", func() error {
				return s.InsertImages(ctx, []models.Image{{CampaignID: f.campaign.ID, ExternalID: "img-1"}})
			}, models.ErrConflict},
			{"image of a missing campaign", func() error {
				return s.InsertImages(ctx, []models.Image{{CampaignID: 1 << 40, ExternalID: "x"}})
			}, models.ErrInvalid},
			{"image tags must be JSON", func() error {
				return db.Exec("INSERT INTO images (campaign_id, external_id, tags, created_at) VALUES (?, 'y', '{oops', ?)",
					f.campaign.ID, time.Now().UTC()).Error
			}, models.ErrInvalid},
			{"reference position unique per image", func() error {
				return s.InsertReferences(ctx, []models.Reference{{ImageID: f.image.ID, Position: 0, Text: "again"}})
			}, models.ErrConflict},
			{"captioner name and version unique per campaign", func() error {
				return s.CreateCaptioner(ctx, &models.Captioner{CampaignID: f.campaign.ID, Name: "m", Version: "1"})
			}, models.ErrConflict},
			{"one caption per captioner and image", func() error {
				return s.InsertCaptions(ctx, []models.Caption{{CaptionerID: f.captioner.ID, ImageID: f.image.ID, Text: "dup"}})
			}, models.ErrConflict},
			{"one score per caption and metric", func() error {
				return db.Create(&models.Score{CaptionID: f.captionA.ID, Metric: "CIDEr", Value: 2}).Error
			}, models.ErrConflict},
			{"one aggregate per captioner and metric", func() error {
				return db.Create(&models.CaptionerScore{CaptionerID: f.captioner.ID, Metric: "CIDEr", Value: 2}).Error
			}, models.ErrConflict},
			{"job status checked", func() error {
				return db.Create(&models.EvalJob{CampaignID: f.campaign.ID, Kind: "text", Status: "paused"}).Error
			}, models.ErrInvalid},
			{"embedding length matches dim", func() error {
				return db.Create(&models.Embedding{ModelKey: "k", Kind: models.EmbeddingText, ContentHash: "h", Dim: 3, Vector: make([]byte, 8)}).Error
			}, models.ErrInvalid},
			{"embedding kind checked", func() error {
				return db.Create(&models.Embedding{ModelKey: "k", Kind: "audio", ContentHash: "h", Dim: 1, Vector: make([]byte, 4)}).Error
			}, models.ErrInvalid},
			{"single task has no second caption", func() error {
				return db.Create(&models.Task{CampaignID: f.campaign.ID, ImageID: f.image.ID, Kind: models.TaskSingle, CaptionID: &f.captionA.ID, CaptionBID: &f.captionB.ID, RatingsWanted: 1}).Error
			}, models.ErrInvalid},
			{"pair task needs a second caption", func() error {
				return db.Create(&models.Task{CampaignID: f.campaign.ID, ImageID: f.image.ID, Kind: models.TaskPair, CaptionID: &f.captionA.ID, RatingsWanted: 1}).Error
			}, models.ErrInvalid},
			{"pair task compares two different captions", func() error {
				return db.Create(&models.Task{CampaignID: f.campaign.ID, ImageID: f.image.ID, Kind: models.TaskPair, CaptionID: &f.captionA.ID, CaptionBID: ptr(f.captionA.ID), RatingsWanted: 1}).Error
			}, models.ErrInvalid},
			{"task wants at least one rating", func() error {
				return db.Create(&models.Task{CampaignID: f.campaign.ID, ImageID: f.image.ID, Kind: models.TaskSingle, CaptionID: &f.captionA.ID, RatingsWanted: 0}).Error
			}, models.ErrInvalid},
			{"a regular task shows a caption", func() error {
				return db.Create(&models.Task{CampaignID: f.campaign.ID, ImageID: f.image.ID, Kind: models.TaskSingle, RatingsWanted: 1}).Error
			}, models.ErrInvalid},
			{"a gold task borrows no caption", func() error {
				return db.Create(&models.Task{CampaignID: f.campaign.ID, ImageID: f.image.ID, Kind: models.TaskSingle, CaptionID: &f.captionA.ID,
					RatingsWanted: 1, IsGold: true, GoldAnswer: models.JSON(`{"kind":"known_good"}`)}).Error
			}, models.ErrInvalid},
			{"a gold task carries only its image", func() error {
				return db.Create(&models.Task{CampaignID: f.campaign.ID, ImageID: f.image.ID, Kind: models.TaskPair,
					RatingsWanted: 1, IsGold: true, GoldAnswer: models.JSON(`{"kind":"known_pair"}`)}).Error
			}, nil},
			{"a task's image exists", func() error {
				return db.Create(&models.Task{CampaignID: f.campaign.ID, ImageID: 1 << 40, Kind: models.TaskSingle, CaptionID: &f.captionA.ID, RatingsWanted: 1}).Error
			}, models.ErrInvalid},
			{"task never holds more ratings than wanted", func() error {
				return db.Model(&models.Task{}).Where("id = ?", f.task.ID).
					Update("ratings_done", gorm.Expr("ratings_done + 2")).Error
			}, models.ErrInvalid},
			{"one lease per task and annotator", func() error {
				return db.Create(&models.Lease{TaskID: f.task.ID, AnnotatorID: f.annotator.ID, ExpiresAt: time.Now().UTC()}).Error
			}, models.ErrConflict},
			{"an annotator rates a task once", func() error {
				return db.Create(&models.Rating{TaskID: f.task.ID, AnnotatorID: f.annotator.ID, Answers: models.JSON(`{}`), ClientID: "c-2"}).Error
			}, models.ErrConflict},
			{"a client id is used once per annotator", func() error {
				return db.Create(&models.Rating{TaskID: f.pairTask.ID, AnnotatorID: f.annotator.ID, Answers: models.JSON(`{}`), ClientID: "c-1"}).Error
			}, models.ErrConflict},
			{"the same client id from another annotator is fine", func() error {
				return db.Create(&models.Rating{TaskID: f.pairTask.ID, AnnotatorID: f.admin.ID, Answers: models.JSON(`{"choice":"A"}`), ClientID: "c-1", ShownPosition: 1}).Error
			}, nil},
			{"shown position is 0 or 1", func() error {
				return db.Create(&models.Rating{TaskID: f.pairTask.ID, AnnotatorID: f.annotator.ID, Answers: models.JSON(`{}`), ClientID: "c-3", ShownPosition: 2}).Error
			}, models.ErrInvalid},
			{"rating answers must be JSON", func() error {
				return db.Exec("INSERT INTO ratings (task_id, annotator_id, answers, client_id, created_at) VALUES (?, ?, 'not json', 'c-4', ?)",
					f.pairTask.ID, f.annotator.ID, time.Now().UTC()).Error
			}, models.ErrInvalid},
			{"audit entry needs an action", func() error {
				return db.Create(&models.AuditEntry{Action: ""}).Error
			}, models.ErrInvalid},
			{"a user with ratings cannot be deleted", func() error {
				return db.Exec("DELETE FROM users WHERE id = ?", f.annotator.ID).Error
			}, models.ErrInvalid},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := models.Classify(tt.write())
				if tt.want == nil {
					if err != nil {
						t.Fatalf("write failed: %v", err)
					}
					return
				}
				if !errors.Is(err, tt.want) {
					t.Fatalf("write = %v, want %v", err, tt.want)
				}
			})
		}
	})
}

// Human work is never deleted by a cascade: a delete of what a rated task
// holds (its captions, their captioners, its image, its campaign) is
// refused, by the store with a message that says what holds it, and by the
// schema for a raw DELETE; the rating and its task stay.
func TestDeletesKeepRatings(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := seedFixture(t, s)
		ctx := context.Background()
		db := s.GormDB()
		tests := []struct {
			name  string
			store func() error
			raw   string
			msg   string
		}{
			{"caption", func() error { return s.DeleteCaption(ctx, f.captionA.ID) },
				"DELETE FROM captions WHERE id = ?", fmt.Sprintf("caption %d has 1 ratings on 1 tasks: archive the campaign", f.captionA.ID)},
			{"captioner", func() error { return s.DeleteCaptioner(ctx, f.captioner.ID) },
				"DELETE FROM captioners WHERE id = ?", fmt.Sprintf("captioner %d has 1 ratings on 1 tasks: archive the campaign", f.captioner.ID)},
			{"image", func() error { return s.DeleteImage(ctx, f.image.ID) },
				"DELETE FROM images WHERE id = ?", fmt.Sprintf("image %d has 1 ratings on 1 tasks: archive the campaign", f.image.ID)},
			{"campaign", func() error { return s.DeleteCampaign(ctx, f.campaign.ID) },
				"DELETE FROM campaigns WHERE id = ?", fmt.Sprintf("campaign %d has 1 ratings on 1 tasks: archive it", f.campaign.ID)},
			{"task", nil, "DELETE FROM tasks WHERE id = ?", ""},
		}
		ids := map[string]int64{"caption": f.captionA.ID, "captioner": f.captioner.ID, "image": f.image.ID,
			"campaign": f.campaign.ID, "task": f.task.ID}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if tt.store != nil {
					err := tt.store()
					if !errors.Is(err, models.ErrHeld) || !strings.Contains(err.Error(), tt.msg) {
						t.Errorf("store delete = %v, want ErrHeld saying %q", err, tt.msg)
					}
				}
				if err := models.Classify(db.Exec(tt.raw, ids[tt.name]).Error); !errors.Is(err, models.ErrInvalid) {
					t.Errorf("%s = %v, want the schema to refuse it (ErrInvalid)", tt.raw, err)
				}
				var n int64
				if err := db.Table("ratings").Where("id = ? AND task_id = ?", f.rating.ID, f.task.ID).Count(&n).Error; err != nil || n != 1 {
					t.Errorf("the rating is gone (%d, %v)", n, err)
				}
				if err := db.Table("tasks").Where("id IN ?", []int64{f.task.ID, f.pairTask.ID}).Count(&n).Error; err != nil || n != 2 {
					t.Errorf("%d of the 2 tasks left (%v)", n, err)
				}
			})
		}
		if err := s.DeleteCaptioner(ctx, 1<<40); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("delete a missing captioner: %v", err)
		}
	})
}

// What no rating holds can be deleted: the unrated tasks that hold it go
// with it (and their leases and links), the rated ones stay; a campaign
// without ratings is deleted with everything in it, its audit trail kept
// with the campaign link cleared, and the users kept.
func TestDeletesWithoutRatings(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := seedFixture(t, s)
		ctx := context.Background()
		db := s.GormDB()
		count := func(table string) int64 {
			t.Helper()
			var n int64
			if err := db.Table(table).Count(&n).Error; err != nil {
				t.Fatalf("count %s: %v", table, err)
			}
			return n
		}
		// captionB's captioner: only the unrated pair task holds it.
		if err := s.DeleteCaptioner(ctx, f.captionB.CaptionerID); err != nil {
			t.Fatalf("delete the captioner of the unrated pair: %v", err)
		}
		if got := count("tasks"); got != 1 {
			t.Errorf("%d tasks after deleting the pair's captioner, want the rated one only", got)
		}
		if got := count("captions"); got != 1 {
			t.Errorf("%d captions left, want 1", got)
		}
		if err := s.DeleteCampaign(ctx, f.campaign.ID); !errors.Is(err, models.ErrHeld) {
			t.Fatalf("delete the rated campaign: %v", err)
		}
		if err := db.Exec("DELETE FROM ratings WHERE id = ?", f.rating.ID).Error; err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteCampaign(ctx, f.campaign.ID); err != nil {
			t.Fatalf("delete a campaign without ratings: %v", err)
		}
		tests := []struct {
			table string
			want  int64
		}{
			{"campaigns", 0}, {"campaign_annotators", 0}, {"images", 0}, {"image_references", 0},
			{"captioners", 0}, {"captions", 0}, {"scores", 0}, {"captioner_scores", 0}, {"eval_jobs", 0},
			{"tasks", 0}, {"task_captions", 0}, {"leases", 0}, {"ratings", 0}, {"users", 2}, {"audit_entries", 1},
		}
		for _, tt := range tests {
			if n := count(tt.table); n != tt.want {
				t.Errorf("%s: %d rows after deleting the campaign, want %d", tt.table, n, tt.want)
			}
		}
		var audit models.AuditEntry
		if err := db.Take(&audit, f.audit.ID).Error; err != nil {
			t.Fatal(err)
		}
		if audit.CampaignID != nil || audit.ActorID == nil || string(audit.After) != `{"k":5}` {
			t.Errorf("audit entry after the delete = %+v, want campaign cleared, actor and values kept", audit)
		}
		// A user without ratings can go, and takes their memberships along.
		if err := db.Exec("DELETE FROM users WHERE id = ?", f.annotator.ID).Error; err != nil {
			t.Errorf("delete a user without ratings: %v", err)
		}
	})
}
