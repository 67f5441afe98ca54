package server

import (
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"capeval/accounts"
)

// The session cookie's names. Over HTTPS the cookie takes the __Host-
// prefix, which browsers accept only with Secure, Path=/ and no Domain: a
// page on a sibling subdomain, or a plain-http page of the same host,
// cannot then plant a cookie of that name (session fixation). Both names
// are read, so that sessions survive a move to HTTPS.
const (
	cookieToken       = "capeval_token"
	cookieTokenSecure = "__Host-" + cookieToken
)

// hstsValue is sent over HTTPS: a year, without includeSubDomains, since
// capeval cannot know what else runs under the same domain.
const hstsValue = "max-age=31536000"

// clientHeader is the request header of a non-browser client that wants
// the token in the login answer; see wantsTokenInBody.
const clientHeader = "X-Capeval-Client"

// configureProxies makes echo's client IP and scheme come from the direct
// connection, or from the forwarding headers when the direct peer is one
// of the configured trusted proxies. Echo's defaults would believe any
// peer on a private or loopback address, and its RealIP without an
// extractor believes X-Forwarded-For from anyone.
func (s *Server) configureProxies() {
	if len(s.cfg.TrustedProxies) == 0 {
		s.echo.IPExtractor = echo.ExtractIPDirect()
		s.echo.SchemeExtractor = echo.ExtractSchemeDirect()
		return
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range s.cfg.TrustedProxies {
		opts = append(opts, echo.TrustIPRange(n))
	}
	s.echo.IPExtractor = echo.ExtractIPFromXFFHeader(opts...)
	s.echo.SchemeExtractor = echo.ExtractSchemeFromHeaders(opts...)
}

// fromTrustedProxy reports whether the direct peer of r is a trusted proxy.
func (s *Server) fromTrustedProxy(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	for _, n := range s.cfg.TrustedProxies {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// requestHost is the host (with port, if any) the client addressed: the
// Host header, or a trusted proxy's X-Forwarded-Host (its last value,
// which the nearest proxy wrote).
func (s *Server) requestHost(c echo.Context) string {
	r := c.Request()
	if s.fromTrustedProxy(r) {
		if v := r.Header.Values("X-Forwarded-Host"); len(v) > 0 {
			last := v[len(v)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if last = strings.TrimSpace(last); last != "" {
				return last
			}
		}
	}
	return r.Host
}

// secure reports whether the request came over HTTPS as the client sees
// it, or CAPEVAL_SECURE_COOKIE says to act as if.
func (s *Server) secure(c echo.Context) bool {
	return s.cfg.SecureCookie || c.Scheme() == "https"
}

// sessionCookie reads the token from the session cookie, either name.
func sessionCookie(c echo.Context) string {
	for _, name := range []string{cookieTokenSecure, cookieToken} {
		if ck, err := c.Cookie(name); err == nil && ck.Value != "" {
			return ck.Value
		}
	}
	return ""
}

// tokenResponse is the answer of login and password change. Token is left
// out for browsers: the HttpOnly cookie carries their session, and a token
// that page scripts can read is one an injected script could steal.
type tokenResponse struct {
	Token     string    `json:"token,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
	User      userView  `json:"user"`
}

// wantsTokenInBody is the rule for who gets the token in the body: a
// client that does not send Sec-Fetch-Mode, which every current browser
// sends on every request and page scripts cannot remove (curl, scripts,
// Go's and Python's HTTP clients); or one that asks for it with
// X-Capeval-Client (a script running inside a browser-like environment).
func wantsTokenInBody(r *http.Request) bool {
	return r.Header.Get("Sec-Fetch-Mode") == "" || r.Header.Get(clientHeader) != ""
}

// respondWithSession sets the session cookie and answers with the session.
func (s *Server) respondWithSession(c echo.Context, status int, sess *accounts.Session) error {
	name := cookieToken
	if s.secure(c) {
		name = cookieTokenSecure
	}
	c.SetCookie(&http.Cookie{
		Name: name, Value: sess.Token, Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, Secure: s.secure(c), SameSite: http.SameSiteStrictMode,
	})
	resp := tokenResponse{ExpiresAt: sess.ExpiresAt, User: viewUser(sess.User)}
	if wantsTokenInBody(c.Request()) {
		resp.Token = sess.Token
	}
	return c.JSON(status, resp)
}

// clearSession expires the session cookie under the name this request
// uses and under any name it carried.
func (s *Server) clearSession(c echo.Context) {
	names := map[string]bool{cookieToken: !s.secure(c), cookieTokenSecure: s.secure(c)}
	for name := range names {
		if _, err := c.Cookie(name); err == nil {
			names[name] = true
		}
	}
	for _, name := range []string{cookieTokenSecure, cookieToken} {
		if names[name] {
			c.SetCookie(&http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1,
				HttpOnly: true, Secure: s.secure(c) || name == cookieTokenSecure, SameSite: http.SameSiteStrictMode})
		}
	}
}
