package textmetrics

import (
	"unicode"
	"unicode/utf8"
)

// Character classes of the PTB lexer (CoreNLP 3.4.1's PTBLexer, a JFlex
// scanner). The lexer reads UTF-16: a character outside the Basic
// Multilingual Plane (an emoji, a flag, a CJK extension ideograph) is a
// surrogate pair, and a surrogate belongs to no positive class (no letter,
// digit or symbol). Such characters are therefore deleted as untokenizable,
// except inside tokens built from negated classes (a URL, an e-mail
// address, an SGML tag), which keep them. The predicates below take that
// into account: a rune above U+FFFF is never a letter, digit or symbol.

// at decodes the rune at s[i]. Past the caption's last byte the lexer sees
// the line end that coco-caption writes after every caption, so at(s,
// len(s)) is '\n'; beyond that it returns (-1, 0). Invalid UTF-8 decodes as
// U+FFFD, one byte at a time.
func at(s string, i int) (rune, int) {
	if i < len(s) {
		if c := s[i]; c < utf8.RuneSelf {
			return rune(c), 1
		}
		return utf8.DecodeRuneInString(s[i:])
	}
	if i == len(s) {
		return '\n', 1
	}
	return -1, 0
}

// byteAt returns s[i], or 0 past the end (0 is in no class a matcher tests
// bytes for).
func byteAt(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

func isASCIILetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }
func isASCIIDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isASCIIAlnum(c byte) bool  { return isASCIILetter(c) || isASCIIDigit(c) }
func isASCIIUpper(c byte) bool  { return 'A' <= c && c <= 'Z' }

// jLetter is JFlex's [:letter:] (Java's Character.isLetter), BMP only.
func jLetter(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 0 && isASCIILetter(byte(r))
	}
	return r <= 0xFFFF && unicode.IsLetter(r)
}

// jDigit is JFlex's [:digit:] (Character.isDigit, the Nd category), BMP
// only. The PTB lexer adds the NKo digits U+07C0-07C9, which are Nd anyway.
func jDigit(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= '0' && r <= '9'
	}
	return r <= 0xFFFF && unicode.IsDigit(r)
}

// jAlnum is [:letter:]|[:digit:], the characters of THING and APOWORD.
func jAlnum(r rune) bool { return jLetter(r) || jDigit(r) }

// extraLetters are the characters the lexer's LETTER class adds to
// [:letter:]: the soft hyphen, combining marks of many scripts (so that a
// word in NFD form or in an Indic script stays whole), and a few Latin,
// Greek, Cyrillic, Hebrew, Arabic and Syriac characters JFlex's tables did
// not call letters. Marks outside these ranges end a word.
var extraLetters = &unicode.RangeTable{R16: []unicode.Range16{
	{0x00AD, 0x00AD, 1}, {0x0237, 0x024F, 1}, {0x02C2, 0x02C5, 1}, {0x02D2, 0x02DF, 1},
	{0x02E5, 0x02FF, 1}, {0x0300, 0x036F, 1}, {0x0370, 0x037D, 1}, {0x0384, 0x0385, 1},
	{0x03CF, 0x03CF, 1}, {0x03F6, 0x03F6, 1}, {0x03FC, 0x03FF, 1}, {0x0483, 0x0487, 1},
	{0x04CF, 0x04CF, 1}, {0x04F6, 0x04FF, 1}, {0x0510, 0x0525, 1}, {0x055A, 0x055F, 1},
	{0x0591, 0x05BD, 1}, {0x05BF, 0x05BF, 1}, {0x05C1, 0x05C2, 1}, {0x05C4, 0x05C5, 1},
	{0x05C7, 0x05C7, 1}, {0x0615, 0x061A, 1}, {0x063B, 0x063F, 1}, {0x064B, 0x065E, 1},
	{0x0670, 0x0670, 1}, {0x06D6, 0x06EF, 1}, {0x06FA, 0x06FF, 1}, {0x070F, 0x070F, 1},
	{0x0711, 0x0711, 1}, {0x0730, 0x074F, 1}, {0x0750, 0x077F, 1}, {0x07A6, 0x07B1, 1},
	{0x07CA, 0x07F5, 1}, {0x07FA, 0x07FA, 1}, {0x0900, 0x0903, 1}, {0x093C, 0x093C, 1},
	{0x093E, 0x094E, 1}, {0x0951, 0x0955, 1}, {0x0962, 0x0963, 1}, {0x0981, 0x0983, 1},
	{0x09BC, 0x09C4, 1}, {0x09C7, 0x09C8, 1}, {0x09CB, 0x09CD, 1}, {0x09D7, 0x09D7, 1},
	{0x09E2, 0x09E3, 1}, {0x0A01, 0x0A03, 1}, {0x0A3C, 0x0A3C, 1}, {0x0A3E, 0x0A4F, 1},
	{0x0A81, 0x0A83, 1}, {0x0ABC, 0x0ACF, 1}, {0x0B82, 0x0B82, 1}, {0x0BBE, 0x0BC2, 1},
	{0x0BC6, 0x0BC8, 1}, {0x0BCA, 0x0BCD, 1}, {0x0C01, 0x0C03, 1}, {0x0C3E, 0x0C56, 1},
	{0x0D3E, 0x0D44, 1}, {0x0D46, 0x0D48, 1}, {0x0E30, 0x0E3A, 1}, {0x0E47, 0x0E4E, 1},
	{0x0EB1, 0x0EBC, 1}, {0x0EC8, 0x0ECD, 1},
}}

