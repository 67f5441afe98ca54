package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The rating queue's queries (migration 0005). The queue service calls the
// ones that read and change leases, ratings and skips inside one InTx, in
// which they see and lock what they need:
//   - on SQLite the transaction holds the database's write lock from BEGIN
//     (_txlock=immediate), so the whole pick-and-lease is serial;
//   - on PostgreSQL every writer of a task's leases or ratings first locks
//     the task's row (LockTask, or PickOpenTask's FOR UPDATE SKIP LOCKED),
//     and counts the task's leases after taking the lock, in a statement of
//     its own: in READ COMMITTED each statement sees what was committed
//     before it began, so the count includes every lease whose writer held
//     the lock before. No two transactions can then both give away the
//     task's last slot, whatever the number of server replicas.

// ErrTaskFull: the task has all the ratings it wants; the rating that was
// to be added is refused (it matches ErrConflict too).
var ErrTaskFull = fmt.Errorf("%w: the task has all the ratings it wants", ErrConflict)

// QueueCampaign is a campaign as the queue reads it, with whether the
// annotator may rate it (campaign_annotators is empty or names them).
type QueueCampaign struct {
	Campaign `gorm:"embedded"`
	Allowed  bool
}

// allowedTo is true of the campaign c when the annotator (the argument) may
// rate it: it names no annotators, or names them.
const allowedTo = `(NOT EXISTS (SELECT 1 FROM campaign_annotators a WHERE a.campaign_id = c.id)
	OR EXISTS (SELECT 1 FROM campaign_annotators a WHERE a.campaign_id = c.id AND a.user_id = ?))`

// CampaignForAnnotator returns the campaign with id and whether the
// annotator may rate it, or ErrNotFound.
func (s *Store) CampaignForAnnotator(ctx context.Context, campaignID, annotatorID int64) (*QueueCampaign, error) {
	var out []QueueCampaign
	err := s.prepared(ctx).Raw(`SELECT c.*, `+allowedTo+` AS allowed FROM campaigns c WHERE c.id = ?`,
		annotatorID, campaignID).Scan(&out).Error
	if err != nil {
		return nil, wrap(err, "campaign %d for annotator %d", campaignID, annotatorID)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("models: campaign %d: %w", campaignID, ErrNotFound)
	}
	return &out[0], nil
}

// AnnotatorCampaign is a collecting campaign in an annotator's list, with
// the annotator's progress.
type AnnotatorCampaign struct {
	ID           int64
	Name         string
	Mode         CampaignMode
	Rubric       JSON
	Instructions string
	TasksTotal   int64
	TasksDone    int64
	DoneByMe     int64
	DoneToday    int64
	// RemainingForMe counts the open tasks (wanting ratings, not set
	// aside) that the annotator has neither rated nor skipped.
	RemainingForMe int64
}

// AnnotatorCampaigns lists the collecting campaigns the annotator may rate,
// newest first, with their progress; DoneToday counts the annotator's
// ratings created at or after since.
func (s *Store) AnnotatorCampaigns(ctx context.Context, annotatorID int64, since time.Time) ([]AnnotatorCampaign, error) {
	var out []AnnotatorCampaign
	err := s.prepared(ctx).Raw(`SELECT c.id, c.name, c.mode, c.rubric, c.instructions,
			(SELECT count(*) FROM tasks t WHERE t.campaign_id = c.id) AS tasks_total,
			(SELECT count(*) FROM tasks t WHERE t.campaign_id = c.id AND t.ratings_done >= t.ratings_wanted) AS tasks_done,
			(SELECT count(*) FROM ratings r JOIN tasks t ON t.id = r.task_id
				WHERE r.annotator_id = ? AND t.campaign_id = c.id) AS done_by_me,
			(SELECT count(*) FROM ratings r JOIN tasks t ON t.id = r.task_id
				WHERE r.annotator_id = ? AND r.created_at >= ? AND t.campaign_id = c.id) AS done_today,
			(SELECT count(*) FROM tasks t
				WHERE t.campaign_id = c.id AND t.ratings_done < t.ratings_wanted AND t.set_aside_at IS NULL
				AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.task_id = t.id AND r.annotator_id = ?)
				AND NOT EXISTS (SELECT 1 FROM skips k WHERE k.task_id = t.id AND k.annotator_id = ?)) AS remaining_for_me
		FROM campaigns c WHERE c.status = ? AND `+allowedTo+`
		ORDER BY c.created_at DESC, c.id DESC`,
		annotatorID, annotatorID, since.UTC(), annotatorID, annotatorID, StatusCollecting, annotatorID).Scan(&out).Error
	if err != nil {
		return nil, wrap(err, "campaigns of annotator %d", annotatorID)
	}
	return out, nil
}

