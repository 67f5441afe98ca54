package annotation

import (
	"fmt"
	"math"
	"math/rand/v2"

	"capeval/models"
)

// synth describes a synthetic campaign with a known ground truth: each
// captioner has a true quality, each annotator an offset (harsh < 0) and
// a noise, and each rating is the item's true score plus the annotator's
// offset and noise, rounded and clamped to the 1–5 scale. A metric scores
// each caption from the truth with its own noise (or against it).
type synth struct {
	mode       models.CampaignMode
	quality    []float64 // per captioner
	images     int
	annotators []synthAnnotator
	perItem    int
	// pick chooses the annotators of captioner c's item on image i
	// (nil: perItem drawn at random).
	pick func(c, i int, r *rand.Rand) []int
	// metric: CIDEr = metricSign·quality + noise.
	metricSign, metricNoise float64
	// pairwise: every image compares each pair of captioners once;
	// lengths[c] is the mean caption length of c; lengthPull the Elo-scale
	// preference for one sd of length difference.
	lengths    []float64
	lengthPull float64
	tags       func(i int) []string
	imported   []bool // per annotator: an imported file's (no user)
	seed       uint64
}

type synthAnnotator struct {
	offset, noise float64
}

// rows builds the judgment rows of the synthetic campaign.
func (sy synth) rows() *judgmentRows {
	r := rand.New(rand.NewPCG(sy.seed, 99))
	camp := &models.Campaign{ID: 1, Name: "synthetic", Mode: sy.mode, Rubric: models.JSON("null"), Thresholds: models.JSON("null"),
		BlendWeights: models.JSON("null")}
	rows := &judgmentRows{campaign: camp, rubric: DefaultRubric(), users: map[int64]UserRef{}, lengthUnit: "words", tokens: countWords}
	for c := range sy.quality {
		rows.captioners = append(rows.captioners, models.CaptionerSummary{Captioner: models.Captioner{ID: int64(c + 1), Name: fmt.Sprintf("m%02d", c), Version: "1"}})
	}
	for a := range sy.annotators {
		rows.users[int64(a+1)] = UserRef{ID: int64(a + 1), Email: fmt.Sprintf("a%02d@example.com", a)}
	}
	capID := int64(0)
	capOf := map[[2]int]int64{}
	truth := map[int64]float64{}
	for i := range sy.images {
		im := models.Image{ID: int64(i + 1), ExternalID: fmt.Sprintf("img%04d", i), Tags: models.JSON("null")}
		if sy.tags != nil {
			im.Tags = models.MustJSON(sy.tags(i))
		}
		rows.images = append(rows.images, im)
		difficulty := r.NormFloat64() * 0.6
		for c, q := range sy.quality {
			capID++
			words := 8
			if sy.lengths != nil {
				words = max(1, int(math.Round(sy.lengths[c]+r.NormFloat64()*2)))
			}
			text := ""
			for w := range words {
				text += fmt.Sprintf("w%d ", w)
			}
			rows.captions = append(rows.captions, models.Caption{ID: capID, CaptionerID: int64(c + 1), ImageID: im.ID, Text: text})
			capOf[[2]int{c, i}] = capID
			truth[capID] = q + difficulty + r.NormFloat64()*0.3
			rows.scores = append(rows.scores, models.CaptionScoreRow{CaptionID: capID, Metric: "CIDEr",
				Value: sy.metricSign*truth[capID] + r.NormFloat64()*sy.metricNoise, MetricVersion: "v1"})
		}
	}
	taskID, ratingID := int64(0), int64(0)
	addRating := func(task int64, kind models.TaskKind, img int64, a int, answers string, choice string) {
		ratingID++
		jr := models.JudgmentRating{ID: ratingID, TaskID: task, AnnotatorID: int64(a + 1), Answers: models.JSON(answers), Choice: choice, Kind: kind, ImageID: img}
		if sy.imported != nil && sy.imported[a] {
			jr.AnnotatorID, jr.Imported, jr.ExternalAnnotator = 0, true, fmt.Sprintf("w%d", a)
		}
		rows.ratings = append(rows.ratings, jr)
	}
	choose := func(c, i int) []int {
		if sy.pick != nil {
			return sy.pick(c, i, r)
		}
		return r.Perm(len(sy.annotators))[:sy.perItem]
	}
	for i := range sy.images {
		img := int64(i + 1)
		if sy.mode != models.ModePairwise {
			for c := range sy.quality {
				taskID++
				cid := capOf[[2]int{c, i}]
				rows.judged = append(rows.judged, models.JudgedCaption{TaskID: taskID, CaptionID: cid, CaptionerID: int64(c + 1), ImageID: img})
				for _, a := range choose(c, i) {
					ann := sy.annotators[a]
					v := math.Round(truth[cid] + ann.offset + r.NormFloat64()*ann.noise)
					v = math.Max(1, math.Min(5, v))
					answers := fmt.Sprintf(`{"precision":%g,"recall":%g,"fluency":%g,"overall":%g}`, v, v, v, v)
					addRating(taskID, models.TaskSingle, img, a, answers, "")
				}
			}
			continue
		}
		for c := range sy.quality {
			for d := c + 1; d < len(sy.quality); d++ {
				taskID++
				ca, cb := capOf[[2]int{c, i}], capOf[[2]int{d, i}]
				rows.judged = append(rows.judged,
					models.JudgedCaption{TaskID: taskID, CaptionID: ca, Side: 0, CaptionerID: int64(c + 1), ImageID: img},
					models.JudgedCaption{TaskID: taskID, CaptionID: cb, Side: 1, CaptionerID: int64(d + 1), ImageID: img})
				la, lb := countWords(rows.captions[ca-1].Text), countWords(rows.captions[cb-1].Text)
				for _, a := range choose(c, i) {
					// Quality on the Elo scale: 100 points per unit.
					elo := 100*(truth[ca]-truth[cb]) + sy.lengthPull*float64(la-lb)/2
					p := 1 / (1 + math.Pow(10, -elo/400))
					ch := "b"
					if r.Float64() < p {
						ch = "a"
					}
					addRating(taskID, models.TaskPair, img, a, "null", ch)
				}
			}
		}
	}
	return rows
}

// settings returns complete settings for the synthetic campaign.
func synthSettings(s LeaderboardSettings) LeaderboardSettings {
	camp := &models.Campaign{ID: 1, Mode: models.ModeLikert, Rubric: models.JSON("null"), Thresholds: models.JSON("null")}
	if s.Resamples == 0 {
		s.Resamples = 200
	}
	if s.Seed == 0 {
		s.Seed = 7
	}
	return s.withDefaults(camp, DefaultRubric())
}
