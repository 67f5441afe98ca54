package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"capeval/annotation"
	"capeval/models"
)

// LeaderboardService is what the leaderboard handlers need
// (annotation.Leaderboards): the blended leaderboard, the agreement
// dashboard, the adjudication queues, an item's view and the lead's
// adjudicated value.
type LeaderboardService interface {
	Leaderboard(ctx context.Context, campaignID int64, s annotation.LeaderboardSettings) (*annotation.Leaderboard, error)
	Agreement(ctx context.Context, campaignID int64, s annotation.LeaderboardSettings) (*annotation.Agreement, error)
	AdjudicationQueues(ctx context.Context, campaignID int64, s annotation.LeaderboardSettings) (*annotation.AdjudicationQueues, error)
	OpenAdjudication(ctx context.Context, campaignID, taskID int64) (*annotation.AdjudicationDetail, error)
	Adjudicate(ctx context.Context, actorID, campaignID, taskID int64, in annotation.AdjudicationInput) (*annotation.AdjudicationDetail, error)
}

var _ LeaderboardService = (*annotation.Leaderboards)(nil)

func (s *Server) leaderboards() (LeaderboardService, error) {
	return configured(s.svc.Leaderboards, "leaderboards are")
}

// leaderboardSettings reads a request's settings: those of …/export
// (exportSettings), and annotators=ID,ID for the group of those
// annotators.
func leaderboardSettings(c echo.Context) (annotation.LeaderboardSettings, error) {
	st, err := exportSettings(c.QueryParam)
	if err != nil {
		return st, err
	}
	if list := c.QueryParam("annotators"); list != "" {
		for _, part := range strings.Split(list, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64)
			if err != nil || id <= 0 {
				return st, badRequest("annotators", "annotator id %q is not a positive integer", part)
			}
			st.AnnotatorIDs = append(st.AnnotatorIDs, id)
		}
	}
	return st, nil
}

// leaderboardView answers a GET of one of the campaign's computed views
// (leaderboard, agreement, adjudication queues) with the query's settings.
func leaderboardView[T any](s *Server, c echo.Context,
	view func(LeaderboardService, context.Context, int64, annotation.LeaderboardSettings) (T, error)) error {
	svc, err := s.leaderboards()
	if err != nil {
		return err
	}
	id, err := campaignIDParam(c)
	if err != nil {
		return err
	}
	st, err := leaderboardSettings(c)
	if err != nil {
		return err
	}
	out, err := view(svc, c.Request().Context(), id, st)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// getLeaderboard answers GET /campaigns/:id/leaderboard: the leaderboard
// document (the JSON export's) with the query's settings.
func (s *Server) getLeaderboard(c echo.Context) error {
	return leaderboardView(s, c, LeaderboardService.Leaderboard)
}

// getAgreement answers GET /campaigns/:id/agreement: the agreement
// dashboard with the query's settings.
func (s *Server) getAgreement(c echo.Context) error {
	return leaderboardView(s, c, LeaderboardService.Agreement)
}

// getAdjudicationQueues answers GET /campaigns/:id/adjudication: the items
// where the annotators disagree most, and those where the metrics and the
// humans do.
func (s *Server) getAdjudicationQueues(c echo.Context) error {
	return leaderboardView(s, c, LeaderboardService.AdjudicationQueues)
}

// getAdjudication answers GET /campaigns/:id/adjudication/:task: the
// item's captions, ratings with comments, and decisions.
func (s *Server) getAdjudication(c echo.Context) error {
	svc, err := s.leaderboards()
	if err != nil {
		return err
	}
	id, err := campaignIDParam(c)
	if err != nil {
		return err
	}
	task, err := pathID(c, "task", "task")
	if err != nil {
		return err
	}
	d, err := svc.OpenAdjudication(c.Request().Context(), id, task)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

// putAdjudication answers PUT /campaigns/:id/adjudication/:task with a
// body {"criterion", "value" | "choice" | "withdraw": true, "note"}: the
// lead's decision, recorded and audited; the item's view after it.
func (s *Server) putAdjudication(c echo.Context) error {
	svc, err := s.leaderboards()
	if err != nil {
		return err
	}
	id, err := campaignIDParam(c)
	if err != nil {
		return err
	}
	task, err := pathID(c, "task", "task")
	if err != nil {
		return err
	}
	var in annotation.AdjudicationInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	d, err := svc.Adjudicate(c.Request().Context(), currentUser(c).ID, id, task, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

// putWeights answers PUT /campaigns/:id/weights with the blend document
// ({"weights": {SOURCE: W}, "normalization", "consensus", "criterion"};
// null clears it): saved as the campaign's blend weights and audited
// (campaign.blend_weights). It answers the campaign.
func (s *Server) putWeights(c echo.Context) error {
	svc, err := s.campaigns()
	if err != nil {
		return err
	}
	id, err := campaignIDParam(c)
	if err != nil {
		return err
	}
	var doc json.RawMessage
	if err := bindJSON(c, &doc); err != nil {
		return err
	}
	camp, err := svc.Update(c.Request().Context(), currentUser(c).ID, id, annotation.CampaignPatch{BlendWeights: models.JSON(doc)})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, camp)
}
