package textmetrics

import "unicode/utf8"

// pycocoevalcap's scorers see a caption as one string of space-joined
// tokens, and they split it two ways: BLEU and CIDEr-D with Python's
// str.split() (runs of any Unicode white space, empty pieces dropped),
// ROUGE-L with str.split(" ") (every single space, empty pieces kept, so an
// empty caption is one empty token). The two views differ only on unusual
// input, such as the no-break space inside "22 3/4", which BLEU counts as two
// words and ROUGE-L as one. captionViews computes both as spans.

// isPyWhitespace reports the characters Python's str.split() splits on.
func isPyWhitespace(r rune) bool {
	switch {
	case r == ' ' || r >= '\t' && r <= '\r' || r >= 0x1c && r <= 0x1f:
		return true
	case r < 0x85:
		return false
	}
	switch r {
	case 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// appendPySplit appends the spans of buf[sp] split as Python's str.split().
func appendPySplit(dst []span, buf []byte, sp span) []span {
	start := -1
	for i := int(sp.start); i < int(sp.end); {
		r, n := rune(buf[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRune(buf[i:sp.end])
		}
		if isPyWhitespace(r) {
			if start >= 0 {
				dst = append(dst, span{int32(start), int32(i)})
				start = -1
			}
		} else if start < 0 {
			start = i
		}
		i += n
	}
	if start >= 0 {
		dst = append(dst, span{int32(start), sp.end})
	}
	return dst
}

// appendSpaceSplit appends the spans of buf[sp] split as Python's
// str.split(" ").
func appendSpaceSplit(dst []span, buf []byte, sp span) []span {
	start := sp.start
	for i := sp.start; i < sp.end; i++ {
		if buf[i] == ' ' {
			dst = append(dst, span{start, i})
			start = i + 1
		}
	}
	return append(dst, span{start, sp.end})
}

// captionViews splits one caption into its word view (BLEU, CIDEr-D) and
// its ROUGE-L view. With tokenize, text is raw and goes through Tokenize's
// rules first; otherwise it is already tokenized and space-joined. The
// spans point into t.buf, which captionViews extends.
func (t *tokenizer) captionViews(text string, tokenize bool, words, rouge []span) ([]span, []span) {
	if !tokenize {
		start := len(t.buf)
		t.buf = append(t.buf, text...)
		whole := span{int32(start), int32(len(t.buf))}
		return appendPySplit(words, t.buf, whole), appendSpaceSplit(rouge, t.buf, whole)
	}
	first := len(t.spans)
	t.run(text)
	toks := t.spans[first:]
	if len(toks) == 0 {
		// "".split(" ") is [""]: ROUGE-L sees one empty token.
		n := int32(len(t.buf))
		return words, append(rouge, span{n, n})
	}
	for _, sp := range toks {
		rouge = append(rouge, sp)
		// Tokens never hold a space, but a no-break space (a fraction, a
		// phone number, a tag), a tab (inside a tag's quoted value) or a
		// control character (inside a URL) splits for Python; printable
		// ASCII never does.
		plain := true
		for _, c := range t.buf[sp.start:sp.end] {
			if c >= utf8.RuneSelf || c < ' ' {
				plain = false
				break
			}
		}
		if plain {
			words = append(words, sp)
		} else {
			words = appendPySplit(words, t.buf, sp)
		}
	}
	t.spans = t.spans[:first]
	return words, rouge
}
