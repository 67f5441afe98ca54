package annotation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"capeval/annotation"
	"capeval/models"
	"capeval/models/modelstest"
)

// A campaign of three images without files (their ids from a JSON Lines
// references file), two captioners, and human judgments of both.
const (
	judgedRefs = `{"image_id": 1, "caption": "A red square on a white table."}
{"image_id": 1, "caption": "a square that is red"}
{"image_id": 2, "caption": "a blue circle"}
{"image_id": 3, "caption": "two green stars"}
`
	judgedBlip  = "{\"image_id\": 1, \"caption\": \"a red square\"}\n{\"image_id\": 2, \"caption\": \"a blue ball\"}\n{\"image_id\": 3, \"caption\": \"stars\"}\n"
	judgedHuman = "{\"image_id\": 1, \"caption\": \"a red square on a white table\"}\n{\"image_id\": 2, \"caption\": \"A blue circle!\"}\n"
	judgedJSONL = `{"image_id": 1, "captioner": "blip@2", "annotator": "w1", "ratings": {"overall": 4, "precision": 5}}
{"image_id": 1, "captioner": "blip@2", "annotator": "w2", "ratings": {"overall": 3.5}}
{"image_id": "2", "captioner": "blip@2", "annotator": 7, "ratings": {"overall": 2, "fluency": null}}
{"image_id": 1, "captioner": "human", "ratings": {"overall": 4.666666666666667}}
{"image_id": 1, "captioner": "human", "ratings": {"overall": 4.333333333333333}}
`
	judgedCSV = "image_id,captioner,annotator,overall,fluency\n3,blip@2,w1,1,\n2,human,w1,5,4.5\n"
)

// judgedCampaign imports the images (without files), references and
// captions of the judged campaign.
func judgedCampaign(t *testing.T, f *impFixture) {
	t.Helper()
	rep := f.mustImport(annotation.ImportRequest{
		WithoutImages: true,
		References:    annotation.SourceFile{Path: f.file("refs.jsonl", judgedRefs)},
		Results: []annotation.ResultsFile{
			{SourceFile: annotation.SourceFile{Path: f.file("blip.jsonl", judgedBlip)}, Captioner: "blip", Version: "2"},
			{SourceFile: annotation.SourceFile{Path: f.file("human.jsonl", judgedHuman)}, Captioner: "human"},
		},
	})
	if rep.Images.Added != 3 || rep.ImagesWithoutFile != 3 {
		t.Fatalf("campaign import %+v", rep)
	}
}

