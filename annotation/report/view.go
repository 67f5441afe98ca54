package report

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"capeval/annotation"
)

// view is what the Markdown and HTML reports show besides the rows: the
// settings in words and the sources in column order.
type view struct {
	lb       *annotation.Leaderboard
	Settings annotation.LeaderboardSettings
	// Sources are every source of the rows; Weighted those the blend
	// weighs (the leaderboard tables show those, an appendix all).
	Sources   []string
	Weighted  []string
	Criterion string
	Weights   string
	LevelText string
	// Thresholds is the campaign's thresholds document, indented.
	Thresholds string
}

func newView(lb *annotation.Leaderboard) *view {
	s := lb.Provenance.Settings
	v := &view{lb: lb, Settings: s, Sources: sources(lb), Criterion: s.Criterion, Weights: weightsText(s.Weights), LevelText: levelPercent(s.Level)}
	for _, src := range v.Sources {
		if s.Weights[src] != 0 {
			v.Weighted = append(v.Weighted, src)
		}
	}
	if v.Criterion == "" {
		v.Criterion = "—"
	}
	var buf bytes.Buffer
	if len(lb.Provenance.Thresholds) == 0 || json.Indent(&buf, lb.Provenance.Thresholds, "", "  ") != nil {
		v.Thresholds = "null"
	} else {
		v.Thresholds = buf.String()
	}
	return v
}

func (v *view) rowHeader() []string {
	h := []string{"rank", "rank range", "captioner", "blended [" + v.LevelText + " CI]"}
	for _, s := range v.Weighted {
		h = append(h, s+" (normalized)")
	}
	return append(h, "items", "note")
}

// rowCells renders leaderboard rows as cells, text passed through escape:
// the blend and the sources it weighs.
func (v *view) rowCells(rows []annotation.LeaderboardRow, escape func(string) string) [][]string {
	out := make([][]string, 0, len(rows))
	for _, r := range rows {
		c := []string{rankText(r), rankRangeText(r), escape(r.Captioner), fmtCI(r.Blended, 3, "—")}
		for _, s := range v.Weighted {
			c = append(c, sourceText(r.Scores, s))
		}
		out = append(out, append(c, strconv.Itoa(r.Items), escape(r.Note)))
	}
	return out
}

// sourcesHeader and sourcesCells are the table of every source's score of
// each captioner, weighed or not: what a re-weighting would draw on.
func (v *view) sourcesHeader() []string {
	return append([]string{"captioner"}, v.Sources...)
}

func (v *view) sourcesCells(rows []annotation.LeaderboardRow, escape func(string) string) [][]string {
	out := make([][]string, 0, len(rows))
	for _, r := range rows {
		c := []string{escape(r.Captioner)}
		for _, s := range v.Sources {
			c = append(c, sourceText(r.Scores, s))
		}
		out = append(out, c)
	}
	return out
}

// sourceText is a source's raw score with its normalized value.
func sourceText(scores map[string]annotation.SourceScore, s string) string {
	sc, ok := scores[s]
	if !ok {
		return "—"
	}
	prec := 3
	if s == annotation.SourceHuman && sc.Raw.Valid() && float64(sc.Raw) > 100 {
		prec = 0 // Bradley–Terry on the Elo scale
	}
	t := fmtNum(sc.Raw, prec, "—")
	if sc.Status != "" && sc.Status != "rated" {
		t += " " + sc.Status
	}
	return t + " (" + fmtNum(sc.Normalized, 2, "—") + ")"
}

var agreementHeader = []string{"criterion", "alpha nominal", "alpha ordinal", "alpha interval", "alpha CI", "Fleiss κ", "items", "ratings", "annotators"}

func agreementCells(c annotation.CriterionAgreement, escape func(string) string) []string {
	ci := "—"
	if c.AlphaCI.Low.Valid() || c.AlphaCI.High.Valid() {
		ci = escape(c.AlphaLevel) + " " + levelPercent(c.AlphaCI.Level) + " [" + fmtNum(c.AlphaCI.Low, 3, "—") + ", " + fmtNum(c.AlphaCI.High, 3, "—") + "]"
	}
	return []string{escape(c.Criterion), fmtNum(c.Alpha.Nominal, 3, "—"), fmtNum(c.Alpha.Ordinal, 3, "—"), fmtNum(c.Alpha.Interval, 3, "—"),
		ci, fmtNum(c.FleissKappa, 3, "—"), strconv.Itoa(c.Items), strconv.Itoa(c.Ratings), strconv.Itoa(c.Annotators)}
}

