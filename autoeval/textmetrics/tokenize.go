package textmetrics

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The tokenizer reproduces what coco-caption's pipeline makes of a caption:
// the Stanford PTBTokenizer of CoreNLP 3.4.1 run with -preserveLines
// -lowerCase, followed by coco-caption's removal of the punctuation tokens
// '' ' `` ` . ? ! , : - -- ... ; (and the upper-case bracket names, which
// never match after lower-casing, so -lrb- and friends survive).
//
// It is written from the tokenizer's observable behaviour, not from its
// source. The lexer takes, at each position, the longest of several token
// shapes (a number, a word with inner periods, a hyphenated or slashed
// compound, an acronym, a known abbreviation with its period, a fraction,
// a word with an inner apostrophe); ties go to the first shape listed in
// scanWord. Clitics ('s 'm 'd 're 've 'll n't) are split off the word before
// them, and a tag such as <unk> stays one token. Every rule below was checked
// against all 25,014 COCO val2017 captions; rules for shapes that never occur
// there (cannot, gonna, ?!, <unk>) follow the Penn Treebank conventions the
// tokenizer implements and are best effort.

// Tokenize returns the tokens of caption as coco-caption's tokenizer and
// punctuation removal produce them: lower-cased, punctuation dropped. A
// fraction written with a space ("22 3/4") is one token whose space is a
// no-break space, as in CoreNLP.
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
}

// reset empties the buffers, keeping their capacity.
func (t *tokenizer) reset() {
	t.buf = t.buf[:0]
	t.spans = t.spans[:0]
}

// emit appends the lower-cased form of tok as a token.
func (t *tokenizer) emit(tok string) {
	start := len(t.buf)
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
		t.buf = utf8.AppendRune(t.buf, unicode.ToLower(r))
		i += size
	}
	t.spans = append(t.spans, span{int32(start), int32(len(t.buf))})
}

// runeAt decodes the rune at s[i]; past the end it returns (-1, 0).
func runeAt(s string, i int) (rune, int) {
	if i >= len(s) {
		return -1, 0
	}
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

func isLetter(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
	}
	return unicode.IsLetter(r) || unicode.IsMark(r)
}

func isDigit(r rune) bool {
	if r < utf8.RuneSelf {
		return '0' <= r && r <= '9'
	}
	return unicode.IsDigit(r)
}

func isAlnum(r rune) bool { return isLetter(r) || isDigit(r) }

// isApos reports an apostrophe: ASCII ' or the right single quote, which
// CoreNLP treats alike inside words.
func isApos(r rune) bool { return r == '\'' || r == '\u2019' }

// isSpace reports a separator: ASCII and Unicode white space, including the
// no-break space.
func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v'
	}
	return unicode.IsSpace(r) || r == '\u00a0' || r == '\u200b' || r == '\ufeff'
}

// lettersEnd returns the end of the run of letters starting at i.
func lettersEnd(s string, i int) int {
	for {
		r, n := runeAt(s, i)
		if n == 0 || !isLetter(r) {
			return i
		}
		i += n
	}
}

// alnumEnd returns the end of the run of letters and digits starting at i.
func alnumEnd(s string, i int) int {
	for {
		r, n := runeAt(s, i)
		if n == 0 || !isAlnum(r) {
			return i
		}
		i += n
	}
}

// digitsEnd returns the end of the run of digits starting at i.
func digitsEnd(s string, i int) int {
	for {
		r, n := runeAt(s, i)
		if n == 0 || !isDigit(r) {
			return i
		}
		i += n
	}
}

// letterAt reports whether a letter starts at i.
func letterAt(s string, i int) bool {
	r, n := runeAt(s, i)
	return n > 0 && isLetter(r)
}

