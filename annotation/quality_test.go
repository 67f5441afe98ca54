package annotation_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"capeval/annotation"
	"capeval/models"
	"capeval/models/modelstest"
)

func TestGoldVerdict(t *testing.T) {
	good := models.JSON(`{"kind":"known_good","text":"t","expect":{"criterion":"overall","min":4}}`)
	bad := models.JSON(`{"kind":"known_bad","text":"t","expect":{"criterion":"overall","max":2}}`)
	pair := models.JSON(`{"kind":"known_pair","text_a":"x","text_b":"y","expect":{"winner":"b"}}`)
	likert := func(v int) models.QualityRating {
		return models.QualityRating{IsGold: true, Answers: models.MustJSON(map[string]int{"precision": 1, "overall": v})}
	}
	choice := func(c string) models.QualityRating {
		return models.QualityRating{IsGold: true, Choice: c, Answers: models.JSON("null")}
	}
	tests := []struct {
		name            string
		gold            models.JSON
		r               models.QualityRating
		correct, scored bool
	}{
		{"known good at the top", good, likert(5), true, true},
		{"known good at the top's lower point", good, likert(4), true, true},
		{"known good in the middle", good, likert(3), false, true},
		{"known bad at the bottom", bad, likert(1), true, true},
		{"known bad at the bottom's upper point", bad, likert(2), true, true},
		{"known bad in the middle", bad, likert(3), false, true},
		{"known bad rated good", bad, likert(5), false, true},
		{"pair: the expected winner", pair, choice("b"), true, true},
		{"pair: the other", pair, choice("a"), false, true},
		{"pair: a tie is wrong", pair, choice("tie"), false, true},
		{"pair: both bad is wrong", pair, choice("both_bad"), false, true},
		{"no value for the criterion", good, models.QualityRating{IsGold: true, Answers: models.JSON(`{"precision":5}`)}, false, false},
		{"a Likert answer to a pair", pair, likert(5), false, false},
		{"malformed gold answer", models.JSON(`{"expect":`), likert(5), false, false},
		{"gold answer without expectation", models.JSON(`{"kind":"known_good"}`), likert(5), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s := annotation.GoldVerdict(tt.gold, tt.r)
			if c != tt.correct || s != tt.scored {
				t.Errorf("correct, scored = %v, %v; want %v, %v", c, s, tt.correct, tt.scored)
			}
		})
	}
}

// Reference values computed apart: the p-values as exact sums of binomial
// coefficients in integer arithmetic (they agree with R's binom.test), the
// Wilson intervals from the textbook formula with z = 1.959964.
func TestBinomialAndWilson(t *testing.T) {
	tests := []struct {
		k, n     int
		p        float64
		low, hig float64
	}{
		{10, 10, 0.001953125, 0.7224672, 1},
		{5, 10, 1, 0.2365931, 0.7634069},
		{15, 20, 0.04138946533, 0.5312991, 0.8881383},
		{3, 20, 0.002576828003, 0.0523687, 0.3604189},
		{50, 100, 1, 0.4038315, 0.5961685},
		{0, 1, 1, 0, 0.7934507},
	}
	for _, tt := range tests {
		p := annotation.BinomialTwoSided(tt.k, tt.n)
		lo, hi := annotation.Wilson(tt.k, tt.n)
		if math.Abs(p-tt.p) > 1e-6*math.Max(1, tt.p) || math.Abs(lo-tt.low) > 1e-5 || math.Abs(hi-tt.hig) > 1e-5 {
			t.Errorf("%d of %d: p %.9g [%.7f, %.7f], want %.9g [%.7f, %.7f]", tt.k, tt.n, p, lo, hi, tt.p, tt.low, tt.hig)
		}
	}
}

