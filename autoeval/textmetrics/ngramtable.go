package textmetrics

// gramTable interns n-grams to dense int32 ids. An n-gram is the pair
// (id of its first n-1 tokens, id of its last token), so a 4-gram costs one
// lookup given its prefix's id, the table never compares token sequences,
// and ids are exact (no hash collisions reach the scores). Open addressing
// with linear probing over uint64 keys keeps lookups free of allocation and
// safe for concurrent readers once building is done.
type gramTable struct {
	unigram []int32 // token id → unigram id (-1: none), to skip hashing for n = 1
	slots   []gramSlot
	mask    uint64
	count   int
	order   []uint8  // n of each id (1..4)
	keys    []uint64 // key of each id
}

// gramSlot keeps a key beside its id, so a probe touches one cache line.
type gramSlot struct {
	key uint64 // 0: empty; otherwise the key with its top bit set
	id  int32
}

const gramKeyUsed = 1 << 63

func newGramTable(capacity int) *gramTable {
	size := 1024
	for size < capacity*2 {
		size *= 2
	}
	return &gramTable{slots: make([]gramSlot, size), mask: uint64(size - 1)}
}

// gramKey combines a prefix id (-1 for a unigram) and a token id.
func gramKey(prefix, tok int32) uint64 {
	return uint64(uint32(prefix+1))<<32 | uint64(uint32(tok)) | gramKeyUsed
}

func gramHash(key uint64) uint64 {
	key *= 0x9e3779b97f4a7c15
	return key ^ key>>29
}

// lookupUnigram returns the id of the unigram tok, or -1.
func (t *gramTable) lookupUnigram(tok int32) int32 {
	if int(tok) < len(t.unigram) {
		return t.unigram[tok]
	}
	return -1
}

// internUnigram returns the id of the unigram tok, adding it when new.
func (t *gramTable) internUnigram(tok int32) int32 {
	for int(tok) >= len(t.unigram) {
		t.unigram = append(t.unigram, -1)
	}
	if id := t.unigram[tok]; id >= 0 {
		return id
	}
	id := int32(t.count)
	t.count++
	t.order = append(t.order, 1)
	t.keys = append(t.keys, gramKey(-1, tok))
	t.unigram[tok] = id
	return id
}

// lookup returns the id of (prefix, tok), or -1 when it was never interned.
func (t *gramTable) lookup(prefix, tok int32) int32 {
	key := gramKey(prefix, tok)
	for i := gramHash(key) & t.mask; ; i = (i + 1) & t.mask {
		switch s := &t.slots[i]; s.key {
		case key:
			return s.id
		case 0:
			return -1
		}
	}
}

// intern returns the id of (prefix, tok) for an n-gram of order n, adding
// it when new.
func (t *gramTable) intern(prefix, tok int32, n int) int32 {
	key := gramKey(prefix, tok)
	i := gramHash(key) & t.mask
	for ; ; i = (i + 1) & t.mask {
		switch s := &t.slots[i]; s.key {
		case key:
			return s.id
		case 0:
			if (t.count+1)*2 > len(t.slots) {
				t.grow()
				return t.intern(prefix, tok, n)
			}
			id := int32(t.count)
			*s = gramSlot{key, id}
			t.count++
			t.order = append(t.order, uint8(n))
			t.keys = append(t.keys, key)
			return id
		}
	}
}

func (t *gramTable) grow() {
	old := t.slots
	t.slots = make([]gramSlot, 2*len(old))
	t.mask = uint64(len(t.slots) - 1)
	for _, s := range old {
		if s.key == 0 {
			continue
		}
		i := gramHash(s.key) & t.mask
		for t.slots[i].key != 0 {
			i = (i + 1) & t.mask
		}
		t.slots[i] = s
	}
}
