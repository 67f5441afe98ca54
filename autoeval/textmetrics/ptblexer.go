package textmetrics

// The PTB lexer: the token classes of CoreNLP 3.4.1's PTBLexer, the JFlex
// scanner behind coco-caption's tokenizer, as hand-written matchers. The
// classes, their order and their regular expressions follow the lexer's
// specification; the character classes are in ptbchars.go, the word lists
// (abbreviations, sentence starters, file extensions) in ptblists.go, and
// the matchers in ptbmatch_*.go by family.
//
// The scanner's rule, which these matchers reproduce, is JFlex's: at each
// position every class is matched, the longest match wins, and among
// equally long matches the class listed first wins. A class may require a
// trailing context (written class/context in the comments, as in JFlex):
// the context counts for the length but is not part of the token and is
// scanned again. Each matcher returns the token's end and the end of the
// whole match; (0, 0) means no match.
//
// After the lexer, coco-caption lower-cases every token (Java's rules, see
// appendLower) and drops the tokens '' ' `` ` . ? ! , : - -- ... ;.
// Several classes exist only to be dropped (dashes, ellipses, most quotes);
// they still matter, because what they consume cannot join another token.

// action is what a token class makes of its text.
type action uint8

const (
	actRaw        action = iota // the text itself
	actSkip                     // nothing: white space, untokenizable characters, tokens always dropped
	actSoftHyphen               // the text without soft hyphens (U+00AD)
	actAmp                      // &amp; becomes &
	actQuote                    // quotes as LaTeX quotes `` '' ` '
	actCurrency                 // ¢ → cents, £ → #, ¤ and € → $
	actFraction                 // ¼ ½ ¾ ⅓ ⅔ → 1/4 1/2 3/4 1/3 2/3
	actNBSP                     // spaces become no-break spaces
	actPhone                    // spaces become no-break spaces, ( ) become -LRB- -RRB-
	actBracket                  // the Treebank name of a bracket
	actSmiley                   // ( ) inside the smiley become -LRB- -RRB-
	actHyphens                  // a run of 3 or 4 hyphens is a dash "--", dropped
	actSplit2                   // an assimilation: all but the last 2 characters, which are scanned again
	actSplit3                   // same, last 3 characters scanned again
	actAcronym                  // an acronym ending a sentence: "U.S." kept, a single letter loses its period
	actLess                     // < or &lt; → <
	actGreater                  // > or &gt; → >
)

// tokenClass is one rule of the lexer.
type tokenClass struct {
	name  string
	first func(r rune) bool // whether a match can start with r (a cheap filter)
	match func(s string, i int) (tok, total int)
	act   action
	// failSpan, for classes that scan far ahead before failing (an e-mail
	// name, a domain, the first part of a hyphenated word), returns after a
	// failed match at i the position up to which a match must fail too,
	// so that a long run of such characters costs linear time, not
	// quadratic.
	failSpan func(s string, i int) int
}

// memoSlots is the number of classes with a failSpan (TestLexerTable
// checks it).
const memoSlots = 5

