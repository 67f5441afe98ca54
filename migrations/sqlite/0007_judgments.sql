-- 0007_judgments (SQLite): human judgments collected elsewhere, and the
-- lead's adjudicated values.
--
-- * tasks.origin says where a task comes from: 'selection' (the selection
--   queued it), 'lead_gold' (a gold task the lead wrote; backfilled from the
--   author_id that such a task's gold answer carries) or 'imported' (it
--   carries ratings imported from a file). An imported task is a single
--   caption, never gold, and always complete (ratings_done =
--   ratings_wanted): the queue's pick and its partial indexes read open
--   tasks only, so no annotator is ever handed one. An import that adds
--   ratings to such a task raises both counts in one UPDATE.
-- * ratings.imported marks a rating imported from a file (a crowdsourcing
--   export, an earlier study, a published dataset); external_annotator is
--   the file's annotator id ('' when it gives none, as averaged published
--   scores do). Such a rating needs no capeval user: annotator_id may be
--   NULL, for imported ratings only. import_key makes an import idempotent:
--   the same key on the same task is refused, and since a task belongs to
--   one campaign and an imported task to one (image, caption), a key that
--   names its image, captioner and annotator (and an ordinal for repeats)
--   is unique per campaign. An imported rating's answers may hold real
--   numbers within the criterion's scale (published datasets carry means).
--   Imported ratings still need a client_id (the importer derives it from
--   the key).
--   SQLite cannot drop a NOT NULL in place: ratings is rebuilt (nothing
--   references it).
-- * adjudications: a lead's decision on an item the annotators disagree
--   about. Likert: the value of one criterion (its key) for a task;
--   pairwise: the choice (criterion ''). Rows are never updated: the latest
--   row per (task, criterion) wins, and a row with neither value nor choice
--   withdraws the decision, so the history stays. Each is also in the audit
--   log. Like ratings, they are human work: RESTRICT from tasks.

ALTER TABLE tasks ADD COLUMN origin TEXT NOT NULL DEFAULT 'selection'
    CHECK (origin IN ('selection', 'lead_gold', 'imported')
           AND (origin <> 'imported' OR (is_gold = 0 AND kind = 'single' AND ratings_done = ratings_wanted)));
UPDATE tasks SET origin = 'lead_gold' WHERE is_gold = 1 AND json_type(gold_answer, '$.author_id') IS NOT NULL;

CREATE TABLE ratings_new (
    id                 INTEGER PRIMARY KEY,
    task_id            INTEGER NOT NULL REFERENCES tasks (id) ON DELETE RESTRICT,
    annotator_id       INTEGER REFERENCES users (id) ON DELETE RESTRICT,
    answers            TEXT    NOT NULL CHECK (json_valid(answers)),
    shown_position     INTEGER NOT NULL DEFAULT 0 CHECK (shown_position IN (0, 1)),
    duration_ms        INTEGER NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
    client_id          TEXT    NOT NULL CHECK (client_id <> ''),
    created_at         DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    choice             TEXT CHECK (choice IN ('a', 'b', 'tie', 'both_bad')),
    comment            TEXT    NOT NULL DEFAULT '',
    late               BOOLEAN NOT NULL DEFAULT 0 CHECK (late IN (0, 1)),
    revised_at         DATETIME,
    revisions          INTEGER NOT NULL DEFAULT 0 CHECK (revisions >= 0),
    imported           BOOLEAN NOT NULL DEFAULT 0 CHECK (imported IN (0, 1)),
    external_annotator TEXT    NOT NULL DEFAULT '',
    import_key         TEXT,
    UNIQUE (task_id, annotator_id),
    UNIQUE (annotator_id, client_id),
    UNIQUE (task_id, import_key),
    CONSTRAINT ratings_annotator_check CHECK (annotator_id IS NOT NULL OR imported = 1),
    CONSTRAINT ratings_import_check CHECK (
        (imported = 1 AND import_key IS NOT NULL AND import_key <> '')
        OR (imported = 0 AND import_key IS NULL AND external_annotator = ''))
);
INSERT INTO ratings_new (id, task_id, annotator_id, answers, shown_position, duration_ms, client_id, created_at,
                         choice, comment, late, revised_at, revisions)
SELECT id, task_id, annotator_id, answers, shown_position, duration_ms, client_id, created_at,
       choice, comment, late, revised_at, revisions FROM ratings;
DROP TABLE ratings;
ALTER TABLE ratings_new RENAME TO ratings;
CREATE INDEX ratings_annotator_idx ON ratings (annotator_id, created_at);

CREATE TABLE adjudications (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE RESTRICT,
    task_id     INTEGER NOT NULL REFERENCES tasks (id) ON DELETE RESTRICT,
    criterion   TEXT    NOT NULL DEFAULT '',
    value       REAL,
    choice      TEXT CHECK (choice IN ('a', 'b', 'tie', 'both_bad')),
    note        TEXT    NOT NULL DEFAULT '',
    decided_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at  DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    CONSTRAINT adjudications_answer_check CHECK (
        (value IS NULL OR choice IS NULL)
        AND (value IS NULL OR criterion <> '')
        AND (choice IS NULL OR criterion = ''))
);
CREATE INDEX adjudications_task_idx ON adjudications (task_id, criterion, id);
CREATE INDEX adjudications_campaign_idx ON adjudications (campaign_id, id);
CREATE INDEX adjudications_decided_by_idx ON adjudications (decided_by);
