package annotation

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A ratings file holds human judgments collected elsewhere, one record per
// rating of one caption by one (possibly anonymous) annotator:
//
//   - JSON Lines: {"image_id": 397133, "captioner": "NAME[@VERSION]",
//     "annotator": "w17" (optional), "ratings": {"overall": 4.33, …}};
//   - CSV: a header with image_id, captioner and (optionally) annotator,
//     every other column a criterion key; an empty cell is a criterion not
//     rated.
//
// Values are numbers (published datasets carry averages, so real numbers
// are allowed); a criterion may be left out, but each record rates at
// least one. The reader checks the file's own shape; the criteria, their
// ranges, images and captioners are checked against the campaign by the
// import.

// ratingsFormat is a ratings file's format.
type ratingsFormat int

const (
	ratingsJSONL ratingsFormat = iota + 1
	ratingsCSV
)

// MaxAnnotatorID bounds an imported annotator id, in characters.
const MaxAnnotatorID = 200

// ratingValue is one criterion's value in a record.
type ratingValue struct {
	key   string
	value float64
}

// ratingRecord is one imported rating as read from its file.
type ratingRecord struct {
	line      int
	imageID   string
	captioner string // NAME@VERSION as written, trimmed
	name      string
	version   string
	annotator string
	values    []ratingValue // sorted by key
}

// who is the captioner as messages name it.
func (r *ratingRecord) who() string { return captionerName(r.name, r.version) }

// captionerName is NAME@VERSION, or NAME for the empty version.
func captionerName(name, version string) string {
	if version == "" {
		return name
	}
	return name + "@" + version
}

// detectRatings finds the format of a ratings file from its extension or,
// failing that, its first byte: '{' is JSON Lines, anything else CSV.
func detectRatings(f SourceFile, ps *Problems) (ratingsFormat, bool) {
	switch strings.ToLower(filepath.Ext(f.label())) {
	case ".jsonl", ".ndjson":
		return ratingsJSONL, true
	case ".csv":
		return ratingsCSV, true
	}
	file, err := os.Open(f.Path)
	if err != nil {
		ps.Add(f.label(), "cannot read the file: %v", unwrapPath(err))
		return 0, false
	}
	defer file.Close()
	br := bufio.NewReader(file)
	head, _ := br.Peek(4096)
	head = bytes.TrimLeft(bytes.TrimPrefix(head, []byte{0xef, 0xbb, 0xbf}), " \t\r\n")
	switch {
	case len(head) == 0:
		ps.Add(f.label(), "the ratings file is empty")
		return 0, false
	case head[0] == '[':
		ps.Add(f.label(), `a JSON array is not a ratings file: want JSON Lines ({"image_id", "captioner", "annotator", "ratings": {…}} per line) or CSV`)
		return 0, false
	case head[0] == '{':
		return ratingsJSONL, true
	}
	return ratingsCSV, true
}

// readRatings streams the records of a ratings file to fn in file order.
// Every problem of a record (a missing or malformed field) goes to ps with
// its line and field, and the record is not passed on; syntax errors that
// lose the thread of the file (a broken CSV quote) end the read with a
// problem. The error is for I/O failures and fn's own errors.
func readRatings(f SourceFile, format ratingsFormat, ps *Problems, fn func(*ratingRecord) error) error {
	file, err := os.Open(f.Path)
	if err != nil {
		return fmt.Errorf("annotation: %s: %w", f.label(), err)
	}
	defer file.Close()
	br := bufio.NewReaderSize(file, 64<<10)
	if head, err := br.Peek(3); err == nil && bytes.Equal(head, []byte{0xef, 0xbb, 0xbf}) {
		br.Discard(3)
	}
	if format == ratingsCSV {
		return readRatingsCSV(f.label(), br, ps, fn)
	}
	return readRatingsJSONL(f.label(), br, ps, fn)
}

func lineWhere(file string, line int, field string) string {
	w := fmt.Sprintf("%s: line %d", file, line)
	if field != "" {
		w += ": " + field
	}
	return w
}

