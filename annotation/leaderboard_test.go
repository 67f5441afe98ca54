package annotation

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"capeval/models"
)

func mustBuild(t testing.TB, rows *judgmentRows) *judgments {
	t.Helper()
	j, err := rows.build()
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func mustCompute(t testing.TB, j *judgments, s LeaderboardSettings, workers int) *Leaderboard {
	t.Helper()
	camp := &models.Campaign{ID: 1, Name: "synthetic", Mode: j.mode, Rubric: models.JSON("null"), Thresholds: models.JSON("null")}
	lb, err := compute(j, camp, nil, s, "test", workers)
	if err != nil {
		t.Fatal(err)
	}
	return lb
}

func rowOf(t testing.TB, rows []LeaderboardRow, captioner string) LeaderboardRow {
	t.Helper()
	for _, r := range rows {
		if r.Captioner == captioner {
			return r
		}
	}
	t.Fatalf("no row for %s", captioner)
	return LeaderboardRow{}
}

var fiveAnnotators = []synthAnnotator{{0, 0.5}, {0, 0.5}, {0.3, 0.6}, {-0.3, 0.6}, {0, 0.8}}

// A captioner better by construction ranks first, and its interval lies
// above the worst's, whatever the blend; a metric that agrees with the
// humans keeps the order, one that contradicts them reverses it when it
// weighs more, and a weight of 0 removes it.
func TestLeaderboardKnownGroundTruth(t *testing.T) {
	base := synth{mode: models.ModeLikert, quality: []float64{4.2, 3.6, 3.2, 2.4}, images: 60, annotators: fiveAnnotators,
		perItem: 3, metricSign: 1, metricNoise: 0.3, seed: 1}
	inverted := base
	inverted.metricSign = -1
	tests := []struct {
		name      string
		synth     synth
		weights   map[string]float64
		wantFirst string
		wantLast  string
	}{
		{"human only", base, map[string]float64{SourceHuman: 1}, "m00@1", "m03@1"},
		{"human and an agreeing metric", base, map[string]float64{SourceHuman: 1, "CIDEr": 1}, "m00@1", "m03@1"},
		{"a contradicting metric at weight 0", inverted, map[string]float64{SourceHuman: 1, "CIDEr": 0}, "m00@1", "m03@1"},
		{"a contradicting metric outweighing the humans", inverted, map[string]float64{SourceHuman: 1, "CIDEr": 3}, "m03@1", "m00@1"},
		{"the metric alone", base, map[string]float64{"CIDEr": 1}, "m00@1", "m03@1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := mustBuild(t, tt.synth.rows())
			lb := mustCompute(t, j, synthSettings(LeaderboardSettings{Weights: tt.weights}), 2)
			first, last := lb.Leaderboard[0], lb.Leaderboard[len(lb.Leaderboard)-1]
			if first.Captioner != tt.wantFirst || last.Captioner != tt.wantLast {
				t.Fatalf("order %v, want %s first and %s last", captioners(lb.Leaderboard), tt.wantFirst, tt.wantLast)
			}
			if first.Rank == nil || *first.Rank != 1 {
				t.Errorf("first row's rank %v, want 1", first.Rank)
			}
			if !(first.Blended.CILow > last.Blended.CIHigh) {
				t.Errorf("best's interval [%v, %v] does not exclude the worst's [%v, %v]",
					first.Blended.CILow, first.Blended.CIHigh, last.Blended.CILow, last.Blended.CIHigh)
			}
			if last.RankRange == nil || last.RankRange[1] != 4 || *last.Rank <= 1 {
				t.Errorf("worst's rank %v range %v", last.Rank, last.RankRange)
			}
			for _, r := range lb.Leaderboard {
				if !(r.Blended.CILow <= r.Blended.Value && r.Blended.Value <= r.Blended.CIHigh) {
					t.Errorf("%s: blended %v outside its interval [%v, %v]", r.Captioner, r.Blended.Value, r.Blended.CILow, r.Blended.CIHigh)
				}
			}
		})
	}
	// Weight 0 is no source at all: the same bytes as leaving it out.
	j := mustBuild(t, inverted.rows())
	a := mustCompute(t, j, synthSettings(LeaderboardSettings{Weights: map[string]float64{SourceHuman: 1, "CIDEr": 0}}), 2)
	b := mustCompute(t, j, synthSettings(LeaderboardSettings{Weights: map[string]float64{SourceHuman: 1}}), 2)
	if !slices.Equal(blendedValues(a.Leaderboard), blendedValues(b.Leaderboard)) {
		t.Errorf("weight 0 changed the blend: %v vs %v", blendedValues(a.Leaderboard), blendedValues(b.Leaderboard))
	}
	if !slices.Equal(blendedLows(a.Leaderboard), blendedLows(b.Leaderboard)) {
		t.Errorf("weight 0 changed the intervals: %v vs %v", blendedLows(a.Leaderboard), blendedLows(b.Leaderboard))
	}
}

