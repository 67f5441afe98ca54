package annotation

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"capeval/models"
)

// judgments is a campaign's human judgments and metric scores in memory,
// in the compact form the leaderboard, the agreement dashboard and the
// bootstraps compute on. Every list is in a canonical order (by ID), so
// that the figures depend on the data only, not on the database that held
// it. Tests and benchmarks build one directly.
type judgments struct {
	mode     models.CampaignMode
	criteria []string // Likert: the rubric's keys; pairwise: {ChoiceCriterion}
	// scale of each criterion: its points, for Fleiss' and Cohen's
	// categories (pairwise: 0, ½, 1).
	scale      [][]float64
	captioners []judgedCaptioner
	images     []judgedImage
	annotators []judgedAnnotator
	items      []judgedItem
	// Ratings, grouped by item (item i's are start..end) and by ID within
	// one: rAnn the annotator index, rID the rating ID, rVal the values,
	// len(criteria) per rating (NaN = no value for that criterion).
	rAnn []int32
	rID  []int64
	rVal []float64
	// metrics and each caption's scores, len(metrics) per caption (NaN =
	// none); metricVersions the versions the scores were computed with.
	metrics        []string
	metricVersions map[string][]string
	captions       []judgedCaption
	captionScores  []float64
	// adjudicated: the lead's values in force, by item and criterion
	// index.
	adjudicated map[[2]int32]judgedAdjudication
	// excludedIDs are the annotators (user IDs) the quality checks leave
	// out; excludedRatings how many ratings they have here.
	excludedIDs []int64
	users       map[int64]UserRef
	hash        string
	// tokens says how caption lengths were counted.
	lengthUnit string
}

type judgedCaptioner struct {
	id    int64
	label string
}

type judgedImage struct {
	id       int64
	external string
	tags     []string
}

type judgedAnnotator struct {
	id       int64  // capeval user, 0 for an imported file's annotator
	external string // the file's annotator id, for imported ratings
	imported bool
	label    string
	excluded bool
}

// judgedItem is a task: its image, the captions it stands for (side A; B
// for a pair) and its ratings' range.
type judgedItem struct {
	taskID     int64
	image      int32
	pair       bool
	a, b       []int32 // caption indices
	start, end int32
}

type judgedCaption struct {
	id        int64
	captioner int32
	image     int32
	tokens    int
}

type judgedAdjudication struct {
	value     float64 // the value (pairwise: P(A preferred), ½ for a tie)
	choice    string
	note      string
	decidedBy *int64
}

// choiceValue maps a stored pairwise choice to the preference for A that
// consensus, agreement and Bradley–Terry use: a win 1, a loss 0, and a tie
// or "both bad" ½ (LMSYS's "tie (bothbad)" counts as a tie too).
func choiceValue(c string) float64 {
	switch c {
	case "a":
		return 1
	case "b":
		return 0
	}
	return 0.5
}

// values returns rating r's values.
func (j *judgments) values(r int) []float64 {
	c := len(j.criteria)
	return j.rVal[r*c : (r+1)*c]
}

// criterionIndex returns the index of criterion key, or -1.
func (j *judgments) criterionIndex(key string) int {
	return slices.Index(j.criteria, key)
}

// captionScores is judgments' per-caption score table; kept apart so that
// tests can fill it.
func (j *judgments) scoresInit() {
	j.captionScores = make([]float64, len(j.captions)*len(j.metrics))
	for i := range j.captionScores {
		j.captionScores[i] = math.NaN()
	}
}

// captionerLabel is NAME@VERSION, or NAME when the version is empty.
func captionerLabel(name, version string) string {
	if version == "" {
		return name
	}
	return name + "@" + version
}

