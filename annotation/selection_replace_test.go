package annotation_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"capeval/annotation"
	"capeval/models"
	"capeval/models/modelstest"
)

// TestReplaceComparesEveryCaption: a replace recognises an item a kept
// task already stands for by every caption of each side (the same text of
// the same image), not by the caption it happens to show. After a
// re-scoring another captioner's caption of the same text leads its group
// and is the one a new plan shows; the item must not be queued again, and
// the captions of that text the kept task did not stand for yet are linked
// to it, so that its rating counts for them as it would have in one
// selection.
func TestReplaceComparesEveryCaption(t *testing.T) {
	norm := func(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }
	tests := []struct {
		name    string
		mode    models.CampaignMode
		cider   []float64
		first   string
		rated   []int // fixture image indices whose tasks get a rating
		rescore map[int]float64
		second  string
		// already is how many planned items the kept tasks stand for.
		already int
	}{
		{
			// m0 alone first; m1 writes m0's text on images 0 and 5. Then m1
			// ranks first, so its caption leads the shared groups.
			name: "likert", mode: models.ModeLikert, cider: []float64{0.9, 0.8},
			first: `{"top_k":1}`, rated: []int{0, 5},
			rescore: map[int]float64{0: 0.75}, second: `{"top_k":2}`, already: 2,
		},
		{
			// m0 against m2 first (m2 skips images 0, 3, 6, 9); then m1, who
			// writes m0's text on image 5, ranks first and its caption leads
			// side A of the pair on image 5.
			name: "pairwise", mode: models.ModePairwise, cider: []float64{0.9, 0.5, 0.8},
			first: `{"top_k":2}`, rated: []int{5},
			rescore: map[int]float64{1: 0.95}, second: `{"top_k":3}`, already: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, raw := newStoreWithSQL(t, models.DialectSQLite)
			ctx := context.Background()
			f := newSelFixture(t, s, selSpec{mode: tt.mode, images: 10, cider: tt.cider})
			f.setThresholds(t, tt.first)
			if _, err := f.svc.Commit(ctx, f.lead.ID, f.camp.ID, annotation.CommitOptions{}); err != nil {
				t.Fatal(err)
			}
			ann := &models.User{Email: "ann@example.com", Role: models.RoleAnnotator}
			if err := s.CreateUser(ctx, ann); err != nil {
				t.Fatal(err)
			}
			ratedIDs := map[int64]bool{}
			for _, task := range f.tasks(t) {
				for _, i := range tt.rated {
					if task.ImageID == f.images[i].ID {
						ratedIDs[task.ID] = true
						if _, err := raw.ExecContext(ctx, "INSERT INTO ratings (task_id, annotator_id, answers, client_id) VALUES ($1, $2, '{}', $3)",
							task.ID, ann.ID, fmt.Sprint("c", task.ID)); err != nil {
							t.Fatal(err)
						}
						if _, err := raw.ExecContext(ctx, "UPDATE tasks SET ratings_done = 1 WHERE id = $1", task.ID); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			if len(ratedIDs) != len(tt.rated) {
				t.Fatalf("rated %d tasks, want %d", len(ratedIDs), len(tt.rated))
			}
			var rescored []models.CaptionerScore
			for k, v := range tt.rescore {
				rescored = append(rescored, models.CaptionerScore{CaptionerID: f.caps[k].ID, Metric: "CIDEr", Value: v, N: 10})
			}
			if err := s.PutCaptionerScores(ctx, rescored); err != nil {
				t.Fatal(err)
			}
			f.setThresholds(t, tt.second)
			pv, err := f.svc.Preview(ctx, f.camp.ID, annotation.PreviewOptions{Replace: true})
			if err != nil {
				t.Fatal(err)
			}
			res, err := f.svc.Commit(ctx, f.lead.ID, f.camp.ID, annotation.CommitOptions{Replace: true, Fingerprint: pv.Fingerprint})
			if err != nil {
				t.Fatal(err)
			}
			if res.Counts.AlreadyQueued != tt.already {
				t.Errorf("already queued %d, want %d", res.Counts.AlreadyQueued, tt.already)
			}

			// No two tasks stand for the same texts of an image.
			seen := map[string]int64{}
			for _, task := range f.tasks(t) {
				a, b := task.Shown()
				texts := []string{norm(f.captions[a].Text)}
				if b != 0 {
					texts = append(texts, norm(f.captions[b].Text))
					slices.Sort(texts)
				}
				key := fmt.Sprint(task.ImageID, texts)
				if other, ok := seen[key]; ok {
					t.Errorf("tasks %d and %d both stand for %s", other, task.ID, key)
				}
				seen[key] = task.ID
				if !ratedIDs[task.ID] {
					continue
				}
				// The kept task stands for every kept captioner's caption of
				// its texts, each on the side of its text.
				linked := map[int64]int{}
				for _, l := range task.Captions {
					linked[l.CaptionID] = l.Side
				}
				for _, c := range f.captions {
					if c.ImageID != task.ImageID {
						continue
					}
					for side, shown := range []int64{a, b} {
						if shown != 0 && norm(c.Text) == norm(f.captions[shown].Text) {
							if got, ok := linked[c.ID]; !ok || got != side {
								t.Errorf("kept task %d: caption %d (%s, %q) not linked on side %d: links %v",
									task.ID, c.ID, f.capName(c.CaptionerID), c.Text, side, task.Captions)
							}
						}
					}
				}
			}
		})
	}
}

// TestReplaceRaceOnPostgres: on PostgreSQL a commit's statements each see
// their own snapshot, so a lease or a rating taken between the plan (which
// read which tasks are touched) and the delete of the untouched ones used
// to be ignored: the task it holds was either deleted with it or kept while
// its item was queued again. The hook takes one there, from another
// connection, as the queue would: it locks the task for its key
// (NOWAIT, so that the test never waits) and inserts the row. Either the
// commit holds the campaign's tasks and nothing can be taken until it ends,
// or what was taken is kept and the commit is refused; never a deleted
// lease or rating, nor an item queued twice.
func TestReplaceRaceOnPostgres(t *testing.T) {
	for _, take := range []string{"lease", "rating"} {
		t.Run(take, func(t *testing.T) {
			s, raw := newStoreWithSQL(t, models.DialectPostgres)
			ctx := context.Background()
			f := newSelFixture(t, s, selSpec{mode: models.ModeLikert, images: 10, cider: sixCaptioners})
			f.setThresholds(t, `{"top_k":2,"images":{"count":4}}`)
			if _, err := f.svc.Commit(ctx, f.lead.ID, f.camp.ID, annotation.CommitOptions{}); err != nil {
				t.Fatal(err)
			}
			before := f.tasks(t)
			victim := before[0].ID
			ann := &models.User{Email: "ann@example.com", Role: models.RoleAnnotator}
			if err := s.CreateUser(ctx, ann); err != nil {
				t.Fatal(err)
			}
			f.setThresholds(t, `{"top_k":3,"images":{"count":4}}`)
			pv, err := f.svc.Preview(ctx, f.camp.ID, annotation.PreviewOptions{Replace: true})
			if err != nil {
				t.Fatal(err)
			}
			taken := false
			f.svc.SetBeforeDelete(func(ctx context.Context) {
				tx, err := raw.BeginTx(ctx, nil)
				if err != nil {
					t.Error(err)
					return
				}
				defer tx.Rollback()
				if _, err := tx.ExecContext(ctx, "SELECT 1 FROM tasks WHERE id = $1 FOR KEY SHARE NOWAIT", victim); err != nil {
					if !strings.Contains(err.Error(), "55P03") {
						t.Errorf("lock task %d: %v, want it held by the commit (55P03) or free", victim, err)
					}
					return
				}
				q := "INSERT INTO leases (task_id, annotator_id, expires_at) VALUES ($1, $2, now() + interval '1 hour')"
				if take == "rating" {
					q = "INSERT INTO ratings (task_id, annotator_id, answers, client_id) VALUES ($1, $2, '{}', 'race')"
				}
				if _, err := tx.ExecContext(ctx, q, victim, ann.ID); err != nil {
					t.Errorf("take a %s on task %d: %v", take, victim, err)
					return
				}
				if err := tx.Commit(); err != nil {
					t.Errorf("commit the %s: %v", take, err)
					return
				}
				taken = true
			})
			res, err := f.svc.Commit(ctx, f.lead.ID, f.camp.ID, annotation.CommitOptions{Replace: true, Fingerprint: pv.Fingerprint})
			after := f.tasks(t)
			if taken {
				// What was taken must survive, and the plan that did not
				// know of it must not be committed.
				var n int
				if err := raw.QueryRowContext(ctx, "SELECT count(*) FROM "+take+"s WHERE task_id = $1", victim).Scan(&n); err != nil || n != 1 {
					t.Errorf("the %s taken on task %d between the plan and the delete: %d rows left (%v)", take, victim, n, err)
				}
				if !errors.Is(err, annotation.ErrConflict) {
					deleted, created := int64(0), 0
					if res != nil {
						deleted, created = res.Deleted, res.Created
					}
					t.Fatalf("commit after a %s was taken on a task the plan replaces: deleted %d of the %d planned, created %d, err %v; want ErrConflict and nothing changed",
						take, deleted, pv.Counts.ReplacedTasks, created, err)
				}
				if len(after) != len(before) {
					t.Errorf("%d tasks after a refused commit, want the %d of before", len(after), len(before))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Deleted != int64(pv.Counts.ReplacedTasks) || len(after) != pv.Counts.KeptTasks+res.Created {
				t.Errorf("deleted %d, created %d, %d tasks; the preview planned to delete %d and keep %d",
					res.Deleted, res.Created, len(after), pv.Counts.ReplacedTasks, pv.Counts.KeptTasks)
			}
			for _, task := range after {
				if task.ID == victim {
					t.Errorf("task %d was replaced by the plan but is still there", victim)
				}
			}
		})
	}
}

// TestCommitWithThresholds: thresholds given to a commit are stored in its
// transaction: a refused commit leaves the stored ones and the audit log as
// they were; an accepted one stores them (audited) and plans with them.
func TestCommitWithThresholds(t *testing.T) {
	s := modelstest.NewStore(t)
	ctx := context.Background()
	f := newSelFixture(t, s, selSpec{mode: models.ModeLikert, images: 6, cider: sixCaptioners})
	f.setThresholds(t, `{"top_k":2}`)
	if _, err := f.svc.Commit(ctx, f.lead.ID, f.camp.ID, annotation.CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	stored := func() (string, int) {
		t.Helper()
		c, err := s.CampaignByID(ctx, f.camp.ID)
		if err != nil {
			t.Fatal(err)
		}
		log, err := s.AuditLog(ctx, f.camp.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		return string(c.Thresholds), len(log)
	}
	th0, log0 := stored()
	tests := []struct {
		name    string
		opts    annotation.CommitOptions
		want    error
		wantTh  string
		wantLog int
	}{
		{"refused: tasks exist", annotation.CommitOptions{Thresholds: models.JSON(`{"top_k":3}`)}, annotation.ErrConflict, th0, log0},
		{"refused: stale fingerprint", annotation.CommitOptions{Replace: true, Fingerprint: "stale", Thresholds: models.JSON(`{"top_k":3}`)},
			annotation.ErrConflict, th0, log0},
		{"refused: invalid", annotation.CommitOptions{Replace: true, Thresholds: models.JSON(`{"top_k":-1}`)}, annotation.ErrInvalid, th0, log0},
		{"stored with the commit", annotation.CommitOptions{Replace: true, Thresholds: models.JSON(`{"top_k":3}`)}, nil, `{"top_k":3}`, log0 + 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := f.svc.Commit(ctx, f.lead.ID, f.camp.ID, tt.opts)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("commit = %v, want %v", err, tt.want)
			}
			if th, n := stored(); th != tt.wantTh || n != tt.wantLog {
				t.Errorf("stored thresholds %s with %d audit entries, want %s with %d", th, n, tt.wantTh, tt.wantLog)
			}
			if err == nil && (res.Thresholds.TopK != 3 || res.Counts.CaptionersKept != 3) {
				t.Errorf("the commit planned with top_k %d (%d kept), want the new thresholds", res.Thresholds.TopK, res.Counts.CaptionersKept)
			}
		})
	}
}
