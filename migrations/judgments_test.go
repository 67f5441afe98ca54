package migrations_test

import (
	"context"
	"testing"

	"capeval/migrations"
	"capeval/models/modelstest"
)

// Migration 0007 on a database with data in it, on both dialects: every
// rating made at version 6 is kept column for column (SQLite rebuilds the
// table), the lead's gold tasks get origin lead_gold and the rest
// selection; from then on the schema takes imported ratings without an
// annotator, refuses such a rating anywhere else, keeps an imported task
// complete, single and not gold, refuses a second import key on a task,
// and holds adjudications to one kind of answer and to their task.
func TestJudgmentsMigratesData(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			db, _ := openEmpty(t, dialect)
			if _, err := migrations.ApplyUpTo(ctx, db, dialect, modelstest.Logger(t), 6); err != nil {
				t.Fatal(err)
			}
			exec := func(q string) error {
				_, err := db.ExecContext(ctx, q)
				return err
			}
			for _, q := range []string{
				`INSERT INTO users (id, email, role) VALUES (1, 'ann@example.com', 'annotator'), (2, 'lead@example.com', 'lead')`,
				`INSERT INTO campaigns (id, name, mode) VALUES (1, 'c', 'likert')`,
				`INSERT INTO images (id, campaign_id, external_id) VALUES (1, 1, 'i1'), (2, 1, 'i2')`,
				`INSERT INTO captioners (id, campaign_id, name, version) VALUES (1, 1, 'm', '1')`,
				`INSERT INTO captions (id, captioner_id, image_id, text) VALUES (1, 1, 1, 'a dog'), (2, 1, 2, 'a cat')`,
				// 1: regular, rated; 2: selection gold, rated; 3: the lead's
				// gold (author_id, null from the CLI); 4: regular, open.
				`INSERT INTO tasks (id, campaign_id, image_id, kind, caption_id, ratings_wanted, ratings_done, is_gold, gold_answer, position) VALUES
					(1, 1, 1, 'single', 1, 2, 1, FALSE, 'null', 1),
					(2, 1, 1, 'single', NULL, 1, 1, TRUE, '{"kind":"known_good","text":"a dog"}', 2),
					(3, 1, 2, 'single', NULL, 1, 0, TRUE, '{"author_id":null,"kind":"known_bad","text":"a car"}', 3),
					(4, 1, 2, 'single', 2, 1, 0, FALSE, 'null', 4)`,
				`INSERT INTO ratings (id, task_id, annotator_id, answers, shown_position, duration_ms, client_id, created_at, comment, late, revisions)
					VALUES (1, 1, 1, '{"overall":4}', 0, 1500, 'c1', '2026-01-02 03:04:05+00:00', 'fine', TRUE, 1),
					       (2, 2, 1, '{"overall":5}', 0, 900, 'c2', '2026-01-02 03:05:05+00:00', '', FALSE, 0)`,
			} {
				if err := exec(q); err != nil {
					t.Fatalf("seed at version 6: %v\n%s", err, q)
				}
			}

			applied, err := migrations.Apply(ctx, db, dialect, modelstest.Logger(t))
			if err != nil {
				t.Fatalf("migrate a database with data: %v", err)
			}
			if len(applied) == 0 || applied[0] != 7 {
				t.Fatalf("applied %v, want 7 first", applied)
			}

			type ratingRow struct {
				task, annotator     int64
				answers, client     string
				duration            int64
				comment             string
				late, imported      bool
				revisions           int
				external, importKey string
			}
			wantRatings := map[int64]ratingRow{
				1: {task: 1, annotator: 1, answers: `{"overall":4}`, client: "c1", duration: 1500, comment: "fine", late: true, revisions: 1},
				2: {task: 2, annotator: 1, answers: `{"overall":5}`, client: "c2", duration: 900},
			}
			rows, err := db.QueryContext(ctx, `SELECT id, task_id, annotator_id, answers, client_id, duration_ms, comment, late,
				imported, revisions, external_annotator, COALESCE(import_key, '') FROM ratings ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for rows.Next() {
				var id int64
				var got ratingRow
				if err := rows.Scan(&id, &got.task, &got.annotator, &got.answers, &got.client, &got.duration, &got.comment,
					&got.late, &got.imported, &got.revisions, &got.external, &got.importKey); err != nil {
					t.Fatal(err)
				}
				if got != wantRatings[id] {
					t.Errorf("rating %d after the migration = %+v, want %+v", id, got, wantRatings[id])
				}
				n++
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			rows.Close()
			if n != 2 {
				t.Errorf("%d ratings after the migration, want 2", n)
			}
			for id, want := range map[int]string{1: "selection", 2: "selection", 3: "lead_gold", 4: "selection"} {
				var origin string
				if err := db.QueryRowContext(ctx, `SELECT origin FROM tasks WHERE id = $1`, id).Scan(&origin); err != nil {
					t.Fatal(err)
				}
				if origin != want {
					t.Errorf("task %d: origin %q, want %q", id, origin, want)
				}
			}

			// Imported ratings: a complete imported task, two ratings without
			// a capeval annotator (one anonymous), real-number answers.
			for _, q := range []string{
				`INSERT INTO tasks (id, campaign_id, image_id, kind, caption_id, ratings_wanted, ratings_done, origin, position)
					VALUES (5, 1, 1, 'single', 1, 2, 2, 'imported', 5)`,
				`INSERT INTO ratings (id, task_id, annotator_id, answers, client_id, imported, external_annotator, import_key)
					VALUES (3, 5, NULL, '{"overall":3.67}', 'import:k1', TRUE, 'w17', 'k1'),
					       (4, 5, NULL, '{"overall":4}', 'import:k2', TRUE, '', 'k2')`,
				`UPDATE tasks SET ratings_wanted = ratings_wanted + 1, ratings_done = ratings_done + 1 WHERE id = 5`,
				`INSERT INTO adjudications (campaign_id, task_id, criterion, value, note, decided_by) VALUES (1, 1, 'overall', 3.5, 'split', 2)`,
				`INSERT INTO adjudications (campaign_id, task_id, criterion) VALUES (1, 1, 'overall')`, // withdrawn
				`INSERT INTO adjudications (campaign_id, task_id, criterion, choice) VALUES (1, 1, '', 'tie')`,
				`INSERT INTO adjudications (campaign_id, task_id, criterion, value) VALUES (1, 3, 'overall', 1)`,
			} {
				if err := exec(q); err != nil {
					t.Errorf("%s: %v", q, err)
				}
			}
			for _, tt := range []struct{ name, q string }{
				{"a UI rating without an annotator", `INSERT INTO ratings (task_id, annotator_id, answers, client_id) VALUES (4, NULL, '{"overall":2}', 'c9')`},
				{"an imported rating without a key", `INSERT INTO ratings (task_id, annotator_id, answers, client_id, imported) VALUES (5, NULL, '{"overall":2}', 'c9', TRUE)`},
				{"an import key on a UI rating", `INSERT INTO ratings (task_id, annotator_id, answers, client_id, import_key) VALUES (4, 1, '{"overall":2}', 'c9', 'k9')`},
				{"the same import key twice on a task", `INSERT INTO ratings (task_id, answers, client_id, imported, import_key) VALUES (5, '{"overall":2}', 'import:k1b', TRUE, 'k1')`},
				{"an open imported task", `INSERT INTO tasks (campaign_id, image_id, kind, caption_id, ratings_wanted, ratings_done, origin) VALUES (1, 2, 'single', 2, 1, 0, 'imported')`},
				{"an imported gold task", `INSERT INTO tasks (campaign_id, image_id, kind, ratings_wanted, ratings_done, is_gold, gold_answer, origin) VALUES (1, 2, 'single', 1, 1, TRUE, '{}', 'imported')`},
				{"an imported task taking one more wanted rating", `UPDATE tasks SET ratings_wanted = ratings_wanted + 1 WHERE id = 5`},
				{"an unknown origin", `INSERT INTO tasks (campaign_id, image_id, kind, caption_id, origin) VALUES (1, 2, 'single', 2, 'elsewhere')`},
				{"an adjudication with a value and a choice", `INSERT INTO adjudications (campaign_id, task_id, criterion, value, choice) VALUES (1, 1, 'overall', 3, 'a')`},
				{"a Likert adjudication without a criterion", `INSERT INTO adjudications (campaign_id, task_id, value) VALUES (1, 1, 3)`},
				{"a pairwise adjudication with a criterion", `INSERT INTO adjudications (campaign_id, task_id, criterion, choice) VALUES (1, 1, 'overall', 'a')`},
				{"an unknown choice", `INSERT INTO adjudications (campaign_id, task_id, choice) VALUES (1, 1, 'c')`},
				{"an adjudication of a missing task", `INSERT INTO adjudications (campaign_id, task_id, criterion, value) VALUES (1, 99, 'overall', 3)`},
				{"deleting an adjudicated task without ratings", `DELETE FROM tasks WHERE id = 3`},
			} {
				if err := exec(tt.q); err == nil {
					t.Errorf("%s was accepted: %s", tt.name, tt.q)
				}
			}
			if got := countRows(t, db, "ratings", "imported"); got != 2 {
				t.Errorf("%d imported ratings, want 2", got)
			}
			if got := countRows(t, db, "adjudications", ""); got != 4 {
				t.Errorf("%d adjudications, want 4", got)
			}
			// An unrated, unadjudicated task still goes; the adjudicated one
			// stays.
			if err := exec(`DELETE FROM tasks WHERE id = 4`); err != nil {
				t.Errorf("delete an open task: %v", err)
			}
			if got := countRows(t, db, "tasks", "id = 3"); got != 1 {
				t.Errorf("the adjudicated task 3 was deleted")
			}
		})
	}
}
