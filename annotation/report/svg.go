package report

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"

	"capeval/annotation"
)

// The charts are plain SVG written here, for the HTML report (and so the
// PDF) and for the UI (the server serves them): black and grey strokes,
// shapes rather than colours to tell things apart, and 11–13 px text, so
// that they read the same on screen, in print and in grey scale.

// Chart names, as the UI asks for them.
const (
	ChartLeaderboard = "leaderboard"
	ChartScatter     = "scatter"
)

// svgFont is the charts' font stack: a sans-serif that every system has.
const svgFont = `font-family="DejaVu Sans, Helvetica, Arial, sans-serif"`

// f2 writes a coordinate with one decimal: enough for a chart and stable.
func f2(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func esc(s string) string { return html.EscapeString(s) }

// truncate shortens a label to n characters with an ellipsis.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// niceTicks returns about n round tick values covering [lo, hi].
func niceTicks(lo, hi float64, n int) []float64 {
	if !(hi > lo) {
		return []float64{lo}
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		out = append(out, math.Round(v/step)*step)
	}
	return out
}

// tickText writes a tick value with as many decimals as the step needs.
func tickText(v float64, ticks []float64) string {
	prec := 0
	if len(ticks) > 1 {
		step := ticks[1] - ticks[0]
		for prec < 4 && math.Abs(step*math.Pow(10, float64(prec))-math.Round(step*math.Pow(10, float64(prec)))) > 1e-9 {
			prec++
		}
	}
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Trim(s, "-0.") == "" {
		s = strings.TrimPrefix(s, "-")
	}
	return s
}

// span is the extent of the values, padded by 5% (or ±0.5 for one value).
func span(vals []float64) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	if math.IsInf(lo, 1) {
		return 0, 0, false
	}
	if hi-lo < 1e-12 {
		return lo - 0.5, hi + 0.5, true
	}
	pad := (hi - lo) * 0.05
	return lo - pad, hi + pad, true
}

