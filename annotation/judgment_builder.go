package annotation

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"math"
	"slices"
	"strconv"

	"capeval/models"
)

// judgmentBuilder folds a campaign's rows into judgments as the store
// streams them, so that a campaign's ratings are never held as records:
// each rating becomes its annotator index, its ID and its values the moment
// it is read (about 20 bytes plus 8 per criterion), and the data hash is
// computed on the way. The rows arrive in this order: the captioners and
// images (newJudgmentBuilder), the captions (addCaption, any order), the
// tasks' caption links (addLink, by task, side and caption), the ratings
// (addRating, by task then rating ID: the order the items are made in), the
// scores (addScore, any order), then finish.
//
// The hash covers, in a canonical order that depends on the data only: the
// links, the ratings, the scores (by caption ID, then metric name), the
// adjudications in force and the excluded annotators.
type judgmentBuilder struct {
	j      *judgments
	tokens func(string) int
	h      hash.Hash

	capIdx, imgIdx map[int64]int32
	captionsSealed bool
	cIdx           map[int64]int32
	links          map[int64][2][]int32
	excluded       []int64
	// annotators by user ID, and imported ones by their file's id.
	userIdx     map[int64]int32
	externalIdx map[string]int32
	byTask      map[int64]int32

	// The task whose ratings are arriving: its item (valid when the task
	// has its captions and its image) and the last rating read.
	cur              judgedItem
	curValid         bool
	lastTask, lastID int64

	// scores by metric: the value per caption (NaN = none) and the index
	// of its version in versions.
	scores map[string]*metricColumn
}

type metricColumn struct {
	values   []float64
	version  []uint16
	versions []string
}

// newJudgmentBuilder starts the judgments of camp (its rubric already
// parsed) with its captioners and images; excluded are the annotators (user
// IDs) the quality checks leave out, tokens counts a pairwise caption's
// length (nil: no lengths).
func newJudgmentBuilder(camp *models.Campaign, rubric Rubric, captioners []models.CaptionerSummary, images []models.Image,
	excluded []int64, tokens func(string) int, lengthUnit string) *judgmentBuilder {
	j := &judgments{mode: camp.Mode, metricVersions: map[string][]string{}, adjudicated: map[[2]int32]judgedAdjudication{},
		lengthUnit: lengthUnit, users: map[int64]UserRef{}}
	if camp.Mode == models.ModePairwise {
		j.criteria = []string{ChoiceCriterion}
		j.scale = [][]float64{{0, 0.5, 1}}
	} else {
		for _, c := range rubric.Criteria {
			j.criteria = append(j.criteria, c.Key)
			var pts []float64
			for v := c.Scale.Min; v <= c.Scale.Max; v++ {
				pts = append(pts, float64(v))
			}
			j.scale = append(j.scale, pts)
		}
	}
	b := &judgmentBuilder{j: j, tokens: tokens, h: sha256.New(), capIdx: map[int64]int32{}, imgIdx: map[int64]int32{},
		cIdx: map[int64]int32{}, links: map[int64][2][]int32{}, userIdx: map[int64]int32{}, externalIdx: map[string]int32{}, byTask: map[int64]int32{},
		scores: map[string]*metricColumn{}, lastTask: math.MinInt64}
	if camp.Mode != models.ModePairwise {
		b.tokens = nil
	}
	for _, c := range captioners {
		b.capIdx[c.ID] = int32(len(j.captioners))
		j.captioners = append(j.captioners, judgedCaptioner{id: c.ID, label: captionerLabel(c.Name, c.Version)})
	}
	for _, im := range images {
		var tags []string
		if !im.Tags.IsNull() {
			_ = json.Unmarshal(im.Tags, &tags)
		}
		slices.Sort(tags)
		b.imgIdx[im.ID] = int32(len(j.images))
		j.images = append(j.images, judgedImage{id: im.ID, external: im.ExternalID, tags: slices.Compact(tags)})
	}
	b.excluded = slices.Clone(excluded)
	slices.Sort(b.excluded)
	b.excluded = slices.Compact(b.excluded)
	return b
}

func (b *judgmentBuilder) line(parts ...string) {
	for i, p := range parts {
		if i > 0 {
			b.h.Write([]byte{'\t'})
		}
		b.h.Write([]byte(p))
	}
	b.h.Write([]byte{'\n'})
}

