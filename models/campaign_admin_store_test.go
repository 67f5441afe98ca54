package models_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"capeval/models"
	"capeval/models/modelstest"
)

// seedCampaign creates a campaign with images, captioners, captions and
// tasks in the given numbers and returns it.
func seedAdminCampaign(t *testing.T, s *models.Store, name string, images, captioners, tasks int) *models.Campaign {
	t.Helper()
	ctx := context.Background()
	c := &models.Campaign{Name: name, Mode: models.ModeLikert}
	if err := s.CreateCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	imgs := make([]models.Image, images)
	for i := range imgs {
		imgs[i] = models.Image{CampaignID: c.ID, ExternalID: string(rune('a' + i))}
	}
	if err := s.InsertImages(ctx, imgs); err != nil {
		t.Fatal(err)
	}
	var captions []models.Caption
	for k := 0; k < captioners; k++ {
		capt := &models.Captioner{CampaignID: c.ID, Name: "m", Version: string(rune('0' + k))}
		if err := s.CreateCaptioner(ctx, capt); err != nil {
			t.Fatal(err)
		}
		rows := make([]models.Caption, len(imgs))
		for i := range imgs {
			rows[i] = models.Caption{CaptionerID: capt.ID, ImageID: imgs[i].ID, Text: "a caption"}
		}
		if err := s.InsertCaptions(ctx, rows); err != nil {
			t.Fatal(err)
		}
		captions = append(captions, rows...)
	}
	for i := 0; i < tasks; i++ {
		task := models.Task{CampaignID: c.ID, ImageID: captions[i].ImageID, Kind: models.TaskSingle, CaptionID: &captions[i].ID, RatingsWanted: 1}
		if err := s.GormDB().Create(&task).Error; err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestCampaignSummaries(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		empty := seedAdminCampaign(t, s, "empty", 0, 0, 0)
		full := seedAdminCampaign(t, s, "full", 3, 2, 4)
		u := &models.User{Email: "ann@example.com", Role: models.RoleAnnotator}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := s.SetCampaignAnnotators(ctx, full.ID, []int64{u.ID}); err != nil {
			t.Fatal(err)
		}
		want := map[int64]models.CampaignCounts{
			empty.ID: {},
			full.ID:  {Images: 3, Captioners: 2, Captions: 6, Tasks: 4},
		}
		list, err := s.ListCampaignSummaries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != full.ID || list[1].ID != empty.ID {
			t.Fatalf("ListCampaignSummaries order = %+v, want newest (full) first", list)
		}
		for _, got := range list {
			if got.CampaignCounts != want[got.ID] {
				t.Errorf("campaign %s counts = %+v, want %+v", got.Name, got.CampaignCounts, want[got.ID])
			}
			if got.Mode != models.ModeLikert || got.Status != models.StatusDraft || got.CreatedAt.IsZero() {
				t.Errorf("campaign %s columns not scanned: %+v", got.Name, got.Campaign)
			}
		}
		if list[0].Annotators != 1 || list[1].Annotators != 0 {
			t.Errorf("annotator counts = %d, %d; want 1, 0", list[0].Annotators, list[1].Annotators)
		}
		one, err := s.CampaignSummaryByID(ctx, full.ID)
		if err != nil {
			t.Fatal(err)
		}
		if one.Name != "full" || one.CampaignCounts != want[full.ID] {
			t.Errorf("CampaignSummaryByID = %+v", one)
		}
		if _, err := s.CampaignSummaryByID(ctx, 999); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("CampaignSummaryByID(999) = %v, want ErrNotFound", err)
		}
		if _, err := s.CampaignByID(ctx, 999); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("CampaignByID(999) = %v, want ErrNotFound", err)
		}
	})
}

