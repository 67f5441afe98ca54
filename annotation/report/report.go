// Package report renders a campaign's annotation.Leaderboard for reviews:
// CSV (the leaderboard table, spreadsheet-formula cells escaped), JSON
// (the API's document), Markdown, a self-contained HTML report (inline CSS
// and SVG charts drawn here, no script and no external asset) and a PDF of
// that report printed by headless Chromium.
//
// Every format is a function of the leaderboard alone: no clock, no
// locale, maps in sorted order and numbers in fixed formats, so the same
// leaderboard gives the same bytes (the PDF's dates and document ID, which
// Chromium takes from the clock, are replaced by values derived from the
// leaderboard's data hash). The charts are also what the UI shows
// (Charts), so the screen and the report cannot disagree.
package report

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"capeval/annotation"
)

// Format is an export format.
type Format string

// The export formats.
const (
	CSV      Format = "csv"
	JSON     Format = "json"
	Markdown Format = "md"
	HTML     Format = "html"
	PDF      Format = "pdf"
)

// Formats lists the formats in the order the UI offers them.
var Formats = []Format{CSV, JSON, Markdown, HTML, PDF}

// ErrFormat: the format asked for is not one of Formats.
var ErrFormat = errors.New("report: unknown format")

// ParseFormat reads a format name ("markdown" is md).
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	if f == "markdown" {
		f = Markdown
	}
	if slices.Contains(Formats, f) {
		return f, nil
	}
	return "", fmt.Errorf("%w %q: want csv, json, md, html or pdf", ErrFormat, s)
}

// ContentType is the media type of f.
func (f Format) ContentType() string {
	switch f {
	case CSV:
		return "text/csv; charset=utf-8"
	case JSON:
		return "application/json"
	case Markdown:
		return "text/markdown; charset=utf-8"
	case HTML:
		return "text/html; charset=utf-8"
	case PDF:
		return "application/pdf"
	}
	return "application/octet-stream"
}

// FileName is the name a download of campaign's leaderboard in f gets: the
// campaign's name reduced to letters, digits and dashes.
func (f Format) FileName(campaign string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(campaign) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	name := strings.TrimSuffix(b.String(), "-")
	if name == "" {
		name = "campaign"
	}
	if len(name) > 60 {
		name = strings.TrimSuffix(name[:60], "-")
	}
	return name + "-leaderboard." + string(f)
}

// Options are what some formats need besides the leaderboard.
type Options struct {
	// Chromium is the browser that prints the PDF; empty: FindChromium.
	Chromium string
}

// Write renders lb in format f to w.
func Write(ctx context.Context, w io.Writer, lb *annotation.Leaderboard, f Format, opts Options) error {
	switch f {
	case CSV:
		return WriteCSV(w, lb)
	case JSON:
		return WriteJSON(w, lb)
	case Markdown:
		return WriteMarkdown(w, lb)
	case HTML:
		return WriteHTML(w, lb)
	case PDF:
		return WritePDF(ctx, w, lb, opts.Chromium)
	}
	return fmt.Errorf("%w %q", ErrFormat, f)
}

// errWriter keeps the first write error, so that renderers can write
// freely and check once.
type errWriter struct {
	w   *bufio.Writer
	err error
}

func newErrWriter(w io.Writer) *errWriter { return &errWriter{w: bufio.NewWriterSize(w, 64<<10)} }

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

func (e *errWriter) str(s string) {
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}

func (e *errWriter) flush() error {
	if e.err != nil {
		return e.err
	}
	return e.w.Flush()
}

// fmtNum writes a statistic with prec decimals, or dash for an undefined
// one. Fixed decimals, never exponents: the same in every locale and run.
func fmtNum(n annotation.Number, prec int, dash string) string {
	if !n.Valid() {
		return dash
	}
	v := float64(n)
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Trim(s, "-0.") == "" {
		s = strings.TrimPrefix(s, "-") // no "-0.000"
	}
	return s
}

// fmtCI writes "value [low, high]" with dash for undefined parts.
func fmtCI(v annotation.ValueCI, prec int, dash string) string {
	s := fmtNum(v.Value, prec, dash)
	if v.CILow.Valid() || v.CIHigh.Valid() {
		s += " [" + fmtNum(v.CILow, prec, dash) + ", " + fmtNum(v.CIHigh, prec, dash) + "]"
	}
	return s
}

// sources lists the sources of the leaderboard's rows: human first, then
// the metrics by name.
func sources(lb *annotation.Leaderboard) []string {
	seen := map[string]bool{}
	for _, r := range lb.Leaderboard {
		for s := range r.Scores {
			seen[s] = true
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		if s != annotation.SourceHuman {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	if seen[annotation.SourceHuman] {
		out = append([]string{annotation.SourceHuman}, out...)
	}
	return out
}

// weightsText is the blend's weights in words: "human 1, CIDEr 0.5".
func weightsText(w map[string]float64) string {
	keys := make([]string, 0, len(w))
	for k := range w {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if (a == annotation.SourceHuman) != (b == annotation.SourceHuman) {
			if a == annotation.SourceHuman {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+" "+strconv.FormatFloat(w[k], 'g', -1, 64))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func rankText(r annotation.LeaderboardRow) string {
	if r.Rank == nil {
		return "—"
	}
	return strconv.Itoa(*r.Rank)
}

func rankRangeText(r annotation.LeaderboardRow) string {
	if r.RankRange == nil {
		return "—"
	}
	if r.RankRange[0] == r.RankRange[1] {
		return strconv.Itoa(r.RankRange[0])
	}
	return strconv.Itoa(r.RankRange[0]) + "–" + strconv.Itoa(r.RankRange[1])
}

func levelPercent(level float64) string {
	if level <= 0 || level >= 1 || math.IsNaN(level) {
		level = 0.95
	}
	return strconv.FormatFloat(level*100, 'f', -1, 64) + "%"
}