// LockAnnotator serializes the queue requests of one annotator inside
// InTx: on PostgreSQL it locks the user's row until the transaction ends
// (FOR NO KEY UPDATE, which does not block the key-share locks that the
// annotator's own rating and lease inserts take on it), so that two "next"
// of the same annotator cannot both lease a task; SQLite transactions are
// serial already.
func (s *Store) LockAnnotator(ctx context.Context, annotatorID int64) error {
	if s.dialect != DialectPostgres {
		return nil
	}
	var id []int64
	if err := s.prepared(ctx).Raw(`SELECT id FROM users WHERE id = ? FOR NO KEY UPDATE`, annotatorID).Scan(&id).Error; err != nil {
		return wrap(err, "lock annotator %d", annotatorID)
	}
	if len(id) == 0 {
		return fmt.Errorf("models: lock annotator %d: %w", annotatorID, ErrNotFound)
	}
	return nil
}

// PickQuery says which task PickOpenTask looks for.
type PickQuery struct {
	CampaignID  int64
	AnnotatorID int64
	Now         time.Time
	// GoldOnly restricts the pick to gold tasks.
	GoldOnly bool
	// Exclude lists tasks not to pick (the one the client shows already).
	Exclude []int64
}

// PickOpenTask returns the task the queue prefers for the annotator: an
// open task of the campaign (wanting ratings, not set aside) that the
// annotator has neither rated, skipped nor leased, whose ratings and the
// live leases of others leave a slot; the one with the fewest ratings,
// then the lowest queue position (the selection's seeded shuffle), then
// the lowest ID. None is ErrNotFound. Call it inside InTx.
//
// The candidates are read from tasks_open_idx (or tasks_open_gold_idx) in
// that order, so the cost is the tasks skipped on the way, never the
// finished ones. On PostgreSQL the task's row is locked (FOR UPDATE SKIP
// LOCKED: a task another transaction is leasing or rating is passed over,
// not waited for), and its leases are counted again in a statement of
// its own: the pick's snapshot may predate a lease committed by a
// transaction that held the row a moment before. A task that fails the
// count is left out and the next one tried.
func (s *Store) PickOpenTask(ctx context.Context, q PickQuery) (*Task, error) {
	q.Exclude = append([]int64(nil), q.Exclude...)
	for range pickAttempts {
		query, args := s.pickSQL(q)
		var out []Task
		if err := s.prepared(ctx).Raw(query, args...).Scan(&out).Error; err != nil {
			return nil, wrap(err, "pick a task of campaign %d for annotator %d", q.CampaignID, q.AnnotatorID)
		}
		if len(out) == 0 {
			break
		}
		t := &out[0]
		if s.dialect != DialectPostgres {
			return t, nil // the transaction is serial: the pick's count is exact
		}
		n, err := s.OtherLiveLeases(ctx, t.ID, q.AnnotatorID, q.Now, nil)
		if err != nil {
			return nil, err
		}
		if int64(t.RatingsDone)+n < int64(t.RatingsWanted) {
			return t, nil
		}
		q.Exclude = append(q.Exclude, t.ID)
	}
	return nil, fmt.Errorf("models: pick a task of campaign %d for annotator %d: %w", q.CampaignID, q.AnnotatorID, ErrNotFound)
}

// pickAttempts bounds how many candidates one pick tries on PostgreSQL
// when concurrent transactions fill them between its read and its count.
const pickAttempts = 16

