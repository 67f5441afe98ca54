// Package autoeval runs the automatic evaluation of campaigns: background
// jobs, claimed from the database by a pool of workers, that compute the text
// metrics (BLEU, ROUGE-L, CIDEr-D, through autoeval/textmetrics) and, when a
// CLIP model is configured, CLIPScore and RefCLIPScore (autoeval/clip) for
// every caption, and the corpus scores of every captioner. Scores are written
// per captioner (text) or per batch of captions (CLIP) in their own
// transaction, so a job that is resumed after a crash or a restart skips
// what is stored already.
package autoeval

import "errors"

// Sentinel errors of the package; test with errors.Is. The HTTP layer maps
// them to status codes.
var (
	// ErrInvalid: the request is wrong (an unknown job kind…); nothing was
	// changed.
	ErrInvalid = errors.New("autoeval: invalid input")
	// ErrNotFound: the campaign or job does not exist.
	ErrNotFound = errors.New("autoeval: not found")
	// ErrConflict: the request clashes with the state (a job of that kind
	// is queued or running already; the job has ended).
	ErrConflict = errors.New("autoeval: conflict")
	// ErrUnavailable: CLIP metrics were asked for but no CLIP model is
	// configured.
	ErrUnavailable = errors.New("autoeval: unavailable")
)

// errLost is the cause of a job context cancelled because the job is no
// longer ours (cancelled by a lead, or taken over by another worker); it
// never leaves the package.
var errLost = errors.New("autoeval: job lost")

// CLIPUnavailableMessage tells a lead why CLIPScore is missing and how to
// get it; the API, the UI and the CLI show it instead of a number.
const CLIPUnavailableMessage = "CLIPScore is unavailable: no CLIP model is configured. " +
	"Download one with `capeval models pull`, then set CAPEVAL_CLIP_MODEL to its folder " +
	"(and CAPEVAL_ONNXRUNTIME_LIB to libonnxruntime.so, which `make onnxruntime` provisions) and restart."
