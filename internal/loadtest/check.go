package loadtest

import (
	"context"
	"fmt"
	"time"

	"capeval/models"
)

// Store is what the invariant check reads (models.Store).
type Store interface {
	CampaignTasks(ctx context.Context, campaignID int64, now time.Time) ([]models.TaskWithCaptions, error)
	CampaignRatings(ctx context.Context, campaignID int64) ([]models.Rating, error)
	AnnotatorLiveLeases(ctx context.Context, annotatorID, campaignID int64, now time.Time) ([]models.LeasedTask, error)
}

// Expect says what a check may assume of the run it checks.
type Expect struct {
	// AnnotatorIDs are the users behind Options.Tokens, in the same order.
	AnnotatorIDs []int64
	// LeaseTTL is the server's CAPEVAL_LEASE_TTL: no lease may run longer.
	LeaseTTL time.Duration
	// Complete: every task must have all its ratings (or be set aside).
	Complete bool
	// Exact: the run's annotators are the campaign's only raters, and
	// every rating they sent was answered, so the database holds exactly
	// the acknowledged ratings. A run cut short by its bounds leaves
	// ratings whose answer it did not wait for.
	Exact bool
}

// Report is what the check found.
type Report struct {
	Tasks, Complete, SetAside, Ratings int
	// Problems are the broken invariants, each named; none is a pass.
	Problems []string
}

// Check compares the database with what the run saw: no task has more
// ratings than it wants, or a ratings_done that differs from its ratings;
// no annotator rated a task twice; every acknowledged rating is in the
// database once, as acknowledged; no lease of the run's annotators lasts
// past now + LeaseTTL (after the TTL, everything not rated is available
// again); and, as expected, the campaign is complete and nothing but the
// acknowledged ratings is stored.
func Check(ctx context.Context, s Store, campaignID int64, res *Result, exp Expect) (*Report, error) {
	now := time.Now()
	tasks, err := s.CampaignTasks(ctx, campaignID, now)
	if err != nil {
		return nil, err
	}
	ratings, err := s.CampaignRatings(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	rep := &Report{Tasks: len(tasks), Ratings: len(ratings)}
	bad := func(format string, a ...any) {
		if len(rep.Problems) < 50 {
			rep.Problems = append(rep.Problems, fmt.Sprintf(format, a...))
		}
	}
	perTask := map[int64]int{}
	pairs := map[[2]int64]int{}
	byID := map[int64]models.Rating{}
	for _, r := range ratings {
		perTask[r.TaskID]++
		if r.AnnotatorID != 0 {
			pairs[[2]int64{r.TaskID, r.AnnotatorID}]++
		}
		byID[r.ID] = r
	}
	for _, t := range tasks {
		switch {
		case perTask[t.ID] > t.RatingsWanted:
			bad("task %d has %d ratings, wants %d", t.ID, perTask[t.ID], t.RatingsWanted)
		case perTask[t.ID] != t.RatingsDone:
			bad("task %d has %d ratings, ratings_done says %d", t.ID, perTask[t.ID], t.RatingsDone)
		case t.SetAsideAt != nil:
			rep.SetAside++
		case t.RatingsDone == t.RatingsWanted:
			rep.Complete++
		case exp.Complete:
			bad("task %d is not complete: %d of %d ratings", t.ID, t.RatingsDone, t.RatingsWanted)
		}
	}
	for p, n := range pairs {
		if n > 1 {
			bad("annotator %d rated task %d %d times", p[1], p[0], n)
		}
	}
	seen := map[int64]bool{}
	for _, a := range res.Acks {
		r, ok := byID[a.RatingID]
		switch {
		case !ok:
			bad("acknowledged rating %d (%s, task %d) is not in the database", a.RatingID, a.ClientID, a.Task)
			continue
		case seen[a.RatingID]:
			bad("rating %d was acknowledged twice as new", a.RatingID)
		case r.TaskID != a.Task || r.ClientID != a.ClientID:
			bad("acknowledged rating %d is of task %d with client id %q, want task %d, %q", a.RatingID, r.TaskID, r.ClientID, a.Task, a.ClientID)
		case a.Annotator < len(exp.AnnotatorIDs) && r.AnnotatorID != exp.AnnotatorIDs[a.Annotator]:
			bad("acknowledged rating %d is by user %d, want %d", a.RatingID, r.AnnotatorID, exp.AnnotatorIDs[a.Annotator])
		}
		seen[a.RatingID] = true
	}
	if exp.Exact && len(seen) != len(ratings) {
		bad("%d ratings in the database, %d acknowledged", len(ratings), len(seen))
	}
	if exp.LeaseTTL > 0 {
		// A lease live at now+TTL (and a second) was made or renewed
		// after now, or is stuck: nobody is asking for tasks any more.
		after := now.Add(exp.LeaseTTL + time.Second)
		for _, id := range exp.AnnotatorIDs {
			live, err := s.AnnotatorLiveLeases(ctx, id, campaignID, after)
			if err != nil {
				return nil, err
			}
			for _, l := range live {
				bad("annotator %d's lease of task %d lasts until %s, past the TTL", id, l.Task.ID, l.Lease.ExpiresAt.Format(time.RFC3339Nano))
			}
		}
	}
	return rep, nil
}
