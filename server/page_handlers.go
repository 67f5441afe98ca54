package server

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"capeval/frontend"
	"capeval/models"
)

// homes maps each role to its home page.
var homes = map[models.Role]string{models.RoleAdmin: "/admin", models.RoleLead: "/lead", models.RoleAnnotator: "/annotate"}

func (s *Server) home(c echo.Context) error {
	return c.Redirect(http.StatusSeeOther, homes[currentUser(c).Role])
}

// page serves one embedded HTML page exactly as written.
func page(name string) echo.HandlerFunc {
	return func(c echo.Context) error {
		b, err := frontend.Page(name)
		if err != nil {
			return err
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		return c.HTMLBlob(http.StatusOK, b)
	}
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 only when the database answers.
func (s *Server) readyz(c echo.Context) error {
	if err := s.store.Ping(c.Request().Context()); err != nil {
		// Whatever the ping's error, a database that does not answer it is
		// unavailable to this replica (errorHandler logs it).
		return fmt.Errorf("%w: %w", models.ErrUnavailable, err)
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// campaignPage serves the lead's page of one campaign; the page's script
// loads the campaign by the id in its URL. An id that is not a positive
// integer gets the 404 page at once rather than a page that can only fail.
func (s *Server) campaignPage(c echo.Context) error {
	if _, err := campaignIDParam(c); err != nil {
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "no such campaign: " + c.Param("id")}
	}
	return page("campaign.html")(c)
}