// run tokenizes one caption into t.buf and t.spans (appending). A newline in
// the caption is a space, as coco-caption replaces it before tokenizing; the
// caption's end plays the role of the end of its line.
func (t *tokenizer) run(s string) {
	for i := 0; i < len(s); {
		r, n := runeAt(s, i)
		switch {
		case isSpace(r):
			i += n
		case isAlnum(r):
			i = t.scanWord(s, i)
		case isApos(r):
			i = t.scanApostrophe(s, i, n)
		case r == '.' || r == ',' || r == ':':
			if d, dn := runeAt(s, i+1); dn > 0 && isDigit(d) {
				// A number may start with its separator: ".5", ":30".
				e := numberEnd(s, i)
				t.emit(s[i:e])
				i = e
				continue
			}
			i = skipRun(s, i, byte(r)) // "." ".." "..." "," ":" are all dropped
		case r == '-':
			i = skipRun(s, i, '-') // "-" and "--" are dropped
		case r == '?' || r == '!':
			e := i
			for e < len(s) && (s[e] == '?' || s[e] == '!') {
				e++
			}
			if e-i > 1 { // "?!" and "!!" are tokens of their own, not in the removal list
				t.emit(s[i:e])
			}
			i = e
		case r == ';' || r == '"' || r == '`' || r == '\u2018' || r == '\u201c' || r == '\u201d' ||
			r == '\u201e' || r == '\u00ab' || r == '\u00bb' || r == '\u2026' ||
			r == '\u2013' || r == '\u2014' || r == '\u2015' || r == '\u2012':
			// Quotes become `` '' ` ', dashes become --, the ellipsis
			// becomes ...: all in the removal list.
			i += n
		case r == '(':
			t.emit("-lrb-")
			i += n
		case r == ')':
			t.emit("-rrb-")
			i += n
		case r == '[':
			t.emit("-lsb-")
			i += n
		case r == ']':
			t.emit("-rsb-")
			i += n
		case r == '{':
			t.emit("-lcb-")
			i += n
		case r == '}':
			t.emit("-rcb-")
			i += n
		case r == '<' && tagEnd(s, i) > i:
			// An SGML/XML tag such as <unk> is one token.
			e := tagEnd(s, i)
			t.emit(s[i:e])
			i = e
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError:
			// Characters the lexer cannot tokenize are deleted.
			i += n
		default:
			// $ % # & @ / * + = and other symbols: one token each.
			t.emit(s[i : i+n])
			i += n
		}
	}
}

// tagEnd matches a tag at i: "<", an optional "/", a letter, then letters,
// digits and _ . : - up to ">" ("<unk>", "</s>"). It returns i when there is
// none.
func tagEnd(s string, i int) int {
	j := i + 1
	if j < len(s) && s[j] == '/' {
		j++
	}
	if !letterAt(s, j) {
		return i
	}
	for j < len(s) {
		c := s[j]
		switch {
		case c == '>':
			return j + 1
		case c == '_' || c == '.' || c == ':' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j++
		default:
			return i
		}
	}
	return i
}

// skipRun returns the end of the run of byte c starting at i.
func skipRun(s string, i int, c byte) int {
	for i < len(s) && s[i] == c {
		i++
	}
	return i
}

// numberEnd returns the end of a number starting at i: digits, optionally
// followed by groups of a separator (. : ,) and digits ("1,000", "5:54",
// "11.01.2009"). It may start with a separator.
func numberEnd(s string, i int) int {
	e := digitsEnd(s, i)
	for e < len(s) && (s[e] == '.' || s[e] == ':' || s[e] == ',') {
		d, dn := runeAt(s, e+1)
		if dn == 0 || !isDigit(d) {
			break
		}
		e = digitsEnd(s, e+1)
	}
	return e
}

// Token shapes of scanWord, in tie-break order.
const (
	shapeFraction = iota
	shapeAcronym
	shapeAbbrev
	shapeNumber
	shapeWord
	shapeCompound
	shapeApostrophe
	shapeCaps
)

