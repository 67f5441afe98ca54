package server

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"capeval/accounts"
	"capeval/models"
)

const ctxUser = "user"

// contentSecurityPolicy allows only the app's own scripts and styles: no
// inline scripts, no CDN, no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders go on every response. Over HTTPS that includes HSTS; API
// answers (errors included, so it is set before the handler runs) are
// never stored by a browser or proxy cache: they carry tokens and data
// that a shared machine's next user must not find.
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if s.secure(c) {
			h.Set("Strict-Transport-Security", hstsValue)
		}
		if strings.HasPrefix(c.Request().URL.Path, "/api/") {
			h.Set("Cache-Control", "no-store")
		}
		return next(c)
	}
}

// errCrossOrigin refuses a state-changing request that a browser sent from
// another origin.
var errCrossOrigin = &apiError{Status: http.StatusForbidden, Code: "cross_origin",
	Message: "cross-origin request refused: a change made with the session cookie must come from this site's own pages"}

// checkOrigin is the CSRF defence. SameSite=Strict alone lets any page of
// the same site, which includes every port of the same host, send
// requests with the cookie; so a state-changing request (POST, PUT, PATCH,
// DELETE) is refused when the browser says it comes from elsewhere:
// Sec-Fetch-Site present and not same-origin, or Origin present and not
// this origin (scheme, host and port as the client addressed them, which
// behind a trusted proxy are its X-Forwarded-Proto and X-Forwarded-Host).
// A request with a bearer token and no cookie is a script's, which no page
// can make a browser send, and is not checked.
func (s *Server) checkOrigin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		default:
			return next(c)
		}
		if bearerToken(r) != "" && sessionCookie(c) == "" {
			return next(c)
		}
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
			s.log.Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path, "sec_fetch_site", site, "origin", r.Header.Get("Origin"))
			return errCrossOrigin
		}
		if origin := r.Header.Get("Origin"); origin != "" {
			if want := c.Scheme() + "://" + s.requestHost(c); !sameOrigin(origin, want) {
				// Behind a proxy that is not configured as trusted, the
				// server sees http and the proxy's Host: say so in the log.
				s.log.Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path, "origin", origin,
					"this_origin", want, "hint", "behind a reverse proxy, set CAPEVAL_TRUSTED_PROXIES and have it send X-Forwarded-Proto and X-Forwarded-Host")
				return errCrossOrigin
			}
		}
		return next(c)
	}
}

// sameOrigin compares two origins (scheme://host[:port]) with the scheme's
// default port filled in, ignoring case.
func sameOrigin(a, b string) bool {
	ua, err := url.Parse(a)
	if err != nil || ua.Host == "" || ua.Path != "" || ua.User != nil {
		return false
	}
	ub, err := url.Parse(b)
	if err != nil || ub.Host == "" {
		return false
	}
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if strings.EqualFold(u.Scheme, "https") {
			return "443"
		}
		return "80"
	}
	return strings.EqualFold(ua.Scheme, ub.Scheme) && strings.EqualFold(ua.Hostname(), ub.Hostname()) && port(ua) == port(ub)
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
// session cookie (either name), and has the accounts service load the user
// on every request, so that a disabled user or a revoked token is refused
// at once. Without a valid token it leaves the context empty; requireRole
// decides what that means.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		raw := bearerToken(c.Request())
		if raw == "" {
			raw = sessionCookie(c)
		}
		if raw == "" {
			return next(c)
		}
		u, err := s.accounts.Authenticate(c.Request().Context(), raw)
		switch {
		case errors.Is(err, accounts.ErrInvalidToken):
			s.log.Debug("token refused", "err", err)
			return next(c)
		case err != nil:
			return err
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
