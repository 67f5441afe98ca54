package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// CreateJob inserts j as a queued job, refusing (ErrConflict) when a queued
// or running job of the same campaign and kind exists, so that two clicks
// on "run" start one job. The check and the insert run in one transaction
// that locks the campaign row (PostgreSQL; SQLite holds the write lock), so
// concurrent requests cannot both pass the check. A missing campaign is
// ErrNotFound.
func (s *Store) CreateJob(ctx context.Context, j *EvalJob) error {
	err := s.InTx(ctx, func(tx *Store) error {
		if _, err := tx.LockCampaign(ctx, j.CampaignID); err != nil {
			return err
		}
		var active EvalJob
		err := tx.conn(ctx).Where("campaign_id = ? AND kind = ? AND status IN ?", j.CampaignID, j.Kind,
			[]JobStatus{JobQueued, JobRunning}).Order("id").Take(&active).Error
		if err == nil {
			return fmt.Errorf("a %s job of campaign %d is %s already (job %d): %w", j.Kind, j.CampaignID, active.Status, active.ID, ErrConflict)
		}
		if err = classify(err); !errors.Is(err, ErrNotFound) {
			return err
		}
		j.ID = 0
		j.Status = JobQueued
		j.Done, j.ClaimDone, j.Attempts = 0, 0, 0
		j.WorkerID, j.Error, j.Notes, j.Device = "", "", "", ""
		j.StartedAt, j.FinishedAt, j.HeartbeatAt, j.ClaimedAt = nil, nil, nil, nil
		return tx.conn(ctx).Create(j).Error
	})
	if err != nil {
		return wrap(err, "create %s job of campaign %d", j.Kind, j.CampaignID)
	}
	return nil
}

// JobByID returns the job with id, or ErrNotFound.
func (s *Store) JobByID(ctx context.Context, id int64) (*EvalJob, error) {
	var j EvalJob
	if err := s.conn(ctx).Where("id = ?", id).Take(&j).Error; err != nil {
		return nil, wrap(err, "job %d", id)
	}
	return &j, nil
}

// ListJobs returns the jobs of a campaign, newest first.
func (s *Store) ListJobs(ctx context.Context, campaignID int64) ([]EvalJob, error) {
	var out []EvalJob
	if err := s.conn(ctx).Where("campaign_id = ?", campaignID).Order("id DESC").Find(&out).Error; err != nil {
		return nil, wrap(err, "jobs of campaign %d", campaignID)
	}
	return out, nil
}

// ClaimJob gives workerID the oldest job that is queued, or running with a
// heartbeat older than staleBefore (its worker died), and marks it running
// under workerID. None: ErrNotFound. On PostgreSQL the candidate row is
// read FOR UPDATE SKIP LOCKED, so concurrent workers each take a different
// job without waiting for one another; on SQLite the transaction holds the
// write lock from its start, which serializes claims.
func (s *Store) ClaimJob(ctx context.Context, workerID string, staleBefore time.Time) (*EvalJob, error) {
	return s.claim(ctx, 0, workerID, staleBefore)
}

// ClaimJobByID claims the job with id for workerID on the same terms as
// ClaimJob: it must be queued, or running with a stale heartbeat. Otherwise
// ErrConflict (ErrNotFound when there is no such job).
func (s *Store) ClaimJobByID(ctx context.Context, id int64, workerID string, staleBefore time.Time) (*EvalJob, error) {
	j, err := s.claim(ctx, id, workerID, staleBefore)
	if errors.Is(err, ErrNotFound) {
		if cur, gerr := s.JobByID(ctx, id); gerr == nil {
			return nil, fmt.Errorf("models: claim job %d: it is %s (worker %q): %w", id, cur.Status, cur.WorkerID, ErrConflict)
		}
	}
	return j, err
}

