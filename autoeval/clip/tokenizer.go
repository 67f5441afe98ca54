package clip

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// ContextLength is the number of token ids CLIP's text encoder takes.
const ContextLength = 77

// Special tokens of CLIP's vocabulary. Their ids are read from the vocabulary;
// 49406 and 49407 are what the original 49,408-entry vocabulary gives them.
const (
	startOfText = "<|startoftext|>"
	endOfText   = "<|endoftext|>"
	endOfWord   = "</w>"
)

// ErrUnknownToken reports a BPE piece missing from the vocabulary. It cannot
// happen with a complete CLIP vocabulary, which holds every byte symbol.
var ErrUnknownToken = errors.New("clip: token not in vocabulary")

// Tokenizer is CLIP's byte-level BPE tokenizer: text cleaning, CLIP's word
// pattern, BPE with an end-of-word marker, start/end tokens, truncation and
// zero padding to ContextLength. It is safe for concurrent use.
type Tokenizer struct {
	encoder map[string]int64
	ranks   map[[2]string]int
	sot     int64
	eot     int64

	mu    sync.RWMutex
	cache map[string][]int64
}

// maxCacheEntries bounds the per-word BPE cache; captions reuse a small
// vocabulary of words, so the cache rarely fills, and when it does it is
// simply dropped rather than paying for LRU bookkeeping on every lookup.
const maxCacheEntries = 1 << 16

// NewTokenizer builds a tokenizer from a vocabulary (symbol → id) and the
// ordered BPE merges (earlier merges have higher priority). The vocabulary
// must hold <|startoftext|> and <|endoftext|>.
func NewTokenizer(vocab map[string]int64, merges [][2]string) (*Tokenizer, error) {
	sot, ok := vocab[startOfText]
	if !ok {
		return nil, fmt.Errorf("clip: vocabulary lacks %s", startOfText)
	}
	eot, ok := vocab[endOfText]
	if !ok {
		return nil, fmt.Errorf("clip: vocabulary lacks %s", endOfText)
	}
	ranks := make(map[[2]string]int, len(merges))
	for i, m := range merges {
		if _, dup := ranks[m]; !dup {
			ranks[m] = i
		}
	}
	return &Tokenizer{
		encoder: vocab,
		ranks:   ranks,
		sot:     sot,
		eot:     eot,
		cache:   make(map[string][]int64),
	}, nil
}

// NewTokenizerFromMerges builds the tokenizer the way openai/CLIP's
// simple_tokenizer derives its vocabulary from the merges alone: the 256 byte
// symbols, the same with </w>, one symbol per merge, then the two special
// tokens. With CLIP's 48,894 merges this gives the 49,408-entry vocabulary.
func NewTokenizerFromMerges(merges [][2]string) (*Tokenizer, error) {
	vocab := make(map[string]int64, 512+len(merges)+2)
	syms := byteSymbolsInVocabOrder()
	for i, s := range syms {
		vocab[s] = int64(i)
		vocab[s+endOfWord] = int64(len(syms) + i)
	}
	next := int64(2 * len(syms))
	for _, m := range merges {
		vocab[m[0]+m[1]] = next
		next++
	}
	vocab[startOfText] = next
	vocab[endOfText] = next + 1
	return NewTokenizer(vocab, merges)
}

// ReadMerges parses a merges file: one "a b" pair per line, an optional
// "#version" header, blank lines ignored. A .gz file must be decompressed by
// the caller.
func ReadMerges(r io.Reader) ([][2]string, error) {
	var merges [][2]string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r\n")
		if text == "" || (line == 1 && strings.HasPrefix(text, "#version")) {
			continue
		}
		a, b, ok := strings.Cut(text, " ")
		if !ok || a == "" || b == "" || strings.Contains(b, " ") {
			return nil, fmt.Errorf("clip: merges line %d: want two symbols separated by a space, got %q", line, text)
		}
		merges = append(merges, [2]string{a, b})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("clip: read merges: %w", err)
	}
	return merges, nil
}