// LeaderboardSVG draws the rows as a forest plot: one line per captioner
// with its rank and name, a dot at the blended value and a bar over its
// interval. Rows without a blended value say "not ranked".
func LeaderboardSVG(rows []annotation.LeaderboardRow, level float64) string {
	const (
		width   = 720.0
		labelW  = 250.0
		rowH    = 26.0
		top     = 46.0
		bottom  = 34.0
		right   = 24.0
		plotX0  = labelW
		plotX1  = width - right
		minRows = 1
	)
	n := max(len(rows), minRows)
	height := top + float64(n)*rowH + bottom
	var vals []float64
	for _, r := range rows {
		vals = append(vals, float64(r.Blended.Value), float64(r.Blended.CILow), float64(r.Blended.CIHigh))
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-leaderboard" viewBox="0 0 %s %s" width="%s" height="%s" role="img" aria-labelledby="lb-title" %s font-size="12">`,
		f2(width), f2(height), f2(width), f2(height), svgFont)
	fmt.Fprintf(&b, `<title id="lb-title">Blended score of each captioner with its %s interval</title>`, esc(levelPercent(level)))
	b.WriteString(`<rect x="0" y="0" width="100%" height="100%" fill="#ffffff"/>`)
	fmt.Fprintf(&b, `<text x="0" y="18" font-size="14" font-weight="bold" fill="#111">Blended score (dot) and %s interval (bar)</text>`, esc(levelPercent(level)))
	fmt.Fprintf(&b, `<text x="0" y="36" fill="#444">rank</text><text x="40" y="36" fill="#444">captioner</text>`)
	lo, hi, ok := span(vals)
	if !ok {
		fmt.Fprintf(&b, `<text x="%s" y="%s" fill="#444">no captioner has a blended score yet</text></svg>`, f2(plotX0), f2(top+rowH/2+4))
		return b.String()
	}
	x := func(v float64) float64 { return plotX0 + (v-lo)/(hi-lo)*(plotX1-plotX0) }
	ticks := niceTicks(lo, hi, 6)
	axisY := top + float64(n)*rowH + 6
	for _, t := range ticks {
		tx := x(t)
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#dddddd" stroke-width="1"/>`, f2(tx), f2(top-4), f2(tx), f2(axisY))
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" fill="#333">%s</text>`, f2(tx), f2(axisY+16), esc(tickText(t, ticks)))
	}
	fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333" stroke-width="1"/>`, f2(plotX0), f2(axisY), f2(plotX1), f2(axisY))
	for i, r := range rows {
		cy := top + float64(i)*rowH + rowH/2
		if i%2 == 1 {
			fmt.Fprintf(&b, `<rect x="0" y="%s" width="%s" height="%s" fill="#f4f4f4"/>`, f2(cy-rowH/2), f2(width), f2(rowH))
		}
		fmt.Fprintf(&b, `<text x="0" y="%s" fill="#111" font-weight="bold">%s</text>`, f2(cy+4), esc(rankText(r)))
		fmt.Fprintf(&b, `<text x="40" y="%s" fill="#111">%s</text>`, f2(cy+4), esc(truncate(r.Captioner, 30)))
		v := r.Blended
		if !v.Value.Valid() {
			fmt.Fprintf(&b, `<text x="%s" y="%s" fill="#555" font-style="italic">not ranked</text>`, f2(plotX0+4), f2(cy+4))
			continue
		}
		if v.CILow.Valid() && v.CIHigh.Valid() {
			x0, x1 := x(float64(v.CILow)), x(float64(v.CIHigh))
			fmt.Fprintf(&b, `<line class="ci" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#222" stroke-width="3"/>`, f2(x0), f2(cy), f2(x1), f2(cy))
			for _, cx := range []float64{x0, x1} {
				fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#222" stroke-width="2"/>`, f2(cx), f2(cy-6), f2(cx), f2(cy+6))
			}
		}
		fmt.Fprintf(&b, `<circle class="point" cx="%s" cy="%s" r="5.5" fill="#ffffff" stroke="#000" stroke-width="2.5"><title>%s: %s</title></circle>`,
			f2(x(float64(v.Value))), f2(cy), esc(r.Captioner), esc(fmtCI(v, 3, "—")))
	}
	fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" fill="#333">blended score (weighted mean of the normalized sources)</text>`, f2((plotX0+plotX1)/2), f2(height-2))
	b.WriteString(`</svg>`)
	return b.String()
}

// ScatterPoint is one captioner of a scatter plot.
type ScatterPoint struct {
	Label string
	X, Y  float64
}