// tokenClasses are the lexer's rules in priority order (the order of the
// JFlex specification), which breaks ties between equally long matches.
var tokenClasses = []tokenClass{
	// PROG_LANGS: c++, c#, f# are words, not a letter and symbols.
	{"progLang", isOneOf("cCfF"), matchProgLang, actRaw, nil},
	// ASSIMILATIONS3: cannot, 'twas are two words, "can not", "'t was".
	{"assimilation3", isOneOf("cC'"), matchAssim3, actSplit3, nil},
	// ASSIMILATIONS2: gonna, gotta, wanna, lemme, gimme, 'tis are split
	// before their last two letters: "gon na", "'t is".
	{"assimilation2", isOneOf("gGwWlL'\u0092\u2019&"), matchAssim2, actSplit2, nil},
	// SGML: a tag, <b>, </i>, <br/>, <img src='x.jpg'>, <!-- note -->,
	// one token, its spaces made no-break.
	{"sgml", isOneOf("<"), matchSGML, actNBSP, sgmlFailSpan},
	// SPMDASH: an em or en dash (U+2013-2015, CP1252 0x96 0x97, &mdash;
	// &ndash; &MD;) becomes --, which is dropped.
	{"dash", isDashStart, matchDash, actSkip, nil},
	// SPAMP: &amp; is an ampersand.
	{"ampEntity", isOneOf("&"), matchAmpEntity, actAmp, nil},
	// SPPUNC: a few SGML punctuation entities (&HT; &odq; &#39; ...) are
	// kept as written.
	{"punctEntity", isOneOf("&"), matchPunctEntity, actRaw, nil},
	// WORD/REDAUX: a word before a clitic ('s 'm 'd 're 've 'll) ends
	// there: "man 's".
	{"wordBeforeClitic", isWordStart, matchWordBeforeClitic, actSoftHyphen, nil},
	// SWORD/SREDAUX: the letters before n't: "do n't", "ca n't".
	{"wordBeforeNot", func(r rune) bool { return isASCIILetterRune(r) || r == 0xAD }, matchWordBeforeNot, actSoftHyphen, nil},
	// WORD: letters and digits starting with a letter, possibly joined by
	// a period, ! or ? before another letter (sidewalk.outside,
	// ball!A); soft hyphens inside are deleted.
	{"word", isWordStart, matchWord, actSoftHyphen, nil},
	// APOWORD: words with an apostrophe that stay whole: O'Neil, ma'am,
	// Hawai'i, 'em, 'til, '90s, rock 'n' roll, y'all's y', ...
	{"apostropheWord", isApoWordStart, matchApoWord, actRaw, nil},
	// APOWORD2/[:letter:]: y' before a letter (y'all is "y' all").
	{"yApostrophe", isOneOf("yY"), matchYApostrophe, actRaw, nil},
	// FULLURL: http:// or https:// and what follows up to white space,
	// quotes or brackets, without final punctuation.
	{"url", isOneOf("hH"), matchFullURL, actRaw, nil},
	// LIKELYURL: www.host.tld or host.com/.net/.org/.edu, with a path.
	{"likelyURL", isLikelyURLStart, matchLikelyURL, actRaw, likelyURLFailSpan},
	// EMAIL: name@host, optionally in <> or &lt; &gt;.
	{"email", isEmailStart, matchEmail, actRaw, emailFailSpan},
	// TWITTER: @name and #hashtag (the hashtag takes letters only).
	{"twitter", isOneOf("@#"), matchTwitter, actRaw, nil},
	// REDAUX/[^A-Za-z]: a clitic 's 'm 'd 're 've 'll, its apostrophe
	// made ASCII.
	{"clitic", isAposStart, matchCliticContext, actQuote, nil},
	// SREDAUX: n't (its apostrophe as a LaTeX quote: n`t after U+2018).
	{"not", isOneOf("nN"), matchNot, actQuote, nil},
	// DATE: 12/25/2020, 11-18-2006.
	{"date", jDigit, matchDate, actRaw, nil},
	// NUMBER: digits with . , : separators and an optional sign (-9,
	// +26, 1,000.5, 3:30, .55, :3); soft hyphens inside are deleted.
	{"number", isNumberStart, matchNumber, actSoftHyphen, nil},
	// SUBSUPNUM: super- or subscript digits (²³, ₂).
	{"subSupNumber", isSubSupStart, matchSubSup, actRaw, nil},
	// FRAC: 3/4, 1 1/2 (its space made no-break), 2-2/8, 4⁄6, 7\/7.
	{"fraction", jDigit, matchFraction, actNBSP, nil},
	// FRAC2: the vulgar fraction characters; ¼ ½ ¾ ⅓ ⅔ are spelled out.
	{"fractionChar", isFractionChar, matchFractionChar, actFraction, nil},
	// TBSPEC: Treebank specials kept whole: -LRB- and friends, pro-,
	// anti-, S&P-500, S&Ls, C.D.s, Cap'n, c'est.
	{"treebankSpecial", isOneOf("-cCpPaAsS"), matchTreebankSpecial, actAmp, nil},
	// THING3: words or numbers joined by slashes, each possibly
	// hyphenated: and/or, km/h, 24/7, mother-in-law/father.
	{"slashed", isASCIIAlnumRune, matchSlashed, actRaw, nil},
	// DOLSIGN: $, US$, C$, and # (pound sign in the Treebank).
	{"dollar", isDollarStart, matchDollar, actRaw, nil},
	// DOLSIGN2: other currency signs; ¢ £ ¤ € are rewritten.
	{"currency", isCurrency2, matchCurrency, actCurrency, nil},
	// ACRONYM/(SPACENL+)(sentence starter)SPACENL: an acronym
	// before a word that starts a sentence ends the sentence; a single
	// letter then loses its period ("vitamin C. The" is "c").
	{"acronymSentenceEnd", isASCIILetterRune, matchAcronymSentenceEnd, actAcronym, nil},
	// ABBREV3/SPACENL?[:digit:]: no. fig. pp. ... before a number.
	{"abbrevBeforeNumber", isASCIILetterRune, matchAbbrevBeforeNumber, actRaw, nil},
	// Pty. or Co. before Ltd or Limited.
	{"companyBeforeLtd", isOneOf("pPcC"), matchCompanyBeforeLtd, actRaw, nil},
	// ABBREV1: abbreviations usually followed by lower case (Jan.,
	// Calif., Inc., etc.) keep their period.
	{"abbrev1", isASCIILetterRune, matchAbbrev1, actRaw, nil},
	// ABBREV2: titles and acronyms (Dr., Mt., vs., U.S., t.v., a.m., C.)
	// keep their period.
	{"abbrev2", isASCIILetterRune, matchAbbrev2, actRaw, nil},
	// ABBREV4/SPACE: the same without a period, before a space.
	{"abbrev4", isASCIILetterRune, matchAbbrev4Space, actRaw, nil},
	// ACRO/SPACENL: an acronym without a final period (U.S.A).
	{"acronym", isASCIILetterRune, matchAcroSpace, actRaw, nil},
	// TBSPEC2/SPACENL: '90 before a space.
	{"apostropheYear", isAposStart, matchApostropheYear, actRaw, nil},
	// FILENAME/(SPACENL|[.?!,]): 2.jpg, archive.tar.gz before a space or
	// punctuation.
	{"fileName", isFileNameStart, matchFileName, actRaw, nil},
	// WORD\./INSENTP: a word keeps its period before , ; : (Yes.,).
	{"wordPeriod", isWordStart, matchWordPeriod, actSoftHyphen, nil},
	// PHONE: (272) 593-5673, +26 452 839 6146, 469.301.4888.
	{"phone", isPhoneStart, matchPhone, actPhone, nil},
	// DBLQUOT/[A-Za-z0-9$] and DBLQUOT: " and &quot; become `` or '',
	// which are dropped.
	{"doubleQuoteLeft", isOneOf("\"&"), matchDoubleQuoteLeft, actSkip, nil},
	{"doubleQuote", isOneOf("\"&"), matchDoubleQuote, actSkip, nil},
	// DEL is deleted.
	{"delete", isOneOf("\x7f"), matchDEL, actSkip, nil},
	// LESSTHAN, GREATERTHAN: < and > (or &lt; &gt;) stay themselves.
	{"less", isOneOf("<&"), matchLess, actLess, nil},
	{"greater", isOneOf(">&"), matchGreater, actGreater, nil},
	// SMILEY/[^letter digit]: :) ;-) :-D :P >:( :'( =] and more, before
	// a non-alphanumeric character.
	{"smiley", isOneOf("<>:;="), matchSmiley, actSmiley, nil},
	// ASIANSMILEY: ^_^ -_- >_< (^_^) (^-^) ...
	{"asianSmiley", isOneOf("^x=~<>'-("), matchAsianSmiley, actSmiley, nil},
	// Brackets: ( ) [ ] { } become -LRB- -RRB- -LSB- -RSB- -LCB- -RCB-.
	{"bracket", isOneOf("()[]{}"), matchBracket, actBracket, nil},
	// HYPHENS: a run of hyphens; 3 or 4 are a dash "--".
	{"hyphens", isOneOf("-"), matchHyphens, actHyphens, nil},
	// LDOTS: ... to ....., . . ., U+2026 and U+0085, all an ellipsis,
	// dropped.
	{"ellipsis", isEllipsisStart, matchEllipsis, actSkip, nil},
	// FNMARKS, ASTS: runs of @, #, _ or *, or \*.
	{"marks", isOneOf("@#_*\\"), matchMarks, actRaw, nil},
	// INSENTP: , ; : and the ideographic comma, one each.
	{"inSentencePunct", isInSentP, matchOne(isInSentP), actRaw, nil},
	// [?!]+: a run of ? and ! is one token; alone they are dropped.
	{"bang", isOneOf("?!"), matchBangs, actRaw, nil},
	// Sentence-final marks: . ¡ ¿ 。 and others, one each.
	{"sentencePunct", isSentencePunct, matchOne(isSentencePunct), actRaw, nil},
	// = and / are tokens.
	{"equals", isOneOf("="), matchOne(func(r rune) bool { return r == '=' }), actRaw, nil},
	{"slash", isOneOf("/"), matchOne(func(r rune) bool { return r == '/' }), actRaw, nil},
	// HTHING\./INSENTP, HTHING: hyphenated words whose first part may hold
	// periods and commas (U.S.-based, 4.5-inch, 3.7-5), and whose later
	// parts may be acronyms (Canada-U.S.).
	{"hyphenatedPeriod", isASCIIAlnumRune, matchHyphenatedPeriod, actSoftHyphen, hyphenatedFailSpan},
	{"hyphenated", isASCIIAlnumRune, matchHyphenated, actSoftHyphen, hyphenatedFailSpan},
	// THING\./INSENTP, THING: letters and digits joined by hyphens or
	// underscores (x-ray, R2-D2, snake_case, 10x, 1950s-era), a part may
	// start with d' l' o' (o'clock, d'Artagnan).
	{"thingPeriod", jAlnum, matchThingPeriod, actRaw, nil},
	{"thing", jAlnum, matchThing, actRaw, nil},
	// THINGA\./INSENTP, THINGA: capitals joined by & or +: AT&T, P&G.
	{"capsAmpPeriod", isASCIIUpperRune, matchCapsAmpPeriod, actAmp, nil},
	{"capsAmp", isASCIIUpperRune, matchCapsAmp, actAmp, nil},
	// '/[A-Za-z][^ \t\n\r\u00A0]: an apostrophe before a word is an
	// opening quote, dropped.
	{"openQuote", isOneOf("'"), matchOpenQuote, actSkip, nil},
	// REDAUX: a clitic anywhere else.
	{"cliticAny", isAposStart, matchClitic, actQuote, nil},
	// QUOTES: one or two quote characters; '' `` ` ' are dropped, others
	// (‚ „ ‟, doubled curly quotes) survive.
	{"quotes", isQuoteStart, matchQuotes, actQuote, nil},
	// FAKEDUCKFEET: << and >>.
	{"duckFeet", isOneOf("<>"), matchDuckFeet, actRaw, nil},
	// MISCSYMBOL: symbols that are tokens of their own.
	{"symbol", isMiscSymbol, matchOne(isMiscSymbol), actRaw, nil},
	// White space, zero-width and format characters, &nbsp;.
	{"space", isSpaceStart, matchSpace, actSkip, nil},
	// Anything else is untokenizable and deleted.
	{"untokenizable", func(rune) bool { return true }, matchAny, actSkip, nil},
}

