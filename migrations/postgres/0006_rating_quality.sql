-- 0006_rating_quality (PostgreSQL): the lead's quality controls of human
-- rating; the same as sqlite/0006_rating_quality.sql, which explains each
-- table.

CREATE TABLE campaign_quality (
    campaign_id            BIGINT PRIMARY KEY REFERENCES campaigns (id) ON DELETE CASCADE,
    qualification_tasks    INTEGER NOT NULL DEFAULT 0 CHECK (qualification_tasks BETWEEN 0 AND 100),
    qualification_accuracy DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (qualification_accuracy BETWEEN 0 AND 1),
    min_accuracy           DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (min_accuracy BETWEEN 0 AND 1),
    min_gold_answers       INTEGER NOT NULL DEFAULT 5 CHECK (min_gold_answers BETWEEN 1 AND 1000),
    exclude_flagged        BOOLEAN NOT NULL DEFAULT FALSE,
    min_seconds            DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (min_seconds BETWEEN 0 AND 3600),
    daily_cap              INTEGER NOT NULL DEFAULT 0 CHECK (daily_cap BETWEEN 0 AND 100000),
    straight_line_window   INTEGER NOT NULL DEFAULT 0 CHECK (straight_line_window = 0 OR straight_line_window BETWEEN 3 AND 1000),
    updated_by             BIGINT REFERENCES users (id) ON DELETE SET NULL,
    updated_at             TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX campaign_quality_updated_by_idx ON campaign_quality (updated_by);

CREATE TABLE annotator_exclusions (
    campaign_id  BIGINT  NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    annotator_id BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    excluded     BOOLEAN NOT NULL,
    reason       TEXT    NOT NULL DEFAULT '',
    decided_by   BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    decided_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, annotator_id)
);
CREATE INDEX annotator_exclusions_annotator_idx ON annotator_exclusions (annotator_id);
CREATE INDEX annotator_exclusions_decided_by_idx ON annotator_exclusions (decided_by);

CREATE TABLE left_out_tasks (
    task_id    BIGINT PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
    decided_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    decided_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX left_out_tasks_decided_by_idx ON left_out_tasks (decided_by);
CREATE INDEX tasks_set_aside_idx ON tasks (campaign_id, set_aside_at) WHERE set_aside_at IS NOT NULL;
