-- 0006_rating_quality (SQLite): the lead's quality controls of human rating.
--
-- * campaign_quality: a campaign's quality settings, one row per campaign;
--   a campaign without a row has every control off. qualification_tasks:
--   the first N tasks a new annotator gets are gold (0: no qualification),
--   passed at qualification_accuracy or more; min_accuracy flags an
--   annotator whose gold accuracy falls below it once they have answered
--   min_gold_answers gold tasks, and exclude_flagged leaves the ratings of
--   such an annotator out of the results; min_seconds flags faster
--   ratings; daily_cap bounds an annotator's ratings per UTC day (0: no
--   cap); straight_line_window flags that many consecutive ratings with one
--   and the same value (0: off). The ranges are the service's, repeated
--   here so that no writer can store a setting the service would refuse.
-- * annotator_exclusions: the lead's explicit decision about an annotator
--   of a campaign, with who and when: excluded = 1 leaves their ratings out
--   of the results (and the queue hands them nothing more), excluded = 0
--   keeps them in whatever the flags say. No row: the settings decide.
--   Ratings are never deleted: a decision only changes what counts, it can
--   be changed or withdrawn, and each change is in the audit log.
-- * left_out_tasks: set-aside tasks (migration 0005) the lead decided to
--   leave out of the campaign for good. A set-aside task without a row
--   waits for the lead; putting a task back clears its set_aside_at and
--   deletes its row.

CREATE TABLE campaign_quality (
    campaign_id            INTEGER PRIMARY KEY REFERENCES campaigns (id) ON DELETE CASCADE,
    qualification_tasks    INTEGER NOT NULL DEFAULT 0 CHECK (qualification_tasks BETWEEN 0 AND 100),
    qualification_accuracy REAL    NOT NULL DEFAULT 0 CHECK (qualification_accuracy BETWEEN 0 AND 1),
    min_accuracy           REAL    NOT NULL DEFAULT 0 CHECK (min_accuracy BETWEEN 0 AND 1),
    min_gold_answers       INTEGER NOT NULL DEFAULT 5 CHECK (min_gold_answers BETWEEN 1 AND 1000),
    exclude_flagged        BOOLEAN NOT NULL DEFAULT 0 CHECK (exclude_flagged IN (0, 1)),
    min_seconds            REAL    NOT NULL DEFAULT 0 CHECK (min_seconds BETWEEN 0 AND 3600),
    daily_cap              INTEGER NOT NULL DEFAULT 0 CHECK (daily_cap BETWEEN 0 AND 100000),
    straight_line_window   INTEGER NOT NULL DEFAULT 0 CHECK (straight_line_window = 0 OR straight_line_window BETWEEN 3 AND 1000),
    updated_by             INTEGER REFERENCES users (id) ON DELETE SET NULL,
    updated_at             DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'))
);
CREATE INDEX campaign_quality_updated_by_idx ON campaign_quality (updated_by);

CREATE TABLE annotator_exclusions (
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    annotator_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    excluded     BOOLEAN NOT NULL CHECK (excluded IN (0, 1)),
    reason       TEXT    NOT NULL DEFAULT '',
    decided_by   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    decided_at   DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    PRIMARY KEY (campaign_id, annotator_id)
);
CREATE INDEX annotator_exclusions_annotator_idx ON annotator_exclusions (annotator_id);
CREATE INDEX annotator_exclusions_decided_by_idx ON annotator_exclusions (decided_by);

CREATE TABLE left_out_tasks (
    task_id    INTEGER PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
    decided_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    decided_at DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'))
);
CREATE INDEX left_out_tasks_decided_by_idx ON left_out_tasks (decided_by);
-- The lead's progress view lists a campaign's set-aside tasks.
CREATE INDEX tasks_set_aside_idx ON tasks (campaign_id, set_aside_at) WHERE set_aside_at IS NOT NULL;
