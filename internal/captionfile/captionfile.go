// Package captionfile reads caption files as streams of (image id, caption)
// records: COCO captions annotation JSON, COCO results JSON, JSON Lines and
// CSV. Readers never hold a whole file in memory; JSON arrays are walked
// element by element. Errors name the file and the byte offset (JSON) or the
// line (JSON Lines, CSV), and the field at fault.
//
// Image ids are kept as strings in canonical form: a JSON number 397133 and a
// JSON string "397133" are the same id, "397133".
package captionfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Format is a caption file format.
type Format int

// The formats. FormatAuto detects the format from the file name and content.
const (
	FormatAuto        Format = iota
	FormatAnnotations        // COCO captions annotation JSON: {"images": [...], "annotations": [{"image_id", "caption"}]}
	FormatResults            // COCO results JSON: [{"image_id", "caption"}]
	FormatJSONL              // one {"image_id", "caption"} object per line
	FormatCSV                // a header with image_id and caption columns
)

func (f Format) String() string {
	switch f {
	case FormatAnnotations:
		return "COCO annotations JSON"
	case FormatResults:
		return "COCO results JSON"
	case FormatJSONL:
		return "JSON Lines"
	case FormatCSV:
		return "CSV"
	}
	return "auto"
}

// Record is one caption of a file.
type Record struct {
	ImageID string
	Caption string
	// Where the record is: Line (1-based) for JSON Lines and CSV, Offset
	// (bytes from the start) for JSON.
	Line   int
	Offset int64
}

// Pos describes where the record is, for messages: "line 12" or
// "byte 1234".
func (r Record) Pos() string {
	if r.Line > 0 {
		return "line " + strconv.Itoa(r.Line)
	}
	return "byte " + strconv.FormatInt(r.Offset, 10)
}

// Image is an entry of a COCO annotation file's "images" array.
type Image struct {
	ID       string
	FileName string
	Width    int
	Height   int
}

// Options configures a read.
type Options struct {
	// Format of the file; FormatAuto detects it.
	Format Format
	// OnImage, when set, receives the entries of a COCO annotation file's
	// "images" array.
	OnImage func(Image) error
	// OnInvalid, when set, receives each record whose image id or caption
	// is missing or invalid (an *Error wrapping ErrMissingField or
	// ErrBadField), and the read goes on when it returns nil, so that a
	// caller can report every bad record at once. Unset, the first such
	// record ends the read with its error. Syntax errors always end it.
	OnInvalid func(*Error) error
}

// Sentinel errors, wrapped by *Error.
var (
	ErrSyntax       = errors.New("malformed input")
	ErrMissingField = errors.New("missing field")
	ErrBadField     = errors.New("invalid field")
	ErrFormat       = errors.New("unrecognized format")
)

// Error is a read error located in a file.
type Error struct {
	File   string
	Line   int   // 1-based; 0 when unknown or Offset is used
	Offset int64 // byte offset; -1 when unknown
	Field  string
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	switch {
	case e.Line > 0:
		fmt.Fprintf(&b, ": line %d", e.Line)
	case e.Offset >= 0:
		fmt.Fprintf(&b, ": byte %d", e.Offset)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": field %q", e.Field)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ReadFile reads the caption file at path, calling fn for every record in
// file order. An error from fn stops the read and is returned as is.
func ReadFile(path string, opts Options, fn func(Record) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("captionfile: %w", err)
	}
	defer f.Close()
	return Read(f, path, opts, fn)
}

// Read reads a caption file from r; name is used in errors and to detect
// the format from its extension.
func Read(r io.Reader, name string, opts Options, fn func(Record) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	format := opts.Format
	if format == FormatAuto {
		var err error
		if format, err = Detect(name, br); err != nil {
			return err
		}
	}
	rd := reader{name: name, opts: opts, fn: fn}
	switch format {
	case FormatAnnotations:
		return rd.annotations(br)
	case FormatResults:
		return rd.results(br)
	case FormatJSONL:
		return rd.jsonl(br)
	case FormatCSV:
		return rd.csv(br)
	}
	return &Error{File: name, Offset: -1, Err: fmt.Errorf("%w: format %d", ErrFormat, format)}
}

