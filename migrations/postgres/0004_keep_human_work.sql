-- 0004_keep_human_work (PostgreSQL): human work is never deleted by a
-- cascade; the same as sqlite/0004_keep_human_work.sql, which explains each
-- change. PostgreSQL alters the constraints in place.

-- A task knows its image, backfilled from its shown caption (every task
-- had one so far); gold tasks stop borrowing captions to carry it.
ALTER TABLE tasks ADD COLUMN image_id BIGINT REFERENCES images (id) ON DELETE RESTRICT;
UPDATE tasks t SET image_id = c.image_id FROM captions c WHERE c.id = t.caption_id;
ALTER TABLE tasks ALTER COLUMN image_id SET NOT NULL;
CREATE INDEX tasks_image_idx ON tasks (image_id);

-- tasks_check1 is the name PostgreSQL gave the unnamed kind/caption check
-- of 0001 (tasks_check is the ratings_done one, declared first).
ALTER TABLE tasks DROP CONSTRAINT tasks_check1;
ALTER TABLE tasks ALTER COLUMN caption_id DROP NOT NULL;
UPDATE tasks SET caption_id = NULL, caption_b_id = NULL WHERE is_gold;
ALTER TABLE tasks ADD CONSTRAINT tasks_captions_check CHECK (
    (is_gold AND caption_id IS NULL AND caption_b_id IS NULL)
    OR (NOT is_gold AND caption_id IS NOT NULL AND (
        (kind = 'single' AND caption_b_id IS NULL)
        OR (kind = 'pair' AND caption_b_id IS NOT NULL AND caption_b_id <> caption_id))));

ALTER TABLE tasks DROP CONSTRAINT tasks_campaign_id_fkey,
    ADD CONSTRAINT tasks_campaign_id_fkey FOREIGN KEY (campaign_id) REFERENCES campaigns (id) ON DELETE RESTRICT;
ALTER TABLE tasks DROP CONSTRAINT tasks_caption_id_fkey,
    ADD CONSTRAINT tasks_caption_id_fkey FOREIGN KEY (caption_id) REFERENCES captions (id) ON DELETE RESTRICT;
ALTER TABLE tasks DROP CONSTRAINT tasks_caption_b_id_fkey,
    ADD CONSTRAINT tasks_caption_b_id_fkey FOREIGN KEY (caption_b_id) REFERENCES captions (id) ON DELETE RESTRICT;
ALTER TABLE task_captions DROP CONSTRAINT task_captions_caption_id_fkey,
    ADD CONSTRAINT task_captions_caption_id_fkey FOREIGN KEY (caption_id) REFERENCES captions (id) ON DELETE RESTRICT;
ALTER TABLE ratings DROP CONSTRAINT ratings_task_id_fkey,
    ADD CONSTRAINT ratings_task_id_fkey FOREIGN KEY (task_id) REFERENCES tasks (id) ON DELETE RESTRICT;