// ratingFields are the fields of a JSON Lines record, raw so that each is
// checked with a message of its own.
type ratingFields struct {
	ImageID   json.RawMessage
	Captioner json.RawMessage
	Annotator json.RawMessage
	Ratings   json.RawMessage
}

var ratingFieldNames = []string{"image_id", "captioner", "annotator", "ratings"}

func readRatingsJSONL(name string, br *bufio.Reader, ps *Problems, fn func(*ratingRecord) error) error {
	line := 0
	for {
		text, err := br.ReadBytes('\n')
		if len(text) > 0 {
			line++
			if t := bytes.TrimSpace(text); len(t) > 0 {
				if rec := parseRatingLine(name, line, t, ps); rec != nil {
					if err := fn(rec); err != nil {
						return err
					}
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("annotation: %s: line %d: %w", name, line+1, err)
		}
	}
}

// jsonMember is one member of a JSON object, its key unescaped.
type jsonMember struct {
	key string
	raw json.RawMessage
}

// jsonObject reads a JSON object member by member, in order and with
// every member kept: decoding into a struct or a map would match keys
// ignoring case (even "ratingſ" matches Ratings) and keep only one of two
// members with the same key, merging or dropping what a record says.
func jsonObject(raw []byte) ([]jsonMember, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("want an object, got %s", abbrev(bytes.TrimSpace(raw)))
	}
	var out []jsonMember
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		m := jsonMember{key: tok.(string)} // the decoder gives only strings as keys
		if err := dec.Decode(&m.raw); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("more after the object (want one object per line)")
	}
	return out, nil
}

func parseRatingLine(name string, line int, t []byte, ps *Problems) *ratingRecord {
	members, err := jsonObject(t)
	if err != nil {
		ps.Add(lineWhere(name, line, ""), "malformed JSON: %v (want one object per line)", err)
		return nil
	}
	ok := true
	var f ratingFields
	for _, m := range members {
		var field *json.RawMessage
		switch m.key {
		case "image_id":
			field = &f.ImageID
		case "captioner":
			field = &f.Captioner
		case "annotator":
			field = &f.Annotator
		case "ratings":
			field = &f.Ratings
		default:
			ps.Add(lineWhere(name, line, m.key), "unknown field %q: a record has image_id, captioner, annotator (optional) and ratings", m.key)
			ok = false
			continue
		}
		if *field != nil {
			ps.Add(lineWhere(name, line, m.key), "the field is given twice")
			ok = false
			continue
		}
		*field = m.raw
	}
	rec := &ratingRecord{line: line}
	if rec.imageID, err = jsonID(f.ImageID, "image id"); err != nil {
		ps.Add(lineWhere(name, line, "image_id"), "%v", err)
		ok = false
	}
	var who string
	if rawNull(f.Captioner) {
		ps.Add(lineWhere(name, line, "captioner"), "missing: want the captioner's NAME or NAME@VERSION")
		ok = false
	} else if err := json.Unmarshal(f.Captioner, &who); err != nil {
		ps.Add(lineWhere(name, line, "captioner"), "want a string NAME or NAME@VERSION, got %s", abbrev(f.Captioner))
		ok = false
	} else if !setCaptioner(rec, who, lineWhere(name, line, "captioner"), ps) {
		ok = false
	}
	if !rawNull(f.Annotator) {
		if rec.annotator, err = jsonID(f.Annotator, "annotator"); err != nil {
			ps.Add(lineWhere(name, line, "annotator"), "%v", err)
			ok = false
		} else if !checkAnnotator(rec.annotator, lineWhere(name, line, "annotator"), ps) {
			ok = false
		}
	}
	if rawNull(f.Ratings) {
		ps.Add(lineWhere(name, line, "ratings"), `missing: want an object of criterion values, e.g. {"overall": 4}`)
		return nil
	}
	vals, err := jsonObject(f.Ratings)
	if err != nil {
		ps.Add(lineWhere(name, line, "ratings"), `want an object of criterion values, e.g. {"overall": 4}, got %s`, abbrev(f.Ratings))
		return nil
	}
	seen := make(map[string]bool, len(vals))
	for _, m := range vals {
		where := lineWhere(name, line, "ratings."+m.key)
		if seen[m.key] {
			ps.Add(where, "the criterion is given twice")
			ok = false
			continue
		}
		seen[m.key] = true
		if rawNull(m.raw) {
			continue // not rated on this criterion
		}
		v, err := jsonNumber(m.raw)
		if err != nil {
			ps.Add(where, "%v", err)
			ok = false
			continue
		}
		rec.values = append(rec.values, ratingValue{key: m.key, value: v})
	}
	if ok && len(rec.values) == 0 {
		ps.Add(lineWhere(name, line, "ratings"), "no criterion has a value: a record rates at least one")
		ok = false
	}
	if !ok {
		return nil
	}
	slices.SortFunc(rec.values, func(a, b ratingValue) int { return strings.Compare(a.key, b.key) })
	return rec
}

