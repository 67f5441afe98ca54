package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"

	"capeval/annotation"
	"capeval/autoeval"
	"capeval/models"
	"capeval/server"
)

var workerCommand = &command{
	name:    "worker",
	summary: "run auto-eval jobs without serving HTTP (add GPU machines to a PostgreSQL deployment)",
	usage:   "[--jobs N]",
	help: "Claim and run the auto-eval jobs that the servers queue, until SIGINT/SIGTERM, without serving\n" +
		"HTTP: the runner of `capeval serve`, alone. Point CAPEVAL_DB at the servers' PostgreSQL (workers\n" +
		"claim with FOR UPDATE SKIP LOCKED, so any number share the queue) and give the machine\n" +
		"CAPEVAL_CLIP_MODEL, CAPEVAL_ONNXRUNTIME_LIB and CAPEVAL_DEVICE for CLIP jobs; CLIP jobs read the\n" +
		"images from CAPEVAL_DATA_DIR/images, which must be the servers' (a shared mount). On SQLite a\n" +
		"worker shares the file with a server on the same machine. Pending migrations are applied first,\n" +
		"a database newer than this binary is refused. On SIGINT/SIGTERM a job in progress is handed back\n" +
		"to the queue with its work so far kept, and the next worker resumes it.",
	flags: func(fs *flag.FlagSet, e *env) action {
		jobs := fs.Int("jobs", evalWorkers, "jobs this worker runs at once (`N`, 1 to 64); each uses every core already")
		return func(ctx context.Context, args []string) error {
			if err := wantArgs(args, 0, "worker", ""); err != nil {
				return err
			}
			if *jobs < 1 || *jobs > 64 {
				return usagef("--jobs %d: want 1 to 64", *jobs)
			}
			return work(ctx, e, *jobs)
		}
	},
}

func work(ctx context.Context, e *env, jobs int) error {
	cfg, store, log, err := e.setup(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	scorers, closeScorers, err := evalScorers(cfg, store, annotation.NewImageStore(cfg.DataDir), log)
	if err != nil {
		return err
	}
	defer closeScorers()
	log.Info("worker running", "db", store.Dialect(), "jobs", jobs, "clip", scorers.CLIP != nil, "version", versionString())
	fmt.Fprintf(e.stdout, "capeval %s worker running %d job(s) at a time on %s\n", versionString(), jobs, store.Dialect())
	// Run returns once ctx is cancelled and every worker has handed its
	// job back; only then does the store close.
	autoeval.NewRunner(store, scorers, log).Run(ctx, jobs)
	log.Info("worker stopped")
	return nil
}

// evalScorers builds what the auto-eval jobs compute with: the text
// metrics, and the CLIP encoder when CAPEVAL_CLIP_MODEL names a model
// (close releases it). serve and worker share it, so that a job runs the
// same wherever it is claimed.
func evalScorers(cfg server.Config, store *models.Store, images *annotation.ImageStore, log *slog.Logger) (autoeval.Scorers, func(), error) {
	scorers := autoeval.Scorers{ImagePath: images.Path}
	if cfg.CLIPModel == "" {
		log.Info(autoeval.CLIPUnavailableMessage)
		return scorers, func() {}, nil
	}
	enc, err := autoeval.OpenCLIP(clipOptions(cfg), store, log)
	if err != nil {
		return scorers, nil, err
	}
	scorers.CLIP = enc
	return scorers, func() { enc.Close() }, nil
}
