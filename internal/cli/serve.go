package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"capeval/annotation"
	"capeval/autoeval"
	"capeval/models"
	"capeval/server"
)

// setup loads the configuration, opens the database and applies pending
// migrations: what every subcommand that touches the database shares.
func setup(ctx context.Context, stderr io.Writer) (server.Config, *models.Store, *slog.Logger, error) {
	cfg, err := server.LoadConfig(os.Getenv)
	if err != nil {
		return cfg, nil, nil, fmt.Errorf("configuration:\n%w", err)
	}
	log := cfg.NewLogger(stderrFile(stderr))
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return cfg, nil, nil, fmt.Errorf("data directory: %w", err)
	}
	store, err := models.Open(ctx, cfg.DB, cfg.DataDir, log)
	if err != nil {
		return cfg, nil, nil, err
	}
	if _, err := store.Migrate(ctx); err != nil {
		store.Close()
		return cfg, nil, nil, err
	}
	return cfg, store, log, nil
}

// stderrFile lets tests pass a buffer while main logs to os.Stderr.
func stderrFile(w io.Writer) io.Writer {
	if w == nil {
		return os.Stderr
	}
	return w
}

func serveCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "serve",
		"Run the web server: apply pending migrations, load the demo when CAPEVAL_DEMO=true and the\n"+
			"database is empty, then serve the UI and the JSON API on CAPEVAL_ADDR until SIGINT/SIGTERM.\n"+
			"Configuration comes from CAPEVAL_* variables (see `capeval config`).", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, store, log, err := setup(ctx, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := cfg.EnsureSecret(); err != nil {
		return err
	}
	if cfg.Demo {
		if err := loadDemo(ctx, store, cfg.DataDir, log, stdout); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on CAPEVAL_ADDR=%s: %w", cfg.Addr, err)
	}
	fmt.Fprintf(stdout, "capeval %s serving at http://%s\n", versionString(), ln.Addr())
	log.Info("serving", "addr", ln.Addr().String(), "db", store.Dialect(), "version", versionString())
	// The selection's schema checks every thresholds change, whichever
	// endpoint makes it (PATCH of the campaign or PUT of its thresholds).
	campaigns := annotation.NewCampaigns(store, log)
	svc := server.Services{
		Campaigns: campaigns,
		Selection: annotation.NewSelection(store, campaigns, log),
		Import:    annotation.NewImporter(store, annotation.NewImageStore(cfg.DataDir), log),
	}
	// Auto-eval: workers in this process claim the jobs that the API
	// queues (other processes on the same PostgreSQL may claim them too).
	scorers := autoeval.Scorers{ImageDir: filepath.Join(cfg.DataDir, "images")}
	if cfg.CLIPModel != "" {
		enc, err := autoeval.OpenCLIP(cfg.ONNXRuntimeLib, cfg.CLIPModel, store, log)
		if err != nil {
			return err
		}
		defer enc.Close()
		scorers.CLIP = enc
	} else {
		log.Info(autoeval.CLIPUnavailableMessage)
	}
	svc.Jobs = autoeval.NewJobs(store, scorers.CLIP != nil, log)
	runCtx, stopRunner := context.WithCancel(ctx)
	runnerDone := make(chan struct{})
	go func() {
		defer close(runnerDone)
		autoeval.NewRunner(store, scorers, log).Run(runCtx, evalWorkers)
	}()
	err = server.New(cfg, store, svc, log).Serve(ctx, ln)
	stopRunner()
	<-runnerDone // the workers hand their jobs back before the store closes
	return err
}

// evalWorkers is how many auto-eval jobs one server runs at once. Each job
// uses every core already (text metrics, ONNX Runtime), so one is enough
// per machine; more machines add workers.
const evalWorkers = 1
