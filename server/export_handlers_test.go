package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"capeval/annotation/report"
	"capeval/internal/pdftext"
	"capeval/models"
)

// TestExportAPI downloads the opened demo's leaderboard in every format:
// the type and file name of each, the same bytes twice, the settings of
// the query, and the errors.
func TestExportAPI(t *testing.T) {
	app := newDemoApp(t)
	lead, annot := app.token(models.RoleLead), app.token(models.RoleAnnotator)
	id := demoCampaignID(t, app)
	base := fmt.Sprintf("/api/v1/campaigns/%d", id)
	get := func(path, token string) (int, http.Header, []byte) {
		t.Helper()
		rec := app.do("GET", path, "", token)
		return rec.Code, rec.Header(), rec.Body.Bytes()
	}
	for _, f := range []report.Format{report.CSV, report.JSON, report.Markdown, report.HTML} {
		t.Run(string(f), func(t *testing.T) {
			code, h, a := get(base+"/export?format="+string(f), lead)
			if code != http.StatusOK {
				t.Fatalf("status %d: %s", code, a)
			}
			if h.Get("Content-Type") != f.ContentType() || h.Get("Content-Disposition") != `attachment; filename="demo-coloured-shapes-leaderboard.`+string(f)+`"` {
				t.Errorf("headers %v", h)
			}
			if _, _, b := get(base+"/export?format="+string(f), lead); !bytes.Equal(a, b) {
				t.Error("two exports differ")
			}
			if f == report.HTML && h.Get("Content-Security-Policy") != reportCSP {
				t.Errorf("HTML report CSP %q", h.Get("Content-Security-Policy"))
			}
		})
	}
	var doc struct {
		Leaderboard []struct{ Captioner string }
		Provenance  struct {
			Settings struct {
				Weights       map[string]float64
				Normalization string
				Resamples     int
			}
		}
	}
	_, _, body := get(base+"/export?format=json&weights=Bleu_1%3D1&normalization=rank&resamples=200", lead)
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if s := doc.Provenance.Settings; len(s.Weights) != 1 || s.Weights["Bleu_1"] != 1 || s.Normalization != "rank" || s.Resamples != 200 {
		t.Errorf("settings of the query: %+v", s)
	}
	if _, h, _ := get(base+"/export?format=html&inline=true", lead); !strings.HasPrefix(h.Get("Content-Disposition"), "inline;") {
		t.Errorf("inline: %q", h.Get("Content-Disposition"))
	}
	code, h, pdf := get(base+"/export?format=pdf", lead)
	if _, err := report.FindChromium(); err == nil {
		if code != http.StatusOK || h.Get("Content-Type") != "application/pdf" {
			t.Fatalf("pdf: %d %v %.200s", code, h, pdf)
		}
		text, err := pdftext.Text(pdf)
		if err != nil || !strings.Contains(text, "accurate@1") {
			t.Errorf("PDF text (%v): %.500s", err, text)
		}
	}
	code, _, body = get(base+"/charts", lead)
	var charts chartsResponse
	if code != http.StatusOK || json.Unmarshal(body, &charts) != nil || !strings.HasPrefix(charts.Leaderboard, "<svg") || len(charts.Scatter) == 0 {
		t.Errorf("charts: %d %.300s", code, body)
	}
	for _, tt := range []struct {
		name, path, token string
		wantStatus        int
		wantBody          string
	}{
		{"annotators may not export", base + "/export?format=csv", annot, http.StatusForbidden, `"forbidden"`},
		{"no format", base + "/export", lead, http.StatusBadRequest, `"field":"format"`},
		{"unknown format", base + "/export?format=xlsx", lead, http.StatusBadRequest, `want csv, json, md, html or pdf`},
		{"malformed weights", base + "/export?format=csv&weights=human", lead, http.StatusBadRequest, `"field":"weights"`},
		{"unknown source", base + "/export?format=csv&weights=SPICE%3D1", lead, http.StatusBadRequest, `SPICE`},
		{"bad seed", base + "/export?format=csv&seed=x", lead, http.StatusBadRequest, `"field":"seed"`},
		{"bad include_excluded", base + "/export?format=csv&include_excluded=maybe", lead, http.StatusBadRequest, `"field":"include_excluded"`},
		{"unknown campaign", "/api/v1/campaigns/999/export?format=csv", lead, http.StatusNotFound, `no campaign with id 999`},
		{"charts of an unknown campaign", "/api/v1/campaigns/999/charts", lead, http.StatusNotFound, `no campaign with id 999`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := get(tt.path, tt.token)
			if code != tt.wantStatus || !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("status %d, body %s; want %d with %s", code, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
	t.Run("no chromium", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		code, _, body := get(base+"/export?format=pdf", lead)
		if code != http.StatusServiceUnavailable || !strings.Contains(string(body), `"chromium_missing"`) || !strings.Contains(string(body), "Debian package chromium") {
			t.Errorf("status %d: %s", code, body)
		}
	})
}

func TestExportAPIWithoutService(t *testing.T) {
	app := newTestApp(t)
	rec := app.do("GET", "/api/v1/campaigns/1/export?format=csv", "", app.token(models.RoleLead))
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `"not_configured"`) {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
}
