package autoeval

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"

	"capeval/autoeval/clip"
	"capeval/models"
)

// CLIPNames are the CLIP score names the jobs store, in report order.
var CLIPNames = []string{clip.MetricCLIPScore, clip.MetricRefCLIPScore}

// CLIPScorer computes CLIP metrics; *clip.Encoder is one.
type CLIPScorer interface {
	Score(ctx context.Context, samples []clip.Sample, nImages int, load clip.ImageLoader, m clip.Metrics) (*clip.Scores, error)
	// Fingerprint identifies the model; it is part of the metric version,
	// so that another model rescores everything.
	Fingerprint() string
	// Provider names the execution provider (CPU, CUDA), shown as the
	// job's device.
	Provider() string
}

// The encoder is the CLIPScorer the server and the CLI use, and the
// database cache is its clip.Cache.
var (
	_ CLIPScorer = (*clip.Encoder)(nil)
	_ clip.Cache = (*EmbeddingCache)(nil)
)

// CLIPMetricVersion is the metric version of CLIP scores computed with the
// model whose fingerprint is given.
func CLIPMetricVersion(fingerprint string) string { return "clipscore-hessel2021/" + fingerprint }

// EmbeddingStore is the embedding cache in the database.
type EmbeddingStore interface {
	Embeddings(ctx context.Context, modelKey, kind string, hashes []string) (map[string][]float32, error)
	PutEmbeddings(ctx context.Context, modelKey, kind string, vecs map[string][]float32) error
}

// EmbeddingCache adapts the database's embedding table to clip.Cache, so
// that embeddings survive restarts and are shared by every worker.
type EmbeddingCache struct{ store EmbeddingStore }

// NewEmbeddingCache returns a clip.Cache over store.
func NewEmbeddingCache(store EmbeddingStore) *EmbeddingCache { return &EmbeddingCache{store: store} }

// GetEmbeddings implements clip.Cache.
func (c *EmbeddingCache) GetEmbeddings(ctx context.Context, model string, kind clip.Kind, hashes []string) (map[string][]float32, error) {
	return c.store.Embeddings(ctx, model, string(kind), hashes)
}

// PutEmbeddings implements clip.Cache.
func (c *EmbeddingCache) PutEmbeddings(ctx context.Context, model string, kind clip.Kind, vecs map[string][]float32) error {
	return c.store.PutEmbeddings(ctx, model, string(kind), vecs)
}

// CLIPOptions say which CLIP model runs where: the CLIP settings of
// server.Config (CAPEVAL_CLIP_MODEL, CAPEVAL_ONNXRUNTIME_LIB,
// CAPEVAL_DEVICE, CAPEVAL_CUDA_PLUGIN), passed in rather than read here.
type CLIPOptions struct {
	// ModelDir is the model folder (Hugging Face ONNX layout).
	ModelDir string
	// LibraryPath is libonnxruntime.so; empty: clip.DefaultLibraryPath.
	LibraryPath string
	// Device is auto (CUDA when it works, else the CPU), cpu, cuda or
	// cuda:N; empty means auto.
	Device string
	// CUDAPlugin is the CUDA execution-provider plugin library, for a GPU
	// with the CPU build of ONNX Runtime; empty: none.
	CUDAPlugin string
}

func (o CLIPOptions) encoderOptions(log *slog.Logger) clip.Options {
	return clip.Options{ModelDir: o.ModelDir, LibraryPath: o.LibraryPath, Device: o.Device, CUDAPlugin: o.CUDAPlugin, Logger: log}
}

// OpenCLIP opens the CLIP encoder that opts describe, with its embeddings
// cached in store. Close the encoder when done.
func OpenCLIP(opts CLIPOptions, store EmbeddingStore, log *slog.Logger) (*clip.Encoder, error) {
	eo := opts.encoderOptions(log)
	eo.Cache = NewEmbeddingCache(store)
	enc, err := clip.NewEncoder(eo)
	if err != nil {
		return nil, fmt.Errorf("autoeval: open CLIP model %s: %w", opts.ModelDir, err)
	}
	return enc, nil
}