// wordLetter is one character of the lexer's LETTER class (without the
// SGML letter entities, which span several characters; see letterLen).
func wordLetter(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 0 && isASCIILetter(byte(r))
	}
	return jLetter(r) || r <= 0xFFFF && unicode.Is(extraLetters, r)
}

// isSpaceChar is SPACE: blank, tab, no-break space, the Unicode spaces
// U+2000-U+200A and the ideographic space. Other Unicode spaces (U+1680,
// U+202F, U+205F) are unknown to the lexer and deleted as untokenizable,
// which also separates tokens.
func isSpaceChar(r rune) bool {
	return r == ' ' || r == '\t' || r == 0xA0 || r >= 0x2000 && r <= 0x200A || r == 0x3000
}

// isNewline is NEWLINE: CR, LF, VT, FF, U+2028, U+2029 and U+0085. (A
// lone U+0085 is read as an ellipsis, which comes first among equally long
// matches; it counts as a line end only inside trailing contexts.)
func isNewline(r rune) bool {
	return r == '\n' || r == '\r' || r == 0x0B || r == 0x0C || r == 0x2028 || r == 0x2029 || r == 0x85
}

// isSpaceNL is SPACENL, a SPACE or a NEWLINE.
func isSpaceNL(r rune) bool { return isSpaceChar(r) || isNewline(r) }

// isIgnorable are the format characters the lexer skips like white space:
// zero-width space, LRM, RLM and the byte-order mark.
func isIgnorable(r rune) bool { return r == 0x200B || r == 0x200E || r == 0x200F || r == 0xFEFF }

// isHyphen is HYPHEN, what may join the parts of a THING: hyphen-minus,
// underscore, the Armenian hyphen and the Unicode hyphen and non-breaking
// hyphen.
func isHyphen(r rune) bool { return r == '-' || r == '_' || r == 0x058A || r == 0x2010 || r == 0x2011 }

// aposLen is the length of APOS at s[i]: an apostrophe (', the CP1252 byte
// 0x92, U+2019) or the entity &apos;.
func aposLen(s string, i int) int {
	r, n := at(s, i)
	switch r {
	case '\'', 0x92, 0x2019:
		return n
	case '&':
		if hasFoldPrefix(s, i, "&apos;") {
			return 6
		}
	}
	return 0
}

// aposEtcLen is APOSETCETERA, APOS or a character often typed for an
// apostrophe inside a word: the backquote, CP1252 0x91, U+2018 and U+201B.
func aposEtcLen(s string, i int) int {
	if n := aposLen(s, i); n > 0 {
		return n
	}
	r, n := at(s, i)
	switch r {
	case '`', 0x91, 0x2018, 0x201B:
		return n
	}
	return 0
}

// letterLen is the length of one LETTER at s[i]: a wordLetter, or an SGML
// entity for an accented vowel (&eacute; &agrave; &uuml;), which the lexer
// keeps inside words. It returns 0 when there is none.
func letterLen(s string, i int) int {
	r, n := at(s, i)
	if r == '&' {
		return spletLen(s, i)
	}
	if wordLetter(r) {
		return n
	}
	return 0
}

// spletLen matches SPLET, &[aeiouAEIOU](acute|grave|uml);.
func spletLen(s string, i int) int {
	if byteAt(s, i) != '&' || !isVowelByte(byteAt(s, i+1)) {
		return 0
	}
	for _, suffix := range [...]string{"acute;", "grave;", "uml;"} {
		if hasFoldPrefix(s, i+2, suffix) {
			return 2 + len(suffix)
		}
	}
	return 0
}

func isVowelByte(c byte) bool {
	switch c | 0x20 {
	case 'a', 'e', 'i', 'o', 'u':
		return true
	}
	return false
}

// digitLen is the length of a DIGIT at s[i], or 0.
func digitLen(s string, i int) int {
	if c := byteAt(s, i); c < utf8.RuneSelf {
		if isASCIIDigit(c) {
			return 1
		}
		return 0
	}
	if r, n := at(s, i); jDigit(r) {
		return n
	}
	return 0
}

// digitsEnd returns the end of the run of DIGITs at s[i] and its length in
// characters.
func digitsEnd(s string, i int) (int, int) {
	count := 0
	for {
		n := digitLen(s, i)
		if n == 0 {
			return i, count
		}
		i += n
		count++
	}
}

// asciiDigitsEnd returns the end of the run of ASCII digits at s[i].
func asciiDigitsEnd(s string, i int) int {
	for i < len(s) && isASCIIDigit(s[i]) {
		i++
	}
	return i
}

