package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"capeval/accounts"
	"capeval/annotation"
	"capeval/autoeval"
	"capeval/frontend"
	"capeval/models"
)

// apiError is the one error shape of the JSON API:
// {"error":{"code","message","field"}}. Handlers return it (or a sentinel
// error that errorHandler maps to it); field names the offending input.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// Problems lists every problem of an invalid input (up to 20) when
	// there are several; Field is then the first one's.
	Problems []annotation.Problem `json:"problems,omitempty"`
	// retryAfter, when set, is sent as the Retry-After header.
	retryAfter time.Duration
	// public marks a 5xx whose message is meant for the client (the server
	// is busy, not broken): it is neither replaced nor logged as a failure.
	public bool
}

func (e *apiError) Error() string { return e.Message }

func badRequest(field, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "invalid_input", Message: fmt.Sprintf(format, args...), Field: field}
}

// databaseRetryAfter is the Retry-After of a database outage: a restart
// takes a second or two, and clients that all come back at once would
// find the new connections' handshakes in their way.
const databaseRetryAfter = 3 * time.Second

// errDatabaseUnavailable answers a request that met the database down. It
// is public (the client learns what to do: wait and send again), and says
// nothing of the database's address or the driver's error.
var errDatabaseUnavailable = &apiError{Status: http.StatusServiceUnavailable, Code: "database_unavailable",
	Message: "the database is unavailable: try again in a few seconds", retryAfter: databaseRetryAfter, public: true}

var (
	errUnauthorized = &apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "log in first: the token is missing, invalid, expired or revoked"}
	errForbidden    = &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: "your role may not do this"}
)

// errorHandler maps every error to a status: API paths get the JSON shape,
// pages get the HTML error page. 5xx details are logged, never sent.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	ae := s.toAPIError(err)
	if ae == errDatabaseUnavailable {
		// Public, so not logged below; an outage is the operator's to see,
		// once per request, with the driver's error.
		s.log.Warn("database unavailable", "method", c.Request().Method, "path", c.Request().URL.Path,
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err)
	}
	if ae.retryAfter > 0 {
		// Whole seconds, rounded up: a client that waits the number it is
		// told must not come back a moment too early.
		c.Response().Header().Set("Retry-After", strconv.FormatInt(int64((ae.retryAfter+time.Second-1)/time.Second), 10))
	}
	if ae.Status >= 500 && !ae.public {
		s.log.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path,
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err)
		ae = &apiError{Status: ae.Status, Code: "internal", Message: "internal error"}
	}
	var werr error
	switch {
	case c.Request().Method == http.MethodHead:
		werr = c.NoContent(ae.Status)
	case strings.HasPrefix(c.Request().URL.Path, "/api/") || strings.HasPrefix(c.Request().URL.Path, "/healthz") || strings.HasPrefix(c.Request().URL.Path, "/readyz"):
		werr = c.JSON(ae.Status, map[string]*apiError{"error": ae})
	default:
		werr = s.renderErrorPage(c, ae)
	}
	if werr != nil {
		s.log.Error("write error response", "err", werr)
	}
}

