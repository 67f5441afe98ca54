package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"capeval/annotation"
	"capeval/internal/pdftext"
	"capeval/internal/sharedtest"
)

func render(t *testing.T, f Format, lb *annotation.Leaderboard) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(context.Background(), &buf, lb, f, Options{}); err != nil {
		t.Fatalf("%s: %v", f, err)
	}
	return buf.Bytes()
}

// TestDeterministic: every text format gives the same bytes for two
// leaderboards built separately (maps filled in another order).
func TestDeterministic(t *testing.T) {
	for _, f := range []Format{CSV, JSON, Markdown, HTML} {
		t.Run(string(f), func(t *testing.T) {
			a, b := render(t, f, sampleLeaderboard()), render(t, f, sampleLeaderboard())
			if !bytes.Equal(a, b) {
				t.Errorf("two renders differ")
			}
			if len(a) == 0 {
				t.Error("empty output")
			}
		})
	}
}

func TestCSV(t *testing.T) {
	out := render(t, CSV, sampleLeaderboard())
	rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := "rank,rank_low,rank_high,captioner,blended,blended_ci_low,blended_ci_high,human raw,human normalized,CIDEr raw,CIDEr normalized,CLIPScore raw,CLIPScore normalized,items,images,note"
	if got := strings.Join(rows[0], ","); got != wantHeader {
		t.Errorf("header\n%s\nwant\n%s", got, wantHeader)
	}
	if len(rows) != 6 {
		t.Fatalf("%d rows, want a header and 5", len(rows))
	}
	for _, tt := range []struct {
		row, col int
		want     string
	}{
		{1, 3, "accurate@1"},
		{1, 4, "1.210000"},
		{2, 3, `'=HYPERLINK("http://evil.example","x")`}, // a formula stays text
		{2, 5, "-0.050000"}, // a negative number stays a number
		{4, 3, "'-random"},
		{5, 0, ""}, // unranked
		{5, 4, ""}, // undefined
		{5, 7, ""}, // no human score
		{5, 15, "no human ratings"},
	} {
		if got := rows[tt.row][tt.col]; got != tt.want {
			t.Errorf("row %d col %d (%s) = %q, want %q", tt.row, tt.col, rows[0][tt.col], got, tt.want)
		}
	}
}

