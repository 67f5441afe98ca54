package server

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"time"

	"github.com/labstack/echo/v4"

	"capeval/models"
)

// ImageService is what the image handler needs of the queue service: the
// file of an image by content hash, for a viewer allowed to see it.
type ImageService interface {
	Image(ctx context.Context, viewerID int64, anyImage bool, sha string) (file, ext string, err error)
}

// imageCacheControl: an image's URL is its content hash, so its bytes never
// change; private, since who may see it depends on the session.
const imageCacheControl = "private, max-age=31536000, immutable"

var imageTypes = map[string]string{"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}

// getImage answers GET /images/:sha256 with the image's bytes, for an
// annotator when a task of a campaign they may rate shows it, for leads
// and admins always; 404 otherwise, as for a hash no image has.
func (s *Server) getImage(c echo.Context) error {
	svc, err := s.queue()
	if err != nil {
		return err
	}
	u := currentUser(c)
	sha := c.Param("sha256")
	file, ext, err := svc.Image(c.Request().Context(), u.ID, roleRank[u.Role] >= roleRank[models.RoleLead], sha)
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		// The database names an image whose file is gone: the data
		// directory was not restored with the database.
		s.log.Warn("image file missing", "sha256", sha, "path", file)
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "no image " + sha[:12] + " for you"}
	}
	if err != nil {
		return err
	}
	defer f.Close()
	h := c.Response().Header()
	h.Set("Cache-Control", imageCacheControl)
	h.Set("ETag", `"`+sha+`"`)
	if ct, ok := imageTypes[ext]; ok {
		h.Set(echo.HeaderContentType, ct)
	}
	// ServeContent answers If-None-Match with 304 and serves ranges.
	http.ServeContent(c.Response(), c.Request(), "", time.Time{}, f)
	return nil
}