func TestQualitySettings(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newQualityFixture(t, s, qualitySpec{regular: 1, gold: 1})
		ok := annotation.DefaultQualitySettings()
		tests := []struct {
			name  string
			edit  func(*annotation.QualitySettings)
			where string // "" for accepted
		}{
			{"qualification tasks negative", func(q *annotation.QualitySettings) { q.QualificationTasks = -1 }, "qualification_tasks"},
			{"qualification tasks too many", func(q *annotation.QualitySettings) { q.QualificationTasks = 101; q.QualificationAccuracy = .5 }, "qualification_tasks"},
			{"qualification without accuracy", func(q *annotation.QualitySettings) { q.QualificationTasks = 5 }, "qualification_accuracy"},
			{"accuracy as a percentage", func(q *annotation.QualitySettings) { q.QualificationTasks = 5; q.QualificationAccuracy = 80 }, "qualification_accuracy"},
			{"min accuracy negative", func(q *annotation.QualitySettings) { q.MinAccuracy = -.1 }, "min_accuracy"},
			{"min accuracy NaN", func(q *annotation.QualitySettings) { q.MinAccuracy = math.NaN() }, "min_accuracy"},
			{"min gold answers 0", func(q *annotation.QualitySettings) { q.MinGoldAnswers = 0 }, "min_gold_answers"},
			{"exclude without a threshold", func(q *annotation.QualitySettings) { q.ExcludeFlagged = true }, "exclude_flagged"},
			{"min seconds negative", func(q *annotation.QualitySettings) { q.MinSeconds = -1 }, "min_seconds"},
			{"min seconds an hour and more", func(q *annotation.QualitySettings) { q.MinSeconds = 3601 }, "min_seconds"},
			{"daily cap negative", func(q *annotation.QualitySettings) { q.DailyCap = -5 }, "daily_cap"},
			{"straight-lining window of 2", func(q *annotation.QualitySettings) { q.StraightLineWindow = 2 }, "straight_line_window"},
			{"everything on", func(q *annotation.QualitySettings) {
				*q = annotation.QualitySettings{QualificationTasks: 4, QualificationAccuracy: .75, MinAccuracy: .7, MinGoldAnswers: 3,
					ExcludeFlagged: true, MinSeconds: 2.5, DailyCap: 200, StraightLineWindow: 10}
			}, ""},
		}
		audits := func() int {
			log, err := s.AuditLog(f.ctx, f.camp.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, e := range log {
				if e.Action == annotation.AuditQuality {
					n++
				}
			}
			return n
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				in := ok
				tt.edit(&in)
				before := audits()
				v, err := f.quality.SetSettings(f.ctx, f.lead.ID, f.camp.ID, in)
				if tt.where != "" {
					var ve *annotation.ValidationError
					if !errors.As(err, &ve) || ve.Problems[0].Where != tt.where {
						t.Fatalf("err = %v, want a problem at %s", err, tt.where)
					}
					if audits() != before {
						t.Error("a refused change was audited")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if v.QualitySettings != in || v.UpdatedBy == nil || v.UpdatedBy.ID != f.lead.ID || v.UpdatedAt == nil {
					t.Errorf("stored %+v", v)
				}
				if audits() != before+1 {
					t.Errorf("%d audit entries, want %d", audits(), before+1)
				}
				// The same settings again change and record nothing.
				if _, err := f.quality.SetSettings(f.ctx, f.lead.ID, f.camp.ID, in); err != nil || audits() != before+1 {
					t.Errorf("same settings again: %v, %d audit entries", err, audits())
				}
			})
		}
		got, err := f.quality.Settings(f.ctx, f.camp.ID)
		if err != nil || got.DailyCap != 200 || got.StraightLineWindow != 10 {
			t.Errorf("settings read back: %+v, %v", got, err)
		}
		if _, err := f.quality.SetSettings(f.ctx, f.lead.ID, 999, ok); !errors.Is(err, annotation.ErrNotFound) {
			t.Errorf("missing campaign: %v", err)
		}
	})
}