func (s *Server) toAPIError(err error) *apiError {
	var ae *apiError
	var he *echo.HTTPError
	var mbe *http.MaxBytesError
	var ve *annotation.ValidationError
	var fe *accounts.FieldError
	var te *accounts.ThrottledError
	switch {
	case errors.As(err, &ae):
		return ae
	case models.IsUnavailable(err): // before the sentinels that may wrap it
		return errDatabaseUnavailable
	case errors.As(err, &te):
		return &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited", retryAfter: te.RetryAfter,
			Message: "too many failed password checks: try again in " + max(te.RetryAfter, time.Second).Round(time.Second).String()}
	case errors.Is(err, accounts.ErrBusy):
		return &apiError{Status: http.StatusServiceUnavailable, Code: "busy", retryAfter: time.Second, public: true, Message: accounts.ErrBusy.Error()}
	case errors.Is(err, accounts.ErrInvalidCredentials):
		return &apiError{Status: http.StatusUnauthorized, Code: "invalid_credentials", Message: accounts.ErrInvalidCredentials.Error()}
	case errors.Is(err, accounts.ErrWrongPassword):
		return &apiError{Status: http.StatusForbidden, Code: "wrong_password", Message: accounts.ErrWrongPassword.Error(), Field: "current_password"}
	case errors.Is(err, accounts.ErrDisabled):
		return &apiError{Status: http.StatusForbidden, Code: "account_disabled", Message: accounts.ErrDisabled.Error()}
	case errors.Is(err, accounts.ErrCannotDisableSelf):
		return badRequest("disabled", "%s", accounts.ErrCannotDisableSelf.Error())
	case errors.Is(err, accounts.ErrEmailTaken):
		return &apiError{Status: http.StatusConflict, Code: "conflict", Message: accounts.ErrEmailTaken.Error(), Field: "email"}
	case errors.Is(err, accounts.ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: err.Error()}
	case errors.As(err, &fe):
		return badRequest(fe.Field, "%s", fe.Message)
	case errors.As(err, &ve):
		out := &apiError{Status: http.StatusBadRequest, Code: "invalid_input", Message: ve.Error(), Problems: ve.Problems}
		if len(ve.Problems) > 0 {
			out.Field = ve.Problems[0].Where
		}
		return out
	case errors.Is(err, autoeval.ErrInvalid):
		return badRequest("kind", "%s", trimSentinel(err, autoeval.ErrInvalid))
	case errors.Is(err, autoeval.ErrUnavailable):
		return &apiError{Status: http.StatusConflict, Code: "clip_unavailable", Message: autoeval.CLIPUnavailableMessage, Field: "kind"}
	case errors.Is(err, autoeval.ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: trimSentinel(err, autoeval.ErrNotFound) + " not found"}
	case errors.Is(err, autoeval.ErrConflict):
		return &apiError{Status: http.StatusConflict, Code: "conflict", Message: trimSentinel(err, autoeval.ErrConflict)}
	case errors.Is(err, annotation.ErrInvalid):
		return &apiError{Status: http.StatusBadRequest, Code: "invalid_input", Message: err.Error()}
	case errors.Is(err, annotation.ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: err.Error()}
	case errors.Is(err, annotation.ErrConflict):
		return &apiError{Status: http.StatusConflict, Code: "conflict", Message: err.Error()}
	case errors.As(err, &mbe):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
			Message: fmt.Sprintf("request body is larger than the limit of %d bytes", mbe.Limit)}
	case errors.Is(err, models.ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "not found"}
	case errors.Is(err, models.ErrConflict):
		return &apiError{Status: http.StatusConflict, Code: "conflict", Message: err.Error()}
	case errors.Is(err, models.ErrHeld): // ratings hold what the delete would remove
		return &apiError{Status: http.StatusConflict, Code: "held_by_ratings", Message: err.Error()}
	case errors.As(err, &he):
		msg := http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok && he.Code < 500 {
			msg = m
		}
		code := strings.ToLower(strings.ReplaceAll(http.StatusText(he.Code), " ", "_"))
		return &apiError{Status: he.Code, Code: code, Message: msg}
	}
	return &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: err.Error()}
}

func (s *Server) renderErrorPage(c echo.Context, ae *apiError) error {
	var buf bytes.Buffer
	data := struct {
		Status        int
		Title         string
		Message       string
		Authenticated bool
	}{ae.Status, http.StatusText(ae.Status), sentence(ae.Message), c.Get(ctxUser) != nil}
	if err := frontend.ErrorTemplate.Execute(&buf, data); err != nil {
		return c.String(ae.Status, ae.Message)
	}
	return c.HTMLBlob(ae.Status, buf.Bytes())
}

// bindJSON decodes a JSON request body into dst, refusing unknown fields,
// trailing data and bodies over the limit, with an error that names the
// problem (and the field, where there is one).
func bindJSON(c echo.Context, dst any) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: fmt.Sprintf("Content-Type is %q: send application/json", ct)}
	}
	// The body is read whole (bodyLimit bounds it) so that, once json has
	// accepted it, strictKeys can look at its keys again.
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return jsonError(err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("", "malformed JSON: unexpected data after the object at byte %d", dec.InputOffset())
	}
	return strictKeys(body, reflect.TypeOf(dst))
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.Is(err, io.EOF):
		return badRequest("", "malformed JSON: the request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "malformed JSON: the body ends in the middle of a value")
	case errors.As(err, &syn):
		return badRequest("", "malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		return badRequest(typ.Field, "field %q: got a JSON %s, want %s", typ.Field, typ.Value, typ.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badRequest(field, "unknown field %q", field)
	}
	return badRequest("", "malformed JSON: %v", err)
}

// sentence capitalizes an API message (Go style keeps them lowercase) for
// the error page, and ends it with a full stop.
func sentence(msg string) string {
	if msg == "" {
		return msg
	}
	r, size := utf8.DecodeRuneInString(msg)
	msg = string(unicode.ToUpper(r)) + msg[size:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

// trimSentinel drops the "autoeval: …: " prefix of a wrapped sentinel and
// the "models: " of a wrapped store error, for a readable message.
func trimSentinel(err, sentinel error) string {
	msg := err.Error()
	prefix := sentinel.Error() + ": "
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		msg = msg[len(prefix):]
	}
	const store = "models: "
	if len(msg) > len(store) && msg[:len(store)] == store {
		msg = msg[len(store):]
	}
	return msg
}
