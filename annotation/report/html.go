package report

import (
	_ "embed"
	"html/template"
	"io"
	"strings"

	"capeval/annotation"
)

//go:embed report.css
var reportCSS string

// WriteHTML writes the report as one self-contained HTML page: inline CSS
// and SVG, no script, no external asset (a reviewer can open it offline
// or attach it to a mail), laid out for A4 when printed.
func WriteHTML(w io.Writer, lb *annotation.Leaderboard) error {
	v := newView(lb)
	type table struct {
		Header []string
		Rows   [][]string
	}
	rows := func(r []annotation.LeaderboardRow) table {
		return table{v.rowHeader(), v.rowCells(r, ident)}
	}
	type slice struct {
		Title string
		Table table
	}
	data := struct {
		*view
		LB          *annotation.Leaderboard
		CSS         template.CSS
		Chart       template.HTML
		Board       table
		AllSources  table
		Style       *table
		StyleEffect string
		Scatters    []template.HTML
		Correlation table
		Suggested   string
		Agreement   table
		Kappas      []kappaView
		Annotators  table
		Slices      []slice
		Provenance  [][2]string
	}{view: v, LB: lb, CSS: template.CSS(reportCSS), Board: rows(lb.Leaderboard), Provenance: v.provenance(),
		AllSources: table{v.sourcesHeader(), v.sourcesCells(lb.Leaderboard, ident)}}
	// The SVG is built by this package from escaped text only.
	data.Chart = template.HTML(LeaderboardSVG(lb.Leaderboard, lb.Provenance.Settings.Level))
	if sc := lb.StyleControl; sc != nil {
		t := rows(sc.Rows)
		data.Style = &t
		data.StyleEffect = fmtCI(sc.LengthCoefficient, 1, "—") + " Elo per sd of the " + sc.Unit + " difference"
	}
	for _, s := range ScatterPlots(lb) {
		data.Scatters = append(data.Scatters, template.HTML(s.SVG))
	}
	data.Correlation.Header = []string{"metric", "criterion", "level", "n", "Kendall τc", "Kendall τb", "Spearman", "Pearson"}
	for _, c := range lb.MetricHumanCorrelation {
		data.Correlation.Rows = append(data.Correlation.Rows, []string{c.Metric, c.Criterion, c.Level, itoa(c.N),
			fmtCI(c.KendallTauC, 2, "—"), fmtCI(c.KendallTauB, 2, "—"), fmtCI(c.Spearman, 2, "—"), fmtCI(c.Pearson, 2, "—")})
	}
	if sw := lb.SuggestedWeights; len(sw.Weights) > 0 {
		data.Suggested = weightsText(sw.Weights) + " — " + sw.Basis
	}
	data.Agreement.Header = agreementHeader
	for _, c := range lb.Agreement.Criteria {
		data.Agreement.Rows = append(data.Agreement.Rows, agreementCells(c, ident))
		if len(c.Kappa.Annotators) > 1 {
			data.Kappas = append(data.Kappas, newKappaView(c))
		}
	}
	data.Annotators.Header = annotatorHeader
	for _, a := range lb.Agreement.Annotators {
		data.Annotators.Rows = append(data.Annotators.Rows, annotatorCells(a, ident))
	}
	for _, s := range lb.Slices {
		data.Slices = append(data.Slices, slice{Title: sliceKind(s.Kind) + " " + s.Name + " (" + itoa(s.Images) + " images, " + itoa(s.Items) + " items)", Table: rows(s.Rows)})
	}
	ew := newErrWriter(w)
	if err := reportTemplate.Execute(ew.w, data); err != nil {
		return err
	}
	return ew.flush()
}

func ident(s string) string { return s }

func itoa(n int) string { return fmtNum(annotation.Number(n), 0, "0") }

// kappaView is one criterion's matrix of pairwise kappas.
type kappaView struct {
	Criterion  string
	Weighting  string
	Annotators []string
	Rows       [][]string
}