// pickSQL is PickOpenTask's statement and arguments.
func (s *Store) pickSQL(q PickQuery) (string, []any) {
	// The open-task terms repeat the partial indexes' WHERE clauses word
	// for word: that is how the planners see that the indexes apply.
	gold := ""
	if q.GoldOnly {
		gold = " AND t.is_gold = 1"
		if s.dialect == DialectPostgres {
			gold = " AND t.is_gold"
		}
	}
	now := q.Now.UTC()
	args := []any{q.CampaignID}
	exclude := ""
	if len(q.Exclude) > 0 {
		exclude = " AND t.id NOT IN ?"
		args = append(args, q.Exclude)
	}
	args = append(args, q.AnnotatorID, q.AnnotatorID, q.AnnotatorID, now, q.AnnotatorID, now)
	lock := ""
	if s.dialect == DialectPostgres {
		lock = " FOR UPDATE OF t SKIP LOCKED"
	}
	return `SELECT t.* FROM tasks t
		WHERE t.campaign_id = ?` + gold + ` AND t.ratings_done < t.ratings_wanted AND t.set_aside_at IS NULL` + exclude + `
		AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.task_id = t.id AND r.annotator_id = ?)
		AND NOT EXISTS (SELECT 1 FROM skips k WHERE k.task_id = t.id AND k.annotator_id = ?)
		AND t.ratings_done + (SELECT count(*) FROM leases l
			WHERE l.task_id = t.id AND l.annotator_id <> ? AND l.expires_at > ?) < t.ratings_wanted
		AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.task_id = t.id AND l.annotator_id = ? AND l.expires_at > ?)
		ORDER BY t.ratings_done, t.position, t.id LIMIT 1` + lock, args
}

// LockTask reads the task with id for a change of its leases or ratings
// inside InTx; on PostgreSQL its row stays locked (FOR UPDATE) until the
// transaction ends. Missing: ErrNotFound.
func (s *Store) LockTask(ctx context.Context, id int64) (*Task, error) {
	q := s.prepared(ctx).Where("id = ?", id)
	if s.dialect == DialectPostgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var t Task
	if err := q.Take(&t).Error; err != nil {
		return nil, wrap(err, "lock task %d", id)
	}
	return &t, nil
}

// OtherLiveLeases counts the leases of the task held by annotators other
// than annotatorID that are live at now. With before set, it counts only
// those whose hold began before it (taken earlier, or at the same instant
// with a lower ID): the ones that rank ahead of that lease.
func (s *Store) OtherLiveLeases(ctx context.Context, taskID, annotatorID int64, now time.Time, before *Lease) (int64, error) {
	q := s.prepared(ctx).Model(&Lease{}).Where("task_id = ? AND annotator_id <> ? AND expires_at > ?", taskID, annotatorID, now.UTC())
	if before != nil {
		q = q.Where("(taken_at < ? OR (taken_at = ? AND id < ?))", before.TakenAt.UTC(), before.TakenAt.UTC(), before.ID)
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		return 0, wrap(err, "count the live leases of task %d", taskID)
	}
	return n, nil
}

// LeasedTask is a live lease with its task.
type LeasedTask struct {
	Lease Lease
	Task  Task
}

// AnnotatorLiveLeases returns the annotator's leases on tasks of the
// campaign that are live at now, oldest hold first, with their tasks.
func (s *Store) AnnotatorLiveLeases(ctx context.Context, annotatorID, campaignID int64, now time.Time) ([]LeasedTask, error) {
	var rows []struct {
		Task
		LeaseID        int64
		LeaseExpiresAt time.Time
		LeaseTakenAt   time.Time
		LeaseCreatedAt time.Time
	}
	err := s.prepared(ctx).Raw(`SELECT t.*, l.id AS lease_id, l.expires_at AS lease_expires_at, l.taken_at AS lease_taken_at,
			l.created_at AS lease_created_at
		FROM leases l JOIN tasks t ON t.id = l.task_id
		WHERE l.annotator_id = ? AND l.expires_at > ? AND t.campaign_id = ?
		ORDER BY l.taken_at, l.id`, annotatorID, now.UTC(), campaignID).Scan(&rows).Error
	if err != nil {
		return nil, wrap(err, "live leases of annotator %d", annotatorID)
	}
	out := make([]LeasedTask, len(rows))
	for i, r := range rows {
		out[i] = LeasedTask{Task: r.Task, Lease: Lease{ID: r.LeaseID, TaskID: r.ID, AnnotatorID: annotatorID,
			ExpiresAt: r.LeaseExpiresAt, TakenAt: r.LeaseTakenAt, CreatedAt: r.LeaseCreatedAt}}
	}
	return out, nil
}