// classCandidates lists, for each ASCII byte, the classes that can start
// with it; nonASCIICandidates is used for everything else, and filters by
// first at run time. classMemo maps a class to its slot in
// tokenizer.failUntil (0 for none).
var (
	classCandidates    [128][]uint8
	nonASCIICandidates []uint8
	classMemo          []uint8
)

func init() {
	classMemo = make([]uint8, len(tokenClasses))
	slots := 0
	for id, cl := range tokenClasses {
		if cl.failSpan != nil {
			slots++
			classMemo[id] = uint8(slots)
		}
	}
	for c := 0; c < 128; c++ {
		for id, cl := range tokenClasses {
			if cl.first(rune(c)) {
				classCandidates[c] = append(classCandidates[c], uint8(id))
			}
		}
	}
	for id := range tokenClasses {
		nonASCIICandidates = append(nonASCIICandidates, uint8(id))
	}
}

// lexOne scans the token at s[i] and returns where scanning continues.
func (t *tokenizer) lexOne(s string, i int) int {
	r, _ := at(s, i)
	cands := nonASCIICandidates
	if r < 128 {
		cands = classCandidates[r]
	}
	best, bestTok, bestTotal := -1, 0, 0
	for _, id := range cands {
		cl := &tokenClasses[id]
		if r >= 128 && !cl.first(r) {
			continue
		}
		slot := classMemo[id]
		if slot > 0 && i < t.failUntil[slot-1] {
			continue
		}
		tok, total := cl.match(s, i)
		if total > bestTotal {
			best, bestTok, bestTotal = int(id), tok, total
		} else if total == 0 && slot > 0 {
			t.failUntil[slot-1] = cl.failSpan(s, i)
		}
	}
	return t.apply(tokenClasses[best].act, s, i, bestTok)
}