func newKappaView(c annotation.CriterionAgreement) kappaView {
	k := kappaView{Criterion: c.Criterion, Weighting: c.Kappa.Weighting}
	for _, a := range c.Kappa.Annotators {
		k.Annotators = append(k.Annotators, truncate(a, 24))
	}
	for i, row := range c.Kappa.Values {
		cells := []string{k.Annotators[min(i, len(k.Annotators)-1)]}
		for j, v := range row {
			if i == j {
				cells = append(cells, "·")
				continue
			}
			cells = append(cells, fmtNum(v, 2, "—"))
		}
		k.Rows = append(k.Rows, cells)
	}
	return k
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"join": strings.Join,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="capeval {{.LB.Provenance.CapevalVersion}}">
<title>{{.LB.Campaign}} — capeval leaderboard</title>
<style>{{.CSS}}</style>
</head>
<body>
<header>
<p class="kicker">capeval report</p>
<h1>{{.LB.Campaign}}</h1>
<p class="settings">{{.LB.Mode}} campaign · human criterion <b>{{.Criterion}}</b> · weights <b>{{.Weights}}</b> · {{.Settings.Normalization}} normalization · {{.Settings.Consensus}} consensus · {{.LevelText}} intervals from {{.Settings.Resamples}} bootstrap resamples (seed {{.Settings.Seed}})</p>
</header>
{{range .LB.Warnings}}<p class="warning"><b>Warning:</b> {{.}}</p>
{{end}}
<section id="leaderboard">
<h2>Leaderboard</h2>
<p class="note">Rank as Chatbot Arena ranks: 1 + the number of captioners whose interval lies wholly above this one's; the rank range is what the intervals allow.</p>
<figure>{{.Chart}}</figure>
{{template "table" .Board}}
{{if .Sources}}<h3>Every source</h3>
<p class="note">Each source's score of each captioner, raw (normalized across the captioners), weighed or not.</p>
<div class="wide">{{template "table" .AllSources}}</div>{{end}}
{{with .Style}}<h3>Length-controlled leaderboard</h3>
<p class="note">Bradley–Terry with caption length as a covariate; length effect {{$.StyleEffect}}.</p>
{{template "table" .}}{{end}}
</section>
<section id="metrics">
<h2>Human–metric agreement</h2>
{{if .Correlation.Rows}}{{template "table" .Correlation}}{{else}}<p>No metric has scores on human-rated captions yet.</p>{{end}}
{{with .Suggested}}<p class="note">Suggested weights (not applied): {{.}}</p>{{end}}
{{if .Scatters}}<div class="scatters">{{range .Scatters}}<figure>{{.}}</figure>{{end}}</div>{{end}}
</section>
<section id="agreement">
<h2>Agreement between annotators</h2>
{{if .Agreement.Rows}}{{template "table" .Agreement}}{{else}}<p>No item has ratings from two annotators yet.</p>{{end}}
{{range .Kappas}}<h3>Cohen's κ between annotators: {{.Criterion}} ({{.Weighting}})</h3>
<div class="table-wrap"><table class="kappa"><thead><tr><th></th>{{range .Annotators}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Rows}}<tr>{{range $i, $c := .}}{{if eq $i 0}}<th>{{$c}}</th>{{else}}<td>{{$c}}</td>{{end}}{{end}}</tr>{{end}}</tbody></table></div>
{{end}}
</section>
<section id="annotators">
<h2>Annotators</h2>
{{if .Annotators.Rows}}{{template "table" .Annotators}}{{else}}<p>No ratings yet.</p>{{end}}
</section>
{{if .Slices}}<section id="slices">
<h2>Slices</h2>
{{range .Slices}}<h3>{{.Title}}</h3>
{{template "table" .Table}}{{end}}
</section>{{end}}
<section id="provenance">
<h2>Provenance</h2>
<dl>{{range .Provenance}}<dt>{{index . 0}}</dt><dd>{{index . 1}}</dd>{{end}}</dl>
<h3>Thresholds</h3>
<pre>{{.Thresholds}}</pre>
</section>
</body>
</html>
{{define "table"}}<div class="table-wrap"><table><thead><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</tbody></table></div>{{end}}`))
