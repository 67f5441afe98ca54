package models

import (
	"context"
	"fmt"
)

// Deletes of what tasks hold. Human work is never deleted: the schema
// (migration 0004) refuses to delete a task that has ratings, and the
// captions, image and campaign such a task holds. These methods delete a
// row together with the tasks that hold it and have no rating (their
// leases and caption links go with them), or refuse with ErrHeld and a
// message that counts what holds it; a campaign is archived (closed), not
// deleted. Each runs in one transaction: the unrated tasks are deleted
// first, so that what is counted after is exactly what holds the row, and a
// rating cannot arrive on a task the transaction has deleted.

// holder is a condition on tasks (unaliased: SQLite's DELETE takes no
// alias) that is true of the tasks holding one row.
type holder struct {
	what  string // "captioner 3"
	where string
	args  []any
}

// DeleteCaption deletes a caption (its scores go with it). A caption that a
// rated task shows or stands for is ErrHeld; a missing one ErrNotFound.
func (s *Store) DeleteCaption(ctx context.Context, id int64) error {
	return s.deleteHeld(ctx, holder{what: fmt.Sprintf("caption %d", id),
		where: `tasks.caption_id = ? OR tasks.caption_b_id = ?
			OR EXISTS (SELECT 1 FROM task_captions tc WHERE tc.task_id = tasks.id AND tc.caption_id = ?)`,
		args: []any{id, id, id}}, "captions", id)
}

// DeleteCaptioner deletes a captioner with its captions, scores and
// aggregates. A captioner one of whose captions a rated task shows or
// stands for is ErrHeld; a missing one ErrNotFound.
func (s *Store) DeleteCaptioner(ctx context.Context, id int64) error {
	return s.deleteHeld(ctx, holder{what: fmt.Sprintf("captioner %d", id),
		where: `tasks.caption_id IN (SELECT id FROM captions WHERE captioner_id = ?)
			OR tasks.caption_b_id IN (SELECT id FROM captions WHERE captioner_id = ?)
			OR EXISTS (SELECT 1 FROM task_captions tc JOIN captions p ON p.id = tc.caption_id
				WHERE tc.task_id = tasks.id AND p.captioner_id = ?)`,
		args: []any{id, id, id}}, "captioners", id)
}

// DeleteImage deletes an image with its references and captions. An image
// that a rated task shows (gold tasks included) is ErrHeld; a missing one
// ErrNotFound. The image file stays in the content-addressed store: other
// rows may share it.
func (s *Store) DeleteImage(ctx context.Context, id int64) error {
	return s.deleteHeld(ctx, holder{what: fmt.Sprintf("image %d", id),
		where: `tasks.image_id = ?
			OR tasks.caption_id IN (SELECT id FROM captions WHERE image_id = ?)
			OR tasks.caption_b_id IN (SELECT id FROM captions WHERE image_id = ?)
			OR EXISTS (SELECT 1 FROM task_captions tc JOIN captions p ON p.id = tc.caption_id
				WHERE tc.task_id = tasks.id AND p.image_id = ?)`,
		args: []any{id, id, id, id}}, "images", id)
}

// DeleteCampaign deletes a campaign and everything in it. A campaign with
// ratings is ErrHeld (close it instead: a closed campaign keeps
// everything); a missing one ErrNotFound.
func (s *Store) DeleteCampaign(ctx context.Context, id int64) error {
	return s.deleteHeld(ctx, holder{what: fmt.Sprintf("campaign %d", id),
		where: `tasks.campaign_id = ?`, args: []any{id}}, "campaigns", id)
}

// deleteHeld deletes the row id of table unless rated tasks hold it, after
// deleting the unrated tasks that do.
func (s *Store) deleteHeld(ctx context.Context, h holder, table string, id int64) error {
	err := s.InTx(ctx, func(tx *Store) error {
		err := tx.conn(ctx).Exec(`DELETE FROM tasks WHERE (`+h.where+`)
			AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.task_id = tasks.id)`, h.args...).Error
		if err != nil {
			return err
		}
		var held struct {
			Ratings int64
			Tasks   int64
		}
		err = tx.conn(ctx).Raw(`SELECT count(*) AS ratings, count(DISTINCT r.task_id) AS tasks
			FROM ratings r JOIN tasks ON tasks.id = r.task_id WHERE `+h.where, h.args...).Scan(&held).Error
		if err != nil {
			return err
		}
		if held.Ratings > 0 {
			instead := "archive the campaign instead (close it: a closed campaign keeps everything)"
			if table == "campaigns" {
				instead = "archive it instead (close it: a closed campaign keeps everything)"
			}
			return fmt.Errorf("%w: %s has %d ratings on %d tasks: %s", ErrHeld, h.what, held.Ratings, held.Tasks, instead)
		}
		// table is one of the constants above, never input.
		res := tx.conn(ctx).Exec(`DELETE FROM `+table+` WHERE id = ?`, id)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("no %s: %w", h.what, ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return wrap(err, "delete %s", h.what)
	}
	return nil
}
