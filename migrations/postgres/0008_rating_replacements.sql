-- 0008_rating_replacements (PostgreSQL): replacement ratings for the
-- ratings of excluded annotators; the same as
-- sqlite/0008_rating_replacements.sql, which explains it.

CREATE TABLE rating_replacements (
    rating_id  BIGINT PRIMARY KEY REFERENCES ratings (id) ON DELETE RESTRICT,
    task_id    BIGINT NOT NULL REFERENCES tasks (id) ON DELETE RESTRICT,
    decided_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX rating_replacements_task_idx ON rating_replacements (task_id);
CREATE INDEX rating_replacements_decided_by_idx ON rating_replacements (decided_by);
