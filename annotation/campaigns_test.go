package annotation_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"capeval/annotation"
	"capeval/models"
	"capeval/models/modelstest"
)

// campaignFixture is a migrated store with a lead, two annotators and a disabled
// one.
type campaignFixture struct {
	store *models.Store
	svc   *annotation.Campaigns
	lead  *models.User
	ann   []*models.User // ann[2] is disabled
}

func newCampaignFixture(t *testing.T, s *models.Store, opts ...annotation.CampaignsOption) *campaignFixture {
	t.Helper()
	ctx := context.Background()
	f := &campaignFixture{store: s, svc: annotation.NewCampaigns(s, modelstest.Logger(t), opts...)}
	f.lead = &models.User{Email: "lead@example.com", Name: "Lead", Role: models.RoleLead}
	if err := s.CreateUser(ctx, f.lead); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		u := &models.User{Email: fmt.Sprintf("ann%d@example.com", i), Name: fmt.Sprint("Ann ", i), Role: models.RoleAnnotator}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		f.ann = append(f.ann, u)
	}
	if err := s.SetUserDisabled(ctx, f.ann[2].ID, true); err != nil {
		t.Fatal(err)
	}
	return f
}

// snapshot is everything a campaign change may touch, to check that a
// refused change changed nothing.
func (f *campaignFixture) snapshot(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	list, err := f.store.ListCampaignSummaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, c := range list {
		ids, err := f.store.CampaignAnnotatorIDs(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		log, err := f.store.AuditLog(ctx, c.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%d %q %q %s %s %s %s %s %v %v audit=%d\n", c.ID, c.Name, c.Description, c.Mode, c.Status,
			c.Rubric, c.Thresholds, c.BlendWeights, c.UpdatedAt, ids, len(log))
	}
	return b.String()
}

func problemsAt(err error) []string {
	var ve *annotation.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	var where []string
	for _, p := range ve.Problems {
		where = append(where, p.Where)
	}
	return where
}

func TestCreateCampaign(t *testing.T) {
	custom := `{"criteria":[{"key":"better","name":"Which is better?","description":"",` +
		`"scale":{"min":1,"max":5,"labels":["A much","A","same","B","B much"]}}]}`
	tests := []struct {
		name      string
		in        func(f *campaignFixture) annotation.NewCampaign
		wantErr   error
		wantWhere []string
		check     func(t *testing.T, f *campaignFixture, c *annotation.Campaign)
	}{
		{
			name: "defaults",
			in:   func(*campaignFixture) annotation.NewCampaign { return annotation.NewCampaign{Name: "  Spring eval  "} },
			check: func(t *testing.T, f *campaignFixture, c *annotation.Campaign) {
				if c.Name != "Spring eval" || c.Mode != models.ModeLikert || c.Status != models.StatusDraft ||
					len(c.Annotators) != 0 || !c.Thresholds.IsNull() || !c.BlendWeights.IsNull() {
					t.Errorf("campaign = %+v", c)
				}
				if !slices.Equal(c.Rubric.Keys(), annotation.DefaultRubric().Keys()) {
					t.Errorf("rubric keys = %v, want the default's", c.Rubric.Keys())
				}
				if c.CreatedBy == nil || *c.CreatedBy != f.lead.ID {
					t.Errorf("created_by = %v, want %d", c.CreatedBy, f.lead.ID)
				}
			},
		},
		{
			name: "pairwise, custom rubric, annotators by id and email, deduplicated",
			in: func(f *campaignFixture) annotation.NewCampaign {
				return annotation.NewCampaign{Name: "AB", Description: "compare", Mode: models.ModePairwise,
					Rubric:     models.JSON(custom),
					Annotators: []string{"ANN1@example.com", fmt.Sprint(f.ann[0].ID), " ann0@example.com "}}
			},
			check: func(t *testing.T, f *campaignFixture, c *annotation.Campaign) {
				if c.Mode != models.ModePairwise || c.Description != "compare" || !slices.Equal(c.Rubric.Keys(), []string{"better"}) {
					t.Errorf("campaign = %+v", c)
				}
				if len(c.Annotators) != 2 || c.Annotators[0].ID != f.ann[0].ID || c.Annotators[1].Email != "ann1@example.com" {
					t.Errorf("annotators = %+v", c.Annotators)
				}
			},
		},
		{
			name: "every field wrong at once",
			in: func(*campaignFixture) annotation.NewCampaign {
				return annotation.NewCampaign{Name: strings.Repeat("n", 201), Description: strings.Repeat("d", 10001),
					Mode: "ranking", Rubric: models.JSON(`{"criteria":[{"key":"A"}]}`)}
			},
			wantErr: annotation.ErrInvalid,
			wantWhere: []string{"name", "description", "mode", "rubric.criteria[0].key", "rubric.criteria[0].name",
				"rubric.criteria[0].scale"},
		},
		{
			name:      "empty name",
			in:        func(*campaignFixture) annotation.NewCampaign { return annotation.NewCampaign{Name: " \t"} },
			wantErr:   annotation.ErrInvalid,
			wantWhere: []string{"name"},
		},
		{
			name:      "name on two lines",
			in:        func(*campaignFixture) annotation.NewCampaign { return annotation.NewCampaign{Name: "a\nb"} },
			wantErr:   annotation.ErrInvalid,
			wantWhere: []string{"name"},
		},
		{
			name: "200 characters is fine",
			in: func(*campaignFixture) annotation.NewCampaign {
				return annotation.NewCampaign{Name: strings.Repeat("é", 200)}
			},
			check: func(t *testing.T, _ *campaignFixture, c *annotation.Campaign) {
				if len([]rune(c.Name)) != 200 {
					t.Errorf("name has %d characters", len([]rune(c.Name)))
				}
			},
		},
		{
			name: "unknown, disabled and empty annotators",
			in: func(f *campaignFixture) annotation.NewCampaign {
				return annotation.NewCampaign{Name: "x", Annotators: []string{"ann0@example.com", "who@example.com", "ann2@example.com", "", "9999"}}
			},
			wantErr:   annotation.ErrInvalid,
			wantWhere: []string{"annotators[1]", "annotators[2]", "annotators[3]", "annotators[4]"},
		},
		{
			name:    "duplicate name",
			in:      func(*campaignFixture) annotation.NewCampaign { return annotation.NewCampaign{Name: "taken"} },
			wantErr: annotation.ErrConflict,
		},
	}
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newCampaignFixture(t, s)
		ctx := context.Background()
		if _, err := f.svc.Create(ctx, f.lead.ID, annotation.NewCampaign{Name: "taken"}); err != nil {
			t.Fatal(err)
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := f.snapshot(t)
				c, err := f.svc.Create(ctx, f.lead.ID, tt.in(f))
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("Create = %v, want %v", err, tt.wantErr)
					}
					if got := problemsAt(err); !slices.Equal(got, tt.wantWhere) {
						t.Errorf("problems at %v, want %v\n%v", got, tt.wantWhere, err)
					}
					if after := f.snapshot(t); after != before {
						t.Errorf("a refused create changed the database:\nbefore %s\nafter  %s", before, after)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, f, c)
				got, err := f.svc.Get(ctx, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Name != c.Name || got.Mode != c.Mode {
					t.Errorf("Get = %+v, want %+v", got, c)
				}
				log, err := f.svc.AuditLog(ctx, c.ID, 0)
				if err != nil {
					t.Fatal(err)
				}
				if len(log) != 1 || log[0].Action != annotation.AuditCreate || log[0].Actor == nil ||
					log[0].Actor.Email != "lead@example.com" || !log[0].Before.IsNull() {
					t.Errorf("audit log = %+v", log)
				}
			})
		}
	})
}

