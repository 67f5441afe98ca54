package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"

	"capeval/accounts"
	"capeval/annotation"
	"capeval/annotation/demo"
	"capeval/autoeval"
	"capeval/autoeval/textmetrics"
	"capeval/models"
	"capeval/server"
)

var serveCommand = &command{
	name:    "serve",
	summary: "run the web server (applies pending migrations first)",
	help: "Run the web server: apply pending migrations, load the demo when CAPEVAL_DEMO=true and the\n" +
		"database is empty, then serve the UI and the JSON API on CAPEVAL_ADDR until SIGINT/SIGTERM.\n" +
		"Configuration comes from CAPEVAL_* variables (see `capeval config`).",
	flags: noArgs("serve", serve),
}

func serve(ctx context.Context, e *env) error {
	cfg, store, log, err := e.setup(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := cfg.EnsureSecret(); err != nil {
		return err
	}
	acc, err := accounts.New(store, log, cfg.AccountsConfig())
	if err != nil {
		return err
	}
	images := annotation.NewImageStore(cfg.DataDir)
	if cfg.Demo {
		if err := loadDemo(ctx, store, images, cfg.DataDir, log, e.stdout); err != nil {
			return err
		}
		if err := openDemo(ctx, store, log); err != nil {
			return err
		}
	}
	if err := refuseDemoPasswords(ctx, cfg, acc); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on CAPEVAL_ADDR=%s: %w", cfg.Addr, err)
	}
	fmt.Fprintf(e.stdout, "capeval %s serving at http://%s\n", versionString(), ln.Addr())
	log.Info("serving", "addr", ln.Addr().String(), "db", store.Dialect(), "version", versionString())
	// The selection's schema checks every thresholds change, whichever
	// endpoint makes it (PATCH of the campaign or PUT of its thresholds).
	// The blend weights are checked against the leaderboard's schema.
	campaigns := annotation.NewCampaigns(store, log)
	svc := server.Services{
		Campaigns: campaigns,
		Selection: annotation.NewSelection(store, campaigns, log),
		// The leak warning compares texts after the metrics' tokenization.
		Import: annotation.NewImporter(store, images, log, annotation.WithTokenizer(textmetrics.TokenizeString)),
	}
	// The quality checks decide, before each pick of the queue, what an
	// annotator may get (qualification, daily cap, exclusion).
	quality := annotation.NewQuality(store, log)
	svc.Quality, svc.Progress = quality, annotation.NewProgress(store, quality, log)
	svc.Queue = annotation.NewQueue(store, images, log, annotation.QueueOptions{LeaseTTL: cfg.LeaseTTL, Admitter: quality})
	// Auto-eval: workers in this process claim the jobs that the API
	// queues (other processes on the same database, `capeval worker`
	// among them, may claim them too).
	scorers, closeScorers, err := evalScorers(cfg, store, images, log)
	if err != nil {
		return err
	}
	defer closeScorers()
	svc.Jobs = autoeval.NewJobs(store, scorers.CLIP != nil, log)
	// Exports compute the leaderboard as `capeval export` does.
	svc.Export = leaderboardService(store, log)
	svc.Leaderboards = leaderboardService(store, log)
	runCtx, stopRunner := context.WithCancel(ctx)
	runnerDone := make(chan struct{})
	go func() {
		defer close(runnerDone)
		autoeval.NewRunner(store, scorers, log).Run(runCtx, evalWorkers)
	}()
	srv := server.New(cfg, store, acc, svc, log)
	if scorers.CLIP != nil {
		srv.SetEvalDevice(scorers.CLIP.Provider())
	}
	err = srv.Serve(ctx, ln)
	stopRunner()
	<-runnerDone // the workers hand their jobs back before the store closes
	return err
}

// evalWorkers is how many auto-eval jobs one server runs at once. Each job
// uses every core already (text metrics, ONNX Runtime), so one is enough
// per machine; more machines add workers.
const evalWorkers = 1

// clipOptions are the CLIP settings of the configuration.
func clipOptions(cfg server.Config) autoeval.CLIPOptions {
	return autoeval.CLIPOptions{ModelDir: cfg.CLIPModel, LibraryPath: cfg.ONNXRuntimeLib, Device: cfg.Device, CUDAPlugin: cfg.CUDAPlugin}
}

// loadDemo loads the demo into an empty database and prints its logins.
func loadDemo(ctx context.Context, store *models.Store, images *annotation.ImageStore, dataDir string, log *slog.Logger, stdout io.Writer) error {
	// The demo's accounts follow the accounts' rules; this service only
	// prepares them (no token secret needed).
	acc, err := accounts.New(store, log, accounts.Config{})
	if err != nil {
		return err
	}
	newUser := func(email, name, role, password string) (*models.User, error) {
		return acc.Prepare(ctx, accounts.NewUser{Email: email, Name: name, Role: role, Password: password})
	}
	st, err := demo.Load(ctx, store, demo.LoadOptions{Images: images, FilesDir: filepath.Join(dataDir, "demo"),
		NewUser: newUser, Log: log})
	if err != nil {
		return err
	}
	if st == demo.Skipped {
		return nil
	}
	fmt.Fprintln(stdout, "demo accounts (email / password):")
	for _, a := range demo.Accounts {
		fmt.Fprintf(stdout, "  %-10s %-26s %s\n", a.Role, a.Email, a.Password)
	}
	return nil
}

// openDemo makes the demo campaign ready to rate (demo.Collect): its text
// metrics computed now, to the end, by the runner `capeval eval` uses, then
// its queue committed and collecting.
func openDemo(ctx context.Context, store *models.Store, log *slog.Logger) error {
	score := func(ctx context.Context, campaignID int64) error {
		end, err := autoeval.NewRunner(store, autoeval.Scorers{}, log).
			RunToEnd(ctx, autoeval.NewJobs(store, false, log), campaignID, autoeval.KindText, nil)
		if err != nil {
			return err
		}
		if end.Status != models.JobDone {
			return fmt.Errorf("text job %d ended %s: %s", end.ID, end.Status, end.Error)
		}
		return nil
	}
	_, err := demo.Collect(ctx, store, demo.CollectOptions{ScoreText: score, Log: log})
	return err
}

// refuseDemoPasswords stops a server that others can reach while a demo
// account still signs in with its published password (the demo may have
// been loaded on a loopback address before; CAPEVAL_DEMO=true itself is
// refused off loopback by the configuration).
func refuseDemoPasswords(ctx context.Context, cfg server.Config, acc *accounts.Service) error {
	if cfg.Loopback() {
		return nil
	}
	creds := make([]accounts.Credential, len(demo.Accounts))
	for i, a := range demo.Accounts {
		creds[i] = accounts.Credential{Email: a.Email, Password: a.Password}
	}
	if err := acc.RefusePublished(ctx, creds); err != nil {
		return fmt.Errorf("CAPEVAL_ADDR=%s is not a loopback address and %w: change them with `capeval user set-password` or disable them with `capeval user disable`", cfg.Addr, err)
	}
	return nil
}