// clip runs a clip job. Per captioner, it decides for each metric which
// captions lack a value of the current model: CLIPScore every caption,
// RefCLIPScore every caption of an image that has references (never a
// made-up 0 for the others; the job's notes count them). Batches of the
// captions that lack either are scored and only the missing values stored,
// one transaction per batch; so references imported after a first job get
// their RefCLIPScore from the next one. Then the captioner's means are
// stored over the values there are, each with the number of captions it
// covers (CaptionerScore.N): a mean over part of a captioner's captions
// says so, and the selection does not rank on it.
func (ru *run) clip(ctx context.Context) error {
	sc := ru.r.scorers.CLIP
	if sc == nil {
		return fmt.Errorf("%w: %s", ErrUnavailable, CLIPUnavailableMessage)
	}
	if ru.r.scorers.ImagePath == nil {
		return errors.New("the runner was built without the image store (Scorers.ImagePath): it cannot read the images")
	}
	st, campaignID := ru.r.store, ru.job.CampaignID
	version := CLIPMetricVersion(sc.Fingerprint())
	captioners, err := st.Captioners(ctx, campaignID)
	if err != nil {
		return err
	}
	images, refs, err := campaignImages(ctx, st, campaignID)
	if err != nil {
		return err
	}
	if err := imagesAtHand(images); err != nil {
		return err
	}
	total := 0
	for _, c := range captioners {
		total += c.Captions
	}
	ru.set(func(p *models.JobProgress) { p.Done, p.Total, p.Device = 0, total, sc.Provider() })
	noRefs := 0
	for _, c := range captioners {
		captions, err := st.Captions(ctx, []int64{c.ID})
		if err != nil {
			return err
		}
		if len(captions) == 0 {
			ru.note("captioner %s@%s has no captions", c.Name, c.Version)
			continue
		}
		have, err := clipScored(ctx, st, c.ID, version)
		if err != nil {
			return err
		}
		lacks := func(metric string, id int64) bool { _, ok := have[metric][id]; return !ok }
		var todo []clipItem
		for _, cp := range captions {
			it := clipItem{Caption: cp, clipScore: lacks(clip.MetricCLIPScore, cp.ID),
				refCLIPScore: len(refs[cp.ImageID]) > 0 && lacks(clip.MetricRefCLIPScore, cp.ID)}
			if it.clipScore || it.refCLIPScore {
				todo = append(todo, it)
			}
			if len(refs[cp.ImageID]) == 0 {
				noRefs++
			}
		}
		ru.set(func(p *models.JobProgress) { p.Done += len(captions) - len(todo) })
		if err := ru.checkpoint(ctx); err != nil {
			return err
		}
		for start := 0; start < len(todo); start += ru.r.opts.CLIPBatch {
			batch := todo[start:min(start+ru.r.opts.CLIPBatch, len(todo))]
			if err := ru.clipBatch(ctx, c.Captioner, batch, images, refs, version); err != nil {
				return err
			}
			ru.set(func(p *models.JobProgress) { p.Done += len(batch) })
			if err := ru.checkpoint(ctx); err != nil {
				return err
			}
		}
		if err := ru.clipAggregate(ctx, c.Captioner, captions, version); err != nil {
			return err
		}
	}
	if noRefs > 0 {
		ru.note("RefCLIPScore not computed for %d captions of images without references (CLIPScore was)", noRefs)
	}
	return nil
}