// A list of bad annotators longer than MaxProblems names the first 20 and
// counts the rest.
func TestCreateCampaignManyProblems(t *testing.T) {
	f := newCampaignFixture(t, modelstest.NewStore(t))
	var refs []string
	for i := range 25 {
		refs = append(refs, fmt.Sprintf("nobody%d@example.com", i))
	}
	_, err := f.svc.Create(context.Background(), 0, annotation.NewCampaign{Name: "x", Annotators: refs})
	var ve *annotation.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != annotation.MaxProblems || ve.More != 5 {
		t.Fatalf("Create = %v, want 20 problems and 5 more", err)
	}
	if ve.Problems[19].Where != "annotators[19]" || !strings.Contains(err.Error(), "nobody19@example.com") {
		t.Errorf("20th problem = %+v", ve.Problems[19])
	}
}

func campPtr[T any](v T) *T { return &v }

// TestUpdateCampaign walks one campaign through a sequence of changes; each
// step either applies (with the audit entries it wants) or is refused and
// changes nothing.
// updateStep is one change in TestUpdateCampaign's sequence.
type updateStep struct {
	name        string
	patch       func(f *campaignFixture) annotation.CampaignPatch
	tasks       int // create this many tasks before the step
	wantErr     error
	wantWhere   []string
	wantMsg     string
	wantActions []string // the audit entries the step adds, newest first
	check       func(t *testing.T, f *campaignFixture, c *annotation.Campaign)
}

