package textmetrics

// Matchers of the PTB lexer's number classes: numbers, dates, fractions,
// phone numbers and currency signs.

func matchDate(s string, i int) (int, int) {
	e, n := digitsEnd(s, i)
	if n < 1 || n > 2 || !isDateSep(byteAt(s, e)) {
		return 0, 0
	}
	e, n = digitsEnd(s, e+1)
	if n < 1 || n > 2 || !isDateSep(byteAt(s, e)) {
		return 0, 0
	}
	e, n = digitsPrefix(s, e+1, 4)
	if n < 2 {
		return 0, 0
	}
	return e, e
}

func isDateSep(c byte) bool { return c == '-' || c == '/' }

// digitsPrefix takes up to max DIGITs at s[i].
func digitsPrefix(s string, i, max int) (int, int) {
	count := 0
	for count < max {
		n := digitLen(s, i)
		if n == 0 {
			break
		}
		i += n
		count++
	}
	return i, count
}

// numSepLen is the length of a separator inside NUM: . : , the soft
// hyphen and the Arabic decimal and thousands separators.
func numSepLen(s string, i int) int {
	switch c := byteAt(s, i); c {
	case '.', ':', ',':
		return 1
	case 0xC2:
		if byteAt(s, i+1) == 0xAD {
			return 2
		}
	case 0xD9:
		if d := byteAt(s, i+1); d == 0xAB || d == 0xAC {
			return 2
		}
	}
	return 0
}

func matchNumber(s string, i int) (int, int) {
	p := i
	if c := byteAt(s, p); c == '-' || c == '+' {
		p++
	}
	e, _ := digitsEnd(s, p)
	for {
		n := numSepLen(s, e)
		if n == 0 || digitLen(s, e+n) == 0 {
			break
		}
		e, _ = digitsEnd(s, e+n)
	}
	if e == p {
		return 0, 0
	}
	return e, e
}

func matchSubSup(s string, i int) (int, int) {
	p := i
	r, n := at(s, p)
	switch r {
	case 0x207A, 0x207B, 0x208A, 0x208B:
		p += n
		r, n = at(s, p)
	}
	class := isSupDigit
	if isSubDigit(r) {
		class = isSubDigit
	}
	e := p
	for class(r) {
		e += n
		r, n = at(s, e)
	}
	if e == p {
		return 0, 0
	}
	return e, e
}

// matchFraction matches ({DIGIT}{1,4}[- \u00A0])?{DIGIT}{1,4}(\\?/|⁄){DIGIT}{1,4}.
func matchFraction(s string, i int) (int, int) {
	e, n := digitsEnd(s, i)
	if n < 1 || n > 4 {
		return 0, 0
	}
	best := fractionTail(s, e)
	sep := 0
	switch c := byteAt(s, e); {
	case c == '-' || c == ' ':
		sep = 1
	case c == 0xC2 && byteAt(s, e+1) == 0xA0:
		sep = 2
	}
	if sep > 0 {
		if e2, n2 := digitsEnd(s, e+sep); n2 >= 1 && n2 <= 4 {
			if t := fractionTail(s, e2); t > best {
				best = t
			}
		}
	}
	if best == 0 {
		return 0, 0
	}
	return best, best
}

func fractionTail(s string, i int) int {
	if byteAt(s, i) == '\\' {
		i++
	}
	switch {
	case byteAt(s, i) == '/':
		i++
	case hasPrefixAt(s, i, "\u2044"):
		i += 3
	default:
		return 0
	}
	e, n := digitsPrefix(s, i, 4)
	if n == 0 {
		return 0
	}
	return e
}

func hasPrefixAt(s string, i int, p string) bool {
	return i <= len(s) && len(s)-i >= len(p) && s[i:i+len(p)] == p
}

func matchFractionChar(s string, i int) (int, int) {
	if r, n := at(s, i); isFractionChar(r) {
		return i + n, i + n
	}
	return 0, 0
}