// imagesAtHand refuses a campaign whose images were imported without their
// files (imported judgments and text metrics only): CLIP scores images, and
// saying so before the first batch beats failing in the middle of a
// captioner.
func imagesAtHand(images map[int64]models.Image) error {
	var missing []string
	for _, img := range images {
		if img.StorageKey == "" {
			missing = append(missing, img.ExternalID)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	return fmt.Errorf("%d of the campaign's %d images were imported without their files (e.g. %s): CLIP metrics need the images; import them (capeval import --images DIR|ZIP, or the campaign's Import section) and run the CLIP job again",
		len(missing), len(images), strings.Join(missing[:min(3, len(missing))], ", "))
}

// clipItem is a caption to score and which of its CLIP metrics it lacks.
type clipItem struct {
	models.Caption
	clipScore, refCLIPScore bool
}

// clipScored returns, per CLIP metric, the captions of the captioner that
// have a value at version, with the values.
func clipScored(ctx context.Context, st RunnerStore, captionerID int64, version string) (map[string]map[int64]float64, error) {
	out := map[string]map[int64]float64{}
	for _, name := range CLIPNames {
		out[name] = map[int64]float64{}
	}
	err := st.EachCaptionScore(ctx, []int64{captionerID}, CLIPNames, func(r models.CaptionScoreRow) error {
		if r.MetricVersion == version {
			out[r.Metric][r.CaptionID] = r.Value
		}
		return nil
	})
	return out, err
}

func (ru *run) clipBatch(ctx context.Context, c models.Captioner, batch []clipItem, images map[int64]models.Image, refs map[int64][]string, version string) error {
	// The batch's distinct images, in first-use order.
	index := map[int64]int{}
	var paths []string
	samples := make([]clip.Sample, len(batch))
	for i, cp := range batch {
		k, ok := index[cp.ImageID]
		if !ok {
			img, found := images[cp.ImageID]
			if !found || img.StorageKey == "" {
				return fmt.Errorf("captioner %s@%s: caption %d: image %d has no stored file", c.Name, c.Version, cp.ID, cp.ImageID)
			}
			path, err := ru.r.scorers.ImagePath(img.StorageKey)
			if err != nil {
				return fmt.Errorf("captioner %s@%s: caption %d: image %s: %w", c.Name, c.Version, cp.ID, img.ExternalID, err)
			}
			k = len(paths)
			index[cp.ImageID] = k
			paths = append(paths, path)
		}
		samples[i] = clip.Sample{Image: k, Caption: cp.Text, References: refs[cp.ImageID]}
	}
	load := func(i int) ([]byte, error) {
		b, err := os.ReadFile(paths[i])
		if err != nil {
			return nil, fmt.Errorf("read stored image: %w", err)
		}
		return b, nil
	}
	out, err := ru.r.scorers.CLIP.Score(ctx, samples, len(paths), load, clip.Metrics{CLIPScore: true, RefCLIPScore: true})
	if err != nil {
		return fmt.Errorf("captioner %s@%s: %w", c.Name, c.Version, err)
	}
	if len(out.CLIPScore) != len(batch) || len(out.RefCLIPScore) != len(batch) {
		return fmt.Errorf("captioner %s@%s: the CLIP scorer returned %d/%d scores for %d captions",
			c.Name, c.Version, len(out.CLIPScore), len(out.RefCLIPScore), len(batch))
	}
	// Only what was missing: a value stored already stays as it is.
	rows := make([]models.Score, 0, 2*len(batch))
	for i, cp := range batch {
		if cp.clipScore {
			rows = append(rows, models.Score{CaptionID: cp.ID, Metric: clip.MetricCLIPScore, Value: out.CLIPScore[i], MetricVersion: version})
		}
		if cp.refCLIPScore {
			rows = append(rows, models.Score{CaptionID: cp.ID, Metric: clip.MetricRefCLIPScore, Value: out.RefCLIPScore[i], MetricVersion: version})
		}
	}
	if err := ru.r.store.InTx(ctx, func(tx *models.Store) error { return tx.PutScores(ctx, rows) }); err != nil {
		return fmt.Errorf("captioner %s@%s: store CLIP scores: %w", c.Name, c.Version, err)
	}
	return nil
}

// clipAggregate stores a captioner's CLIP means over its stored per-caption
// scores of version, summed in caption order, each with the number of
// captions it covers.
func (ru *run) clipAggregate(ctx context.Context, c models.Captioner, captions []models.Caption, version string) error {
	vals, err := clipScored(ctx, ru.r.store, c.ID, version)
	if err != nil {
		return err
	}
	var agg []models.CaptionerScore
	for _, name := range CLIPNames {
		sum, n := 0.0, 0
		for _, cp := range captions {
			if v, ok := vals[name][cp.ID]; ok {
				sum += v
				n++
			}
		}
		if n == 0 {
			continue
		}
		agg = append(agg, models.CaptionerScore{CaptionerID: c.ID, Metric: name, Value: sum / float64(n), MetricVersion: version, N: n})
	}
	if err := ru.r.store.InTx(ctx, func(tx *models.Store) error { return tx.PutCaptionerScores(ctx, agg) }); err != nil {
		return fmt.Errorf("captioner %s@%s: store CLIP means: %w", c.Name, c.Version, err)
	}
	return nil
}