// apply emits the token s[i:tok] as act says and returns the next position.
func (t *tokenizer) apply(act action, s string, i, tok int) int {
	text := s[i:tok]
	switch act {
	case actRaw:
		t.emitText(text)
	case actSkip:
	case actSoftHyphen:
		t.emitSoftHyphen(text)
	case actAmp:
		t.emitAmp(text)
	case actQuote:
		t.emitQuote(text)
	case actCurrency:
		switch r, _ := at(s, i); r {
		case 0xA2:
			t.emitText("cents")
		case 0xA3:
			t.emitText("#")
		case 0x80, 0xA4, 0x20A0, 0x20AC:
			t.emitText("$")
		default:
			t.emitText(text)
		}
	case actFraction:
		switch r, _ := at(s, i); r {
		case 0xBC:
			t.emitText("1/4")
		case 0xBD:
			t.emitText("1/2")
		case 0xBE:
			t.emitText("3/4")
		case 0x2153:
			t.emitText("1/3")
		case 0x2154:
			t.emitText("2/3")
		default:
			t.emitText(text)
		}
	case actNBSP:
		t.emitMapped(text, false)
	case actPhone:
		t.emitMapped(text, true)
	case actBracket:
		t.emitText(bracketName(text[0]))
	case actSmiley:
		t.emitMapped(text, true)
	case actHyphens:
		if n := len(text); n < 3 || n > 4 {
			t.emitText(text) // "-" and "--" are dropped by the removal list
		}
	case actSplit2:
		return t.emitSplit(s, i, tok, 2)
	case actSplit3:
		return t.emitSplit(s, i, tok, 3)
	case actAcronym:
		// The period is scanned again as a token of its own (dropped).
		if tok-i == 2 {
			t.emitText(s[i : i+1])
		} else {
			t.emitText(text)
		}
	case actLess:
		t.emitText("<")
	case actGreater:
		t.emitText(">")
	}
	return tok
}