// ScatterSVG draws one metric against the human score, a point per
// captioner, labelled; subtitle says how well they agree.
func ScatterSVG(title, subtitle, xLabel, yLabel string, points []ScatterPoint) string {
	const (
		width  = 340.0
		height = 290.0
		left   = 52.0
		right  = 14.0
		top    = 48.0
		bottom = 44.0
	)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-scatter" viewBox="0 0 %s %s" width="%s" height="%s" role="img" %s font-size="11">`,
		f2(width), f2(height), f2(width), f2(height), svgFont)
	fmt.Fprintf(&b, `<title>%s</title>`, esc(title+": "+subtitle))
	b.WriteString(`<rect x="0" y="0" width="100%" height="100%" fill="#ffffff"/>`)
	fmt.Fprintf(&b, `<text x="0" y="16" font-size="13" font-weight="bold" fill="#111">%s</text>`, esc(truncate(title, 44)))
	fmt.Fprintf(&b, `<text x="0" y="32" fill="#333">%s</text>`, esc(truncate(subtitle, 56)))
	var xs, ys []float64
	var pts []ScatterPoint
	for _, p := range points {
		if math.IsNaN(p.X) || math.IsNaN(p.Y) || math.IsInf(p.X, 0) || math.IsInf(p.Y, 0) {
			continue
		}
		pts = append(pts, p)
		xs, ys = append(xs, p.X), append(ys, p.Y)
	}
	x0, x1, okx := span(xs)
	y0, y1, oky := span(ys)
	px0, px1, py0, py1 := left, width-right, height-bottom, top
	fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="none" stroke="#333" stroke-width="1"/>`, f2(px0), f2(py1), f2(px1-px0), f2(py0-py1))
	if !okx || !oky {
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" fill="#444">no captioner has both scores</text></svg>`, f2((px0+px1)/2), f2((py0+py1)/2))
		return b.String()
	}
	sx := func(v float64) float64 { return px0 + (v-x0)/(x1-x0)*(px1-px0) }
	sy := func(v float64) float64 { return py0 - (v-y0)/(y1-y0)*(py0-py1) }
	xt, yt := niceTicks(x0, x1, 4), niceTicks(y0, y1, 4)
	for _, t := range xt {
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333"/>`, f2(sx(t)), f2(py0), f2(sx(t)), f2(py0+4))
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" fill="#333">%s</text>`, f2(sx(t)), f2(py0+15), esc(tickText(t, xt)))
	}
	for _, t := range yt {
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333"/>`, f2(px0-4), f2(sy(t)), f2(px0), f2(sy(t)))
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="end" fill="#333">%s</text>`, f2(px0-6), f2(sy(t)+4), esc(tickText(t, yt)))
	}
	fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" fill="#222">%s</text>`, f2((px0+px1)/2), f2(height-8), esc(truncate(xLabel, 50)))
	fmt.Fprintf(&b, `<text transform="translate(12 %s) rotate(-90)" text-anchor="middle" fill="#222">%s</text>`, f2((py0+py1)/2), esc(truncate(yLabel, 36)))
	for _, p := range pts {
		cx, cy := sx(p.X), sy(p.Y)
		fmt.Fprintf(&b, `<circle class="point" cx="%s" cy="%s" r="4.5" fill="#000"><title>%s: %s, %s</title></circle>`,
			f2(cx), f2(cy), esc(p.Label), esc(strconv.FormatFloat(p.X, 'f', 3, 64)), esc(strconv.FormatFloat(p.Y, 'f', 3, 64)))
		anchor, dx := "start", 7.0
		if cx > (px0+px1)/2 {
			anchor, dx = "end", -7
		}
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="%s" fill="#222">%s</text>`, f2(cx+dx), f2(cy-6), anchor, esc(truncate(p.Label, 20)))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// Scatter is one human–metric scatter plot of a leaderboard.
type Scatter struct {
	Metric string
	SVG    string
}

// ScatterPlots draws, for each metric of the captioner-level correlation
// rows of the leaderboard's criterion, its scores against the human score,
// a point per captioner, with Kendall's tau-c in the subtitle.
func ScatterPlots(lb *annotation.Leaderboard) []Scatter {
	criterion := lb.Provenance.Settings.Criterion
	var out []Scatter
	for _, c := range lb.MetricHumanCorrelation {
		if c.Level != annotation.LevelCaptioner || (criterion != "" && c.Criterion != criterion) {
			continue
		}
		var pts []ScatterPoint
		for _, r := range lb.Leaderboard {
			h, okh := r.Scores[annotation.SourceHuman]
			m, okm := r.Scores[c.Metric]
			if okh && okm {
				pts = append(pts, ScatterPoint{Label: r.Captioner, X: float64(m.Raw), Y: float64(h.Raw)})
			}
		}
		sub := fmt.Sprintf("Kendall τc %s · n = %d", fmtCI(c.KendallTauC, 2, "—"), c.N)
		human := "human: " + c.Criterion
		if lb.Mode == "pairwise" {
			human = "human: Bradley–Terry (Elo)"
		}
		out = append(out, Scatter{Metric: c.Metric, SVG: ScatterSVG(c.Metric+" vs the humans", sub, c.Metric+" (mean over captions)", human, pts)})
	}
	return out
}
