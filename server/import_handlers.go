package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/labstack/echo/v4"

	"capeval/annotation"
)

// MaxUploadBytes bounds the body of an import upload (2 GiB): images zip,
// references and results together. It is separate from the JSON body
// limit (CAPEVAL_MAX_BODY_BYTES), which stays small; the upload is
// streamed to temporary files part by part, never held in memory.
const MaxUploadBytes = 2 << 30

// maxFormField bounds a text field of the import form (a captioner name).
const maxFormField = 1 << 10

// ImportService is what the import handler needs (annotation.Importer).
type ImportService interface {
	Import(ctx context.Context, campaignID int64, req annotation.ImportRequest) (*annotation.ImportReport, error)
}

// importCampaign takes a multipart/form-data upload (see README, "Import
// API") and imports it into the campaign; the answer is the import report.
func (s *Server) importCampaign(c echo.Context) error {
	if _, err := configured(s.svc.Import, "import is"); err != nil {
		return err
	}
	id, err := campaignIDParam(c)
	if err != nil {
		return err
	}
	mr, err := c.Request().MultipartReader()
	if err != nil {
		return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: fmt.Sprintf("Content-Type is %q: send multipart/form-data with images, references, results and captioner fields", c.Request().Header.Get(echo.HeaderContentType))}
	}
	// Under the data directory rather than /tmp, which is often a small
	// tmpfs: an upload may be gigabytes.
	tmpRoot := filepath.Join(s.cfg.DataDir, "tmp")
	if err := os.MkdirAll(tmpRoot, 0o750); err != nil {
		return fmt.Errorf("server: import: %w", err)
	}
	dir, err := os.MkdirTemp(tmpRoot, "upload-")
	if err != nil {
		return fmt.Errorf("server: import: %w", err)
	}
	defer os.RemoveAll(dir)
	req, err := readImportForm(mr, dir)
	if err != nil {
		return err
	}
	rep, err := s.svc.Import.Import(c.Request().Context(), id, req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}

