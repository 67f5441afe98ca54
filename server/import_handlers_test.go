package server

import (
	"archive/zip"
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"capeval/annotation"
	"capeval/models"
)

// newImportTestApp is newTestApp with the real importer and one campaign
// (id 1).
func newImportTestApp(t *testing.T) *testApp {
	t.Helper()
	app := newTestApp(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	imp := annotation.NewImporter(app.store, annotation.NewImageStore(app.srv.cfg.DataDir), log)
	app.srv = New(app.srv.cfg, app.store, app.accounts, Services{Import: imp}, log)
	if err := app.store.CreateCampaign(context.Background(), &models.Campaign{Name: "upload", Mode: models.ModeLikert}); err != nil {
		t.Fatal(err)
	}
	return app
}

// formPart is one part of a multipart upload: a file when file is set,
// else a text field.
type formPart struct {
	field, file, content string
}

func multipartBody(t *testing.T, parts ...formPart) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		var err error
		var pw io.Writer
		if p.file != "" {
			pw, err = w.CreateFormFile(p.field, p.file)
		} else {
			pw, err = w.CreateFormField(p.field)
		}
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(pw, p.content)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String(), w.FormDataContentType()
}

func testPNG(t *testing.T, shade uint8) string {
	t.Helper()
	m := image.NewGray(image.Rect(0, 0, 3, 2))
	m.SetGray(0, 0, color.Gray{Y: shade})
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func testZip(t *testing.T, files map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, content)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestImportAPI runs its cases in order on one campaign: later cases see
// what earlier ones imported.
func TestImportAPI(t *testing.T) {
	app := newImportTestApp(t)
	lead, annot := app.token(models.RoleLead), app.token(models.RoleAnnotator)
	zipped := testZip(t, map[string]string{"imgs/1.png": testPNG(t, 1), "imgs/2.png": testPNG(t, 2)})
	refs := "image_id,caption\n1,a dark dot\n2,a grey dot\n"
	res := `[{"image_id": 1, "caption": "a dot"}, {"image_id": 2, "caption": "a dot"}]`
	good := []formPart{{"images", "set.zip", zipped}, {"references", "refs.csv", refs},
		{"captioner", "", "blip@2"}, {"results", "blip.json", res}, {"results", "git.jsonl", `{"image_id": 1, "caption": "dots"}` + "\n"}, {"captioner", "", "git"}}
	tests := []struct {
		name        string
		path        string
		parts       []formPart
		contentType string // overrides the multipart one
		token       string
		wantStatus  int
		wantBody    []string
	}{
		{"annotators may not import", "/api/v1/campaigns/1/import", good, "", annot, http.StatusForbidden, []string{`"forbidden"`}},
		{"not multipart", "/api/v1/campaigns/1/import", nil, "application/json", lead, http.StatusUnsupportedMediaType,
			[]string{"send multipart/form-data"}},
		{"unknown campaign", "/api/v1/campaigns/9/import", good, "", lead, http.StatusNotFound, []string{"no campaign with id 9"}},
		{"bad campaign id", "/api/v1/campaigns/x/import", good, "", lead, http.StatusBadRequest, []string{`"field":"id"`}},
		{"unknown field", "/api/v1/campaigns/1/import", []formPart{{"model", "", "x"}}, "", lead, http.StatusBadRequest,
			[]string{`unknown form field \"model\"`, `"field":"model"`}},
		{"results without captioner", "/api/v1/campaigns/1/import", []formPart{{"results", "r.json", res}}, "", lead, http.StatusBadRequest,
			[]string{"1 results files and 0 captioner fields"}},
		{"a bad file names its problem", "/api/v1/campaigns/1/import", []formPart{{"images", "set.zip", zipped},
			{"results", "blip.json", `[{"image_id": 3, "caption": "x"}]`}, {"captioner", "", "blip"}}, "", lead, http.StatusBadRequest,
			[]string{`"code":"invalid_input"`, `"where":"blip.json: byte 1: image_id"`, "no image 3 in the campaign"}},
		{"zip slip", "/api/v1/campaigns/1/import", []formPart{{"images", "evil.zip", testZip(t, map[string]string{"../../x.png": testPNG(t, 1)})}}, "", lead,
			http.StatusBadRequest, []string{`"where":"evil.zip: ../../x.png"`, "refused: a path with .."}},
		{"import", "/api/v1/campaigns/1/import", good, "", lead, http.StatusOK,
			[]string{`"images":{"added":2,"unchanged":0}`, `"references":{"added":2,"unchanged":0}`, `"name":"blip","version":"2"`,
				`"file":"blip.json","new":true,"captions":{"added":2,"unchanged":0}`, `"name":"git","version":""`, `"unchanged":false`}},
		{"again: unchanged", "/api/v1/campaigns/1/import", good, "", lead, http.StatusOK,
			[]string{`"images":{"added":0,"unchanged":2}`, `"unchanged":true`}},
		{"changed captions", "/api/v1/campaigns/1/import", []formPart{{"results", "blip.json", `[{"image_id": 2, "caption": "a blob"}]`},
			{"captioner", "", "blip@2"}}, "", lead, http.StatusBadRequest,
			[]string{"captioner blip@2 has another caption for image 2 already"}},
		{"image files instead of a zip", "/api/v1/campaigns/1/import", []formPart{{"images", "3.png", testPNG(t, 3)}, {"images", "4.png", testPNG(t, 4)}}, "", lead,
			http.StatusOK, []string{`"images":{"added":2,"unchanged":0}`}},
		{"an image file twice", "/api/v1/campaigns/1/import", []formPart{{"images", "5.png", testPNG(t, 5)}, {"images", "5.png", testPNG(t, 5)}}, "", lead,
			http.StatusBadRequest, []string{`image file \"5.png\" is sent twice`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, ct := multipartBody(t, tt.parts...)
			if tt.contentType != "" {
				body, ct = "{}", tt.contentType
			}
			req := httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(body))
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Authorization", "Bearer "+tt.token)
			rec := httptest.NewRecorder()
			app.srv.Handler().ServeHTTP(rec, req)
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
	// The uploads were temporary.
	entries, err := os.ReadDir(filepath.Join(app.srv.cfg.DataDir, "tmp"))
	if err != nil || len(entries) != 0 {
		t.Errorf("temporary upload folder holds %d entries (%v)", len(entries), err)
	}
}

// TestImportUploadLimit: the upload limit is its own, not the JSON body
// limit, and a body over it is refused with 413 before it is read.
func TestImportUploadLimit(t *testing.T) {
	app := newImportTestApp(t)
	big := strings.Repeat("x", int(app.srv.cfg.MaxBodyBytes)+1)
	body, ct := multipartBody(t, formPart{"images", "1.png", testPNG(t, 1) + big})
	req := httptest.NewRequest(http.MethodPost, "/api/v1/campaigns/1/import", strings.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+app.token(models.RoleLead))
	rec := httptest.NewRecorder()
	app.srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("an upload larger than the JSON limit: status %d: %s", rec.Code, rec.Body)
	}

	req = httptest.NewRequest(http.MethodPost, "/api/v1/campaigns/1/import", strings.NewReader("--x--"))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	req.Header.Set("Authorization", "Bearer "+app.token(models.RoleLead))
	req.ContentLength = MaxUploadBytes + 1
	rec = httptest.NewRecorder()
	app.srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "2147483648") {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
}

func TestImportAPIWithoutService(t *testing.T) {
	app := newTestApp(t)
	body, ct := multipartBody(t, formPart{"captioner", "", "x"})
	rec := app.do("POST", "/api/v1/campaigns/1/import", body, app.token(models.RoleLead), "Content-Type", ct)
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `"not_configured"`) {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
}
