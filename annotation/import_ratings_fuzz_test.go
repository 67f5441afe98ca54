package annotation

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzReadRatings reads any bytes as a ratings file in each format, as an
// import does: no panic; the only errors are I/O ones (a bad record or a
// broken file is a problem); every problem names the file and a line of
// it; every record passed on has an image id, a captioner name and at
// least one criterion, its values finite and sorted by unique key, and
// comes from a JSON line whose keys are exactly the record's fields; each
// non-blank line (JSON Lines) or data row (CSV) gives a record or a
// problem; and the records, written back in the same format, read back
// the same. The seeds are in testdata/fuzz/FuzzReadRatings (shaped after
// published judgment sets: expert ratings of Flickr8k captions, averaged
// crowd scores, a spreadsheet's CSV export) and below.
func FuzzReadRatings(f *testing.F) {
	for _, s := range []string{
		"{\"image_id\": 1, \"captioner\": \"blip@2\", \"annotator\": \"w1\", \"ratings\": {\"overall\": 4, \"precision\": 5}}\n" +
			"{\"image_id\": \"2\", \"captioner\": \"blip@2\", \"annotator\": 7, \"ratings\": {\"overall\": 2, \"fluency\": null}}\n",
		"image_id,captioner,annotator,overall,fluency\n3,blip@2,w1,1,\n2,human,w1,5,4.5\n",
		"{\"image_id\": 1e2, \"captioner\": \"@\", \"ratings\": {\"overall\": 1e999}}\n{\"Image_ID\": 1}\n[1]\n",
		"image_id,captioner,overall,overall\n\"1,2\",\"x\"\"y\",NaN\n4,,\n\"unterminated\n",
		"\ufeffimage_id;captioner;overall\n1;a;2\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []ratingsFormat{ratingsJSONL, ratingsCSV} {
			name := map[ratingsFormat]string{ratingsJSONL: "r.jsonl", ratingsCSV: "r.csv"}[format]
			recs, ps := readAll(t, filepath.Join(dir, name), data, format)
			checkProblems(t, name, data, ps)
			lines := bytes.Split(data, []byte("\n"))
			for _, r := range recs {
				checkRecord(t, name, r, len(lines))
				if format == ratingsJSONL {
					checkJSONKeys(t, r, lines[r.line-1])
				}
			}
			if ps.more == 0 {
				checkCount(t, name, data, format, recs, ps)
			}
			if len(recs) == 0 {
				continue
			}
			back, bps := readAll(t, filepath.Join(dir, "back-"+name), writeBack(t, format, recs), format)
			if bps.Len() > 0 {
				t.Fatalf("%s: the records read, written back, have problems: %v", name, bps.list)
			}
			if len(back) != len(recs) {
				t.Fatalf("%s: %d records read back, want %d", name, len(back), len(recs))
			}
			for i := range recs {
				if !sameRecord(recs[i], back[i]) {
					t.Fatalf("%s: record %d reads back as %+v, was %+v", name, i, *back[i], *recs[i])
				}
			}
		}
	})
}

