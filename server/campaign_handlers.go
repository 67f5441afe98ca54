package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"capeval/annotation"
	"capeval/models"
)

// CampaignService is what the campaign handlers need (annotation.Campaigns).
type CampaignService interface {
	List(ctx context.Context) ([]annotation.CampaignListItem, error)
	Get(ctx context.Context, id int64) (*annotation.Campaign, error)
	Create(ctx context.Context, actorID int64, in annotation.NewCampaign) (*annotation.Campaign, error)
	Update(ctx context.Context, actorID, id int64, p annotation.CampaignPatch) (*annotation.Campaign, error)
	AuditLog(ctx context.Context, campaignID int64, limit int) ([]annotation.AuditRecord, error)
}

// annotatorRef is a user named in a request by ID (a JSON number) or email
// (a JSON string).
type annotatorRef string

func (r *annotatorRef) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*r = annotatorRef(s)
		return nil
	}
	var id int64
	if err := json.Unmarshal(b, &id); err != nil || id <= 0 {
		return fmt.Errorf("annotator %s: want a user id (a positive integer) or an email", b)
	}
	*r = annotatorRef(strconv.FormatInt(id, 10))
	return nil
}

func refStrings(refs []annotatorRef) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = string(r)
	}
	return out
}

type createCampaignRequest struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Mode        string         `json:"mode"`
	Rubric      models.JSON    `json:"rubric"`
	Annotators  []annotatorRef `json:"annotators"`
}

// updateCampaignRequest: absent fields stay as they are. For the JSON
// documents an explicit null means reset (rubric to the default) or clear
// (thresholds, blend weights).
type updateCampaignRequest struct {
	Name         *string         `json:"name"`
	Description  *string         `json:"description"`
	Instructions *string         `json:"instructions"`
	Mode         *string         `json:"mode"`
	Status       *string         `json:"status"`
	Rubric       models.JSON     `json:"rubric"`
	Annotators   *[]annotatorRef `json:"annotators"`
	Thresholds   models.JSON     `json:"thresholds"`
	BlendWeights models.JSON     `json:"blend_weights"`
}

func (s *Server) campaigns() (CampaignService, error) {
	return configured(s.svc.Campaigns, "campaigns are")
}

// pathID reads the positive integer path parameter param; what names the
// thing it identifies in the message ("campaign", "task").
func pathID(c echo.Context, param, what string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(param), 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest(param, "%s id %q is not a positive integer", what, c.Param(param))
	}
	return id, nil
}

func campaignIDParam(c echo.Context) (int64, error) { return pathID(c, "id", "campaign") }

func (s *Server) listCampaigns(c echo.Context) error {
	svc, err := s.campaigns()
	if err != nil {
		return err
	}
	list, err := svc.List(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"campaigns": list})
}

func (s *Server) createCampaign(c echo.Context) error {
	svc, err := s.campaigns()
	if err != nil {
		return err
	}
	var req createCampaignRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	in := annotation.NewCampaign{Name: req.Name, Description: req.Description, Mode: models.CampaignMode(req.Mode),
		Rubric: req.Rubric, Annotators: refStrings(req.Annotators)}
	camp, err := svc.Create(c.Request().Context(), currentUser(c).ID, in)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("/api/v1/campaigns/%d", camp.ID))
	return c.JSON(http.StatusCreated, camp)
}

func (s *Server) getCampaign(c echo.Context) error {
	svc, err := s.campaigns()
	if err != nil {
		return err
	}
	id, err := campaignIDParam(c)
	if err != nil {
		return err
	}
	camp, err := svc.Get(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, camp)
}

func (s *Server) updateCampaign(c echo.Context) error {
	svc, err := s.campaigns()
	if err != nil {
		return err
	}
	id, err := campaignIDParam(c)
	if err != nil {
		return err
	}
	var req updateCampaignRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	p := annotation.CampaignPatch{Name: req.Name, Description: req.Description, Instructions: req.Instructions, Rubric: req.Rubric,
		Thresholds: req.Thresholds, BlendWeights: req.BlendWeights}
	if req.Mode != nil {
		p.Mode = (*models.CampaignMode)(req.Mode)
	}
	if req.Status != nil {
		p.Status = (*models.CampaignStatus)(req.Status)
	}
	if req.Annotators != nil {
		refs := refStrings(*req.Annotators)
		p.Annotators = &refs
	}
	camp, err := svc.Update(c.Request().Context(), currentUser(c).ID, id, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, camp)
}

func (s *Server) campaignAudit(c echo.Context) error {
	svc, err := s.campaigns()
	if err != nil {
		return err
	}
	id, err := campaignIDParam(c)
	if err != nil {
		return err
	}
	limit := 100
	if q := c.QueryParam("limit"); q != "" {
		if limit, err = strconv.Atoi(q); err != nil || limit < 1 || limit > annotation.MaxAuditLimit {
			return badRequest("limit", "limit %q: want an integer from 1 to %d", q, annotation.MaxAuditLimit)
		}
	}
	entries, err := svc.AuditLog(c.Request().Context(), id, limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"entries": entries})
}