func (s *Store) claim(ctx context.Context, id int64, workerID string, staleBefore time.Time) (*EvalJob, error) {
	if workerID == "" {
		return nil, fmt.Errorf("models: claim job: empty worker id: %w", ErrInvalid)
	}
	claimable := func(db *gorm.DB) *gorm.DB {
		q := db.Where("(status = ? OR (status = ? AND (heartbeat_at IS NULL OR heartbeat_at < ?)))",
			JobQueued, JobRunning, staleBefore.UTC())
		if id != 0 {
			q = q.Where("id = ?", id)
		}
		return q
	}
	// Idle workers poll: look without a transaction first, so that an empty
	// queue never takes SQLite's write lock nor a PostgreSQL row lock.
	var ids []int64
	if err := claimable(s.conn(ctx).Model(&EvalJob{})).Limit(1).Pluck("id", &ids).Error; err != nil {
		return nil, wrap(err, "look for a job to claim")
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("models: claim a job for worker %s: none is queued or stale: %w", workerID, ErrNotFound)
	}
	var claimed EvalJob
	err := s.InTx(ctx, func(tx *Store) error {
		q := claimable(tx.conn(ctx))
		if tx.dialect == DialectPostgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		}
		if err := q.Order("created_at, id").Take(&claimed).Error; err != nil {
			return err
		}
		now := nowUTC()
		cols := map[string]any{
			"status": JobRunning, "worker_id": workerID, "heartbeat_at": now,
			"claimed_at": now, "claim_done": claimed.Done, "attempts": claimed.Attempts + 1,
		}
		if claimed.StartedAt == nil {
			cols["started_at"] = now
		}
		// The status in the WHERE guards against a claim between the read
		// and the write, which the lock (PostgreSQL) or the write lock
		// (SQLite) already rule out.
		res := tx.conn(ctx).Model(&EvalJob{}).Where("id = ? AND status = ?", claimed.ID, claimed.Status).Updates(cols)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("job %d changed while being claimed: %w", claimed.ID, ErrConflict)
		}
		claimed.Status, claimed.WorkerID, claimed.HeartbeatAt, claimed.ClaimedAt = JobRunning, workerID, &now, &now
		claimed.ClaimDone, claimed.Attempts = claimed.Done, claimed.Attempts+1
		if claimed.StartedAt == nil {
			claimed.StartedAt = &now
		}
		return nil
	})
	if err != nil {
		if id != 0 {
			return nil, wrap(err, "claim job %d for worker %s", id, workerID)
		}
		return nil, wrap(err, "claim a job for worker %s", workerID)
	}
	return &claimed, nil
}

// JobProgress is what a worker reports with each heartbeat.
type JobProgress struct {
	Done   int
	Total  int
	Device string
}

// JobHeartbeat records that workerID is alive on job id and how far it is.
// When the job is no longer running under workerID (cancelled, reclaimed,
// finished) it returns ErrJobLost and changes nothing.
func (s *Store) JobHeartbeat(ctx context.Context, id int64, workerID string, p JobProgress) error {
	cols := map[string]any{"heartbeat_at": nowUTC(), "done": p.Done, "total": p.Total}
	if p.Device != "" {
		cols["device"] = p.Device
	}
	return s.updateOwnJob(ctx, id, workerID, cols, "heartbeat")
}

// FinishJob ends job id with status (done, failed, or cancelled when the
// worker itself gave up), an error message and notes, if it is still running
// under workerID; otherwise ErrJobLost.
func (s *Store) FinishJob(ctx context.Context, id int64, workerID string, status JobStatus, p JobProgress, errMsg, notes string) error {
	switch status {
	case JobDone, JobFailed, JobCancelled:
	default:
		return fmt.Errorf("models: finish job %d: status %q is not an end state: %w", id, status, ErrInvalid)
	}
	now := nowUTC()
	cols := map[string]any{
		"status": status, "finished_at": now, "heartbeat_at": now,
		"done": p.Done, "total": p.Total, "error": errMsg, "notes": notes,
	}
	return s.updateOwnJob(ctx, id, workerID, cols, "finish")
}

// ReleaseJob puts job id back in the queue if it is running under
// workerID, keeping its progress: a worker that shuts down hands its job to
// the next one at once instead of after the stale timeout.
func (s *Store) ReleaseJob(ctx context.Context, id int64, workerID string) error {
	return s.updateOwnJob(ctx, id, workerID, map[string]any{"status": JobQueued, "worker_id": ""}, "release")
}

func (s *Store) updateOwnJob(ctx context.Context, id int64, workerID string, cols map[string]any, what string) error {
	res := s.conn(ctx).Model(&EvalJob{}).
		Where("id = ? AND worker_id = ? AND status = ?", id, workerID, JobRunning).
		Updates(cols)
	if res.Error != nil {
		return wrap(res.Error, "%s job %d", what, id)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("models: %s job %d by worker %s: %w", what, id, workerID, ErrJobLost)
	}
	return nil
}

// CancelJob marks a queued or running job cancelled and returns it; its
// worker notices at its next check (ErrJobLost). A job that has ended
// already is ErrConflict, a missing one ErrNotFound.
func (s *Store) CancelJob(ctx context.Context, id int64) (*EvalJob, error) {
	now := nowUTC()
	res := s.conn(ctx).Model(&EvalJob{}).
		Where("id = ? AND status IN ?", id, []JobStatus{JobQueued, JobRunning}).
		Updates(map[string]any{"status": JobCancelled, "finished_at": now})
	if res.Error != nil {
		return nil, wrap(res.Error, "cancel job %d", id)
	}
	j, err := s.JobByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if res.RowsAffected == 0 {
		return j, fmt.Errorf("models: cancel job %d: it is %s already: %w", id, j.Status, ErrConflict)
	}
	return j, nil
}
