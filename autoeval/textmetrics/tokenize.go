package textmetrics

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The tokenizer reproduces what coco-caption's pipeline makes of a caption:
// the Stanford PTBTokenizer of CoreNLP 3.4.1 run with -preserveLines
// -lowerCase, then coco-caption's removal of the punctuation tokens
// '' ' `` ` . ? ! , : - -- ... ; (the list also names -LRB- -RRB- -LCB-
// -RCB-, which never match after lower-casing, so -lrb- and friends
// survive), then Python's str.rstrip() of the line.
//
// The lexer is in ptblexer.go: the PTB lexer's token classes, each a
// matcher, combined by JFlex's longest-match rule. This file holds the
// driver, a fast path for plain ASCII words, and the output side: Java's
// lower-casing, the removal list and the line stripping. Each caption is
// tokenized on its own, as if the next caption of its batch started with
// "A " (see the package documentation).

// Tokenize returns the tokens of caption as coco-caption's tokenizer and
// punctuation removal produce them: lower-cased, punctuation dropped. A
// token may hold a no-break space where the lexer joins words (a fraction
// "22 3/4", a phone number, an SGML tag with attributes).
func Tokenize(caption string) []string {
	var tk tokenizer
	tk.run(caption)
	out := make([]string, len(tk.spans))
	for i, sp := range tk.spans {
		out[i] = string(tk.buf[sp.start:sp.end])
	}
	return out
}

// TokenizeString returns the tokens of caption joined by single spaces: the
// string pycocoevalcap's scorers receive for it.
func TokenizeString(caption string) string {
	var tk tokenizer
	tk.run(caption)
	var b strings.Builder
	b.Grow(len(tk.buf) + len(tk.spans))
	for i, sp := range tk.spans {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.Write(tk.buf[sp.start:sp.end])
	}
	return b.String()
}

// span is a token's position in tokenizer.buf.
type span struct{ start, end int32 }

// tokenizer holds reusable buffers: buf receives the lower-cased token bytes
// and spans their positions, so that tokenizing many captions allocates
// nothing once the buffers have grown.
type tokenizer struct {
	buf   []byte
	spans []span
	// failUntil[k] is the position before which the class in memo slot k
	// is known to fail in the caption being scanned (see
	// tokenClass.failSpan).
	failUntil [memoSlots]int
	// lexerOnly turns the fast path off, so that tests can check that it
	// changes nothing.
	lexerOnly bool
}

// reset empties the buffers, keeping their capacity.
func (t *tokenizer) reset() {
	t.buf = t.buf[:0]
	t.spans = t.spans[:0]
}

// run tokenizes one caption into t.buf and t.spans (appending).
func (t *tokenizer) run(s string) {
	first := len(t.spans)
	t.failUntil = [memoSlots]int{}
	for i := 0; i < len(s); {
		c := s[i]
		if c == ' ' {
			i++
			continue
		}
		if isASCIILetter(c) && !t.lexerOnly {
			if e, ok := t.plainWord(s, i); ok {
				i = e
				continue
			}
		}
		i = t.lexOne(s, i)
	}
	t.pyRStrip(first)
}

// plainWord is the fast path for the commonest token, a run of ASCII
// letters that no longer class can extend. It emits the word and returns
// where scanning continues, or reports false when the full lexer is
// needed. A word qualifies when it is followed by the end, a space or a
// tab, or by , ; : or a period and then a space or the end (the
// punctuation, always dropped, is skipped too); a word before a period
// must not be a one-letter initial, an abbreviation of the lexer's lists
// or Pty. before Ltd; the assimilations (gonna, cannot) are split by the
// full lexer.
func (t *tokenizer) plainWord(s string, i int) (int, bool) {
	upper := false
	e := i
	for ; e < len(s); e++ {
		c := s[e]
		if 'a' <= c && c <= 'z' {
			continue
		}
		if 'A' <= c && c <= 'Z' {
			upper = true
			continue
		}
		break
	}
	next := e
	if e < len(s) {
		switch s[e] {
		case ' ', '\t':
		case ',', ';', ':':
			if e+1 < len(s) && s[e+1] != ' ' {
				return 0, false
			}
			next = e + 1
		case '.':
			if e+1 < len(s) && s[e+1] != ' ' || e-i == 1 || lookupAbbrev(s, i, e) != 0 {
				return 0, false
			}
			if _, tot := matchCompanyBeforeLtd(s, i); tot > 0 {
				return 0, false
			}
			next = e + 1
		default:
			return 0, false
		}
	}
	if n := e - i; n == 5 || n == 6 {
		if isAssimilation(s[i:e]) {
			return 0, false
		}
	}
	start := len(t.buf)
	if upper {
		t.appendLower(s[i:e])
	} else {
		t.buf = append(t.buf, s[i:e]...)
	}
	// A word of letters is never on the removal list.
	t.spans = append(t.spans, span{int32(start), int32(len(t.buf))})
	return next, true
}

