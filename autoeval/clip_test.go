package autoeval

import (
	"context"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"capeval/autoeval/clip"
	"capeval/autoeval/clip/onnxgen"
	"capeval/internal/sharedtest"
	"capeval/models"
	"capeval/models/modelstest"
)

// countingCLIP counts Score calls and samples; hook runs before each call.
type countingCLIP struct {
	*clip.Encoder
	calls   atomic.Int64
	samples atomic.Int64
	hook    func(ctx context.Context, call int64) error
}

func (c *countingCLIP) Score(ctx context.Context, samples []clip.Sample, nImages int, load clip.ImageLoader, m clip.Metrics) (*clip.Scores, error) {
	n := c.calls.Add(1)
	if c.hook != nil {
		if err := c.hook(ctx, n); err != nil {
			return nil, err
		}
	}
	c.samples.Add(int64(len(samples)))
	return c.Encoder.Score(ctx, samples, nImages, load, m)
}

// tinyCLIP opens a tiny generated CLIP model on the real ONNX Runtime, with
// its embeddings cached in s.
func tinyCLIP(t *testing.T, s *models.Store) *clip.Encoder {
	t.Helper()
	lib := sharedtest.ONNXRuntimeLibrary(t, clip.DefaultLibraryPath())
	dir := filepath.Join(t.TempDir(), "tiny-clip")
	if _, err := onnxgen.WriteTinyFolder(dir, onnxgen.DefaultTinyConfig(), onnxgen.TokenizerJSON); err != nil {
		t.Fatal(err)
	}
	enc, err := OpenCLIP(CLIPOptions{ModelDir: dir, LibraryPath: lib}, s, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { enc.Close() })
	return enc
}

// TestCLIPJob scores the demo campaign with a tiny CLIP model on ONNX
// Runtime, killing the worker after two batches: the resumed job scores only
// the rest, and the stored means equal a direct computation.
func TestCLIPJob(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		enc := tinyCLIP(t, s)
		f := seedDemo(t, s, "demo", t.TempDir())
		j := startJob(t, f, KindCLIP)

		killCtx, kill := context.WithCancel(ctx)
		defer kill()
		first := &countingCLIP{Encoder: enc, hook: func(ctx context.Context, call int64) error {
			if call == 3 {
				kill()
				return ctx.Err()
			}
			return nil
		}}
		opts := fastOptions()
		opts.CLIPBatch = 20
		a := NewRunner(s, Scorers{CLIP: first, ImagePath: f.imagePath}, nil).WithOptions(opts)
		a.abandon = true
		a.Run(killCtx, 1)
		if first.samples.Load() != 40 {
			t.Fatalf("first run scored %d samples, want 40 (two batches)", first.samples.Load())
		}

		second := &countingCLIP{Encoder: enc}
		opts.StaleAfter = time.Nanosecond
		b := NewRunner(s, Scorers{CLIP: second, ImagePath: f.imagePath}, nil).WithOptions(opts)
		end, err := b.RunJob(ctx, j.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if end.Status != models.JobDone || end.Done != 192 || end.Total != 192 || end.Device != enc.Provider() {
			t.Fatalf("clip job ended %+v, want done 192/192 on %s", end, enc.Provider())
		}
		if second.samples.Load() != 152 {
			t.Fatalf("resumed run scored %d samples, want the 152 left", second.samples.Load())
		}

		// The stored means equal the encoder's own over each captioner.
		checkCLIPMeans(t, s, enc, f)
		imgs, _, err := campaignImages(ctx, s, f.campaign.ID)
		if err != nil {
			t.Fatal(err)
		}
		// The images' embeddings are in the database's cache.
		var hashes []string
		for _, im := range imgs {
			b, err := os.ReadFile(filepath.Join(f.imageDir, im.StorageKey))
			if err != nil {
				t.Fatal(err)
			}
			hashes = append(hashes, clip.ContentHash(b))
		}
		cached, err := s.Embeddings(ctx, enc.Fingerprint(), string(clip.KindImage), hashes)
		if err != nil {
			t.Fatal(err)
		}
		if len(cached) != len(hashes) {
			t.Fatalf("%d of %d image embeddings cached in the database", len(cached), len(hashes))
		}
		// A new clip job finds everything scored.
		third := &countingCLIP{Encoder: enc}
		r := NewRunner(s, Scorers{CLIP: third, ImagePath: f.imagePath}, nil).WithOptions(fastOptions())
		if end, err := r.RunJob(ctx, startJob(t, f, KindCLIP).ID, nil); err != nil || end.Status != models.JobDone || third.calls.Load() != 0 {
			t.Fatalf("second clip job = %+v, %v after %d calls; want done after 0", end, err, third.calls.Load())
		}
	})
}

// checkCLIPMeans checks that the stored CLIP means of every captioner cover
// all its captions, are of the encoder's model, and equal the encoder's own
// over its captions with the references stored now.
func checkCLIPMeans(t *testing.T, s *models.Store, enc *clip.Encoder, f *fixture) {
	t.Helper()
	ctx := context.Background()
	rep, err := CaptionerScoresReport(ctx, s, f.campaign.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	imgs, refs, err := campaignImages(ctx, s, f.campaign.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Captioners {
		caps, err := s.Captions(ctx, []int64{c.ID})
		if err != nil {
			t.Fatal(err)
		}
		index := map[int64]int{}
		var paths []string
		samples := make([]clip.Sample, len(caps))
		for i, cp := range caps {
			k, ok := index[cp.ImageID]
			if !ok {
				k = len(paths)
				index[cp.ImageID] = k
				paths = append(paths, filepath.Join(f.imageDir, imgs[cp.ImageID].StorageKey))
			}
			samples[i] = clip.Sample{Image: k, Caption: cp.Text, References: refs[cp.ImageID]}
		}
		want, err := enc.Score(ctx, samples, len(paths), func(i int) ([]byte, error) { return os.ReadFile(paths[i]) },
			clip.Metrics{CLIPScore: true, RefCLIPScore: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range CLIPNames {
			if got := c.Scores[name]; math.Abs(got-want.Mean[name]) > 1e-12 || c.N[name] != len(caps) {
				t.Errorf("%s %s = %v over %d, want %v over %d", c.Name, name, got, c.N[name], want.Mean[name], len(caps))
			}
			if c.MetricVersions[name] != CLIPMetricVersion(enc.Fingerprint()) {
				t.Errorf("%s %s version %q", c.Name, name, c.MetricVersions[name])
			}
		}
	}
}
