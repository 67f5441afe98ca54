package server

import (
	"context"
	"log/slog"

	"github.com/labstack/echo/v4"
)

// requestIDKey is the context key of the request id.
type requestIDKey struct{}

// maxRequestIDLength bounds what a client's X-Request-ID can put in every
// log line of its request.
const maxRequestIDLength = 128

// withRequestID puts the request id that echo's RequestID middleware
// chose (or took from the client) into the request's context, so that the
// services' log lines, written with the context, carry it: the handler
// that NewLogger builds adds it to every record logged with the context.
func withRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if id := c.Response().Header().Get(echo.HeaderXRequestID); id != "" && len(id) <= maxRequestIDLength {
			r := c.Request()
			c.SetRequest(r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
		}
		return next(c)
	}
}

// RequestID returns the request id that ctx carries, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// requestIDHandler adds request_id to each record logged with a context
// that carries one (log.InfoContext(ctx, …)).
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