func TestUpdateCampaign(t *testing.T) {
	str := func(s string) *string { return &s }
	mode := func(m models.CampaignMode) *models.CampaignMode { return &m }
	status := func(st models.CampaignStatus) *models.CampaignStatus { return &st }
	tests := []struct {
		name    string
		id      int64 // 0: the seeded campaign
		ch      models.CampaignChanges
		wantErr error
		check   func(t *testing.T, c *models.Campaign)
	}{
		{name: "nothing", check: func(t *testing.T, c *models.Campaign) {
			if c.Name != "first" {
				t.Errorf("name = %q", c.Name)
			}
		}},
		{name: "every column", ch: models.CampaignChanges{
			Name: str("renamed"), Description: str("d"), Mode: mode(models.ModePairwise),
			Rubric: models.JSON(`{"criteria":[]}`), Thresholds: models.JSON(`{"top_k":3}`),
			BlendWeights: models.JSON(`{"human":1}`), Status: status(models.StatusCollecting),
		}, check: func(t *testing.T, c *models.Campaign) {
			if c.Name != "renamed" || c.Description != "d" || c.Mode != models.ModePairwise ||
				string(c.Rubric) != `{"criteria":[]}` || string(c.BlendWeights) != `{"human":1}` ||
				c.Status != models.StatusCollecting {
				t.Errorf("after update: %+v", c)
			}
			if !c.UpdatedAt.After(c.CreatedAt) {
				t.Errorf("updated_at %v not after created_at %v", c.UpdatedAt, c.CreatedAt)
			}
		}},
		{name: "JSON null clears a document", ch: models.CampaignChanges{Thresholds: models.JSON("null")},
			check: func(t *testing.T, c *models.Campaign) {
				if !c.Thresholds.IsNull() {
					t.Errorf("thresholds = %s", c.Thresholds)
				}
			}},
		{name: "duplicate name", ch: models.CampaignChanges{Name: str("second")}, wantErr: models.ErrConflict},
		{name: "unknown mode", ch: models.CampaignChanges{Mode: mode("ranking")}, wantErr: models.ErrInvalid},
		{name: "unknown status", ch: models.CampaignChanges{Status: status("archived")}, wantErr: models.ErrInvalid},
		{name: "malformed JSON", ch: models.CampaignChanges{Rubric: models.JSON(`{"a":`)}, wantErr: models.ErrInvalid},
		{name: "missing campaign", id: 999, ch: models.CampaignChanges{Name: str("x")}, wantErr: models.ErrNotFound},
	}
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := context.Background()
				if err := s.GormDB().Exec("DELETE FROM campaigns").Error; err != nil {
					t.Fatal(err)
				}
				c := &models.Campaign{Name: "first", Mode: models.ModeLikert}
				if err := s.CreateCampaign(ctx, c); err != nil {
					t.Fatal(err)
				}
				if err := s.CreateCampaign(ctx, &models.Campaign{Name: "second", Mode: models.ModeLikert}); err != nil {
					t.Fatal(err)
				}
				id := tt.id
				if id == 0 {
					id = c.ID
				}
				time.Sleep(2 * time.Millisecond) // so that updated_at moves
				err := s.UpdateCampaign(ctx, id, tt.ch)
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("UpdateCampaign = %v, want %v", err, tt.wantErr)
					}
					got, err := s.CampaignByID(ctx, c.ID)
					if err != nil {
						t.Fatal(err)
					}
					if got.Name != "first" || got.Mode != models.ModeLikert || got.Status != models.StatusDraft {
						t.Errorf("a refused update changed the row: %+v", got)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				got, err := s.CampaignByID(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, got)
			})
		}
	})
}

func TestCampaignAnnotators(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		c := seedAdminCampaign(t, s, "c", 0, 0, 0)
		var ids []int64
		for _, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
			u := &models.User{Email: email, Role: models.RoleAnnotator}
			if err := s.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, u.ID)
		}
		steps := []struct {
			name    string
			set     []int64
			want    []int64
			wantErr error
		}{
			{name: "two", set: []int64{ids[2], ids[0]}, want: []int64{ids[0], ids[2]}},
			{name: "replace", set: []int64{ids[1]}, want: []int64{ids[1]}},
			{name: "unknown user keeps the old list", set: []int64{ids[0], 999}, want: []int64{ids[1]}, wantErr: models.ErrInvalid},
			{name: "duplicate keeps the old list", set: []int64{ids[0], ids[0]}, want: []int64{ids[1]}, wantErr: models.ErrConflict},
			{name: "empty: everyone", set: nil, want: []int64{}},
		}
		for _, st := range steps {
			err := s.SetCampaignAnnotators(ctx, c.ID, st.set)
			if !errors.Is(err, st.wantErr) || (st.wantErr == nil && err != nil) {
				t.Fatalf("%s: SetCampaignAnnotators = %v, want %v", st.name, err, st.wantErr)
			}
			got, err := s.CampaignAnnotatorIDs(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(st.want) {
				t.Fatalf("%s: annotators = %v, want %v", st.name, got, st.want)
			}
			for i := range got {
				if got[i] != st.want[i] {
					t.Fatalf("%s: annotators = %v, want %v", st.name, got, st.want)
				}
			}
		}
		users, err := s.UsersByIDs(ctx, []int64{ids[2], 999, ids[0]})
		if err != nil {
			t.Fatal(err)
		}
		if len(users) != 2 || users[0].ID != ids[0] || users[1].ID != ids[2] {
			t.Errorf("UsersByIDs = %+v", users)
		}
	})
}

