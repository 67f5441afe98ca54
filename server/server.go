// Package server is capeval's HTTP layer: the echo app with its routes, thin
// handlers, JWT authentication and role middleware, the single error handler
// and the configuration read from CAPEVAL_* variables.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Store is what the HTTP layer needs from the database itself: the
// readiness check. Everything else goes through the services.
type Store interface {
	Ping(ctx context.Context) error
}

// Services are the domain services the handlers call, built in main. Each
// field's interface is declared beside the handlers that use it.
type Services struct {
	Campaigns CampaignService
	Selection SelectionService
	Jobs      JobService
	Import    ImportService
	Queue     QueueService
	Quality   QualityService
	Progress  ProgressService
	Export    ExportService
	// Leaderboards: the leaderboard, agreement and adjudication
	// (leaderboard_handlers.go).
	Leaderboards LeaderboardService
}

// configured returns svc, or, for a server built without it (tests of other
// parts), a 404 with code not_configured: a 5xx would hide the code that
// tells the UI to show an empty state rather than an error. what is the
// subject of the message ("campaigns are").
func configured[T any](svc T, what string) (T, error) {
	if any(svc) == nil {
		return svc, &apiError{Status: http.StatusNotFound, Code: "not_configured", Message: what + " not available in this server"}
	}
	return svc, nil
}

// Server is the capeval HTTP application.
type Server struct {
	cfg      Config
	store    Store
	accounts AccountService
	svc      Services
	log      *slog.Logger
	echo     *echo.Echo
	metrics  *metrics
}

// New builds the echo app with every route registered. Every request
// passes through the accounts service (authentication), so unlike the
// services it is not optional.
func New(cfg Config, store Store, accounts AccountService, svc Services, log *slog.Logger) *Server {
	s := &Server{
		cfg:      cfg,
		store:    store,
		accounts: accounts,
		svc:      svc,
		log:      log,
		echo:     echo.New(),
		metrics:  newMetrics(store, log),
	}
	s.echo.HideBanner = true
	s.echo.HidePort = true
	s.echo.HTTPErrorHandler = s.errorHandler
	s.configureProxies()
	s.routes()
	return s
}

// Handler returns the app as an http.Handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.echo }

// Serve accepts connections on ln until ctx is cancelled, then shuts down
// gracefully, letting requests in flight finish for up to 15 seconds.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler: s.echo,
		// Only headers have a deadline: a whole-request read or write limit
		// would cut multi-gigabyte imports on slow links and long-lived
		// server-sent event streams of eval jobs.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down: waiting for requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}