// readAll writes data to p and reads it as format; an error fails the
// test (the file is on disk and fn never fails).
func readAll(t *testing.T, p string, data []byte, format ratingsFormat) ([]*ratingRecord, *Problems) {
	t.Helper()
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	var ps Problems
	var recs []*ratingRecord
	err := readRatings(SourceFile{Path: p, Name: filepath.Base(p)}, format, &ps, func(r *ratingRecord) error {
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		t.Fatalf("%s: an error, not a problem: %v", filepath.Base(p), err)
	}
	return recs, &ps
}

var problemLine = regexp.MustCompile(`^r\.(jsonl|csv): line ([0-9]+)(: |$)`)

// checkProblems: every problem is "FILE: line N[: field]" with N a line of
// the file, and has a message.
func checkProblems(t *testing.T, name string, data []byte, ps *Problems) {
	t.Helper()
	lines := bytes.Split(data, []byte("\n"))
	n := len(lines)
	for _, p := range ps.list {
		if p.Where == name {
			continue // about the whole file (it is empty)
		}
		m := problemLine.FindStringSubmatch(p.Where)
		if m == nil || !strings.HasPrefix(p.Where, name) {
			t.Fatalf("%s: problem %q does not name the file and a line", name, p)
		}
		l, _ := strconv.Atoi(m[2])
		if l < 1 || l > n {
			t.Fatalf("%s: problem %q names line %d of a file of %d lines", name, p, l, n)
		}
		if len(bytes.TrimSpace(bytes.TrimPrefix(lines[l-1], []byte{0xef, 0xbb, 0xbf}))) == 0 {
			t.Fatalf("%s: problem %q names line %d, which is blank", name, p, l)
		}
		if p.Message == "" {
			t.Fatalf("%s: problem at %s without a message", name, p.Where)
		}
	}
}

func checkRecord(t *testing.T, name string, r *ratingRecord, lines int) {
	t.Helper()
	switch {
	case r.line < 1 || r.line > lines:
		t.Fatalf("%s: record on line %d of a file of %d lines", name, r.line, lines)
	case strings.TrimSpace(r.imageID) == "":
		t.Fatalf("%s: line %d: a record without image id", name, r.line)
	case r.name == "":
		t.Fatalf("%s: line %d: a record without captioner name", name, r.line)
	case len(r.values) == 0:
		t.Fatalf("%s: line %d: a record that rates nothing", name, r.line)
	}
	for i, v := range r.values {
		if math.IsNaN(v.value) || math.IsInf(v.value, 0) {
			t.Fatalf("%s: line %d: %s = %v accepted", name, r.line, v.key, v.value)
		}
		if i > 0 && r.values[i-1].key >= v.key {
			t.Fatalf("%s: line %d: criteria not sorted and unique: %+v", name, r.line, r.values)
		}
	}
}

// checkJSONKeys: an accepted JSON line has no field but the four, each
// once, spelled exactly (encoding/json matches struct fields ignoring
// case, "ratingſ" included), and no criterion twice in its ratings; the
// record has the values the line gives.
func checkJSONKeys(t *testing.T, r *ratingRecord, line []byte) {
	t.Helper()
	top := strictObject(t, r.line, bytes.TrimPrefix(line, []byte{0xef, 0xbb, 0xbf}))
	for k := range top {
		if !slices.Contains(ratingFieldNames, k) {
			t.Fatalf("line %d accepted with the field %q", r.line, k)
		}
	}
	vals := strictObject(t, r.line, top["ratings"])
	n := 0
	for k, raw := range vals {
		if string(raw) == "null" {
			continue
		}
		n++
		i := slices.IndexFunc(r.values, func(v ratingValue) bool { return v.key == k })
		if i < 0 {
			t.Fatalf("line %d: criterion %q not in the record %+v", r.line, k, r.values)
		}
		if v, err := strconv.ParseFloat(string(raw), 64); err != nil || v != r.values[i].value {
			t.Fatalf("line %d: criterion %q is %s, the record has %v", r.line, k, raw, r.values[i].value)
		}
	}
	if n != len(r.values) {
		t.Fatalf("line %d rates %d criteria, the record %d: %+v", r.line, n, len(r.values), r.values)
	}
}

// strictObject decodes a JSON object token by token, failing the test on
// a key given twice.
func strictObject(t *testing.T, line int, raw []byte) map[string]json.RawMessage {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("line %d accepted, %s is not a JSON object: %v", line, raw, err)
	}
	out := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("line %d accepted: %v", line, err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("line %d accepted: %v", line, err)
		}
		k := tok.(string)
		if _, dup := out[k]; dup {
			t.Fatalf("line %d accepted with %q given twice in %s", line, k, raw)
		}
		out[k] = bytes.TrimSpace(v)
	}
	return out
}

// checkCount: a JSON line that is not blank, or a CSV data row, gives one
// record or at least one problem on its line.
func checkCount(t *testing.T, name string, data []byte, format ratingsFormat, recs []*ratingRecord, ps *Problems) {
	t.Helper()
	got := map[int]bool{}
	for _, r := range recs {
		if got[r.line] {
			t.Fatalf("%s: two records from line %d", name, r.line)
		}
		got[r.line] = true
	}
	for _, p := range ps.list {
		if m := problemLine.FindStringSubmatch(p.Where); m != nil {
			l, _ := strconv.Atoi(m[2])
			got[l] = true
		}
	}
	var want []int
	switch format {
	case ratingsJSONL:
		for i, l := range bytes.Split(data, []byte("\n")) {
			if len(bytes.TrimSpace(bytes.TrimPrefix(l, []byte{0xef, 0xbb, 0xbf}))) > 0 {
				want = append(want, i+1)
			}
		}
	case ratingsCSV:
		cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte{0xef, 0xbb, 0xbf})))
		cr.FieldsPerRecord = -1
		// A row of one blank field is a line of spaces: blank.
		read := func() ([]string, error) {
			for {
				row, err := cr.Read()
				if err != nil || len(row) != 1 || strings.TrimSpace(row[0]) != "" {
					return row, err
				}
			}
		}
		if _, err := read(); err != nil {
			return // no header: one problem about it, checked above
		}
		if hl, _ := cr.FieldPos(0); len(recs) == 0 && hasLine(ps, hl) {
			return // a header without the columns: its problems, no rows read
		}
		for {
			if _, err := read(); err != nil {
				break // the end, or a syntax error: a problem ends the read
			}
			l, _ := cr.FieldPos(0)
			want = append(want, l)
		}
	}
	for _, l := range want {
		if !got[l] {
			t.Fatalf("%s: line %d gave neither a record nor a problem", name, l)
		}
	}
}

func hasLine(ps *Problems, line int) bool {
	for _, p := range ps.list {
		if m := problemLine.FindStringSubmatch(p.Where); m != nil && m[2] == strconv.Itoa(line) {
			return true
		}
	}
	return false
}

