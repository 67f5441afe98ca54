package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"capeval/annotation"
	"capeval/models"
)

// SelectionService is what the selection handlers need
// (annotation.Selection): the thresholds, the preview and the commit of
// the human task queue.
type SelectionService interface {
	SetThresholds(ctx context.Context, actorID, campaignID int64, doc models.JSON) (models.JSON, error)
	Preview(ctx context.Context, campaignID int64, opts annotation.PreviewOptions) (*annotation.SelectionPreview, error)
	Commit(ctx context.Context, actorID, campaignID int64, opts annotation.CommitOptions) (*annotation.SelectionResult, error)
}

// previewSelectionRequest: every field is optional. Thresholds previews a
// draft instead of the stored document.
type previewSelectionRequest struct {
	Thresholds models.JSON `json:"thresholds"`
	Replace    bool        `json:"replace"`
	Examples   int         `json:"examples"`
}

// commitSelectionRequest: Fingerprint is the preview's, so that a commit
// never queues something other than what the lead saw.
type commitSelectionRequest struct {
	Replace     bool   `json:"replace"`
	Fingerprint string `json:"fingerprint"`
}

func (s *Server) selection() (SelectionService, error) {
	return configured(s.svc.Selection, "the selection is")
}

// putThresholds replaces the campaign's thresholds with the request body:
// a thresholds document (a JSON object) or null to clear them.
func (s *Server) putThresholds(c echo.Context) error {
	svc, err := s.selection()
	if err != nil {
		return err
	}
	id, err := campaignIDParam(c)
	if err != nil {
		return err
	}
	doc, err := readJSONDocument(c)
	if err != nil {
		return err
	}
	stored, err := svc.SetThresholds(c.Request().Context(), currentUser(c).ID, id, doc)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]models.JSON{"thresholds": stored})
}

func (s *Server) previewSelection(c echo.Context) error {
	svc, err := s.selection()
	if err != nil {
		return err
	}
	id, err := campaignIDParam(c)
	if err != nil {
		return err
	}
	var req previewSelectionRequest
	if err := bindOptionalJSON(c, &req); err != nil {
		return err
	}
	if req.Examples < 0 || req.Examples > annotation.MaxExamples {
		return badRequest("examples", "examples %d: want 0 (the default, %d) to %d", req.Examples, annotation.DefaultExamples, annotation.MaxExamples)
	}
	pv, err := svc.Preview(c.Request().Context(), id, annotation.PreviewOptions{Thresholds: req.Thresholds, Replace: req.Replace, Examples: req.Examples})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, pv)
}

func (s *Server) commitSelection(c echo.Context) error {
	svc, err := s.selection()
	if err != nil {
		return err
	}
	id, err := campaignIDParam(c)
	if err != nil {
		return err
	}
	var req commitSelectionRequest
	if err := bindOptionalJSON(c, &req); err != nil {
		return err
	}
	res, err := svc.Commit(c.Request().Context(), currentUser(c).ID, id, annotation.CommitOptions{Replace: req.Replace, Fingerprint: req.Fingerprint})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, res)
}

// bindOptionalJSON is bindJSON for requests whose every field is optional:
// an empty body is an empty object.
func bindOptionalJSON(c echo.Context, dst any) error {
	if c.Request().ContentLength == 0 {
		return nil
	}
	return bindJSON(c, dst)
}

// readJSONDocument reads a request body that is a whole JSON document (an
// object or null), checking only that it is well-formed: its schema is the
// service's to check, field by field.
func readJSONDocument(c echo.Context) (models.JSON, error) {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		return nil, &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: "Content-Type is \"" + ct + "\": send application/json"}
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, badRequest("", "read the request body: %v", err)
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, badRequest("", "malformed JSON: the request body is empty (send a thresholds object, or null to clear them)")
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, jsonError(err)
	}
	if _, ok := v.(map[string]any); !ok && v != nil {
		return nil, badRequest("thresholds", "want a JSON object (or null to clear them)")
	}
	return models.JSON(body), nil
}
