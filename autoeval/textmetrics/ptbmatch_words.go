package textmetrics

// Matchers of the PTB lexer's word classes: words and their clitics,
// words with apostrophes, abbreviations and acronyms, hyphenated, slashed
// and ampersand compounds, file names. See ptblexer.go for how they are
// combined.

func matchProgLang(s string, i int) (int, int) {
	return only(literal(s, i, "c++", "c#", "f#"))
}

func matchAssim3(s string, i int) (int, int) {
	return only(literal(s, i, "cannot", "'twas"))
}

func matchAssim2(s string, i int) (int, int) {
	if e := literal(s, i, "gonna", "gotta", "wanna", "lemme", "gimme"); e > 0 {
		return e, e
	}
	if a := aposLen(s, i); a > 0 && hasFoldPrefix(s, i+a, "tis") {
		return only(i + a + 3)
	}
	return 0, 0
}

// wordEnd returns the end of WORD at s[i], or i.
func wordEnd(s string, i int) int {
	n := letterLen(s, i)
	if n == 0 {
		return i
	}
	e := i + n
	for {
		if e < len(s) && isASCIILetter(s[e]) || isASCIIDigit(byteAt(s, e)) {
			e++
			continue
		}
		if n := letterLen(s, e); n > 0 {
			e += n
			continue
		}
		if n := digitLen(s, e); n > 0 {
			e += n
			continue
		}
		if c := byteAt(s, e); c == '.' || c == '!' || c == '?' {
			if n := letterLen(s, e+1); n > 0 {
				e += 1 + n
				continue
			}
		}
		return e
	}
}

func matchWord(s string, i int) (int, int) {
	if e := wordEnd(s, i); e > i {
		return e, e
	}
	return 0, 0
}

// redauxEnd matches REDAUX, an apostrophe and s m d re ve ll.
func redauxEnd(s string, i int) int {
	a := aposLen(s, i)
	if a == 0 {
		return 0
	}
	k := i + a
	switch byteAt(s, k) {
	case 'm', 's', 'd', 'M', 'S', 'D':
		return k + 1
	}
	if e := literal(s, k, "re", "ve", "ll"); e > 0 {
		return e
	}
	return 0
}

func matchWordBeforeClitic(s string, i int) (int, int) {
	e := wordEnd(s, i)
	if e == i {
		return 0, 0
	}
	if r := redauxEnd(s, e); r > 0 {
		return e, r
	}
	return 0, 0
}

// matchWordBeforeNot matches SWORD/SREDAUX: [A-Za-z\u00AD]* ending in a
// letter other than n, before n't (n, an apostrophe or look-alike, t).
func matchWordBeforeNot(s string, i int) (int, int) {
	r := i
	for r < len(s) && (isASCIILetter(s[r]) || hasSoftHyphen(s, r)) {
		if s[r] == 0xC2 {
			r += 2
		} else {
			r++
		}
	}
	if r-1 <= i || s[r-1]|0x20 != 'n' {
		return 0, 0
	}
	a := aposEtcLen(s, r)
	if a == 0 || byteAt(s, r+a)|0x20 != 't' {
		return 0, 0
	}
	// The letters before the n must end (soft hyphens aside) in a letter
	// other than n.
	w := r - 1
	for w > i && w >= 2 && hasSoftHyphen(s, w-2) {
		w -= 2
	}
	if w == i || s[w-1]|0x20 == 'n' || !isASCIILetter(s[w-1]) {
		return 0, 0
	}
	return r - 1, r + a + 1
}

func hasSoftHyphen(s string, i int) bool {
	return i+1 < len(s) && s[i] == 0xC2 && s[i+1] == 0xAD
}

func matchNot(s string, i int) (int, int) {
	if byteAt(s, i)|0x20 != 'n' {
		return 0, 0
	}
	a := aposEtcLen(s, i+1)
	if a == 0 || byteAt(s, i+1+a)|0x20 != 't' {
		return 0, 0
	}
	return only(i + 2 + a)
}