// judgments describes the campaign's imported tasks and ratings in a
// stable order.
func judgments(t *testing.T, s *models.Store, campaignID int64) string {
	t.Helper()
	ctx := context.Background()
	tasks, err := s.ImportedTasks(ctx, campaignID)
	if err != nil {
		t.Fatal(err)
	}
	caption := map[int64]string{}
	caps, err := s.Captioners(ctx, campaignID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range caps {
		err := s.EachCaption(ctx, []int64{c.ID}, func(cp models.Caption) error {
			caption[cp.ID] = fmt.Sprintf("%s@%s/%q", c.Name, c.Version, cp.Text)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var lines []string
	taskCaption := map[int64]string{}
	for _, tk := range tasks {
		if tk.Kind != models.TaskSingle || tk.IsGold || tk.RatingsDone != tk.RatingsWanted || tk.CaptionID == nil {
			t.Errorf("imported task %+v: want a complete single task with a caption", tk)
		}
		taskCaption[tk.ID] = caption[*tk.CaptionID]
		lines = append(lines, fmt.Sprintf("task %s wants %d", caption[*tk.CaptionID], tk.RatingsWanted))
	}
	ratings, err := s.CampaignRatings(ctx, campaignID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range ratings {
		if !r.Imported || r.AnnotatorID != 0 || r.ImportKey == nil || r.ClientID == "" {
			t.Errorf("rating %+v: want imported, without a capeval annotator, with a key", r)
		}
		lines = append(lines, fmt.Sprintf("rating %s by %q: %s", taskCaption[r.TaskID], r.ExternalAnnotator, r.Answers))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func TestImportRatings(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newImpFixture(t, s)
		judgedCampaign(t, f)
		rep := f.mustImport(annotation.ImportRequest{Ratings: annotation.SourceFile{Path: f.file("ratings.jsonl", judgedJSONL)}})
		want := annotation.RatingsReport{File: f.in + "/ratings.jsonl", Added: 5, Annotators: 3, Anonymous: 2, Captions: 3}
		if rep.Ratings == nil || *rep.Ratings != want || rep.Unchanged {
			t.Fatalf("ratings report %+v, want %+v", rep.Ratings, want)
		}
		got := judgments(t, s, f.campaign)
		wantRows := strings.Join([]string{
			`rating blip@2/"a blue ball" by "7": {"overall":2}`,
			`rating blip@2/"a red square" by "w1": {"overall":4,"precision":5}`,
			`rating blip@2/"a red square" by "w2": {"overall":3.5}`,
			`rating human@/"a red square on a white table" by "": {"overall":4.333333333333333}`,
			`rating human@/"a red square on a white table" by "": {"overall":4.666666666666667}`,
			`task blip@2/"a blue ball" wants 1`,
			`task blip@2/"a red square" wants 2`,
			`task human@/"a red square on a white table" wants 2`,
		}, "\n")
		if got != wantRows {
			t.Errorf("judgments:\n%s\nwant\n%s", got, wantRows)
		}

		// The same file again: nothing changes.
		again := f.mustImport(annotation.ImportRequest{Ratings: annotation.SourceFile{Path: f.file("renamed.jsonl", judgedJSONL)}})
		if !again.Unchanged || again.Ratings.Added != 0 || again.Ratings.Unchanged != 5 {
			t.Errorf("second import %+v %+v", again, again.Ratings)
		}
		if after := judgments(t, s, f.campaign); after != got {
			t.Errorf("the second import changed the judgments:\n%s", after)
		}

		// A CSV with more ratings: the task of an already rated caption
		// grows, a new caption gets its task.
		csv := f.mustImport(annotation.ImportRequest{Ratings: annotation.SourceFile{Path: f.file("more.csv", judgedCSV)}})
		if csv.Ratings.Added != 2 || csv.Ratings.Unchanged != 0 || csv.Unchanged {
			t.Errorf("CSV import %+v", csv.Ratings)
		}
		after := judgments(t, s, f.campaign)
		for _, line := range []string{`task blip@2/"stars" wants 1`, `task human@/"A blue circle!" wants 1`,
			`rating human@/"A blue circle!" by "w1": {"fluency":4.5,"overall":5}`, `rating blip@2/"stars" by "w1": {"overall":1}`} {
			if !strings.Contains(after, line) {
				t.Errorf("after the CSV import, no %q in\n%s", line, after)
			}
		}

		// Ratings with their captions in one import, into a new captioner.
		one := f.mustImport(annotation.ImportRequest{
			Results: []annotation.ResultsFile{{SourceFile: annotation.SourceFile{Path: f.file("git.jsonl", "{\"image_id\": 3, \"caption\": \"three stars\"}\n")}, Captioner: "git"}},
			Ratings: annotation.SourceFile{Path: f.file("git-ratings.csv", "image_id,captioner,overall\n3,git,2\n")},
		})
		if one.Ratings.Added != 1 || !one.Captioners[0].New {
			t.Errorf("captions and ratings together: %+v %+v", one.Captioners, one.Ratings)
		}
	})
}

// TestImportRatingsRefused: every bad record is named with its file, line
// and field, and a refused import writes nothing.
func TestImportRatingsRefused(t *testing.T) {
	cases := []struct {
		name, file, content string
		want                []string
	}{
		{"unknown image", "r.jsonl", `{"image_id": 9, "captioner": "blip@2", "ratings": {"overall": 3}}`,
			[]string{"r.jsonl: line 1: image_id: no image 9 in the campaign nor in this import"}},
		{"unknown captioner", "r.jsonl", `{"image_id": 1, "captioner": "blip@3", "ratings": {"overall": 3}}`,
			[]string{"r.jsonl: line 1: captioner: no captioner blip@3 in the campaign nor in this import"}},
		{"no caption of the image", "r.jsonl", `{"image_id": 3, "captioner": "human", "ratings": {"overall": 3}}`,
			[]string{"r.jsonl: line 1: image_id: captioner human has no caption for image 3"}},
		{"unknown criterion", "r.jsonl", `{"image_id": 1, "captioner": "human", "ratings": {"overal": 3}}`,
			[]string{`r.jsonl: line 1: ratings.overal: the campaign's rubric has no criterion "overal" (it has precision, recall, fluency, overall)`}},
		{"value above the scale", "r.jsonl", "{\"image_id\": 1, \"captioner\": \"human\", \"ratings\": {\"overall\": 3}}\n{\"image_id\": 1, \"captioner\": \"human\", \"ratings\": {\"overall\": 5.5}}",
			[]string{"r.jsonl: line 2: ratings.overall: 5.5 is outside the criterion's scale 1–5"}},
		{"value below the scale", "r.csv", "image_id,captioner,annotator,overall\n1,human,a,0.99\n",
			[]string{"r.csv: line 2: overall: 0.99 is outside the criterion's scale 1–5"}},
		{"not a number", "r.jsonl", `{"image_id": 1, "captioner": "human", "ratings": {"overall": "4"}}`,
			[]string{`r.jsonl: line 1: ratings.overall: want a number, got "4"`}},
		{"CSV not a number", "r.csv", "image_id,captioner,overall\n1,human,four\n",
			[]string{`r.csv: line 2: overall: want a finite number, got "four"`}},
		{"no ratings", "r.jsonl", `{"image_id": 1, "captioner": "human"}`,
			[]string{"r.jsonl: line 1: ratings: missing"}},
		{"nothing rated", "r.jsonl", `{"image_id": 1, "captioner": "human", "ratings": {"overall": null}}`,
			[]string{"r.jsonl: line 1: ratings: no criterion has a value"}},
		{"unknown field", "r.jsonl", `{"image_id": 1, "captioner": "human", "rating": {"overall": 3}}`,
			[]string{`r.jsonl: line 1: rating: unknown field "rating"`, "r.jsonl: line 1: ratings: missing"}},
		{"a key in another case", "r.jsonl", `{"image_id": 1, "captioner": "human", "Ratings": {"overall": 3}, "ratings": {"overall": 4}}`,
			[]string{`r.jsonl: line 1: Ratings: unknown field "Ratings"`}},
		{"a number too large", "r.jsonl", `{"image_id": 1, "captioner": "human", "ratings": {"overall": 1e999}}`,
			[]string{"r.jsonl: line 1: ratings.overall: want a finite number, got 1e999"}},
		{"malformed JSON", "r.jsonl", "{\"image_id\": 1, \"captioner\": \"human\", \"ratings\": {\"overall\": 3}}\n{\"image_id\": 1,",
			[]string{"r.jsonl: line 2: malformed JSON"}},
		{"missing captioner", "r.jsonl", `{"image_id": 1, "ratings": {"overall": 3}}`,
			[]string{"r.jsonl: line 1: captioner: missing"}},
		{"annotator twice", "r.jsonl", "{\"image_id\": 1, \"captioner\": \"human\", \"annotator\": \"a\", \"ratings\": {\"overall\": 3}}\n{\"image_id\": 1, \"captioner\": \"human\", \"annotator\": \"a\", \"ratings\": {\"overall\": 4}}",
			[]string{"r.jsonl: line 2: annotator: this annotator rated this image's caption by this captioner at line 1 already"}},
		{"CSV without captioner column", "r.csv", "image_id,overall\n1,3\n",
			[]string{"r.csv: line 1: captioner: the header has no captioner column"}},
		{"CSV without criteria", "r.csv", "image_id,captioner,annotator\n1,human,a\n",
			[]string{"r.csv: line 1: the header has no criterion column"}},
		{"CSV short row", "r.csv", "image_id,captioner,overall\n1,human\n",
			[]string{"r.csv: line 2: 2 fields, the header has 3"}},
		{"CSV broken quote", "r.csv", "image_id,captioner,overall\n1,\"human,3\n",
			[]string{"r.csv: line 2: malformed CSV"}},
		{"empty", "r.jsonl", "", []string{"r.jsonl: the ratings file has no ratings"}},
		{"empty without extension", "ratings", " \n", []string{"ratings: the ratings file is empty"}},
		{"a JSON array", "r.json", `[{"image_id": 1}]`, []string{"r.json: a JSON array is not a ratings file"}},
	}
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newImpFixture(t, s)
		judgedCampaign(t, f)
		f.mustImport(annotation.ImportRequest{Ratings: annotation.SourceFile{Path: f.file("first.jsonl", judgedJSONL)}})
		before := f.state("blip@2", "human") + judgments(t, s, f.campaign)
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				_, err := f.importReq(annotation.ImportRequest{Ratings: annotation.SourceFile{Path: f.file(tt.file, tt.content), Name: tt.file}})
				if err == nil {
					t.Fatal("imported, want refused")
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error\n%v\nwant it to say %q", err, w)
					}
				}
				if after := f.state("blip@2", "human") + judgments(t, s, f.campaign); after != before {
					t.Errorf("a refused import changed the campaign:\n%s", after)
				}
			})
		}
		t.Run("changed value", func(t *testing.T) {
			changed := strings.Replace(judgedJSONL, `"overall": 3.5`, `"overall": 3.4`, 1)
			_, err := f.importReq(annotation.ImportRequest{Ratings: annotation.SourceFile{Path: f.file("changed.jsonl", changed), Name: "changed.jsonl"}})
			if err == nil || !strings.Contains(err.Error(), "changed.jsonl: line 2: ratings: this rating was imported before with other values") {
				t.Errorf("changed value: %v", err)
			}
		})
		t.Run("pairwise campaign", func(t *testing.T) {
			c := &models.Campaign{Name: "pairs", Mode: models.ModePairwise}
			if err := s.CreateCampaign(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			_, err := f.im.Import(context.Background(), c.ID, annotation.ImportRequest{Ratings: annotation.SourceFile{Path: f.file("p.jsonl", judgedJSONL), Name: "p.jsonl"}})
			if err == nil || !strings.Contains(err.Error(), `campaign "pairs" is pairwise`) {
				t.Errorf("pairwise: %v", err)
			}
		})
	})
}

