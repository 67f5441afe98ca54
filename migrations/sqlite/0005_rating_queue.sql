-- 0005_rating_queue (SQLite): what the rating queue needs.
--
-- * campaigns.instructions: what the lead tells annotators, shown before
--   the first task and on `?`. It is not the description, which is the
--   lead's own note and may name the captioners.
-- * tasks.set_aside_at: a task that two annotators skipped as "image
--   broken" is set aside for the lead: the queue hands it out no more.
-- * tasks_open_idx: the queue's pick reads the open tasks of a campaign
--   (wanting more ratings, not set aside) in the order it prefers them:
--   fewest ratings, then queue position. The index holds open tasks only,
--   so the cost of "next" does not grow with the finished ones; a task
--   leaves it in the same transaction that adds its last rating. The pick
--   repeats the index's WHERE terms exactly, which is how SQLite (and
--   PostgreSQL) know the partial index applies. tasks_open_gold_idx is
--   the same for gold tasks only (an annotator in qualification gets
--   gold only; without it that pick would walk every open regular task).
-- * leases.taken_at: when the current hold began. A lease that expired
--   and is taken again starts a new hold; of two live leases that cannot
--   both be honoured (a late rating filled the slot) the older one keeps
--   the task. An expired lease is kept for a while as the record that the
--   task was handed to the annotator, so that a late rating is accepted.
--   SQLite cannot add a column with a non-constant default: leases, which
--   nothing references, is rebuilt.
-- * ratings: choice (pairwise: a, b, tie or both_bad, in the A/B terms of
--   the stored task, whatever order they were shown in), comment, late
--   (submitted after the lease expired), revised_at and revisions (the
--   annotator's undo window). ratings_annotator_idx serves an annotator's
--   ratings by time (done today, quality signals).
-- * skips: an annotator's "I cannot rate this" with its reason; the queue
--   never hands that task to that annotator again. They go with their task
--   and user: a skip is not a rating.
-- * images_sha256_idx: images are served by content hash.

ALTER TABLE campaigns ADD COLUMN instructions TEXT NOT NULL DEFAULT '';

ALTER TABLE tasks ADD COLUMN set_aside_at DATETIME;
CREATE INDEX tasks_open_idx ON tasks (campaign_id, ratings_done, position, id)
    WHERE ratings_done < ratings_wanted AND set_aside_at IS NULL;
CREATE INDEX tasks_open_gold_idx ON tasks (campaign_id, ratings_done, position, id)
    WHERE is_gold = 1 AND ratings_done < ratings_wanted AND set_aside_at IS NULL;

CREATE TABLE leases_new (
    id           INTEGER PRIMARY KEY,
    task_id      INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    annotator_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at   DATETIME NOT NULL,
    taken_at     DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    created_at   DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    UNIQUE (task_id, annotator_id)
);
INSERT INTO leases_new (id, task_id, annotator_id, expires_at, taken_at, created_at)
SELECT id, task_id, annotator_id, expires_at, created_at, created_at FROM leases;
DROP TABLE leases;
ALTER TABLE leases_new RENAME TO leases;
CREATE INDEX leases_annotator_idx ON leases (annotator_id, expires_at);
CREATE INDEX leases_expires_idx ON leases (expires_at);

ALTER TABLE ratings ADD COLUMN choice TEXT CHECK (choice IN ('a', 'b', 'tie', 'both_bad'));
ALTER TABLE ratings ADD COLUMN comment TEXT NOT NULL DEFAULT '';
ALTER TABLE ratings ADD COLUMN late BOOLEAN NOT NULL DEFAULT 0 CHECK (late IN (0, 1));
ALTER TABLE ratings ADD COLUMN revised_at DATETIME;
ALTER TABLE ratings ADD COLUMN revisions INTEGER NOT NULL DEFAULT 0 CHECK (revisions >= 0);
CREATE INDEX ratings_annotator_idx ON ratings (annotator_id, created_at);

CREATE TABLE skips (
    id           INTEGER PRIMARY KEY,
    task_id      INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    annotator_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- image_broken and cant_judge are the two fixed reasons; other is free
    -- text, held in note (the fixed ones may carry a note too).
    reason       TEXT NOT NULL CHECK (reason IN ('image_broken', 'cant_judge', 'other')),
    note         TEXT NOT NULL DEFAULT '',
    created_at   DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    UNIQUE (task_id, annotator_id),
    CHECK (reason <> 'other' OR note <> '')
);
CREATE INDEX skips_annotator_idx ON skips (annotator_id, created_at);

CREATE INDEX images_sha256_idx ON images (sha256);