// emitSplit emits an assimilation without its last n characters and
// returns where they start, so that they are scanned as the next token.
func (t *tokenizer) emitSplit(s string, i, tok, n int) int {
	cut := tok
	for k := 0; k < n; k++ {
		_, size := utf8DecodeLast(s[i:cut])
		cut -= size
	}
	t.emitText(s[i:cut])
	return cut
}

func bracketName(c byte) string {
	switch c {
	case '(':
		return "-LRB-"
	case ')':
		return "-RRB-"
	case '[':
		return "-LSB-"
	case ']':
		return "-RSB-"
	case '{':
		return "-LCB-"
	}
	return "-RCB-"
}

// First-character filters.

func isOneOf(chars string) func(rune) bool {
	return func(r rune) bool {
		for _, c := range chars {
			if r == c {
				return true
			}
		}
		return false
	}
}

func isASCIILetterRune(r rune) bool { return r >= 0 && r < 128 && isASCIILetter(byte(r)) }

func isASCIIUpperRune(r rune) bool { return r >= 'A' && r <= 'Z' }

func isASCIIAlnumRune(r rune) bool { return r >= 0 && r < 128 && isASCIIAlnum(byte(r)) }

func isWordStart(r rune) bool { return r == '&' || wordLetter(r) }

func isAposStart(r rune) bool { return r == '\'' || r == 0x92 || r == 0x2019 || r == '&' }