// TestImportLeakWarning: a caption that is one of its image's references
// after tokenization is reported by every import that touches it.
func TestImportLeakWarning(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		f := newImpFixture(t, s)
		rep := f.mustImport(annotation.ImportRequest{
			WithoutImages: true,
			References:    annotation.SourceFile{Path: f.file("refs.jsonl", judgedRefs)},
			Results: []annotation.ResultsFile{
				{SourceFile: annotation.SourceFile{Path: f.file("blip.jsonl", judgedBlip)}, Captioner: "blip", Version: "2"},
				{SourceFile: annotation.SourceFile{Path: f.file("human.jsonl", judgedHuman)}, Captioner: "human"},
			},
		})
		want := "captioner human: 2 captions are word for word one of their image's references after the metrics' tokenization (images 1, 2)"
		if leaks := grep(rep.Warnings, "word for word"); len(leaks) != 1 || !strings.HasPrefix(leaks[0], want) {
			t.Errorf("warnings %q, want one starting %q", rep.Warnings, want)
		}
		// The same captions again, references imported first this time
		// in another campaign: the references' import finds the captions.
		t.Run("references first", func(t *testing.T) { leakReferencesFirst(t, s, want) })
		t.Run("tokenizer", func(t *testing.T) { leakTokenizer(t, s) })
	})
}