// parseAnswers reads a Likert rating's answers ({"criterion": number})
// into vals, indexed like keys; a criterion it lacks stays NaN.
func parseAnswers(doc models.JSON, keys []string, vals []float64) error {
	for i := range vals {
		vals[i] = math.NaN()
	}
	if doc.IsNull() {
		return nil
	}
	var m map[string]float64
	if err := json.Unmarshal(doc, &m); err != nil {
		return fmt.Errorf("answers %.60q are not an object of numbers: %w", string(doc), err)
	}
	for i, k := range keys {
		if v, ok := m[k]; ok {
			vals[i] = v
		}
	}
	return nil
}

// ---- The view: what one set of settings keeps, and its consensus ----

// judgedView is judgments seen through settings: the annotators and images it
// keeps, each rating's value for the consensus (raw or z-normalized; NaN
// when left out), and each item's consensus per criterion.
type judgedView struct {
	j          *judgments
	settings   LeaderboardSettings
	keepAnn    []bool
	keepImage  []bool
	tv         []float64 // per rating × criterion: the value the consensus averages
	consensus  []float64 // per item × criterion
	nKept      []int32   // per item: ratings kept (any criterion)
	warnings   []string
	zeroVar    map[[2]int32]bool // (annotator, criterion) left out of the z consensus
	keptRating []bool
}

