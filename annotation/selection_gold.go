package annotation

import (
	"context"
	"fmt"
	"math"
	"slices"

	"capeval/models"
)

// Gold items check the annotators. A gold item shows an image with a text
// whose right answer is known, made of the human references (never of a
// captioner's output):
//   - Likert "known_good": one of the image's own references; the rubric's
//     overall criterion (the one keyed "overall", else the last) is
//     expected at the top two points of its scale.
//   - Likert "known_bad": a reference of another image (drawn with the
//     seed); the overall criterion is expected at the bottom two points.
//   - Pairwise "known_pair": the image's own reference against another
//     image's, on sides drawn with the seed; the own reference is expected
//     to win.
//
// The text to show is in the gold answer ("text", or "text_a"/"text_b")
// and the task's image_id says which image: a gold task has no caption
// (no caption_id, caption_b_id nor task_captions), since no captioner's
// output is rated, and so it holds none from being deleted. Gold items number
// round(gold_rate × items / (1 − gold_rate)), so that they are gold_rate
// of all queued items; their images are drawn with the seed from the
// queued images that have references, cycling when there are more gold
// items than images; Likert alternates known_good and known_bad. A text of
// another image is wrong for this one with high probability, not
// certainty: datasets with near-duplicate images make weaker gold.
func (p *plan) addGold(ctx context.Context, r selectionReader) error {
	rate := p.t.GoldRate
	items := len(p.tasks)
	n := int(math.Round(rate * float64(items) / (1 - rate)))
	if rate == 0 || items == 0 || n == 0 {
		return nil
	}
	refs, err := r.References(ctx, p.camp.ID)
	if err != nil {
		return fmt.Errorf("annotation: selection of campaign %d: %w", p.camp.ID, err)
	}
	refsOf := map[int64][]models.Reference{}
	var donors []int64 // images with references, by ID
	for _, ref := range refs {
		if refsOf[ref.ImageID] == nil {
			donors = append(donors, ref.ImageID)
		}
		refsOf[ref.ImageID] = append(refsOf[ref.ImageID], ref)
	}
	var eligible []int64
	seen := map[int64]bool{}
	for _, t := range p.tasks {
		if !seen[t.image] && len(refsOf[t.image]) > 0 {
			eligible = append(eligible, t.image)
		}
		seen[t.image] = true
	}
	if len(eligible) == 0 || len(donors) < 2 {
		return &ValidationError{What: "thresholds", Problems: []Problem{{Where: "gold_rate",
			Message: fmt.Sprintf("%g needs reference captions of at least 2 images, among them a queued image: this selection has %d queued images with references and the campaign %d images with references; import references or set gold_rate to 0",
				rate, len(eligible), len(donors))}}}
	}
	slices.Sort(eligible)
	g := newStream(p.seed, "gold")
	g.shuffle(len(eligible), func(i, j int) { eligible[i], eligible[j] = eligible[j], eligible[i] })
	overall := goldCriterion(storedRubric(p.camp.Rubric))
	for i := range n {
		img := eligible[i%len(eligible)]
		own := refsOf[img][g.intn(len(refsOf[img]))]
		k := g.intn(len(donors) - 1)
		if donors[k] == img {
			k = len(donors) - 1
		}
		other := refsOf[donors[k]][g.intn(len(refsOf[donors[k]]))]
		// The sides hold no caption: gold shows its answer's texts.
		t := &planTask{image: img, a: &planSide{}}
		if p.camp.Mode == models.ModePairwise {
			t.kind = models.TaskPair
			t.b = &planSide{}
			good, bad, winner := own, other, "a"
			if g.coin() {
				good, bad, winner = other, own, "b"
			}
			t.goldText = [2]string{good.Text, bad.Text}
			t.gold = models.MustJSON(map[string]any{"kind": "known_pair", "text_a": good.Text, "text_b": bad.Text,
				"reference_id_a": good.ID, "reference_id_b": bad.ID, "expect": map[string]string{"winner": winner}})
		} else {
			t.kind = models.TaskSingle
			if i%2 == 0 {
				t.goldText[0] = own.Text
				t.gold = models.MustJSON(map[string]any{"kind": "known_good", "text": own.Text, "reference_id": own.ID,
					"expect": map[string]any{"criterion": overall.Key, "min": overall.Scale.Max - 1}})
			} else {
				t.goldText[0] = other.Text
				t.gold = models.MustJSON(map[string]any{"kind": "known_bad", "text": other.Text, "reference_id": other.ID,
					"source_image_id": other.ImageID, "expect": map[string]any{"criterion": overall.Key, "max": overall.Scale.Min + 1}})
			}
		}
		p.tasks = append(p.tasks, t)
	}
	return nil
}

// goldCriterion is the criterion gold answers are about: "overall", else
// the rubric's last.
func goldCriterion(r Rubric) Criterion {
	for _, c := range r.Criteria {
		if c.Key == "overall" {
			return c
		}
	}
	return r.Criteria[len(r.Criteria)-1]
}
