package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"capeval/annotation"
	"capeval/annotation/report"
)

// ExportService is what the export handler needs: the campaign's
// leaderboard with the request's settings (annotation.Leaderboards).
type ExportService interface {
	Leaderboard(ctx context.Context, campaignID int64, s annotation.LeaderboardSettings) (*annotation.Leaderboard, error)
}

// reportCSP is the Content-Security-Policy of an HTML report opened in the
// browser: its inline styles and SVG, and nothing else (no script, no
// request, no form), sandboxed away from the app's origin.
const reportCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"

// exportLeaderboard answers GET /api/v1/campaigns/:id/export?format=…: the
// leaderboard in one of the report formats, as a download (or, with
// inline=true, shown in the browser), computed with the same settings as
// GET …/leaderboard takes in its query.
func (s *Server) exportLeaderboard(c echo.Context) error {
	svc, err := configured(s.svc.Export, "exports are")
	if err != nil {
		return err
	}
	id, err := campaignIDParam(c)
	if err != nil {
		return err
	}
	q := c.QueryParams()
	f, err := report.ParseFormat(q.Get("format"))
	if err != nil {
		return badRequest("format", "%s", strings.TrimPrefix(err.Error(), "report: "))
	}
	settings, err := exportSettings(q.Get)
	if err != nil {
		return err
	}
	var chromium string
	if f == report.PDF {
		if chromium, err = report.FindChromium(); err != nil {
			return &apiError{Status: http.StatusServiceUnavailable, Code: "chromium_missing", public: true,
				Message: "the PDF export prints the HTML report with Chromium, which this server does not have: install the Debian package chromium, or export html and print it"}
		}
	}
	lb, err := svc.Leaderboard(c.Request().Context(), id, settings)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	disposition := "attachment"
	if q.Get("inline") == "true" {
		disposition = "inline"
	}
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`%s; filename="%s"`, disposition, f.FileName(lb.Campaign)))
	if f == report.HTML {
		h.Set("Content-Security-Policy", reportCSP)
	}
	c.Response().Header().Set(echo.HeaderContentType, f.ContentType())
	c.Response().WriteHeader(http.StatusOK)
	// Rendering after the status: what can still fail is writing to the
	// client (or the browser printing the PDF), which is logged.
	if err := report.Write(c.Request().Context(), c.Response(), lb, f, report.Options{Chromium: chromium}); err != nil {
		s.log.Warn("export not sent whole", "campaign_id", id, "format", f, "err", err)
	}
	return nil
}

// exportSettings reads the leaderboard settings of a query: weights
// (SOURCE=W,… replacing the saved weights; a source it does not name
// weighs 0), normalization, consensus, criterion, include_excluded, tag,
// group, seed, resamples and level. Unset values are the campaign's.
func exportSettings(get func(string) string) (annotation.LeaderboardSettings, error) {
	var s annotation.LeaderboardSettings
	if w := get("weights"); w != "" {
		weights, err := annotation.ParseWeights(w)
		if err != nil {
			var ve *annotation.ValidationError
			if errors.As(err, &ve) && len(ve.Problems) > 0 {
				return s, badRequest("weights", "%s", ve.Problems[0].String())
			}
			return s, badRequest("weights", "%v", err)
		}
		s.Weights = weights
	}
	s.Normalization, s.Consensus, s.Criterion, s.Tag, s.Group = get("normalization"), get("consensus"), get("criterion"), get("tag"), get("group")
	switch v := get("include_excluded"); v {
	case "", "false":
	case "true":
		s.IncludeExcluded = true
	default:
		return s, badRequest("include_excluded", "include_excluded is true or false, got %q", v)
	}
	for _, p := range []struct {
		name string
		set  func(string) error
	}{
		{"seed", func(v string) (err error) { s.Seed, err = strconv.ParseInt(v, 10, 64); return }},
		{"resamples", func(v string) (err error) { s.Resamples, err = strconv.Atoi(v); return }},
		{"level", func(v string) (err error) { s.Level, err = strconv.ParseFloat(v, 64); return }},
	} {
		if v := get(p.name); v != "" {
			if err := p.set(v); err != nil {
				return s, badRequest(p.name, "%s %q is not a number", p.name, v)
			}
		}
	}
	return s, nil
}

// chartsResponse is the charts of a leaderboard as the report draws them.
type chartsResponse struct {
	Leaderboard string         `json:"leaderboard"`
	Scatter     []scatterChart `json:"scatter"`
}

type scatterChart struct {
	Metric string `json:"metric"`
	SVG    string `json:"svg"`
}

// getCharts answers GET /api/v1/campaigns/:id/charts with the SVG charts
// of the leaderboard the query's settings give (those of …/export): the
// UI shows the same drawings as the report.
func (s *Server) getCharts(c echo.Context) error {
	svc, err := configured(s.svc.Export, "charts are")
	if err != nil {
		return err
	}
	id, err := campaignIDParam(c)
	if err != nil {
		return err
	}
	settings, err := exportSettings(c.QueryParam)
	if err != nil {
		return err
	}
	lb, err := svc.Leaderboard(c.Request().Context(), id, settings)
	if err != nil {
		return err
	}
	out := chartsResponse{Leaderboard: report.LeaderboardSVG(lb.Leaderboard, lb.Provenance.Settings.Level), Scatter: []scatterChart{}}
	for _, sc := range report.ScatterPlots(lb) {
		out.Scatter = append(out.Scatter, scatterChart{Metric: sc.Metric, SVG: sc.SVG})
	}
	return c.JSON(http.StatusOK, out)
}