// matchApoWord matches APOWORD, the longest of its alternatives.
func matchApoWord(s string, i int) (int, int) {
	best := 0
	try := func(e int) {
		if e > best {
			best = e
		}
	}
	if a := aposLen(s, i); a > 0 {
		k := i + a
		// 'n and 'n' (rock 'n' roll).
		if byteAt(s, k)|0x20 == 'n' {
			try(k + 1)
			if b := aposLen(s, k+1); b > 0 {
				try(k + 1 + b)
			}
		}
		// 'em, 'til, 'till, 'cause.
		try(literal(s, k, "em", "til", "till", "cause"))
		// '90s: a decade.
		if d := byteAt(s, k); d >= '2' && d <= '9' && byteAt(s, k+1) == '0' && byteAt(s, k+2)|0x20 == 's' {
			try(k + 3)
		}
	}
	// Fixed words.
	try(literal(s, i, "cont'd.", "cont'd", "'twas", "nor'easter", "c'mon", "e'er", "s'mores", "ev'ry", "li'l", "nat'l"))
	// Dunkin', somethin', ol'.
	for _, w := range [...]string{"dunkin", "somethin", "ol"} {
		if hasFoldPrefix(s, i, w) {
			if a := aposLen(s, i+len(w)); a > 0 {
				try(i + len(w) + a)
			}
		}
	}
	c := byteAt(s, i)
	// l' d' j' (French elision before a word the lexer splits off).
	switch c {
	case 'l', 'L', 'd', 'D', 'j', 'J':
		if a := aposLen(s, i+1); a > 0 {
			try(i + 1 + a)
		}
	}
	// O'o.
	if c|0x20 == 'o' {
		if a := aposEtcLen(s, i+1); a > 0 && byteAt(s, i+1+a)|0x20 == 'o' {
			try(i + 2 + a)
		}
	}
	// A capital (not I or Y) or n, an apostrophe and two or more letters:
	// O'Neil, D'Angelo, N'Sync, n'ts.
	if isASCIIUpper(c) && c != 'I' && c != 'Y' || c == 'n' {
		if a := aposEtcLen(s, i+1); a > 0 {
			e, count := jLettersEnd(s, i+1+a)
			if count >= 2 {
				try(e)
			}
		}
	}
	// Two or more letters ending in a vowel, an apostrophe, a vowel or a
	// capital, letters: ma'am, Hawai'i, Shi'ite, YOU'LL.
	if e, count := jLettersEnd(s, i); count >= 2 {
		last, _ := utf8DecodeLast(s[i:e])
		if isVowelRune(last) {
			if a := aposEtcLen(s, e); a > 0 {
				if v := byteAt(s, e+a); v == 'a' || v == 'e' || v == 'i' || v == 'o' || v == 'u' || isASCIIUpper(v) {
					end, _ := jLettersEnd(s, e+a+1)
					try(end)
				}
			}
		}
	}
	if best == 0 {
		return 0, 0
	}
	return best, best
}

func isVowelRune(r rune) bool {
	switch r {
	case 'a', 'e', 'i', 'o', 'u', 'y', 'A', 'E', 'I', 'O', 'U', 'Y':
		return true
	}
	return false
}

// jLettersEnd returns the end of the run of [:letter:] at s[i] and its
// length in characters.
func jLettersEnd(s string, i int) (int, int) {
	count := 0
	for {
		r, n := at(s, i)
		if !jLetter(r) {
			return i, count
		}
		i += n
		count++
	}
}

func matchYApostrophe(s string, i int) (int, int) {
	if byteAt(s, i)|0x20 != 'y' {
		return 0, 0
	}
	a := aposLen(s, i+1)
	if a == 0 {
		return 0, 0
	}
	if r, n := at(s, i+1+a); jLetter(r) {
		return i + 1 + a, i + 1 + a + n
	}
	return 0, 0
}

