// Package textmetrics computes the classic caption metrics exactly as
// pycocoevalcap (the coco-caption evaluation code) does: the PTB-style
// tokenizer with coco-caption's punctuation removal, BLEU-1..4, ROUGE-L and
// CIDEr-D, with corpus means summed the way numpy sums them.
//
// It is a pure package: no I/O, no global state. Tokens are interned to
// integers and n-grams to dense integer ids once per reference set, so that
// scoring many hypothesis sets against the same references (one per
// captioning model) costs little more than the arithmetic itself. Results do
// not depend on the number of workers: every floating-point sum is done in a
// fixed order.
package textmetrics