// setCaptioner splits NAME[@VERSION] into the record.
func setCaptioner(rec *ratingRecord, who, where string, ps *Problems) bool {
	rec.captioner = strings.TrimSpace(who)
	name, version, _ := strings.Cut(rec.captioner, "@")
	rec.name, rec.version = strings.TrimSpace(name), strings.TrimSpace(version)
	switch {
	case rec.name == "":
		ps.Add(where, "empty captioner name: want NAME or NAME@VERSION")
		return false
	case utf8.RuneCountInString(rec.name) > MaxCaptionerName || utf8.RuneCountInString(rec.version) > MaxCaptionerName:
		ps.Add(where, "captioner name and version are limited to %d characters", MaxCaptionerName)
		return false
	}
	return true
}

func checkAnnotator(a, where string, ps *Problems) bool {
	if utf8.RuneCountInString(a) > MaxAnnotatorID {
		ps.Add(where, "annotator ids are limited to %d characters", MaxAnnotatorID)
		return false
	}
	if !utf8.ValidString(a) || strings.ContainsAny(a, "\x00\n\r") {
		ps.Add(where, "annotator id %q has a control character or invalid UTF-8", a)
		return false
	}
	return true
}

func rawNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

func abbrev(raw []byte) string {
	const max = 40
	if len(raw) > max {
		return string(raw[:max]) + "…"
	}
	return string(raw)
}

// jsonID reads an id (image, annotator) given as a JSON string or number
// in the canonical form of the caption files: a JSON 397133 and "397133"
// are one id.
func jsonID(raw json.RawMessage, what string) (string, error) {
	if rawNull(raw) {
		return "", fmt.Errorf("missing: want the %s as a number or a string", what)
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("malformed %s: %v", what, err)
		}
		if strings.TrimSpace(s) == "" {
			return "", fmt.Errorf("empty %s", what)
		}
		return s, nil
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		text := string(raw)
		if i, err := strconv.ParseInt(text, 10, 64); err == nil {
			return strconv.FormatInt(i, 10), nil
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return "", fmt.Errorf("malformed %s %s", what, abbrev(raw))
		}
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return strconv.FormatInt(int64(f), 10), nil
		}
		return strconv.FormatFloat(f, 'g', -1, 64), nil
	}
	return "", fmt.Errorf("want the %s as a number or a string, got %s", what, abbrev(raw))
}

// jsonNumber reads a criterion value: a finite JSON number.
func jsonNumber(raw json.RawMessage) (float64, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || !(t[0] == '-' || t[0] >= '0' && t[0] <= '9') {
		return 0, fmt.Errorf("want a number, got %s", abbrev(t))
	}
	v, err := strconv.ParseFloat(string(t), 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("want a finite number, got %s", abbrev(t))
	}
	return v, nil
}

// ratingsCSVColumns are the columns that are not criteria.
const (
	colImageID   = "image_id"
	colCaptioner = "captioner"
	colAnnotator = "annotator"
)

