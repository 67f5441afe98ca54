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
// only. METEOR and SPICE (Java tools in pycocoevalcap) are not provided. The
// tokenizer's rules for text unlike COCO captions (rare abbreviations,
// "gonna", "<unk>") follow the Penn Treebank conventions and are best effort.
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