// TestQualification runs the qualification through the real queue: a new
// annotator gets gold only for the first N tasks, then regular tasks when
// they passed, nothing when they failed; one who rated before the
// qualification is exempt; the lead can keep a failed annotator in.
func TestQualification(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newQualityFixture(t, s, qualitySpec{regular: 6, gold: 6, wanted: 4})
		early := f.annotator("early")
		f.work(early, 1, qans{value: 4})

		f.settings(annotation.QualitySettings{QualificationTasks: 3, QualificationAccuracy: 2.0 / 3, MinGoldAnswers: 5})
		good, poor, kept := f.annotator("good"), f.annotator("poor"), f.annotator("kept")
		for _, tt := range []struct {
			name  string
			id    int64
			right []bool
			want  string // "admitted" or the reason's start
		}{
			{"two of three right passes", good, []bool{true, false, true}, "admitted"},
			{"one of three right fails", poor, []bool{false, true, false}, "thank you"},
			{"failed, then kept", kept, []bool{false, false, false}, "thank you"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				for i, right := range tt.right {
					v, reason := f.next(tt.id)
					if v == nil || !f.isGold(v.TaskID) {
						t.Fatalf("qualification task %d: %+v (%s), want a gold task", i+1, v, reason)
					}
					f.rate(tt.id, v, qans{right: right})
				}
				v, reason := f.next(tt.id)
				if tt.want == "admitted" {
					if v == nil {
						t.Fatalf("passed annotator got nothing: %s", reason)
					}
					return
				}
				if v != nil || !strings.HasPrefix(reason, tt.want) || strings.Contains(reason, "gold") {
					t.Fatalf("failed annotator: %+v, %q", v, reason)
				}
			})
		}
		if v, _ := f.next(early); v == nil || f.isGold(v.TaskID) {
			t.Errorf("an annotator who rated before the qualification: %+v, want a regular task", v)
		}
		if _, err := f.quality.SetExclusion(f.ctx, f.lead.ID, f.camp.ID, kept, annotation.DecisionInclude, "checked by hand"); err != nil {
			t.Fatal(err)
		}
		if v, reason := f.next(kept); v == nil {
			t.Errorf("an annotator the lead kept in gets nothing: %s", reason)
		}
		want := map[int64]string{early: "exempt", good: "passed", poor: "failed", kept: "kept"}
		for _, a := range f.report().Annotators {
			if a.Qualification.Status != want[a.Annotator.ID] {
				t.Errorf("%s: qualification %+v, want %s", a.Annotator.Email, a.Qualification, want[a.Annotator.ID])
			}
			if (a.Annotator.ID == poor) != hasFlag(a, annotation.FlagNotQualified) {
				t.Errorf("%s: flags %+v", a.Annotator.Email, a.Flags)
			}
		}
		if q := f.annotatorReport(good).Qualification; q.Answered != 3 || q.Correct != 2 {
			t.Errorf("passed qualification %+v, want 2 of 3", q)
		}
		// Lowering the threshold admits the failed annotator: the outcome is
		// judged against the threshold in force.
		f.settings(annotation.QualitySettings{QualificationTasks: 3, QualificationAccuracy: 1.0 / 3, MinGoldAnswers: 5})
		if v, reason := f.next(poor); v == nil {
			t.Errorf("after the threshold was lowered: %s", reason)
		}
	})
}

func hasID(list []int64, id int64) bool {
	for _, x := range list {
		if x == id {
			return true
		}
	}
	return false
}

