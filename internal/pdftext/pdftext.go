// Package pdftext extracts the text of the PDF files that Chromium prints
// (Skia's PDF writer), so that tests can check what a PDF says without an
// external tool: objects in the clear, Flate-compressed content streams,
// Type0 fonts with Identity-H encoding and a ToUnicode CMap each. It is
// not a general PDF reader: no object streams, no encryption, no other
// filters.
package pdftext

import (
	"bytes"
	"compress/zlib"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
)

// ErrUnsupported: the PDF uses something this package does not read.
var ErrUnsupported = errors.New("pdftext: unsupported PDF")

type object struct {
	dict   []byte
	stream []byte // decoded; nil without a stream
}

var (
	objRe      = regexp.MustCompile(`(?s)(\d+) 0 obj\s*(.*?)endobj`)
	refRe      = regexp.MustCompile(`/(\w+) (\d+) 0 R`)
	fontDictRe = regexp.MustCompile(`(?s)/Font\s*<<(.*?)>>`)
	toUniRe    = regexp.MustCompile(`/ToUnicode (\d+) 0 R`)
)

// Text returns the text of every content stream of the PDF, in file order:
// the runs of one text object (BT … ET) joined by spaces, text objects by
// newlines.
func Text(pdf []byte) (string, error) {
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		return "", fmt.Errorf("%w: no %%PDF header", ErrUnsupported)
	}
	objs := map[int]*object{}
	var order []int
	for _, m := range objRe.FindAllSubmatch(pdf, -1) {
		n, _ := strconv.Atoi(string(m[1]))
		body := m[2]
		o := &object{dict: body}
		if i := bytes.Index(body, []byte("stream")); i >= 0 && bytes.HasPrefix(bytes.TrimSpace(body), []byte("<<")) {
			o.dict = body[:i]
			data := body[i+len("stream"):]
			data = bytes.TrimPrefix(bytes.TrimPrefix(data, []byte("\r")), []byte("\n"))
			if j := bytes.LastIndex(data, []byte("endstream")); j >= 0 {
				data = bytes.TrimRight(data[:j], "\r\n")
			}
			if bytes.Contains(o.dict, []byte("/FlateDecode")) {
				zr, err := zlib.NewReader(bytes.NewReader(data))
				if err != nil {
					return "", fmt.Errorf("pdftext: object %d: %w", n, err)
				}
				dec, err := io.ReadAll(zr)
				if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
					return "", fmt.Errorf("pdftext: object %d: %w", n, err)
				}
				data = dec
			} else if bytes.Contains(o.dict, []byte("/Filter")) {
				data = nil // images and the like: not text
			}
			o.stream = data
		}
		if bytes.Contains(o.dict, []byte("/ObjStm")) {
			return "", fmt.Errorf("%w: object streams", ErrUnsupported)
		}
		objs[n] = o
		order = append(order, n)
	}
	// Font resource names → their ToUnicode maps, from every resource
	// dictionary (Skia names a font after its object, so the names agree
	// across pages).
	fonts := map[string]map[string]string{}
	for _, n := range order {
		for _, fd := range fontDictRe.FindAllSubmatch(objs[n].dict, -1) {
			for _, r := range refRe.FindAllSubmatch(fd[1], -1) {
				num, _ := strconv.Atoi(string(r[2]))
				f := objs[num]
				if f == nil {
					continue
				}
				tu := toUniRe.FindSubmatch(f.dict)
				if tu == nil {
					continue
				}
				num, _ = strconv.Atoi(string(tu[1]))
				if cm := objs[num]; cm != nil && cm.stream != nil {
					fonts[string(r[1])] = parseCMap(cm.stream)
				}
			}
		}
	}
	var out strings.Builder
	for _, n := range order {
		o := objs[n]
		if o.stream == nil || !bytes.Contains(o.stream, []byte("BT")) || bytes.Contains(o.stream, []byte("begincmap")) {
			continue
		}
		showText(&out, o.stream, fonts)
	}
	return out.String(), nil
}

var (
	bfcharRe  = regexp.MustCompile(`(?s)beginbfchar(.*?)endbfchar`)
	bfrangeRe = regexp.MustCompile(`(?s)beginbfrange(.*?)endbfrange`)
	hexRe     = regexp.MustCompile(`<([0-9A-Fa-f]*)>`)
)