var annotatorHeader = []string{"annotator", "source", "ratings", "excluded", "gold accuracy", "flags", "agreement with the others"}

func annotatorCells(a annotation.AnnotatorAgreement, escape func(string) string) []string {
	src := "capeval"
	if a.Imported {
		src = "imported"
	}
	excluded := "no"
	if a.Excluded {
		excluded = "yes"
	}
	gold := "—"
	if a.GoldScored > 0 {
		gold = fmtNum(a.GoldAccuracy, 2, "—") + " of " + strconv.Itoa(a.GoldScored)
	}
	flags := "—"
	if len(a.Flags) > 0 {
		flags = escape(strings.Join(a.Flags, ", "))
	}
	var loo []string
	for _, c := range a.Criteria {
		loo = append(loo, escape(c.Criterion)+" ρ "+fmtNum(c.RestCorrelation, 2, "—"))
	}
	agree := "—"
	if len(loo) > 0 {
		agree = strings.Join(loo, "; ")
	}
	return []string{escape(a.Annotator), src, strconv.Itoa(a.Ratings), excluded, gold, flags, agree}
}

func sliceKind(kind string) string {
	switch kind {
	case annotation.SliceTag:
		return "tag"
	case annotation.SliceAnnotatorGroup:
		return "annotator group"
	}
	return kind
}

// provenance lists the provenance block's entries in order.
func (v *view) provenance() [][2]string {
	p := v.lb.Provenance
	s := p.Settings
	rubric := make([]string, 0, len(p.Rubric.Criteria))
	for _, c := range p.Rubric.Criteria {
		rubric = append(rubric, c.Key+" "+strconv.Itoa(c.Scale.Min)+"–"+strconv.Itoa(c.Scale.Max))
	}
	var versions []string
	metrics := make([]string, 0, len(p.MetricVersions))
	for m := range p.MetricVersions {
		metrics = append(metrics, m)
	}
	slices.Sort(metrics)
	for _, m := range metrics {
		versions = append(versions, m+" "+strings.Join(p.MetricVersions[m], ", "))
	}
	excluded := "none"
	if len(p.ExcludedAnnotators) > 0 {
		ids := make([]string, len(p.ExcludedAnnotators))
		for i, id := range p.ExcludedAnnotators {
			ids[i] = strconv.FormatInt(id, 10)
		}
		excluded = strings.Join(ids, ", ")
	}
	filter := "all images, all annotators"
	if s.Tag != "" || s.Group != "" {
		var parts []string
		if s.Tag != "" {
			parts = append(parts, "images tagged "+s.Tag)
		}
		if s.Group != "" {
			parts = append(parts, "annotator group "+s.Group)
		}
		filter = strings.Join(parts, ", ")
	}
	orNone := func(xs []string) string {
		if len(xs) == 0 {
			return "none"
		}
		return strings.Join(xs, "; ")
	}
	return [][2]string{
		{"campaign", p.Campaign + " (id " + strconv.FormatInt(p.CampaignID, 10) + ", " + string(p.Mode) + ")"},
		{"rubric", orNone(rubric)},
		{"weights", weightsText(s.Weights)},
		{"normalization", s.Normalization},
		{"consensus", s.Consensus + includeText(s.IncludeExcluded)},
		{"human criterion", v.Criterion},
		{"filter", filter},
		{"bootstrap", strconv.Itoa(s.Resamples) + " resamples, seed " + strconv.FormatInt(s.Seed, 10) + ", " + levelPercent(s.Level) + " intervals"},
		{"data (sha256)", p.DataSHA256},
		{"counts", strconv.Itoa(p.Ratings) + " ratings (" + strconv.Itoa(p.ImportedRatings) + " imported, " + strconv.Itoa(p.ExcludedRatings) + " excluded), " +
			strconv.Itoa(p.Items) + " items, " + strconv.Itoa(p.Images) + " images, " + strconv.Itoa(p.Captioners) + " captioners, " +
			strconv.Itoa(p.Adjudications) + " adjudications"},
		{"excluded annotators", excluded},
		{"metric versions", orNone(versions)},
		{"capeval", p.CapevalVersion},
	}
}

func includeText(include bool) string {
	if include {
		return ", excluded annotators included"
	}
	return ", excluded annotators left out"
}