// TestExclusion: a flagged annotator's ratings are excluded by the
// settings, the lead's decisions override the settings both ways, the
// reversal restores them, every change is audited, and no rating is ever
// deleted or changed.
func TestExclusion(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newQualityFixture(t, s, qualitySpec{regular: 6, gold: 4, wanted: 3})
		careless, careful := f.annotator("careless"), f.annotator("careful")
		// Each does every task: 6 regular, 4 gold.
		for range 10 {
			v, _ := f.next(careless)
			f.rate(careless, v, qans{right: false, value: 2})
			v, _ = f.next(careful)
			f.rate(careful, v, qans{right: true, value: 4})
		}
		ratings := f.countRatings()
		excluded := func() []int64 {
			t.Helper()
			ids, err := f.quality.ExcludedAnnotators(f.ctx, f.camp.ID)
			if err != nil {
				t.Fatal(err)
			}
			return ids
		}
		steps := []struct {
			name     string
			settings *annotation.QualitySettings
			who      int64
			decision string
			want     []int64
			action   bool // an audit entry of the decision
		}{
			{"no threshold: nobody", nil, 0, "", []int64{}, false},
			{"flagged but kept", &annotation.QualitySettings{MinAccuracy: .8, MinGoldAnswers: 4}, 0, "", []int64{}, false},
			{"flagged and excluded by the settings", &annotation.QualitySettings{MinAccuracy: .8, MinGoldAnswers: 4, ExcludeFlagged: true}, 0, "", []int64{careless}, false},
			{"the lead keeps them in", nil, careless, annotation.DecisionInclude, []int64{}, true},
			{"the lead excludes the careful one", nil, careful, annotation.DecisionExclude, []int64{careful}, true},
			{"the same decision again", nil, careful, annotation.DecisionExclude, []int64{careful}, false},
			{"reversed", nil, careful, annotation.DecisionPolicy, []int64{}, true},
			{"the settings decide again", nil, careless, annotation.DecisionPolicy, []int64{careless}, true},
			{"threshold off", &annotation.QualitySettings{MinGoldAnswers: 5}, 0, "", []int64{}, false},
		}
		for _, st := range steps {
			before, _ := s.AuditLog(f.ctx, f.camp.ID, 0)
			if st.settings != nil {
				f.settings(*st.settings)
			}
			if st.decision != "" {
				ex, err := f.quality.SetExclusion(f.ctx, f.lead.ID, f.camp.ID, st.who, st.decision, "reviewed")
				if err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				if ex.Excluded != hasID(st.want, st.who) {
					t.Errorf("%s: state %+v", st.name, ex)
				}
				if st.decision != annotation.DecisionPolicy && (ex.DecidedBy == nil || ex.DecidedBy.ID != f.lead.ID || ex.DecidedAt == nil) {
					t.Errorf("%s: who and when missing: %+v", st.name, ex)
				}
			}
			got := excluded()
			if len(got) != len(st.want) || (len(got) > 0 && got[0] != st.want[0]) {
				t.Errorf("%s: excluded %v, want %v", st.name, got, st.want)
			}
			after, _ := s.AuditLog(f.ctx, f.camp.ID, 0)
			decisions := 0
			for _, e := range after[:len(after)-len(before)] {
				if e.Action == annotation.AuditExclusion {
					decisions++
				}
			}
			if (decisions == 1) != st.action {
				t.Errorf("%s: %d exclusion audit entries", st.name, decisions)
			}
			if n := f.countRatings(); n != ratings {
				t.Fatalf("%s: %d ratings in the database, want %d", st.name, n, ratings)
			}
		}
		// An excluded annotator gets no more tasks; the reversal gives
		// them back (a new task exists for them).
		late := f.annotator("late")
		if _, err := f.quality.SetExclusion(f.ctx, f.lead.ID, f.camp.ID, late, annotation.DecisionExclude, ""); err != nil {
			t.Fatal(err)
		}
		if v, reason := f.next(late); v != nil || !strings.Contains(reason, "under review") {
			t.Errorf("excluded annotator: %+v, %q", v, reason)
		}
		if _, err := f.quality.SetExclusion(f.ctx, f.lead.ID, f.camp.ID, late, annotation.DecisionPolicy, ""); err != nil {
			t.Fatal(err)
		}
		if v, reason := f.next(late); v == nil {
			t.Errorf("after the reversal: %s", reason)
		}
		for _, tt := range []struct {
			name      string
			who       int64
			decision  string
			reason    string
			wantWhere string
			wantErr   error
		}{
			{"unknown decision", careless, "ban", "", "decision", nil},
			{"reason too long", careless, annotation.DecisionExclude, strings.Repeat("x", 501), "reason", nil},
			{"no such user", 9999, annotation.DecisionExclude, "", "", annotation.ErrNotFound},
		} {
			_, err := f.quality.SetExclusion(f.ctx, f.lead.ID, f.camp.ID, tt.who, tt.decision, tt.reason)
			var ve *annotation.ValidationError
			switch {
			case tt.wantWhere != "" && (!errors.As(err, &ve) || ve.Problems[0].Where != tt.wantWhere):
				t.Errorf("%s: %v, want a problem at %s", tt.name, err, tt.wantWhere)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("%s: %v, want %v", tt.name, err, tt.wantErr)
			}
		}
	})
}

