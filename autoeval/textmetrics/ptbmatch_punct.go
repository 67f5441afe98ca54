package textmetrics

// Matchers of the PTB lexer's punctuation classes: quotes, dashes,
// ellipses, brackets, smileys, runs of marks, and white space.

func matchDash(s string, i int) (int, int) {
	if e := literal(s, i, "&MD;", "&mdash;", "&ndash;"); e > 0 {
		return e, e
	}
	switch r, n := at(s, i); r {
	case 0x96, 0x97, 0x2013, 0x2014, 0x2015:
		return only(i + n)
	}
	return 0, 0
}

func matchDoubleQuoteLeft(s string, i int) (int, int) {
	e := doubleQuoteEnd(s, i)
	if e == 0 {
		return 0, 0
	}
	if c := byteAt(s, e); e < len(s) && (isASCIIAlnum(c) || c == '$') {
		return e, e + 1
	}
	return 0, 0
}

func matchDoubleQuote(s string, i int) (int, int) { return only(doubleQuoteEnd(s, i)) }

func doubleQuoteEnd(s string, i int) int {
	if byteAt(s, i) == '"' {
		return i + 1
	}
	return literal(s, i, "&quot;")
}

func matchLess(s string, i int) (int, int) {
	if byteAt(s, i) == '<' {
		return i + 1, i + 1
	}
	return only(literal(s, i, "&lt;"))
}

func matchGreater(s string, i int) (int, int) {
	if byteAt(s, i) == '>' {
		return i + 1, i + 1
	}
	return only(literal(s, i, "&gt;"))
}

// matchSmiley matches [<>]?[:;=][\-o*']?[()DPdpO\\{@|\[\]] before a
// character that is neither a letter nor a digit.
func matchSmiley(s string, i int) (int, int) {
	p := i
	if c := byteAt(s, p); c == '<' || c == '>' {
		p++
	}
	if c := byteAt(s, p); c != ':' && c != ';' && c != '=' {
		return 0, 0
	}
	p++
	best, total := 0, 0
	for _, q := range [...]int{p, p + 1} {
		if q == p+1 {
			if c := byteAt(s, p); c != '-' && c != 'o' && c != '*' && c != '\'' {
				continue
			}
		}
		switch byteAt(s, q) {
		case '(', ')', 'D', 'P', 'd', 'p', 'O', '\\', '{', '@', '|', '[', ']':
			if r, n := at(s, q+1); q+1 <= len(s) && n > 0 && !jLetter(r) && !jDigit(r) && q+1+n > total {
				best, total = q+1, q+1+n
			}
		}
	}
	return best, total
}

func isAsianEye(c byte) bool {
	return c == '^' || c == 'x' || c == '=' || c == '~' || c == '<' || c == '>'
}

// matchAsianSmiley matches ASIANSMILEY's four forms: EYE.[^x=~<>] (as the
// lexer wrote it, literally), EYE_EYE, (EYE[_.]?EYE) and (EYE-EYE).
func matchAsianSmiley(s string, i int) (int, int) {
	c := byteAt(s, i)
	best := 0
	if isAsianEye(c) && hasPrefixAt(s, i+1, ".[^x=~<>]") {
		best = i + 10
	}
	eye2 := func(c byte) bool { return c == '-' || c == '\'' || isAsianEye(c) }
	if eye2(c) && byteAt(s, i+1) == '_' && eye2(byteAt(s, i+2)) && i+3 > best {
		best = i + 3
	}
	if c == '(' {
		d := byteAt(s, i+1)
		if eye2(d) {
			if e := byteAt(s, i+2); (e == '_' || e == '.') && eye2(byteAt(s, i+3)) && byteAt(s, i+4) == ')' {
				best = max(best, i+5)
			}
			if eye2(byteAt(s, i+2)) && byteAt(s, i+3) == ')' {
				best = max(best, i+4)
			}
		}
		eye3 := func(c byte) bool { return c == '\'' || isAsianEye(c) }
		if eye3(d) && byteAt(s, i+2) == '-' {
			if e := byteAt(s, i+3); (eye3(e) || e == '`') && byteAt(s, i+4) == ')' {
				best = max(best, i+5)
			}
		}
	}
	return only(best)
}

