-- 0004_keep_human_work (SQLite): human work is never deleted by a cascade.
--
-- Until now deleting a caption, a captioner, an image or a campaign cascaded
-- through tasks into ratings. From here on:
-- * ratings.task_id is ON DELETE RESTRICT: a task that carries a rating
--   cannot be deleted, by a cascade or otherwise;
-- * tasks.caption_id, tasks.caption_b_id and task_captions.caption_id are
--   ON DELETE RESTRICT: a caption that a task shows or stands for cannot be
--   deleted while the task exists;
-- * tasks.image_id (new) names the task's image, ON DELETE RESTRICT. Gold
--   tasks used to borrow captions of their image to carry it; they now have
--   no caption at all (what they show is in gold_answer), so a caption is
--   never held by a gold task;
-- * tasks.campaign_id is ON DELETE RESTRICT too: a campaign's cascade into
--   its images and captions would otherwise race the restrictions above
--   (the order in which a cascade visits the children is not defined), and
--   a campaign is archived (closed), not deleted. The store deletes a
--   campaign without ratings explicitly: its tasks first, then the rest.
-- Leases still go with their task (an untouched task may be replaced), and
-- task_captions with theirs.
--
-- SQLite cannot change a foreign key in place: each table is rebuilt
-- (create, copy, drop, rename), with enforcement off around the migration
-- and a foreign_key_check before the commit (see migrations.go). image_id is
-- backfilled from the task's shown caption, which every task had so far (a
-- LEFT JOIN, so that a task without one stops the migration at NOT NULL
-- instead of being dropped).

CREATE TABLE tasks_new (
    id             INTEGER PRIMARY KEY,
    campaign_id    INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE RESTRICT,
    image_id       INTEGER NOT NULL REFERENCES images (id) ON DELETE RESTRICT,
    kind           TEXT    NOT NULL CHECK (kind IN ('single', 'pair')),
    caption_id     INTEGER REFERENCES captions (id) ON DELETE RESTRICT,
    caption_b_id   INTEGER REFERENCES captions (id) ON DELETE RESTRICT,
    ratings_wanted INTEGER NOT NULL DEFAULT 1 CHECK (ratings_wanted >= 1),
    ratings_done   INTEGER NOT NULL DEFAULT 0 CHECK (ratings_done >= 0 AND ratings_done <= ratings_wanted),
    is_gold        BOOLEAN NOT NULL DEFAULT 0 CHECK (is_gold IN (0, 1)),
    gold_answer    TEXT    NOT NULL DEFAULT 'null' CHECK (json_valid(gold_answer)),
    seed           INTEGER NOT NULL DEFAULT 0,
    position       INTEGER NOT NULL DEFAULT 0,
    created_at     DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    -- A gold task shows texts of its gold answer, no caption; a regular task
    -- shows one caption (single) or two different ones (pair).
    CONSTRAINT tasks_captions_check CHECK (
        (is_gold = 1 AND caption_id IS NULL AND caption_b_id IS NULL)
        OR (is_gold = 0 AND caption_id IS NOT NULL AND (
            (kind = 'single' AND caption_b_id IS NULL)
            OR (kind = 'pair' AND caption_b_id IS NOT NULL AND caption_b_id <> caption_id))))
);
INSERT INTO tasks_new (id, campaign_id, image_id, kind, caption_id, caption_b_id, ratings_wanted, ratings_done,
                       is_gold, gold_answer, seed, position, created_at)
SELECT t.id, t.campaign_id, c.image_id, t.kind,
       CASE WHEN t.is_gold = 1 THEN NULL ELSE t.caption_id END,
       CASE WHEN t.is_gold = 1 THEN NULL ELSE t.caption_b_id END,
       t.ratings_wanted, t.ratings_done, t.is_gold, t.gold_answer, t.seed, t.position, t.created_at
FROM tasks t LEFT JOIN captions c ON c.id = t.caption_id;
DROP TABLE tasks;
ALTER TABLE tasks_new RENAME TO tasks;
CREATE INDEX tasks_queue_idx ON tasks (campaign_id, position);
CREATE INDEX tasks_image_idx ON tasks (image_id);
CREATE INDEX tasks_caption_idx ON tasks (caption_id);
CREATE INDEX tasks_caption_b_idx ON tasks (caption_b_id);

CREATE TABLE task_captions_new (
    task_id    INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    caption_id INTEGER NOT NULL REFERENCES captions (id) ON DELETE RESTRICT,
    side       INTEGER NOT NULL DEFAULT 0 CHECK (side IN (0, 1)),
    PRIMARY KEY (task_id, caption_id)
);
INSERT INTO task_captions_new (task_id, caption_id, side) SELECT task_id, caption_id, side FROM task_captions;
DROP TABLE task_captions;
ALTER TABLE task_captions_new RENAME TO task_captions;
CREATE INDEX task_captions_caption_idx ON task_captions (caption_id);

CREATE TABLE ratings_new (
    id             INTEGER PRIMARY KEY,
    task_id        INTEGER NOT NULL REFERENCES tasks (id) ON DELETE RESTRICT,
    annotator_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    answers        TEXT    NOT NULL CHECK (json_valid(answers)),
    shown_position INTEGER NOT NULL DEFAULT 0 CHECK (shown_position IN (0, 1)),
    duration_ms    INTEGER NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
    client_id      TEXT    NOT NULL CHECK (client_id <> ''),
    created_at     DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    UNIQUE (task_id, annotator_id),
    UNIQUE (annotator_id, client_id)
);
INSERT INTO ratings_new (id, task_id, annotator_id, answers, shown_position, duration_ms, client_id, created_at)
SELECT id, task_id, annotator_id, answers, shown_position, duration_ms, client_id, created_at FROM ratings;
DROP TABLE ratings;
ALTER TABLE ratings_new RENAME TO ratings;
