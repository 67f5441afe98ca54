package captionfile

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"capeval/internal/sharedtest"
)

// readAll reads content as a file called name and returns its records.
func readAll(name, content string, opts Options) ([]Record, error) {
	var recs []Record
	err := Read(strings.NewReader(content), name, opts, func(r Record) error {
		recs = append(recs, r)
		return nil
	})
	return recs, err
}

func TestRead(t *testing.T) {
	tests := []struct {
		name, file, content string
		want                []Record
	}{
		{
			name: "results with number and string ids",
			file: "r.json",
			content: `[{"image_id": 397133, "caption": "a man"},
 {"image_id": "42", "caption": "a dog", "score": 0.5}, {"image_id": 1e3, "caption": ""}]`,
			want: []Record{{"397133", "a man", 0, 1}, {"42", "a dog", 0, 44}, {"1000", "", 0, 98}},
		},
		{
			name: "annotations, other keys skipped",
			file: "a.json",
			content: `{"info": {"x": [1, 2]}, "images": [{"id": 1, "file_name": "1.jpg"}],
"annotations": [{"image_id": 1, "id": 9, "caption": "A cat."}], "licenses": []}`,
			want: []Record{{"1", "A cat.", 0, 85}},
		},
		{
			name:    "JSON Lines with blank lines",
			file:    "r.jsonl",
			content: "{\"image_id\": 7, \"caption\": \"x\"}\n\n{\"image_id\": \"8\", \"caption\": \"y\"}\n",
			want:    []Record{{"7", "x", 1, 0}, {"8", "y", 3, 0}},
		},
		{
			name:    "CSV with quoted multi-line caption and extra column",
			file:    "r.csv",
			content: "\ufeffmodel,Caption,image_id\nm,\"a, b\",5\nm,\"two\nlines\",6\n",
			want:    []Record{{"5", "a, b", 2, 0}, {"6", "two\nlines", 3, 0}},
		},
		{
			name:    "results detected without extension",
			file:    "results",
			content: ` [{"image_id": 1, "caption": "c"}]`,
			want:    []Record{{"1", "c", 0, 2}},
		},
		{
			name:    "one-line JSON Lines file without a final newline",
			file:    "r.json",
			content: `{"image_id": 1, "caption": "c"}`,
			want:    []Record{{"1", "c", 1, 0}},
		},
		{
			name:    "JSON Lines detected in a .json file",
			file:    "r.json",
			content: "{\"image_id\": 1, \"caption\": \"c\"}\n{\"image_id\": 2, \"caption\": \"d\"}\n",
			want:    []Record{{"1", "c", 1, 0}, {"2", "d", 2, 0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(tt.file, tt.content, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d records %+v, want %d", len(got), got, len(tt.want))
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("record %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name, file, content string
		wantErr             error
		wantMsg             string // substring of the message
	}{
		{"truncated JSON", "r.json", `[{"image_id": 1, "caption": "a"}, {"image_id": 2,`, ErrSyntax, "r.json: byte "},
		{"bad JSON character", "r.json", `[{"image_id": 1, "caption": "a"} x]`, ErrSyntax, "r.json: byte 33"},
		{"missing caption", "r.json", `[{"image_id": 1, "caption": "a"}, {"image_id": 2}]`, ErrMissingField, `r.json: byte 34: field "caption": missing field`},
		{"null image id", "r.json", `[{"image_id": null, "caption": "a"}]`, ErrMissingField, `byte 1: field "image_id"`},
		{"image id of the wrong type", "r.json", `[{"image_id": true, "caption": "a"}]`, ErrBadField, `field "image_id": invalid field: want a number or a string, got true`},
		{"caption of the wrong type", "r.json", `[{"image_id": 1, "caption": 5}]`, ErrBadField, `field "caption"`},
		{"not an array", "r.json", `"x"`, ErrSyntax, "want a results array"},
		{"data after the array", "r.json", `[] []`, ErrSyntax, "data after the end"},
		{"annotations without annotations", "a.json", `{"images": []}`, ErrMissingField, `field "annotations"`},
		{"JSON Lines bad line", "r.jsonl", "{\"image_id\": 1, \"caption\": \"a\"}\n{oops}\n", ErrSyntax, "r.jsonl: line 2"},
		{"JSON Lines missing id", "r.jsonl", "{\"caption\": \"a\"}\n", ErrMissingField, `line 1: field "image_id"`},
		{"CSV without caption column", "r.csv", "image_id,text\n1,a\n", ErrMissingField, `line 1: field "caption"`},
		{"CSV empty id", "r.csv", "image_id,caption\n1,a\n,b\n", ErrMissingField, `r.csv: line 3: field "image_id"`},
		{"CSV short row", "r.csv", "image_id,caption\n1\n", ErrSyntax, "r.csv: line 2"},
		{"empty file", "r", "  \n", ErrFormat, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readAll(tt.file, tt.content, Options{})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			var fe *Error
			if !errors.As(err, &fe) {
				t.Errorf("error %T is not a *captionfile.Error", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestCallbackErrorStopsRead(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := Read(strings.NewReader(`[{"image_id":1,"caption":"a"},{"image_id":2,"caption":"b"}]`), "r.json", Options{}, func(Record) error {
		n++
		return stop
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("err %v after %d records, want stop after 1", err, n)
	}
}

func TestReadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.jsonl")
	if err := os.WriteFile(path, []byte("{\"image_id\": 3, \"caption\": \"z\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var got []Record
	if err := ReadFile(path, Options{}, func(r Record) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ImageID != "3" || got[0].Pos() != "line 1" {
		t.Errorf("got %+v", got)
	}
	if err := ReadFile(filepath.Join(t.TempDir(), "missing.json"), Options{}, func(Record) error { return nil }); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestCOCOFiles reads the real COCO val2017 annotations and the
// coco-caption demo results.
func TestCOCOFiles(t *testing.T) {
	ann := sharedtest.Path(t, "data", "coco-caption", "captions_val2017.json")
	res := sharedtest.Path(t, "data", "coco-caption", "captions_val2014_fakecap_results.json")
	images, captions := 0, 0
	first := Record{}
	err := ReadFile(ann, Options{OnImage: func(Image) error { images++; return nil }}, func(r Record) error {
		if captions == 0 {
			first = r
		}
		captions++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if images != 5000 || captions != 25014 {
		t.Errorf("%d images, %d captions; want 5000 and 25014", images, captions)
	}
	if first.ImageID == "" || first.Caption == "" {
		t.Errorf("first record %+v", first)
	}
	results := 0
	if err := ReadFile(res, Options{}, func(r Record) error { results++; return nil }); err != nil {
		t.Fatal(err)
	}
	if results != 1000 {
		t.Errorf("%d results, want 1000", results)
	}
}

func TestOnInvalidCollectsBadRecords(t *testing.T) {
	tests := []struct {
		name, file, content string
		wantGood            int
		wantBad             []string // positions
	}{
		{"results", "r.json", `[{"image_id": 1}, {"image_id": 2, "caption": "b"}, {"caption": "c"}]`, 1, []string{"byte 1", "byte 51"}},
		{"JSON Lines", "r.jsonl", "{\"image_id\": 1}\n{\"image_id\": 2, \"caption\": \"b\"}\n{\"image_id\": [], \"caption\": \"c\"}\n", 1, []string{"line 1", "line 3"}},
		{"CSV", "r.csv", "image_id,caption\n,a\n2,b\n", 1, []string{"line 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var bad []string
			opts := Options{OnInvalid: func(e *Error) error {
				if e.Line > 0 {
					bad = append(bad, "line "+strconv.Itoa(e.Line))
				} else {
					bad = append(bad, "byte "+strconv.FormatInt(e.Offset, 10))
				}
				return nil
			}}
			good, err := readAll(tt.file, tt.content, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(good) != tt.wantGood || strings.Join(bad, ",") != strings.Join(tt.wantBad, ",") {
				t.Errorf("%d good, bad at %v; want %d good, bad at %v", len(good), bad, tt.wantGood, tt.wantBad)
			}
		})
	}
}