func id64(i int64) string    { return strconv.FormatInt(i, 10) }
func num64(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// addCaption adds one of the captioners' captions (one of another
// captioner or image is ignored).
func (b *judgmentBuilder) addCaption(c models.Caption) {
	ki, ok1 := b.capIdx[c.CaptionerID]
	ii, ok2 := b.imgIdx[c.ImageID]
	if !ok1 || !ok2 || b.captionsSealed {
		return
	}
	jc := judgedCaption{id: c.ID, captioner: ki, image: ii}
	if b.tokens != nil {
		jc.tokens = b.tokens(c.Text)
	}
	b.j.captions = append(b.j.captions, jc)
}

// sealCaptions puts the captions in ID order, once every one is in.
func (b *judgmentBuilder) sealCaptions() {
	if b.captionsSealed {
		return
	}
	b.captionsSealed = true
	slices.SortFunc(b.j.captions, func(x, y judgedCaption) int { return cmp.Compare(x.id, y.id) })
	b.j.captions = slices.CompactFunc(b.j.captions, func(x, y judgedCaption) bool { return x.id == y.id })
	for i, c := range b.j.captions {
		b.cIdx[c.id] = int32(i)
	}
}

// addLink adds a caption a task stands for.
func (b *judgmentBuilder) addLink(l models.JudgedCaption) {
	b.sealCaptions()
	b.line("l", id64(l.TaskID), id64(l.CaptionID), strconv.Itoa(l.Side))
	ci, ok := b.cIdx[l.CaptionID]
	if !ok || l.Side < 0 || l.Side > 1 {
		return
	}
	v := b.links[l.TaskID]
	if !slices.Contains(v[l.Side], ci) {
		v[l.Side] = append(v[l.Side], ci)
	}
	b.links[l.TaskID] = v
}

// addRating folds one rating in. Ratings come by task, then rating ID
// (the store's EachJudgment order); a rating out of that order, a pair
// rating without a choice or answers that are not a JSON object of numbers
// (which no writer stores) are an error naming the rating.
func (b *judgmentBuilder) addRating(r models.JudgmentRating) error {
	b.sealCaptions()
	if r.TaskID < b.lastTask || (r.TaskID == b.lastTask && r.ID <= b.lastID) {
		return fmt.Errorf("annotation: rating %d of task %d arrived out of (task, rating ID) order", r.ID, r.TaskID)
	}
	b.line("r", id64(r.ID), id64(r.TaskID), id64(r.AnnotatorID), strconv.FormatBool(r.Imported), r.ExternalAnnotator, string(r.Answers), r.Choice)
	j := b.j
	if r.TaskID != b.lastTask {
		b.closeItem()
		sides, ok := b.links[r.TaskID]
		img, okImg := b.imgIdx[r.ImageID]
		b.curValid = ok && okImg && len(sides[0]) > 0 && (r.Kind != models.TaskPair || len(sides[1]) > 0)
		b.cur = judgedItem{taskID: r.TaskID, image: img, pair: r.Kind == models.TaskPair, a: sides[0], b: sides[1], start: int32(len(j.rAnn))}
		// A task's links are not needed once its ratings are in.
		delete(b.links, r.TaskID)
	}
	b.lastTask, b.lastID = r.TaskID, r.ID
	if !b.curValid {
		return nil
	}
	n := len(j.criteria)
	j.rVal = slices.Grow(j.rVal, n)
	vals := j.rVal[len(j.rVal) : len(j.rVal)+n]
	if b.cur.pair {
		if r.Choice == "" {
			return fmt.Errorf("annotation: rating %d of pair task %d has no choice", r.ID, r.TaskID)
		}
		vals[0] = choiceValue(r.Choice)
	} else if err := parseAnswers(r.Answers, j.criteria, vals); err != nil {
		return fmt.Errorf("annotation: rating %d: %w", r.ID, err)
	}
	j.rVal = j.rVal[:len(j.rVal)+n]
	j.rAnn = append(j.rAnn, b.annotator(r))
	j.rID = append(j.rID, r.ID)
	return nil
}

// closeItem ends the current task's item.
func (b *judgmentBuilder) closeItem() {
	if !b.curValid {
		return
	}
	b.curValid = false
	b.cur.end = int32(len(b.j.rAnn))
	b.byTask[b.cur.taskID] = int32(len(b.j.items))
	b.j.items = append(b.j.items, b.cur)
}

// annotator returns the index of r's annotator: a capeval user, or an
// imported file's annotator (by its external id).
func (b *judgmentBuilder) annotator(r models.JudgmentRating) int32 {
	imported := r.AnnotatorID == 0
	if i, ok := b.userIdx[r.AnnotatorID]; ok && !imported {
		return i
	}
	if i, ok := b.externalIdx[r.ExternalAnnotator]; ok && imported {
		return i
	}
	a := judgedAnnotator{id: r.AnnotatorID, external: r.ExternalAnnotator, imported: imported}
	i := int32(len(b.j.annotators))
	if imported {
		b.externalIdx[r.ExternalAnnotator] = i
	} else {
		_, a.excluded = slices.BinarySearch(b.excluded, r.AnnotatorID)
		b.userIdx[r.AnnotatorID] = i
	}
	b.j.annotators = append(b.j.annotators, a)
	return i
}

// userIDs are the capeval users among the annotators.
func (b *judgmentBuilder) userIDs() []int64 {
	var ids []int64
	for _, a := range b.j.annotators {
		if a.id != 0 {
			ids = append(ids, a.id)
		}
	}
	return ids
}

// addScore adds one caption's score (one of a caption not in the
// judgments is ignored).
func (b *judgmentBuilder) addScore(s models.CaptionScoreRow) {
	b.sealCaptions()
	ci, ok := b.cIdx[s.CaptionID]
	if !ok {
		return
	}
	col := b.scores[s.Metric]
	if col == nil {
		col = &metricColumn{values: make([]float64, len(b.j.captions)), version: make([]uint16, len(b.j.captions))}
		for i := range col.values {
			col.values[i] = math.NaN()
		}
		b.scores[s.Metric] = col
	}
	v := slices.Index(col.versions, s.MetricVersion)
	if v < 0 {
		v = len(col.versions)
		col.versions = append(col.versions, s.MetricVersion)
	}
	col.values[ci], col.version[ci] = s.Value, uint16(v)
}

// finish completes the judgments: users names the annotators,
// adjudged are the lead's adjudications in force.
func (b *judgmentBuilder) finish(users map[int64]UserRef, adjudged []models.Adjudication) *judgments {
	b.sealCaptions()
	b.closeItem()
	j := b.j
	for k := range users {
		j.users[k] = users[k]
	}
	for i := range j.annotators {
		a := &j.annotators[i]
		switch {
		case a.id != 0:
			a.label = "user:" + id64(a.id)
			if u, ok := users[a.id]; ok {
				a.label = u.Email
			}
		case a.external != "":
			a.label = "imported:" + a.external
		default:
			a.label = "imported"
		}
	}

	// Scores: the metrics that have any, in Metrics order then by name.
	byName := sortedKeys(b.scores)
	for _, m := range Metrics {
		if b.scores[m] != nil {
			j.metrics = append(j.metrics, m)
		}
	}
	for _, m := range byName {
		if !slices.Contains(j.metrics, m) {
			j.metrics = append(j.metrics, m)
		}
	}
	j.scoresInit()
	nm := len(j.metrics)
	for m, name := range j.metrics {
		col := b.scores[name]
		used := make([]bool, len(col.versions))
		for ci, v := range col.values {
			if !math.IsNaN(v) {
				j.captionScores[ci*nm+m] = v
				used[col.version[ci]] = true
			}
		}
		var vs []string
		for k, u := range used {
			if u {
				vs = append(vs, col.versions[k])
			}
		}
		slices.Sort(vs)
		j.metricVersions[name] = vs
	}
	for ci, c := range j.captions {
		for _, name := range byName {
			col := b.scores[name]
			if v := col.values[ci]; !math.IsNaN(v) {
				b.line("s", id64(c.id), name, num64(v), col.versions[col.version[ci]])
			}
		}
	}
	b.scores = nil

	for _, a := range adjudged {
		it, ok := b.byTask[a.TaskID]
		crit := a.Criterion
		if j.mode == models.ModePairwise {
			crit = ChoiceCriterion
		}
		ci := j.criterionIndex(crit)
		if !ok || ci < 0 {
			continue
		}
		ja := judgedAdjudication{note: a.Note, decidedBy: a.DecidedBy}
		switch {
		case a.Choice != nil:
			ja.choice, ja.value = *a.Choice, choiceValue(*a.Choice)
		case a.Value != nil:
			ja.value = *a.Value
		default:
			continue
		}
		j.adjudicated[[2]int32{it, int32(ci)}] = ja
		b.line("a", id64(a.TaskID), a.Criterion, num64(ja.value), ja.choice)
	}
	j.excludedIDs = b.excluded
	for _, x := range j.excludedIDs {
		b.line("x", id64(x))
	}
	j.hash = hex.EncodeToString(b.h.Sum(nil))
	return j
}