// scanWord tokenizes the word-like token that starts at i (a letter or a
// digit) and returns where scanning continues.
func (t *tokenizer) scanWord(s string, i int) int {
	if e, ok := plainWordEnd(s, i); ok {
		t.emit(s[i:e])
		return e
	}
	bestEnd, bestShape := i, -1
	try := func(end, shape int) {
		if end > bestEnd {
			bestEnd, bestShape = end, shape
		}
	}
	try(fractionEnd(s, i), shapeFraction)
	try(acronymEnd(s, i), shapeAcronym)
	try(abbrevEnd(s, i), shapeAbbrev)
	if !letterAt(s, i) {
		try(numberEnd(s, i), shapeNumber)
	}
	try(periodWordEnd(s, i), shapeWord)
	try(compoundEnd(s, i), shapeCompound)
	// A clitic after the word takes precedence over reading the apostrophe
	// as part of the word (THERE'S is "there 's", not "there's").
	if _, ok := cliticAt(s, bestEnd); !ok {
		try(apostropheWordEnd(s, i), shapeApostrophe)
	}
	try(capsEnd(s, i), shapeCaps)

	tok := s[i:bestEnd]
	switch bestShape {
	case shapeFraction:
		// CoreNLP joins "22 3/4" into one token with a no-break space.
		if j := strings.IndexByte(tok, ' '); j >= 0 {
			tok = tok[:j] + "\u00a0" + tok[j+1:]
		}
		t.emit(tok)
		return bestEnd
	case shapeAcronym, shapeAbbrev, shapeApostrophe, shapeCaps:
		t.emit(tok)
		return bestEnd
	}
	if first, second, ok := splitWord(tok); ok && !letterAt(s, bestEnd) {
		t.emit(first)
		t.emit(second)
		return bestEnd
	}
	if c, ok := cliticAt(s, bestEnd); ok {
		if c.nt {
			// "don't" is "do n't": the n belongs to the clitic.
			if len(tok) > 1 {
				t.emit(tok[:len(tok)-1])
			}
			t.emit("n't")
		} else {
			t.emit(tok)
			t.emit(c.text)
		}
		return c.end
	}
	t.emit(tok)
	return bestEnd
}

// plainWordEnd is the fast path for the common case, a run of ASCII letters
// that no other shape can extend: it is followed by the end, white space or
// punctuation that never joins a word, or by a period that ends the word
// when the word is no abbreviation. It reports false when the full scan is
// needed.
func plainWordEnd(s string, i int) (int, bool) {
	e := i
	for e < len(s) && ('a' <= s[e] && s[e] <= 'z' || 'A' <= s[e] && s[e] <= 'Z') {
		e++
	}
	if e == i {
		return i, false
	}
	if _, _, split := splitWord(s[i:e]); split {
		return i, false
	}
	if e == len(s) {
		return e, true
	}
	switch s[e] {
	case ' ', '\n', '\t', ',', ';', ':', '"', ')', ']', '!', '?':
		return e, true
	case '.':
		if e-i == 1 || letterAt(s, e+1) {
			return i, false // an initial, an acronym or a word with inner periods
		}
		if e-i <= 6 {
			lower := s[i:e]
			if strings.ContainsAny(lower, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
				return i, false // abbreviation lists are checked on the slow path
			}
			if abbrevAnyCase[lower] {
				return i, false
			}
		}
		return e, true
	}
	return i, false
}

// clitic is a reduced form found after a word.
type clitic struct {
	text string // normalized text: 's 'm 'd 're 've 'll ('t for n't)
	nt   bool   // the clitic is n't, whose n ends the word before it
	end  int    // where scanning continues
}

// cliticAt reports a clitic starting at i (an apostrophe there), followed by
// a non-letter or the end: 's 'm 'd 're 've 'll, or 't after an n (n't).
func cliticAt(s string, i int) (clitic, bool) {
	r, n := runeAt(s, i)
	if n == 0 || !isApos(r) {
		return clitic{}, false
	}
	j := i + n
	k := lettersEnd(s, j)
	if k == j || k-j > 2 || letterAt(s, k) {
		return clitic{}, false
	}
	switch strings.ToLower(s[j:k]) {
	case "s":
		return clitic{text: "'s", end: k}, true
	case "m":
		return clitic{text: "'m", end: k}, true
	case "d":
		return clitic{text: "'d", end: k}, true
	case "re":
		return clitic{text: "'re", end: k}, true
	case "ve":
		return clitic{text: "'ve", end: k}, true
	case "ll":
		return clitic{text: "'ll", end: k}, true
	case "t":
		if i > 0 && (s[i-1] == 'n' || s[i-1] == 'N') {
			return clitic{text: "'t", nt: true, end: k}, true
		}
	}
	return clitic{}, false
}

// splitWord splits the words the Penn Treebank writes as two tokens.
func splitWord(tok string) (string, string, bool) {
	if len(tok) != 5 && len(tok) != 6 {
		return "", "", false
	}
	for _, w := range [...]string{"cannot", "gonna", "gotta", "wanna", "lemme", "gimme"} {
		if strings.EqualFold(tok, w) {
			return tok[:3], tok[3:], true
		}
	}
	return "", "", false
}