func matchCliticContext(s string, i int) (int, int) {
	e := redauxEnd(s, i)
	if e == 0 {
		return 0, 0
	}
	r, n := at(s, e)
	if n == 0 || r < 128 && isASCIILetter(byte(r)) {
		return 0, 0
	}
	return e, e + n
}

func matchClitic(s string, i int) (int, int) { return only(redauxEnd(s, i)) }

func matchTreebankSpecial(s string, i int) (int, int) {
	best := literal(s, i, "-RRB-", "-LRB-", "-RCB-", "-LCB-", "-RSB-", "-LSB-", "C.D.s", "pro-", "anti-",
		"S&P-500", "S&amp;P-500", "S&Ls", "S&amp;Ls")
	for _, w := range [...]struct{ a, b string }{{"cap", "n"}, {"c", "est"}} {
		if hasFoldPrefix(s, i, w.a) {
			if a := aposLen(s, i+len(w.a)); a > 0 && hasFoldPrefix(s, i+len(w.a)+a, w.b) {
				if e := i + len(w.a) + a + len(w.b); e > best {
					best = e
				}
			}
		}
	}
	return only(best)
}

// matchSlashed matches THING3:
// [A-Za-z0-9]+(-[A-Za-z]+){0,2}(\\?/[A-Za-z0-9]+(-[A-Za-z]+){0,2}){1,2}.
func matchSlashed(s string, i int) (int, int) {
	best := 0
	var first [3]int
	for _, e0 := range slashedPartEnds(s, i, &first) {
		var mid [3]int
		for _, e1 := range slashedPartEnds(s, afterSlash(s, e0), &mid) {
			if e1 > best {
				best = e1
			}
			var last [3]int
			for _, e2 := range slashedPartEnds(s, afterSlash(s, e1), &last) {
				if e2 > best {
					best = e2
				}
			}
		}
	}
	return only(best)
}

// afterSlash returns the position after \?/ at s[i], or -1.
func afterSlash(s string, i int) int {
	if i < 0 {
		return -1
	}
	if byteAt(s, i) == '\\' {
		i++
	}
	if byteAt(s, i) != '/' {
		return -1
	}
	return i + 1
}

// slashedPartEnds returns the ends of [A-Za-z0-9]+(-[A-Za-z]+){0,2} at
// s[i] (with 0, 1 or 2 hyphenated parts).
func slashedPartEnds(s string, i int, buf *[3]int) []int {
	if i < 0 {
		return nil
	}
	e := i
	for e < len(s) && isASCIIAlnum(s[e]) {
		e++
	}
	if e == i {
		return nil
	}
	ends := buf[:0]
	ends = append(ends, e)
	for k := 0; k < 2 && byteAt(s, e) == '-'; k++ {
		f := e + 1
		for f < len(s) && isASCIILetter(s[f]) {
			f++
		}
		if f == e+1 {
			break
		}
		e = f
		ends = append(ends, e)
	}
	return ends
}

// acroEnd matches ACRO: a letter, or letters joined by periods (U.S.A),
// or one of a few hyphenated forms (Canada-U.S, U.S.-U.K). It returns the
// end and the number of letters (1 for a lone letter).
func acroEnd(s string, i int) (int, int) {
	if !isASCIILetter(byteAt(s, i)) {
		return 0, 0
	}
	e, letters := i+1, 1
	for byteAt(s, e) == '.' && isASCIILetter(byteAt(s, e+1)) {
		e += 2
		letters++
	}
	if x := literal(s, i, "Canada-U.S", "Sino-U.S", "Korean-U.S", "EU-U.S", "Japan-U.S", "non-U.S",
		"U.S.-U.K", "U.S.-U.S.S.R"); x > e {
		e, letters = x, 2
	}
	return e, letters
}

