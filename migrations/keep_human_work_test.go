package migrations_test

import (
	"context"
	"database/sql"
	"testing"

	"capeval/migrations"
	"capeval/models/modelstest"
)

// Migration 0004 on a database with data in it, on both dialects: rows
// created at version 3 (a rated and a leased task, gold tasks that borrow
// captions to carry their image, caption links) are all kept, image_id is
// backfilled from the shown caption, the gold tasks lose their borrowed
// captions, and from then on the schema refuses every delete that would
// take a rating with it, while what no rating holds can still go.
func TestKeepHumanWorkMigratesData(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			db, _ := openEmpty(t, dialect)
			if _, err := migrations.ApplyUpTo(ctx, db, dialect, modelstest.Logger(t), 3); err != nil {
				t.Fatal(err)
			}
			exec := func(q string) error {
				_, err := db.ExecContext(ctx, q)
				return err
			}
			for _, q := range []string{
				`INSERT INTO users (id, email, role) VALUES (1, 'ann@example.com', 'annotator')`,
				`INSERT INTO campaigns (id, name, mode) VALUES (1, 'c', 'pairwise')`,
				`INSERT INTO images (id, campaign_id, external_id) VALUES (1, 1, 'i1'), (2, 1, 'i2')`,
				`INSERT INTO captioners (id, campaign_id, name, version) VALUES (1, 1, 'm', '1'), (2, 1, 'm', '2')`,
				`INSERT INTO captions (id, captioner_id, image_id, text) VALUES (1, 1, 1, 'a dog'), (2, 2, 1, 'A dog'), (3, 1, 2, 'a cat'), (4, 2, 2, 'a car')`,
				// 1: single, rated, standing for captions 1 and 2 (same text);
				// 2: pair, leased; 3: gold, rated, borrowing caption 2 for
				// image 1; 4: gold pair borrowing captions 3 and 4 for image 2.
				`INSERT INTO tasks (id, campaign_id, kind, caption_id, caption_b_id, ratings_wanted, ratings_done, is_gold, gold_answer, position) VALUES
					(1, 1, 'single', 1, NULL, 1, 1, FALSE, 'null', 1),
					(2, 1, 'pair', 3, 4, 1, 0, FALSE, 'null', 2),
					(3, 1, 'single', 2, NULL, 1, 1, TRUE, '{"kind":"known_good","text":"a dog"}', 3),
					(4, 1, 'pair', 3, 4, 1, 0, TRUE, '{"kind":"known_pair"}', 4)`,
				`INSERT INTO task_captions (task_id, caption_id, side) VALUES (1, 1, 0), (1, 2, 0), (2, 3, 0), (2, 4, 1)`,
				`INSERT INTO leases (id, task_id, annotator_id, expires_at) VALUES (1, 2, 1, '2999-01-01 00:00:00+00:00')`,
				`INSERT INTO ratings (id, task_id, annotator_id, answers, client_id) VALUES (1, 1, 1, '{"overall":4}', 'c1'), (2, 3, 1, '{"overall":5}', 'c2')`,
			} {
				if err := exec(q); err != nil {
					t.Fatalf("seed at version 3: %v\n%s", err, q)
				}
			}

			applied, err := migrations.Apply(ctx, db, dialect, modelstest.Logger(t))
			if err != nil {
				t.Fatalf("migrate a database with data: %v", err)
			}
			if len(applied) == 0 || applied[0] != 4 {
				t.Fatalf("applied %v, want 4 first", applied)
			}

			for table, want := range map[string]int{"tasks": 4, "task_captions": 4, "leases": 1, "ratings": 2, "captions": 4, "images": 2} {
				if got := countRows(t, db, table, ""); got != want {
					t.Errorf("%s: %d rows after the migration, want %d", table, got, want)
				}
			}
			type taskRow struct {
				image        int64
				caption      sql.NullInt64
				captionB     sql.NullInt64
				done         int
				goldAnswer   string
				ratingClient string
			}
			want := map[int64]taskRow{
				1: {image: 1, caption: sql.NullInt64{Int64: 1, Valid: true}, done: 1, goldAnswer: "null", ratingClient: "c1"},
				2: {image: 2, caption: sql.NullInt64{Int64: 3, Valid: true}, captionB: sql.NullInt64{Int64: 4, Valid: true}, goldAnswer: "null"},
				3: {image: 1, done: 1, goldAnswer: `{"kind":"known_good","text":"a dog"}`, ratingClient: "c2"},
				4: {image: 2, goldAnswer: `{"kind":"known_pair"}`},
			}
			rows, err := db.QueryContext(ctx, `SELECT t.id, t.image_id, t.caption_id, t.caption_b_id, t.ratings_done, t.gold_answer,
				COALESCE((SELECT r.client_id FROM ratings r WHERE r.task_id = t.id), '') FROM tasks t ORDER BY t.id`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id int64
				var got taskRow
				if err := rows.Scan(&id, &got.image, &got.caption, &got.captionB, &got.done, &got.goldAnswer, &got.ratingClient); err != nil {
					t.Fatal(err)
				}
				if got != want[id] {
					t.Errorf("task %d after the migration = %+v, want %+v", id, got, want[id])
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			rows.Close()

			// What a rating holds cannot be deleted, by a cascade or directly.
			for _, q := range []string{
				`DELETE FROM tasks WHERE id = 1`,
				`DELETE FROM tasks WHERE id = 3`,
				`DELETE FROM captions WHERE id = 1`,
				`DELETE FROM captions WHERE id = 2`, // linked to task 1 (shared text)
				`DELETE FROM captioners WHERE id = 2`,
				`DELETE FROM images WHERE id = 1`,
				`DELETE FROM campaigns WHERE id = 1`,
			} {
				if err := exec(q); err == nil {
					t.Errorf("%s succeeded: a rating's task or what it holds was deleted", q)
				}
				if got := countRows(t, db, "ratings", ""); got != 2 {
					t.Fatalf("after %s: %d ratings, want 2", q, got)
				}
			}
			// What no rating holds still goes, leases and links with it.
			for _, q := range []string{`DELETE FROM tasks WHERE id = 2`, `DELETE FROM tasks WHERE id = 4`, `DELETE FROM images WHERE id = 2`} {
				if err := exec(q); err != nil {
					t.Errorf("%s: %v", q, err)
				}
			}
			if l, tc, c := countRows(t, db, "leases", ""), countRows(t, db, "task_captions", ""), countRows(t, db, "captions", ""); l != 0 || tc != 2 || c != 2 {
				t.Errorf("after deleting the unrated tasks and image 2: %d leases, %d links, %d captions; want 0, 2, 2", l, tc, c)
			}
			// The new invariant holds for new rows: a gold task carries no caption.
			if err := exec(`INSERT INTO tasks (campaign_id, image_id, kind, caption_id, is_gold, gold_answer) VALUES (1, 1, 'single', 1, TRUE, '{}')`); err == nil {
				t.Error("a gold task with a caption was accepted")
			}
		})
	}
}

func countRows(t *testing.T, db *sql.DB, table, where string) int {
	t.Helper()
	var n int
	q := "SELECT count(*) FROM " + table
	if where != "" {
		q += " WHERE " + where
	}
	if err := db.QueryRowContext(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}
