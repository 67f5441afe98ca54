package autoeval

import (
	"context"
	"fmt"
	"strings"

	"capeval/autoeval/textmetrics"
	"capeval/models"
)

// TextMetricVersion is recorded with every text score. It names what the
// values depend on: pycocoevalcap's definitions, as autoeval/textmetrics
// reproduces them, and CIDEr-D's document frequencies taken from the
// references of the images the captioner covers. Change it when the scores
// would change: stored scores of another version are recomputed.
const TextMetricVersion = "pycocoevalcap-1.2/capeval-1"

// TextNames are the text score names, in report order.
var TextNames = []string{
	textmetrics.NameBleu1, textmetrics.NameBleu2, textmetrics.NameBleu3, textmetrics.NameBleu4,
	textmetrics.NameRougeL, textmetrics.NameCIDEr,
}

// TextItem is one caption to score against its image's references.
type TextItem struct {
	ImageID    string
	Hypothesis string
	References []string
}

// ScoreText scores items as coco-caption's COCOEvalCap scores one results
// file: each hypothesis against its image's references after PTB
// tokenization, CIDEr-D's document frequencies from the references of these
// images, corpus scores summed in item order. No metrics means all. Both
// `capeval score` and the text jobs call it, so that they agree exactly.
func ScoreText(items []TextItem, workers int, metrics ...textmetrics.Metric) (*textmetrics.Result, error) {
	ev := textmetrics.NewEvaluator(textmetrics.Options{Workers: workers})
	for _, it := range items {
		if err := ev.Add(it.ImageID, it.Hypothesis, it.References); err != nil {
			return nil, err
		}
	}
	return ev.Compute(metrics...)
}

// TextScorer computes the text metrics of one captioner's captions. The
// jobs use DefaultTextScorer; tests count calls through their own.
type TextScorer interface {
	ScoreText(ctx context.Context, items []TextItem) (*textmetrics.Result, error)
}

// DefaultTextScorer scores with ScoreText on Workers goroutines (0: all
// cores), every text metric.
type DefaultTextScorer struct{ Workers int }

// ScoreText implements TextScorer.
func (d DefaultTextScorer) ScoreText(ctx context.Context, items []TextItem) (*textmetrics.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return ScoreText(items, d.Workers)
}

// maxListed is how many offending items a job error lists.
const maxListed = 20

// text runs a text job: per captioner, the text metrics of all its captions
// against the campaign's references, stored with the corpus scores in one
// transaction. A captioner whose corpus scores of TextMetricVersion cover
// all its captions is skipped: that is how a resumed job avoids redoing
// finished work.
//
// A caption of an image without references cannot be scored (BLEU and
// CIDEr-D need references, and COCOEvalCap refuses such a results file): the
// job fails before scoring anything, listing them.
func (ru *run) text(ctx context.Context) error {
	st, campaignID := ru.r.store, ru.job.CampaignID
	missing, n, err := st.EvalUnreferenced(ctx, campaignID, maxListed)
	if err != nil {
		return err
	}
	if n > 0 {
		items := make([]string, len(missing))
		for i, m := range missing {
			items[i] = fmt.Sprintf("%s@%s image %s", m.Captioner, m.Version, m.ExternalID)
		}
		more := ""
		if n > int64(len(missing)) {
			more = fmt.Sprintf(" and %d more", n-int64(len(missing)))
		}
		return fmt.Errorf("%d captions are of images without reference captions, so the text metrics cannot score them "+
			"(import references for these images): %s%s", n, strings.Join(items, ", "), more)
	}
	captioners, err := st.Captioners(ctx, campaignID)
	if err != nil {
		return err
	}
	total, done := 0, 0
	for _, c := range captioners {
		total += c.Captions
	}
	var todo []models.Captioner
	for _, c := range captioners {
		switch {
		case c.Captions == 0:
			ru.note("captioner %s@%s has no captions", c.Name, c.Version)
		case textComplete(c):
			done += c.Captions
		default:
			todo = append(todo, c.Captioner)
		}
	}
	ru.set(func(p *models.JobProgress) { p.Done, p.Total, p.Device = done, total, "cpu" })
	if err := ru.checkpoint(ctx); err != nil {
		return err
	}
	if len(todo) == 0 {
		return nil
	}
	images, refs, err := campaignImages(ctx, st, campaignID)
	if err != nil {
		return err
	}
	for _, c := range todo {
		captions, err := st.Captions(ctx, []int64{c.ID})
		if err != nil {
			return err
		}
		items := make([]TextItem, len(captions))
		for i, cp := range captions {
			items[i] = TextItem{ImageID: images[cp.ImageID].ExternalID, Hypothesis: cp.Text, References: refs[cp.ImageID]}
		}
		res, err := ru.r.scorers.Text.ScoreText(ctx, items)
		if err != nil {
			return fmt.Errorf("captioner %s@%s: %w", c.Name, c.Version, err)
		}
		if len(res.ImageIDs) != len(captions) {
			return fmt.Errorf("captioner %s@%s: the scorer returned %d rows for %d captions", c.Name, c.Version, len(res.ImageIDs), len(captions))
		}
		rows := make([]models.Score, 0, len(captions)*len(res.Names))
		for i, cp := range captions {
			for j, name := range res.Names {
				rows = append(rows, models.Score{CaptionID: cp.ID, Metric: name,
					Value: res.PerImage[i*len(res.Names)+j], MetricVersion: TextMetricVersion})
			}
		}
		agg := make([]models.CaptionerScore, len(res.Names))
		for j, name := range res.Names {
			agg[j] = models.CaptionerScore{CaptionerID: c.ID, Metric: name, Value: res.Corpus[j],
				MetricVersion: TextMetricVersion, N: len(captions)}
		}
		// Per-caption scores and the corpus scores together: a captioner is
		// either finished or not started, never half stored.
		err = st.InTx(ctx, func(tx *models.Store) error {
			if err := tx.PutScores(ctx, rows); err != nil {
				return err
			}
			return tx.PutCaptionerScores(ctx, agg)
		})
		if err != nil {
			return fmt.Errorf("captioner %s@%s: store scores: %w", c.Name, c.Version, err)
		}
		ru.set(func(p *models.JobProgress) { p.Done += len(captions) })
		if err := ru.checkpoint(ctx); err != nil {
			return err
		}
	}
	return nil
}

// textComplete reports whether the captioner has every text corpus score
// at TextMetricVersion, computed over all its captions.
func textComplete(c models.CaptionerSummary) bool {
	for _, name := range TextNames {
		if s, ok := c.Scores[name]; !ok || s.MetricVersion != TextMetricVersion || s.N != c.Captions {
			return false
		}
	}
	return true
}

// campaignImages reads the campaign's images by ID and its reference texts
// by image ID, each image's in position order (images without references
// are absent), as both jobs use them.
func campaignImages(ctx context.Context, st RunnerStore, campaignID int64) (map[int64]models.Image, map[int64][]string, error) {
	imgs, err := st.Images(ctx, campaignID, false)
	if err != nil {
		return nil, nil, err
	}
	images := make(map[int64]models.Image, len(imgs))
	for _, im := range imgs {
		images[im.ID] = im
	}
	rs, err := st.References(ctx, campaignID)
	if err != nil {
		return nil, nil, err
	}
	refs := map[int64][]string{}
	for _, r := range rs {
		refs[r.ImageID] = append(refs[r.ImageID], r.Text)
	}
	return images, refs, nil
}