// Detect finds the format of a file from its name and first bytes, which it
// peeks at without consuming: .jsonl and .ndjson are JSON Lines, .csv is
// CSV; otherwise JSON that starts with [ is a results file, and JSON that
// starts with { is JSON Lines when its first line is a whole object with an
// image_id, else an annotation file; anything else is CSV, except in a
// .json file, which is then read (and rejected) as a results file.
func Detect(name string, br *bufio.Reader) (Format, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jsonl", ".ndjson":
		return FormatJSONL, nil
	case ".csv":
		return FormatCSV, nil
	}
	head, err := br.Peek(64 << 10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return FormatAuto, &Error{File: name, Offset: -1, Err: err}
	}
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(head, utf8BOM), " \t\r\n")
	if len(trimmed) == 0 {
		return FormatAuto, &Error{File: name, Offset: 0, Err: fmt.Errorf("%w: the file is empty", ErrFormat)}
	}
	switch trimmed[0] {
	case '[':
		return FormatResults, nil
	case '{':
		line, _, ok := bytes.Cut(trimmed, []byte("\n"))
		whole := ok || errors.Is(err, io.EOF) // a one-line file is whole too
		if whole && json.Valid(line) && bytes.Contains(line, []byte(`"image_id"`)) &&
			!bytes.Contains(line, []byte(`"annotations"`)) {
			return FormatJSONL, nil
		}
		return FormatAnnotations, nil
	}
	if strings.EqualFold(filepath.Ext(name), ".json") {
		return FormatResults, nil // not JSON at all: the results reader says where
	}
	return FormatCSV, nil
}

var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// reader holds what every format's reader needs.
type reader struct {
	name string
	opts Options
	fn   func(Record) error
}

// invalid handles a record with a bad field: passed to OnInvalid when set,
// returned otherwise.
func (rd *reader) invalid(e *Error) error {
	if rd.opts.OnInvalid != nil {
		return rd.opts.OnInvalid(e)
	}
	return e
}

// captionFields are the fields of one caption object; raw so that the
// image id may be a number or a string and a missing caption is told from
// an empty one.
type captionFields struct {
	ImageID json.RawMessage `json:"image_id"`
	Caption json.RawMessage `json:"caption"`
}

// record checks the fields and makes a record; errors name the field.
func (c *captionFields) record() (Record, string, error) {
	id, err := canonicalID(c.ImageID)
	if err != nil {
		return Record{}, "image_id", err
	}
	if isNull(c.Caption) {
		return Record{}, "caption", ErrMissingField
	}
	var caption string
	if err := json.Unmarshal(c.Caption, &caption); err != nil {
		return Record{}, "caption", fmt.Errorf("%w: want a string, got %s", ErrBadField, abbreviate(c.Caption))
	}
	return Record{ImageID: id, Caption: caption}, "", nil
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// canonicalID turns a JSON image id, number or string, into its canonical
// string: integers in decimal without exponent or fraction ("397133"), other
// numbers in Go's shortest form, strings as they are.
func canonicalID(raw json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", ErrMissingField
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("%w: %v", ErrBadField, err)
		}
		if s == "" {
			return "", fmt.Errorf("%w: empty image id", ErrBadField)
		}
		return s, nil
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		text := string(raw)
		if i, err := strconv.ParseInt(text, 10, 64); err == nil {
			return strconv.FormatInt(i, 10), nil
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrBadField, err)
		}
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return strconv.FormatInt(int64(f), 10), nil
		}
		return strconv.FormatFloat(f, 'g', -1, 64), nil
	}
	return "", fmt.Errorf("%w: want a number or a string, got %s", ErrBadField, abbreviate(raw))
}

// abbreviate shortens a JSON value for a message.
func abbreviate(raw []byte) string {
	const max = 40
	if len(raw) > max {
		return string(raw[:max]) + "…"
	}
	return string(raw)
}

// jsonError locates a decoding error: syntax and type errors carry their
// own offsets; others get the decoder's position.
func jsonError(name string, dec *json.Decoder, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &Error{File: name, Offset: syn.Offset, Err: fmt.Errorf("%w: %v", ErrSyntax, err)}
	case errors.As(err, &typ):
		return &Error{File: name, Offset: typ.Offset, Field: typ.Field, Err: fmt.Errorf("%w: %v", ErrBadField, err)}
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return &Error{File: name, Offset: dec.InputOffset(), Err: fmt.Errorf("%w: unexpected end of file", ErrSyntax)}
	}
	return &Error{File: name, Offset: dec.InputOffset(), Err: err}
}

// expectDelim reads the next token and checks it is the delimiter want.
func expectDelim(name string, dec *json.Decoder, want json.Delim, what string) error {
	off := dec.InputOffset()
	tok, err := dec.Token()
	if err != nil {
		return jsonError(name, dec, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return &Error{File: name, Offset: off, Err: fmt.Errorf("%w: want %s, got %v", ErrSyntax, what, tok)}
	}
	return nil
}

// eachElement walks a JSON array element by element; the opening bracket
// must be next. fn decodes one element from dec; off is where it starts.
func eachElement(name string, dec *json.Decoder, what string, fn func(off int64) error) error {
	if err := expectDelim(name, dec, '[', what); err != nil {
		return err
	}
	for dec.More() {
		if err := fn(elementOffset(dec)); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // ']'
		return jsonError(name, dec, err)
	}
	return nil
}

// elementOffset returns the offset of the next value: the decoder's
// position, moved past the separating comma and white space, which More
// has already looked at in its buffer.
func elementOffset(dec *json.Decoder) int64 {
	off := dec.InputOffset()
	buf, _ := io.ReadAll(io.LimitReader(dec.Buffered(), 64))
	for _, c := range buf {
		if c != ',' && c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			break
		}
		off++
	}
	return off
}

