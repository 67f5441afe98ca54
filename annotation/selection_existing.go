package annotation

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"capeval/models"
)

// itemKey identifies what a regular task stands for: an image and the
// normalized text of each side (sorted for a pair, whose sides are drawn
// at random; b is "" for a single task). Identical texts of an image are
// rated once, so two tasks with the same key are the same item, whichever
// captions they show.
type itemKey struct {
	image int64
	a, b  string
}

func keyOf(image int64, a, b string) itemKey {
	a, b = normText(a), normText(b)
	if b != "" && b < a {
		a, b = b, a
	}
	return itemKey{image, a, b}
}

// keptItem is a kept task as an item: its ID, the normalized text of each
// of its sides and the captions it stands for.
type keptItem struct {
	id     int64
	texts  [2]string
	linked map[int64]bool
}

// applyExisting looks at the campaign's tasks: without replace they are
// only counted (Commit refuses); with replace the touched ones are kept,
// positions continue after theirs, and an item a kept task stands for is
// not queued again. That is decided by the texts of each side, not by the
// caption a task shows: after a re-scoring another caption of the same
// text may lead its group. The planned captions of such an item that the
// kept task does not stand for yet are linked to it (p.keptLinks), so its
// ratings count for them as they would have in one selection.
func (p *plan) applyExisting(ctx context.Context, r selectionReader, replace bool, now time.Time) error {
	existing, err := r.CampaignTasks(ctx, p.camp.ID, now)
	if err != nil {
		return fmt.Errorf("annotation: selection of campaign %d: %w", p.camp.ID, err)
	}
	kept := map[itemKey]*keptItem{}
	for _, t := range existing {
		if t.Origin != models.OriginSelection && t.Origin != "" {
			// A lead's gold task or the task of imported judgments is not
			// the selection's to replace or count: the queue continues
			// after it, and nothing else changes.
			p.basePosition = max(p.basePosition, t.Position+1)
			continue
		}
		p.counts.ExistingTasks++
		if !t.Touched {
			p.replaced = append(p.replaced, t.ID)
			continue
		}
		p.counts.KeptTasks++
		p.basePosition = max(p.basePosition, t.Position+1)
		if t.IsGold {
			continue
		}
		k := keyOf(t.ImageID, t.TextA, t.TextB)
		if kept[k] != nil {
			continue // a duplicate from before this check: the first one stands
		}
		it := &keptItem{id: t.ID, texts: [2]string{normText(t.TextA), normText(t.TextB)}, linked: map[int64]bool{}}
		for _, l := range t.Captions {
			it.linked[l.CaptionID] = true
		}
		kept[k] = it
	}
	p.counts.ReplacedTasks = p.counts.ExistingTasks - p.counts.KeptTasks
	if p.counts.ExistingTasks == 0 {
		return nil
	}
	if !replace {
		p.warnings = append(p.warnings, fmt.Sprintf("the campaign has %d tasks: a commit needs replace (which keeps the %d with ratings or a live lease)",
			p.counts.ExistingTasks, p.counts.KeptTasks))
		return nil
	}
	out := p.tasks[:0]
	for _, t := range p.tasks {
		var textB string
		if t.b != nil {
			textB = t.b.shown.Text
		}
		it := kept[keyOf(t.image, t.a.shown.Text, textB)]
		if it == nil {
			out = append(out, t)
			continue
		}
		p.counts.AlreadyQueued++
		for _, sd := range []*planSide{t.a, t.b} {
			if sd == nil {
				continue
			}
			side := slices.Index(it.texts[:], normText(sd.shown.Text))
			for _, id := range sd.captions {
				if !it.linked[id] {
					it.linked[id] = true
					p.keptLinks = append(p.keptLinks, models.TaskCaption{TaskID: it.id, CaptionID: id, Side: side})
				}
			}
		}
	}
	p.tasks = out
	slices.SortFunc(p.keptLinks, func(x, y models.TaskCaption) int {
		return cmp.Or(cmp.Compare(x.TaskID, y.TaskID), cmp.Compare(x.CaptionID, y.CaptionID))
	})
	p.counts.LinkedToKept = len(p.keptLinks)
	return nil
}