// sentenceStarterEnd matches a sentenceStarters word at s[i] (first
// letter exact, the rest in any case); it returns the longest end or 0.
func sentenceStarterEnd(s string, i int) int {
	c := byteAt(s, i)
	if !isASCIIUpper(c) {
		return 0
	}
	best := 0
	for _, w := range sentenceStarters {
		if w[0] == c && len(w) > best-i && hasFoldPrefix(s, i+1, w[1:]) {
			best = i + len(w)
		}
	}
	return best
}

func matchAcronymSentenceEnd(s string, i int) (int, int) {
	e, _ := acroEnd(s, i)
	if e == 0 || byteAt(s, e) != '.' {
		return 0, 0
	}
	tok := e + 1
	// One or more SPACENL, a sentence starter (or a tag), then SPACENL.
	p := tok
	for {
		r, n := at(s, p)
		if !isSpaceNL(r) || p >= len(s) {
			break
		}
		p += n
	}
	if p == len(s) {
		// The caption ends here. capeval takes the next caption of the
		// batch to start with "A ", as most COCO captions do.
		return tok, len(s) + 3
	}
	if p == tok {
		return 0, 0
	}
	w := sentenceStarterEnd(s, p)
	if _, sg := matchSGML(s, p); sg > w {
		w = sg
	}
	if w == 0 {
		return 0, 0
	}
	r, n := at(s, w)
	if !isSpaceNL(r) {
		return 0, 0
	}
	return tok, w + n
}

// lettersEnd returns the end of the ASCII letters at s[i].
func lettersEnd(s string, i int) int {
	for i < len(s) && isASCIILetter(s[i]) {
		i++
	}
	return i
}

func matchAbbrevBeforeNumber(s string, i int) (int, int) {
	e := lettersEnd(s, i)
	if byteAt(s, e) != '.' || lookupAbbrev(s, i, e)&inAbbrev3 == 0 {
		return 0, 0
	}
	p := e + 1
	if r, n := at(s, p); isSpaceNL(r) && p < len(s) {
		p += n
	}
	if r, n := at(s, p); jDigit(r) {
		return e + 1, p + n
	}
	return 0, 0
}

func matchCompanyBeforeLtd(s string, i int) (int, int) {
	e := 0
	switch {
	case hasFoldPrefix(s, i, "pt") && (byteAt(s, i+2)|0x20 == 'e' || byteAt(s, i+2)|0x20 == 'y'):
		e = i + 3
	case hasFoldPrefix(s, i, "co"):
		e = i + 2
	default:
		return 0, 0
	}
	if byteAt(s, e) != '.' {
		return 0, 0
	}
	r, n := at(s, e+1)
	if !isSpaceChar(r) {
		return 0, 0
	}
	if x := literal(s, e+1+n, "ltd", "lim"); x > 0 {
		return e + 1, x
	}
	return 0, 0
}

func matchAbbrev1(s string, i int) (int, int) {
	e := lettersEnd(s, i)
	if byteAt(s, e) != '.' {
		return 0, 0
	}
	if lookupAbbrev(s, i, e)&inAbbrev1 != 0 {
		return e + 1, e + 1
	}
	// Ed.D. and Ph.D.
	if x := literal(s, i, "Ed.D.", "Ph.D."); x > 0 {
		return x, x
	}
	return 0, 0
}

// abbrev4Ends returns the ends of the ABBREV4 prefixes of s[i:] (0 where
// there is none): an acronym (a lone letter included), a title or other
// word of the lists, a.k.a.
func abbrev4Ends(s string, i int) [3]int {
	acro, _ := acroEnd(s, i)
	title := 0
	if e := lettersEnd(s, i); e > i && lookupAbbrev(s, i, e)&inAbbrev4 != 0 {
		title = e
	}
	return [3]int{acro, title, literal(s, i, "a.k.a")}
}

// matchAbbrev2 matches ABBREV2, an ABBREV4 and its period.
func matchAbbrev2(s string, i int) (int, int) {
	best := 0
	for _, e := range abbrev4Ends(s, i) {
		if e > 0 && byteAt(s, e) == '.' && e+1 > best {
			best = e + 1
		}
	}
	return only(best)
}

