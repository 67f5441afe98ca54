package models

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"sort"

	"gorm.io/gorm/clause"
)

// embeddingChunk bounds the hashes of one IN (…) query and the rows of one
// INSERT: far below SQLite's 32766 and PostgreSQL's 65535 bind parameters.
const embeddingChunk = 500

// EncodeVector returns v as little-endian float32 bytes, the layout of
// Embedding.Vector.
func EncodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

// DecodeVector reverses EncodeVector; a length that is not a multiple of 4 is
// an error.
func DecodeVector(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("models: decode vector: %d bytes is not a whole number of float32", len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

// Embeddings returns the cached vectors of modelKey and kind for the given
// content hashes. Hashes without a cached vector are absent from the map.
func (s *Store) Embeddings(ctx context.Context, modelKey, kind string, hashes []string) (map[string][]float32, error) {
	out := make(map[string][]float32, len(hashes))
	for start := 0; start < len(hashes); start += embeddingChunk {
		chunk := hashes[start:min(start+embeddingChunk, len(hashes))]
		var rows []Embedding
		err := s.conn(ctx).
			Select("content_hash", "dim", "vector").
			Where("model_key = ? AND kind = ? AND content_hash IN ?", modelKey, kind, chunk).
			Find(&rows).Error
		if err != nil {
			return nil, wrap(err, "read %s embeddings of %s", kind, modelKey)
		}
		for _, r := range rows {
			v, err := DecodeVector(r.Vector)
			if err != nil {
				return nil, fmt.Errorf("models: %s embedding %s of %s: %w", kind, r.ContentHash, modelKey, err)
			}
			if len(v) != r.Dim {
				return nil, fmt.Errorf("models: %s embedding %s of %s: %d values, dim says %d", kind, r.ContentHash, modelKey, len(v), r.Dim)
			}
			out[r.ContentHash] = v
		}
	}
	return out, nil
}

// PutEmbeddings caches vecs (content hash → vector) under modelKey and kind.
// A hash already cached is left as it is: the same model on the same content
// gives the same vector, and concurrent workers may race to store it. Rows
// are inserted in hash order, in batches, in one transaction.
func (s *Store) PutEmbeddings(ctx context.Context, modelKey, kind string, vecs map[string][]float32) error {
	if len(vecs) == 0 {
		return nil
	}
	if modelKey == "" {
		return fmt.Errorf("models: put embeddings: empty model key: %w", ErrInvalid)
	}
	if k := EmbeddingKind(kind); k != EmbeddingImage && k != EmbeddingText {
		return fmt.Errorf("models: put embeddings of %s: unknown kind %q (want image or text): %w", modelKey, kind, ErrInvalid)
	}
	hashes := make([]string, 0, len(vecs))
	for h := range vecs {
		hashes = append(hashes, h)
	}
	sort.Strings(hashes)
	rows := make([]Embedding, 0, len(vecs))
	now := nowUTC()
	for _, h := range hashes {
		v := vecs[h]
		if h == "" || len(v) == 0 {
			return fmt.Errorf("models: put %s embeddings of %s: empty hash or vector (hash %q, %d values): %w", kind, modelKey, h, len(v), ErrInvalid)
		}
		rows = append(rows, Embedding{
			ModelKey: modelKey, Kind: EmbeddingKind(kind), ContentHash: h,
			Dim: len(v), Vector: EncodeVector(v), CreatedAt: now,
		})
	}
	err := s.InTx(ctx, func(tx *Store) error {
		return tx.conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).
			CreateInBatches(&rows, embeddingChunk).Error
	})
	if err != nil {
		return wrap(err, "put %d %s embeddings of %s", len(rows), kind, modelKey)
	}
	return nil
}
