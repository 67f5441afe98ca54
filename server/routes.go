package server

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"capeval/frontend"
	"capeval/models"
)

// routes registers every route of the app.
func (s *Server) routes() {
	e := s.echo
	e.Use(middleware.RequestID())
	e.Use(withRequestID)
	e.Use(s.observe)
	e.Use(s.requestLogger)
	e.Use(middleware.Recover())
	e.Use(s.securityHeaders)
	e.Use(s.checkOrigin)
	e.Use(s.authenticate)

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", s.getMetrics) // loopback or CAPEVAL_METRICS_TOKEN (metrics.go)
	e.StaticFS("/static", frontend.Static)
	e.GET("/favicon.ico", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })

	// Pages.
	e.GET("/login", page("login.html"))
	e.GET("/", s.home, requireRole(models.RoleAnnotator))
	e.GET("/annotate", page("annotate.html"), requireRole(models.RoleAnnotator))
	e.GET("/lead", page("lead.html"), requireRole(models.RoleLead))
	e.GET("/lead/campaigns/:id", s.campaignPage, requireRole(models.RoleLead))
	e.GET("/admin", page("admin.html"), requireRole(models.RoleAdmin))

	// JSON API.
	api := e.Group("/api/v1", bodyLimit(s.cfg.MaxBodyBytes))
	api.POST("/login", s.login)

	anyone := api.Group("", requireRole(models.RoleAnnotator))
	anyone.POST("/logout", s.logout)
	anyone.GET("/me", s.getMe)
	anyone.POST("/me/password", s.changePassword)
	// Rating: every role may rate the campaigns open to it.
	anyone.GET("/annotator/campaigns", s.listAnnotatorCampaigns)
	anyone.GET("/queue/next", s.nextTask)
	anyone.POST("/tasks/:id/heartbeat", s.heartbeatTask)
	anyone.POST("/tasks/:id/ratings", s.createRating, s.countRating)
	anyone.POST("/tasks/:id/skip", s.skipTask)
	anyone.PUT("/ratings/:id", s.reviseRating)
	anyone.GET("/images/:sha256", s.getImage)

	lead := api.Group("", requireRole(models.RoleLead))
	lead.GET("/campaigns", s.listCampaigns)
	lead.POST("/campaigns", s.createCampaign)
	lead.GET("/campaigns/:id", s.getCampaign)
	lead.PATCH("/campaigns/:id", s.updateCampaign)
	lead.GET("/campaigns/:id/audit", s.campaignAudit)
	lead.PUT("/campaigns/:id/thresholds", s.putThresholds)
	lead.POST("/campaigns/:id/selection/preview", s.previewSelection)
	lead.POST("/campaigns/:id/selection/commit", s.commitSelection)
	lead.POST("/campaigns/:id/jobs", s.createJob)
	lead.GET("/campaigns/:id/jobs", s.listJobs)
	lead.GET("/campaigns/:id/captioners", s.listCaptioners)
	// Quality checks and the progress view (quality_handlers.go,
	// progress_handlers.go).
	lead.GET("/campaigns/:id/quality", s.getQuality)
	lead.PUT("/campaigns/:id/quality", s.putQuality)
	lead.PUT("/campaigns/:id/annotators/:annotator/exclusion", s.putExclusion)
	lead.POST("/campaigns/:id/replacements", s.postReplacements)
	lead.POST("/campaigns/:id/gold", s.createGold)
	lead.GET("/campaigns/:id/progress", s.getProgress)
	lead.POST("/campaigns/:id/set-aside/:task", s.decideSetAside)
	// Exports of the leaderboard and its charts (export_handlers.go).
	lead.GET("/campaigns/:id/export", s.exportLeaderboard)
	lead.GET("/campaigns/:id/charts", s.getCharts)
	// The leaderboard, agreement dashboard and adjudication
	// (leaderboard_handlers.go); weights are saved and audited.
	lead.GET("/campaigns/:id/leaderboard", s.getLeaderboard)
	lead.GET("/campaigns/:id/agreement", s.getAgreement)
	lead.PUT("/campaigns/:id/weights", s.putWeights)
	lead.GET("/campaigns/:id/adjudication", s.getAdjudicationQueues)
	lead.GET("/campaigns/:id/adjudication/:task", s.getAdjudication)
	lead.PUT("/campaigns/:id/adjudication/:task", s.putAdjudication)
	lead.GET("/jobs/:id", s.getJob)
	lead.POST("/jobs/:id/cancel", s.cancelJob)
	lead.GET("/jobs/:id/events", s.jobEvents)

	// Import uploads have their own, larger body limit, so they are not in
	// the api group; the role is checked before a byte of the body is read.
	e.POST("/api/v1/campaigns/:id/import", s.importCampaign, requireRole(models.RoleLead), bodyLimit(MaxUploadBytes))

	admin := api.Group("", requireRole(models.RoleAdmin))
	admin.GET("/users", s.listUsers)
	admin.POST("/users", s.createUser)
	admin.PATCH("/users/:id", s.updateUser)

	// Each role group registers a catch-all under /api/v1 that runs its
	// role check (echo's Group.Use), so an unknown endpoint would answer
	// 401 or 403 as if it existed; this one, registered last, replaces them.
	notFound := func(c echo.Context) error {
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "no such page or endpoint: " + c.Request().URL.Path}
	}
	api.RouteNotFound("", notFound)
	api.RouteNotFound("/*", notFound)
	e.RouteNotFound("/*", notFound)
}
