-- 0001_initial (SQLite): the whole data model of DESIGN.md.
--
-- Conventions, kept identical in postgres/0001_initial.sql:
-- * INTEGER PRIMARY KEY: an alias of the rowid, the cheapest key SQLite has.
-- * Timestamps are DATETIME columns holding UTC text as the mattn driver writes
--   time.Time ("2006-01-02 15:04:05.999999999+00:00"); the driver parses
--   DATETIME columns back into time.Time. The store writes UTC only, so text
--   order is time order. Defaults use the same layout for raw inserts.
-- * JSON lives in TEXT checked with json_valid; an absent value is JSON null,
--   so a JSON column is never SQL NULL.
-- * Booleans are 0/1 with a CHECK.
-- * Every foreign key has an index on the child side (the unique constraints
--   often serve), so ON DELETE CASCADE and joins never scan a whole table.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL CHECK (email <> ''),
    name          TEXT    NOT NULL DEFAULT '',
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'lead', 'annotator')),
    password_hash TEXT    NOT NULL DEFAULT '',
    disabled      BOOLEAN NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    -- Bumped by logout and password change; tokens carry the version they were
    -- issued at, and older ones are refused.
    token_version INTEGER NOT NULL DEFAULT 0,
    created_at    DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    updated_at    DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'))
);
-- Emails are unique whatever their case (SQLite's lower() folds ASCII only).
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TABLE campaigns (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE CHECK (name <> ''),
    description   TEXT NOT NULL DEFAULT '',
    mode          TEXT NOT NULL CHECK (mode IN ('likert', 'pairwise')),
    rubric        TEXT NOT NULL DEFAULT 'null' CHECK (json_valid(rubric)),
    thresholds    TEXT NOT NULL DEFAULT 'null' CHECK (json_valid(thresholds)),
    blend_weights TEXT NOT NULL DEFAULT 'null' CHECK (json_valid(blend_weights)),
    status        TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'collecting', 'closed')),
    created_by    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at    DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    updated_at    DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'))
);
CREATE INDEX campaigns_created_by_idx ON campaigns (created_by);

-- Who may annotate a campaign.
CREATE TABLE campaign_annotators (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    PRIMARY KEY (campaign_id, user_id)
);
CREATE INDEX campaign_annotators_user_idx ON campaign_annotators (user_id);

CREATE TABLE images (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    external_id TEXT    NOT NULL CHECK (external_id <> ''),
    sha256      TEXT    NOT NULL DEFAULT '',
    storage_key TEXT    NOT NULL DEFAULT '',
    width       INTEGER NOT NULL DEFAULT 0 CHECK (width >= 0),
    height      INTEGER NOT NULL DEFAULT 0 CHECK (height >= 0),
    tags        TEXT    NOT NULL DEFAULT 'null' CHECK (json_valid(tags)),
    created_at  DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    UNIQUE (campaign_id, external_id)
);
-- Import finds duplicate images of a campaign by content hash.
CREATE INDEX images_campaign_sha256_idx ON images (campaign_id, sha256);

-- Human reference captions of an image. Not named "references": that is an SQL
-- keyword and would need quoting in every hand-written query.
CREATE TABLE image_references (
    id       INTEGER PRIMARY KEY,
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    position INTEGER NOT NULL CHECK (position >= 0),
    text     TEXT    NOT NULL,
    UNIQUE (image_id, position)
);

-- A model under evaluation; a new version is a new captioner.
CREATE TABLE captioners (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    name        TEXT NOT NULL CHECK (name <> ''),
    version     TEXT NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    UNIQUE (campaign_id, name, version)
);

CREATE TABLE captions (
    id           INTEGER PRIMARY KEY,
    captioner_id INTEGER NOT NULL REFERENCES captioners (id) ON DELETE CASCADE,
    image_id     INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    text         TEXT    NOT NULL,
    UNIQUE (captioner_id, image_id)
);
CREATE INDEX captions_image_idx ON captions (image_id);

-- Per-caption automatic scores. One value per (caption, metric): re-scoring with
-- a new metric version replaces it.
CREATE TABLE scores (
    id             INTEGER PRIMARY KEY,
    caption_id     INTEGER NOT NULL REFERENCES captions (id) ON DELETE CASCADE,
    metric         TEXT    NOT NULL CHECK (metric <> ''),
    value          REAL    NOT NULL,
    metric_version TEXT    NOT NULL DEFAULT '',
    created_at     DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    UNIQUE (caption_id, metric)
);

-- Per-captioner aggregates (corpus-level BLEU and CIDEr-D are not means of the
-- per-caption values, so they are stored, not derived).
CREATE TABLE captioner_scores (
    id             INTEGER PRIMARY KEY,
    captioner_id   INTEGER NOT NULL REFERENCES captioners (id) ON DELETE CASCADE,
    metric         TEXT    NOT NULL CHECK (metric <> ''),
    value          REAL    NOT NULL,
    metric_version TEXT    NOT NULL DEFAULT '',
    n              INTEGER NOT NULL DEFAULT 0 CHECK (n >= 0),
    created_at     DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    UNIQUE (captioner_id, metric)
);
CREATE INDEX captioner_scores_metric_idx ON captioner_scores (metric, value);

