package demo_test

import (
	"context"
	"errors"
	"testing"

	"capeval/annotation/demo"
	"capeval/models"
	"capeval/models/modelstest"
)

// TestCollectActsOnlyOnTheFreshDemo: Collect does nothing without the demo
// or once the lead has changed it; a scorer's failure is returned and
// leaves the demo as Load made it. (internal/cli's TestServeOpensTheDemoQueue
// runs it with the real text metrics.)
func TestCollectActsOnlyOnTheFreshDemo(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		calls := 0
		failing := demo.CollectOptions{ScoreText: func(context.Context, int64) error { calls++; return errors.New("no scorer here") }}
		if acted, err := demo.Collect(ctx, store, failing); acted || err != nil || calls != 0 {
			t.Fatalf("without the demo: %v, %v, %d scorer calls", acted, err, calls)
		}
		if _, err := demo.Load(ctx, store, loadOptions(t.TempDir())); err != nil {
			t.Fatal(err)
		}
		acted, err := demo.Collect(ctx, store, failing)
		if acted || err == nil || calls != 1 {
			t.Fatalf("a failing scorer: %v, %v, %d calls", acted, err, calls)
		}
		c, err := store.CampaignByName(ctx, demo.CampaignName)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := store.CampaignSummaryByID(ctx, c.ID)
		if err != nil || c.Status != models.StatusDraft || sum.Tasks != 0 || !c.Thresholds.IsNull() {
			t.Fatalf("after the failure: %s, %d tasks, thresholds %s (%v)", c.Status, sum.Tasks, c.Thresholds, err)
		}
		// The lead has set thresholds of their own: the demo is theirs now.
		if err := store.UpdateCampaign(ctx, c.ID, models.CampaignChanges{Thresholds: models.JSON(`{"top_k":1}`)}); err != nil {
			t.Fatal(err)
		}
		if acted, err := demo.Collect(ctx, store, failing); acted || err != nil || calls != 1 {
			t.Errorf("a demo the lead changed: %v, %v, %d calls", acted, err, calls)
		}
	})
}
