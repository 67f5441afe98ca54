package demo_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"capeval/annotation"
	"capeval/annotation/demo"
	"capeval/models"
	"capeval/models/modelstest"
)

// fakeCIDEr stands in for the text metrics (annotation cannot run
// autoeval): a CIDEr aggregate per captioner in the order of their quality,
// which is all the demo's selection ranks by.
func fakeCIDEr(store *models.Store) func(context.Context, int64) error {
	return func(ctx context.Context, campaignID int64) error {
		caps, err := store.Captioners(ctx, campaignID)
		if err != nil {
			return err
		}
		var rows []models.CaptionerScore
		for i, c := range caps {
			rows = append(rows, models.CaptionerScore{CaptionerID: c.ID, Metric: "CIDEr", Value: 1.5 - 0.4*float64(i), MetricVersion: "test", N: c.Captions})
		}
		return store.InsertScoreRows(ctx, nil, rows)
	}
}

// TestSimulatedAnnotators: the demo opens with ratings from the simulated
// annotators, given through the queue; the careless one is flagged and left
// out by the quality checks; the lenient one rates above the harsh one;
// and the two demo annotators still have every task to rate.
func TestSimulatedAnnotators(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		if _, err := demo.Load(ctx, store, loadOptions(t.TempDir())); err != nil {
			t.Fatal(err)
		}
		if acted, err := demo.Collect(ctx, store, demo.CollectOptions{ScoreText: fakeCIDEr(store)}); !acted || err != nil {
			t.Fatalf("Collect: %v, %v", acted, err)
		}
		c, err := store.CampaignByName(ctx, demo.CampaignName)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := annotation.NewQuality(store, nil).Report(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := store.CampaignSummaryByID(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		byEmail := map[string]annotation.AnnotatorQuality{}
		for _, a := range rep.Annotators {
			byEmail[a.Annotator.Email] = a
		}
		for _, sim := range demo.SimAnnotators {
			u, err := store.UserByEmail(ctx, sim.Email)
			if err != nil || !u.Disabled || u.Role != models.RoleAnnotator {
				t.Errorf("%s: %+v, %v: want a disabled annotator account", sim.Email, u, err)
			}
			a := byEmail[sim.Email]
			var flags []string
			for _, f := range a.Flags {
				flags = append(flags, f.Code)
			}
			if sim.Careless {
				for _, want := range []string{annotation.FlagLowAccuracy, annotation.FlagFastRatings, annotation.FlagStraightLining} {
					if !slices.Contains(flags, want) {
						t.Errorf("%s: flags %q lack %s", sim.Email, flags, want)
					}
				}
				if !a.Exclusion.Excluded || !a.Exclusion.ByPolicy {
					t.Errorf("%s: exclusion %+v, want excluded by the policy", sim.Email, a.Exclusion)
				}
				continue
			}
			if len(flags) != 0 || a.Ratings != int(sum.Tasks) {
				t.Errorf("%s: %d ratings of %d tasks, flags %q: want every task, no flag", sim.Email, a.Ratings, sum.Tasks, flags)
			}
		}
		// The lenient annotator's overall scores are higher than the
		// harsh one's, and everyone reliable puts accurate above random.
		ratings, err := store.CampaignRatings(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[int64]string{}
		for _, a := range rep.Annotators {
			ids[a.Annotator.ID] = a.Annotator.Email
		}
		mean := map[string]float64{}
		n := map[string]int{}
		for _, r := range ratings {
			var ans map[string]float64
			if err := json.Unmarshal(r.Answers, &ans); err != nil {
				t.Fatal(err)
			}
			mean[ids[r.AnnotatorID]] += ans["overall"]
			n[ids[r.AnnotatorID]]++
		}
		lenient, harsh := mean[demo.SimAnnotators[1].Email]/float64(n[demo.SimAnnotators[1].Email]), mean[demo.SimAnnotators[2].Email]/float64(n[demo.SimAnnotators[2].Email])
		if lenient < harsh+0.8 {
			t.Errorf("mean overall: lenient %.2f, harsh %.2f; want the lenient one clearly higher", lenient, harsh)
		}
		// Both demo annotators get a task, and every task has room for both.
		q := annotation.NewQueue(store, nil, nil, annotation.QueueOptions{})
		for _, a := range demo.Accounts[2:] {
			u, err := store.UserByEmail(ctx, a.Email)
			if err != nil {
				t.Fatal(err)
			}
			if v, reason, err := q.Next(ctx, u.ID, c.ID, 0); err != nil || v == nil {
				t.Errorf("%s: no task (%q, %v)", a.Email, reason, err)
			}
		}
		perTask := map[int64]int{}
		for _, r := range ratings {
			perTask[r.TaskID]++
		}
		for task, k := range perTask {
			if k > 4 {
				t.Errorf("task %d has %d ratings: no room for the two demo annotators", task, k)
			}
		}
	})
}