func matchBracket(s string, i int) (int, int) {
	switch byteAt(s, i) {
	case '(', ')', '[', ']', '{', '}':
		return i + 1, i + 1
	}
	return 0, 0
}

func matchHyphens(s string, i int) (int, int) {
	e := i
	for e < len(s) && s[e] == '-' {
		e++
	}
	return only(e)
}

// matchEllipsis matches \.{3,5}, (\.[ \u00A0]){2,4}\. and U+2026, U+0085.
func matchEllipsis(s string, i int) (int, int) {
	if r, n := at(s, i); r == 0x2026 || r == 0x85 {
		return i + n, i + n
	}
	best := 0
	e := i
	for e < len(s) && e-i < 5 && s[e] == '.' {
		e++
	}
	if e-i >= 3 {
		best = e
	}
	// Spaced: a period and a space, two to four times, and a period.
	p, pairs := i, 0
	for pairs < 4 && byteAt(s, p) == '.' {
		sp := 0
		if byteAt(s, p+1) == ' ' {
			sp = 1
		} else if byteAt(s, p+1) == 0xC2 && byteAt(s, p+2) == 0xA0 {
			sp = 2
		}
		if sp == 0 {
			break
		}
		p += 1 + sp
		pairs++
		if pairs >= 2 && byteAt(s, p) == '.' && p+1 > best {
			best = p + 1
		}
	}
	return only(best)
}

func matchMarks(s string, i int) (int, int) {
	c := byteAt(s, i)
	switch c {
	case '@', '#', '_', '*':
		e := i
		for e < len(s) && s[e] == c {
			e++
		}
		return e, e
	case '\\':
		e := i
		for k := 0; k < 3 && byteAt(s, e) == '\\' && byteAt(s, e+1) == '*'; k++ {
			e += 2
		}
		if e > i {
			return e, e
		}
	}
	return 0, 0
}

func matchBangs(s string, i int) (int, int) {
	e := i
	for e < len(s) && (s[e] == '?' || s[e] == '!') {
		e++
	}
	return only(e)
}

func matchOpenQuote(s string, i int) (int, int) {
	if byteAt(s, i) != '\'' || !isASCIILetter(byteAt(s, i+1)) {
		return 0, 0
	}
	r, n := at(s, i+2)
	if n == 0 || i+2 >= len(s) {
		return 0, 0
	}
	switch r {
	case ' ', '\t', '\n', '\r', 0xA0:
		return 0, 0
	}
	return i + 1, i + 2 + n
}

// matchQuotes matches APOS, two apostrophes, or one or two quote
// characters.
func matchQuotes(s string, i int) (int, int) {
	best := aposLen(s, i)
	if byteAt(s, i) == '\'' && byteAt(s, i+1) == '\'' {
		best = 2
	}
	if r, n := at(s, i); isQuoteChar(r) {
		m := n
		if r2, n2 := at(s, i+n); i+n < len(s) && isQuoteChar(r2) {
			m += n2
		}
		if m > best {
			best = m
		}
	}
	if best == 0 {
		return 0, 0
	}
	return i + best, i + best
}

func matchDuckFeet(s string, i int) (int, int) {
	if c := byteAt(s, i); (c == '<' || c == '>') && byteAt(s, i+1) == c {
		return i + 2, i + 2
	}
	return 0, 0
}

// matchSpace matches a run of SPACE, one NUL, ignorable or NEWLINE
// character, or &nbsp;.
func matchSpace(s string, i int) (int, int) {
	if e := literal(s, i, "&nbsp;"); e > 0 {
		return e, e
	}
	r, n := at(s, i)
	if i >= len(s) {
		return 0, 0
	}
	switch {
	case isSpaceChar(r):
		e := i + n
		for e < len(s) {
			r, n := at(s, e)
			if !isSpaceChar(r) {
				break
			}
			e += n
		}
		return e, e
	case r == 0, isIgnorable(r), isNewline(r):
		return i + n, i + n
	}
	return 0, 0
}
