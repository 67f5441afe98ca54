-- 0008_rating_replacements (SQLite): replacement ratings for the ratings
-- of excluded annotators.
--
-- * rating_replacements: a rating of an excluded annotator for which the
--   lead asked for one more rating on its task (its ratings_wanted went up
--   by one in the same transaction), with who and when. A rating is
--   replaced at most once: excluding, including and excluding its
--   annotator again asks for nothing more. The rating itself is kept and
--   unchanged, like every rating (RESTRICT): including its annotator again
--   counts it, beside its replacement.

CREATE TABLE rating_replacements (
    rating_id  INTEGER PRIMARY KEY REFERENCES ratings (id) ON DELETE RESTRICT,
    task_id    INTEGER NOT NULL REFERENCES tasks (id) ON DELETE RESTRICT,
    decided_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'))
);
CREATE INDEX rating_replacements_task_idx ON rating_replacements (task_id);
CREATE INDEX rating_replacements_decided_by_idx ON rating_replacements (decided_by);
