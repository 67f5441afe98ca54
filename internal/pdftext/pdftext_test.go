package pdftext

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// TestText reads a page Chromium printed (testdata/chromium.pdf, from an
// HTML table and an SVG text) back to its text.
func TestText(t *testing.T) {
	pdf, err := os.ReadFile("testdata/chromium.pdf")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Text(pdf)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Leaderboard\n", "1 accurate@1 1.210 [1.020, 1.380]\n", "2 généric – Ω -0.300\n", "in an svg"} {
		if !strings.Contains(got, want) {
			t.Errorf("text %q\nlacks %q", got, want)
		}
	}
}

func TestTextRefusesOthers(t *testing.T) {
	for _, tt := range []struct{ name, in string }{
		{"not a PDF", "hello"},
		{"object streams", "%PDF-1.5\n1 0 obj\n<</Type /ObjStm /N 1>>\nstream\nx\nendstream\nendobj\n"},
	} {
		if _, err := Text([]byte(tt.in)); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: %v, want ErrUnsupported", tt.name, err)
		}
	}
}
