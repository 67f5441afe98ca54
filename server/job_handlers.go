package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"capeval/autoeval"
)

// JobService is what the auto-eval job handlers need (autoeval.Jobs).
type JobService interface {
	Start(ctx context.Context, campaignID int64, kind string) (*autoeval.Job, error)
	Get(ctx context.Context, id int64) (*autoeval.Job, error)
	List(ctx context.Context, campaignID int64) ([]autoeval.Job, error)
	Cancel(ctx context.Context, id int64) (*autoeval.Job, error)
	Captioners(ctx context.Context, campaignID int64) (*autoeval.CaptionerReport, error)
}

// jobEventsPoll is how often the events stream reads the job: progress is
// written by workers, possibly in another process, so the stream polls the
// database rather than waiting for an in-process signal.
var jobEventsPoll = 500 * time.Millisecond

type createJobRequest struct {
	Kind string `json:"kind"`
}

func (s *Server) jobs() (JobService, error) {
	return configured(s.svc.Jobs, "auto-eval jobs are")
}

func jobIDParam(c echo.Context) (int64, error) { return pathID(c, "id", "job") }

func (s *Server) createJob(c echo.Context) error {
	svc, err := s.jobs()
	if err != nil {
		return err
	}
	id, err := campaignIDParam(c)
	if err != nil {
		return err
	}
	var req createJobRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Kind == "" {
		return badRequest("kind", "kind is required: %s or %s", autoeval.KindText, autoeval.KindCLIP)
	}
	job, err := svc.Start(c.Request().Context(), id, req.Kind)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("/api/v1/jobs/%d", job.ID))
	return c.JSON(http.StatusAccepted, job)
}

func (s *Server) listJobs(c echo.Context) error {
	svc, err := s.jobs()
	if err != nil {
		return err
	}
	id, err := campaignIDParam(c)
	if err != nil {
		return err
	}
	list, err := svc.List(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"jobs": list})
}

func (s *Server) getJob(c echo.Context) error {
	svc, err := s.jobs()
	if err != nil {
		return err
	}
	id, err := jobIDParam(c)
	if err != nil {
		return err
	}
	job, err := svc.Get(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, job)
}

func (s *Server) cancelJob(c echo.Context) error {
	svc, err := s.jobs()
	if err != nil {
		return err
	}
	id, err := jobIDParam(c)
	if err != nil {
		return err
	}
	job, err := svc.Cancel(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, job)
}

// listCaptioners returns the captioners with their corpus scores, for leads
// only: annotators never see model names or scores.
func (s *Server) listCaptioners(c echo.Context) error {
	svc, err := s.jobs()
	if err != nil {
		return err
	}
	id, err := campaignIDParam(c)
	if err != nil {
		return err
	}
	rep, err := svc.Captioners(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}

// jobEvents streams a job's progress as server-sent events: a "progress"
// event with the job (as GET /jobs/:id gives it) whenever it changes, and an
// "end" event with the final job, after which the stream closes. A job that
// has ended already gets its "end" at once.
func (s *Server) jobEvents(c echo.Context) error {
	svc, err := s.jobs()
	if err != nil {
		return err
	}
	id, err := jobIDParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	job, err := svc.Get(ctx, id)
	if err != nil {
		return err // before the stream starts: a normal JSON error
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set(echo.HeaderCacheControl, "no-cache")
	w.Header().Set("X-Accel-Buffering", "no") // tell proxies not to buffer the stream
	w.WriteHeader(http.StatusOK)
	var last []byte
	for {
		b, err := json.Marshal(job)
		if err != nil {
			return err
		}
		event := "progress"
		if job.Ended() {
			event = "end"
		}
		if event == "end" || string(b) != string(last) {
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
				return nil // the client went away
			}
			w.Flush()
			last = b
		}
		if event == "end" {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(jobEventsPoll):
		}
		if job, err = svc.Get(ctx, id); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Error("job events: read job", "job", id, "err", err)
			fmt.Fprintf(w, "event: error\ndata: {\"message\":\"internal error\"}\n\n")
			w.Flush()
			return nil
		}
	}
}
