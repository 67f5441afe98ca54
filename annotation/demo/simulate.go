package demo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"capeval/annotation"
	"capeval/models"
)

// The demo's simulated annotators rate the demo queue before anyone signs
// in, so that a newcomer's first look at the lead's page shows a
// leaderboard with intervals, agreement between annotators, a flagged
// annotator and the metric–human table. They are clearly labelled
// accounts ("Simulated: …", sim-…@demo.capeval.test), disabled (nobody
// signs in as them), and they rate through the real queue: leases,
// ratings, gold checks and the quality flags are the ones real annotators
// get. Each task wants more ratings than they give (Thresholds), so the
// two demo annotators still have every task to rate.

// SimAnnotator is one simulated annotator: how far their scores stray from
// a caption's true quality (Noise, in scale points), how lenient or harsh
// they are (Bias), and how long a rating takes them. A careless one
// mostly straight-lines the middle of the scale at speed.
type SimAnnotator struct {
	Email, Name string
	Bias, Noise float64
	Seconds     float64
	Careless    bool
	// Comments: they say what is wrong with a poor caption, now and then.
	Comments bool
}

// SimAnnotators are the demo's simulated annotators, most reliable first.
var SimAnnotators = []SimAnnotator{
	{Email: "sim-careful@demo.capeval.test", Name: "Simulated: careful", Noise: 0.45, Seconds: 11, Comments: true},
	{Email: "sim-lenient@demo.capeval.test", Name: "Simulated: lenient", Bias: 0.6, Noise: 0.7, Seconds: 7},
	{Email: "sim-harsh@demo.capeval.test", Name: "Simulated: harsh", Bias: -0.8, Noise: 0.6, Seconds: 8},
	{Email: "sim-careless@demo.capeval.test", Name: "Simulated: careless", Noise: 1.8, Seconds: 0.9, Careless: true},
}

// streamSim is the random stream of the simulated ratings (beyond the
// dataset's streams in demo.go).
const streamSim = 100

// truth is a caption's quality on each criterion of the default rubric
// (precision, recall, fluency, overall), on its 1–5 scale.
type truth [4]float64

var criteria = []string{"precision", "recall", "fluency", "overall"}

// captionTruth is what a careful reader would give each kind of demo
// caption: the captioners are built to differ (demo.go), and a flawed
// caption of the partly-wrong captioner says something false.
func captionTruth(captioner, flaw string) truth {
	switch {
	case captioner == Accurate:
		return truth{4.9, 4.5, 4.9, 4.7}
	case captioner == PartlyWrong && flaw != "":
		return truth{2.0, 3.2, 4.6, 2.3}
	case captioner == PartlyWrong:
		return truth{4.6, 3.3, 4.8, 3.9}
	case captioner == Generic:
		return truth{3.6, 1.6, 4.4, 2.2}
	default: // another image's caption
		return truth{1.2, 1.1, 4.7, 1.1}
	}
}

// goodTruth and badTruth are the gold items: one of the image's own
// references, and a reference of another image.
var (
	goodTruth = truth{4.9, 4.6, 4.9, 4.8}
	badTruth  = truth{1.1, 1.1, 4.8, 1.1}
)

// demoTruths finds what each text on each image deserves, and what a
// careful annotator would say about a caption that is wrong.
type demoTruths struct {
	byImage map[string]map[string]truth // image sha256 → caption text → truth
	notes   map[string]map[string]string
	refs    map[string][]string
}

// captionNote is a careful annotator's comment on a poor caption ("" for a
// good one).
func captionNote(captioner, flaw string) string {
	switch {
	case captioner == PartlyWrong && flaw != "":
		return "the " + flaw + " is wrong"
	case captioner == Generic:
		return "too vague: says nothing about these shapes"
	case captioner == Random:
		return "describes another picture"
	}
	return ""
}

func newDemoTruths(d *Dataset) *demoTruths {
	t := &demoTruths{byImage: map[string]map[string]truth{}, notes: map[string]map[string]string{}, refs: map[string][]string{}}
	for i, img := range d.Images {
		sum := sha256.Sum256(img.PNG)
		key := hex.EncodeToString(sum[:])
		m, notes := map[string]truth{}, map[string]string{}
		// Worst first: a text two captioners share (rated once) takes the
		// better captioner's truth.
		for k := len(d.Captioners) - 1; k >= 0; k-- {
			c := d.Captioners[k]
			m[c.Captions[i].Text] = captionTruth(c.Name, c.Captions[i].Flaw)
			notes[c.Captions[i].Text] = captionNote(c.Name, c.Captions[i].Flaw)
		}
		t.byImage[key], t.notes[key] = m, notes
		t.refs[key] = img.References
	}
	return t
}

func (t *demoTruths) of(v *annotation.TaskView) truth {
	if tr, ok := t.byImage[v.ImageSHA256][v.Caption]; ok {
		return tr
	}
	if slices.Contains(t.refs[v.ImageSHA256], v.Caption) {
		return goodTruth
	}
	return badTruth
}

// answer is the annotator's rating of a caption whose quality is tr.
func (a SimAnnotator) answer(r *rand.Rand, tr truth) map[string]any {
	out := make(map[string]any, len(criteria))
	if a.Careless && r.Float64() < 0.75 {
		// The middle of the scale on everything, as fast as the keys go.
		for _, k := range criteria {
			out[k] = 3.0 // as decoded JSON gives it
		}
		return out
	}
	for i, k := range criteria {
		v := int(math.Round(tr[i] + a.Bias + a.Noise*r.NormFloat64()))
		v = min(max(v, 1), 5)
		out[k] = float64(v)
	}
	return out
}

// simulate creates the simulated annotators (disabled accounts) and has
// each rate every task the queue gives them, in the order it gives them,
// one after the other starting two hours before now, at their own pace.
// It runs in one transaction: all of the ratings or none.
func simulate(ctx context.Context, store *models.Store, campaignID int64, quality *annotation.Quality, log *slog.Logger) (int, error) {
	data := Generate(DefaultSeed)
	truths := newDemoTruths(data)
	total := 0
	err := store.InTx(ctx, func(tx *models.Store) error {
		clock := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
		for k, a := range SimAnnotators {
			u := &models.User{Email: a.Email, Name: a.Name, Role: models.RoleAnnotator, Disabled: true,
				// No password: a disabled account that nobody signs in as.
				PasswordHash: "!simulated"}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			now := clock
			q := annotation.NewQueue(tx, nil, log, annotation.QueueOptions{Now: func() time.Time { return now }, Admitter: quality})
			r := rand.New(rand.NewPCG(uint64(DefaultSeed), uint64(streamSim+k)))
			for n := 0; ; n++ {
				view, _, err := q.Next(ctx, u.ID, campaignID, 0)
				if err != nil {
					return err
				}
				if view == nil {
					break
				}
				secs := a.Seconds * (0.7 + 0.6*r.Float64())
				in := annotation.RatingInput{ClientID: fmt.Sprintf("sim-%d-%d", k, n), Answers: a.answer(r, truths.of(view)),
					DurationMS: int64(secs * 1000)}
				if a.Comments && r.IntN(2) == 0 {
					in.Comment = truths.notes[view.ImageSHA256][view.Caption]
				}
				now = now.Add(time.Duration(secs * float64(time.Second)))
				if _, _, err := q.Rate(ctx, u.ID, view.TaskID, in); err != nil {
					return fmt.Errorf("simulated annotator %s, task %d: %w", a.Email, view.TaskID, err)
				}
				now = now.Add(time.Duration(1+r.IntN(3)) * time.Second)
				total++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("demo: simulated annotators: %w", err)
	}
	return total, nil
}
