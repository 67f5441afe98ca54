package textmetrics

import (
	"strings"
	"testing"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"only punctuation", " ... , ; : ! ? -- - ' \" ` ", ""},
		{"lower-cased, final period dropped", "A Man riding a Horse.", "a man riding a horse"},
		{"possessive clitic", "The man's hat", "the man 's hat"},
		{"n't", "I don't know, it can't be", "i do n't know it ca n't be"},
		{"other clitics", "They'll say you're sure I'm here, we've seen he'd go", "they 'll say you 're sure i 'm here we 've seen he 'd go"},
		{"upper-case clitic", "THERE'S A CAT", "there 's a cat"},
		{"curly apostrophe", "it\u2019s a dog\u2019s toy", "it 's a dog 's toy"},
		{"trailing apostrophe dropped", "the boys' room and skis'", "the boys room and skis"},
		{"quoted words", "a sign that says 'no parking' and \"stop.\"", "a sign that says no parking and stop"},
		{"apostrophe inside words", "hors d'oeuvre at Ho'ohu at five o'clock with O'Neil", "hors d'oeuvre at ho'ohu at five o'clock with o'neil"},
		{"treebank splits", "I cannot, gonna go", "i can not gon na go"},
		{"hyphenated words", "a black-and-white close-up of a t-shirt", "a black-and-white close-up of a t-shirt"},
		{"hyphens alone dropped", "a dog - a cat -- a bird", "a dog a cat a bird"},
		{"slashes", "a table/desk and/or 50/50 to an elephant/", "a table/desk and/or 50/50 to an elephant /"},
		{"numbers", "1,000 people at 5:54pm on 11.01.2009 or 10.14", "1,000 people at 5:54 pm on 11.01.2009 or 10.14"},
		{"fraction with a space", "22 3/4 street", "22\u00a03/4 street"},
		{"period between words kept", "the sidewalk.outside a river.A", "the sidewalk.outside a river.a"},
		{"acronyms", "a t.v. and the U.S.A flag near a D.V.D player", "a t.v. and the u.s.a flag near a d.v.d player"},
		{"abbreviations keep their period", "Main St. and 8th ave. near Sunset Blvd.", "main st. and 8th ave. near sunset blvd."},
		{"initial before a space", "W. Centre st and S.", "w. centre st and s"},
		{"pronoun I is not an initial", "a person I. A hood", "a person i a hood"},
		{"common word is no abbreviation", "a car wash. some art.", "a car wash some art"},
		{"capitalized state", "Seattle, Wash. in KY.", "seattle wash. in ky."},
		{"brackets survive", "a man (left) [sic] {x}", "a man -lrb- left -rrb- -lsb- sic -rsb- -lcb- x -rcb-"},
		{"symbols are tokens", "#41 bus, 50% off, $5 & more", "# 41 bus 50 % off $ 5 & more"},
		{"capitals with ampersand", "an AT&T store", "an at&t store"},
		{"question and exclamation", "what is this? wow! really?!", "what is this wow really ?!"},
		{"internal semicolon", "it;s a p;ayer", "it s a p ayer"},
		{"newlines are spaces", "a cat\non a mat\n", "a cat on a mat"},
		{"unicode letters", "a caf\u00e9 in M\u00dcNCHEN", "a caf\u00e9 in m\u00fcnchen"},
		{"tags are one token", "a <UNK> on a </s> < 5 x>", "a <unk> on a </s> < 5 x >"},
		{"dashes and ellipsis", "a dog\u2014a cat\u2026 \u201cyes\u201d", "a dog a cat yes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TokenizeString(tt.in); got != tt.want {
				t.Errorf("TokenizeString(%q) = %q, want %q", tt.in, got, tt.want)
			}
			want := strings.Fields(strings.ReplaceAll(tt.want, "\u00a0", "_"))
			got := Tokenize(tt.in)
			if len(got) != len(want) {
				t.Fatalf("Tokenize(%q) = %q: %d tokens, want %d", tt.in, got, len(got), len(want))
			}
		})
	}
}
