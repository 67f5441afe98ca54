package annotation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Rubric is what annotators judge in a campaign: one or more criteria, each
// on a 1–5 scale with a label per point. In a Likert campaign annotators
// give every criterion a score; in a pairwise campaign the criteria's names
// and descriptions are the questions the A/B choice answers. Its JSON form
// is the campaigns.rubric column:
//
//	{"criteria":[{"key":"precision","name":"Precision","description":"…",
//	  "scale":{"min":1,"max":5,"labels":["…","…","…","…","…"]}}, …]}
type Rubric struct {
	Criteria []Criterion `json:"criteria"`
}

// Criterion is one question of a rubric. Key identifies it in ratings
// (answers are keyed by it), so it cannot change once tasks exist.
type Criterion struct {
	Key         string `json:"key"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Scale       Scale  `json:"scale"`
}

// Scale is a criterion's rating scale: the integers Min..Max, Labels[i]
// naming the point Min+i. Today every scale is 1–5; the bounds are stored
// so that readers (the rating UI, agreement, exports) need not assume it.
type Scale struct {
	Min    int      `json:"min"`
	Max    int      `json:"max"`
	Labels []string `json:"labels"`
}

// Rubric limits.
const (
	ScaleMin          = 1
	ScaleMax          = 5
	MaxCriteria       = 12
	maxCriterionName  = 80
	maxCriterionDesc  = 2000
	maxScaleLabel     = 120
	maxRubricDocBytes = 64 << 10
)

var criterionKeyRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// DefaultRubric returns the rubric a new campaign gets unless it names one:
// the criteria of THumB (Kasai et al., 2022, "Transparent Human Benchmark"
// for image captioning): precision, recall and fluency, and an overall
// judgment. THumB scores fluency and conciseness as penalties; capeval asks
// for every criterion on the same 1–5 scale so that agreement statistics
// and blending treat them alike.
func DefaultRubric() Rubric {
	return Rubric{Criteria: []Criterion{
		{
			Key:  "precision",
			Name: "Precision",
			Description: "Is everything the caption says actually in the image? Judge only what is written: " +
				"every wrong object, attribute, count, relation or action lowers the score, however small; " +
				"a short caption can still be fully precise. Ignore what the caption leaves out (that is recall).",
			Scale: Scale{Min: 1, Max: 5, Labels: []string{
				"Mostly wrong: the main content does not match the image",
				"Several errors, or one error about the main subject",
				"One clear error about a secondary detail",
				"Essentially correct; at most a debatable detail",
				"Everything stated is correct",
			}},
		},
		{
			Key:  "recall",
			Name: "Recall",
			Description: "Does the caption cover what matters in the image? Think of what most people would " +
				"mention first: the main subjects, what they do, and the setting. Missing a salient element " +
				"lowers the score; background details nobody would mention do not. Ignore errors (that is precision).",
			Scale: Scale{Min: 1, Max: 5, Labels: []string{
				"Misses the main subject",
				"Names the main subject only, missing most of what matters",
				"Covers about half of what matters",
				"Covers the important content; misses a salient detail",
				"Covers everything a person would consider important",
			}},
		},
		{
			Key:  "fluency",
			Name: "Fluency",
			Description: "Is the caption well-formed, natural and concise English? Grammar mistakes, " +
				"repetition, broken or cut-off phrases and needless wordiness lower the score. Judge the " +
				"language only, not whether it matches the image.",
			Scale: Scale{Min: 1, Max: 5, Labels: []string{
				"Hard to understand",
				"Understandable, with serious errors or repetition",
				"Noticeable errors or awkward, wordy phrasing",
				"Minor slips only",
				"Fluent, natural and concise",
			}},
		},
		{
			Key:  "overall",
			Name: "Overall",
			Description: "How good is this caption for this image, all things considered? Weigh correctness " +
				"first, then coverage, then language, as you would if you had to publish it as alt text.",
			Scale: Scale{Min: 1, Max: 5, Labels: []string{
				"Unusable",
				"Poor",
				"Acceptable",
				"Good",
				"Excellent: as good as a careful human caption",
			}},
		},
	}}
}

// Keys returns the criterion keys in order.
func (r Rubric) Keys() []string {
	keys := make([]string, len(r.Criteria))
	for i, c := range r.Criteria {
		keys[i] = c.Key
	}
	return keys
}

// ParseRubric decodes and validates a rubric document. Unknown fields are
// refused (a typo would otherwise silently drop a setting); every problem is
// listed with its path, as in "criteria[1].scale.labels[4]".
func ParseRubric(doc []byte) (Rubric, error) {
	var r Rubric
	if len(doc) > maxRubricDocBytes {
		return r, &ValidationError{What: "rubric", Problems: []Problem{{Where: "rubric",
			Message: fmt.Sprintf("document is %d bytes, more than the limit of %d", len(doc), maxRubricDocBytes)}}}
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Rubric{}, &ValidationError{What: "rubric", Problems: []Problem{{Where: "rubric", Message: jsonProblem(err)}}}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Rubric{}, &ValidationError{What: "rubric", Problems: []Problem{{Where: "rubric",
			Message: "unexpected data after the rubric object"}}}
	}
	var ps Problems
	r.check("rubric", &ps)
	if err := ps.Err("rubric"); err != nil {
		return Rubric{}, err
	}
	return r, nil
}

// Validate checks r and lists every problem.
func (r Rubric) Validate() error {
	var ps Problems
	r.check("rubric", &ps)
	return ps.Err("rubric")
}

// check adds r's problems to ps, their paths under prefix.
func (r Rubric) check(prefix string, ps *Problems) {
	if len(r.Criteria) == 0 {
		ps.Add(prefix+".criteria", "a rubric needs at least one criterion")
	}
	if len(r.Criteria) > MaxCriteria {
		ps.Add(prefix+".criteria", "%d criteria, more than the limit of %d", len(r.Criteria), MaxCriteria)
	}
	seen := map[string]int{}
	for i, c := range r.Criteria {
		at := fmt.Sprintf("%s.criteria[%d]", prefix, i)
		switch {
		case !criterionKeyRe.MatchString(c.Key):
			ps.Add(at+".key", "key %q: want 1–32 characters of a-z, 0-9 and _, starting with a letter", c.Key)
		default:
			if j, dup := seen[c.Key]; dup {
				ps.Add(at+".key", "key %q is also the key of criteria[%d]", c.Key, j)
			}
			seen[c.Key] = i
		}
		checkText(ps, at+".name", c.Name, 1, maxCriterionName)
		checkText(ps, at+".description", c.Description, 0, maxCriterionDesc)
		if c.Scale.Min != ScaleMin || c.Scale.Max != ScaleMax {
			ps.Add(at+".scale", "scale %d–%d: every scale is %d–%d", c.Scale.Min, c.Scale.Max, ScaleMin, ScaleMax)
			continue
		}
		if want := c.Scale.Max - c.Scale.Min + 1; len(c.Scale.Labels) != want {
			ps.Add(at+".scale.labels", "%d labels, want %d: one per point %d..%d", len(c.Scale.Labels), want, c.Scale.Min, c.Scale.Max)
			continue
		}
		for j, l := range c.Scale.Labels {
			checkText(ps, fmt.Sprintf("%s.scale.labels[%d]", at, j), l, 1, maxScaleLabel)
		}
	}
}

// checkText checks a one-line or free text: valid UTF-8, no surrounding
// spaces worth keeping, between lo and hi characters.
func checkText(ps *Problems, where, s string, lo, hi int) {
	if !utf8.ValidString(s) {
		ps.Add(where, "not valid UTF-8")
		return
	}
	n := utf8.RuneCountInString(strings.TrimSpace(s))
	switch {
	case n < lo && lo == 1:
		ps.Add(where, "must not be empty")
	case n < lo:
		ps.Add(where, "%d characters, want at least %d", n, lo)
	case n > hi:
		ps.Add(where, "%d characters, more than the limit of %d", n, hi)
	}
}

// jsonProblem describes a decoding error of a JSON document in words.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return "empty document"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON: the document ends in the middle of a value"
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Sprintf("got a JSON %s, want %s", typ.Value, typ.Type)
		}
		return fmt.Sprintf("field %q: got a JSON %s, want %s", typ.Field, typ.Value, typ.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "malformed JSON: " + err.Error()
}
