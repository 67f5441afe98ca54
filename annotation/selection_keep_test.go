package annotation_test

import (
	"context"
	"testing"

	"capeval/annotation"
	"capeval/models"
)

// TestReplaceKeepsLeadWork: a replacing commit replaces the selection's own
// untouched tasks only. A gold task a lead wrote and the tasks that carry
// imported judgments are not the selection's to replace, whether or not
// anyone has rated them yet, and they do not make a first commit need
// replace.
func TestReplaceKeepsLeadWork(t *testing.T) {
	for _, origin := range []models.TaskOrigin{models.OriginLeadGold} {
		t.Run(string(origin), func(t *testing.T) {
			s, raw := newStoreWithSQL(t, models.DialectSQLite)
			ctx := context.Background()
			f := newSelFixture(t, s, selSpec{mode: models.ModeLikert, images: 6, cider: []float64{0.9, 0.8}})
			var id int64
			if err := raw.QueryRowContext(ctx, `INSERT INTO tasks (campaign_id, image_id, kind, is_gold, gold_answer, origin, position)
				VALUES ($1, $2, 'single', 1, '{"kind":"known_bad","text":"a lead wrote this"}', $3, 0) RETURNING id`,
				f.camp.ID, f.images[0].ID, string(origin)).Scan(&id); err != nil {
				t.Fatal(err)
			}
			f.setThresholds(t, `{"top_k":1}`)
			// The first commit needs no replace: the campaign holds no task of
			// a selection yet.
			if _, err := f.svc.Commit(ctx, f.lead.ID, f.camp.ID, annotation.CommitOptions{}); err != nil {
				t.Fatalf("first commit beside a lead's gold task: %v", err)
			}
			f.setThresholds(t, `{"top_k":2}`)
			pv, err := f.svc.Preview(ctx, f.camp.ID, annotation.PreviewOptions{Replace: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.Commit(ctx, f.lead.ID, f.camp.ID, annotation.CommitOptions{Replace: true, Fingerprint: pv.Fingerprint}); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := raw.QueryRowContext(ctx, "SELECT count(*) FROM tasks WHERE id = $1", id).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Fatalf("the lead's %s task %d was deleted by a replacing commit", origin, id)
			}
		})
	}
}

// TestReplaceKeepsSkippedTasks: a skip is an annotator's recorded judgement
// (two "image broken" skips set a task aside for the lead), so a replacing
// commit keeps a skipped task like a rated one.
func TestReplaceKeepsSkippedTasks(t *testing.T) {
	s, raw := newStoreWithSQL(t, models.DialectSQLite)
	ctx := context.Background()
	f := newSelFixture(t, s, selSpec{mode: models.ModeLikert, images: 6, cider: []float64{0.9, 0.8}})
	f.setThresholds(t, `{"top_k":1}`)
	if _, err := f.svc.Commit(ctx, f.lead.ID, f.camp.ID, annotation.CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	ann := &models.User{Email: "ann@example.com", Role: models.RoleAnnotator}
	if err := s.CreateUser(ctx, ann); err != nil {
		t.Fatal(err)
	}
	skipped := f.tasks(t)[0].ID
	if _, err := raw.ExecContext(ctx, "INSERT INTO skips (task_id, annotator_id, reason) VALUES ($1, $2, 'image_broken')", skipped, ann.ID); err != nil {
		t.Fatal(err)
	}
	f.setThresholds(t, `{"top_k":2}`)
	pv, err := f.svc.Preview(ctx, f.camp.ID, annotation.PreviewOptions{Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	if pv.Counts.KeptTasks != 1 {
		t.Errorf("preview keeps %d tasks, want the skipped one", pv.Counts.KeptTasks)
	}
	if _, err := f.svc.Commit(ctx, f.lead.ID, f.camp.ID, annotation.CommitOptions{Replace: true, Fingerprint: pv.Fingerprint}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := raw.QueryRowContext(ctx, "SELECT count(*) FROM skips WHERE task_id = $1", skipped).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("the skip of task %d was deleted with its task by a replacing commit", skipped)
	}
}
