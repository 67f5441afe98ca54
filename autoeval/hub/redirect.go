package hub

import (
	"errors"
	"net/http"
	"strings"
)

// withCredentialRedirectPolicy returns a copy of client whose redirects
// never carry the token to where the first request did not go. Go's client
// drops Authorization only when the host name changes (and keeps it for a
// subdomain); it forwards the token over a redirect from https to plain
// http, and to another port of the same host, which is another origin,
// possibly another program. The hub's own redirects (to its CDN on other
// hosts, with signed URLs) need no token, so dropping it costs nothing.
// The caller's client is left as it is; its CheckRedirect, if any, runs
// after ours and still decides whether to follow.
func withCredentialRedirectPolicy(client *http.Client) *http.Client {
	c := *client
	next := client.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if leavesOrigin(req, via) {
			req.Header.Del("Authorization")
		}
		if next != nil {
			return next(req, via)
		}
		// http.Client's default policy.
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &c
}

// leavesOrigin reports whether any hop of the chain so far, req included,
// went from https to another scheme or to another host:port than the first
// request. Go copies the first request's headers onto every hop afresh, so
// the check covers the whole chain: a hop down to http and back up again
// must not get the token back.
func leavesOrigin(req *http.Request, via []*http.Request) bool {
	if len(via) == 0 {
		return false
	}
	first := via[0].URL
	for _, r := range append(via[1:], req) {
		u := r.URL
		if first.Scheme == "https" && u.Scheme != "https" {
			return true
		}
		// An upgrade from http to https on the default ports (80 to 443)
		// is the same server: the token went to it in clear already.
		upgrade := first.Scheme == "http" && u.Scheme == "https" && first.Port() == "" && u.Port() == ""
		if strings.EqualFold(u.Hostname(), first.Hostname()) && !upgrade &&
			portOf(u.Scheme, u.Port()) != portOf(first.Scheme, first.Port()) {
			return true
		}
	}
	return false
}

// portOf returns the port a URL connects to, filling in the scheme's default.
func portOf(scheme, port string) string {
	if port != "" {
		return port
	}
	if scheme == "https" {
		return "443"
	}
	return "80"
}