CREATE TABLE eval_jobs (
    id           INTEGER PRIMARY KEY,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL CHECK (kind <> ''),
    status       TEXT    NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    done         INTEGER NOT NULL DEFAULT 0 CHECK (done >= 0),
    total        INTEGER NOT NULL DEFAULT 0 CHECK (total >= 0),
    device       TEXT    NOT NULL DEFAULT '',
    error        TEXT    NOT NULL DEFAULT '',
    -- The worker that claimed the job and its last sign of life: a running job
    -- whose heartbeat is old is reclaimed after a crash.
    worker_id    TEXT    NOT NULL DEFAULT '',
    created_at   DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    started_at   DATETIME,
    finished_at  DATETIME,
    heartbeat_at DATETIME
);
-- Workers claim the oldest queued job; the UI lists a campaign's jobs.
CREATE INDEX eval_jobs_status_idx ON eval_jobs (status, created_at);
CREATE INDEX eval_jobs_campaign_idx ON eval_jobs (campaign_id, created_at);

-- CLIP embeddings cached by content hash, shared across campaigns.
-- vector holds dim little-endian float32 values.
CREATE TABLE embeddings (
    id           INTEGER PRIMARY KEY,
    model_key    TEXT    NOT NULL CHECK (model_key <> ''),
    kind         TEXT    NOT NULL CHECK (kind IN ('image', 'text')),
    content_hash TEXT    NOT NULL CHECK (content_hash <> ''),
    dim          INTEGER NOT NULL CHECK (dim > 0),
    vector       BLOB    NOT NULL CHECK (length(vector) = 4 * dim),
    created_at   DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    UNIQUE (model_key, kind, content_hash)
);

-- A unit of human work: one caption (Likert) or a pair (pairwise).
CREATE TABLE tasks (
    id             INTEGER PRIMARY KEY,
    campaign_id    INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    kind           TEXT    NOT NULL CHECK (kind IN ('single', 'pair')),
    caption_id     INTEGER NOT NULL REFERENCES captions (id) ON DELETE CASCADE,
    caption_b_id   INTEGER REFERENCES captions (id) ON DELETE CASCADE,
    ratings_wanted INTEGER NOT NULL DEFAULT 1 CHECK (ratings_wanted >= 1),
    -- Submitted ratings, kept with the task so that "never more ratings than
    -- wanted" is a constraint of the database, not only of the code.
    ratings_done   INTEGER NOT NULL DEFAULT 0 CHECK (ratings_done >= 0 AND ratings_done <= ratings_wanted),
    is_gold        BOOLEAN NOT NULL DEFAULT 0 CHECK (is_gold IN (0, 1)),
    gold_answer    TEXT    NOT NULL DEFAULT 'null' CHECK (json_valid(gold_answer)),
    -- The recorded seed of the selection that created the task and the task's
    -- place in the campaign's queue order.
    seed           INTEGER NOT NULL DEFAULT 0,
    position       INTEGER NOT NULL DEFAULT 0,
    created_at     DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    CHECK ((kind = 'single' AND caption_b_id IS NULL)
        OR (kind = 'pair' AND caption_b_id IS NOT NULL AND caption_b_id <> caption_id))
);
-- The queue walks a campaign's tasks in position order.
CREATE INDEX tasks_queue_idx ON tasks (campaign_id, position);
CREATE INDEX tasks_caption_idx ON tasks (caption_id);
CREATE INDEX tasks_caption_b_idx ON tasks (caption_b_id);

-- An annotator's claim on a task until expires_at; an expired lease gives the
-- task back.
CREATE TABLE leases (
    id           INTEGER PRIMARY KEY,
    task_id      INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    annotator_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at   DATETIME NOT NULL,
    created_at   DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    UNIQUE (task_id, annotator_id)
);
CREATE INDEX leases_annotator_idx ON leases (annotator_id, expires_at);
CREATE INDEX leases_expires_idx ON leases (expires_at);

-- A submitted rating. (annotator_id, client_id) makes a retried submission
-- idempotent; (task_id, annotator_id) stops anyone rating a task twice. Users
-- with ratings cannot be deleted (disable them instead): RESTRICT.
CREATE TABLE ratings (
    id             INTEGER PRIMARY KEY,
    task_id        INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    annotator_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    answers        TEXT    NOT NULL CHECK (json_valid(answers)),
    -- Pairwise: 0 when caption A was shown first, 1 when the pair was swapped.
    shown_position INTEGER NOT NULL DEFAULT 0 CHECK (shown_position IN (0, 1)),
    duration_ms    INTEGER NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
    client_id      TEXT    NOT NULL CHECK (client_id <> ''),
    created_at     DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    UNIQUE (task_id, annotator_id),
    UNIQUE (annotator_id, client_id)
);

-- Who changed what (thresholds, blend weights, campaign settings), before and
-- after, and when. actor_id is NULL for changes made by the CLI or the system.
CREATE TABLE audit_entries (
    id          INTEGER PRIMARY KEY,
    actor_id    INTEGER REFERENCES users (id) ON DELETE RESTRICT,
    campaign_id INTEGER REFERENCES campaigns (id) ON DELETE SET NULL,
    action      TEXT NOT NULL CHECK (action <> ''),
    before      TEXT NOT NULL DEFAULT 'null' CHECK (json_valid(before)),
    after       TEXT NOT NULL DEFAULT 'null' CHECK (json_valid(after)),
    created_at  DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'))
);
CREATE INDEX audit_entries_campaign_idx ON audit_entries (campaign_id, created_at);
CREATE INDEX audit_entries_actor_idx ON audit_entries (actor_id);