// TakeLease gives the task to the annotator until expires and returns the
// lease. An earlier lease of the same annotator on the task is reused: a
// live one keeps its hold's start, an expired one starts a new hold at now.
func (s *Store) TakeLease(ctx context.Context, taskID, annotatorID int64, now, expires time.Time) (*Lease, error) {
	now, expires = now.UTC(), expires.UTC()
	var out []Lease
	err := s.prepared(ctx).Raw(`INSERT INTO leases (task_id, annotator_id, expires_at, taken_at, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (task_id, annotator_id) DO UPDATE SET expires_at = excluded.expires_at,
			taken_at = CASE WHEN leases.expires_at > excluded.taken_at THEN leases.taken_at ELSE excluded.taken_at END
		RETURNING *`, taskID, annotatorID, expires, now, now).Scan(&out).Error
	if err == nil && len(out) != 1 {
		err = fmt.Errorf("%d rows returned", len(out))
	}
	if err != nil {
		return nil, wrap(err, "lease task %d to annotator %d", taskID, annotatorID)
	}
	return &out[0], nil
}

// LeaseOf returns the annotator's lease on the task, live or expired, or
// ErrNotFound.
func (s *Store) LeaseOf(ctx context.Context, taskID, annotatorID int64) (*Lease, error) {
	var l Lease
	if err := s.prepared(ctx).Where("task_id = ? AND annotator_id = ?", taskID, annotatorID).Take(&l).Error; err != nil {
		return nil, wrap(err, "lease of task %d by annotator %d", taskID, annotatorID)
	}
	return &l, nil
}

// SetLeaseExpiry moves the lease's expiry: later to renew it, to now to
// give the task back while keeping the record that it was handed out.
func (s *Store) SetLeaseExpiry(ctx context.Context, leaseID int64, expires time.Time) error {
	res := s.prepared(ctx).Model(&Lease{}).Where("id = ?", leaseID).Updates(map[string]any{"expires_at": expires.UTC()})
	if res.Error != nil {
		return wrap(res.Error, "set the expiry of lease %d", leaseID)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("models: set the expiry of lease %d: %w", leaseID, ErrNotFound)
	}
	return nil
}

// DeleteLease deletes the annotator's lease on the task, if any.
func (s *Store) DeleteLease(ctx context.Context, taskID, annotatorID int64) error {
	err := s.prepared(ctx).Exec(`DELETE FROM leases WHERE task_id = ? AND annotator_id = ?`, taskID, annotatorID).Error
	return wrap(err, "delete the lease of task %d by annotator %d", taskID, annotatorID)
}

// PurgeExpiredLeases deletes up to limit leases that expired before
// before, and returns how many it deleted: the queue's lazy cleanup, a
// bounded amount of work per call (leases_expires_idx finds them). On
// PostgreSQL rows another cleanup is deleting are passed over.
func (s *Store) PurgeExpiredLeases(ctx context.Context, before time.Time, limit int) (int64, error) {
	lock := ""
	if s.dialect == DialectPostgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	res := s.prepared(ctx).Exec(`DELETE FROM leases WHERE id IN
		(SELECT id FROM leases WHERE expires_at < ? ORDER BY expires_at LIMIT ?`+lock+`)`, before.UTC(), limit)
	if res.Error != nil {
		return 0, wrap(res.Error, "purge expired leases")
	}
	return res.RowsAffected, nil
}

// RatingByClientID returns the annotator's rating with the client ID, or
// ErrNotFound.
func (s *Store) RatingByClientID(ctx context.Context, annotatorID int64, clientID string) (*Rating, error) {
	return s.rating(ctx, "annotator_id = ? AND client_id = ?", annotatorID, clientID)
}

