package server

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"capeval/annotation"
)

// ProgressService is what the progress handlers need
// (annotation.Progress): the lead's progress view of a campaign and the
// decisions about its set-aside tasks.
type ProgressService interface {
	Get(ctx context.Context, campaignID int64) (*annotation.CampaignProgress, error)
	DecideSetAside(ctx context.Context, actorID, campaignID, taskID int64, decision string) error
}

var _ ProgressService = (*annotation.Progress)(nil)

func (s *Server) progress() (ProgressService, error) {
	return configured(s.svc.Progress, "the progress view is")
}

// getProgress answers GET /campaigns/:id/progress.
func (s *Server) getProgress(c echo.Context) error {
	svc, err := s.progress()
	if err != nil {
		return err
	}
	id, err := campaignIDParam(c)
	if err != nil {
		return err
	}
	p, err := svc.Get(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

// setAsideRequest is the body of POST /campaigns/:id/set-aside/:task.
type setAsideRequest struct {
	Decision string `json:"decision"`
}

// decideSetAside answers POST /campaigns/:id/set-aside/:task with
// {"decision": "put_back"|"leave_out"}: 204.
func (s *Server) decideSetAside(c echo.Context) error {
	svc, err := s.progress()
	if err != nil {
		return err
	}
	id, err := campaignIDParam(c)
	if err != nil {
		return err
	}
	taskID, err := pathID(c, "task", "task")
	if err != nil {
		return err
	}
	var req setAsideRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if err := svc.DecideSetAside(c.Request().Context(), currentUser(c).ID, id, taskID, req.Decision); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