// fractionEnd matches a fraction: up to four digits, optionally preceded by
// a whole part of up to four digits and a space, no-break space or hyphen
// ("3/4", "22 3/4", "1-1/2"). It returns i when there is none.
func fractionEnd(s string, i int) int {
	e := digitsEnd(s, i)
	if e == i || e-i > 4 {
		return i
	}
	if e < len(s) && s[e] == '/' {
		return fractionTail(s, e, i)
	}
	sep := 0
	switch {
	case e < len(s) && (s[e] == ' ' || s[e] == '-'):
		sep = 1
	case strings.HasPrefix(s[e:], "\u00a0"):
		sep = 2
	}
	if sep == 0 {
		return i
	}
	m := digitsEnd(s, e+sep)
	if m == e+sep || m-(e+sep) > 4 || m >= len(s) || s[m] != '/' {
		return i
	}
	return fractionTail(s, m, i)
}

// fractionTail matches "/" and one to four digits at slash; fail is returned
// when they are missing.
func fractionTail(s string, slash, fail int) int {
	d := digitsEnd(s, slash+1)
	if d == slash+1 {
		return fail
	}
	if d-(slash+1) > 4 {
		d = slash + 1 + 4
	}
	return d
}

// acronymEnd matches single letters joined by periods, with an optional
// final period: "t.v.", "U.S.A", "d.v.d".
func acronymEnd(s string, i int) int {
	if !letterAt(s, i) {
		return i
	}
	_, n := runeAt(s, i)
	e := i + n
	letters := 1
	for e < len(s) && s[e] == '.' {
		r, rn := runeAt(s, e+1)
		if rn == 0 || !isLetter(r) || letterAt(s, e+1+rn) {
			break
		}
		e += 1 + rn
		letters++
	}
	if letters < 2 {
		return i
	}
	if e < len(s) && s[e] == '.' {
		e++
	}
	return e
}

// abbrevEnd matches a known abbreviation with its period ("St.", "ave.",
// "Blvd.", "KY."), or a single letter and period followed by a space
// ("W. Centre"; a letter and period at the end of the caption are two
// tokens, and so are "I.").
func abbrevEnd(s string, i int) int {
	e := lettersEnd(s, i)
	if e == i || e >= len(s) || s[e] != '.' {
		return i
	}
	word := s[i:e]
	if len(word) == 1 {
		// The pronoun I is not an initial: "a person I. A hood" ends a
		// sentence after "i".
		if word == "I" || word == "i" {
			return i
		}
		if r, n := runeAt(s, e+1); n > 0 && (r == ' ' || r == '\t' || r == '\u00a0') && word[0] < utf8.RuneSelf {
			return e + 1
		}
		return i
	}
	if len(word) > 6 {
		return i
	}
	lower := strings.ToLower(word)
	if abbrevAnyCase[lower] {
		return e + 1
	}
	// Abbreviations that are also common words count only capitalized:
	// "Wash." is Washington, "car wash." is not.
	if abbrevCapitalized[lower] && word[0] >= 'A' && word[0] <= 'Z' {
		return e + 1
	}
	return i
}

// abbrevAnyCase lists abbreviations that keep their period in any case.
var abbrevAnyCase = setOf(
	// streets, places and titles
	"st", "ste", "ave", "blvd", "rd", "ft", "mt", "mr", "mrs", "ms", "dr", "drs", "prof", "profs",
	"jr", "sr", "bros", "esq", "capt", "sgt", "lt", "maj", "adm", "gov", "govs", "sen", "sens",
	"rep", "reps", "hon", "pres", "cpl", "pvt", "det", "messrs", "mme", "mlle", "atty", "attys",
	"supt", "cmdr", "lieut", "brig",
	// companies
	"inc", "corp", "ltd", "plc", "dept", "univ", "assn", "intl", "bancorp",
	// months and days ("May", "Sat", "Sun" are words)
	"jan", "feb", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
	"tue", "tues", "thu", "thurs", "fri",
	// states
	"ala", "ariz", "calif", "colo", "conn", "fla", "ga", "ky", "md", "mich", "minn", "mont",
	"neb", "nev", "okla", "penn", "tenn", "tex", "vt", "wis", "wisc", "wyo", "kan", "kans", "dak",
	// others
	"etc", "vs",
)

