package annotation

import (
	"hash/fnv"
	"math/bits"
	"math/rand/v2"
)

// stream is a deterministic random source for one purpose of one
// selection. Each purpose ("images", "ab", "gold", "queue") gets its own
// PCG stream derived from the seed and the purpose's name, so a change in
// how many draws one purpose makes never shifts another's. The bounded
// draws and the shuffle are written here rather than taken from
// math/rand/v2, whose algorithms for them may change between Go releases;
// PCG's output is fixed by its definition, so the same seed gives the
// same tasks with any Go version.
type stream struct{ src *rand.PCG }

func newStream(seed int64, purpose string) *stream {
	h := fnv.New64a()
	h.Write([]byte(purpose))
	return &stream{src: rand.NewPCG(uint64(seed), h.Sum64())}
}

// intn returns a uniform integer in [0, n), n > 0 (Lemire's multiply and
// reject, no modulo bias).
func (s *stream) intn(n int) int {
	bound := uint64(n)
	hi, lo := bits.Mul64(s.src.Uint64(), bound)
	if lo < bound {
		thresh := -bound % bound
		for lo < thresh {
			hi, lo = bits.Mul64(s.src.Uint64(), bound)
		}
	}
	return int(hi)
}

// coin returns true or false with equal chance.
func (s *stream) coin() bool { return s.src.Uint64()>>63 == 1 }

// shuffle permutes n elements with swap (Fisher–Yates).
func (s *stream) shuffle(n int, swap func(i, j int)) {
	for i := n - 1; i > 0; i-- {
		swap(i, s.intn(i+1))
	}
}