func captioners(rows []LeaderboardRow) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Captioner)
	}
	return out
}

func blendedValues(rows []LeaderboardRow) []float64 {
	var out []float64
	for _, r := range rows {
		out = append(out, float64(r.Blended.Value))
	}
	return out
}

func blendedLows(rows []LeaderboardRow) []float64 {
	var out []float64
	for _, r := range rows {
		out = append(out, float64(r.Blended.CILow))
	}
	return out
}

// Two captioners of equal quality, each rated by its own annotator: a
// harsh one (−1.5) for m00, a lenient one for m01. The mean consensus
// believes the annotators; the z consensus undoes the offset.
func TestZConsensusUndoesAHarshAnnotator(t *testing.T) {
	sy := synth{mode: models.ModeLikert, quality: []float64{3, 3}, images: 80, perItem: 1, metricSign: 1, metricNoise: 1, seed: 3,
		annotators: []synthAnnotator{{-1.5, 0.3}, {0.5, 0.3}},
		pick:       func(c, i int, r *rand.Rand) []int { return []int{c} }}
	j := mustBuild(t, sy.rows())
	gap := func(consensus string) float64 {
		lb := mustCompute(t, j, synthSettings(LeaderboardSettings{Consensus: consensus, Resamples: 50}), 2)
		return float64(rowOf(t, lb.Leaderboard, "m01@1").Scores[SourceHuman].Raw - rowOf(t, lb.Leaderboard, "m00@1").Scores[SourceHuman].Raw)
	}
	if g := gap(ConsensusMean); g < 1.5 {
		t.Errorf("mean consensus: lenient-rated minus harsh-rated = %.3f, want the offset (≥ 1.5)", g)
	}
	if g := gap(ConsensusZ); math.Abs(g) > 0.25 {
		t.Errorf("z consensus: lenient-rated minus harsh-rated = %.3f, want ≈ 0", g)
	}
}

// The same data and settings give the same bytes, with one worker or
// several; another seed gives other intervals.
func TestLeaderboardIsDeterministic(t *testing.T) {
	sy := synth{mode: models.ModeLikert, quality: []float64{4, 3.5, 3, 2.5, 2}, images: 40, annotators: fiveAnnotators, perItem: 3,
		metricSign: 1, metricNoise: 0.5, seed: 5, tags: func(i int) []string { return []string{[]string{"indoor", "outdoor"}[i%2]} }}
	s := synthSettings(LeaderboardSettings{Weights: map[string]float64{SourceHuman: 1, "CIDEr": 0.5}})
	var first []byte
	for _, workers := range []int{1, 2, 3, 1} {
		lb := mustCompute(t, mustBuild(t, sy.rows()), s, workers)
		b, err := json.Marshal(lb)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = b
		} else if !bytes.Equal(first, b) {
			t.Fatalf("workers %d: different bytes", workers)
		}
	}
	s.Seed++
	other, _ := json.Marshal(mustCompute(t, mustBuild(t, sy.rows()), s, 2))
	if bytes.Equal(first, other) {
		t.Error("another seed gave the same bytes")
	}
}