// abbrevCapitalized lists abbreviations that are also English words; they
// keep their period only when capitalized.
var abbrevCapitalized = setOf(
	"mass", "miss", "ill", "ore", "wash", "del", "pa", "ind", "la", "mo", "ark", "az", "va",
	"col", "gen", "rev", "mon", "wed", "mar", "co", "cos",
)

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// periodWordEnd matches a word that starts with a letter and may go on after
// a period when a letter follows it: "sidewalk.outside", "wings.l".
func periodWordEnd(s string, i int) int {
	if !letterAt(s, i) {
		return i
	}
	e := alnumEnd(s, i)
	for e < len(s) && s[e] == '.' && letterAt(s, e+1) {
		e = alnumEnd(s, e+1)
	}
	return e
}

// compoundEnd matches letters and digits joined by hyphens or slashes
// ("black-and-white", "10-29-2011", "and/or", "50/50"); a segment may start
// with d' l' or o' ("o'clock", "d'oeuvre").
func compoundEnd(s string, i int) int {
	e, ok := segmentEnd(s, i)
	if !ok {
		return i
	}
	for e < len(s) && (s[e] == '-' || s[e] == '/') {
		next, ok := segmentEnd(s, e+1)
		if !ok {
			break
		}
		e = next
	}
	return e
}

// segmentEnd matches one segment of a compound.
func segmentEnd(s string, i int) (int, bool) {
	if i < len(s) {
		switch s[i] {
		case 'd', 'D', 'l', 'L', 'o', 'O':
			if r, n := runeAt(s, i+1); n > 0 && isApos(r) {
				if a, an := runeAt(s, i+1+n); an > 0 && isAlnum(a) {
					return alnumEnd(s, i+1+n), true
				}
			}
		}
	}
	e := alnumEnd(s, i)
	return e, e > i
}

// apostropheWordEnd matches words with an inner apostrophe that stay whole:
// a capital (not I or Y) or n, an apostrophe and two or more letters
// ("O'Neil"); a vowel, an apostrophe and a vowel or capital (Hawaiian
// "Ho'ohu", "Pe'e"); and a few contractions that are words of their own.
func apostropheWordEnd(s string, i int) int {
	e := lettersEnd(s, i)
	if e == i {
		return i
	}
	r, n := runeAt(s, e)
	if n == 0 || !isApos(r) {
		return i
	}
	after := e + n
	tail := lettersEnd(s, after)
	if tail == after {
		return i
	}
	first := s[i]
	if e-i == 1 && (first >= 'A' && first <= 'Z' && first != 'I' && first != 'Y' || first == 'n') && tail-after >= 2 {
		return tail
	}
	last, _ := utf8.DecodeLastRuneInString(s[i:e])
	if strings.ContainsRune("aeiouyAEIOUY", last) {
		if c := s[after]; strings.IndexByte("aeiou", c) >= 0 || c >= 'A' && c <= 'Z' {
			return tail
		}
	}
	switch strings.ToLower(s[i:e]) + "'" + strings.ToLower(s[after:tail]) {
	case "c'mon", "e'er", "o'er", "ne'er", "li'l", "s'mores", "ma'am", "y'all", "nat'l", "ev'ry":
		return tail
	}
	return i
}

// capsEnd matches capitals joined by & or +: "AT&T", "B&W".
func capsEnd(s string, i int) int {
	upper := func(j int) int {
		for j < len(s) && s[j] >= 'A' && s[j] <= 'Z' {
			j++
		}
		return j
	}
	e := upper(i)
	if e == i {
		return i
	}
	end := i
	for e < len(s) && (s[e] == '&' || s[e] == '+') {
		next := upper(e + 1)
		if next == e+1 {
			break
		}
		e, end = next, next
	}
	return end
}

// scanApostrophe handles an apostrophe at the start of a token: a clitic
// standing alone ("'s"), a word such as "'90s" or "'til", or a quote, which
// is dropped.
func (t *tokenizer) scanApostrophe(s string, i, n int) int {
	if c, ok := cliticAt(s, i); ok && !c.nt {
		t.emit(c.text)
		return c.end
	}
	j := i + n
	e := alnumEnd(s, j)
	if e > j && !letterAt(s, e) {
		w := strings.ToLower(s[j:e])
		switch {
		case len(w) == 3 && w[0] >= '2' && w[0] <= '9' && w[1] == '0' && w[2] == 's',
			w == "til", w == "till", w == "cause", w == "em", w == "n":
			t.emit("'" + s[j:e])
			return e
		}
	}
	return j // a quote: dropped
}