// RatingOf returns the annotator's rating of the task, or ErrNotFound.
func (s *Store) RatingOf(ctx context.Context, taskID, annotatorID int64) (*Rating, error) {
	return s.rating(ctx, "task_id = ? AND annotator_id = ?", taskID, annotatorID)
}

// RatingByID returns the rating with id, or ErrNotFound.
func (s *Store) RatingByID(ctx context.Context, id int64) (*Rating, error) {
	return s.rating(ctx, "id = ?", id)
}

func (s *Store) rating(ctx context.Context, where string, args ...any) (*Rating, error) {
	var r Rating
	if err := s.prepared(ctx).Where(where, args...).Take(&r).Error; err != nil {
		return nil, wrap(err, "rating where %s %v", where, args)
	}
	return &r, nil
}

// RatingState is what a rating submission checks, read inside its
// transaction: the task (locked on PostgreSQL), the annotator's rating
// with the client ID (of any task), their rating of this task, whether the
// task was handed to them (a lease, live or expired) and whether the lease
// is live, and whether they skipped it.
type RatingState struct {
	Task             Task
	ClientRatingID   int64 // 0: the client ID is new
	ClientRatingTask int64
	MyRatingID       int64 // 0: no rating of this task yet
	Handed           bool
	Live             bool
	Skipped          bool
}

// RatingStateOf reads the RatingState of the annotator's submission on the
// task at now: on SQLite in one statement, on PostgreSQL after locking the
// task's row, so that it sees every rating and lease committed by whoever
// held the lock before. A missing task is ErrNotFound. Call it inside InTx.
func (s *Store) RatingStateOf(ctx context.Context, taskID, annotatorID int64, clientID string, now time.Time) (*RatingState, error) {
	if s.dialect == DialectPostgres {
		if _, err := s.LockTask(ctx, taskID); err != nil {
			return nil, err
		}
	}
	var rows []struct {
		Task
		ClientRatingID   *int64
		ClientRatingTask *int64
		MyRatingID       *int64
		Handed, Live     bool
		Skipped          bool
	}
	err := s.prepared(ctx).Raw(`SELECT t.*,
			(SELECT r.id FROM ratings r WHERE r.annotator_id = ? AND r.client_id = ?) AS client_rating_id,
			(SELECT r.task_id FROM ratings r WHERE r.annotator_id = ? AND r.client_id = ?) AS client_rating_task,
			(SELECT r.id FROM ratings r WHERE r.task_id = t.id AND r.annotator_id = ?) AS my_rating_id,
			EXISTS (SELECT 1 FROM leases l WHERE l.task_id = t.id AND l.annotator_id = ?) AS handed,
			EXISTS (SELECT 1 FROM leases l WHERE l.task_id = t.id AND l.annotator_id = ? AND l.expires_at > ?) AS live,
			EXISTS (SELECT 1 FROM skips k WHERE k.task_id = t.id AND k.annotator_id = ?) AS skipped
		FROM tasks t WHERE t.id = ?`, annotatorID, clientID, annotatorID, clientID, annotatorID, annotatorID, annotatorID,
		now.UTC(), annotatorID, taskID).Scan(&rows).Error
	if err != nil {
		return nil, wrap(err, "rating state of task %d for annotator %d", taskID, annotatorID)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("models: rating state of task %d: %w", taskID, ErrNotFound)
	}
	r := rows[0]
	st := &RatingState{Task: r.Task, Handed: r.Handed, Live: r.Live, Skipped: r.Skipped}
	if r.ClientRatingID != nil {
		st.ClientRatingID, st.ClientRatingTask = *r.ClientRatingID, *r.ClientRatingTask
	}
	if r.MyRatingID != nil {
		st.MyRatingID = *r.MyRatingID
	}
	return st, nil
}

