package captionfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzRead reads any bytes as each format (and detected): no panic; a
// failure is an *Error or ErrFormat, never anything else; every accepted
// record has an image id; and the records accepted, written back as JSON
// Lines, read back the same (a read keeps what it accepted unchanged).
// The seeds are in testdata/fuzz/FuzzRead and below: one valid file of
// each format and a few broken ones.
func FuzzRead(f *testing.F) {
	for _, s := range []struct {
		name, content string
	}{
		{"r.json", `[{"image_id": 397133, "caption": "a man"}, {"image_id": "42", "caption": "a dog"}]`},
		{"a.json", `{"images": [{"id": 1, "file_name": "1.jpg", "width": 4, "height": 3}], "annotations": [{"image_id": 1, "caption": "A cat."}]}`},
		{"c.jsonl", "{\"image_id\": 1, \"caption\": \"one\"}\n{\"image_id\": \"b\", \"caption\": \"two\"}\n"},
		{"c.csv", "image_id,caption\n1,\"a, quoted caption\"\n2,plain\n"},
		{"c.csv", "caption,image_id\n\"unterminated,1\n"},
		{"r.json", `[{"image_id": 1e400, "caption": 3}]`},
		{"c.jsonl", "{\"image_id\": null}\n\xff\xfe\n"},
	} {
		f.Add(s.name, []byte(s.content))
	}
	formats := []Format{FormatAuto, FormatAnnotations, FormatResults, FormatJSONL, FormatCSV}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		for _, format := range formats {
			var got []Record
			err := Read(bytes.NewReader(data), name, Options{Format: format, OnImage: func(Image) error { return nil }},
				func(r Record) error { got = append(got, r); return nil })
			if err != nil {
				var e *Error
				if !errors.As(err, &e) && !errors.Is(err, ErrFormat) {
					t.Fatalf("%v: an error of another kind: %T %v", format, err, err)
				}
				continue
			}
			var out strings.Builder
			for _, r := range got {
				if r.ImageID == "" {
					t.Fatalf("%v: a record without image id accepted: %+v", format, r)
				}
				b, _ := json.Marshal(map[string]string{"image_id": r.ImageID, "caption": r.Caption})
				out.Write(append(b, '\n'))
			}
			var back []Record
			if err := Read(strings.NewReader(out.String()), "back.jsonl", Options{Format: FormatJSONL},
				func(r Record) error { back = append(back, r); return nil }); err != nil {
				t.Fatalf("%v: the accepted records do not read back: %v\n%s", format, err, out.String())
			}
			if len(back) != len(got) {
				t.Fatalf("%v: %d records read back, want %d", format, len(back), len(got))
			}
			for i := range got {
				if back[i].ImageID != got[i].ImageID || back[i].Caption != got[i].Caption {
					t.Fatalf("%v: record %d reads back as %+v, was %+v", format, i, back[i], got[i])
				}
			}
		}
	})
}