func TestAuditLog(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		a := seedAdminCampaign(t, s, "a", 0, 0, 0)
		b := seedAdminCampaign(t, s, "b", 0, 0, 0)
		lead := &models.User{Email: "lead@example.com", Role: models.RoleLead}
		if err := s.CreateUser(ctx, lead); err != nil {
			t.Fatal(err)
		}
		base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		entries := []models.AuditEntry{
			{ActorID: &lead.ID, CampaignID: &a.ID, Action: "campaign.thresholds", Before: models.JSON("null"), After: models.JSON(`{"k":1}`), CreatedAt: base},
			{CampaignID: &a.ID, Action: "campaign.thresholds", Before: models.JSON(`{"k":1}`), After: models.JSON(`{"k":2}`), CreatedAt: base.Add(time.Second)},
			{ActorID: &lead.ID, CampaignID: &b.ID, Action: "campaign.create", CreatedAt: base},
			// Same instant as the one before it: ID breaks the tie.
			{ActorID: &lead.ID, CampaignID: &a.ID, Action: "campaign.update", CreatedAt: base.Add(time.Second)},
		}
		for i := range entries {
			if err := s.AddAudit(ctx, &entries[i]); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.AuditLog(ctx, a.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		wantActions := []string{"campaign.update", "campaign.thresholds", "campaign.thresholds"}
		if len(got) != len(wantActions) {
			t.Fatalf("AuditLog = %d entries, want %d", len(got), len(wantActions))
		}
		for i, e := range got {
			if e.Action != wantActions[i] {
				t.Errorf("entry %d action = %s, want %s", i, e.Action, wantActions[i])
			}
		}
		if got[1].ActorID != nil || string(got[1].Before) != `{"k":1}` || string(got[1].After) != `{"k":2}` ||
			!got[1].CreatedAt.Equal(base.Add(time.Second)) {
			t.Errorf("entry read back = %+v", got[1])
		}
		if got[2].ActorID == nil || *got[2].ActorID != lead.ID {
			t.Errorf("actor not read back: %+v", got[2])
		}
		limited, err := s.AuditLog(ctx, a.ID, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(limited) != 1 || limited[0].ID != got[0].ID {
			t.Errorf("AuditLog limit 1 = %+v", limited)
		}

		// The audit row rolls back with the change it records.
		boom := errors.New("boom")
		err = s.InTx(ctx, func(tx *models.Store) error {
			if err := tx.AddAudit(ctx, &models.AuditEntry{CampaignID: &a.ID, Action: "campaign.update"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		after, err := s.AuditLog(ctx, a.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != len(got) {
			t.Errorf("a rolled-back audit entry was kept: %d entries, want %d", len(after), len(got))
		}

		for _, bad := range []models.AuditEntry{
			{CampaignID: &a.ID},
			{CampaignID: &a.ID, Action: "x", After: models.JSON(`{`)},
			{ActorID: campPtr(int64(999)), CampaignID: &a.ID, Action: "x"},
		} {
			if err := s.AddAudit(ctx, &bad); !errors.Is(err, models.ErrInvalid) {
				t.Errorf("AddAudit(%+v) = %v, want ErrInvalid", bad, err)
			}
		}
	})
}

func campPtr[T any](v T) *T { return &v }

// BenchmarkListCampaignSummaries measures the lead's campaign list: ten
// campaigns, one of them with 5,000 images × 20 captioners (100,000
// captions) and 10,000 tasks, so that the count subqueries have rows to
// walk.
func BenchmarkListCampaignSummaries(b *testing.B) {
	for _, kind := range modelstest.Stores {
		b.Run(kind, func(b *testing.B) {
			s := modelstest.New(b, kind)
			ctx := context.Background()
			const images, captioners, tasks = 5000, 20, 10000
			for n := range 10 {
				c := &models.Campaign{Name: fmt.Sprint("campaign ", n), Mode: models.ModeLikert}
				if err := s.CreateCampaign(ctx, c); err != nil {
					b.Fatal(err)
				}
				if n > 0 {
					continue
				}
				err := s.InTx(ctx, func(tx *models.Store) error {
					imgs := make([]models.Image, images)
					for i := range imgs {
						imgs[i] = models.Image{CampaignID: c.ID, ExternalID: fmt.Sprint(i)}
					}
					if err := tx.InsertImages(ctx, imgs); err != nil {
						return err
					}
					var first []models.Caption
					for k := range captioners {
						capt := &models.Captioner{CampaignID: c.ID, Name: "m", Version: fmt.Sprint(k)}
						if err := tx.CreateCaptioner(ctx, capt); err != nil {
							return err
						}
						rows := make([]models.Caption, images)
						for i := range rows {
							rows[i] = models.Caption{CaptionerID: capt.ID, ImageID: imgs[i].ID, Text: "a caption"}
						}
						if err := tx.InsertCaptions(ctx, rows); err != nil {
							return err
						}
						if k < tasks/images {
							first = append(first, rows...)
						}
					}
					ts := make([]models.Task, tasks)
					for i := range ts {
						ts[i] = models.Task{CampaignID: c.ID, ImageID: first[i].ImageID, Kind: models.TaskSingle, CaptionID: &first[i].ID, RatingsWanted: 1, Position: i}
					}
					return tx.GormDB().CreateInBatches(ts, 1000).Error
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			if kind == models.DialectPostgres {
				// What autovacuum does soon after a bulk import: planner
				// statistics and the visibility map for index-only scans.
				if err := s.GormDB().Exec("VACUUM ANALYZE").Error; err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				list, err := s.ListCampaignSummaries(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if len(list) != 10 || list[9].Captions != images*captioners || list[9].Tasks != tasks {
					b.Fatalf("list = %+v", list[9].CampaignCounts)
				}
			}
		})
	}
}