// hasFoldPrefix reports whether s[i:] starts with lit, ASCII letters
// compared without case: the scanner is %caseless, so every literal in its
// rules matches in any case (character classes do not).
func hasFoldPrefix(s string, i int, lit string) bool {
	if i < 0 || len(s)-i < len(lit) {
		return false
	}
	for k := 0; k < len(lit); k++ {
		a, b := s[i+k], lit[k]
		if a != b && (a|0x20 != b|0x20 || !isASCIILetter(b)) {
			return false
		}
	}
	return true
}

// isMiscSymbol is MISCSYMBOL, the symbols that are tokens of their own:
// + % & ~ ^ | \, Latin-1 signs and marks, Hebrew, Arabic and Syriac
// punctuation, daggers, per mille, primes, letterlike symbols, arrows, the
// mathematical and technical blocks U+2200-U+2BFF (which include the
// dingbats, stars and suits of captions' "☺ ★ ♥ ✓"), and most full-width
// ASCII punctuation.
func isMiscSymbol(r rune) bool {
	if r < utf8.RuneSelf {
		switch r {
		case '+', '%', '&', '~', '^', '|', '\\':
			return true
		}
		return false
	}
	switch {
	case r == 0xA6 || r == 0xA7 || r == 0xA8 || r == 0xA9 || r == 0xAC || r == 0xAE || r == 0xAF,
		r >= 0xB0 && r <= 0xBA, r == 0xD7, r == 0xF7:
		return true
	case r < 0x0387:
		return false
	case r == 0x0387, r == 0x05BE, r == 0x05C0, r == 0x05C3, r == 0x05C6, r == 0x05F3, r == 0x05F4,
		r >= 0x0600 && r <= 0x0603, r >= 0x0606 && r <= 0x060A, r == 0x060C, r == 0x0614,
		r == 0x061B, r == 0x061E, r == 0x066A, r == 0x066D, r >= 0x0703 && r <= 0x070D,
		r >= 0x07F6 && r <= 0x07F8, r == 0x0964, r == 0x0965, r == 0x0E4F, r == 0x1FBD,
		r == 0x2016, r == 0x2017, r >= 0x2020 && r <= 0x2023, r >= 0x2030 && r <= 0x2038,
		r == 0x203B, r >= 0x203E && r <= 0x2044, r >= 0x207A && r <= 0x207F,
		r >= 0x208A && r <= 0x208E, r >= 0x2100 && r <= 0x214F, r >= 0x2190 && r <= 0x21FF,
		r >= 0x2200 && r <= 0x2BFF, r == 0x3012, r == 0x30FB, r >= 0xFF01 && r <= 0xFF0F,
		r >= 0xFF1A && r <= 0xFF20, r >= 0xFF3B && r <= 0xFF40, r >= 0xFF5B && r <= 0xFF65:
		return true
	}
	return false
}

// isCurrency2 is DOLSIGN2, currency signs other than $ and #: cent, pound,
// generic currency, yen, CP1252 euro, ECU, euro, Afghani, baht, lira and
// their full-width forms. (The won, rupee and shekel signs are not among
// them and are deleted.)
func isCurrency2(r rune) bool {
	switch r {
	case 0xA2, 0xA3, 0xA4, 0xA5, 0x80, 0x20A0, 0x20AC, 0x060B, 0x0E3F, 0x20A4, 0xFFE0, 0xFFE1, 0xFFE5, 0xFFE6:
		return true
	}
	return false
}

// isQuoteChar is the class of QUOTES (besides APOS and two apostrophes):
// the backquote,
// the Unicode single and double quotes U+2018-U+201F, their CP1252 bytes
// 0x91-0x94, and single and double guillemets.
func isQuoteChar(r rune) bool {
	switch {
	case r == '`', r >= 0x2018 && r <= 0x201F, r >= 0x91 && r <= 0x94, r == 0x2039, r == 0x203A, r == 0xAB, r == 0xBB:
		return true
	}
	return false
}

// isSentencePunct is the class of sentence-final marks that are tokens of
// their own: the period, ¡ ¿, the Greek question mark, the Armenian full
// stop, the Arabic question mark and full stop, Syriac end marks, the NKo
// exclamation mark and the ideographic full stop.
func isSentencePunct(r rune) bool {
	switch {
	case r == '.', r == 0xA1, r == 0xBF, r == 0x037E, r == 0x0589, r == 0x061F, r == 0x06D4,
		r >= 0x0700 && r <= 0x0702, r == 0x07FA, r == 0x3002:
		return true
	}
	return false
}

// isInSentP is INSENTP: comma, semicolon, colon and the ideographic comma.
func isInSentP(r rune) bool { return r == ',' || r == ';' || r == ':' || r == 0x3001 }

// isSubSupDigit is a superscript digit (¹ ² ³ ⁰ ⁴-⁹); isSubDigit a
// subscript one (₀-₉). SUBSUPNUM is a run of either, with an optional
// super/subscript sign first.
func isSupDigit(r rune) bool {
	return r == 0x2070 || r == 0xB9 || r == 0xB2 || r == 0xB3 || r >= 0x2074 && r <= 0x2079
}
func isSubDigit(r rune) bool { return r >= 0x2080 && r <= 0x2089 }