// writeBack writes records in format, as a user's tool would: JSON
// Lines with the values as JSON numbers, CSV with a column per criterion
// any record has and an empty cell for one it does not rate.
func writeBack(t *testing.T, format ratingsFormat, recs []*ratingRecord) []byte {
	t.Helper()
	var buf bytes.Buffer
	if format == ratingsJSONL {
		for _, r := range recs {
			vals := map[string]float64{}
			for _, v := range r.values {
				vals[v.key] = v.value
			}
			obj := map[string]any{"image_id": r.imageID, "captioner": r.captioner, "ratings": vals}
			if r.annotator != "" {
				obj["annotator"] = r.annotator
			}
			b, err := json.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			buf.Write(append(b, '\n'))
		}
		return buf.Bytes()
	}
	var keys []string
	for _, r := range recs {
		for _, v := range r.values {
			if !slices.Contains(keys, v.key) {
				keys = append(keys, v.key)
			}
		}
	}
	slices.Sort(keys)
	w := csv.NewWriter(&buf)
	w.Write(append([]string{colImageID, colCaptioner, colAnnotator}, keys...))
	for _, r := range recs {
		row := []string{r.imageID, r.captioner, r.annotator}
		for _, k := range keys {
			cell := ""
			if i := slices.IndexFunc(r.values, func(v ratingValue) bool { return v.key == k }); i >= 0 {
				cell = strconv.FormatFloat(r.values[i].value, 'g', -1, 64)
			}
			row = append(row, cell)
		}
		w.Write(row)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sameRecord compares two records but for their lines.
func sameRecord(a, b *ratingRecord) bool {
	return a.imageID == b.imageID && a.captioner == b.captioner && a.name == b.name && a.version == b.version &&
		a.annotator == b.annotator && slices.Equal(a.values, b.values)
}

// TestReadRatingsExact: inputs that fail FuzzReadRatings's properties on
// the reader as it was, kept with names (and in its corpus). A JSON
// line's fields are matched exactly and once (encoding/json alone would
// take "ratingſ" or a second "ratings" and merge their values), a
// criterion given twice is a problem rather than the last one winning,
// a CSV header after blank lines is named on its own line, and a CSV line
// of spaces is blank, as a JSON one is.
func TestReadRatingsExact(t *testing.T) {
	tests := []struct {
		name, file, content string
		want                []string // the problems, in order
		wantRecs            int      // a bad CSV header stops no row
	}{
		{"a field folding to ratings", "r.jsonl", `{"image_id": 1, "captioner": "a", "ratings": {"overall": 4}, "ratingſ": {"fluency": 1}}`,
			[]string{`r.jsonl: line 1: ratingſ: unknown field "ratingſ": a record has image_id, captioner, annotator (optional) and ratings`}, 0},
		{"a field in capitals", "r.jsonl", `{"image_id": 1, "CAPTIONER": "b", "captioner": "a", "ratings": {"overall": 4}}`,
			[]string{`r.jsonl: line 1: CAPTIONER: unknown field "CAPTIONER"`}, 0},
		{"ratings twice", "r.jsonl", `{"image_id": 1, "captioner": "a", "ratings": {"overall": 4}, "ratings": {"fluency": 1}}`,
			[]string{`r.jsonl: line 1: ratings: the field is given twice`}, 0},
		{"ratings twice, one escaped", "r.jsonl", `{"image_id": 1, "captioner": "a", "ratings": {"overall": 4}, "r\u0061tings": {"fluency": 1}}`,
			[]string{`r.jsonl: line 1: ratings: the field is given twice`}, 0},
		{"image id twice", "r.jsonl", `{"image_id": 1, "captioner": "a", "image_id": 2, "ratings": {"overall": 4}}`,
			[]string{`r.jsonl: line 1: image_id: the field is given twice`}, 0},
		{"a criterion twice", "r.jsonl", "\n" + `{"image_id": 1, "captioner": "a", "ratings": {"overall": 4, "overall": 2}}`,
			[]string{`r.jsonl: line 2: ratings.overall: the criterion is given twice`}, 0},
		{"a header after blank lines", "r.csv", "\n\nimage_id,captioner,overall,overall\n1,a,2,3\n",
			[]string{`r.csv: line 3: column 4: column "overall" is given twice`}, 1},
		{"a header without criteria after a blank line", "r.csv", "\nimage_id,captioner\n1,a\n",
			[]string{`r.csv: line 2: the header has no criterion column`}, 0},
		{"lines of spaces around the rows", "r.csv", "  \nimage_id,captioner,overall\n \t\n1,a,2\n   ",
			nil, 1},
		{"only spaces", "r.csv", " ", []string{`r.csv: the file is empty`}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), tt.file)
			format := ratingsJSONL
			if strings.HasSuffix(tt.file, ".csv") {
				format = ratingsCSV
			}
			recs, ps := readAll(t, p, []byte(tt.content), format)
			if len(recs) != tt.wantRecs {
				t.Errorf("%d records accepted, want %d", len(recs), tt.wantRecs)
			}
			if ps.Len() != len(tt.want) {
				t.Fatalf("problems %v, want %d", ps.list, len(tt.want))
			}
			for i, w := range tt.want {
				if got := ps.list[i].String(); !strings.HasPrefix(got, w) {
					t.Errorf("problem %q, want %q", got, w)
				}
			}
		})
	}
}