// matchAbbrev4Space matches ABBREV4/SPACE.
func matchAbbrev4Space(s string, i int) (int, int) {
	best, total := 0, 0
	for _, e := range abbrev4Ends(s, i) {
		if e == 0 {
			continue
		}
		if r, n := at(s, e); isSpaceChar(r) && e < len(s) && e+n > total {
			best, total = e, e+n
		}
	}
	return best, total
}

func matchAcroSpace(s string, i int) (int, int) {
	e, _ := acroEnd(s, i)
	if e == 0 {
		return 0, 0
	}
	if r, n := at(s, e); isSpaceNL(r) {
		return e, e + n
	}
	return 0, 0
}

func matchApostropheYear(s string, i int) (int, int) {
	a := aposLen(s, i)
	if a == 0 || !isASCIIDigit(byteAt(s, i+a)) || !isASCIIDigit(byteAt(s, i+a+1)) {
		return 0, 0
	}
	e := i + a + 2
	if r, n := at(s, e); isSpaceNL(r) {
		return e, e + n
	}
	return 0, 0
}

// alnumRunEnd returns the end of a run of LETTERs and DIGITs at s[i].
func alnumRunEnd(s string, i int) int {
	for {
		if n := letterLen(s, i); n > 0 {
			i += n
		} else if n := digitLen(s, i); n > 0 {
			i += n
		} else {
			return i
		}
	}
}

// matchFileName matches FILENAME, parts of letters and digits joined by
// periods, the last a known extension, before SPACENL or . ? ! ,.
func matchFileName(s string, i int) (int, int) {
	e := alnumRunEnd(s, i)
	if e == i {
		return 0, 0
	}
	tok, total := 0, 0
	for byteAt(s, e) == '.' {
		f := alnumRunEnd(s, e+1)
		if f == e+1 {
			break
		}
		if isFileExt(s[e+1 : f]) {
			r, n := at(s, f)
			if isSpaceNL(r) || r == '.' || r == '?' || r == '!' || r == ',' {
				tok, total = f, f+n
			}
		}
		e = f
	}
	return tok, total
}

func isFileExt(w string) bool {
	if len(w) > 4 {
		return false
	}
	for _, x := range fileExts {
		if len(x) == len(w) && hasFoldPrefix(w, 0, x) {
			return true
		}
	}
	return false
}

// periodBeforeInSentP reports the length of the trailing context \.INSENTP
// after a token ending at e: the period and one of , ; : 、.
func periodBeforeInSentP(s string, e int) int {
	if byteAt(s, e) != '.' {
		return 0
	}
	if r, n := at(s, e+1); isInSentP(r) && e+1 < len(s) {
		return 1 + n
	}
	return 0
}

func matchWordPeriod(s string, i int) (int, int) {
	e := wordEnd(s, i)
	if e == i {
		return 0, 0
	}
	if n := periodBeforeInSentP(s, e); n > 0 {
		return e + 1, e + n
	}
	return 0, 0
}

// hyphenatedEnd matches HTHING:
// [A-Za-z0-9][A-Za-z0-9.,\u00AD]*(-([A-Za-z0-9\u00AD]+|ACRO2\.))+, where
// ACRO2 is letters joined by periods (two or more).
func hyphenatedEnd(s string, i int) int {
	if !isASCIIAlnum(byteAt(s, i)) {
		return 0
	}
	e := i + 1
	for e < len(s) {
		if c := s[e]; isASCIIAlnum(c) || c == '.' || c == ',' {
			e++
		} else if hasSoftHyphen(s, e) {
			e += 2
		} else {
			break
		}
	}
	end := 0
	for byteAt(s, e) == '-' {
		p := e + 1
		alt := p
		for alt < len(s) {
			if isASCIIAlnum(s[alt]) {
				alt++
			} else if hasSoftHyphen(s, alt) {
				alt += 2
			} else {
				break
			}
		}
		if a, letters := acroEnd(s, p); letters >= 2 && byteAt(s, a) == '.' && a+1 > alt && s[p+1] == '.' {
			alt = a + 1
		}
		if alt == p {
			break
		}
		e, end = alt, alt
	}
	return end
}

