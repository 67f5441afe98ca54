package report

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/chromedp"

	"capeval/annotation"
)

// ErrNoChromium: the PDF export needs Chromium and none was found.
var ErrNoChromium = errors.New("report: the PDF export prints the HTML report with Chromium, and none was found on the PATH: install the Debian package chromium (apt-get install chromium)")

// chromiumNames are the executables FindChromium looks for, in order.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// FindChromium returns the path of a Chromium (or Chrome) on the PATH, or
// ErrNoChromium.
func FindChromium() (string, error) {
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// pdfTimeout bounds one print: starting the browser, loading the page and
// printing it take a second or two.
const pdfTimeout = 2 * time.Minute

// WritePDF prints the HTML report of lb to PDF with headless Chromium at
// chromium (empty: FindChromium) and writes it to w: A4, the report's own
// margins, backgrounds printed. JavaScript is off and the page loads from a
// private temporary file, so the browser reaches nothing but the report.
//
// Chromium stamps the PDF with the time (CreationDate, ModDate) and a
// document ID made from it; they are replaced by a fixed date and an ID
// derived from the leaderboard's data hash, each of the same length so
// that the cross-reference offsets stay right, and the same leaderboard
// prints the same bytes.
func WritePDF(ctx context.Context, w io.Writer, lb *annotation.Leaderboard, chromium string) error {
	if chromium == "" {
		var err error
		if chromium, err = FindChromium(); err != nil {
			return err
		}
	}
	dir, err := os.MkdirTemp("", "capeval-report-")
	if err != nil {
		return fmt.Errorf("report: pdf: %w", err)
	}
	defer os.RemoveAll(dir)
	page := filepath.Join(dir, "report.html")
	f, err := os.OpenFile(page, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("report: pdf: %w", err)
	}
	if err := WriteHTML(f, lb); err != nil {
		f.Close()
		return fmt.Errorf("report: pdf: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("report: pdf: %w", err)
	}
	pdf, err := printPDF(ctx, chromium, dir, page)
	if err != nil {
		return err
	}
	pdf = stabilizePDF(pdf, lb.Provenance.DataSHA256)
	_, err = w.Write(pdf)
	return err
}

func printPDF(ctx context.Context, chromium, dir, page string) ([]byte, error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.DisableGPU,
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.Flag("blink-settings", "scriptEnabled=false"),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
	)
	if os.Geteuid() == 0 {
		// Chromium's sandbox cannot start as root (containers, CI).
		opts = append(opts, chromedp.NoSandbox)
	}
	ctx, cancel := context.WithTimeout(ctx, pdfTimeout)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx, chromedp.Navigate("file://"+filepath.ToSlash(page))); err != nil {
		return nil, fmt.Errorf("report: pdf: chromium %s: %w", chromium, err)
	}
	pdf, err := chromedp.Run(bctx, chromedp.PrintToPDF(
		chromedp.PDFPaper(chromedp.PaperA4),
		chromedp.PDFMargin(0),
		chromedp.PDFPrintBackground(),
		chromedp.PDFPreferCSSPageSize(),
	))
	if err != nil {
		return nil, fmt.Errorf("report: pdf: print: %w", err)
	}
	return pdf, nil
}

var (
	pdfDate = regexp.MustCompile(`/(CreationDate|ModDate) ?\(D:[0-9]{14}[^)]*\)`)
	pdfID   = regexp.MustCompile(`/ID ?\[ ?<([0-9A-Fa-f]+)> ?<([0-9A-Fa-f]+)> ?\]`)
	// pdfNode is a structure element's ID in a tagged PDF: the DOM node's
	// number, which depends on what else the browser created first.
	pdfNode = regexp.MustCompile(`\(node([0-9]{8})\)`)
)

// stabilizePDF replaces the PDF's clock- and process-derived parts with
// values derived from seed and the document itself, byte for byte the
// same length: the dates, the document ID, and the structure elements'
// node IDs, renumbered 1, 2, … in their order (which keeps the ID tree's
// keys sorted).
func stabilizePDF(pdf []byte, seed string) []byte {
	var nodes []string
	seen := map[string]bool{}
	for _, m := range pdfNode.FindAllSubmatch(pdf, -1) {
		if n := string(m[1]); !seen[n] {
			seen[n] = true
			nodes = append(nodes, n)
		}
	}
	slices.Sort(nodes)
	renumber := make(map[string]string, len(nodes))
	for i, n := range nodes {
		renumber[n] = fmt.Sprintf("%08d", i+1)
	}
	pdf = pdfNode.ReplaceAllFunc(pdf, func(m []byte) []byte {
		return []byte("(node" + renumber[string(m[5:13])] + ")")
	})
	pdf = pdfDate.ReplaceAllFunc(pdf, func(m []byte) []byte {
		// D:YYYYMMDDHHmmSS… → the epoch of the PDF dates the report can
		// defend: 2000-01-01 00:00:00, the rest (time zone) kept.
		i := bytes.Index(m, []byte("D:"))
		out := append([]byte(nil), m...)
		copy(out[i+2:], "20000101000000")
		return out
	})
	sum := sha256.Sum256([]byte("capeval report " + seed))
	id := strings.ToUpper(hex.EncodeToString(sum[:]))
	return pdfID.ReplaceAllFunc(pdf, func(m []byte) []byte {
		out := append([]byte(nil), m...)
		sub := pdfID.FindSubmatchIndex(m)
		for g := 1; g <= 2; g++ {
			s, e := sub[2*g], sub[2*g+1]
			for k := s; k < e; k++ {
				out[k] = id[(k-s)%len(id)]
			}
		}
		return out
	})
}
