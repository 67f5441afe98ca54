package clip

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sync"
)

// Kind says whether an embedding is of a text or of an image.
type Kind string

// Embedding kinds.
const (
	KindText  Kind = "text"
	KindImage Kind = "image"
)

// Cache stores embeddings by model fingerprint, kind and content hash, so that
// re-scoring computes only what is new. The encoder consults it in batches.
// Implementations must be safe for concurrent use.
type Cache interface {
	// GetEmbeddings returns the cached vectors among hashes, keyed by hash;
	// a hash that is not cached is simply absent.
	GetEmbeddings(ctx context.Context, model string, kind Kind, hashes []string) (map[string][]float32, error)
	// PutEmbeddings stores vectors keyed by hash.
	PutEmbeddings(ctx context.Context, model string, kind Kind, vecs map[string][]float32) error
}

// ContentHash is the cache key of a text (its exact bytes, after any prompt
// prefix) or of an image (its encoded file bytes): hex sha256.
func ContentHash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// MemoryCache is an in-process Cache for tests and one-shot runs. It counts
// hits and misses so tests can check that cached items skip the encoder.
type MemoryCache struct {
	mu     sync.Mutex
	m      map[memKey][]float32
	hits   int
	misses int
}

type memKey struct {
	model string
	kind  Kind
	hash  string
}

// NewMemoryCache returns an empty MemoryCache.
func NewMemoryCache() *MemoryCache { return &MemoryCache{m: make(map[memKey][]float32)} }

// GetEmbeddings implements Cache.
func (c *MemoryCache) GetEmbeddings(_ context.Context, model string, kind Kind, hashes []string) (map[string][]float32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string][]float32)
	for _, h := range hashes {
		if v, ok := c.m[memKey{model, kind, h}]; ok {
			out[h] = slices.Clone(v)
			c.hits++
		} else {
			c.misses++
		}
	}
	return out, nil
}

// PutEmbeddings implements Cache.
func (c *MemoryCache) PutEmbeddings(_ context.Context, model string, kind Kind, vecs map[string][]float32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, v := range vecs {
		c.m[memKey{model, kind, h}] = slices.Clone(v)
	}
	return nil
}

// Stats returns the number of hits and misses so far.
func (c *MemoryCache) Stats() (hits, misses int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}

// Len returns the number of stored embeddings.
func (c *MemoryCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
