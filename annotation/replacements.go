package annotation

import (
	"context"
	"errors"
	"fmt"

	"capeval/models"
)

// AuditReplacement is the audit action of ReplaceExcluded.
const AuditReplacement = "campaign.replacements"

// Replacements is what ReplaceExcluded did: the excluded annotators whose
// ratings it replaced, how many ratings and on how many tasks (each task
// asks for one more rating per rating replaced).
type Replacements struct {
	Annotators []UserRef `json:"annotators"`
	models.ReplacementCount
}

// ReplaceExcluded collects replacements for the ratings of the
// campaign's excluded annotators: an excluded rating still counts towards
// its task's ratings, so without a replacement the task ends with fewer
// ratings that count than the campaign asks for. Each rating of an
// annotator excluded now, on a regular task the selection made (gold and
// imported tasks are not rated again) and not set aside, raises its task's
// wanted ratings by one, so that the queue hands the task to someone else
// (never to its excluded annotator, who gets nothing more). A rating is
// replaced once: asking again, or after including and excluding its
// annotator again, replaces only what was not replaced before. No rating
// is changed or deleted. The change and its counts are audited; with
// nothing to replace nothing is written.
func (q *Quality) ReplaceExcluded(ctx context.Context, actorID, campaignID int64) (*Replacements, error) {
	rep, err := q.Report(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	out := &Replacements{Annotators: []UserRef{}}
	var ids []int64
	for _, a := range rep.Annotators {
		if a.Exclusion.Excluded {
			out.Annotators = append(out.Annotators, a.Annotator)
			ids = append(ids, a.Annotator.ID)
		}
	}
	err = q.store.InTx(ctx, func(tx *models.Store) error {
		if _, err := tx.LockCampaign(ctx, campaignID); errors.Is(err, models.ErrNotFound) {
			return fmt.Errorf("%w: no campaign with id %d", ErrNotFound, campaignID)
		} else if err != nil {
			return err
		}
		n, err := tx.ReplaceRatings(ctx, campaignID, ids, actorPtr(actorID), q.now())
		if err != nil || n.Ratings == 0 {
			return err
		}
		out.ReplacementCount = n
		return tx.AddAudit(ctx, &models.AuditEntry{ActorID: actorPtr(actorID), CampaignID: &campaignID, Action: AuditReplacement,
			Before: models.MustJSON(nil), After: models.MustJSON(out)})
	})
	if err != nil {
		return nil, wrapErr(err, "replacements in campaign %d", campaignID)
	}
	if out.Ratings > 0 {
		q.log.InfoContext(ctx, "replacements asked for", "campaign_id", campaignID, "ratings", out.Ratings, "tasks", out.Tasks, "by", actorID)
	}
	return out, nil
}