// readImportForm streams the parts of the upload into dir and returns the
// request they make: "images" (one .zip, or image files), "references"
// (one file), "results" (files) each paired, in order, with a "captioner"
// field "NAME" or "NAME@VERSION", "ratings" (one file of human judgments)
// and "without_images" (true: the images are the references' ids).
func readImportForm(mr *multipart.Reader, dir string) (annotation.ImportRequest, error) {
	var req annotation.ImportRequest
	var captioners []string
	var results []annotation.SourceFile
	var imageFiles []string
	names := map[string]bool{}
	n := 0
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return req, err
			}
			return req, badRequest("", "malformed multipart body: %v", err)
		}
		field := part.FormName()
		switch field {
		case "without_images":
			b, err := io.ReadAll(io.LimitReader(partReader{part}, maxFormField+1))
			if err != nil {
				return req, uploadError(field, err)
			}
			switch strings.TrimSpace(string(b)) {
			case "true", "1", "on":
				req.WithoutImages = true
			case "false", "0", "":
			default:
				return req, badRequest(field, "without_images is true or false, got %.20q", b)
			}
			continue
		case "captioner":
			b, err := io.ReadAll(io.LimitReader(partReader{part}, maxFormField+1))
			if err != nil {
				return req, uploadError(field, err)
			}
			if len(b) > maxFormField {
				return req, badRequest(field, "captioner field longer than %d bytes", maxFormField)
			}
			captioners = append(captioners, string(b))
			continue
		case "images", "references", "results", "ratings":
		default:
			return req, badRequest(field, "unknown form field %q: want images, references, results, captioner, ratings or without_images", field)
		}
		name := part.FileName()
		if name == "" {
			return req, badRequest(field, "field %q must be a file", field)
		}
		n++
		switch field {
		case "images":
			if strings.EqualFold(path.Ext(name), ".zip") {
				if req.Images.Path != "" || len(imageFiles) > 0 {
					return req, badRequest(field, "send one images zip, or image files, not both")
				}
				p, err := savePart(part, filepath.Join(dir, fmt.Sprintf("%d.zip", n)))
				if err != nil {
					return req, uploadError(field, err)
				}
				req.Images = annotation.SourceFile{Path: p, Name: name}
				continue
			}
			if req.Images.Path != "" && len(imageFiles) == 0 {
				return req, badRequest(field, "send one images zip, or image files, not both")
			}
			base := path.Base(strings.ReplaceAll(name, `\`, "/"))
			if base == "." || base == ".." || base == "/" || strings.HasPrefix(base, ".") {
				return req, badRequest(field, "image file name %q is not acceptable", name)
			}
			if names[base] {
				return req, badRequest(field, "image file %q is sent twice", base)
			}
			names[base] = true
			folder := filepath.Join(dir, "images")
			if err := os.MkdirAll(folder, 0o750); err != nil {
				return req, fmt.Errorf("server: import: %w", err)
			}
			if _, err := savePart(part, filepath.Join(folder, base)); err != nil {
				return req, uploadError(field, err)
			}
			imageFiles = append(imageFiles, base)
			req.Images = annotation.SourceFile{Path: folder, Name: "images"}
		case "references":
			if req.References.Path != "" {
				return req, badRequest(field, "send at most one references file")
			}
			p, err := savePart(part, filepath.Join(dir, fmt.Sprintf("%d%s", n, safeExt(name))))
			if err != nil {
				return req, uploadError(field, err)
			}
			req.References = annotation.SourceFile{Path: p, Name: name}
		case "ratings":
			if req.Ratings.Path != "" {
				return req, badRequest(field, "send at most one ratings file")
			}
			p, err := savePart(part, filepath.Join(dir, fmt.Sprintf("%d%s", n, safeExt(name))))
			if err != nil {
				return req, uploadError(field, err)
			}
			req.Ratings = annotation.SourceFile{Path: p, Name: name}
		case "results":
			p, err := savePart(part, filepath.Join(dir, fmt.Sprintf("%d%s", n, safeExt(name))))
			if err != nil {
				return req, uploadError(field, err)
			}
			results = append(results, annotation.SourceFile{Path: p, Name: name})
		}
	}
	if len(captioners) != len(results) {
		return req, badRequest("captioner", "%d results files and %d captioner fields: send one captioner (NAME or NAME@VERSION) per results file, in the same order",
			len(results), len(captioners))
	}
	for i, f := range results {
		name, version, _ := strings.Cut(captioners[i], "@")
		req.Results = append(req.Results, annotation.ResultsFile{SourceFile: f, Captioner: strings.TrimSpace(name), Version: strings.TrimSpace(version)})
	}
	return req, nil
}

// savePart streams a part into a new file at p.
func savePart(part *multipart.Part, p string) (string, error) {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, partReader{part}); err != nil {
		f.Close()
		return "", err
	}
	return p, f.Close()
}

// safeExt keeps a file name's extension (the format is detected from it)
// when it is a plain one.
func safeExt(name string) string {
	ext := strings.ToLower(path.Ext(name))
	switch ext {
	case ".json", ".jsonl", ".ndjson", ".csv":
		return ext
	}
	return ""
}

// readError marks a failure to read the upload (the client's side), as
// opposed to one to write it (ours: a full disk is a 5xx).
type readError struct{ err error }

func (e readError) Error() string { return e.err.Error() }
func (e readError) Unwrap() error { return e.err }

type partReader struct{ r io.Reader }

func (p partReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if err != nil && err != io.EOF {
		err = readError{err}
	}
	return n, err
}

// uploadError keeps the body-limit error (a 413), turns other read
// failures into a 400 naming the field, and write failures into a 5xx.
func uploadError(field string, err error) error {
	var mbe *http.MaxBytesError
	var re readError
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.As(err, &re):
		return badRequest(field, "reading the upload of %s: %v", field, re.err)
	}
	return fmt.Errorf("server: import: save %s: %w", field, err)
}