// leakReferencesFirst: captions imported before their references are
// found by the references' import, and a ratings import that names the
// captioner reports all of them.
func leakReferencesFirst(t *testing.T, s *models.Store, want string) {
	g := newImpFixture(t, s)
	coco := `{"images": [{"id": 1}, {"id": 2}, {"id": 3}], "annotations": [{"image_id": 1, "caption": "A red square on a white table."}, {"image_id": 2, "caption": "a blue circle"}]}`
	g.mustImport(annotation.ImportRequest{WithoutImages: true, References: annotation.SourceFile{Path: g.file("coco.json", coco)}})
	captions := g.mustImport(annotation.ImportRequest{Results: []annotation.ResultsFile{{SourceFile: annotation.SourceFile{
		Path: g.file("human.jsonl", judgedHuman+"{\"image_id\": 3, \"caption\": \"Two green stars.\"}\n")}, Captioner: "human"}}})
	if leaks := grep(captions.Warnings, "word for word"); len(leaks) != 1 || !strings.HasPrefix(leaks[0], want) {
		t.Errorf("captions import warnings %q, want %q", captions.Warnings, want)
	}
	refs := g.mustImport(annotation.ImportRequest{References: annotation.SourceFile{Path: g.file("refs3.jsonl", "{\"image_id\": 3, \"caption\": \"two green stars\"}\n")}})
	if leaks := grep(refs.Warnings, "word for word"); len(leaks) != 1 || !strings.HasPrefix(leaks[0], "captioner human: 1 captions are word for word one of their image's references after the metrics' tokenization (images 3)") {
		t.Errorf("references import warnings %q", refs.Warnings)
	}
	later := g.mustImport(annotation.ImportRequest{
		Ratings: annotation.SourceFile{Path: g.file("r.csv", "image_id,captioner,overall\n1,human,5\n")},
	})
	if leaks := grep(later.Warnings, "word for word"); len(leaks) != 1 || !strings.HasPrefix(leaks[0], "captioner human: 3 captions are word for word one of their image's references after the metrics' tokenization (images 1, 2, 3)") {
		t.Errorf("ratings import warnings %q", later.Warnings)
	}
}

