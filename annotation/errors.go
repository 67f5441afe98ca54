// Package annotation is the human side of capeval: campaigns and their
// configuration (rubric, who may annotate, thresholds, blend weights) with an
// audit log, import of images, references and captioner outputs, the
// selection of what humans rate, the task queue and ratings.
package annotation

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors of the package. Service methods wrap them with context;
// test with errors.Is. The HTTP layer maps them to status codes.
var (
	// ErrInvalid: the input is wrong; nothing was changed. The error is
	// usually a *ValidationError that lists the problems.
	ErrInvalid = errors.New("annotation: invalid input")
	// ErrNotFound: the campaign (or other object) asked for does not exist.
	ErrNotFound = errors.New("annotation: not found")
	// ErrConflict: the change clashes with existing data (a duplicate
	// campaign name, a status that may not go back, a mode change once tasks
	// exist…).
	ErrConflict = errors.New("annotation: conflict")
)

// Internal sentinels: causes that the package turns into messages (or
// problems) itself, never returned to callers as they are.
var (
	// errChanged: content read a second time no longer has the hash it had
	// when it was checked.
	errChanged = errors.New("the content changed since it was checked")
	// errFileChanged: a file read by the import's second pass differs from
	// what the first pass checked.
	errFileChanged = errors.New("the file changed while it was imported")
	// errTooMany stops the walk of an image folder past MaxImageFiles.
	errTooMany = errors.New("too many files")
)

// MaxProblems is how many problems a ValidationError lists; the rest are
// only counted, so that a file with a million bad rows gives a readable
// message.
const MaxProblems = 20

// Problem is one thing wrong with an input. Where names it as precisely as
// possible: a field ("rubric.criteria[2].key"), or a file, line and field
// ("results.jsonl:17: caption").
type Problem struct {
	Where   string `json:"where"`
	Message string `json:"message"`
}

// String returns "where: message", or the message alone when Where is empty.
func (p Problem) String() string {
	if p.Where == "" {
		return p.Message
	}
	return p.Where + ": " + p.Message
}

// ValidationError lists the problems of an input (up to MaxProblems; More
// counts the others). It matches ErrInvalid with errors.Is.
type ValidationError struct {
	// What is the input that was checked: "campaign", "rubric", a file name.
	What     string
	Problems []Problem
	More     int
}

// Error lists the problems, one per line after the first.
func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid %s: ", e.What)
	if len(e.Problems) == 1 && e.More == 0 {
		b.WriteString(e.Problems[0].String())
		return b.String()
	}
	fmt.Fprintf(&b, "%d problems", len(e.Problems)+e.More)
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "\n  … and %d more", e.More)
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// Problems collects the problems of one input; the zero value is ready
// (What is set by Err).
type Problems struct {
	list []Problem
	more int
}

// Add records a problem at where; past MaxProblems it is only counted.
func (ps *Problems) Add(where, format string, args ...any) {
	if len(ps.list) >= MaxProblems {
		ps.more++
		return
	}
	ps.list = append(ps.list, Problem{Where: where, Message: fmt.Sprintf(format, args...)})
}

// Len returns how many problems were added.
func (ps *Problems) Len() int { return len(ps.list) + ps.more }

// Err returns nil when there is no problem, else a *ValidationError about
// what.
func (ps *Problems) Err(what string) error {
	if ps.Len() == 0 {
		return nil
	}
	return &ValidationError{What: what, Problems: append([]Problem(nil), ps.list...), More: ps.more}
}