func matchDollar(s string, i int) (int, int) {
	if byteAt(s, i) == '#' {
		return i + 1, i + 1
	}
	e := i
	for e < len(s) && isASCIIUpper(s[e]) {
		e++
	}
	if byteAt(s, e) == '$' {
		return e + 1, e + 1
	}
	return 0, 0
}

func matchCurrency(s string, i int) (int, int) {
	if r, n := at(s, i); isCurrency2(r) {
		return i + n, i + n
	}
	return 0, 0
}

// digitEnds returns the ends of [0-9]{lo,hi} at s[i].
func digitEnds(s string, i, lo, hi int, buf *[6]int) []int {
	ends := buf[:0]
	if i < 0 {
		return ends
	}
	for k := 1; k <= hi && isASCIIDigit(byteAt(s, i+k-1)); k++ {
		if k >= lo {
			ends = append(ends, i+k)
		}
	}
	return ends
}

// phoneSepLen is the length of [\- \u00A0] at s[i].
func phoneSepLen(s string, i int) int {
	switch byteAt(s, i) {
	case '-', ' ':
		return 1
	case 0xC2:
		if byteAt(s, i+1) == 0xA0 {
			return 2
		}
	}
	return 0
}

// matchPhone matches PHONE:
//
//	(\([0-9]{2,3}\)[ \u00A0]? | (\+\+?)?([0-9]{2,4}SEP)?[0-9]{2,4}SEP) [0-9]{3,4}SEP?[0-9]{3,5}
//	| ((\+\+?)?[0-9]{2,4}\.)?[0-9]{2,4}\.[0-9]{3,4}\.[0-9]{3,5}
func matchPhone(s string, i int) (int, int) {
	best := 0
	var b1, b2 [6]int
	tail := func(p int) {
		for _, a := range digitEnds(s, p, 3, 4, &b1) {
			for _, q := range [...]int{a, a + phoneSepLen(s, a)} {
				for _, e := range digitEnds(s, q, 3, 5, &b2) {
					if e > best {
						best = e
					}
				}
			}
		}
	}
	var g1, g2 [6]int
	if byteAt(s, i) == '(' {
		for _, a := range digitEnds(s, i+1, 2, 3, &g1) {
			if byteAt(s, a) == ')' {
				tail(a + 1)
				if byteAt(s, a+1) == ' ' {
					tail(a + 2)
				} else if byteAt(s, a+1) == 0xC2 && byteAt(s, a+2) == 0xA0 {
					tail(a + 3)
				}
			}
		}
	}
	starts := []int{i}
	if byteAt(s, i) == '+' {
		starts = append(starts, i+1)
		if byteAt(s, i+1) == '+' {
			starts = append(starts, i+2)
		}
		starts = starts[1:]
	}
	for _, p := range starts {
		// One or two groups of 2-4 digits and a separator, then the tail.
		for _, a := range digitEnds(s, p, 2, 4, &g1) {
			n := phoneSepLen(s, a)
			if n == 0 {
				continue
			}
			tail(a + n)
			for _, b := range digitEnds(s, a+n, 2, 4, &g2) {
				if m := phoneSepLen(s, b); m > 0 {
					tail(b + m)
				}
			}
		}
	}
	// The dotted form.
	dotted := func(p int) {
		for _, a := range digitEnds(s, p, 2, 4, &g1) {
			if byteAt(s, a) != '.' {
				continue
			}
			for _, b := range digitEnds(s, a+1, 3, 4, &g2) {
				if byteAt(s, b) != '.' {
					continue
				}
				for _, e := range digitEnds(s, b+1, 3, 5, &b1) {
					if e > best {
						best = e
					}
				}
			}
		}
	}
	if byteAt(s, i) != '+' {
		dotted(i)
	}
	for _, p := range starts {
		var g [6]int
		for _, a := range digitEnds(s, p, 2, 4, &g) {
			if byteAt(s, a) == '.' {
				dotted(a + 1)
			}
		}
	}
	return only(best)
}
