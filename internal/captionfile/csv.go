package captionfile

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// csv reads a CSV file whose header names an image_id and a caption
// column (any case, any position; other columns are ignored). Quoted fields
// may span lines; a record's line is the line it starts on.
func (rd *reader) csv(br *bufio.Reader) error {
	name := rd.name
	skipBOM(br)
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return &Error{File: name, Line: 1, Err: fmt.Errorf("%w: the file is empty; want a header with image_id and caption", ErrMissingField)}
	}
	if err != nil {
		return csvError(name, err)
	}
	idCol, capCol := -1, -1
	for i, h := range header {
		switch strings.ToLower(strings.TrimSpace(h)) {
		case "image_id":
			idCol = i
		case "caption":
			capCol = i
		}
	}
	switch {
	case idCol < 0:
		return &Error{File: name, Line: 1, Field: "image_id", Err: fmt.Errorf("%w: the header has no image_id column", ErrMissingField)}
	case capCol < 0:
		return &Error{File: name, Line: 1, Field: "caption", Err: fmt.Errorf("%w: the header has no caption column", ErrMissingField)}
	}
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return csvError(name, err)
		}
		line, _ := cr.FieldPos(0)
		id := strings.TrimSpace(row[idCol])
		// JSON decoding turns invalid UTF-8 into U+FFFD; CSV keeps the
		// bytes, which PostgreSQL refuses to store (and SQLite stores as
		// text no reader can trust), so they are a bad field here.
		switch {
		case id == "":
			err = rd.invalid(&Error{File: name, Line: line, Field: "image_id", Err: ErrMissingField})
		case !utf8.ValidString(id):
			err = rd.invalid(&Error{File: name, Line: line, Field: "image_id", Err: fmt.Errorf("%w: not valid UTF-8 text", ErrBadField)})
		case !utf8.ValidString(row[capCol]):
			err = rd.invalid(&Error{File: name, Line: line, Field: "caption", Err: fmt.Errorf("%w: not valid UTF-8 text", ErrBadField)})
		default:
			err = rd.fn(Record{ImageID: id, Caption: row[capCol], Line: line})
		}
		if err != nil {
			return err
		}
	}
}

// csvError locates an encoding/csv error by its line.
func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &Error{File: name, Line: pe.StartLine, Err: fmt.Errorf("%w: %v", ErrSyntax, pe.Err)}
	}
	return &Error{File: name, Offset: -1, Err: err}
}