// isAssimilation reports the words the lexer splits (cannot, gonna, ...),
// which the fast path leaves to it.
func isAssimilation(w string) bool {
	switch w[0] | 0x20 {
	case 'c', 'g', 'w', 'l':
	default:
		return false
	}
	for _, a := range [...]string{"cannot", "gonna", "gotta", "wanna", "lemme", "gimme"} {
		if len(a) == len(w) && hasFoldPrefix(w, 0, a) {
			return true
		}
	}
	return false
}

// removed reports the tokens coco-caption's punctuation removal drops.
func removed(tok []byte) bool {
	switch len(tok) {
	case 1:
		switch tok[0] {
		case '\'', '`', '.', '?', '!', ',', ':', '-', ';':
			return true
		}
	case 2:
		switch string(tok) {
		case "''", "``", "--":
			return true
		}
	case 3:
		return string(tok) == "..."
	}
	return false
}

// commit makes buf[start:] a token unless the removal list drops it.
func (t *tokenizer) commit(start int) {
	if len(t.buf) == start || removed(t.buf[start:]) {
		t.buf = t.buf[:start]
		return
	}
	t.spans = append(t.spans, span{int32(start), int32(len(t.buf))})
}

// emitText emits tok lower-cased.
func (t *tokenizer) emitText(tok string) {
	start := len(t.buf)
	t.appendLower(tok)
	t.commit(start)
}

// appendLower appends tok lower-cased as Java's String.toLowerCase does
// (PTBTokenizer -lowerCase): by code point, except that İ becomes i and a
// combining dot above, and a capital sigma at the end of a word becomes
// the final sigma ς. Invalid UTF-8 becomes U+FFFD.
func (t *tokenizer) appendLower(tok string) {
	for i := 0; i < len(tok); {
		c := tok[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			t.buf = append(t.buf, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(tok[i:])
		switch r {
		case 0x130:
			t.buf = append(t.buf, 'i', 0xCC, 0x87)
		case 0x3A3:
			if finalSigma(tok, i, i+size) {
				t.buf = utf8.AppendRune(t.buf, 0x3C2)
			} else {
				t.buf = utf8.AppendRune(t.buf, 0x3C3)
			}
		default:
			t.buf = utf8.AppendRune(t.buf, unicode.ToLower(r))
		}
		i += size
	}
}

// finalSigma reports whether the capital sigma at tok[i:j] ends a word the
// way Java decides it: a cased letter comes before it in the same word and
// none after.
func finalSigma(tok string, i, j int) bool {
	before := false
	for k := i; k > 0; {
		r, n := utf8.DecodeLastRuneInString(tok[:k])
		if !inWord(r) {
			break
		}
		if isCased(r) {
			before = true
			break
		}
		k -= n
	}
	if !before {
		return false
	}
	for k := j; k < len(tok); {
		r, n := utf8.DecodeRuneInString(tok[k:])
		if !inWord(r) {
			break
		}
		if isCased(r) {
			return false
		}
		k += n
	}
	return true
}

func inWord(r rune) bool { return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r) }
func isCased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r)
}

// emitSoftHyphen emits tok without its soft hyphens; a token of soft
// hyphens only is "-", which is dropped.
func (t *tokenizer) emitSoftHyphen(tok string) {
	if !strings.Contains(tok, "\u00ad") {
		t.emitText(tok)
		return
	}
	start := len(t.buf)
	for rest := tok; rest != ""; {
		k := strings.Index(rest, "\u00ad")
		if k < 0 {
			t.appendLower(rest)
			break
		}
		t.appendLower(rest[:k])
		rest = rest[k+2:]
	}
	t.commit(start)
}

