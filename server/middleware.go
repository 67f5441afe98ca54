package server

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"capeval/models"
)

const (
	ctxUser     = "user"
	cookieToken = "capeval_token"
)

// contentSecurityPolicy allows only the app's own scripts and styles: no
// inline scripts, no CDN, no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		return next(c)
	}
}

// requestLogger logs one line per request, after it is answered.
func (s *Server) requestLogger(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err) // write the response now so the status is known
		}
		req, res := c.Request(), c.Response()
		attrs := []any{"method", req.Method, "path", req.URL.Path, "status", res.Status,
			"duration_ms", time.Since(start).Milliseconds(), "bytes", res.Size,
			"remote", c.RealIP(), "request_id", res.Header().Get(echo.HeaderXRequestID)}
		if u, ok := c.Get(ctxUser).(*models.User); ok {
			attrs = append(attrs, "user_id", u.ID)
		}
		s.log.Info("request", attrs...)
		return nil
	}
}

// bodyLimit caps request bodies; bindJSON turns the overflow into a 413
// that names the limit.
func bodyLimit(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Request().ContentLength > limit {
				return &http.MaxBytesError{Limit: limit}
			}
			c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, limit)
			return next(c)
		}
	}
}

// authenticate resolves the token from the Authorization header or the
// cookie, and loads the user on every request so that a disabled user or a
// revoked token is refused at once. Without a valid token it leaves the
// context empty; requireRole decides what that means.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		raw := bearerToken(c.Request())
		if raw == "" {
			if ck, err := c.Cookie(cookieToken); err == nil {
				raw = ck.Value
			}
		}
		if raw == "" {
			return next(c)
		}
		userID, claims, err := s.tokens.parse(raw)
		if err != nil {
			s.log.Debug("token refused", "err", err)
			return next(c)
		}
		u, err := s.store.UserByID(c.Request().Context(), userID)
		switch {
		case errors.Is(err, models.ErrNotFound):
			return next(c)
		case err != nil:
			return err
		case u.Disabled || u.TokenVersion != claims.TokenVersion:
			return next(c)
		}
		c.Set(ctxUser, u)
		return next(c)
	}
}

func bearerToken(r *http.Request) string {
	h := r.Header.Get(echo.HeaderAuthorization)
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// roleRank orders the roles: each role may do what the roles below it may.
var roleRank = map[models.Role]int{models.RoleAnnotator: 1, models.RoleLead: 2, models.RoleAdmin: 3}

// requireRole refuses requests without a user (401 for the API, a redirect
// to the login page for pages) or whose role ranks below min (403).
func requireRole(min models.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			u, ok := c.Get(ctxUser).(*models.User)
			if !ok {
				if isPage(c) {
					return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
				}
				return errUnauthorized
			}
			if roleRank[u.Role] < roleRank[min] {
				return errForbidden
			}
			return next(c)
		}
	}
}

func isPage(c echo.Context) bool {
	p := c.Request().URL.Path
	return !strings.HasPrefix(p, "/api/") && c.Request().Method == http.MethodGet
}

func currentUser(c echo.Context) *models.User {
	u, _ := c.Get(ctxUser).(*models.User)
	return u
}
