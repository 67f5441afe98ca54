package annotation_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"capeval/annotation"
	"capeval/models"
	"capeval/models/modelstest"
)

// BenchmarkImport100kCaptions imports 4 captioners × 25,000 images =
// 100,000 captions (JSON Lines) into a campaign whose images are in the
// database already, on SQLite and, when CAPEVAL_TEST_POSTGRES_DSN is set,
// PostgreSQL. Besides the time it reports the peak live heap during the
// import (sampled every 5 ms): the import streams, so it stays far below
// the size of the files.
func BenchmarkImport100kCaptions(b *testing.B) {
	const images, captioners = 25_000, 4
	dir := b.TempDir()
	var files []annotation.ResultsFile
	var size int64
	for c := 0; c < captioners; c++ {
		p := filepath.Join(dir, fmt.Sprintf("model%d.jsonl", c))
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriter(f)
		for i := 0; i < images; i++ {
			fmt.Fprintf(w, "{\"image_id\": %d, \"caption\": \"model %d says image %d shows a small red square beside a larger blue circle\"}\n", i, c, i)
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		fi, _ := f.Stat()
		size += fi.Size()
		f.Close()
		files = append(files, annotation.ResultsFile{SourceFile: annotation.SourceFile{Path: p}, Captioner: fmt.Sprintf("model%d", c), Version: "1"})
	}
	for _, kind := range modelstest.Stores {
		b.Run(kind, func(b *testing.B) {
			s := modelstest.New(b, kind)
			im := annotation.NewImporter(s, annotation.NewImageStore(b.TempDir()), nil)
			ctx := context.Background()
			var peak uint64
			for n := 0; n < b.N; n++ {
				b.StopTimer()
				c := &models.Campaign{Name: fmt.Sprintf("bench %d", n), Mode: models.ModeLikert}
				if err := s.CreateCampaign(ctx, c); err != nil {
					b.Fatal(err)
				}
				rows := make([]models.Image, images)
				for i := range rows {
					rows[i] = models.Image{CampaignID: c.ID, ExternalID: fmt.Sprint(i), SHA256: fmt.Sprintf("%064x", i),
						StorageKey: "x", Width: 1, Height: 1}
				}
				if err := s.InsertImages(ctx, rows); err != nil {
					b.Fatal(err)
				}
				rows = nil
				runtime.GC()
				stop := sampleHeap(&peak)
				b.StartTimer()
				rep, err := im.Import(ctx, c.ID, annotation.ImportRequest{Results: files})
				b.StopTimer()
				stop()
				if err != nil {
					b.Fatal(err)
				}
				if got := rep.Captioners[0].Captions.Added * len(rep.Captioners); got != images*captioners {
					b.Fatalf("%d captions added", got)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(size)/(1<<20), "files-MiB")
			b.ReportMetric(float64(images*captioners)*float64(b.N)/b.Elapsed().Seconds(), "captions/s")
		})
	}
}

// sampleHeap records the largest HeapAlloc into peak until stop is called.
func sampleHeap(peak *uint64) (stop func()) {
	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for !done.Load() {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > *peak {
				*peak = ms.HeapAlloc
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return func() { done.Store(true); wg.Wait() }
}
