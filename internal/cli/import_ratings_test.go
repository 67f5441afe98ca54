package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// TestImportRatingsCommand: a published-dataset style import (no image
// files, references, a "human" captioner and averaged judgments) through
// the command line, with the leak warning computed by the metrics' own
// tokenizer: "don't" and "do n't" are one text to it, not to a plain split
// on non-letters.
func TestImportRatingsCommand(t *testing.T) {
	setEnv(t)
	in := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(in, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	refs := file("refs.jsonl", "{\"image_id\": 10, \"caption\": \"i do n't see a dog\"}\n{\"image_id\": 11, \"caption\": \"a cat on a mat\"}\n")
	human := "human=" + file("human.jsonl", "{\"image_id\": 10, \"caption\": \"I don't see a dog.\"}\n{\"image_id\": 11, \"caption\": \"a cat\"}\n")
	ratings := file("expert.csv", "image_id,captioner,annotator,overall\n10,human,e1,4\n10,human,e2,3.5\n11,human,e1,2\n")
	bad := file("bad.jsonl", "{\"image_id\": 11, \"captioner\": \"human\", \"ratings\": {\"overall\": 6}}\n")
	runCases(t, []cliCase{
		{"help names the flags", "", []string{"import", "-h"}, 0, []string{"--ratings FILE", "--without-images", "after the metrics' tokenization"}},
		{"ratings with their campaign", "", []string{"import", "--campaign", "Expert", "--without-images", "--references", refs, "--results", human, "--ratings", ratings}, 0,
			[]string{`campaign "Expert" (id 1, likert, created)`, "images           2 added", "ratings          3 added       0 unchanged  of 2 captions by 2 annotators (0 records without one)",
				"images without a file: 2",
				"warning: captioner human: 1 captions are word for word one of their image's references after the metrics' tokenization (images 10)"}},
		{"again", "", []string{"import", "--campaign", "Expert", "--ratings", ratings, "--format", "json"}, 0,
			[]string{`"ratings": {`, `"unchanged": 3`, `"unchanged": true`}},
		{"out of range", "", []string{"import", "--campaign", "Expert", "--ratings", bad}, 1,
			[]string{"bad.jsonl: line 1: ratings.overall: 6 is outside the criterion's scale 1–5"}},
	})
}