// A lead's value replaces the item's consensus, in both modes.
func TestAdjudicationReplacesConsensus(t *testing.T) {
	sy := synth{mode: models.ModeLikert, quality: []float64{3, 3}, images: 10, annotators: fiveAnnotators, perItem: 3, metricSign: 1, seed: 9}
	for _, consensus := range []string{ConsensusMean, ConsensusZ} {
		t.Run(consensus, func(t *testing.T) {
			rows := sy.rows()
			j := mustBuild(t, rows)
			s := synthSettings(LeaderboardSettings{Consensus: consensus, Resamples: 20})
			before := newView(j, s)
			crit := j.criterionIndex("overall")
			v := 4.5
			rows.adjudged = []models.Adjudication{{TaskID: j.items[0].taskID, Criterion: "overall", Value: &v}}
			j2 := mustBuild(t, rows)
			after := newView(j2, s)
			want := v
			if consensus == ConsensusZ {
				// The pooled scale of the kept ratings.
				var xs []float64
				for r := range j2.rAnn {
					xs = append(xs, j2.values(r)[crit])
				}
				m := mean(xs)
				var ss float64
				for _, x := range xs {
					ss += (x - m) * (x - m)
				}
				want = (v - m) / math.Sqrt(ss/float64(len(xs)))
			}
			if got := after.itemConsensus(0, crit); math.Abs(got-want) > 1e-12 {
				t.Errorf("adjudicated item's consensus %v, want %v", got, want)
			}
			if before.itemConsensus(0, crit) == after.itemConsensus(0, crit) {
				t.Error("the adjudication changed nothing")
			}
			if got, want := after.itemConsensus(1, crit), before.itemConsensus(1, crit); got != want {
				t.Errorf("another item's consensus moved: %v, was %v", got, want)
			}
			if j.hash == j2.hash {
				t.Error("the data hash ignores adjudications")
			}
			lb := mustCompute(t, j2, s, 2)
			if lb.Provenance.Adjudications != 1 {
				t.Errorf("provenance counts %d adjudications", lb.Provenance.Adjudications)
			}
		})
	}
}

// An excluded annotator's ratings are left out, and counted in with the
// toggle.
func TestExcludedAnnotatorsLeftOutUnlessIncluded(t *testing.T) {
	// Annotator 4 rates everything 1 (pulling m00 down, which only they
	// rate).
	sy := synth{mode: models.ModeLikert, quality: []float64{4, 3}, images: 30, seed: 11,
		annotators: []synthAnnotator{{0, 0.3}, {0, 0.3}, {-5, 0}},
		pick: func(c, i int, r *rand.Rand) []int {
			if c == 0 {
				return []int{0, 2}
			}
			return []int{0, 1}
		}}
	rows := sy.rows()
	rows.excluded = []int64{3}
	j := mustBuild(t, rows)
	human := func(include bool) float64 {
		lb := mustCompute(t, j, synthSettings(LeaderboardSettings{IncludeExcluded: include, Resamples: 20}), 2)
		if !include && lb.Provenance.ExcludedRatings != 30 {
			t.Errorf("provenance: %d excluded ratings, want 30", lb.Provenance.ExcludedRatings)
		}
		return float64(rowOf(t, lb.Leaderboard, "m00@1").Scores[SourceHuman].Raw)
	}
	out, in := human(false), human(true)
	if out < 3.5 {
		t.Errorf("without the excluded annotator m00 scores %.2f, want ≈ 4", out)
	}
	if in > out-1 {
		t.Errorf("with the excluded annotator m00 scores %.2f, want well below %.2f", in, out)
	}
}

// Pairwise: the verbose captioner writes longer, worse captions, and the
// annotators prefer the longer caption regardless of quality. Plain
// Bradley–Terry ranks it first; the style-controlled board ranks the
// truly best first and finds a positive length effect.
func TestPairwiseStyleControl(t *testing.T) {
	sy := synth{mode: models.ModePairwise, quality: []float64{3.6, 3.3, 3.0}, images: 150, annotators: fiveAnnotators, perItem: 2,
		metricSign: 1, metricNoise: 0.5, seed: 13, lengths: []float64{8, 8, 16}, lengthPull: 60}
	j := mustBuild(t, sy.rows())
	lb := mustCompute(t, j, synthSettings(LeaderboardSettings{Criterion: ChoiceCriterion, Resamples: 100}), 2)
	if got := lb.Leaderboard[0].Captioner; got != "m02@1" {
		t.Errorf("raw Bradley–Terry ranks %v; want the verbose m02 first (the case must fool it)", captioners(lb.Leaderboard))
	}
	if lb.StyleControl == nil {
		t.Fatal("no style-controlled leaderboard")
	}
	if got := lb.StyleControl.Rows[0].Captioner; got != "m00@1" {
		t.Errorf("style-controlled order %v, want m00 first", captioners(lb.StyleControl.Rows))
	}
	if c := lb.StyleControl.LengthCoefficient; !(c.Value > 0 && c.CILow > 0) {
		t.Errorf("length coefficient %+v, want positive with its interval above 0", c)
	}
	for _, r := range lb.Leaderboard {
		if sc := r.Scores[SourceHuman]; sc.Status != "rated" || !(sc.CILow < sc.Raw && sc.Raw < sc.CIHigh) {
			t.Errorf("%s: human %+v", r.Captioner, sc)
		}
	}
	var meanElo float64
	for _, r := range lb.Leaderboard {
		meanElo += float64(r.Scores[SourceHuman].Raw)
	}
	if meanElo /= 3; math.Abs(meanElo-1000) > 1e-9 {
		t.Errorf("mean Elo %v, want 1000", meanElo)
	}
	if lb.Agreement.Criteria[0].Criterion != ChoiceCriterion {
		t.Errorf("pairwise agreement criteria %+v", lb.Agreement.Criteria)
	}
}