// TestFlags: fast ratings, straight-lining and gold accuracy, each from
// the ratings the queue took.
func TestFlags(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newQualityFixture(t, s, qualitySpec{regular: 12, gold: 0, wanted: 3})
		f.settings(annotation.QualitySettings{MinSeconds: 3, StraightLineWindow: 5, MinGoldAnswers: 5})
		tests := []struct {
			name      string
			answers   []qans
			fast, run int
			flags     []string
		}{
			{"careful", []qans{{value: 4, seconds: 8}, {value: 2, seconds: 12}, {seconds: 9, criteria: map[string]int{"overall": 5}},
				{value: 4, seconds: 7}, {value: 4, seconds: 7}, {value: 3, seconds: 20}}, 0, 2, nil},
			{"fast", []qans{{value: 4, seconds: 1}, {value: 2, seconds: 2.9}, {seconds: 3, criteria: map[string]int{"overall": 5}}}, 2, 1,
				[]string{annotation.FlagFastRatings}},
			{"straight-lining", []qans{{value: 2, seconds: 5}, {value: 5, seconds: 5}, {value: 5, seconds: 5}, {value: 5, seconds: 5},
				{value: 5, seconds: 5}, {value: 5, seconds: 5}, {value: 1, seconds: 5}}, 0, 5, []string{annotation.FlagStraightLining}},
			{"varied values break the run", []qans{{value: 5, seconds: 5}, {value: 5, seconds: 5}, {value: 5, seconds: 5},
				{value: 5, seconds: 5, criteria: map[string]int{"fluency": 4}}, {value: 5, seconds: 5}, {value: 5, seconds: 5}}, 0, 3, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				id := f.annotator(strings.ReplaceAll(tt.name, " ", "-"))
				for _, a := range tt.answers {
					f.work(id, 1, a)
				}
				got := f.annotatorReport(id)
				var codes []string
				for _, fl := range got.Flags {
					codes = append(codes, fl.Code)
				}
				if got.FastRatings != tt.fast || got.StraightRun != tt.run || strings.Join(codes, ",") != strings.Join(tt.flags, ",") {
					t.Errorf("fast %d, run %d, flags %v; want %d, %d, %v", got.FastRatings, got.StraightRun, got.Flags, tt.fast, tt.run, tt.flags)
				}
				if got.Ratings != len(tt.answers) || got.Today != len(tt.answers) || got.MedianSeconds == nil {
					t.Errorf("counts %+v", got)
				}
			})
		}
	})
}