func TestUpdateCampaign(t *testing.T) {
	reworded := annotation.DefaultRubric()
	reworded.Criteria[0].Description = "Only what is written counts."
	rekeyed := annotation.DefaultRubric()
	rekeyed.Criteria = rekeyed.Criteria[1:]
	steps := []updateStep{
		{name: "nothing changes", patch: func(*campaignFixture) annotation.CampaignPatch {
			return annotation.CampaignPatch{Name: campPtr("c"), Description: campPtr(""), Mode: campPtr(models.ModeLikert), Status: campPtr(models.StatusDraft)}
		}},
		{name: "rename and describe", patch: func(*campaignFixture) annotation.CampaignPatch {
			return annotation.CampaignPatch{Name: campPtr(" c2 "), Description: campPtr("about")}
		}, wantActions: []string{annotation.AuditUpdate}, check: func(t *testing.T, _ *campaignFixture, c *annotation.Campaign) {
			if c.Name != "c2" || c.Description != "about" {
				t.Errorf("campaign = %+v", c)
			}
		}},
		{name: "rename to a taken name", patch: func(*campaignFixture) annotation.CampaignPatch {
			return annotation.CampaignPatch{Name: campPtr("other")}
		}, wantErr: annotation.ErrConflict, wantMsg: `a campaign named "other" exists already`},
		{name: "bad shapes, all listed", patch: func(*campaignFixture) annotation.CampaignPatch {
			return annotation.CampaignPatch{Name: campPtr(""), Mode: campPtr(models.CampaignMode("x")), Status: campPtr(models.CampaignStatus("done")),
				Thresholds: models.JSON(`[1,2]`), BlendWeights: models.JSON(`{"a":`)}
		}, wantErr: annotation.ErrInvalid, wantWhere: []string{"name", "mode", "status", "thresholds", "blend_weights"}},
		{name: "mode to pairwise without tasks", patch: func(*campaignFixture) annotation.CampaignPatch {
			return annotation.CampaignPatch{Mode: campPtr(models.ModePairwise)}
		}, wantActions: []string{annotation.AuditUpdate}},
		{name: "annotators", patch: func(f *campaignFixture) annotation.CampaignPatch {
			return annotation.CampaignPatch{Annotators: &[]string{"ann1@example.com", fmt.Sprint(f.ann[0].ID)}}
		}, wantActions: []string{annotation.AuditAnnotators}, check: func(t *testing.T, f *campaignFixture, c *annotation.Campaign) {
			if len(c.Annotators) != 2 || c.Annotators[0].ID != f.ann[0].ID || c.Annotators[1].ID != f.ann[1].ID {
				t.Errorf("annotators = %+v", c.Annotators)
			}
		}},
		{name: "same annotators again: no entry", patch: func(f *campaignFixture) annotation.CampaignPatch {
			return annotation.CampaignPatch{Annotators: &[]string{"ann0@example.com", "ann1@example.com"}}
		}},
		{name: "disabled annotator refused", patch: func(f *campaignFixture) annotation.CampaignPatch {
			return annotation.CampaignPatch{Annotators: &[]string{"ann2@example.com"}}
		}, wantErr: annotation.ErrInvalid, wantWhere: []string{"annotators[0]"}},
		{name: "thresholds", patch: func(*campaignFixture) annotation.CampaignPatch {
			return annotation.CampaignPatch{Thresholds: models.JSON(`{ "top_k": 3 }`)}
		}, wantActions: []string{annotation.AuditThresholds}, check: func(t *testing.T, _ *campaignFixture, c *annotation.Campaign) {
			if string(c.Thresholds) != `{"top_k":3}` {
				t.Errorf("thresholds = %s, want the compacted document", c.Thresholds)
			}
		}},
		{name: "status collecting with blend weights", patch: func(*campaignFixture) annotation.CampaignPatch {
			return annotation.CampaignPatch{Status: campPtr(models.StatusCollecting), BlendWeights: models.JSON(`{"weights":{"human":0.5}}`)}
		}, wantActions: []string{annotation.AuditBlendWeights, annotation.AuditStatus}},
		{name: "status back to draft", patch: func(*campaignFixture) annotation.CampaignPatch {
			return annotation.CampaignPatch{Status: campPtr(models.StatusDraft)}
		}, wantErr: annotation.ErrConflict, wantMsg: "only moves forward"},
		{name: "mode with tasks", tasks: 2, patch: func(*campaignFixture) annotation.CampaignPatch {
			return annotation.CampaignPatch{Mode: campPtr(models.ModeLikert)}
		}, wantErr: annotation.ErrConflict, wantMsg: "has 2 tasks: its mode can no longer change"},
		{name: "rubric keys with tasks", patch: func(*campaignFixture) annotation.CampaignPatch {
			return annotation.CampaignPatch{Rubric: models.MustJSON(rekeyed)}
		}, wantErr: annotation.ErrConflict, wantMsg: "its rubric's criteria"},
		{name: "rubric rewording with tasks", patch: func(*campaignFixture) annotation.CampaignPatch {
			return annotation.CampaignPatch{Rubric: models.MustJSON(reworded)}
		}, wantActions: []string{annotation.AuditUpdate}, check: func(t *testing.T, _ *campaignFixture, c *annotation.Campaign) {
			if c.Rubric.Criteria[0].Description != "Only what is written counts." {
				t.Errorf("rubric not reworded: %+v", c.Rubric.Criteria[0])
			}
		}},
		{name: "close", patch: func(*campaignFixture) annotation.CampaignPatch {
			return annotation.CampaignPatch{Status: campPtr(models.StatusClosed)}
		}, wantActions: []string{annotation.AuditStatus}},
		{name: "closed keeps its thresholds and annotators", patch: func(*campaignFixture) annotation.CampaignPatch {
			return annotation.CampaignPatch{Thresholds: models.JSON(`{"top_k":4}`), Annotators: &[]string{}}
		}, wantErr: annotation.ErrConflict, wantMsg: "only its name and description may change, not its thresholds, annotators"},
		{name: "closed may be renamed", patch: func(*campaignFixture) annotation.CampaignPatch {
			return annotation.CampaignPatch{Name: campPtr("c3"), Status: campPtr(models.StatusClosed)}
		}, wantActions: []string{annotation.AuditUpdate}},
	}
	for _, kind := range modelstest.Stores {
		t.Run(kind, func(t *testing.T) {
			s, raw := newStoreWithSQL(t, kind)
			testUpdateCampaignSteps(t, s, raw, steps)
		})
	}
}

