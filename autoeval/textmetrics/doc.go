// Package textmetrics computes the classic caption metrics exactly as
// pycocoevalcap (the coco-caption evaluation code) does: the PTB-style
// tokenizer with coco-caption's punctuation removal, BLEU-1..4, ROUGE-L and
// CIDEr-D, with corpus means summed the way numpy sums them.
//
// What "exactly" covers, checked on the 5,000 COCO val2017 images of
// ../shared/testdata/caption-metrics: the tokenizer reproduces all 25,014
// tokenized captions; ROUGE-L per image and corpus are bit-identical; BLEU
// and CIDEr-D agree within 1e-12 (Go's math.Pow, Exp and Log may differ from
// the C library's in the last bit). pycocoevalcap's quirks are kept: BLEU's
// tiny/small smoothing, closest reference length with ties to the shorter,
// ROUGE-L's separately maximized precision and recall, an empty caption
// being one empty token for ROUGE-L, CIDEr-D's length counted in bigrams and
// its document frequencies taken from the references of the evaluated images
// only. METEOR and SPICE (Java tools in pycocoevalcap) are not provided.
//
// The tokenizer is a Go rendering of the token classes of the PTB lexer
// (CoreNLP 3.4.1's PTBLexer) with JFlex's longest-match rule, followed by
// Java's lower-casing and coco-caption's punctuation removal, so that it
// also matches on text unlike COCO captions: numbers with units, prices,
// abbreviations, clitics, quotes, brackets, dashes, URLs, e-mail addresses,
// emoticons, SGML, emoji (deleted, as the lexer cannot read characters
// beyond U+FFFF) and other scripts. Besides COCO it reproduces the 3,100
// hard lines of ../shared/testdata/ptb-tokenizer.
//
// Each caption is tokenized on its own. The reference pipeline tokenizes a
// whole batch as one text, and in two cases a caption's tokens depend on
// the caption after it: a caption ending in a single letter and a period
// ("vitamin C.") keeps the period unless the next caption starts with a
// sentence-starting word such as "A" or "The", and one ending in an
// abbreviation of numbers ("no.", "fig.", "pp.") keeps its period only when
// the next caption starts with a digit. capeval assumes a next caption starting with "A ", the common
// case in COCO: "vitamin c", "no".
//
// Evaluator is the simple streaming API: Add items, then Compute.
// ReferenceSet tokenizes and indexes references once and scores many
// hypothesis sets (one per captioning model) against them.
//
// It is a pure package: no I/O, no global state. Tokens are interned to
// integers and n-grams to dense integer ids once per reference set, so that
// scoring costs little more than the arithmetic itself. Results do not
// depend on the number of workers: every floating-point sum is done in a
// fixed order.
package textmetrics
