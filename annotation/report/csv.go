package report

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"strings"

	"capeval/annotation"
)

// WriteCSV writes the leaderboard as one table, a row per captioner, best
// first: rank, rank range, captioner, the blended value with its interval,
// each source's raw and normalized score, items, images and the note.
// Undefined numbers are empty cells.
//
// A text cell that a spreadsheet would take for a formula (starting with
// =, +, -, @, a tab or a carriage return) gets a leading apostrophe, so
// that a captioner named "=HYPERLINK(…)" stays text. Numbers are written
// by the program and never escaped: "-0.5" is a number, not a formula.
func WriteCSV(w io.Writer, lb *annotation.Leaderboard) error {
	ew := newErrWriter(w)
	cw := csv.NewWriter(ew.w)
	srcs := sources(lb)
	header := []string{"rank", "rank_low", "rank_high", "captioner", "blended", "blended_ci_low", "blended_ci_high"}
	for _, s := range srcs {
		header = append(header, s+" raw", s+" normalized")
	}
	header = append(header, "items", "images", "note")
	for i := range header {
		header[i] = cell(header[i])
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	num := func(n annotation.Number) string { return fmtNum(n, 6, "") }
	for _, r := range lb.Leaderboard {
		row := make([]string, 0, len(header))
		if r.Rank != nil {
			row = append(row, strconv.Itoa(*r.Rank))
		} else {
			row = append(row, "")
		}
		if r.RankRange != nil {
			row = append(row, strconv.Itoa(r.RankRange[0]), strconv.Itoa(r.RankRange[1]))
		} else {
			row = append(row, "", "")
		}
		row = append(row, cell(r.Captioner), num(r.Blended.Value), num(r.Blended.CILow), num(r.Blended.CIHigh))
		for _, s := range srcs {
			sc, ok := r.Scores[s]
			if !ok {
				row = append(row, "", "")
				continue
			}
			row = append(row, num(sc.Raw), num(sc.Normalized))
		}
		row = append(row, strconv.Itoa(r.Items), strconv.Itoa(r.Images), cell(r.Note))
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return ew.flush()
}

// cell escapes a text cell against formula injection (OWASP's CSV
// injection advice): a leading =, +, -, @, tab or carriage return gets an
// apostrophe in front.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// WriteJSON writes the leaderboard document as the API returns it,
// indented, with a final newline.
func WriteJSON(w io.Writer, lb *annotation.Leaderboard) error {
	ew := newErrWriter(w)
	enc := json.NewEncoder(ew.w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(lb); err != nil {
		return err
	}
	return ew.flush()
}
