-- 0003_task_captions (SQLite): which captions a task's rating stands for.
--
-- Identical caption texts of one image (after white space and case
-- normalization) are rated once: the selection creates one task and links it
-- here to every caption with that text, so the rating is shared by all of
-- them. tasks.caption_id (and caption_b_id) keep pointing to one
-- representative caption of each side, the one shown.
--
-- side is 0 for the captions of side A (tasks.caption_id's text) and 1 for
-- side B (tasks.caption_b_id's) in a pair task; single tasks use side 0 only.
-- Gold tasks have no rows: their ratings judge the annotator, not a caption.
CREATE TABLE task_captions (
    task_id    INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    caption_id INTEGER NOT NULL REFERENCES captions (id) ON DELETE CASCADE,
    side       INTEGER NOT NULL DEFAULT 0 CHECK (side IN (0, 1)),
    PRIMARY KEY (task_id, caption_id)
);
-- Agreement and blending read the ratings of a caption through its tasks.
CREATE INDEX task_captions_caption_idx ON task_captions (caption_id);
