package textmetrics

// Matchers of the PTB lexer's classes for markup and the web: SGML tags
// and entities, URLs, e-mail addresses, Twitter names and hashtags.

// matchSGML matches
//
//	<([!?][A-Za-z-][^>\r\n]* | NAME (SP+ (NAME | NAME SP* = SP* VALUE))* SP* /? | /NAME) SP* >
//
// where NAME is [A-Za-z][A-Za-z0-9_:.-]* and VALUE a quoted string or a
// NAME. A closing tag takes no attributes, and a value starting with a
// digit is no value: </div class="x"> and <tag a=1> are not tags.
func matchSGML(s string, i int) (int, int) {
	if byteAt(s, i) != '<' {
		return 0, 0
	}
	j := i + 1
	c := byteAt(s, j)
	switch {
	case c == '!' || c == '?':
		if d := byteAt(s, j+1); !isASCIILetter(d) && d != '-' {
			return 0, 0
		}
		for k := j + 2; k < len(s); k++ {
			switch s[k] {
			case '>':
				return only(k + 1)
			case '\r', '\n':
				return 0, 0
			}
		}
		return 0, 0
	case c == '/':
		j = sgmlNameEnd(s, j+1)
		if j == 0 {
			return 0, 0
		}
	default:
		j = sgmlNameEnd(s, j)
		if j == 0 {
			return 0, 0
		}
		for {
			k := sgmlSpacesEnd(s, j)
			if k == j {
				break
			}
			name := sgmlNameEnd(s, k)
			if name == 0 {
				break
			}
			j = name
			v := sgmlSpacesEnd(s, name)
			if byteAt(s, v) != '=' {
				continue
			}
			if val := sgmlValueEnd(s, sgmlSpacesEnd(s, v+1)); val > 0 {
				j = val
			}
		}
		j = sgmlSpacesEnd(s, j)
		if byteAt(s, j) == '/' {
			j++
		}
	}
	j = sgmlSpacesEnd(s, j)
	if byteAt(s, j) != '>' {
		return 0, 0
	}
	return only(j + 1)
}

// sgmlFailSpan: a failed <! or <? at i, which found no > on its line,
// fails at every later start on the line.
func sgmlFailSpan(s string, i int) int {
	if c := byteAt(s, i+1); c != '!' && c != '?' {
		return 0
	}
	for k := i + 2; k < len(s); k++ {
		switch s[k] {
		case '>':
			return 0
		case '\r', '\n':
			return k
		}
	}
	return len(s)
}

func sgmlNameEnd(s string, i int) int {
	if !isASCIILetter(byteAt(s, i)) {
		return 0
	}
	for i++; i < len(s); i++ {
		c := s[i]
		if !isASCIIAlnum(c) && c != '_' && c != ':' && c != '.' && c != '-' {
			break
		}
	}
	return i
}

func sgmlSpacesEnd(s string, i int) int {
	for byteAt(s, i) == ' ' {
		i++
	}
	return i
}

// sgmlValueEnd matches an attribute value: '...', "..." (within the line)
// or a NAME.
func sgmlValueEnd(s string, i int) int {
	switch q := byteAt(s, i); q {
	case '\'', '"':
		for k := i + 1; k < len(s); k++ {
			switch s[k] {
			case q:
				return k + 1
			case '\r', '\n':
				return 0
			}
		}
		return 0
	}
	return sgmlNameEnd(s, i)
}

func matchAmpEntity(s string, i int) (int, int) { return only(literal(s, i, "&amp;")) }

func matchPunctEntity(s string, i int) (int, int) {
	if e := literal(s, i, "&HT;", "&TL;", "&UR;", "&LR;", "&QC;", "&QL;", "&QR;", "&odq;", "&cdq;"); e > 0 {
		return e, e
	}
	if byteAt(s, i) == '&' && byteAt(s, i+1) == '#' {
		if e := asciiDigitsEnd(s, i+2); e > i+2 && byteAt(s, e) == ';' {
			return only(e + 1)
		}
	}
	return 0, 0
}

// urlStop is the class [ \t\n\f\r\"<>|()] that ends a URL; a URL's last
// character may moreover not be urlFinalStop.
func urlStop(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\f', '\r', '"', '<', '>', '|', '(', ')', -1:
		return true
	}
	return false
}

func urlFinalStop(r rune) bool {
	switch r {
	case '.', '!', '?', '{', '}', ',', '-':
		return true
	}
	return urlStop(r)
}

// urlTailEnd matches [^urlStop]+[^urlFinalStop] at s[j] and returns its
// end, or 0.
func urlTailEnd(s string, j int) int {
	end, chars := 0, 0
	for k := j; k < len(s); {
		r, n := at(s, k)
		if urlStop(r) {
			break
		}
		// A character above U+FFFF is two UTF-16 characters, so it can
		// end the match on its own.
		if r > 0xFFFF {
			chars++
		}
		if chars > 0 && !urlFinalStop(r) {
			end = k + n
		}
		chars++
		k += n
	}
	return end
}

func matchFullURL(s string, i int) (int, int) {
	p := literal(s, i, "https://", "http://")
	if p == 0 {
		return 0, 0
	}
	return only(urlTailEnd(s, p))
}

// likelyHostStop ends a label of a www. host ([ \t\n\f\r\"<>|.!?(){},]).
func likelyHostStop(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\f', '\r', '"', '<', '>', '|', '.', '!', '?', '(', ')', '{', '}', ',', -1:
		return true
	}
	return false
}