// parseCMap reads a ToUnicode CMap's bfchar and bfrange entries: glyph
// code (hex) → text.
func parseCMap(cm []byte) map[string]string {
	out := map[string]string{}
	for _, block := range bfcharRe.FindAllSubmatch(cm, -1) {
		h := hexRe.FindAllSubmatch(block[1], -1)
		for i := 0; i+1 < len(h); i += 2 {
			out[strings.ToUpper(string(h[i][1]))] = utf16Hex(string(h[i+1][1]))
		}
	}
	for _, block := range bfrangeRe.FindAllSubmatch(cm, -1) {
		for _, line := range bytes.Split(block[1], []byte("\n")) {
			h := hexRe.FindAllSubmatch(line, -1)
			if len(h) < 3 {
				continue
			}
			lo, _ := strconv.ParseUint(string(h[0][1]), 16, 32)
			hi, _ := strconv.ParseUint(string(h[1][1]), 16, 32)
			width := len(h[0][1])
			if bytes.Contains(line, []byte("[")) {
				for i := 2; i < len(h) && lo+uint64(i-2) <= hi; i++ {
					out[fmt.Sprintf("%0*X", width, lo+uint64(i-2))] = utf16Hex(string(h[i][1]))
				}
				continue
			}
			start, _ := strconv.ParseUint(string(h[2][1]), 16, 32)
			for c := lo; c <= hi && c-lo < 1<<16; c++ {
				out[fmt.Sprintf("%0*X", width, c)] = string(rune(start + (c - lo)))
			}
		}
	}
	return out
}

// utf16Hex decodes big-endian UTF-16 given in hex.
func utf16Hex(h string) string {
	b, err := hex.DecodeString(h)
	if err != nil || len(b)%2 != 0 {
		return ""
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(u))
}

// showText interprets the text operators of a content stream: Tf selects a
// font, Tj and TJ show glyph strings (runs of one text object are joined
// as they are: Skia spells spaces out as glyphs and moves between the
// letters of a word), Tm places a text object, and text objects on one
// baseline make one line, separated by a space.
func showText(out *strings.Builder, content []byte, fonts map[string]map[string]string) {
	var cmap map[string]string
	var operands [][]byte
	var run strings.Builder
	var y, lastY string
	decode := func(h []byte) {
		code := strings.ToUpper(string(h))
		for i := 0; i+4 <= len(code); i += 4 {
			run.WriteString(cmap[code[i:i+4]])
		}
	}
	for _, tok := range tokens(content) {
		switch string(tok) {
		case "BT":
			run.Reset()
		case "ET":
			if run.Len() > 0 {
				text := run.String()
				switch {
				case out.Len() == 0:
				case y != lastY:
					out.WriteByte('\n')
				case !strings.HasSuffix(out.String(), " ") && !strings.HasPrefix(text, " "):
					out.WriteByte(' ') // another cell of the same line
				}
				out.WriteString(text)
				lastY = y
			}
		case "Tm":
			if len(operands) >= 6 {
				y = string(operands[len(operands)-1])
			}
		case "Tf":
			if len(operands) >= 2 {
				cmap = fonts[strings.TrimPrefix(string(operands[len(operands)-2]), "/")]
			}
		case "Tj", "TJ":
			for _, op := range operands {
				for _, h := range hexRe.FindAllSubmatch(op, -1) {
					decode(h[1])
				}
			}
		default:
			if isOperand(tok) {
				operands = append(operands, tok)
				continue
			}
		}
		operands = operands[:0]
	}
	if out.Len() > 0 {
		out.WriteByte('\n')
	}
}

func isOperand(tok []byte) bool {
	c := tok[0]
	return c == '/' || c == '<' || c == '[' || c == '(' || c == '-' || c == '.' || c >= '0' && c <= '9'
}

// tokens splits a content stream into operands and operators; arrays and
// hex strings are one token each.
func tokens(b []byte) [][]byte {
	var out [][]byte
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == ' ' || c == '\n' || c == '\r' || c == '\t':
			i++
		case c == '[':
			j := bytes.IndexByte(b[i:], ']')
			if j < 0 {
				return out
			}
			out = append(out, b[i:i+j+1])
			i += j + 1
		case c == '<' && i+1 < len(b) && b[i+1] != '<':
			j := bytes.IndexByte(b[i:], '>')
			if j < 0 {
				return out
			}
			out = append(out, b[i:i+j+1])
			i += j + 1
		case c == '(':
			depth, j := 0, i
			for ; j < len(b); j++ {
				if b[j] == '\\' {
					j++
					continue
				}
				if b[j] == '(' {
					depth++
				} else if b[j] == ')' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			out = append(out, b[i:min(j+1, len(b))])
			i = j + 1
		default:
			j := i
			for j < len(b) && !strings.ContainsRune(" \n\r\t[<(", rune(b[j])) {
				j++
			}
			if j == i {
				j++
			}
			out = append(out, b[i:j])
			i = j
		}
	}
	return out
}
