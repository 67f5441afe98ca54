package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"capeval/annotation"
	"capeval/models"
)

// Thresholds is the demo campaign's selection: every captioner ranked by
// CIDEr-D, 12 images each, 6 ratings per item (the four simulated
// annotators and the two demo annotators), and one gold item in ten.
const Thresholds = `{"seed": 20261125, "rank": {"metric": "CIDEr"}, "top_k": 0, "images": {"count": 12, "sampling": "stratified", "tag_prefix": "count:"}, "ratings_per_item": 6, "gold_rate": 0.1}`

// Instructions are what the demo's annotators read before their first
// task.
const Instructions = "Each picture shows a few coloured shapes on a plain background. Read the caption and judge " +
	"it against the picture only: are the colours, counts and positions right, is everything that matters " +
	"mentioned, and does it read well? Press ? at any time for the keys."

// Quality are the demo campaign's quality settings: a few signals for the
// lead's view, no qualification, so that the annotators start at once; a
// flagged annotator's ratings are left out (the careless simulated one).
var Quality = annotation.QualitySettings{MinAccuracy: 0.6, MinGoldAnswers: 3, ExcludeFlagged: true, MinSeconds: 1.5, StraightLineWindow: 8}

// CollectOptions are what Collect needs besides the database.
type CollectOptions struct {
	// ScoreText computes the campaign's text metrics to the end, through
	// the auto-eval runner `capeval eval` uses (annotation cannot import
	// autoeval: the composition root passes it in).
	ScoreText func(ctx context.Context, campaignID int64) error
	Log       *slog.Logger
}

// Collect makes the loaded demo campaign ready to rate: its text metrics
// computed, its queue committed with Thresholds and Quality, its
// instructions set and its status collecting, each step through the
// services a lead's request goes through (audited as the demo lead's), and
// the simulated annotators' ratings given through the queue (simulate.go). It
// acts only on the demo campaign still as Load left it (a draft without
// tasks), so it finishes a first start that was interrupted and leaves a
// demo the lead has changed alone; it returns whether it acted.
func Collect(ctx context.Context, store *models.Store, opts CollectOptions) (bool, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c, err := store.CampaignByName(ctx, CampaignName)
	if errors.Is(err, models.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("demo: %w", err)
	}
	sum, err := store.CampaignSummaryByID(ctx, c.ID)
	if err != nil {
		return false, fmt.Errorf("demo: %w", err)
	}
	if c.Status != models.StatusDraft || sum.Tasks > 0 || !c.Thresholds.IsNull() {
		return false, nil
	}
	lead, err := store.UserByEmail(ctx, Accounts[1].Email)
	if err != nil {
		return false, fmt.Errorf("demo: the demo lead: %w", err)
	}
	if opts.ScoreText == nil {
		return false, errors.New("demo: collect: no text scorer")
	}
	if err := opts.ScoreText(ctx, c.ID); err != nil {
		return false, fmt.Errorf("demo: text metrics: %w", err)
	}
	campaigns := annotation.NewCampaigns(store, log)
	res, err := annotation.NewSelection(store, campaigns, log).Commit(ctx, lead.ID, c.ID,
		annotation.CommitOptions{Thresholds: models.JSON(Thresholds)})
	if err != nil {
		return false, fmt.Errorf("demo: commit the queue: %w", err)
	}
	quality := annotation.NewQuality(store, log)
	if _, err := quality.SetSettings(ctx, lead.ID, c.ID, Quality); err != nil {
		return false, fmt.Errorf("demo: quality settings: %w", err)
	}
	collecting, instructions := models.StatusCollecting, Instructions
	if _, err := campaigns.Update(ctx, lead.ID, c.ID, annotation.CampaignPatch{Status: &collecting, Instructions: &instructions}); err != nil {
		return false, fmt.Errorf("demo: open the queue: %w", err)
	}
	rated, err := simulate(ctx, store, c.ID, quality, log)
	if err != nil {
		return false, err
	}
	log.Info("demo queue open", "campaign", CampaignName, "tasks", res.Created, "simulated_ratings", rated)
	return true, nil
}