// newStoreWithSQL returns a migrated store and a plain database/sql handle
// on the same database, for rows no store method writes yet (tasks: the
// selection's).
func newStoreWithSQL(t *testing.T, kind string) (*models.Store, *sql.DB) {
	t.Helper()
	var dsn, driver, rawDSN string
	switch kind {
	case models.DialectSQLite:
		path := filepath.Join(t.TempDir(), models.SQLiteFile)
		dsn, driver, rawDSN = "sqlite:"+path, "sqlite3", path+"?_busy_timeout=10000&_foreign_keys=on"
	default:
		dsn = modelstest.NewPostgresDatabase(t)
		driver, rawDSN = "pgx", dsn
	}
	s := modelstest.OpenMigrated(t, dsn)
	raw, err := sql.Open(driver, rawDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return s, raw
}

func testUpdateCampaignSteps(t *testing.T, s *models.Store, raw *sql.DB, steps []updateStep) {
	f := newCampaignFixture(t, s)
	ctx := context.Background()
	c, err := f.svc.Create(ctx, f.lead.ID, annotation.NewCampaign{Name: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Create(ctx, f.lead.ID, annotation.NewCampaign{Name: "other"}); err != nil {
		t.Fatal(err)
	}
	captions := seedCampaignCaptions(t, s, c.ID)
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			for i := range st.tasks {
				_, err := raw.ExecContext(ctx, "INSERT INTO tasks (campaign_id, image_id, kind, caption_id, ratings_wanted) SELECT $1, image_id, 'single', id, 1 FROM captions WHERE id = $2",
					c.ID, captions[i])
				if err != nil {
					t.Fatal(err)
				}
			}
			logBefore, err := f.svc.AuditLog(ctx, c.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			before := f.snapshot(t)
			got, err := f.svc.Update(ctx, f.lead.ID, c.ID, st.patch(f))
			if st.wantErr != nil {
				if !errors.Is(err, st.wantErr) {
					t.Fatalf("Update = %v, want %v", err, st.wantErr)
				}
				if w := problemsAt(err); !slices.Equal(w, st.wantWhere) {
					t.Errorf("problems at %v, want %v\n%v", w, st.wantWhere, err)
				}
				if !strings.Contains(err.Error(), st.wantMsg) {
					t.Errorf("error %q does not contain %q", err, st.wantMsg)
				}
				if after := f.snapshot(t); after != before {
					t.Errorf("a refused update changed the database:\nbefore %s\nafter  %s", before, after)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.check != nil {
				st.check(t, f, got)
			}
			logAfter, err := f.svc.AuditLog(ctx, c.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			var added []string
			for _, e := range logAfter[:len(logAfter)-len(logBefore)] {
				added = append(added, e.Action)
				if e.Actor == nil || e.Actor.ID != f.lead.ID || e.CampaignID == nil || *e.CampaignID != c.ID {
					t.Errorf("entry %s: actor %+v, campaign %v", e.Action, e.Actor, e.CampaignID)
				}
			}
			if !slices.Equal(added, st.wantActions) {
				t.Errorf("audit entries added = %v, want %v", added, st.wantActions)
			}
			if len(st.wantActions) == 0 && f.snapshot(t) != before {
				t.Errorf("a patch that changes nothing wrote to the database")
			}
		})
	}
}

// seedCampaignCaptions gives the campaign one captioner with three captions and
// returns their IDs.
func seedCampaignCaptions(t *testing.T, s *models.Store, campaignID int64) []int64 {
	t.Helper()
	ctx := context.Background()
	imgs := []models.Image{{CampaignID: campaignID, ExternalID: "1"}, {CampaignID: campaignID, ExternalID: "2"}, {CampaignID: campaignID, ExternalID: "3"}}
	if err := s.InsertImages(ctx, imgs); err != nil {
		t.Fatal(err)
	}
	k := &models.Captioner{CampaignID: campaignID, Name: "m", Version: "1"}
	if err := s.CreateCaptioner(ctx, k); err != nil {
		t.Fatal(err)
	}
	rows := make([]models.Caption, len(imgs))
	for i := range imgs {
		rows[i] = models.Caption{CaptionerID: k.ID, ImageID: imgs[i].ID, Text: "t"}
	}
	if err := s.InsertCaptions(ctx, rows); err != nil {
		t.Fatal(err)
	}
	return []int64{rows[0].ID, rows[1].ID, rows[2].ID}
}

// fakeThresholdsValidator stands in for the selection's schema: an object with
// an integer top_k of at least 1, stored with its keys sorted.
func fakeThresholdsValidator(c *models.Campaign, doc models.JSON) (models.JSON, error) {
	var v struct {
		TopK *int `json:"top_k"`
	}
	if err := json.Unmarshal(doc, &v); err != nil {
		return nil, err
	}
	if v.TopK == nil || *v.TopK < 1 {
		return nil, &annotation.ValidationError{What: "thresholds", Problems: []annotation.Problem{{Where: "thresholds.top_k", Message: "want an integer >= 1"}}}
	}
	return models.MustJSON(map[string]any{"top_k": *v.TopK, "mode": c.Mode}), nil
}

func TestSetThresholds(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newCampaignFixture(t, s, annotation.WithThresholdsValidator(fakeThresholdsValidator),
			annotation.WithBlendWeightsValidator(func(*models.Campaign, models.JSON) (models.JSON, error) {
				return nil, errors.New("weights must sum to 1")
			}))
		ctx := context.Background()
		c, err := f.svc.Create(ctx, f.lead.ID, annotation.NewCampaign{Name: "c", Mode: models.ModePairwise})
		if err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			name       string
			actor      int64
			doc        string
			wantErr    error
			wantWhere  []string
			wantStored string
		}{
			{name: "first", actor: f.lead.ID, doc: `{"top_k": 3}`, wantStored: `{"mode":"pairwise","top_k":3}`},
			{name: "by the CLI", actor: 0, doc: `{"top_k": 5}`, wantStored: `{"mode":"pairwise","top_k":5}`},
			{name: "refused by the owner's validator", actor: f.lead.ID, doc: `{"top_k": 0}`, wantErr: annotation.ErrInvalid,
				wantWhere: []string{"thresholds.top_k"}},
			{name: "unknown actor rolls the change back", actor: 9999, doc: `{"top_k": 7}`, wantErr: annotation.ErrInvalid},
			{name: "cleared", actor: f.lead.ID, doc: `null`, wantStored: `null`},
		}
		var prev = "null"
		var n int
		for _, st := range steps {
			before := f.snapshot(t)
			err := f.svc.SetThresholds(ctx, st.actor, c.ID, models.JSON(st.doc))
			if st.wantErr != nil {
				if !errors.Is(err, st.wantErr) {
					t.Fatalf("%s: SetThresholds = %v, want %v", st.name, err, st.wantErr)
				}
				if w := problemsAt(err); st.wantWhere != nil && !slices.Equal(w, st.wantWhere) {
					t.Errorf("%s: problems at %v, want %v", st.name, w, st.wantWhere)
				}
				if f.snapshot(t) != before {
					t.Errorf("%s: a refused change changed the database", st.name)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			n++
			got, err := f.svc.Get(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Thresholds) != st.wantStored {
				t.Errorf("%s: stored %s, want %s", st.name, got.Thresholds, st.wantStored)
			}
			log, err := f.svc.AuditLog(ctx, c.ID, 1)
			if err != nil {
				t.Fatal(err)
			}
			e := log[0]
			if e.Action != annotation.AuditThresholds || string(e.Before) != prev || string(e.After) != st.wantStored ||
				e.CreatedAt.IsZero() {
				t.Errorf("%s: audit entry = %s before %s after %s at %v; want before %s after %s",
					st.name, e.Action, e.Before, e.After, e.CreatedAt, prev, st.wantStored)
			}
			if (st.actor == 0) != (e.ActorID == nil) || (st.actor != 0 && (e.Actor == nil || e.Actor.Email != "lead@example.com")) {
				t.Errorf("%s: audit actor = %v / %+v, want user %d", st.name, e.ActorID, e.Actor, st.actor)
			}
			prev = st.wantStored
		}
		log, err := f.svc.AuditLog(ctx, c.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(log) != n+1 { // + the create
			t.Errorf("audit log has %d entries, want %d", len(log), n+1)
		}
		err = f.svc.SetBlendWeights(ctx, f.lead.ID, c.ID, models.JSON(`{"human":1}`))
		if w := problemsAt(err); !slices.Equal(w, []string{"blend_weights"}) || !strings.Contains(err.Error(), "weights must sum to 1") {
			t.Errorf("SetBlendWeights with a failing validator = %v", err)
		}
		if err := f.svc.SetThresholds(ctx, f.lead.ID, 9999, models.JSON(`{"top_k":1}`)); !errors.Is(err, annotation.ErrNotFound) {
			t.Errorf("SetThresholds on a missing campaign = %v, want ErrNotFound", err)
		}
	})
}

func TestCampaignLookupAndAuditLimits(t *testing.T) {
	f := newCampaignFixture(t, modelstest.NewStore(t))
	ctx := context.Background()
	c, err := f.svc.Create(ctx, 0, annotation.NewCampaign{Name: "Named 7"})
	if err != nil {
		t.Fatal(err)
	}
	year, err := f.svc.Create(ctx, 0, annotation.NewCampaign{Name: "2024"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		ref  string
		want int64
	}{{fmt.Sprint(c.ID), c.ID}, {"Named 7", c.ID}, {" Named 7 ", c.ID}, {"2024", year.ID}, {fmt.Sprint(year.ID), year.ID}} {
		got, err := f.svc.Lookup(ctx, tt.ref)
		if err != nil || got.ID != tt.want {
			t.Errorf("Lookup(%q) = %+v, %v; want campaign %d", tt.ref, got, err, tt.want)
		}
	}
	for _, ref := range []string{"999", "nope"} {
		if _, err := f.svc.Lookup(ctx, ref); !errors.Is(err, annotation.ErrNotFound) {
			t.Errorf("Lookup(%q) = %v, want ErrNotFound", ref, err)
		}
	}
	for _, limit := range []int{-1, annotation.MaxAuditLimit + 1} {
		if _, err := f.svc.AuditLog(ctx, c.ID, limit); !errors.Is(err, annotation.ErrInvalid) {
			t.Errorf("AuditLog limit %d = %v, want ErrInvalid", limit, err)
		}
	}
	if _, err := f.svc.AuditLog(ctx, 999, 10); !errors.Is(err, annotation.ErrNotFound) {
		t.Errorf("AuditLog of a missing campaign = %v, want ErrNotFound", err)
	}
	if _, err := f.svc.Update(ctx, 0, 999, annotation.CampaignPatch{Name: campPtr("x")}); !errors.Is(err, annotation.ErrNotFound) {
		t.Errorf("Update of a missing campaign = %v, want ErrNotFound", err)
	}
	list, err := f.svc.List(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "2024" || list[1].Name != "Named 7" {
		t.Errorf("List = %+v, %v", list, err)
	}
}

// Concurrent threshold changes each record the "before" that the previous
// change left: the audit entries form one unbroken chain, and the last
// "after" is what the campaign holds. On PostgreSQL this needs the row lock
// of LockCampaign; SQLite transactions are serialized by BEGIN IMMEDIATE.
func TestSetThresholdsConcurrent(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newCampaignFixture(t, s)
		ctx := context.Background()
		c, err := f.svc.Create(ctx, f.lead.ID, annotation.NewCampaign{Name: "c"})
		if err != nil {
			t.Fatal(err)
		}
		const workers, each = 6, 5
		errs := make(chan error, workers*each)
		done := make(chan struct{})
		for w := range workers {
			go func() {
				defer func() { done <- struct{}{} }()
				for i := range each {
					errs <- f.svc.SetThresholds(ctx, f.lead.ID, c.ID, models.JSON(fmt.Sprintf(`{"top_k":%d}`, w*100+i+1)))
				}
			}()
		}
		for range workers {
			<-done
		}
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		log, err := f.svc.AuditLog(ctx, c.ID, annotation.MaxAuditLimit)
		if err != nil {
			t.Fatal(err)
		}
		slices.Reverse(log) // oldest first
		prev := "null"
		n := 0
		for _, e := range log {
			if e.Action != annotation.AuditThresholds {
				continue
			}
			n++
			if string(e.Before) != prev {
				t.Fatalf("entry %d: before %s, want the previous after %s", e.ID, e.Before, prev)
			}
			prev = string(e.After)
		}
		if n != workers*each {
			t.Errorf("%d threshold entries, want %d", n, workers*each)
		}
		got, err := f.svc.Get(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Thresholds) != prev {
			t.Errorf("campaign holds %s, the last entry says %s", got.Thresholds, prev)
		}
	})
}

// A mode change checks the stored thresholds again with the owner's
// validator, unless the same patch replaces them.
func TestModeChangeRechecksThresholds(t *testing.T) {
	pairsOnlyPairwise := func(c *models.Campaign, doc models.JSON) (models.JSON, error) {
		var v map[string]any
		if err := json.Unmarshal(doc, &v); err != nil {
			return nil, err
		}
		if _, ok := v["pairs"]; ok && c.Mode != models.ModePairwise {
			return nil, &annotation.ValidationError{What: "thresholds", Problems: []annotation.Problem{
				{Where: "thresholds.pairs", Message: "only pairwise campaigns compare pairs"}}}
		}
		return doc, nil
	}
	f := newCampaignFixture(t, modelstest.NewStore(t), annotation.WithThresholdsValidator(pairsOnlyPairwise))
	ctx := context.Background()
	c, err := f.svc.Create(ctx, 0, annotation.NewCampaign{Name: "c", Mode: models.ModePairwise})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetThresholds(ctx, 0, c.ID, models.JSON(`{"pairs":"adjacent"}`)); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Update(ctx, 0, c.ID, annotation.CampaignPatch{Mode: campPtr(models.ModeLikert)})
	if w := problemsAt(err); !slices.Equal(w, []string{"thresholds.pairs"}) ||
		!strings.Contains(err.Error(), "does not fit mode likert (send a new one with the mode): only pairwise") {
		t.Fatalf("mode change with stale thresholds = %v", err)
	}
	got, err := f.svc.Update(ctx, 0, c.ID, annotation.CampaignPatch{Mode: campPtr(models.ModeLikert), Thresholds: models.JSON(`{"top_k":2}`)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Mode != models.ModeLikert || string(got.Thresholds) != `{"top_k":2}` {
		t.Errorf("campaign = %s, %s", got.Mode, got.Thresholds)
	}
}