// likelyDomainStop ends a label of a .com/.net/.org/.edu host. The lexer
// wrote [^ \t\n\f\r\"`'<>|.!?(){},-_$], where ",-_" is the range
// U+002C-U+005F: digits, capitals, and most punctuation end a label, so
// such a host is lower-case letters and a few symbols only.
func likelyDomainStop(r rune) bool {
	switch {
	case r >= ',' && r <= '_', r == -1:
		return true
	}
	switch r {
	case ' ', '\t', '\n', '\f', '\r', '"', '`', '\'', '<', '>', '|', '!', '?', '(', ')', '{', '}', '$':
		return true
	}
	return false
}

func matchLikelyURL(s string, i int) (int, int) {
	best := 0
	path := func(e int) {
		if e > best {
			best = e
		}
		if byteAt(s, e) == '/' {
			if t := urlTailEnd(s, e+1); t > best {
				best = t
			}
		}
	}
	// www.(label.)+[a-zA-Z]{2,4}
	if hasFoldPrefix(s, i, "www.") {
		p := i + 4
		for {
			r := labelEnd(s, p, likelyHostStop)
			if r == p || byteAt(s, r) != '.' {
				break
			}
			letters := 0
			for letters < 4 && isASCIILetter(byteAt(s, r+1+letters)) {
				letters++
			}
			if letters >= 2 {
				path(r + 1 + letters)
			}
			p = r + 1
		}
	}
	// (label.)+(com|net|org|edu)
	p := i
	for {
		r := labelEnd(s, p, likelyDomainStop)
		if r == p || byteAt(s, r) != '.' {
			break
		}
		if e := literal(s, r+1, "com", "net", "org", "edu"); e > 0 {
			path(e)
		}
		p = r + 1
	}
	if best == 0 {
		return 0, 0
	}
	return best, best
}

// likelyURLFailSpan: a failed match at i fails at every later start in
// the same chain of .com-style labels, up to the next www.
func likelyURLFailSpan(s string, i int) int {
	p := i
	for {
		r := labelEnd(s, p, likelyDomainStop)
		if r == p || byteAt(s, r) != '.' {
			p = r
			break
		}
		p = r + 1
	}
	for k := i + 1; k < p; k++ {
		if s[k]|0x20 == 'w' && hasFoldPrefix(s, k, "www.") {
			return k
		}
	}
	return p
}

func labelEnd(s string, i int, stop func(rune) bool) int {
	for i < len(s) {
		r, n := at(s, i)
		if stop(r) {
			break
		}
		i += n
	}
	return i
}

// emailStop ends the name of an e-mail address and emailLabelStop a
// label of its host. Other punctuation stays inside: "paul@bikeshop;" is
// one token, as the lexer makes it.
func emailStop(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\f', '\r', '"', '<', '>', '|', '(', ')', 0xA0, '{', '}', -1:
		return true
	}
	return false
}

func emailLabelStop(r rune) bool { return r == '.' || emailStop(r) }

// matchEmail matches (&lt;|<)?[a-zA-Z0-9][^emailStop]*@(label.)*label(&gt;|>)?.
func matchEmail(s string, i int) (int, int) {
	p := i
	switch {
	case byteAt(s, p) == '<':
		p++
	case hasFoldPrefix(s, p, "&lt;"):
		p += 4
	}
	if !isASCIIAlnum(byteAt(s, p)) {
		return 0, 0
	}
	best, covered := 0, 0
	for k := p + 1; k < len(s); {
		r, n := at(s, k)
		if emailStop(r) {
			break
		}
		// An @ inside the host of an earlier @ reaches no further (its
		// host ends where the earlier one's does), so it is skipped:
		// this keeps "a@a@a@..." linear.
		if r == '@' && k >= covered {
			e, stop := emailHostEnd(s, k+1)
			if e > best {
				best = e
			}
			covered = stop
		}
		k += n
	}
	if best == 0 {
		return 0, 0
	}
	return best, best
}

// emailFailSpan: a failed match at i fails at every later start up to the
// end of the name's run, which holds no @ with a valid host.
func emailFailSpan(s string, i int) int {
	p := i
	switch {
	case byteAt(s, p) == '<':
		p++
	case hasFoldPrefix(s, p, "&lt;"):
		p += 4
	}
	if !isASCIIAlnum(byteAt(s, p)) {
		return 0
	}
	return labelEnd(s, p, emailStop)
}

// emailHostEnd matches (label.)*label(&gt;|>)? at s[i], labels nonempty.
// It returns the longest end (or 0) and where the chain of labels stops.
func emailHostEnd(s string, i int) (int, int) {
	best := 0
	for p := i; ; {
		// The last label, and a closing > (a closing &gt; is inside the
		// label already).
		f := labelEnd(s, p, emailLabelStop)
		if f > p {
			e := f
			if byteAt(s, f) == '>' {
				e = f + 1
			}
			if e > best {
				best = e
			}
		}
		// Or a nonempty label and a period, then more.
		r := labelEnd(s, p, emailLabelStop)
		if r == p || byteAt(s, r) != '.' {
			return best, r
		}
		p = r + 1
	}
}

func matchTwitter(s string, i int) (int, int) {
	switch byteAt(s, i) {
	case '@':
		c := byteAt(s, i+1)
		if !isASCIILetter(c) && c != '_' {
			return 0, 0
		}
		e := i + 2
		for e < len(s) && (isASCIIAlnum(s[e]) || s[e] == '_') {
			e++
		}
		return e, e
	case '#':
		e := i + 1
		for {
			n := letterLen(s, e)
			if n == 0 {
				break
			}
			e += n
		}
		if e > i+1 {
			return e, e
		}
	}
	return 0, 0
}
