package report

import (
	"io"
	"strconv"
	"strings"

	"capeval/annotation"
)

// mdCell makes text safe in a Markdown table cell: pipes, newlines, markup
// and the characters that would start emphasis, code or a link are escaped
// (an underscore inside a word emphasizes nothing in CommonMark tables).
func mdCell(s string) string {
	r := strings.NewReplacer("\\", "\\\\", "|", "\\|", "\r", " ", "\n", " ", "*", "\\*", "`", "\\`", "[", "\\[", "]", "\\]", "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}

func mdCells(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = mdCell(c)
	}
	return out
}

// mdTable writes a Markdown table.
func mdTable(ew *errWriter, header []string, rows [][]string) {
	ew.str("| " + strings.Join(header, " | ") + " |\n")
	ew.str("|" + strings.Repeat(" --- |", len(header)) + "\n")
	for _, r := range rows {
		ew.str("| " + strings.Join(r, " | ") + " |\n")
	}
	ew.str("\n")
}

// WriteMarkdown writes the report as Markdown: the settings, the
// leaderboard, the human–metric agreement, the agreement statistics, the
// annotators, the slices and the provenance.
func WriteMarkdown(w io.Writer, lb *annotation.Leaderboard) error {
	ew := newErrWriter(w)
	v := newView(lb)
	ew.printf("# %s — leaderboard\n\n", mdCell(lb.Campaign))
	ew.printf("%s campaign · human criterion %s · weights %s · %s normalization · %s consensus · %s intervals from %d resamples (seed %d)\n\n",
		mdCell(string(lb.Mode)), mdCell(v.Criterion), mdCell(v.Weights), mdCell(v.Settings.Normalization), mdCell(v.Settings.Consensus),
		v.LevelText, v.Settings.Resamples, v.Settings.Seed)
	for _, warn := range lb.Warnings {
		ew.printf("> **Warning:** %s\n\n", mdCell(warn))
	}
	ew.str("## Leaderboard\n\n")
	mdTable(ew, mdCells(v.rowHeader()), v.rowCells(lb.Leaderboard, mdCell))
	if len(v.Sources) > 0 {
		ew.str("Every source's score of each captioner, raw (normalized):\n\n")
		mdTable(ew, mdCells(v.sourcesHeader()), v.sourcesCells(lb.Leaderboard, mdCell))
	}
	if sc := lb.StyleControl; sc != nil {
		ew.printf("## Length-controlled leaderboard\n\nLength effect (per sd of the %s difference, Elo): %s\n\n", mdCell(sc.Unit), fmtCI(sc.LengthCoefficient, 1, "—"))
		mdTable(ew, mdCells(v.rowHeader()), v.rowCells(sc.Rows, mdCell))
	}
	ew.str("## Human–metric agreement\n\n")
	if len(lb.MetricHumanCorrelation) == 0 {
		ew.str("No metric has scores on human-rated captions yet.\n\n")
	} else {
		var rows [][]string
		for _, c := range lb.MetricHumanCorrelation {
			rows = append(rows, []string{mdCell(c.Metric), mdCell(c.Criterion), mdCell(c.Level), strconv.Itoa(c.N),
				fmtCI(c.KendallTauC, 2, "—"), fmtCI(c.KendallTauB, 2, "—"), fmtCI(c.Spearman, 2, "—"), fmtCI(c.Pearson, 2, "—")})
		}
		mdTable(ew, []string{"metric", "criterion", "level", "n", "Kendall τc", "Kendall τb", "Spearman", "Pearson"}, rows)
	}
	if sw := lb.SuggestedWeights; len(sw.Weights) > 0 {
		ew.printf("Suggested weights (not applied): %s — %s\n\n", mdCell(weightsText(sw.Weights)), mdCell(sw.Basis))
	}
	ew.str("## Agreement between annotators\n\n")
	if len(lb.Agreement.Criteria) == 0 {
		ew.str("No item has ratings from two annotators yet.\n\n")
	} else {
		var rows [][]string
		for _, c := range lb.Agreement.Criteria {
			rows = append(rows, agreementCells(c, mdCell))
		}
		mdTable(ew, agreementHeader, rows)
	}
	ew.str("## Annotators\n\n")
	if len(lb.Agreement.Annotators) == 0 {
		ew.str("No ratings yet.\n\n")
	} else {
		var rows [][]string
		for _, a := range lb.Agreement.Annotators {
			rows = append(rows, annotatorCells(a, mdCell))
		}
		mdTable(ew, annotatorHeader, rows)
	}
	if len(lb.Slices) > 0 {
		ew.str("## Slices\n\n")
		for _, s := range lb.Slices {
			ew.printf("### %s %s (%d images, %d items)\n\n", mdCell(sliceKind(s.Kind)), mdCell(s.Name), s.Images, s.Items)
			mdTable(ew, mdCells(v.rowHeader()), v.rowCells(s.Rows, mdCell))
		}
	}
	ew.str("## Provenance\n\n")
	for _, kv := range v.provenance() {
		ew.printf("- %s: %s\n", kv[0], mdCell(kv[1]))
	}
	ew.str("\nThresholds:\n\n```json\n" + strings.ReplaceAll(v.Thresholds, "```", "` ` `") + "\n```\n")
	return ew.flush()
}