// LoadTokenizer reads the tokenizer of a Hugging Face model folder: tokenizer.json
// when present, otherwise vocab.json with merges.txt.
func LoadTokenizer(dir string) (*Tokenizer, error) {
	tj := filepath.Join(dir, "tokenizer.json")
	if data, err := os.ReadFile(tj); err == nil {
		t, err := ParseTokenizerJSON(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tj, err)
		}
		return t, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("clip: read tokenizer: %w", err)
	}
	vj := filepath.Join(dir, "vocab.json")
	mt := filepath.Join(dir, "merges.txt")
	vdata, err := os.ReadFile(vj)
	if err != nil {
		return nil, fmt.Errorf("clip: model folder %s has neither tokenizer.json nor vocab.json: %w", dir, err)
	}
	var vocab map[string]int64
	if err := json.Unmarshal(vdata, &vocab); err != nil {
		return nil, fmt.Errorf("clip: %s: %w", vj, err)
	}
	mf, err := os.Open(mt)
	if err != nil {
		return nil, fmt.Errorf("clip: vocab.json needs merges.txt beside it: %w", err)
	}
	defer mf.Close()
	merges, err := ReadMerges(mf)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", mt, err)
	}
	t, err := NewTokenizer(vocab, merges)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", vj, err)
	}
	return t, nil
}