func matchHyphenated(s string, i int) (int, int) { return only(hyphenatedEnd(s, i)) }

// hyphenatedFailSpan: a failed match at i fails at every later start in
// the run of [A-Za-z0-9.,\u00AD] before the hyphen.
func hyphenatedFailSpan(s string, i int) int {
	e := i
	for e < len(s) {
		if c := s[e]; isASCIIAlnum(c) || c == '.' || c == ',' {
			e++
		} else if hasSoftHyphen(s, e) {
			e += 2
		} else {
			break
		}
	}
	return e
}

func matchHyphenatedPeriod(s string, i int) (int, int) {
	e := hyphenatedEnd(s, i)
	if e == 0 {
		return 0, 0
	}
	if n := periodBeforeInSentP(s, e); n > 0 {
		return e + 1, e + n
	}
	return 0, 0
}

// thingEnd matches THING: parts of [:letter:] and [:digit:] joined by
// HYPHEN, each optionally starting with d' l' o' and a letter or digit.
func thingEnd(s string, i int) int {
	e := thingPartEnd(s, i)
	if e == 0 {
		return 0
	}
	for {
		r, n := at(s, e)
		if !isHyphen(r) {
			return e
		}
		f := thingPartEnd(s, e+n)
		if f == 0 {
			return e
		}
		e = f
	}
}

func thingPartEnd(s string, i int) int {
	best := 0
	switch byteAt(s, i) {
	case 'd', 'D', 'o', 'O', 'l', 'L':
		if a := aposEtcLen(s, i+1); a > 0 {
			if r, n := at(s, i+1+a); jAlnum(r) {
				if e := jAlnumEnd(s, i+1+a+n); e > i+1+a+n {
					best = e
				}
			}
		}
	}
	if e := jAlnumEnd(s, i); e > best {
		best = e
	}
	if best == i {
		return 0
	}
	return best
}

func jAlnumEnd(s string, i int) int {
	for {
		if i < len(s) && isASCIIAlnum(s[i]) {
			i++
			continue
		}
		r, n := at(s, i)
		if r < 128 || !jAlnum(r) {
			return i
		}
		i += n
	}
}

func matchThing(s string, i int) (int, int) { return only(thingEnd(s, i)) }

func matchThingPeriod(s string, i int) (int, int) {
	e := thingEnd(s, i)
	if e == 0 {
		return 0, 0
	}
	if n := periodBeforeInSentP(s, e); n > 0 {
		return e + 1, e + n
	}
	return 0, 0
}

// capsAmpEnd matches THINGA, [A-Z]+(([+&]|&amp;)[A-Z]+)+.
func capsAmpEnd(s string, i int) int {
	upper := func(p int) int {
		for p < len(s) && isASCIIUpper(s[p]) {
			p++
		}
		return p
	}
	e := upper(i)
	if e == i {
		return 0
	}
	end := 0
	for {
		next := 0
		if c := byteAt(s, e); c == '+' || c == '&' {
			if q := upper(e + 1); q > e+1 {
				next = q
			}
		}
		if hasFoldPrefix(s, e, "&amp;") {
			if q := upper(e + 5); q > e+5 && q > next {
				next = q
			}
		}
		if next == 0 {
			return end
		}
		e, end = next, next
	}
}

func matchCapsAmp(s string, i int) (int, int) { return only(capsAmpEnd(s, i)) }

func matchCapsAmpPeriod(s string, i int) (int, int) {
	e := capsAmpEnd(s, i)
	if e == 0 {
		return 0, 0
	}
	if n := periodBeforeInSentP(s, e); n > 0 {
		return e + 1, e + n
	}
	return 0, 0
}