// emitAmp emits tok with each &amp; (in any case) made an ampersand.
func (t *tokenizer) emitAmp(tok string) {
	start := len(t.buf)
	for k := 0; k < len(tok); {
		if tok[k] == '&' && hasFoldPrefix(tok, k, "&amp;") {
			t.buf = append(t.buf, '&')
			k += 5
			continue
		}
		r, n := utf8.DecodeRuneInString(tok[k:])
		t.appendLower(tok[k : k+n])
		_ = r
		k += n
	}
	t.commit(start)
}

// emitQuote emits a quote token as PTB's LaTeX-style quotes: an
// apostrophe, &apos;, CP1252 0x92, U+2019 and U+203A become an apostrophe;
// a double quote, &quot;, 0x94, U+201D and » two apostrophes; 0x91,
// U+2018, U+201B and U+2039 a backquote; 0x93, U+201C and « two
// backquotes. The low and reversed quotes U+201A U+201E U+201F stay as
// they are. A lone quote is then on the removal list; two curly quotes make
// four ASCII ones, which survive.
func (t *tokenizer) emitQuote(tok string) {
	start := len(t.buf)
	for k := 0; k < len(tok); {
		if tok[k] == '&' {
			switch {
			case hasFoldPrefix(tok, k, "&apos;"):
				t.buf = append(t.buf, '\'')
				k += 6
				continue
			case hasFoldPrefix(tok, k, "&quot;"):
				t.buf = append(t.buf, '\'', '\'')
				k += 6
				continue
			}
		}
		r, n := utf8.DecodeRuneInString(tok[k:])
		switch r {
		case '"', 0x94, 0x201D, 0xBB:
			t.buf = append(t.buf, '\'', '\'')
		case 0x92, 0x2019, 0x203A:
			t.buf = append(t.buf, '\'')
		case 0x91, 0x2018, 0x201B, 0x2039:
			t.buf = append(t.buf, '`')
		case 0x93, 0x201C, 0xAB:
			t.buf = append(t.buf, '`', '`')
		default:
			t.appendLower(tok[k : k+n])
		}
		k += n
	}
	t.commit(start)
}

// emitMapped emits tok with spaces made no-break spaces (normalizeSpace)
// and, when brackets is set, ( and ) named -LRB- and -RRB-.
func (t *tokenizer) emitMapped(tok string, brackets bool) {
	start := len(t.buf)
	for k := 0; k < len(tok); k++ {
		switch c := tok[k]; {
		case c == ' ':
			t.buf = append(t.buf, 0xC2, 0xA0)
		case brackets && c == '(':
			t.buf = append(t.buf, "-lrb-"...)
		case brackets && c == ')':
			t.buf = append(t.buf, "-rrb-"...)
		case c < utf8.RuneSelf:
			t.appendLower(tok[k : k+1])
		default:
			_, n := utf8.DecodeRuneInString(tok[k:])
			t.appendLower(tok[k : k+n])
			k += n - 1
		}
	}
	t.commit(start)
}

// pyRStrip applies Python's str.rstrip() to the caption's tokenized line,
// as coco-caption does before splitting it: white space at the end of the
// last token (possible only inside a URL or an e-mail address) goes, and a
// token left empty goes with it.
func (t *tokenizer) pyRStrip(first int) {
	for len(t.spans) > first {
		sp := &t.spans[len(t.spans)-1]
		for sp.end > sp.start {
			r, n := utf8.DecodeLastRune(t.buf[sp.start:sp.end])
			if !isPyWhitespace(r) {
				break
			}
			sp.end -= int32(n)
		}
		if sp.end > sp.start {
			t.buf = t.buf[:sp.end]
			return
		}
		t.buf = t.buf[:sp.start]
		t.spans = t.spans[:len(t.spans)-1]
	}
}

// utf8DecodeLast decodes the last rune of s.
func utf8DecodeLast(s string) (rune, int) { return utf8.DecodeLastRuneInString(s) }