func TestGoldAccuracyAndPositionBias(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newQualityFixture(t, s, qualitySpec{mode: models.ModePairwise, regular: 16, gold: 4, wanted: 2})
		f.settings(annotation.QualitySettings{MinAccuracy: .75, MinGoldAnswers: 4})
		// "first" always picks the caption shown first (A as shown) and
		// gets every gold pair wrong unless the winner was shown first;
		// "fair" alternates and gets gold right.
		first, fair := f.annotator("first"), f.annotator("fair")
		for i := range 20 {
			v, _ := f.next(first)
			f.rate(first, v, qans{choice: "A"}) // gold: the wrong side, wherever shown
			v, _ = f.next(fair)
			f.rate(fair, v, qans{right: true, choice: map[bool]string{true: "A", false: "B"}[i%2 == 0], seconds: 4})
		}
		rep := f.report()
		if rep.PositionBias == nil || rep.PositionBias.Decisive != 40 {
			t.Fatalf("campaign position bias %+v", rep.PositionBias)
		}
		a := f.annotatorReport(first)
		b := a.PositionBias
		if b == nil || b.Decisive != 20 || b.Share == nil || b.PValue == nil {
			t.Fatalf("first-shown annotator: %+v", b)
		}
		// 16 regular choices of the first-shown caption; the 4 gold ones
		// went to the loser, wherever it was shown.
		if b.FirstShownWins < 16 || *b.PValue >= annotation.PositionBiasAlpha || !hasFlag(a, annotation.FlagPositionBias) {
			t.Errorf("first-shown annotator: %+v, flags %+v", b, a.Flags)
		}
		if *b.CILow > *b.Share || *b.CIHigh < *b.Share {
			t.Errorf("interval [%v, %v] misses the share %v", *b.CILow, *b.CIHigh, *b.Share)
		}
		if a.Gold.Answered != 4 || a.Gold.Correct != 0 || !hasFlag(a, annotation.FlagLowAccuracy) {
			t.Errorf("first-shown annotator's gold %+v, flags %+v", a.Gold, a.Flags)
		}
		c := f.annotatorReport(fair)
		if c.Gold.Correct != 4 || *c.Gold.Accuracy != 1 || hasFlag(c, annotation.FlagLowAccuracy) || hasFlag(c, annotation.FlagPositionBias) {
			t.Errorf("fair annotator: gold %+v, bias %+v, flags %+v", c.Gold, c.PositionBias, c.Flags)
		}
		if rep.Gold.Answered != 8 || rep.Gold.Correct != 4 {
			t.Errorf("campaign gold %+v", rep.Gold)
		}
	})
}

func TestDailyCap(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newQualityFixture(t, s, qualitySpec{regular: 8, wanted: 2})
		f.settings(annotation.QualitySettings{DailyCap: 3, MinGoldAnswers: 5})
		id := f.annotator("capped")
		f.work(id, 2, qans{seconds: 5})
		// The third task is on screen; the prefetch of a fourth would take
		// the annotator past the cap.
		v, _ := f.next(id)
		if v == nil {
			t.Fatal("no third task")
		}
		if w, _, err := f.queue.Next(f.ctx, id, f.camp.ID, v.TaskID); err != nil || w != nil {
			t.Errorf("prefetch at the cap: %+v, %v", w, err)
		}
		// A reload of the page gets the task on screen back.
		if w, reason := f.next(id); w == nil || w.TaskID != v.TaskID {
			t.Errorf("next while holding the last task of the day: %+v (%s), want task %d", w, reason, v.TaskID)
		}
		f.rate(id, v, qans{seconds: 5})
		w, reason := f.next(id)
		if w != nil || !strings.Contains(reason, "today's limit of 3") {
			t.Errorf("at the cap: %+v, %q", w, reason)
		}
		list, err := f.queue.Campaigns(f.ctx, id)
		if err != nil || len(list) != 1 || list[0].DailyCap != 3 || list[0].DoneToday != 3 {
			t.Errorf("the annotator's campaign list: %+v, %v", list, err)
		}
		// The next UTC day starts a new count.
		f.clock.Advance(24 * time.Hour)
		if w, reason := f.next(id); w == nil {
			t.Errorf("the next day: %s", reason)
		}
	})
}
