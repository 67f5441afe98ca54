package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"capeval/annotation"
)

// QualityService is what the quality handlers need (annotation.Quality):
// a campaign's quality settings, the lead's exclusion decisions and
// lead-authored gold tasks.
type QualityService interface {
	Settings(ctx context.Context, campaignID int64) (*annotation.QualitySettingsView, error)
	SetSettings(ctx context.Context, actorID, campaignID int64, s annotation.QualitySettings) (*annotation.QualitySettingsView, error)
	SetExclusion(ctx context.Context, actorID, campaignID, annotatorID int64, decision, reason string) (*annotation.ExclusionState, error)
	CreateGold(ctx context.Context, actorID, campaignID int64, in annotation.NewGold) (*annotation.GoldTask, error)
	ReplaceExcluded(ctx context.Context, actorID, campaignID int64) (*annotation.Replacements, error)
}

var _ QualityService = (*annotation.Quality)(nil)

func (s *Server) quality() (QualityService, error) {
	return configured(s.svc.Quality, "quality checks are")
}

// qualityRequest is the body of PUT /campaigns/:id/quality: the whole of
// the settings, an absent field taking its default (everything off).
type qualityRequest struct {
	QualificationTasks    *int     `json:"qualification_tasks"`
	QualificationAccuracy *float64 `json:"qualification_accuracy"`
	MinAccuracy           *float64 `json:"min_accuracy"`
	MinGoldAnswers        *int     `json:"min_gold_answers"`
	ExcludeFlagged        *bool    `json:"exclude_flagged"`
	MinSeconds            *float64 `json:"min_seconds"`
	DailyCap              *int     `json:"daily_cap"`
	StraightLineWindow    *int     `json:"straight_line_window"`
}

func (r qualityRequest) settings() annotation.QualitySettings {
	s := annotation.DefaultQualitySettings()
	set := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	setF := func(dst *float64, v *float64) {
		if v != nil {
			*dst = *v
		}
	}
	set(&s.QualificationTasks, r.QualificationTasks)
	setF(&s.QualificationAccuracy, r.QualificationAccuracy)
	setF(&s.MinAccuracy, r.MinAccuracy)
	set(&s.MinGoldAnswers, r.MinGoldAnswers)
	if r.ExcludeFlagged != nil {
		s.ExcludeFlagged = *r.ExcludeFlagged
	}
	setF(&s.MinSeconds, r.MinSeconds)
	set(&s.DailyCap, r.DailyCap)
	set(&s.StraightLineWindow, r.StraightLineWindow)
	return s
}

// getQuality answers GET /campaigns/:id/quality: the settings, with who
// changed them last.
func (s *Server) getQuality(c echo.Context) error {
	svc, err := s.quality()
	if err != nil {
		return err
	}
	id, err := campaignIDParam(c)
	if err != nil {
		return err
	}
	v, err := svc.Settings(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// putQuality answers PUT /campaigns/:id/quality: replaces the settings
// (audited as campaign.quality).
func (s *Server) putQuality(c echo.Context) error {
	svc, err := s.quality()
	if err != nil {
		return err
	}
	id, err := campaignIDParam(c)
	if err != nil {
		return err
	}
	var req qualityRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	v, err := svc.SetSettings(c.Request().Context(), currentUser(c).ID, id, req.settings())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// exclusionRequest is the body of PUT
// /campaigns/:id/annotators/:annotator/exclusion.
type exclusionRequest struct {
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
}

// putExclusion answers PUT /campaigns/:id/annotators/:annotator/exclusion:
// the lead's decision about an annotator's ratings (exclude, include, or
// policy to withdraw it), and the state it leaves.
func (s *Server) putExclusion(c echo.Context) error {
	svc, err := s.quality()
	if err != nil {
		return err
	}
	id, err := campaignIDParam(c)
	if err != nil {
		return err
	}
	annotatorID, err := pathID(c, "annotator", "annotator")
	if err != nil {
		return err
	}
	var req exclusionRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	st, err := svc.SetExclusion(c.Request().Context(), currentUser(c).ID, id, annotatorID, req.Decision, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// postReplacements answers POST /campaigns/:id/replacements: one more
// rating asked for in place of each rating of the excluded annotators
// (Quality.ReplaceExcluded). It takes no body.
func (s *Server) postReplacements(c echo.Context) error {
	svc, err := s.quality()
	if err != nil {
		return err
	}
	id, err := campaignIDParam(c)
	if err != nil {
		return err
	}
	out, err := svc.ReplaceExcluded(c.Request().Context(), currentUser(c).ID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// goldRequest is the body of POST /campaigns/:id/gold: an image of the
// campaign and, Likert, a text with the judgement it deserves ("good" or
// "bad", on criterion or the gold criterion), or, pairwise, two texts and
// the winner ("a" or "b").
type goldRequest struct {
	ImageID       int64  `json:"image_id"`
	Text          string `json:"text"`
	Expect        string `json:"expect"`
	Criterion     string `json:"criterion"`
	TextA         string `json:"text_a"`
	TextB         string `json:"text_b"`
	Winner        string `json:"winner"`
	RatingsWanted int    `json:"ratings_wanted"`
}

// createGold answers POST /campaigns/:id/gold: 201 with the new gold task.
func (s *Server) createGold(c echo.Context) error {
	svc, err := s.quality()
	if err != nil {
		return err
	}
	id, err := campaignIDParam(c)
	if err != nil {
		return err
	}
	var req goldRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	g, err := svc.CreateGold(c.Request().Context(), currentUser(c).ID, id, annotation.NewGold{ImageID: req.ImageID,
		Text: req.Text, Expect: req.Expect, Criterion: req.Criterion, TextA: req.TextA, TextB: req.TextB,
		Winner: req.Winner, RatingsWanted: req.RatingsWanted})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("/api/v1/campaigns/%d/progress", id))
	return c.JSON(http.StatusCreated, g)
}
