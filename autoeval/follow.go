package autoeval

import (
	"context"
	"errors"
	"time"

	"capeval/models"
)

// Progress receives the state of a job that RunToEnd drives: after each
// step while this process runs it, or at each poll while another worker
// does (following is true then).
type Progress func(j *Job, following bool)

// RunToEnd queues a job of kind for the campaign, or adopts the one of that
// kind already queued or running, and runs it in this process to its end,
// as `capeval eval` does. A job that another worker is running (its
// heartbeat fresh) is followed instead, polled at the runner's Poll
// interval, until it ends. The job is returned as it ended; a failed or
// cancelled job comes back with a nil error (its Status and Error say what
// happened), and so does one handed back to the queue because ctx was
// cancelled (Status queued). progress may be nil.
func (r *Runner) RunToEnd(ctx context.Context, jobs *Jobs, campaignID int64, kind string, progress Progress) (*Job, error) {
	if progress == nil {
		progress = func(*Job, bool) {}
	}
	id, err := startOrAdopt(ctx, jobs, campaignID, kind)
	if err != nil {
		return nil, err
	}
	end, err := r.RunJob(ctx, id, func(j *models.EvalJob) { progress(NewJobView(j), false) })
	if err == nil {
		return NewJobView(end), nil
	}
	if !errors.Is(err, ErrConflict) {
		return nil, err
	}
	// Running in another worker: follow it.
	for {
		j, err := jobs.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		progress(j, true)
		if j.Ended() {
			return j, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(r.opts.Poll):
		}
	}
}

// startOrAdopt queues a job of kind, or returns the id of the one of that
// kind that is queued or running already.
func startOrAdopt(ctx context.Context, jobs *Jobs, campaignID int64, kind string) (int64, error) {
	job, err := jobs.Start(ctx, campaignID, kind)
	if err == nil {
		return job.ID, nil
	}
	if !errors.Is(err, ErrConflict) {
		return 0, err
	}
	list, lerr := jobs.List(ctx, campaignID)
	if lerr != nil {
		return 0, lerr
	}
	for _, j := range list {
		if j.Kind == kind && !j.Ended() {
			return j.ID, nil
		}
	}
	// It ended between the two calls: start a new one.
	job, err = jobs.Start(ctx, campaignID, kind)
	if err != nil {
		return 0, err
	}
	return job.ID, nil
}
