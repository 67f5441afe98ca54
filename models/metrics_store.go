package models

import (
	"context"
	"database/sql"
	"time"
)

// CampaignQueueMetrics is one collecting campaign's queue at a moment.
type CampaignQueueMetrics struct {
	ID   int64
	Name string
	// OpenTasks are the tasks that still want ratings and are not set
	// aside: what the queue can still hand out (gold included).
	OpenTasks int64
	// LiveLeases are the leases of its tasks that have not expired.
	LiveLeases int64
}

// RunningJobMetrics is the progress of one running auto-eval job.
type RunningJobMetrics struct {
	ID         int64
	CampaignID int64
	Kind       string
	Done       int
	Total      int
	Device     string
}

// MetricsSnapshot is what the operators' metrics read from the database:
// the state every replica shares, as opposed to a replica's own counters.
type MetricsSnapshot struct {
	Campaigns   []CampaignQueueMetrics
	RunningJobs []RunningJobMetrics
	// QueuedJobs counts the auto-eval jobs waiting for a worker.
	QueuedJobs int64
}

// MetricsSnapshot reads the queue of every collecting campaign, the running
// auto-eval jobs and the number of queued ones, as of now. It is three
// small queries, for a scrape (callers bound it with a short deadline):
// the task counts use the open-task index, the leases their expiry index.
func (s *Store) MetricsSnapshot(ctx context.Context, now time.Time) (*MetricsSnapshot, error) {
	var snap MetricsSnapshot
	err := s.conn(ctx).Raw(`
		SELECT c.id, c.name,
			(SELECT count(*) FROM tasks t
				WHERE t.campaign_id = c.id AND t.ratings_done < t.ratings_wanted AND t.set_aside_at IS NULL) AS open_tasks,
			(SELECT count(*) FROM leases l JOIN tasks t ON t.id = l.task_id
				WHERE t.campaign_id = c.id AND l.expires_at > ?) AS live_leases
		FROM campaigns c
		WHERE c.status = ?
		ORDER BY c.id`, now.UTC(), StatusCollecting).Scan(&snap.Campaigns).Error
	if err != nil {
		return nil, wrap(err, "metrics: campaign queues")
	}
	err = s.conn(ctx).Model(&EvalJob{}).Select("id, campaign_id, kind, done, total, device").
		Where("status = ?", JobRunning).Order("id").Scan(&snap.RunningJobs).Error
	if err != nil {
		return nil, wrap(err, "metrics: running jobs")
	}
	if err := s.conn(ctx).Model(&EvalJob{}).Where("status = ?", JobQueued).Count(&snap.QueuedJobs).Error; err != nil {
		return nil, wrap(err, "metrics: queued jobs")
	}
	return &snap, nil
}

// DBStats returns the connection pool's statistics (open, in use, idle
// connections, waits). A Store from InTx has no pool of its own and
// returns zeros.
func (s *Store) DBStats() sql.DBStats {
	if s.sqlDB == nil {
		return sql.DBStats{}
	}
	return s.sqlDB.Stats()
}