func readRatingsCSV(name string, br *bufio.Reader, ps *Problems, fn func(*ratingRecord) error) error {
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1 // a short row is reported with its line, not as a syntax error
	header, err := readCSVRow(cr)
	if errors.Is(err, io.EOF) {
		ps.Add(name, "the file is empty; want a header with image_id, captioner, annotator and one column per criterion")
		return nil
	}
	if err != nil {
		return ratingsCSVError(name, err, ps)
	}
	// The header is the first line that is not blank: encoding/csv skips
	// empty lines.
	headerLine, _ := cr.FieldPos(0)
	hdr := fmt.Sprintf("%s: line %d", name, headerLine)
	idCol, capCol, annCol := -1, -1, -1
	type critCol struct {
		key string
		col int
	}
	var crits []critCol
	seen := map[string]bool{}
	for i, h := range header {
		key := strings.ToLower(strings.TrimSpace(h))
		where := fmt.Sprintf("%s: column %d", hdr, i+1)
		switch {
		case key == "":
			ps.Add(where, "empty column name: every column is image_id, captioner, annotator or a criterion key")
			continue
		case seen[key]:
			ps.Add(where, "column %q is given twice", key)
			continue
		}
		seen[key] = true
		switch key {
		case colImageID:
			idCol = i
		case colCaptioner:
			capCol = i
		case colAnnotator:
			annCol = i
		default:
			crits = append(crits, critCol{key, i})
		}
	}
	switch {
	case idCol < 0:
		ps.Add(hdr+": image_id", "the header has no image_id column")
	case capCol < 0:
		ps.Add(hdr+": captioner", "the header has no captioner column")
	case len(crits) == 0:
		ps.Add(hdr, "the header has no criterion column: after image_id, captioner and annotator, one column per criterion (e.g. overall)")
	}
	if ps.Len() > 0 && (idCol < 0 || capCol < 0 || len(crits) == 0) {
		return nil
	}
	for {
		row, err := readCSVRow(cr)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return ratingsCSVError(name, err, ps)
		}
		line, _ := cr.FieldPos(0)
		if len(row) != len(header) {
			ps.Add(lineWhere(name, line, ""), "%d fields, the header has %d", len(row), len(header))
			continue
		}
		rec := &ratingRecord{line: line}
		ok := true
		if rec.imageID = strings.TrimSpace(row[idCol]); rec.imageID == "" {
			ps.Add(lineWhere(name, line, colImageID), "missing: want the image id")
			ok = false
		}
		if !setCaptioner(rec, row[capCol], lineWhere(name, line, colCaptioner), ps) {
			ok = false
		}
		if annCol >= 0 {
			rec.annotator = strings.TrimSpace(row[annCol])
			if !checkAnnotator(rec.annotator, lineWhere(name, line, colAnnotator), ps) {
				ok = false
			}
		}
		for _, c := range crits {
			cell := strings.TrimSpace(row[c.col])
			if cell == "" {
				continue
			}
			v, err := strconv.ParseFloat(cell, 64)
			if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
				ps.Add(lineWhere(name, line, c.key), "want a finite number, got %q", cell)
				ok = false
				continue
			}
			rec.values = append(rec.values, ratingValue{key: c.key, value: v})
		}
		if ok && len(rec.values) == 0 {
			ps.Add(lineWhere(name, line, ""), "no criterion has a value: a record rates at least one")
			ok = false
		}
		if !ok {
			continue
		}
		slices.SortFunc(rec.values, func(a, b ratingValue) int { return strings.Compare(a.key, b.key) })
		if err := fn(rec); err != nil {
			return err
		}
	}
}

// readCSVRow reads the next row that is not blank. encoding/csv skips
// empty lines but reads a line of spaces as a row of one empty field: as
// in JSON Lines, such a line is blank, not a header or a short row.
func readCSVRow(cr *csv.Reader) ([]string, error) {
	for {
		row, err := cr.Read()
		if err != nil || len(row) != 1 || strings.TrimSpace(row[0]) != "" {
			return row, err
		}
	}
}

// ratingsCSVError turns an encoding/csv syntax error into a problem with
// its line; other errors (I/O) are returned.
func ratingsCSVError(name string, err error, ps *Problems) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		ps.Add(lineWhere(name, pe.StartLine, ""), "malformed CSV: %v", pe.Err)
		return nil
	}
	return fmt.Errorf("annotation: %s: %w", name, err)
}
