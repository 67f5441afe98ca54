package textmetrics

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
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
	f.Fuzz(checkTokenizeProperties)
}

// removedTokens is coco-caption's punctuation removal list, lower-cased.
var removedTokens = map[string]bool{"''": true, "'": true, "``": true, "`": true, ".": true, "?": true, "!": true,
	",": true, ":": true, "-": true, "--": true, "...": true, ";": true}

// checkTokenizeProperties checks FuzzTokenize's properties on s.
func checkTokenizeProperties(t *testing.T, s string) {
	toks := Tokenize(s)
	for _, tok := range toks {
		if tok == "" || strings.Contains(tok, " ") || removedTokens[tok] {
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
}

// TestTokenizeProperties checks FuzzTokenize's properties on seeded random
// mutations of its seed corpus, so that they are tested on every run and
// not only when fuzzing.
func TestTokenizeProperties(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzTokenize", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed corpus in testdata/fuzz/FuzzTokenize (%v)", err)
	}
	var seeds []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		if len(lines) < 2 || !strings.HasPrefix(lines[1], "string(") {
			t.Fatalf("%s: not a string corpus entry", f)
		}
		seed, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		seeds = append(seeds, seed)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for range 20000 {
		b := []byte(seeds[rng.IntN(len(seeds))] + seeds[rng.IntN(len(seeds))])
		for k := rng.IntN(6); k > 0; k-- {
			p := rng.IntN(len(b))
			switch rng.IntN(3) {
			case 0:
				b[p] = byte(rng.IntN(256))
			case 1:
				b = append(b[:p], b[p+1:]...)
			default:
				q := p + rng.IntN(len(b)-p)
				b = append(b[:p:p], append(append([]byte{}, b[q:]...), b[p:q]...)...)
			}
			if len(b) == 0 {
				b = []byte("x")
			}
		}
		checkTokenizeProperties(t, string(b))
	}
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
