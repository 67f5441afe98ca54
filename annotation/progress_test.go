package annotation_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"capeval/annotation"
	"capeval/models"
	"capeval/models/modelstest"
)

// seedRating stores a rating the way the queue does (ratings_done counted
// with it), at a given time.
func (f *qualityFixture) seedRating(taskID, annotatorID int64, at time.Time, answers map[string]int) {
	f.t.Helper()
	f.clientIDs++
	r := &models.Rating{TaskID: taskID, AnnotatorID: annotatorID, Answers: models.MustJSON(answers),
		ClientID: fmt.Sprint("seed", f.clientIDs), DurationMS: 5000, CreatedAt: at.UTC()}
	if err := f.store.AddRating(f.ctx, r); err != nil {
		f.t.Fatal(err)
	}
}

func (f *qualityFixture) seedSkip(taskID, annotatorID int64, reason models.SkipReason) {
	f.t.Helper()
	if _, err := f.store.AddSkip(f.ctx, &models.Skip{TaskID: taskID, AnnotatorID: annotatorID, Reason: reason}); err != nil {
		f.t.Fatal(err)
	}
}

func allOf(v int) map[string]int {
	return map[string]int{"precision": v, "recall": v, "fluency": v, "overall": v}
}

// TestProgress checks every number of the progress view on a seeded
// campaign, then the lead's decisions about set-aside tasks.
func TestProgress(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newQualityFixture(t, s, qualitySpec{regular: 6, gold: 2, wanted: 2})
		now := f.clock.Now()
		a, b, c, d := f.annotator("a"), f.annotator("b"), f.annotator("c"), f.annotator("d")
		r := f.regular
		// R1 done (two ratings), R2 one rating, R3 leased (live), R4 an
		// expired lease, R5 set aside (two "image broken" skips), R6
		// untouched; gold 1 rated once (right), gold 2 untouched.
		f.seedRating(r[0], a, now.Add(-30*time.Minute), allOf(4))
		f.seedRating(r[0], b, now.Add(-90*time.Minute), allOf(3))
		f.seedRating(r[1], a, now.Add(-3*time.Hour), allOf(2))
		f.seedRating(f.gold[0], a, now.Add(-2*time.Hour), allOf(5))
		if _, err := s.TakeLease(f.ctx, r[2], c, now.Add(-time.Minute), now.Add(9*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TakeLease(f.ctx, r[3], d, now.Add(-20*time.Minute), now.Add(-10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		f.seedSkip(r[4], a, models.SkipImageBroken)
		f.seedSkip(r[4], b, models.SkipImageBroken)
		f.seedSkip(r[5], d, models.SkipCantJudge)

		progress := annotation.NewProgress(s, f.quality, nil).WithClock(f.clock.Now)
		get := func() *annotation.CampaignProgress {
			t.Helper()
			p, err := progress.Get(f.ctx, f.camp.ID)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		p := get()
		wantTasks := models.TaskProgress{Tasks: 6, Done: 1, InProgress: 2, Remaining: 2, SetAside: 1,
			RatingsWanted: 10, RatingsDone: 3, RatingsRemaining: 7}
		if p.Tasks != wantTasks {
			t.Errorf("regular tasks %+v\nwant %+v", p.Tasks, wantTasks)
		}
		wantGold := models.TaskProgress{Tasks: 2, InProgress: 1, Remaining: 1, RatingsWanted: 4, RatingsDone: 1, RatingsRemaining: 3}
		if p.Gold != wantGold {
			t.Errorf("gold tasks %+v\nwant %+v", p.Gold, wantGold)
		}
		if p.Leases != 1 || p.Complete || p.Status != models.StatusCollecting {
			t.Errorf("leases %d, complete %v, status %s", p.Leases, p.Complete, p.Status)
		}
		// Three regular ratings in the last day, the first 3 hours ago: 1
		// per hour, so the 7 remaining take 7 hours.
		if p.Throughput.LastHour != 1 || p.Throughput.LastDay != 3 || p.Throughput.PerHour == nil || *p.Throughput.PerHour != 1 {
			t.Errorf("throughput %+v", p.Throughput)
		}
		if p.Estimate == nil || p.Estimate.Seconds != 7*3600 || !p.Estimate.At.Equal(now.Add(7*time.Hour)) {
			t.Errorf("estimate %+v, want 7 h from %s", p.Estimate, now)
		}
		if p.GoldAccuracy.Answered != 1 || p.GoldAccuracy.Correct != 1 {
			t.Errorf("gold accuracy %+v", p.GoldAccuracy)
		}
		byEmail := map[string]annotation.AnnotatorProgress{}
		for _, x := range p.Annotators {
			byEmail[x.Annotator.Email] = x
		}
		for email, want := range map[string][3]int64{ // ratings, leases, skips
			"a@example.com": {3, 0, 1}, "b@example.com": {1, 0, 1}, "c@example.com": {0, 1, 0}, "d@example.com": {0, 0, 1},
		} {
			got := byEmail[email]
			if int64(got.Ratings) != want[0] || got.Leases != want[1] || got.Skips != want[2] {
				t.Errorf("%s: ratings %d, leases %d, skips %d; want %v", email, got.Ratings, got.Leases, got.Skips, want)
			}
		}
		if len(p.Annotators) != 4 || byEmail["a@example.com"].Gold.Correct != 1 || byEmail["a@example.com"].Regular != 2 {
			t.Errorf("annotators %+v", p.Annotators)
		}
		if p.SetAsideTotal != 1 || len(p.SetAside) != 1 {
			t.Fatalf("set aside %d %+v", p.SetAsideTotal, p.SetAside)
		}
		sa := p.SetAside[0]
		if sa.TaskID != r[4] || sa.TextA != "a caption of image 4" || sa.ImageSHA256 != fmt.Sprintf("%064x", 5) || sa.LeftOutAt != nil ||
			len(sa.Skips) != 2 || sa.Skips[0].Reason != "image_broken" || sa.Skips[1].Annotator.Email != "b@example.com" {
			t.Errorf("set-aside task %+v", sa)
		}

		// The lead's decisions.
		audit := func() string {
			log, err := s.AuditLog(f.ctx, f.camp.ID, 1)
			if err != nil || len(log) == 0 {
				t.Fatal(err)
			}
			return log[0].Action + " " + string(log[0].After)
		}
		steps := []struct {
			name      string
			task      int64
			decision  string
			wantErr   error
			wantAudit string
			check     func(p *annotation.CampaignProgress) string
		}{
			{"a task that is not set aside", r[5], annotation.SetAsideLeaveOut, annotation.ErrNotFound, "", nil},
			{"a task of no campaign", 9999, annotation.SetAsidePutBack, annotation.ErrNotFound, "", nil},
			{"an unknown decision", r[4], "delete", annotation.ErrInvalid, "", nil},
			{"leave out", r[4], annotation.SetAsideLeaveOut, nil, `task.leave_out {"left_out":true,"set_aside":true,"task_id":` + fmt.Sprint(r[4]) + `}`,
				func(p *annotation.CampaignProgress) string {
					if p.Tasks.SetAside != 1 || p.Tasks.LeftOut != 1 || p.SetAside[0].LeftOutAt == nil {
						return fmt.Sprintf("%+v %+v", p.Tasks, p.SetAside)
					}
					return ""
				}},
			{"leave out again changes nothing", r[4], annotation.SetAsideLeaveOut, nil, `task.leave_out`, nil},
			{"put back", r[4], annotation.SetAsidePutBack, nil, `task.put_back {"left_out":false,"set_aside":false,"task_id":` + fmt.Sprint(r[4]) + `}`,
				func(p *annotation.CampaignProgress) string {
					if p.Tasks.SetAside != 0 || p.Tasks.LeftOut != 0 || p.Tasks.Remaining != 3 || p.Tasks.RatingsRemaining != 9 || len(p.SetAside) != 0 {
						return fmt.Sprintf("%+v %+v", p.Tasks, p.SetAside)
					}
					return ""
				}},
			{"put back twice", r[4], annotation.SetAsidePutBack, annotation.ErrNotFound, "", nil},
		}
		for _, st := range steps {
			err := progress.DecideSetAside(f.ctx, f.lead.ID, f.camp.ID, st.task, st.decision)
			if st.wantErr != nil {
				if !errors.Is(err, st.wantErr) {
					t.Errorf("%s: %v, want %v", st.name, err, st.wantErr)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if got := audit(); !strings.HasPrefix(got, st.wantAudit) {
				t.Errorf("%s: last audit entry %s, want %s", st.name, got, st.wantAudit)
			}
			if st.check != nil {
				if msg := st.check(get()); msg != "" {
					t.Errorf("%s: %s", st.name, msg)
				}
			}
		}
		// The annotators who skipped the task never get it again; another
		// one does.
		for range 6 {
			v, _ := f.next(a)
			if v == nil {
				break
			}
			if v.TaskID == r[4] {
				t.Errorf("annotator a, who skipped task %d, got it back", r[4])
			}
			f.rate(a, v, qans{value: 3})
		}
		// A closed campaign's queue takes nothing back.
		f.seedSkip(r[5], a, models.SkipImageBroken)
		f.seedSkip(r[5], b, models.SkipImageBroken)
		f.setStatus(models.StatusClosed)
		if err := progress.DecideSetAside(f.ctx, f.lead.ID, f.camp.ID, r[5], annotation.SetAsidePutBack); !errors.Is(err, annotation.ErrConflict) {
			t.Errorf("put back in a closed campaign: %v", err)
		}
		if p := get(); p.Status != models.StatusClosed || p.Tasks.SetAside != 1 || p.Estimate != nil {
			t.Errorf("closed campaign progress %+v, estimate %+v", p.Tasks, p.Estimate)
		}
		if _, err := progress.Get(f.ctx, 999); !errors.Is(err, annotation.ErrNotFound) {
			t.Errorf("missing campaign: %v", err)
		}
	})
}

func TestProgressCompleteAndWithoutRatings(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newQualityFixture(t, s, qualitySpec{regular: 2, wanted: 1})
		progress := annotation.NewProgress(s, f.quality, nil).WithClock(f.clock.Now)
		p, err := progress.Get(f.ctx, f.camp.ID)
		if err != nil {
			t.Fatal(err)
		}
		if p.Estimate != nil || p.Throughput.PerHour != nil || p.Complete || p.Tasks.Remaining != 2 || len(p.Annotators) != 0 {
			t.Errorf("before any rating: %+v", p)
		}
		// One rating a minute ago: the rate counts over at least 5
		// minutes, 12 an hour, so the last task takes 5 minutes.
		a := f.annotator("a")
		f.seedRating(f.regular[0], a, f.clock.Now().Add(-time.Minute), allOf(4))
		if p, err = progress.Get(f.ctx, f.camp.ID); err != nil {
			t.Fatal(err)
		}
		if p.Throughput.PerHour == nil || math.Abs(*p.Throughput.PerHour-12) > 1e-9 || p.Estimate == nil || p.Estimate.Seconds != 300 {
			t.Errorf("after one rating: %+v, %+v", p.Throughput, p.Estimate)
		}
		f.seedRating(f.regular[1], a, f.clock.Now(), allOf(4))
		if p, err = progress.Get(f.ctx, f.camp.ID); err != nil {
			t.Fatal(err)
		}
		if !p.Complete || p.Estimate != nil || p.Tasks.Done != 2 {
			t.Errorf("complete campaign: %+v, %+v", p.Tasks, p.Estimate)
		}
	})
}

// TestCreateGold: a lead-authored gold task is checked field by field,
// queued after the last task, shown like any task and scored.
func TestCreateGold(t *testing.T) {
	for _, mode := range []models.CampaignMode{models.ModeLikert, models.ModePairwise} {
		t.Run(string(mode), func(t *testing.T) {
			modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
				f := newQualityFixture(t, s, qualitySpec{mode: mode, regular: 1, wanted: 1})
				img := f.images[0]
				bad := []struct {
					name  string
					in    annotation.NewGold
					where string
				}{
					{"no image", annotation.NewGold{Text: "x", Expect: "good", TextA: "x", TextB: "y", Winner: "a"}, "image_id"},
					{"image of another campaign", annotation.NewGold{ImageID: 9999, Text: "x", Expect: "good", TextA: "x", TextB: "y", Winner: "a"}, "image_id"},
					{"too many ratings", annotation.NewGold{ImageID: img, Text: "x", Expect: "good", TextA: "x", TextB: "y", Winner: "a", RatingsWanted: 51}, "ratings_wanted"},
				}
				if mode == models.ModeLikert {
					bad = append(bad, []struct {
						name  string
						in    annotation.NewGold
						where string
					}{
						{"no text", annotation.NewGold{ImageID: img, Expect: "good"}, "text"},
						{"blank text", annotation.NewGold{ImageID: img, Text: "  ", Expect: "bad"}, "text"},
						{"text too long", annotation.NewGold{ImageID: img, Text: strings.Repeat("a", 2001), Expect: "bad"}, "text"},
						{"no expectation", annotation.NewGold{ImageID: img, Text: "a dog"}, "expect"},
						{"unknown criterion", annotation.NewGold{ImageID: img, Text: "a dog", Expect: "good", Criterion: "beauty"}, "criterion"},
						{"a pair's fields", annotation.NewGold{ImageID: img, Text: "a dog", Expect: "good", Winner: "a"}, "winner"},
					}...)
				} else {
					bad = append(bad, []struct {
						name  string
						in    annotation.NewGold
						where string
					}{
						{"no text b", annotation.NewGold{ImageID: img, TextA: "a dog", Winner: "a"}, "text_b"},
						{"the same texts", annotation.NewGold{ImageID: img, TextA: "a dog", TextB: " A  dog", Winner: "a"}, "text_b"},
						{"no winner", annotation.NewGold{ImageID: img, TextA: "a dog", TextB: "a cat"}, "winner"},
						{"a Likert field", annotation.NewGold{ImageID: img, TextA: "a dog", TextB: "a cat", Winner: "b", Expect: "good"}, "expect"},
					}...)
				}
				for _, tt := range bad {
					_, err := f.quality.CreateGold(f.ctx, f.lead.ID, f.camp.ID, tt.in)
					var ve *annotation.ValidationError
					if !errors.As(err, &ve) {
						t.Errorf("%s: %v, want a validation error", tt.name, err)
						continue
					}
					found := false
					for _, p := range ve.Problems {
						found = found || p.Where == tt.where
					}
					if !found {
						t.Errorf("%s: problems %v, want one at %s", tt.name, ve.Problems, tt.where)
					}
				}
				in := annotation.NewGold{ImageID: img, Text: "a photo of nothing at all", Expect: "bad", RatingsWanted: 5}
				if mode == models.ModePairwise {
					in = annotation.NewGold{ImageID: img, TextA: "wrong text", TextB: "right text", Winner: "b", RatingsWanted: 5}
				}
				g, err := f.quality.CreateGold(f.ctx, f.lead.ID, f.camp.ID, in)
				if err != nil {
					t.Fatal(err)
				}
				if g.TaskID == 0 || g.Position != 2 || g.RatingsWanted != 5 || !strings.Contains(string(g.GoldAnswer), `"author_id":`) {
					t.Errorf("created %+v (%s)", g, g.GoldAnswer)
				}
				log, _ := s.AuditLog(f.ctx, f.camp.ID, 1)
				if len(log) != 1 || log[0].Action != annotation.AuditGold || log[0].ActorID == nil || *log[0].ActorID != f.lead.ID {
					t.Errorf("audit %+v", log)
				}
				// Shown like a regular task, its texts from the gold
				// answer; scored like the selection's gold.
				f.goldKind[g.TaskID] = map[bool]string{true: "known_pair", false: "known_bad"}[mode == models.ModePairwise]
				f.goldWinner[g.TaskID] = "right text"
				f.setStatus(models.StatusCollecting)
				ann := f.annotator("ann")
				f.work(ann, 1, qans{value: 4}) // the regular task, at position 1
				v, reason := f.next(ann)
				if v == nil || v.TaskID != g.TaskID {
					t.Fatalf("next: %+v (%s), want the gold task %d", v, reason, g.TaskID)
				}
				if mode == models.ModeLikert && v.Caption != in.Text || mode == models.ModePairwise && v.CaptionA+v.CaptionB != "wrong textright text" && v.CaptionA+v.CaptionB != "right textwrong text" {
					t.Errorf("shown %+v", v)
				}
				f.rate(ann, v, qans{right: true})
				if got := f.annotatorReport(ann).Gold; got.Answered != 1 || got.Correct != 1 {
					t.Errorf("gold score %+v", got)
				}
				f.setStatus(models.StatusClosed)
				in.RatingsWanted = 1
				if _, err := f.quality.CreateGold(f.ctx, f.lead.ID, f.camp.ID, in); !errors.Is(err, annotation.ErrConflict) {
					t.Errorf("a closed campaign: %v", err)
				}
				if _, err := f.quality.CreateGold(f.ctx, f.lead.ID, 999, in); !errors.Is(err, annotation.ErrNotFound) {
					t.Errorf("a missing campaign: %v", err)
				}
			})
		})
	}
}