// newView applies the settings' annotator group, exclusions, tag and
// consensus mode to j.
//
// The z consensus (ConsensusZ) follows WMT's direct assessment: each
// annotator's kept ratings of a criterion are standardized by their own
// mean and population standard deviation over the whole campaign (all
// images, so that slices share one scale), and an item's consensus is
// the mean of its standardized ratings. An annotator whose ratings of a
// criterion do not vary (a single rating, or always the same value) has
// no scale: their ratings of that criterion are left out of the z
// consensus and a warning names them. A lead's adjudicated value is put
// on the same scale with the mean and standard deviation of all kept
// ratings of the criterion. Adjudicated values replace an item's
// consensus in both modes.
func newView(j *judgments, s LeaderboardSettings) *judgedView {
	v := &judgedView{j: j, settings: s, keepAnn: make([]bool, len(j.annotators)), keepImage: make([]bool, len(j.images)),
		zeroVar: map[[2]int32]bool{}}
	ids := map[int64]bool{}
	for _, id := range s.AnnotatorIDs {
		ids[id] = true
	}
	for a, ann := range j.annotators {
		keep := s.IncludeExcluded || !ann.excluded
		switch s.Group {
		case GroupUI:
			keep = keep && !ann.imported
		case GroupImported:
			keep = keep && ann.imported
		case GroupIDs:
			keep = keep && ids[ann.id]
		}
		v.keepAnn[a] = keep
	}
	for i, im := range j.images {
		v.keepImage[i] = s.Tag == "" || slices.Contains(im.tags, s.Tag)
	}
	nc := len(j.criteria)
	nr := len(j.rAnn)
	v.keptRating = make([]bool, nr)
	for r := range nr {
		v.keptRating[r] = v.keepAnn[j.rAnn[r]]
	}
	v.tv = make([]float64, nr*nc)
	for r := range nr {
		for c := range nc {
			v.tv[r*nc+c] = math.NaN()
			if v.keptRating[r] {
				v.tv[r*nc+c] = j.rVal[r*nc+c]
			}
		}
	}
	// Pooled and per-annotator moments of each criterion, over the kept
	// ratings of every image: the z scale.
	pooledMean, pooledSD := make([]float64, nc), make([]float64, nc)
	if s.Consensus == ConsensusZ && j.mode != models.ModePairwise {
		type acc struct{ n, sum, sq float64 }
		per := make([]acc, len(j.annotators)*nc)
		pool := make([]acc, nc)
		for r := range nr {
			if !v.keptRating[r] {
				continue
			}
			a := int(j.rAnn[r])
			for c := range nc {
				x := j.rVal[r*nc+c]
				if math.IsNaN(x) {
					continue
				}
				p := &per[a*nc+c]
				p.n, p.sum, p.sq = p.n+1, p.sum+x, p.sq+x*x
				pool[c].n, pool[c].sum, pool[c].sq = pool[c].n+1, pool[c].sum+x, pool[c].sq+x*x
			}
		}
		moments := func(p acc) (mean, sd float64) {
			if p.n == 0 {
				return math.NaN(), math.NaN()
			}
			mean = p.sum / p.n
			return mean, math.Sqrt(math.Max(0, p.sq/p.n-mean*mean))
		}
		for c := range nc {
			pooledMean[c], pooledSD[c] = moments(pool[c])
		}
		// Two passes for the per-annotator sd: the moments above are
		// exact for integers but rounding-prone for real-valued imports.
		means := make([]float64, len(per))
		sds := make([]float64, len(per))
		for k, p := range per {
			means[k], _ = moments(p)
		}
		ss := make([]float64, len(per))
		for r := range nr {
			if !v.keptRating[r] {
				continue
			}
			a := int(j.rAnn[r])
			for c := range nc {
				if x := j.rVal[r*nc+c]; !math.IsNaN(x) {
					d := x - means[a*nc+c]
					ss[a*nc+c] += d * d
				}
			}
		}
		var flat []string
		for k, p := range per {
			if p.n > 0 {
				sds[k] = math.Sqrt(ss[k] / p.n)
			}
			if p.n > 0 && !(sds[k] > 1e-12*math.Max(1, math.Abs(means[k]))) {
				a, c := k/nc, k%nc
				v.zeroVar[[2]int32{int32(a), int32(c)}] = true
				flat = append(flat, fmt.Sprintf("%s (%s)", j.annotators[a].label, j.criteria[c]))
			}
		}
		for r := range nr {
			a := int(j.rAnn[r])
			for c := range nc {
				k := a*nc + c
				x := &v.tv[r*nc+c]
				switch {
				case math.IsNaN(*x):
				case v.zeroVar[[2]int32{int32(a), int32(c)}]:
					*x = math.NaN()
				default:
					*x = (*x - means[k]) / sds[k]
				}
			}
		}
		if len(flat) > 0 {
			v.warnings = append(v.warnings, fmt.Sprintf("z consensus: %d annotator ratings of a criterion without variation are left out, having no scale: %s",
				len(flat), strings.Join(truncated(flat, 10), ", ")))
		}
	}
	v.consensus = make([]float64, len(j.items)*nc)
	v.nKept = make([]int32, len(j.items))
	for i, it := range j.items {
		for r := it.start; r < it.end; r++ {
			if v.keptRating[r] {
				v.nKept[i]++
			}
		}
		for c := range nc {
			var sum, n float64
			for r := it.start; r < it.end; r++ {
				if x := v.tv[int(r)*nc+c]; !math.IsNaN(x) {
					sum += x
					n++
				}
			}
			cons := math.NaN()
			if n > 0 {
				cons = sum / n
			}
			if adj, ok := j.adjudicated[[2]int32{int32(i), int32(c)}]; ok {
				cons = adj.value
				if s.Consensus == ConsensusZ && j.mode != models.ModePairwise {
					cons = (adj.value - pooledMean[c]) / pooledSD[c]
					if !(pooledSD[c] > 0) {
						cons = math.NaN()
					}
				}
			}
			v.consensus[i*nc+c] = cons
		}
	}
	return v
}

// itemConsensus returns item i's consensus of criterion c (NaN: none).
func (v *judgedView) itemConsensus(i, c int) float64 { return v.consensus[i*len(v.j.criteria)+c] }

// adjudicatedItem reports whether item i's criterion c has a lead's value.
func (v *judgedView) adjudicatedItem(i, c int) bool {
	_, ok := v.j.adjudicated[[2]int32{int32(i), int32(c)}]
	return ok
}

// truncated returns the first n of list, with "…" for the rest.
func truncated(list []string, n int) []string {
	if len(list) <= n {
		return list
	}
	return append(slices.Clone(list[:n]), fmt.Sprintf("… and %d more", len(list)-n))
}