// Imported ratings (no capeval user; a published dataset's means) count
// like UI ones, form their own annotator group and slice, make Fleiss'
// kappa undefined when their values are off the scale's points; an
// annotator without variation is left out of the z consensus with a
// warning.
func TestAnnotatorGroupsAndImportedRatings(t *testing.T) {
	sy := synth{mode: models.ModeLikert, quality: []float64{4, 3, 2}, images: 30, perItem: 3, metricSign: 1, metricNoise: 0.3, seed: 17,
		annotators: []synthAnnotator{{0, 0.4}, {0, 0.4}, {0, 0.4}, {0, 0.4}},
		imported:   []bool{false, false, true, true}}
	rows := sy.rows()
	// One imported rating becomes a mean, off the scale's points.
	for k := range rows.ratings {
		if rows.ratings[k].Imported {
			rows.ratings[k].Answers = models.JSON(`{"precision":3.5,"recall":3.5,"fluency":3.5,"overall":3.5}`)
			break
		}
	}
	j := mustBuild(t, rows)
	lb := mustCompute(t, j, synthSettings(LeaderboardSettings{Resamples: 50}), 2)
	var groups []string
	for _, sl := range lb.Slices {
		if sl.Kind == SliceAnnotatorGroup {
			groups = append(groups, sl.Name)
			if sl.Rows[0].Captioner != "m00@1" {
				t.Errorf("group %s: order %v", sl.Name, captioners(sl.Rows))
			}
		}
	}
	if !slices.Equal(groups, []string{GroupUI, GroupImported}) {
		t.Errorf("group slices %v", groups)
	}
	if lb.Provenance.ImportedRatings == 0 || lb.Provenance.ImportedRatings == lb.Provenance.Ratings {
		t.Errorf("provenance: %d imported of %d", lb.Provenance.ImportedRatings, lb.Provenance.Ratings)
	}
	if lb.Agreement.Criteria[3].FleissKappa.Valid() {
		t.Errorf("Fleiss' kappa %v with a value off the scale, want null", lb.Agreement.Criteria[3].FleissKappa)
	}
	var imported int
	for _, a := range lb.Agreement.Annotators {
		if a.Imported {
			imported++
			if a.AnnotatorID != 0 || !strings.HasPrefix(a.Annotator, "imported:") {
				t.Errorf("imported annotator %+v", a)
			}
		}
	}
	if imported != 2 {
		t.Errorf("%d imported annotators, want 2", imported)
	}
	only := mustCompute(t, j, synthSettings(LeaderboardSettings{Resamples: 50, Group: GroupImported}), 2)
	if only.Provenance.Ratings != lb.Provenance.ImportedRatings || only.Provenance.ImportedRatings != only.Provenance.Ratings {
		t.Errorf("imported group: %+v", only.Provenance)
	}

	// An annotator who always answers 3 has no z scale.
	for k := range rows.ratings {
		if rows.ratings[k].AnnotatorID == 1 {
			rows.ratings[k].Answers = models.JSON(`{"precision":3,"recall":3,"fluency":3,"overall":3}`)
		}
	}
	j = mustBuild(t, rows)
	z := mustCompute(t, j, synthSettings(LeaderboardSettings{Resamples: 20, Consensus: ConsensusZ}), 2)
	if len(z.Warnings) == 0 || !strings.Contains(z.Warnings[0], "a00@example.com") {
		t.Errorf("z warnings %v", z.Warnings)
	}
	v := newView(j, z.Provenance.Settings)
	for r, a := range j.rAnn {
		if j.annotators[a].id == 1 && !math.IsNaN(v.tv[r*len(j.criteria)]) {
			t.Fatalf("rating %d of the flat annotator has z value %v, want it left out", r, v.tv[r*len(j.criteria)])
		}
	}
}