// AddRating stores r, counts it in its task's ratings_done and deletes the
// annotator's lease on the task, all or none (inside InTx it joins the
// caller's transaction). A task that has all the ratings it wants is
// ErrTaskFull; a second rating of the task by the annotator, or a client
// ID the annotator used already, ErrConflict.
func (s *Store) AddRating(ctx context.Context, r *Rating) error {
	if r.Answers == nil {
		r.Answers = JSON("null")
	}
	add := func(tx *Store) error {
		res := tx.prepared(ctx).Exec(`UPDATE tasks SET ratings_done = ratings_done + 1
			WHERE id = ? AND ratings_done < ratings_wanted`, r.TaskID)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			if _, err := tx.LockTask(ctx, r.TaskID); err != nil {
				return err
			}
			return ErrTaskFull
		}
		if err := tx.prepared(ctx).Create(r).Error; err != nil {
			return err
		}
		return tx.DeleteLease(ctx, r.TaskID, r.AnnotatorID)
	}
	var err error
	if s.sqlDB != nil {
		err = s.InTx(ctx, add)
	} else {
		// Already in a transaction: a savepoint would only cost two more
		// statements; a failure rolls the caller's transaction back.
		err = add(s)
	}
	return wrap(err, "add a rating of task %d by annotator %d", r.TaskID, r.AnnotatorID)
}

// CampaignRatings returns every rating of the campaign's tasks, by ID.
func (s *Store) CampaignRatings(ctx context.Context, campaignID int64) ([]Rating, error) {
	var out []Rating
	err := s.prepared(ctx).Raw(`SELECT r.* FROM ratings r JOIN tasks t ON t.id = r.task_id
		WHERE t.campaign_id = ? ORDER BY r.id`, campaignID).Scan(&out).Error
	if err != nil {
		return nil, wrap(err, "ratings of campaign %d", campaignID)
	}
	return out, nil
}

// RatingRevision is a new answer to a rating.
type RatingRevision struct {
	Answers    JSON
	Choice     *string
	Comment    string
	DurationMS int64
	At         time.Time
}

// ReviseRating replaces the answer of the rating with id, counting the
// revision. Missing: ErrNotFound.
func (s *Store) ReviseRating(ctx context.Context, id int64, rv RatingRevision) error {
	if rv.Answers == nil {
		rv.Answers = JSON("null")
	}
	res := s.prepared(ctx).Model(&Rating{}).Where("id = ?", id).Updates(map[string]any{
		"answers": rv.Answers, "choice": rv.Choice, "comment": rv.Comment, "duration_ms": rv.DurationMS,
		"revised_at": rv.At.UTC(), "revisions": gorm.Expr("revisions + 1"),
	})
	if res.Error != nil {
		return wrap(res.Error, "revise rating %d", id)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("models: revise rating %d: %w", id, ErrNotFound)
	}
	return nil
}

// SkipOf returns the annotator's skip of the task, or ErrNotFound.
func (s *Store) SkipOf(ctx context.Context, taskID, annotatorID int64) (*Skip, error) {
	var k Skip
	if err := s.prepared(ctx).Where("task_id = ? AND annotator_id = ?", taskID, annotatorID).Take(&k).Error; err != nil {
		return nil, wrap(err, "skip of task %d by annotator %d", taskID, annotatorID)
	}
	return &k, nil
}

// AddSkip records the skip and deletes the annotator's lease on the task,
// both or neither; when the skip is the second image_broken one of the
// task, the task is set aside at k.CreatedAt too, and setAside says so. A
// second skip of the task by the annotator is ErrConflict.
func (s *Store) AddSkip(ctx context.Context, k *Skip) (setAside bool, err error) {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = nowUTC()
	}
	err = s.InTx(ctx, func(tx *Store) error {
		if err := tx.prepared(ctx).Create(k).Error; err != nil {
			return err
		}
		if err := tx.DeleteLease(ctx, k.TaskID, k.AnnotatorID); err != nil {
			return err
		}
		if k.Reason != SkipImageBroken {
			return nil
		}
		var broken int64
		if err := tx.prepared(ctx).Model(&Skip{}).Where("task_id = ? AND reason = ?", k.TaskID, SkipImageBroken).Count(&broken).Error; err != nil {
			return err
		}
		if broken < BrokenSkipsToSetAside {
			return nil
		}
		res := tx.prepared(ctx).Model(&Task{}).Where("id = ? AND set_aside_at IS NULL", k.TaskID).
			Updates(map[string]any{"set_aside_at": k.CreatedAt.UTC()})
		setAside = res.RowsAffected > 0
		return res.Error
	})
	if err != nil {
		return false, wrap(err, "skip task %d by annotator %d", k.TaskID, k.AnnotatorID)
	}
	return setAside, nil
}

