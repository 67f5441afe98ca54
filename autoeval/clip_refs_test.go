package autoeval

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"capeval/autoeval/clip"
	"capeval/models"
	"capeval/models/modelstest"
)

// TestCLIPReferencesArriveLater: the clip job decides per metric what is
// left. A first job on a campaign where a quarter of the images have no
// references yet stores CLIPScore for every caption and RefCLIPScore for
// the others, and its RefCLIPScore means say they cover 36 of the 48
// captions; once the references are imported a second job scores exactly
// the captions that lack RefCLIPScore, and the means then cover all and
// equal a direct computation.
func TestCLIPReferencesArriveLater(t *testing.T) {
	s := modelstest.NewStore(t)
	ctx := context.Background()
	enc := tinyCLIP(t, s)
	late := func(i int) bool { return i%4 == 0 }
	f := seedDemoRefs(t, s, "demo", t.TempDir(), late)
	run := func() (*countingCLIP, *models.EvalJob) {
		t.Helper()
		sc := &countingCLIP{Encoder: enc}
		end, err := NewRunner(s, Scorers{CLIP: sc, ImagePath: f.imagePath}, nil).WithOptions(fastOptions()).RunJob(ctx, startJob(t, f, KindCLIP).ID, nil)
		if err != nil || end.Status != models.JobDone {
			t.Fatalf("clip job = %+v, %v", end, err)
		}
		return sc, end
	}
	coverage := func(want map[string]int) {
		t.Helper()
		rep, err := CaptionerScoresReport(ctx, s, f.campaign.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range rep.Captioners {
			for name, n := range want {
				if c.N[name] != n || c.Captions != 48 {
					t.Errorf("%s %s covers %d of %d captions, want %d", c.Name, name, c.N[name], c.Captions, n)
				}
			}
		}
	}

	first, end := run()
	if first.samples.Load() != 192 {
		t.Errorf("first job scored %d samples, want 192", first.samples.Load())
	}
	if !strings.Contains(end.Notes, "RefCLIPScore not computed for 48 captions") {
		t.Errorf("first job's notes %q do not count the captions without references", end.Notes)
	}
	coverage(map[string]int{clip.MetricCLIPScore: 48, clip.MetricRefCLIPScore: 36})

	var refs []models.Reference
	imgs, _, err := campaignImages(ctx, s, f.campaign.ID)
	if err != nil {
		t.Fatal(err)
	}
	byExternal := map[string]int64{}
	for id, im := range imgs {
		byExternal[im.ExternalID] = id
	}
	for i, img := range f.data.Images {
		if late(i) {
			for pos, text := range img.References {
				refs = append(refs, models.Reference{ImageID: byExternal[fmt.Sprint(img.ID)], Position: pos, Text: text})
			}
		}
	}
	if err := s.InsertReferences(ctx, refs); err != nil {
		t.Fatal(err)
	}

	second, end := run()
	if second.samples.Load() != 48 || end.Notes != "" {
		t.Errorf("second job scored %d samples (notes %q), want the 48 captions that lack RefCLIPScore", second.samples.Load(), end.Notes)
	}
	coverage(map[string]int{clip.MetricCLIPScore: 48, clip.MetricRefCLIPScore: 48})

	// The means equal the encoder's own over each captioner's captions.
	checkCLIPMeans(t, s, enc, f)
}

// TestCLIPJobNeedsTheImageStore: a runner built without the image store's
// resolver fails its clip jobs with a message that says so.
func TestCLIPJobNeedsTheImageStore(t *testing.T) {
	s := modelstest.NewStore(t)
	f := seedDemo(t, s, "demo", t.TempDir())
	r := NewRunner(s, Scorers{CLIP: &countingCLIP{}}, nil).WithOptions(fastOptions())
	end, err := r.RunJob(context.Background(), startJob(t, f, KindCLIP).ID, nil)
	if err != nil || end.Status != models.JobFailed || !strings.Contains(end.Error, "Scorers.ImagePath") {
		t.Fatalf("clip job without the image store = %+v, %v; want failed, naming it", end, err)
	}
}