func TestCell(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1": "'=1+1", "+1": "'+1", "-1": "'-1", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx",
		"blip": "blip", "": "", "a=b": "a=b", "'quoted": "'quoted",
	} {
		if got := cell(in); got != want {
			t.Errorf("cell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJSON(t *testing.T) {
	out := render(t, JSON, sampleLeaderboard())
	var back annotation.Leaderboard
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	again := render(t, JSON, &back)
	if !bytes.Equal(out, again) {
		t.Errorf("JSON does not round-trip:\n%s\n%s", out, again)
	}
	for _, key := range []string{`"leaderboard": [`, `"agreement": {`, `"metric_human_correlation": [`, `"provenance": {`, `"ci_low": null`} {
		if !bytes.Contains(out, []byte(key)) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

func TestMarkdown(t *testing.T) {
	out := string(render(t, Markdown, sampleLeaderboard()))
	for _, want := range []string{
		"# Demo: coloured shapes — leaderboard\n",
		"| 1 | 1 | accurate@1 | 1.210 [1.020, 1.380] | 4.520 (1.25) | 1.310 (1.18) | 0.810 (1.10) | 48 |  |\n",
		`generic &lt;b&gt;\|&lt;/b&gt;`, // the pipe cannot split the row
		"| overall | 0.410 | 0.720 | 0.700 | ordinal 95% [0.610, 0.800] | — | 192 | 576 | 3 |",
		"| CIDEr | overall | captioner | 4 | 0.99 [0.79, 1.09] |",
		"### tag shape:circle (20 images, 80 items)",
		"- data (sha256): 5d41402abc4b2a76",
		"\"top\\_k\"", // no: the thresholds block is code, unescaped
	} {
		if want == "\"top\\_k\"" {
			if !strings.Contains(out, `"top_k": 4`) {
				t.Errorf("markdown lacks the thresholds as code")
			}
			continue
		}
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q\n%s", want, out)
		}
	}
	// Every table row has as many cells as its header.
	var cols int
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "|") {
			cols = 0
			continue
		}
		n := len(regexp.MustCompile(`(^|[^\\])\|`).FindAllString(line, -1)) - 1
		if cols == 0 {
			cols = n
		} else if n != cols {
			t.Errorf("row %q has %d cells, its table %d", line, n, cols)
		}
	}
}

// TestHTMLSelfContained: the report loads nothing and runs nothing; its
// markup is well formed where it matters (the SVG charts) and names are
// escaped.
func TestHTMLSelfContained(t *testing.T) {
	out := string(render(t, HTML, sampleLeaderboard()))
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`(?i)<script`), regexp.MustCompile(`(?i)<link`), regexp.MustCompile(`(?i)\ssrc=`),
		regexp.MustCompile(`(?i)href=`), regexp.MustCompile(`(?i)url\(`), regexp.MustCompile(`(?i)@import`),
		regexp.MustCompile(`<b>\|</b>`), // a captioner's markup is text
	} {
		if m := bad.FindString(out); m != "" {
			t.Errorf("the report holds %q", m)
		}
	}
	svgs := regexp.MustCompile(`(?s)<svg .*?</svg>`).FindAllString(out, -1)
	if len(svgs) != 3 {
		t.Fatalf("%d charts, want the leaderboard and two scatter plots", len(svgs))
	}
	for i, s := range svgs {
		d := xml.NewDecoder(strings.NewReader(s))
		for {
			_, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("chart %d is not well-formed XML: %v\n%s", i, err, s)
			}
		}
	}
	if n := strings.Count(svgs[0], `class="ci"`); n != 4 {
		t.Errorf("leaderboard chart has %d interval bars, want 4 (the unranked captioner has none)", n)
	}
	if !strings.Contains(svgs[0], "not ranked") {
		t.Error("the unranked captioner is not said to be")
	}
	if n := strings.Count(svgs[1], `class="point"`); n != 4 {
		t.Errorf("scatter plot has %d points, want 4", n)
	}
	for _, want := range []string{"<h2>Leaderboard</h2>", "<h2>Human–metric agreement</h2>", "<h2>Agreement between annotators</h2>",
		"<h2>Annotators</h2>", "<h2>Slices</h2>", "<h2>Provenance</h2>", "sim-careless@demo.capeval.test", "low_gold_accuracy, fast",
		"5d41402abc4b2a76b9719d911017c592aaf0d6f3e8f1c4ab5d41402abc4b2a76", "between annotators: overall (linear)"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestEmptyLeaderboard(t *testing.T) {
	lb := &annotation.Leaderboard{Campaign: "empty", Mode: "likert"}
	for _, f := range []Format{CSV, JSON, Markdown, HTML} {
		out := render(t, f, lb)
		if f == HTML && !strings.Contains(string(out), "no captioner has a blended score yet") {
			t.Errorf("empty HTML report does not say so")
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"csv": CSV, "JSON": JSON, "md": Markdown, "markdown": Markdown, " html ": HTML, "pdf": PDF} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("xlsx"); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "want csv, json, md, html or pdf") {
		t.Errorf("xlsx: %v", err)
	}
	if got := HTML.FileName("Demo: coloured shapes"); got != "demo-coloured-shapes-leaderboard.html" {
		t.Errorf("file name %q", got)
	}
	if got := CSV.FileName("../../"); got != "campaign-leaderboard.csv" {
		t.Errorf("file name %q", got)
	}
}

// TestPDF prints the report twice with Chromium: the same bytes, and the
// leaderboard's text in them.
func TestPDF(t *testing.T) {
	chromium, err := FindChromium()
	if err != nil {
		sharedtest.Missing(t, "%v", err)
	}
	lb := sampleLeaderboard()
	a, b := render(t, PDF, lb), render(t, PDF, lb)
	if !bytes.Equal(a, b) {
		t.Errorf("two prints differ (%d and %d bytes)", len(a), len(b))
	}
	text, err := pdftext.Text(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Demo: coloured shapes", "Leaderboard", "1 accurate@1", "2 generic <b>|</b>", "Human–metric agreement",
		"CIDEr vs the humans", "Provenance", "5d41402abc4b2a76b9719d911017c592aaf0d6f3e8f1c4ab5d41402abc4b2a76"} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	if bytes.Contains(a, []byte("/CreationDate (D:2026")) || !bytes.Contains(a, []byte("/CreationDate (D:20000101000000")) {
		t.Error("the PDF's creation date is not the fixed one")
	}
	_ = chromium
}

func TestStabilizePDF(t *testing.T) {
	in := []byte("%PDF-1.4\n/CreationDate (D:20261201101010+00'00')\n/ModDate (D:20261201101011+00'00')\n/ID (node00000081)/ID (node00000079)/K (node00000081)\ntrailer <</ID [<00ff00ff> <A1B2C3D4>]>>\n")
	out := stabilizePDF(in, "seed")
	if len(out) != len(in) {
		t.Fatalf("length changed: %d → %d", len(in), len(out))
	}
	want := regexp.MustCompile(`^%PDF-1.4\n/CreationDate \(D:20000101000000\+00'00'\)\n/ModDate \(D:20000101000000\+00'00'\)\n/ID \(node00000002\)/ID \(node00000001\)/K \(node00000002\)\ntrailer <</ID \[<[0-9A-F]{8}> <[0-9A-F]{8}>\]>>\n$`)
	if !want.Match(out) {
		t.Errorf("stabilized:\n%s", out)
	}
	if bytes.Equal(stabilizePDF(in, "other"), out) {
		t.Error("the ID does not depend on the seed")
	}
}