// GenerateTasks inserts n single tasks of the campaign showing the caption
// (on its image) at positions first..first+n-1, each wanting `wanted`
// ratings; the first `finished` are marked as having all of them
// (ratings_done = wanted, with no rating rows). It is one statement, a
// million tasks in seconds: for benchmarks and load tests of the queue at
// scale, which the selection would take far longer to build.
func (s *Store) GenerateTasks(ctx context.Context, campaignID, imageID, captionID int64, first, n, wanted, finished int) error {
	err := s.prepared(ctx).Exec(`WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < ?)
		INSERT INTO tasks (campaign_id, image_id, kind, caption_id, ratings_wanted, ratings_done, is_gold, gold_answer, seed, position, created_at)
		SELECT ?, ?, 'single', ?, ?, CASE WHEN i < ? THEN ? ELSE 0 END, ?, 'null', 0, ? + i, ? FROM seq`,
		n, campaignID, imageID, captionID, wanted, finished, wanted, false, first, nowUTC()).Error
	return wrap(err, "generate %d tasks of campaign %d", n, campaignID)
}

// BrokenSkipsToSetAside is how many annotators must skip a task as
// "image broken" for it to be set aside: one could be wrong (a slow
// network), two agreeing is worth the lead's look.
const BrokenSkipsToSetAside = 2

// TaskContent is a task with what an annotator is shown: its image's
// content hash and size, the texts of the captions it shows ("" for a gold
// task, whose texts are in its gold answer, and a single task's B), and
// its campaign's settings that rating it depends on.
type TaskContent struct {
	Task
	ImageSHA256  string `gorm:"column:image_sha256"`
	ImageWidth   int
	ImageHeight  int
	TextA        string
	TextB        string
	CampaignName string
	Mode         CampaignMode
	Status       CampaignStatus
	Rubric       JSON
}

// TaskContentByID returns the task with id and what it shows, or
// ErrNotFound.
func (s *Store) TaskContentByID(ctx context.Context, id int64) (*TaskContent, error) {
	var out []TaskContent
	err := s.prepared(ctx).Raw(`SELECT t.*, i.sha256 AS image_sha256, i.width AS image_width, i.height AS image_height,
			COALESCE(ca.text, '') AS text_a, COALESCE(cb.text, '') AS text_b,
			c.name AS campaign_name, c.mode, c.status, c.rubric
		FROM tasks t JOIN images i ON i.id = t.image_id JOIN campaigns c ON c.id = t.campaign_id
		LEFT JOIN captions ca ON ca.id = t.caption_id LEFT JOIN captions cb ON cb.id = t.caption_b_id
		WHERE t.id = ?`, id).Scan(&out).Error
	if err != nil {
		return nil, wrap(err, "content of task %d", id)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("models: content of task %d: %w", id, ErrNotFound)
	}
	return &out[0], nil
}

// ImageBySHA256 returns an image with the content hash that the viewer may
// see: with anyImage (a lead or an admin), any; otherwise one shown by a
// task of a collecting campaign that annotatorID may rate. None is
// ErrNotFound, whether no image has the hash or the viewer may not see it.
func (s *Store) ImageBySHA256(ctx context.Context, sha string, annotatorID int64, anyImage bool) (*Image, error) {
	var out []Image
	var err error
	if anyImage {
		err = s.prepared(ctx).Where("sha256 = ? AND storage_key <> ''", sha).Order("id").Limit(1).Find(&out).Error
	} else {
		err = s.prepared(ctx).Raw(`SELECT i.* FROM images i JOIN campaigns c ON c.id = i.campaign_id
			WHERE i.sha256 = ? AND i.storage_key <> '' AND c.status = ? AND `+allowedTo+`
			AND EXISTS (SELECT 1 FROM tasks t WHERE t.image_id = i.id)
			ORDER BY i.id LIMIT 1`, sha, StatusCollecting, annotatorID).Scan(&out).Error
	}
	if err != nil {
		return nil, wrap(err, "image %.12s", sha)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("models: image %.12s: %w", sha, ErrNotFound)
	}
	return &out[0], nil
}