func isQuoteStart(r rune) bool { return isAposStart(r) || isQuoteChar(r) }

func isApoWordStart(r rune) bool { return isAposStart(r) || jLetter(r) }

func isDashStart(r rune) bool {
	return r == '&' || r == 0x96 || r == 0x97 || r == 0x2013 || r == 0x2014 || r == 0x2015
}

func isLikelyURLStart(r rune) bool {
	return r == 'W' || !likelyDomainStop(r)
}

func isEmailStart(r rune) bool { return r == '<' || r == '&' || isASCIIAlnumRune(r) }

func isNumberStart(r rune) bool { return jDigit(r) || isOneOf("-+.:,\u066b\u066c\u00ad")(r) }

func isSubSupStart(r rune) bool {
	return isSupDigit(r) || isSubDigit(r) || isOneOf("\u207a\u207b\u208a\u208b")(r)
}

func isFractionChar(r rune) bool {
	return r == 0xBC || r == 0xBD || r == 0xBE || r >= 0x2153 && r <= 0x215E
}

func isDollarStart(r rune) bool { return r == '$' || r == '#' || isASCIIUpperRune(r) }

func isFileNameStart(r rune) bool { return r == '&' || wordLetter(r) || jDigit(r) }

func isPhoneStart(r rune) bool { return r == '(' || r == '+' || r >= '0' && r <= '9' }

func isEllipsisStart(r rune) bool { return r == '.' || r == 0x85 || r == 0x2026 }

func isSpaceStart(r rune) bool {
	return r == 0 || r == '&' || isSpaceNL(r) || isIgnorable(r)
}

// matchOne matches a single character of a class.
func matchOne(class func(rune) bool) func(string, int) (int, int) {
	return func(s string, i int) (int, int) {
		if r, n := at(s, i); i < len(s) && class(r) {
			return i + n, i + n
		}
		return 0, 0
	}
}

func matchAny(s string, i int) (int, int) {
	_, n := at(s, i)
	return i + n, i + n
}

func matchDEL(s string, i int) (int, int) {
	if byteAt(s, i) == 0x7F {
		return i + 1, i + 1
	}
	return 0, 0
}

// literal matches one of lits at s[i] in any case; the longest wins.
func literal(s string, i int, lits ...string) int {
	best := 0
	for _, lit := range lits {
		if len(lit) > best && hasFoldPrefix(s, i, lit) {
			best = len(lit)
		}
	}
	if best == 0 {
		return 0
	}
	return i + best
}

func only(e int) (int, int) { return e, e }
