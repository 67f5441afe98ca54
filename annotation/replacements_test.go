package annotation_test

import (
	"testing"

	"capeval/annotation"
	"capeval/models"
	"capeval/models/modelstest"
)

// TestReplaceExcluded: the ratings of an excluded annotator still fill
// their tasks; ReplaceExcluded asks each such regular task for one more
// rating (gold tasks are not rated again), the queue hands those tasks to
// another annotator and never to the excluded one, asking again replaces
// nothing, and after including and excluding the annotator again nothing
// more is asked for. No rating is changed or deleted; the change is
// audited once.
func TestReplaceExcluded(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newQualityFixture(t, s, qualitySpec{regular: 4, gold: 2, wanted: 2})
		careless, careful, third := f.annotator("careless"), f.annotator("careful"), f.annotator("third")
		// careless and careful each rate every task: all 6 are full.
		for range 6 {
			v, _ := f.next(careless)
			f.rate(careless, v, qans{value: 1})
			v, _ = f.next(careful)
			f.rate(careful, v, qans{right: true, value: 4})
		}
		if v, _ := f.next(third); v != nil {
			t.Fatalf("a full campaign handed task %d out", v.TaskID)
		}
		replace := func() *annotation.Replacements {
			t.Helper()
			out, err := f.quality.ReplaceExcluded(f.ctx, f.lead.ID, f.camp.ID)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		audits := func() int {
			t.Helper()
			log, err := s.AuditLog(f.ctx, f.camp.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, e := range log {
				if e.Action == annotation.AuditReplacement {
					n++
				}
			}
			return n
		}
		exclude := func(who int64, decision string) {
			t.Helper()
			if _, err := f.quality.SetExclusion(f.ctx, f.lead.ID, f.camp.ID, who, decision, "test"); err != nil {
				t.Fatal(err)
			}
		}

		// Nobody excluded: nothing to replace, nothing written.
		if got := replace(); got.Ratings != 0 || got.Tasks != 0 || audits() != 0 {
			t.Fatalf("with nobody excluded: %+v, %d audit entries", got, audits())
		}
		exclude(careless, annotation.DecisionExclude)
		if got := f.report().Replaceable; got != (models.ReplacementCount{Ratings: 4, Tasks: 4}) {
			t.Errorf("replaceable before = %+v, want the 4 regular ratings on 4 tasks", got)
		}
		got := replace()
		if got.Ratings != 4 || got.Tasks != 4 || len(got.Annotators) != 1 || got.Annotators[0].ID != careless || audits() != 1 {
			t.Fatalf("replace = %+v (%d audit entries), want careless's 4 regular ratings on 4 tasks, audited once", got, audits())
		}
		if got := f.report().Replaceable; got != (models.ReplacementCount{}) {
			t.Errorf("replaceable after = %+v, want none", got)
		}
		if again := replace(); again.Ratings != 0 || audits() != 1 {
			t.Errorf("asking again = %+v, %d audit entries; want nothing", again, audits())
		}
		// The excluded annotator gets nothing; the third annotator gets
		// exactly the 4 reopened regular tasks, and then nothing.
		if v, _ := f.next(careless); v != nil {
			t.Errorf("the excluded annotator got task %d", v.TaskID)
		}
		seen := map[int64]bool{}
		for range 4 {
			v, reason := f.next(third)
			if v == nil {
				t.Fatalf("third annotator: no reopened task after %d (%s)", len(seen), reason)
			}
			if f.isGold(v.TaskID) || seen[v.TaskID] {
				t.Fatalf("third annotator got task %d (gold %v, seen %v)", v.TaskID, f.isGold(v.TaskID), seen[v.TaskID])
			}
			seen[v.TaskID] = true
			f.rate(third, v, qans{value: 4})
		}
		if v, _ := f.next(third); v != nil {
			t.Errorf("a fifth task %d after the 4 reopened ones", v.TaskID)
		}
		if n := f.countRatings(); n != 6+6+4 {
			t.Errorf("%d ratings stored, want 16: none changed or deleted", n)
		}
		// Include and exclude again: each rating was replaced once already.
		exclude(careless, annotation.DecisionInclude)
		exclude(careless, annotation.DecisionExclude)
		if again := replace(); again.Ratings != 0 {
			t.Errorf("after including and excluding again: %+v, want nothing more", again)
		}
	})
}
