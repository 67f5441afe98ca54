package annotation

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestDefaultRubric(t *testing.T) {
	r := DefaultRubric()
	if err := r.Validate(); err != nil {
		t.Fatalf("DefaultRubric is invalid: %v", err)
	}
	if got, want := r.Keys(), []string{"precision", "recall", "fluency", "overall"}; !slices.Equal(got, want) {
		t.Errorf("keys = %v, want %v", got, want)
	}
	// Its JSON form parses back to itself.
	doc, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseRubric(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(back.Criteria, r.Criteria, func(a, b Criterion) bool {
		return a.Key == b.Key && a.Name == b.Name && a.Description == b.Description && slices.Equal(a.Scale.Labels, b.Scale.Labels)
	}) {
		t.Errorf("round trip changed the rubric")
	}
}

// criterion returns a valid criterion document with key k; edit patches it.
func criterion(k string) map[string]any {
	return map[string]any{"key": k, "name": "Name " + k, "description": "d",
		"scale": map[string]any{"min": 1, "max": 5, "labels": []string{"a", "b", "c", "d", "e"}}}
}

func rubricDoc(t *testing.T, criteria ...map[string]any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"criteria": criteria})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseRubric(t *testing.T) {
	with := func(k string, edit func(c map[string]any)) map[string]any {
		c := criterion(k)
		edit(c)
		return c
	}
	many := make([]map[string]any, MaxCriteria+1)
	for i := range many {
		many[i] = criterion("c" + string(rune('a'+i)))
	}
	tests := []struct {
		name      string
		doc       string
		wantWhere []string // the problems' Where, in order; nil: valid
		wantMsg   string   // a substring of the error
	}{
		{name: "one criterion", doc: rubricDoc(t, criterion("overall"))},
		{name: "two criteria", doc: rubricDoc(t, criterion("a"), criterion("b_2"))},
		{name: "empty", doc: ``, wantWhere: []string{"rubric"}, wantMsg: "empty document"},
		{name: "malformed", doc: `{"criteria": [`, wantWhere: []string{"rubric"}, wantMsg: "ends in the middle"},
		{name: "not an object", doc: `[1]`, wantWhere: []string{"rubric"}, wantMsg: "got a JSON array"},
		{name: "trailing data", doc: rubricDoc(t, criterion("a")) + ` {}`, wantWhere: []string{"rubric"}, wantMsg: "unexpected data"},
		{name: "unknown field", doc: `{"criteria":[],"title":"x"}`, wantWhere: []string{"rubric"}, wantMsg: `unknown field "title"`},
		{name: "unknown criterion field", doc: `{"criteria":[{"key":"a","weight":2}]}`, wantWhere: []string{"rubric"}, wantMsg: `unknown field "weight"`},
		{name: "no criteria", doc: `{"criteria":[]}`, wantWhere: []string{"rubric.criteria"}, wantMsg: "at least one criterion"},
		{name: "too many criteria", doc: rubricDoc(t, many...), wantWhere: []string{"rubric.criteria"}, wantMsg: "more than the limit of 12"},
		{
			name: "every problem of every criterion",
			doc: rubricDoc(t,
				with("Bad-Key", func(c map[string]any) { c["name"] = " " }),
				criterion("dup"),
				with("dup", func(c map[string]any) { c["scale"] = map[string]any{"min": 0, "max": 10} }),
				with("short", func(c map[string]any) {
					c["scale"] = map[string]any{"min": 1, "max": 5, "labels": []string{"a", "b"}}
				}),
				with("blank", func(c map[string]any) {
					c["scale"] = map[string]any{"min": 1, "max": 5, "labels": []string{"a", "b", "", "d", "e"}}
					c["description"] = strings.Repeat("x", 2001)
				}),
			),
			wantWhere: []string{
				"rubric.criteria[0].key", "rubric.criteria[0].name",
				"rubric.criteria[2].key", "rubric.criteria[2].scale",
				"rubric.criteria[3].scale.labels",
				"rubric.criteria[4].description", "rubric.criteria[4].scale.labels[2]",
			},
			wantMsg: "7 problems",
		},
		{name: "too large", doc: `{"criteria":[],"x":"` + strings.Repeat("x", 70000) + `"}`, wantWhere: []string{"rubric"}, wantMsg: "more than the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRubric([]byte(tt.doc))
			if tt.wantWhere == nil {
				if err != nil {
					t.Fatalf("ParseRubric = %v", err)
				}
				if len(r.Criteria) == 0 {
					t.Fatal("no criteria parsed")
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseRubric = %v, want a *ValidationError", err)
			}
			var where []string
			for _, p := range ve.Problems {
				where = append(where, p.Where)
			}
			if !slices.Equal(where, tt.wantWhere) {
				t.Errorf("problems at %v, want %v\n%v", where, tt.wantWhere, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestProblemsLimit(t *testing.T) {
	var ps Problems
	if ps.Err("x") != nil {
		t.Fatal("no problems must be no error")
	}
	for i := range 25 {
		ps.Add("f", "problem %d", i)
	}
	err := ps.Err("file.csv")
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatal(err)
	}
	if len(ve.Problems) != MaxProblems || ve.More != 5 || ps.Len() != 25 {
		t.Errorf("problems %d, more %d; want %d and 5", len(ve.Problems), ve.More, MaxProblems)
	}
	msg := err.Error()
	for _, want := range []string{"invalid file.csv: 25 problems", "f: problem 0", "f: problem 19", "… and 5 more"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "problem 20") {
		t.Errorf("message lists more than %d problems: %q", MaxProblems, msg)
	}
}

// FuzzParseRubric: any input either parses to a rubric that validates and
// survives a JSON round trip, or is refused with a *ValidationError; never
// a panic.
func FuzzParseRubric(f *testing.F) {
	def, _ := json.Marshal(DefaultRubric())
	f.Add(def)
	f.Add([]byte(`{"criteria":[{"key":"a","name":"A","description":"","scale":{"min":1,"max":5,"labels":["1","2","3","4","5"]}}]}`))
	f.Add([]byte(`{"criteria":[{"key":"a"},{"key":"a"}]}`))
	f.Add([]byte(`{"criteria":null}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"criteria":[{"key":"\u00e9","name":"\xff"}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		r, err := ParseRubric(doc)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("ParseRubric(%q) = %v, not a *ValidationError with problems", doc, err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("accepted rubric does not validate: %v", err)
		}
		again, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseRubric(again)
		if err != nil {
			t.Fatalf("accepted rubric does not parse back: %v\n%s", err, again)
		}
		if !slices.Equal(back.Keys(), r.Keys()) {
			t.Fatalf("round trip changed the keys: %v → %v", r.Keys(), back.Keys())
		}
	})
}
