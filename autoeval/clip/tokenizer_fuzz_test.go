package clip

import (
	"slices"
	"testing"
)

// FuzzTokenize runs CLIP's tokenizer (the real vocabulary from the shared
// reference data) on any text: no panic; every id in the vocabulary;
// the same ids twice; and Encode's frame: <|startoftext|> first,
// <|endoftext|> last of the n ids it reports, at most ContextLength of
// them, zeros after. The seeds are in testdata/fuzz/FuzzTokenize and
// below: plain words, contractions, numbers, accents, emoji, markup,
// invalid UTF-8, a text longer than the context.
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{"a photo of a cat", "It's the dog's toy, isn't it?", "3.14 and 1,000,000 people",
		"Crème brûlée à la café", "🐶🐱 with 👍🏽", "<b>bold</b> &amp; <|endoftext|>", "\xff\xfe invalid", "",
		"word " + string(make([]byte, 300))} {
		f.Add(s)
	}
	tok, err := NewTokenizerFromMerges(loadSharedMerges(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		ids, err := tok.Tokenize(text)
		if err != nil {
			return // an error, not a crash: the property is that it returns
		}
		for _, id := range ids {
			if id < 0 || id >= int64(tok.VocabSize()) {
				t.Fatalf("%q: id %d outside the vocabulary of %d", text, id, tok.VocabSize())
			}
		}
		again, _ := tok.Tokenize(text)
		if !slices.Equal(ids, again) {
			t.Fatalf("%q: tokenized twice: %v then %v", text, ids, again)
		}
		dst := make([]int64, ContextLength)
		n, err := tok.Encode(dst, text)
		if err != nil {
			t.Fatalf("%q: Tokenize accepted it, Encode: %v", text, err)
		}
		if n < 2 || n > ContextLength || dst[0] != tok.SOT() || dst[n-1] != tok.EOT() {
			t.Fatalf("%q: Encode gave n=%d, frame %d…%d", text, n, dst[0], dst[max(n-1, 0)])
		}
		if n < ContextLength && !slices.Equal(dst[1:n-1], ids) {
			t.Fatalf("%q: Encode's ids %v, Tokenize's %v", text, dst[1:n-1], ids)
		}
		for _, id := range dst[n:] {
			if id != 0 {
				t.Fatalf("%q: padding holds %d", text, id)
			}
		}
	})
}
