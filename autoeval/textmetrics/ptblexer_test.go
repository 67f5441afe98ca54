package textmetrics

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"capeval/internal/sharedtest"
)

// TestLexerClasses checks each token class of the lexer on shapes that
// show its rule, including shapes the conformance cases do not hold. The
// class names are those of tokenClasses.
func TestLexerClasses(t *testing.T) {
	tests := []struct {
		class, in, want string
	}{
		{"progLang", "C++ c# F# c+", "c++ c# f# c +"},
		{"assimilation", "gonna GOTTA Cannot wanna lemme gimme", "gon na got ta can not wan na lem me gim me"},
		{"assimilation", "'Tis \u2019tis 'twas", "'t is \u2019t is 't was"},
		{"sgml", "<br /> <img src='a b.jpg'> </i> <!-- a b -->", "<br\u00a0/> <img\u00a0src='a\u00a0b.jpg'> </i> <!--\u00a0a\u00a0b\u00a0-->"},
		{"sgml", "<a b=1> </b c> <p\ta> <2>", "< a b = 1 > < / b c > < p a > < 2 >"},
		{"dash", "a\u2014b \u2013 c &mdash; d \x96 e &MD;", "a b c d e"},
		{"entities", "&amp; &AMP; &HT; &#39; x&nbsp;y caf&eacute; &copy;", "& & &ht; &#39; x y caf&eacute; & copy"},
		{"wordBeforeClitic", "He's HE'S SHE'LL they\u2019re I&apos;m", "he 's he 's she 'll they 're i 'm"},
		{"wordBeforeNot", "don't CAN'T won\u2019t ain\u2018t NEEDN\u201bT", "do n't ca n't wo n't ai n`t need n`t"},
		{"word", "sidewalk.outside ball!A coffee?bird sky\u00adscraper", "sidewalk.outside ball!a coffee?bird skyscraper"},
		{"apostropheWord", "O'Neil ma'am Hawai'i YOU\u2018RE 'em 'til 'cause '90s don'ts", "o'neil ma'am hawai'i you\u2018re 'em 'til 'cause '90s do n'ts"},
		{"apostropheWord", "rock 'n' roll Ol' Dunkin' nothin' j'adore", "rock 'n' roll ol' dunkin' nothin j' adore"},
		{"yApostrophe", "y'all Y'know", "y' all y' know"},
		{"url", "http://a.b/c). HTTPS://X.Y/z?q=1&r=2, ftp://a.b", "http://a.b/c -rrb- https://x.y/z?q=1&r=2 ftp / / a.b"},
		{"likelyURL", "www.x.co.uk/a_(b). x.com/yz Dogs.com/a x.com.au/#t", "www.x.co.uk/a_ -lrb- b -rrb- x.com/yz dogs.com / a x.com.au / #t"},
		{"email", "j@k.lm, <a@b.c> &lt;x@y.z&gt; a@b..c paul@x;", "j@k.lm, <a@b.c> &lt;x@y.z&gt; a@b c paul@x;"},
		{"twitter", "@paul_7 #tag12 @2night #", "@paul_7 #tag 12 @ 2night #"},
		{"clitic", "the 90's x'sa 's", "the 90 's x sa 's"},
		{"date", "12/25/2020 1-2-33 123/4/56", "12/25/2020 1-2-33 123/4/56"},
		{"number", "1,000.5 -9 +7 .5 :30 10:30am 93\u00ad326 6,9", "1,000.5 -9 +7 .5 :30 10:30 am 93326 6,9"},
		{"subSupNumber", "9\u00b3 H\u2082O x\u207a\u00b2", "9 \u00b3 h \u2082 o x \u207a\u00b2"},
		{"fraction", "2 3/4 2-3/4 3/4 4\u20446 7\\/7 12345/6", "2\u00a03/4 2-3/4 3/4 4\u20446 7\\/7 12345/6"},
		{"fractionChar", "\u00bd \u2154 \u215b 1\u00be", "1/2 2/3 \u215b 1 3/4"},
		{"treebankSpecial", "anti- pro- S&P-500 S&amp;Ls Cap'n C'EST -LRB-", "anti- pro- s&p-500 s&ls cap'n c'est -lrb-"},
		{"slashed", "and/or km/h mother-in-law/father red/blue/green/x a-b-c-d/e", "and/or km/h mother-in-law/father red/blue/green / x a-b-c-d / e"},
		{"currency", "$5 US$5 \u00a230 \u00a35 \u20ac5 \u00a55 \u20a9 \u20b9 \u0e3f", "$ 5 us$ 5 cents 30 # 5 $ 5 \u00a5 5 \u0e3f"},
		{"acronymSentenceEnd", "vitamin C. The end; gate A.\tIt is; Z. His; U.S. We; X. It;", "vitamin c the end gate a it is z. his u.s. we x. it"},
		{"abbreviations", "Calif. Dr. mass. Mass. Sat. PTY. LTD Ed.D. a.k.a. v. V. x", "calif. dr. mass mass. sat pty. ltd ed.d. a.k.a. v. v. x"},
		{"initials", "a... H\u2083O... I.", "a. h \u2083 o. i"},
		{"abbrevBeforeNumber", "no. 5 no.5 Fig. 3 pp.12 no. on fig.", "no. 5 no. 5 fig. 3 pp. 12 no on fig"},
		{"fileName", "2.jpg, (2.jpg) IMG.PNG archive.tar.gz? a.c", "2.jpg -lrb- 2 jpg -rrb- img.png archive.tar.gz a.c"},
		{"wordPeriod", "Yes., p.m.; etc.:", "yes. p.m. etc."},
		{"phone", "(555) 123-4567 +26 452 839 6146 469.301.4888 215-1059", "-lrb-555-rrb-\u00a0123-4567 +26\u00a0452\u00a0839\u00a06146 469.301.4888 215-1059"},
		{"quotes", "\"a\" ``b'' \u201c\u201cc\u201d\u201d \u201ed \u201f e \u00abf\u00bb \u00bb\u00bbg\u2018\u2018", "a b ```` c '''' \u201e d \u201f e f '''' g"},
		{"lessGreater", "< > &lt; &gt; << >> <3 ->", "< > < > << >> < 3 >"},
		{"smiley", ":) :-) :o) :P :p ;D =] >:( :'( :3 :o :-(a", ":-rrb- :--rrb- :o-rrb- :p :p ;d =] >:-lrb- :'-lrb- :3 o -lrb- a"},
		{"asianSmiley", "(^_^) ^_^ -_- >_< (=^.^=) (^-^) x_x", "-lrb-^_^-rrb- ^_^ -_- >_< -lrb- = ^ ^ =-rrb- -lrb-^-^-rrb- x_x"},
		{"bracket", "([{x}]) \uff08y\uff09 \u300cz\u300d \u3010w\u3011", "-lrb- -lsb- -lcb- x -rcb- -rsb- -rrb- \uff08 y \uff09 z w"},
		{"hyphens", "- -- --- ---- ----- ------14", "----- ------ 14"},
		{"ellipsis", "dog... cat.... sun. . . sky\u2026 sea\x85 hat..! go", "dog cat sun sky sea hat go"},
		{"marks", "@@ ## __init__ *** \\* _", "@@ ## __ init __ *** \\* _"},
		{"punctuation", "a, b; c: d\u3001e \u3002 !! ?! ? \u00a1 \u00bf = /", "a b c d \u3001 e \u3002 !! ?! \u00a1 \u00bf = /"},
		{"hyphenated", "U.S.-based 4.5-inch 3.7-5.3 Canada-U.S. D.C.-area", "u.s.-based 4.5-inch 3.7-5 .3 canada-u.s. d.c.-area"},
		{"thing", "x-ray R2-D2 snake_case 10x o'clock d'Artagnan co\u2011op Reykjavi\u0301k-style", "x-ray r2-d2 snake_case 10x o'clock d'artagnan co\u2011op reykjavi\u0301k style"},
		{"capsAmp", "AT&T AT&amp;T R&D. B&Q, Ben&Jerry", "at&t at&t r&d b&q ben & jerry"},
		{"symbol", "+ % ~ ^ | \\ \u00b0 \u00a9 \u2022 \u2260 \u2605 \u2212", "+ % ~ ^ | \\ \u00b0 \u00a9 \u2022 \u2260 \u2605 \u2212"},
		{"untokenizable", "a\u2012b \u2e3a c\u1680d \x01e \U0001F600f \u2764\ufe0f", "a b c d e f \u2764"},
		{"space", "\ufeffa\u200bb\u3000c\u00a0d\x00e\x7ff \t g", "a b c d e f g"},
	}
	for _, tt := range tests {
		t.Run(tt.class, func(t *testing.T) {
			if got := TokenizeString(tt.in); got != tt.want {
				t.Errorf("TokenizeString(%q)\n got  %q\n want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestLowerCaseJava checks PTBTokenizer's -lowerCase, which is Java's
// String.toLowerCase and differs from Go's on two characters.
func TestLowerCaseJava(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"dotted capital I keeps its dot", "\u0130stanbul", "i\u0307stanbul"},
		{"final sigma", "\u03a3\u039f\u03a6\u039f\u03a3", "\u03c3\u03bf\u03c6\u03bf\u03c2"},
		{"final sigma inside a longer token", "frisbee\u039f\u0394\u039f\u03a3", "frisbee\u03bf\u03b4\u03bf\u03c2"},
		{"sigma before a letter", "\u03a3a", "\u03c3a"},
		{"sigma before a combining mark", "A\u03a3\u0301", "a\u03c2\u0301"},
		{"lone sigma", "\u03a3", "\u03c3"},
		{"other letters", "M\u00dcNCHEN \u00c6R\u00d8 \uff34\uff2f\uff2b\uff39\uff2f", "m\u00fcnchen \u00e6r\u00f8 \uff54\uff4f\uff4b\uff59\uff4f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TokenizeString(tt.in); got != tt.want {
				t.Errorf("TokenizeString(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestCaptionEnd checks the one choice capeval makes where the reference
// pipeline looks into the next caption of its batch: capeval takes that
// caption to start with "A ", as COCO captions mostly do.
func TestCaptionEnd(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"a letter and a period end a sentence", "vitamin C.", "vitamin c"},
		{"with trailing spaces", "vitamin C.  ", "vitamin c"},
		{"an acronym keeps its period", "made in the U.S.", "made in the u.s."},
		{"no. is a word, not before a number", "a sign that says no.", "a sign that says no"},
		{"a smiley ends before the line end", "a dog :)", "a dog :-rrb-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TokenizeString(tt.in); got != tt.want {
				t.Errorf("TokenizeString(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestLexerTable checks the class table: every class is complete, names
// are unique, memoSlots counts the classes with a failSpan, and every
// ASCII byte has the catch-all class among its candidates.
func TestLexerTable(t *testing.T) {
	names := map[string]bool{}
	slots := 0
	for _, cl := range tokenClasses {
		if cl.name == "" || cl.first == nil || cl.match == nil || names[cl.name] {
			t.Errorf("class %q incomplete or duplicated", cl.name)
		}
		names[cl.name] = true
		if cl.failSpan != nil {
			slots++
		}
	}
	if slots != memoSlots {
		t.Errorf("%d classes have a failSpan, memoSlots is %d", slots, memoSlots)
	}
	last := uint8(len(tokenClasses) - 1)
	for c, cands := range classCandidates {
		if len(cands) == 0 || cands[len(cands)-1] != last {
			t.Errorf("byte %#x lacks the untokenizable class", c)
		}
	}
}

// TestLongRunsLinear checks that long runs of characters that several
// classes scan ahead over (an e-mail name, a domain, the first part of a
// hyphenated word) stay fast: 20,000 characters in well under a second,
// where a quadratic scan takes seconds.
func TestLongRunsLinear(t *testing.T) {
	for _, unit := range []string{"a,", "a@", "a&", "a.#", "a'", "a/", "\x02", "\xbf", "<!a", "e'a"} {
		s := strings.Repeat(unit, 20000/len(unit))
		start := time.Now()
		TokenizeString(s)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%q × %d took %v", unit, 20000/len(unit), d)
		}
	}
}

// TestTokensWithWhiteSpace checks the BLEU/CIDEr-D view of tokens that
// hold white space other than a space: Python's str.split() breaks them
// (a no-break space, a tab in an SGML attribute), ROUGE-L does not.
func TestTokensWithWhiteSpace(t *testing.T) {
	var tk tokenizer
	words, rouge := tk.captionViews("22 3/4 <a b='x\ty'>", true, nil, nil)
	str := func(spans []span) []string {
		var out []string
		for _, sp := range spans {
			out = append(out, string(tk.buf[sp.start:sp.end]))
		}
		return out
	}
	if got, want := strings.Join(str(words), "|"), "22|3/4|<a|b='x|y'>"; got != want {
		t.Errorf("words %q, want %q", got, want)
	}
	if got, want := strings.Join(str(rouge), "|"), "22\u00a03/4|<a\u00a0b='x\ty'>"; got != want {
		t.Errorf("rouge %q, want %q", got, want)
	}
}

// tokenizeBothWays returns caption's tokens with and without the ASCII
// fast path.
func tokenizeBothWays(caption string) (fast, lexer string) {
	var a, b tokenizer
	b.lexerOnly = true
	a.run(caption)
	b.run(caption)
	join := func(t *tokenizer) string {
		parts := make([]string, len(t.spans))
		for i, sp := range t.spans {
			parts[i] = string(t.buf[sp.start:sp.end])
		}
		return strings.Join(parts, " ")
	}
	return join(&a), join(&b)
}

// TestFastPathAgrees checks that the fast path for plain words gives what
// the lexer alone gives, on the conformance captions and on every word of
// the lexer's lists followed by each punctuation the fast path takes.
func TestFastPathAgrees(t *testing.T) {
	var inputs []string
	for w := range abbrevs {
		for _, form := range []string{w, strings.ToUpper(w[:1]) + w[1:], strings.ToUpper(w)} {
			for _, tail := range []string{"", " ", ".", ". ", ". 5", ". Ltd", ", x", ": x", "; x", "\tx"} {
				inputs = append(inputs, form+tail, "a "+form+tail+" b")
			}
		}
	}
	for _, w := range []string{"cannot", "gonna", "Gotta", "WANNA", "lemme", "gimme", "pty", "PTE", "co", "c", "f", "x", "www", "http", "no", "Fig", "a", "I", "A"} {
		for _, tail := range []string{"", " ", ".", ". ", ". 5", ". Ltd", ". The", ", x", ":", ";"} {
			inputs = append(inputs, w+tail, "the "+w+tail+" end")
		}
	}
	for _, c := range ptbCasesIfPresent(t) {
		inputs = append(inputs, c.Raw)
	}
	if _, err := os.Stat(filepath.Join(sharedtest.Root(), "testdata", "caption-metrics")); err == nil {
		for _, raw := range loadLOO(t).raw {
			inputs = append(inputs, raw...)
		}
	}
	for _, in := range inputs {
		if fast, lexer := tokenizeBothWays(in); fast != lexer {
			t.Errorf("%q: fast path %q, lexer %q", in, fast, lexer)
		}
	}
}
