package report

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"capeval/annotation"
	"capeval/models"
	"capeval/models/modelstest"
)

// BenchmarkExport: the export benchmark, at 250,000 and 1,000,000
// ratings. A campaign of 50 captioners × 5,000 images (no image files)
// with CIDEr on every caption and 1 or 4 imported ratings per caption (from
// a pool of 40 annotators) is imported through the importer (timed once,
// import-s), then each iteration computes the leaderboard (1,000
// resamples) and renders it as CSV, JSON, Markdown and HTML (render-ms,
// their share of an iteration). peak-live-MiB is the largest heap the
// garbage collector found live while it runs, peak-heap-MiB the largest
// heap including garbage not yet collected (both sampled every 5 ms): the
// difference between the two sizes is what the ratings cost.
func BenchmarkExport(b *testing.B) {
	for _, perCaption := range []int{1, 4} {
		b.Run(fmt.Sprintf("ratings=%d", 50*5000*perCaption), func(b *testing.B) { benchmarkExport(b, perCaption) })
	}
}

func benchmarkExport(b *testing.B, perCaption int) {
	const captioners, images = 50, 5000
	ctx := context.Background()
	store := modelstest.NewStore(b)
	dir := b.TempDir()
	write := func(name string, fill func(w *bufio.Writer)) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriterSize(f, 1<<20)
		fill(w)
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		return p
	}
	req := annotation.ImportRequest{WithoutImages: true}
	req.References = annotation.SourceFile{Path: write("refs.jsonl", func(w *bufio.Writer) {
		for i := range images {
			fmt.Fprintf(w, "{\"image_id\": %d, \"caption\": \"a picture of thing %d on a table\"}\n", i, i)
		}
	})}
	quality := make([]float64, captioners)
	for c := range quality {
		quality[c] = 1.5 + 3*float64(c)/float64(captioners-1)
		name := fmt.Sprintf("model-%02d", c)
		req.Results = append(req.Results, annotation.ResultsFile{Captioner: name, SourceFile: annotation.SourceFile{
			Path: write(name+".jsonl", func(w *bufio.Writer) {
				for i := range images {
					fmt.Fprintf(w, "{\"image_id\": %d, \"caption\": \"model %d sees thing %d\"}\n", i, c, i)
				}
			})}})
	}
	r := rand.New(rand.NewPCG(1, 2))
	req.Ratings = annotation.SourceFile{Path: write("ratings.jsonl", func(w *bufio.Writer) {
		for c := range captioners {
			for i := range images {
				first := r.IntN(40)
				for k := range perCaption {
					v := min(5, max(1, math.Round(quality[c]+0.9*r.NormFloat64())))
					fmt.Fprintf(w, "{\"image_id\": %d, \"captioner\": \"model-%02d\", \"annotator\": \"w%d\", \"ratings\": {\"overall\": %g}}\n",
						i, c, (first+k*7)%40, v)
				}
			}
		}
	})}
	c := &models.Campaign{Name: "export bench", Mode: models.ModeLikert}
	if err := store.CreateCampaign(ctx, c); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	rep, err := annotation.NewImporter(store, annotation.NewImageStore(dir), nil).Import(ctx, c.ID, req)
	if err != nil {
		b.Fatal(err)
	}
	importTime := time.Since(start)
	if rep.Ratings.Added != captioners*images*perCaption {
		b.Fatalf("%d ratings imported", rep.Ratings.Added)
	}
	// CIDEr on every caption, tracking quality with noise.
	caps, err := store.Captioners(ctx, c.ID)
	if err != nil {
		b.Fatal(err)
	}
	var scores []models.Score
	for k, cp := range caps {
		err := store.EachCaption(ctx, []int64{cp.ID}, func(x models.Caption) error {
			scores = append(scores, models.Score{CaptionID: x.ID, Metric: "CIDEr", Value: 0.3*float64(k)/float64(captioners) + 0.2*r.Float64(), MetricVersion: "bench"})
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := store.InsertScoreRows(ctx, scores, nil); err != nil {
		b.Fatal(err)
	}
	scores = nil
	b.Logf("imported %d ratings of %d captions in %v", rep.Ratings.Added, captioners*images, importTime.Round(time.Millisecond))

	svc := annotation.NewLeaderboards(store, nil, nil)
	settings := annotation.LeaderboardSettings{Weights: map[string]float64{annotation.SourceHuman: 1, "CIDEr": 0.5}, Resamples: 1000}
	runtime.GC()
	var peak, peakLive atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			if v := sample[1].Value.Uint64(); v > peakLive.Load() {
				peakLive.Store(v)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	var render time.Duration
	n := 0
	for b.Loop() {
		lb, err := svc.Leaderboard(ctx, c.ID, settings)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		for _, f := range []Format{CSV, JSON, Markdown, HTML} {
			if err := Write(ctx, io.Discard, lb, f, Options{}); err != nil {
				b.Fatal(err)
			}
		}
		render += time.Since(t0)
		n++
	}
	close(stop)
	<-done
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(peakLive.Load())/(1<<20), "peak-live-MiB")
	b.ReportMetric(importTime.Seconds(), "import-s")
	b.ReportMetric(float64(render.Milliseconds())/float64(n), "render-ms")
}
