package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"capeval/annotation"
	"capeval/models"
)

// QueueService is what the rating handlers need (annotation.Queue): the
// annotator's campaigns, the queue, ratings and skips, and the images of
// the tasks (ImageService).
type QueueService interface {
	ImageService
	Campaigns(ctx context.Context, annotatorID int64) ([]annotation.AnnotatorCampaign, error)
	Next(ctx context.Context, annotatorID, campaignID, after int64) (*annotation.TaskView, string, error)
	Heartbeat(ctx context.Context, annotatorID, taskID int64) (time.Time, error)
	Rate(ctx context.Context, annotatorID, taskID int64, in annotation.RatingInput) (*annotation.RatingView, bool, error)
	Revise(ctx context.Context, annotatorID, ratingID int64, in annotation.RatingInput) (*annotation.RatingView, error)
	Skip(ctx context.Context, annotatorID, taskID int64, reason string) error
}

// queueReasonHeader carries, on a 204 of GET /queue/next, why there is no
// task (percent-encoded UTF-8); absent when the annotator has simply done
// everything they can.
const queueReasonHeader = "Capeval-Queue-Reason"

func (s *Server) queue() (QueueService, error) {
	return configured(s.svc.Queue, "the rating queue is")
}

// The queue service is what the handlers need.
var _ QueueService = (*annotation.Queue)(nil)

// taskResponse is a leased task as the annotator's API shows it. Its keys
// are the whole of what an annotator learns of a task: no captioner, no
// caption ID, no score, no gold flag; a gold task has exactly these keys.
// Caption is set for a single task, CaptionA and CaptionB (in the order
// shown to this annotator) for a pair.
type taskResponse struct {
	TaskID         int64               `json:"task_id"`
	CampaignID     int64               `json:"campaign_id"`
	Kind           models.TaskKind     `json:"kind"`
	ImageURL       string              `json:"image_url"`
	ImageWidth     int                 `json:"image_width"`
	ImageHeight    int                 `json:"image_height"`
	Caption        *string             `json:"caption,omitempty"`
	CaptionA       *string             `json:"caption_a,omitempty"`
	CaptionB       *string             `json:"caption_b,omitempty"`
	Rubric         annotation.Rubric   `json:"rubric"`
	Instructions   string              `json:"instructions"`
	LeaseExpiresAt time.Time           `json:"lease_expires_at"`
	Mode           models.CampaignMode `json:"mode"`
}

func viewTask(v *annotation.TaskView) taskResponse {
	r := taskResponse{TaskID: v.TaskID, CampaignID: v.CampaignID, Kind: v.Kind, ImageURL: imageURL(v.ImageSHA256),
		ImageWidth: v.ImageWidth, ImageHeight: v.ImageHeight, Rubric: v.Rubric, Instructions: v.Instructions,
		LeaseExpiresAt: v.LeaseExpiresAt, Mode: models.ModeLikert}
	if v.Kind == models.TaskPair {
		r.CaptionA, r.CaptionB, r.Mode = &v.CaptionA, &v.CaptionB, models.ModePairwise
	} else {
		r.Caption = &v.Caption
	}
	return r
}

// imageURL is where an image is served: by content hash only; "" for an
// image imported without its file (the rating page says it is missing).
func imageURL(sha string) string {
	if sha == "" {
		return ""
	}
	return "/api/v1/images/" + sha
}

// ratingRequest is the body of POST /tasks/:id/ratings and PUT
// /ratings/:id: answers (Likert) or choice (pairwise), and what goes with
// them. Answers' values stay decoded JSON, so that the service can name
// the criterion whose value has the wrong type.
type ratingRequest struct {
	ClientID   string         `json:"client_id"`
	Answers    map[string]any `json:"answers"`
	Choice     string         `json:"choice"`
	Comment    string         `json:"comment"`
	DurationMS int64          `json:"duration_ms"`
}

func (r ratingRequest) input() annotation.RatingInput {
	return annotation.RatingInput{ClientID: r.ClientID, Answers: r.Answers, Choice: r.Choice, Comment: r.Comment, DurationMS: r.DurationMS}
}

type skipRequest struct {
	Reason string `json:"reason"`
}

// listAnnotatorCampaigns answers GET /annotator/campaigns: the collecting
// campaigns this annotator may rate, with their progress.
func (s *Server) listAnnotatorCampaigns(c echo.Context) error {
	svc, err := s.queue()
	if err != nil {
		return err
	}
	list, err := svc.Campaigns(c.Request().Context(), currentUser(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string][]annotation.AnnotatorCampaign{"campaigns": list})
}

// nextTask answers GET /queue/next?campaign=ID[&after=TASK_ID]: 200 with
// the leased task, or 204 when there is none for this annotator (with the
// reason in Capeval-Queue-Reason when there is one).
func (s *Server) nextTask(c echo.Context) error {
	svc, err := s.queue()
	if err != nil {
		return err
	}
	campaignID, err := strconv.ParseInt(c.QueryParam("campaign"), 10, 64)
	if err != nil || campaignID <= 0 {
		return badRequest("campaign", "campaign %q: want the campaign's id, a positive integer (GET /api/v1/queue/next?campaign=ID)", c.QueryParam("campaign"))
	}
	var after int64
	if v := c.QueryParam("after"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after <= 0 {
			return badRequest("after", "after %q: want the id of the task on screen, a positive integer", v)
		}
	}
	task, reason, err := svc.Next(c.Request().Context(), currentUser(c).ID, campaignID, after)
	if err != nil {
		return err
	}
	if task == nil {
		if reason != "" {
			c.Response().Header().Set(queueReasonHeader, url.PathEscape(reason))
		}
		return c.NoContent(http.StatusNoContent)
	}
	return c.JSON(http.StatusOK, viewTask(task))
}

// heartbeatTask answers POST /tasks/:id/heartbeat: the renewed lease's
// expiry, or 409 when the task can no longer be held.
func (s *Server) heartbeatTask(c echo.Context) error {
	svc, err := s.queue()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "task")
	if err != nil {
		return err
	}
	expires, err := svc.Heartbeat(c.Request().Context(), currentUser(c).ID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]time.Time{"lease_expires_at": expires})
}

// createRating answers POST /tasks/:id/ratings: 201 with the new rating,
// or 200 with the first one for a retry with the same client_id.
func (s *Server) createRating(c echo.Context) error {
	svc, err := s.queue()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "task")
	if err != nil {
		return err
	}
	var req ratingRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	r, created, err := svc.Rate(c.Request().Context(), currentUser(c).ID, id, req.input())
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, r)
}

// reviseRating answers PUT /ratings/:id: the revised rating, within the
// undo window.
func (s *Server) reviseRating(c echo.Context) error {
	svc, err := s.queue()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "rating")
	if err != nil {
		return err
	}
	var req ratingRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	r, err := svc.Revise(c.Request().Context(), currentUser(c).ID, id, req.input())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

// skipTask answers POST /tasks/:id/skip with 204.
func (s *Server) skipTask(c echo.Context) error {
	svc, err := s.queue()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "task")
	if err != nil {
		return err
	}
	var req skipRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if err := svc.Skip(c.Request().Context(), currentUser(c).ID, id, req.Reason); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
