package textmetrics

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzTokenize checks what must hold for any input: no panic; no token
// empty or holding an ASCII space (the lexer joins some tokens with a
// no-break space instead); valid UTF-8 in, valid UTF-8 out; no token of the
// removal list; no upper-case ASCII; Tokenize and TokenizeString agreeing;
// the fast path for plain words agreeing with the lexer alone.
// The seeds are in testdata/fuzz/FuzzTokenize, one per token class of the
// lexer, plus those below.
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{
		"A man's hat.", "don't", "22 3/4 St.", "t.v.'s", "'90s", "a--b", "O'Neil's", "x.", "I.", "\u2019s",
		"(a) [b] {c}", "AT&T B&", "1,000.5:3", "rock'n'roll", "\xff\xfe", "a\u00a0b", "...", "'''", "n't",
	} {
		f.Add(s)
	}
	removed := map[string]bool{"''": true, "'": true, "``": true, "`": true, ".": true, "?": true, "!": true,
		",": true, ":": true, "-": true, "--": true, "...": true, ";": true}
	f.Fuzz(func(t *testing.T, s string) {
		toks := Tokenize(s)
		for _, tok := range toks {
			if tok == "" || strings.Contains(tok, " ") || removed[tok] {
				t.Fatalf("Tokenize(%q) has token %q", s, tok)
			}
			for _, c := range []byte(tok) {
				if 'A' <= c && c <= 'Z' {
					t.Fatalf("Tokenize(%q) has upper-case token %q", s, tok)
				}
			}
			if utf8.ValidString(s) && !utf8.ValidString(tok) {
				t.Fatalf("Tokenize(%q) made invalid UTF-8 %q", s, tok)
			}
		}
		if got := TokenizeString(s); got != strings.Join(toks, " ") {
			t.Fatalf("TokenizeString(%q) = %q, Tokenize gives %q", s, got, toks)
		}
		if fast, lexer := tokenizeBothWays(s); fast != lexer {
			t.Fatalf("%q: fast path %q, lexer alone %q", s, fast, lexer)
		}
	})
}

// FuzzScores checks that scores stay in range for any caption pair.
func FuzzScores(f *testing.F) {
	f.Add("a dog on the grass", "a dog runs on grass", "two cats")
	f.Add("", "", "x")
	f.Add("a a a a a", "a", "a a")
	f.Fuzz(func(t *testing.T, hyp, ref1, ref2 string) {
		ev := NewEvaluator(Options{Workers: 2})
		if err := ev.Add("1", hyp, []string{ref1, ref2}); err != nil {
			t.Fatal(err)
		}
		if err := ev.Add("2", ref2, []string{ref1}); err != nil {
			t.Fatal(err)
		}
		res, err := ev.Compute()
		if err != nil {
			t.Fatal(err)
		}
		for i := range res.ImageIDs {
			for name, v := range res.ImageScores(i) {
				hi := 1.0 + 1e-12
				if name == NameCIDEr {
					hi = 10 + 1e-9
				}
				if math.IsNaN(v) || v < 0 || v > hi {
					t.Fatalf("%s = %v for hyp %q refs %q %q", name, v, hyp, ref1, ref2)
				}
			}
		}
	})
}