func leakTokenizer(t *testing.T, s *models.Store) {
	// With the metrics' tokenizer given: "don't" is "do n't" to PTB and
	// "don t" to the fallback; both see the caption as the reference.
	h := newImpFixture(t, s)
	h.im = annotation.NewImporter(s, annotation.NewImageStore(h.dataDir), nil, annotation.WithTokenizer(func(s string) string {
		return strings.ToUpper(strings.Join(strings.Fields(s), " "))
	}))
	r := h.mustImport(annotation.ImportRequest{WithoutImages: true,
		References: annotation.SourceFile{Path: h.file("refs.jsonl", "{\"image_id\": 1, \"caption\": \"a   Cat\"}\n")},
		Results:    []annotation.ResultsFile{{SourceFile: annotation.SourceFile{Path: h.file("r.jsonl", "{\"image_id\": 1, \"caption\": \"A cat\"}\n")}, Captioner: "c"}}})
	if leaks := grep(r.Warnings, "word for word"); len(leaks) != 1 {
		t.Errorf("with a tokenizer: warnings %q", r.Warnings)
	}
}

func grep(list []string, sub string) []string {
	var out []string
	for _, s := range list {
		if strings.Contains(s, sub) {
			out = append(out, s)
		}
	}
	return out
}

// TestImportWithoutImages: the images are the references file's ids; a
// later import with the files fills them in; ids that the references do
// not give are refused as before.
func TestImportWithoutImages(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newImpFixture(t, s)
		coco := `{"images": [{"id": 1, "file_name": "1.png"}, {"id": 2, "file_name": "2.png"}, {"id": 5, "file_name": "5.png"}],
 "annotations": [{"image_id": 1, "caption": "a dog"}, {"image_id": 2, "caption": "a cat"}]}`
		rep := f.mustImport(annotation.ImportRequest{WithoutImages: true, References: annotation.SourceFile{Path: f.file("coco.json", coco)},
			Results: []annotation.ResultsFile{{SourceFile: annotation.SourceFile{Path: f.file("r.jsonl", "{\"image_id\": 5, \"caption\": \"a bird\"}\n")}, Captioner: "m"}}})
		if rep.Images.Added != 3 || rep.ImagesWithoutFile != 3 || rep.References.Added != 2 || len(grep(rep.Warnings, "3 images of the campaign have no file")) != 1 {
			t.Fatalf("report %+v", rep)
		}
		imgs, err := s.Images(ctx, f.campaign, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, img := range imgs {
			if img.SHA256 != "" || img.StorageKey != "" {
				t.Errorf("image %s has a file: %+v", img.ExternalID, img)
			}
		}
		// An id the annotation file does not give is still refused.
		_, err = f.importReq(annotation.ImportRequest{Results: []annotation.ResultsFile{{SourceFile: annotation.SourceFile{Path: f.file("r2.jsonl", "{\"image_id\": 6, \"caption\": \"x\"}\n")}, Captioner: "m"}}})
		if err == nil || !strings.Contains(err.Error(), "no image 6 in the campaign") {
			t.Errorf("unknown id: %v", err)
		}
		// The files arrive: the rows get them, nothing else changes.
		fill := f.mustImport(annotation.ImportRequest{Images: annotation.SourceFile{Path: f.images("imgs", "1", "2")}})
		if fill.Images.Added != 2 || fill.ImagesWithoutFile != 1 {
			t.Errorf("fill %+v", fill)
		}
		again := f.mustImport(annotation.ImportRequest{Images: annotation.SourceFile{Path: filepath.Join(f.in, "imgs")}})
		if !again.Unchanged || again.Images.Unchanged != 2 {
			t.Errorf("fill again %+v", again)
		}
		one, err := s.ImageByExternalID(ctx, f.campaign, "1")
		if err != nil || one.SHA256 == "" || one.Width != 4 || one.Height != 3 {
			t.Errorf("filled image %+v, %v", one, err)
		}
		for _, tt := range []struct {
			name string
			req  annotation.ImportRequest
			want string
		}{
			{"images and without images", annotation.ImportRequest{WithoutImages: true, Images: annotation.SourceFile{Path: f.in + "/imgs"},
				References: annotation.SourceFile{Path: f.in + "/coco.json"}}, "images: images are given and the import is without images"},
			{"without references", annotation.ImportRequest{WithoutImages: true, Results: []annotation.ResultsFile{{SourceFile: annotation.SourceFile{Path: f.in + "/r.jsonl"}, Captioner: "m"}}},
				"references: an import without images takes the image ids from the references file"},
		} {
			if _, err := f.importReq(tt.req); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
			}
		}
	})
}

// TestImportedAnswersJSON: real values keep their digits in the stored
// answers (what agreement and the leaderboard read).
func TestImportedAnswersJSON(t *testing.T) {
	s := modelstest.NewStore(t)
	f := newImpFixture(t, s)
	judgedCampaign(t, f)
	f.mustImport(annotation.ImportRequest{Ratings: annotation.SourceFile{Path: f.file("r.csv", "image_id,captioner,overall\n2,human,1.0000000000000002\n")}})
	ratings, err := s.CampaignRatings(context.Background(), f.campaign)
	if err != nil || len(ratings) != 1 {
		t.Fatalf("%v %v", ratings, err)
	}
	var m map[string]float64
	if err := json.Unmarshal(ratings[0].Answers, &m); err != nil || m["overall"] != 1.0000000000000002 {
		t.Errorf("answers %s", ratings[0].Answers)
	}
}