// decodeCaption decodes one caption object at off and passes it on.
func (rd *reader) decodeCaption(dec *json.Decoder, off int64) error {
	var c captionFields
	if err := dec.Decode(&c); err != nil {
		return jsonError(rd.name, dec, err)
	}
	rec, field, err := c.record()
	if err != nil {
		return rd.invalid(&Error{File: rd.name, Offset: off, Field: field, Err: err})
	}
	rec.Offset = off
	return rd.fn(rec)
}

// results reads a COCO results file: [{"image_id", "caption"}, ...].
func (rd *reader) results(br *bufio.Reader) error {
	name := rd.name
	skipBOM(br)
	dec := json.NewDecoder(br)
	err := eachElement(name, dec, "a results array [", func(off int64) error {
		return rd.decodeCaption(dec, off)
	})
	if err != nil {
		return err
	}
	return expectEnd(name, dec)
}

// annotations reads a COCO captions annotation file, streaming its
// "images" and "annotations" arrays and skipping other keys.
func (rd *reader) annotations(br *bufio.Reader) error {
	name := rd.name
	skipBOM(br)
	dec := json.NewDecoder(br)
	if err := expectDelim(name, dec, '{', "an annotation object {"); err != nil {
		return err
	}
	sawAnnotations := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonError(name, dec, err)
		}
		key, _ := tok.(string)
		switch key {
		case "annotations":
			sawAnnotations = true
			err = eachElement(name, dec, `"annotations" array [`, func(off int64) error {
				return rd.decodeCaption(dec, off)
			})
		case "images":
			err = eachElement(name, dec, `"images" array [`, func(off int64) error {
				return rd.decodeImage(dec, off)
			})
		default:
			var skip json.RawMessage
			if err = dec.Decode(&skip); err != nil {
				err = jsonError(name, dec, err)
			}
		}
		if err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return jsonError(name, dec, err)
	}
	if !sawAnnotations {
		return &Error{File: name, Offset: -1, Field: "annotations", Err: ErrMissingField}
	}
	return expectEnd(name, dec)
}

// decodeImage decodes one entry of "images".
func (rd *reader) decodeImage(dec *json.Decoder, off int64) error {
	name, onImage := rd.name, rd.opts.OnImage
	var raw struct {
		ID       json.RawMessage `json:"id"`
		FileName string          `json:"file_name"`
		Width    int             `json:"width"`
		Height   int             `json:"height"`
	}
	if err := dec.Decode(&raw); err != nil {
		return jsonError(name, dec, err)
	}
	id, err := canonicalID(raw.ID)
	if err != nil {
		return rd.invalid(&Error{File: name, Offset: off, Field: "id", Err: err})
	}
	if onImage == nil {
		return nil
	}
	return onImage(Image{ID: id, FileName: raw.FileName, Width: raw.Width, Height: raw.Height})
}

// expectEnd checks that nothing but white space follows the JSON value.
func expectEnd(name string, dec *json.Decoder) error {
	off := dec.InputOffset()
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &Error{File: name, Offset: off, Err: fmt.Errorf("%w: data after the end of the JSON value", ErrSyntax)}
	}
	return nil
}

func skipBOM(br *bufio.Reader) {
	if head, err := br.Peek(3); err == nil && bytes.Equal(head, utf8BOM) {
		br.Discard(3)
	}
}

// jsonl reads one caption object per line; blank lines are skipped.
func (rd *reader) jsonl(br *bufio.Reader) error {
	name := rd.name
	skipBOM(br)
	line := 0
	for {
		text, err := br.ReadBytes('\n')
		if len(text) > 0 {
			line++
			if t := bytes.TrimSpace(text); len(t) > 0 {
				var c captionFields
				if jerr := json.Unmarshal(t, &c); jerr != nil {
					return &Error{File: name, Line: line, Err: fmt.Errorf("%w: %v", ErrSyntax, jerr)}
				}
				rec, field, rerr := c.record()
				var ferr error
				if rerr != nil {
					ferr = rd.invalid(&Error{File: name, Line: line, Field: field, Err: rerr})
				} else {
					rec.Line = line
					ferr = rd.fn(rec)
				}
				if ferr != nil {
					return ferr
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &Error{File: name, Line: line + 1, Err: err}
		}
	}
}