// ParseTokenizerJSON reads a Hugging Face tokenizer.json holding a BPE model:
// model.vocab and model.merges, the merges written either as "a b" strings
// (older files) or as [a, b] pairs (newer files). Added tokens are merged into
// the vocabulary. Normalizer and pre-tokenizer sections are not interpreted:
// CLIP's cleaning and word pattern are applied as openai/CLIP does.
func ParseTokenizerJSON(data []byte) (*Tokenizer, error) {
	var doc struct {
		Model struct {
			Type   string            `json:"type"`
			Vocab  map[string]int64  `json:"vocab"`
			Merges []json.RawMessage `json:"merges"`
		} `json:"model"`
		AddedTokens []struct {
			ID      int64  `json:"id"`
			Content string `json:"content"`
		} `json:"added_tokens"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("clip: parse tokenizer.json: %w", err)
	}
	if doc.Model.Type != "" && doc.Model.Type != "BPE" {
		return nil, fmt.Errorf("clip: tokenizer.json model type %q, want BPE", doc.Model.Type)
	}
	if len(doc.Model.Vocab) == 0 {
		return nil, errors.New("clip: tokenizer.json has no model.vocab")
	}
	merges := make([][2]string, 0, len(doc.Model.Merges))
	for i, raw := range doc.Model.Merges {
		raw = bytes.TrimSpace(raw)
		var pair [2]string
		switch {
		case len(raw) > 0 && raw[0] == '"':
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, fmt.Errorf("clip: tokenizer.json merge %d: %w", i, err)
			}
			a, b, ok := strings.Cut(s, " ")
			if !ok {
				return nil, fmt.Errorf("clip: tokenizer.json merge %d: %q is not \"a b\"", i, s)
			}
			pair = [2]string{a, b}
		default:
			var arr []string
			if err := json.Unmarshal(raw, &arr); err != nil || len(arr) != 2 {
				return nil, fmt.Errorf("clip: tokenizer.json merge %d: want \"a b\" or [a, b], got %s", i, raw)
			}
			pair = [2]string{arr[0], arr[1]}
		}
		merges = append(merges, pair)
	}
	vocab := doc.Model.Vocab
	for _, at := range doc.AddedTokens {
		if _, ok := vocab[at.Content]; !ok {
			vocab[at.Content] = at.ID
		}
	}
	return NewTokenizer(vocab, merges)
}

// SOT returns the id of <|startoftext|>.
func (t *Tokenizer) SOT() int64 { return t.sot }

// EOT returns the id of <|endoftext|>.
func (t *Tokenizer) EOT() int64 { return t.eot }

// VocabSize returns the number of entries in the vocabulary.
func (t *Tokenizer) VocabSize() int { return len(t.encoder) }

// Tokenize returns the ids of text without start/end tokens or padding.
func (t *Tokenizer) Tokenize(text string) ([]int64, error) {
	var ids []int64
	var err error
	forEachWord(cleanText(text), func(w string) bool {
		var wids []int64
		if wids, err = t.word(w); err != nil {
			return false
		}
		ids = append(ids, wids...)
		return true
	})
	return ids, err
}

// Encode writes the ContextLength ids CLIP's text encoder takes into dst:
// <|startoftext|>, the text's tokens, <|endoftext|>, then zeros. A text too
// long is cut to ContextLength ids and its last id set to <|endoftext|>, as
// openai/CLIP's tokenize(truncate=True) does. It returns the number of ids
// before padding.
func (t *Tokenizer) Encode(dst []int64, text string) (int, error) {
	if len(dst) < ContextLength {
		return 0, fmt.Errorf("clip: encode needs %d ids of room, got %d", ContextLength, len(dst))
	}
	dst = dst[:ContextLength]
	dst[0] = t.sot
	n := 1
	var err error
	forEachWord(cleanText(text), func(w string) bool {
		var wids []int64
		if wids, err = t.word(w); err != nil {
			return false
		}
		for _, id := range wids {
			if n == ContextLength {
				return false
			}
			dst[n] = id
			n++
		}
		return n < ContextLength
	})
	if err != nil {
		return 0, err
	}
	if n == ContextLength {
		dst[n-1] = t.eot
	} else {
		dst[n] = t.eot
		n++
	}
	clear(dst[n:])
	return n, nil
}

// word returns the BPE ids of one pre-tokenized word, from the cache when it
// has been seen.
func (t *Tokenizer) word(w string) ([]int64, error) {
	if w == startOfText {
		return []int64{t.sot}, nil
	}
	if w == endOfText {
		return []int64{t.eot}, nil
	}
	t.mu.RLock()
	ids, ok := t.cache[w]
	t.mu.RUnlock()
	if ok {
		return ids, nil
	}
	pieces := t.bpe(w)
	ids = make([]int64, len(pieces))
	for i, p := range pieces {
		id, ok := t.encoder[p]
		if !ok {
			return nil, fmt.Errorf("%w: %q (word %q)", ErrUnknownToken, p, w)
		}
		ids[i] = id
	}
	t.mu.Lock()
	if len(t.cache) >= maxCacheEntries {
		t.cache = make(map[string][]int64)
	}
	t.cache[w] = ids
	t.mu.Unlock()
	return ids, nil
}

// bpe splits a word into vocabulary symbols: its UTF-8 bytes mapped to the
// printable byte symbols, the last carrying </w>, then the lowest-ranked
// adjacent pair merged everywhere it occurs until no mergeable pair is left.
func (t *Tokenizer) bpe(w string) []string {
	syms := make([]string, 0, len(w))
	for i := 0; i < len(w); i++ {
		syms = append(syms, byteSymbol[w[i]])
	}
	if len(syms) == 0 {
		return nil
	}
	syms[len(syms)-1] += endOfWord
	for len(syms) > 1 {
		best, bestRank := [2]string{}, -1
		for i := 0; i+1 < len(syms); i++ {
			p := [2]string{syms[i], syms[i+1]}
			if r, ok := t.ranks[p]; ok && (bestRank < 0 || r < bestRank) {
				best, bestRank = p, r
			}
		}
		if bestRank < 0 {
			break
		}
		out := syms[:0:0]
		for i := 0; i < len(syms); {
			if i+1 < len(syms) && syms[i] == best[0] && syms[i+1] == best[1] {
				out = append(out, best[0]+best[1])
				i += 2
				continue
			}
			out = append(out, syms[i])
			i++
		}
		syms = out
	}
	return syms
}

// cleanText applies openai/CLIP's cleaning: HTML entities unescaped twice (so
// "&amp;lt;" becomes "<", as basic_clean does), runs of whitespace collapsed
// to one space, surrounding space trimmed, lower case. ftfy's repair of
// mojibake is not reproduced: it is the identity on well-formed text.
func cleanText(s string) string {
	s = html.UnescapeString(html.UnescapeString(s))
	var b strings.Builder
	b.Grow(len(s))
	pendingSpace := false
	for _, r := range s {
		if isSpace(r) {
			pendingSpace = b.Len() > 0
			continue
		}
		if pendingSpace {
			b.WriteByte(' ')
			pendingSpace = false
		}
		b.WriteRune(r)
	}
	return lower(b.String())
}

// lower lower-cases like Python's str.lower, whose full case mapping turns
// U+0130 (capital I with dot) into "i" plus a combining dot, where Go's simple
// mapping gives a bare "i".
func lower(s string) string {
	if strings.ContainsRune(s, '\u0130') {
		s = strings.ReplaceAll(s, "\u0130", "i\u0307")
	}
	return strings.ToLower(s)
}

// isSpace matches Python's \s on str patterns, which also counts the
// information separators U+001C..U+001F that unicode.IsSpace leaves out.
func isSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// contractions are CLIP's suffix alternatives, tried in the pattern's order.
var contractions = []string{"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"}

// forEachWord scans s as openai/CLIP's word pattern
//
//	<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
//
// does with findall: at each position the alternatives are tried in order,
// whitespace that no alternative matches is skipped. A hand-written scanner
// avoids the regexp engine's cost on every caption.
func forEachWord(s string, yield func(string) bool) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		rest := s[i:]
		n := 0
		switch {
		case strings.HasPrefix(rest, startOfText):
			n = len(startOfText)
		case strings.HasPrefix(rest, endOfText):
			n = len(endOfText)
		case r == '\'' && contractionLen(rest) > 0:
			n = contractionLen(rest)
		case unicode.IsLetter(r):
			n = size
			for n < len(rest) {
				r2, s2 := utf8.DecodeRuneInString(rest[n:])
				if !unicode.IsLetter(r2) {
					break
				}
				n += s2
			}
		case unicode.IsNumber(r):
			n = size
		case isSpace(r):
			i += size
			continue
		default:
			n = size
			for n < len(rest) {
				r2, s2 := utf8.DecodeRuneInString(rest[n:])
				if isSpace(r2) || unicode.IsLetter(r2) || unicode.IsNumber(r2) {
					break
				}
				n += s2
			}
		}
		if !yield(rest[:n]) {
			return
		}
		i += n
	}
}

// contractionLen returns the length of the contraction s starts with, or 0.
func contractionLen(s string) int {
	for _, c := range contractions {
		if strings.HasPrefix(s, c) {
			return len(c)
		}
	}
	return 0
}

// byteSymbol maps each byte to the printable character GPT-2/CLIP use for it:
// the printable Latin-1 bytes map to themselves, the others to U+0100 onwards
// in byte order, so that no BPE symbol is whitespace or a control character.
var byteSymbol = func() [256]string {
	var tab [256]string
	next := rune(256)
	for b := 0; b < 256; b++ {
		if isPrintableByte(b) {
			tab[b] = string(rune(b))
		} else {
			tab[b] = string(next)
			next++
		}
	}
	return tab
}()

func isPrintableByte(b int) bool {
	return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
}

// byteSymbolsInVocabOrder lists the 256 byte symbols in the order CLIP's
// vocabulary numbers them: the printable bytes first, then the remapped ones.
func byteSymbolsInVocabOrder() []string {
	out := make([]string, 0, 256)
	for b := 0; b < 256; b++ {
		if isPrintableByte(b) {
			out = append(out, byteSymbol[b])
		}
	}
	for b := 0; b < 256; b++ {
		if !isPrintableByte(b) {
			out = append(out, byteSymbol[b])
		}
	}
	return out
}
