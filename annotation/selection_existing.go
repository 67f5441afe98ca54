package annotation

import (
	"context"
	"fmt"
	"time"
)

// applyExisting looks at the campaign's tasks: without replace they are
// only counted (Commit refuses); with replace the touched ones are kept,
// items they already show are not queued again, and positions continue
// after theirs.
func (p *plan) applyExisting(ctx context.Context, r selectionReader, replace bool, now time.Time) error {
	existing, err := r.CampaignTasks(ctx, p.camp.ID, now)
	if err != nil {
		return fmt.Errorf("annotation: selection of campaign %d: %w", p.camp.ID, err)
	}
	p.counts.ExistingTasks = len(existing)
	if len(existing) == 0 {
		return nil
	}
	keptShown := map[[2]int64]bool{}
	for _, t := range existing {
		if !t.Touched {
			continue
		}
		p.counts.KeptTasks++
		p.basePosition = max(p.basePosition, t.Position+1)
		if t.IsGold {
			continue
		}
		a, b := t.Shown()
		keptShown[[2]int64{min(a, b), max(a, b)}] = true
		keptShown[[2]int64{a, b}] = true
	}
	p.counts.ReplacedTasks = p.counts.ExistingTasks - p.counts.KeptTasks
	if !replace {
		p.warnings = append(p.warnings, fmt.Sprintf("the campaign has %d tasks: a commit needs replace (which keeps the %d with ratings or a live lease)",
			p.counts.ExistingTasks, p.counts.KeptTasks))
		return nil
	}
	out := p.tasks[:0]
	for _, t := range p.tasks {
		var b int64
		if t.b != nil {
			b = t.b.shown.ID
		}
		a := t.a.shown.ID
		if t.b == nil && keptShown[[2]int64{a, 0}] || t.b != nil && keptShown[[2]int64{min(a, b), max(a, b)}] {
			p.counts.AlreadyQueued++
			continue
		}
		out = append(out, t)
	}
	p.tasks = out
	return nil
}
