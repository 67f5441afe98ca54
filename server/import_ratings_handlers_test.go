package server

import (
	"net/http"
	"strings"
	"testing"

	"capeval/models"
)

// TestImportRatingsAPI: a campaign without image files and its human
// judgments arrive through the upload form.
func TestImportRatingsAPI(t *testing.T) {
	app := newImportTestApp(t)
	lead := app.token(models.RoleLead)
	refs := `{"images": [{"id": 1}, {"id": 2}], "annotations": [{"image_id": 1, "caption": "a dark dot"}, {"image_id": 2, "caption": "a grey dot"}]}`
	res := `[{"image_id": 1, "caption": "a dot"}, {"image_id": 2, "caption": "A grey dot."}]`
	ratings := "image_id,captioner,annotator,overall\n1,blip@2,w1,4\n2,blip@2,w1,2.5\n"
	for _, tt := range []struct {
		name       string
		parts      []formPart
		wantStatus int
		wantBody   []string
	}{
		{"bad without_images", []formPart{{"without_images", "", "maybe"}}, http.StatusBadRequest, []string{`"field":"without_images"`}},
		{"two ratings files", []formPart{{"ratings", "a.csv", ratings}, {"ratings", "b.csv", ratings}}, http.StatusBadRequest,
			[]string{"send at most one ratings file"}},
		{"ratings of an unknown captioner", []formPart{{"ratings", "r.csv", ratings}}, http.StatusBadRequest,
			[]string{`"where":"r.csv: line 2: image_id"`, "no image 1 in the campaign"}},
		{"campaign, captions and ratings", []formPart{{"without_images", "", "true"}, {"references", "captions.json", refs},
			{"results", "blip.json", res}, {"captioner", "", "blip@2"}, {"ratings", "r.csv", ratings}}, http.StatusOK,
			[]string{`"images":{"added":2,"unchanged":0}`, `"images_without_file":2`,
				`"ratings":{"file":"r.csv","added":2,"unchanged":0,"annotators":1,"anonymous":0,"captions":2}`,
				`captioner blip@2: 1 captions are word for word one of their image's references`}},
		{"value out of range", []formPart{{"ratings", "r.jsonl", `{"image_id": 1, "captioner": "blip@2", "ratings": {"overall": 9}}`}}, http.StatusBadRequest,
			[]string{`"where":"r.jsonl: line 1: ratings.overall"`, "9 is outside the criterion's scale 1–5"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body, ct := multipartBody(t, tt.parts...)
			rec := app.do("POST", "/api/v1/campaigns/1/import", body, lead, "Content-Type", ct)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			for _, w := range tt.wantBody {
				if !strings.Contains(rec.Body.String(), w) {
					t.Errorf("body %s\nwant it to contain %s", rec.Body, w)
				}
			}
		})
	}
}
