package models_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"testing"
	"time"

	"capeval/models"
	"capeval/models/modelstest"
)

func TestVectorEncoding(t *testing.T) {
	tests := []struct {
		name string
		in   []float32
		want []byte
	}{
		{"empty", nil, []byte{}},
		{"one", []float32{1}, []byte{0x00, 0x00, 0x80, 0x3f}},
		{"negative and tiny", []float32{-2, math.SmallestNonzeroFloat32}, []byte{0, 0, 0, 0xc0, 1, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := models.EncodeVector(tt.in)
			if !reflect.DeepEqual(b, tt.want) {
				t.Fatalf("EncodeVector = % x, want % x", b, tt.want)
			}
			back, err := models.DecodeVector(b)
			if err != nil || len(back) != len(tt.in) {
				t.Fatalf("DecodeVector = %v, %v", back, err)
			}
			for i := range back {
				if back[i] != tt.in[i] {
					t.Errorf("value %d = %v, want %v", i, back[i], tt.in[i])
				}
			}
		})
	}
	if _, err := models.DecodeVector(make([]byte, 5)); err == nil {
		t.Error("DecodeVector of 5 bytes: want an error")
	}
}

func randomVectors(r *rand.Rand, n, dim int, prefix string) map[string][]float32 {
	out := make(map[string][]float32, n)
	for i := 0; i < n; i++ {
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		out[fmt.Sprintf("%s%05d", prefix, i)] = v
	}
	return out
}

func TestEmbeddingsRoundTrip(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		r := rand.New(rand.NewPCG(1, 2))
		// More than one batch, so that chunked reads and writes are exercised.
		text := randomVectors(r, 1203, 16, "t")
		image := randomVectors(r, 7, 512, "i")
		if err := s.PutEmbeddings(ctx, "clip-b32", "text", text); err != nil {
			t.Fatal(err)
		}
		if err := s.PutEmbeddings(ctx, "clip-b32", "image", image); err != nil {
			t.Fatal(err)
		}

		hashes := make([]string, 0, len(text)+1)
		for h := range text {
			hashes = append(hashes, h)
		}
		hashes = append(hashes, "not-cached")
		got, err := s.Embeddings(ctx, "clip-b32", "text", hashes)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, text) {
			t.Fatalf("read back %d text vectors, want the %d written, bit for bit", len(got), len(text))
		}

		tests := []struct {
			name     string
			modelKey string
			kind     string
			hashes   []string
			want     map[string][]float32
		}{
			{"image kind kept apart", "clip-b32", "image", []string{"i00003", "t00003"}, map[string][]float32{"i00003": image["i00003"]}},
			{"other model misses", "clip-l14", "text", []string{"t00001"}, map[string][]float32{}},
			{"no hashes", "clip-b32", "text", nil, map[string][]float32{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.Embeddings(ctx, tt.modelKey, tt.kind, tt.hashes)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("Embeddings = %v, want %v", got, tt.want)
				}
			})
		}

		t.Run("a second put keeps the first vector", func(t *testing.T) {
			again := map[string][]float32{"t00000": {9, 9}, "new": {1, 2, 3}}
			if err := s.PutEmbeddings(ctx, "clip-b32", "text", again); err != nil {
				t.Fatal(err)
			}
			got, err := s.Embeddings(ctx, "clip-b32", "text", []string{"t00000", "new"})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][]float32{"t00000": text["t00000"], "new": {1, 2, 3}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Embeddings = %v, want %v", got, want)
			}
		})

		badTests := []struct {
			name     string
			modelKey string
			kind     string
			vecs     map[string][]float32
		}{
			{"unknown kind", "clip-b32", "audio", map[string][]float32{"a": {1}}},
			{"empty model key", "", "text", map[string][]float32{"a": {1}}},
			{"empty vector", "clip-b32", "text", map[string][]float32{"a": {}}},
			{"empty hash", "clip-b32", "text", map[string][]float32{"": {1}}},
		}
		for _, tt := range badTests {
			t.Run(tt.name, func(t *testing.T) {
				if err := s.PutEmbeddings(ctx, tt.modelKey, tt.kind, tt.vecs); !errors.Is(err, models.ErrInvalid) {
					t.Errorf("PutEmbeddings = %v, want ErrInvalid", err)
				}
			})
		}
	})
}

// BenchmarkEmbeddings writes and reads back 10,000 CLIP-sized (512-d)
// vectors: the cache traffic of scoring a 10,000-caption campaign.
func BenchmarkEmbeddings(b *testing.B) {
	vecs := randomVectors(rand.New(rand.NewPCG(3, 4)), 10_000, 512, "h")
	hashes := make([]string, 0, len(vecs))
	for h := range vecs {
		hashes = append(hashes, h)
	}
	for _, kind := range modelstest.Stores {
		b.Run(kind, func(b *testing.B) {
			if kind == models.DialectPostgres && os.Getenv(modelstest.PostgresDSNEnv) == "" {
				b.Skipf("%s is not set", modelstest.PostgresDSNEnv)
			}
			ctx := context.Background()
			var put, get time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := modelstest.New(b, kind)
				b.StartTimer()
				start := time.Now()
				if err := s.PutEmbeddings(ctx, "clip", "text", vecs); err != nil {
					b.Fatal(err)
				}
				put += time.Since(start)
				start = time.Now()
				got, err := s.Embeddings(ctx, "clip", "text", hashes)
				if err != nil || len(got) != len(vecs) {
					b.Fatalf("Embeddings = %d vectors, %v", len(got), err)
				}
				get += time.Since(start)
			}
			b.ReportMetric(float64(put.Milliseconds())/float64(b.N), "ms-put/10k")
			b.ReportMetric(float64(get.Milliseconds())/float64(b.N), "ms-get/10k")
		})
	}
}
