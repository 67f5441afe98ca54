package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"capeval/accounts"
	"capeval/annotation"
	"capeval/annotation/demo"
	"capeval/autoeval"
	"capeval/models"
)

// openDemoInto loads the demo into an empty store and opens it as `capeval
// serve` does: text metrics computed, queue committed and collecting, the
// simulated annotators' ratings given.
func openDemoInto(t *testing.T, store *models.Store, dataDir string) {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	acc, err := accounts.New(store, log, accounts.Config{})
	if err != nil {
		t.Fatal(err)
	}
	newUser := func(email, name, role, password string) (*models.User, error) {
		return acc.Prepare(ctx, accounts.NewUser{Email: email, Name: name, Role: role, Password: password})
	}
	if _, err := demo.Load(ctx, store, demo.LoadOptions{Images: annotation.NewImageStore(dataDir), FilesDir: filepath.Join(dataDir, "demo"),
		NewUser: newUser, Log: log}); err != nil {
		t.Fatal(err)
	}
	score := func(ctx context.Context, campaignID int64) error {
		end, err := autoeval.NewRunner(store, autoeval.Scorers{}, log).RunToEnd(ctx, autoeval.NewJobs(store, false, log), campaignID, autoeval.KindText, nil)
		if err == nil && end.Status != models.JobDone {
			err = fmt.Errorf("text job ended %s: %s", end.Status, end.Error)
		}
		return err
	}
	if acted, err := demo.Collect(ctx, store, demo.CollectOptions{ScoreText: score, Log: log}); err != nil || !acted {
		t.Fatalf("open the demo: %v, %v", acted, err)
	}
}

// demoServices are the services serve wires, for an app on the opened
// demo: campaigns with their validators, selection, import, jobs (no CLIP),
// queue with the quality checks, progress and exports.
func demoServices(a *testApp) Services {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	campaigns := annotation.NewCampaigns(a.store, log, annotation.WithThresholdsValidator(annotation.ValidateThresholds))
	quality := annotation.NewQuality(a.store, log)
	images := annotation.NewImageStore(a.srv.cfg.DataDir)
	return Services{
		Campaigns: campaigns,
		Selection: annotation.NewSelection(a.store, campaigns, log),
		Import:    annotation.NewImporter(a.store, images, log),
		Jobs:      autoeval.NewJobs(a.store, false, log),
		Queue:     annotation.NewQueue(a.store, images, log, annotation.QueueOptions{Admitter: quality}),
		Quality:   quality,
		Progress:  annotation.NewProgress(a.store, quality, log),
		Export:    annotation.NewLeaderboards(a.store, quality, log),
	}
}

// newDemoApp is a test app on the opened demo with demoServices.
func newDemoApp(t *testing.T) *testApp {
	t.Helper()
	app := newTestAppWith(t, appOptions{prepare: func(store *models.Store, dataDir string) { openDemoInto(t, store, dataDir) }})
	app.srv = New(app.srv.cfg, app.store, app.accounts, demoServices(app), app.srv.log)
	return app
}

// demoCampaignID is the opened demo's campaign.
func demoCampaignID(t *testing.T, app *testApp) int64 {
	t.Helper()
	c, err := app.store.CampaignByName(context.Background(), demo.CampaignName)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}
