package server

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"capeval/models"
)

// MetricsStore is what /metrics reads from the database at scrape time:
// the state all replicas share (queues, leases, jobs) and this process's
// connection pool. A Store without it serves the request metrics only.
type MetricsStore interface {
	MetricsSnapshot(ctx context.Context, now time.Time) (*models.MetricsSnapshot, error)
	DBStats() sql.DBStats
}

// metricsScrapeTimeout bounds the database reads of one scrape: a scrape
// that waits on a struggling database would pile up behind it, and the
// gauges are worth less than the requests they would slow down.
const metricsScrapeTimeout = 2 * time.Second

// metrics are the Prometheus metrics of one Server, in a registry of its
// own (several servers in one test process do not collide).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	ratings  prometheus.Counter
	device   *prometheus.GaugeVec
}

func newMetrics(store Store, log *slog.Logger) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "capeval_http_requests_total",
			Help: "HTTP requests answered, by method, route template and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "capeval_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by method, route template and status.",
			Buckets: []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route", "status"}),
		ratings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "capeval_ratings_stored_total",
			Help: "Ratings stored by this replica (new ones, not retries); ratings per minute: 60 * sum(rate(capeval_ratings_stored_total[5m])).",
		}),
		device: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "capeval_onnxruntime_device",
			Help: "1 for the execution device this process's CLIP encoder runs on (CPU, CUDA…); none without a CLIP model.",
		}, []string{"device"}),
	}
	m.device.WithLabelValues("none").Set(1)
	m.reg.MustRegister(m.requests, m.latency, m.ratings, m.device,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if ms, ok := store.(MetricsStore); ok {
		m.reg.MustRegister(newDBCollector(ms, log))
	}
	return m
}

// SetEvalDevice records the execution device of the CLIP encoder that this
// process's auto-eval workers use (the encoder's Provider), for the
// capeval_onnxruntime_device gauge.
func (s *Server) SetEvalDevice(device string) {
	if device == "" {
		device = "none"
	}
	s.metrics.device.Reset()
	s.metrics.device.WithLabelValues(device).Set(1)
}

// observe counts and times every request by its route template (echo's
// c.Path(), never the raw URL, so that ids do not make a series each) and
// final status. It runs outside the request logger, which has written
// any error response by the time it returns.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		labels := prometheus.Labels{"method": methodLabel(c.Request().Method), "route": route, "status": strconv.Itoa(c.Response().Status)}
		s.metrics.requests.With(labels).Inc()
		s.metrics.latency.With(labels).Observe(time.Since(start).Seconds())
		return nil
	}
}

// methodLabel keeps the method label to the methods HTTP defines, so that
// made-up methods cannot create series.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// countRating counts a rating stored by the route it wraps: 201 is a new
// rating, 200 a retry of one stored before.
func (s *Server) countRating(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err == nil && c.Response().Status == http.StatusCreated {
			s.metrics.ratings.Inc()
		}
		return err
	}
}

// errMetricsForbidden refuses /metrics to a client that is not on this
// machine and has no metrics token.
var errMetricsForbidden = &apiError{Status: http.StatusForbidden, Code: "forbidden",
	Message: "metrics are served to loopback clients, or to others with Authorization: Bearer CAPEVAL_METRICS_TOKEN"}

// getMetrics serves /metrics in the Prometheus exposition format. Access:
// a client connecting from a loopback address with no forwarding header
// (a reverse proxy on this machine forwards the whole internet from
// 127.0.0.1, and says so with X-Forwarded-For), or any client sending
// CAPEVAL_METRICS_TOKEN as its bearer token. Without a configured token
// nothing else gets in.
func (s *Server) getMetrics(c echo.Context) error {
	r := c.Request()
	if !s.metricsAllowed(r) {
		return errMetricsForbidden
	}
	promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	}).ServeHTTP(c.Response(), r)
	return nil
}

func (s *Server) metricsAllowed(r *http.Request) bool {
	if tok := bearerToken(r); tok != "" && s.cfg.MetricsToken != "" {
		return subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.MetricsToken)) == 1
	}
	if r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" || r.Header.Get("X-Real-Ip") != "" {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// dbCollector reads the database-backed gauges when Prometheus scrapes.
type dbCollector struct {
	store MetricsStore
	log   *slog.Logger

	up, openTasks, leases, jobDone, jobTotal, queuedJobs *prometheus.Desc
	poolOpen, poolInUse, poolIdle, poolMax, poolWait     *prometheus.Desc
	poolWaitSeconds                                      *prometheus.Desc
}

func newDBCollector(store MetricsStore, log *slog.Logger) *dbCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &dbCollector{
		store:           store,
		log:             log,
		up:              d("capeval_db_up", "1 when this scrape read the database-backed metrics, 0 when the database did not answer in time."),
		openTasks:       d("capeval_queue_open_tasks", "Tasks of a collecting campaign that still want ratings and are not set aside.", "campaign_id", "campaign"),
		leases:          d("capeval_leases_outstanding", "Unexpired leases on a collecting campaign's tasks.", "campaign_id", "campaign"),
		jobDone:         d("capeval_eval_job_done", "Units of work done by a running auto-eval job.", "job_id", "campaign_id", "kind", "device"),
		jobTotal:        d("capeval_eval_job_total", "Units of work of a running auto-eval job.", "job_id", "campaign_id", "kind", "device"),
		queuedJobs:      d("capeval_eval_jobs_queued", "Auto-eval jobs waiting for a worker."),
		poolOpen:        d("capeval_db_connections_open", "Connections of this process's database pool, in use or idle."),
		poolInUse:       d("capeval_db_connections_in_use", "Connections of this process's pool in use."),
		poolIdle:        d("capeval_db_connections_idle", "Idle connections of this process's pool."),
		poolMax:         d("capeval_db_connections_max", "The pool's limit of open connections."),
		poolWait:        d("capeval_db_connection_waits_total", "Times a query waited for a free connection of the pool."),
		poolWaitSeconds: d("capeval_db_connection_wait_seconds_total", "Time queries spent waiting for a free connection."),
	}
}

// Describe implements prometheus.Collector.
func (d *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, desc := range []*prometheus.Desc{d.up, d.openTasks, d.leases, d.jobDone, d.jobTotal, d.queuedJobs,
		d.poolOpen, d.poolInUse, d.poolIdle, d.poolMax, d.poolWait, d.poolWaitSeconds} {
		ch <- desc
	}
}

// Collect implements prometheus.Collector: the pool's statistics always
// (they need no query), the database's state when it answers within
// metricsScrapeTimeout.
func (d *dbCollector) Collect(ch chan<- prometheus.Metric) {
	st := d.store.DBStats()
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	gauge(d.poolOpen, float64(st.OpenConnections))
	gauge(d.poolInUse, float64(st.InUse))
	gauge(d.poolIdle, float64(st.Idle))
	gauge(d.poolMax, float64(st.MaxOpenConnections))
	ch <- prometheus.MustNewConstMetric(d.poolWait, prometheus.CounterValue, float64(st.WaitCount))
	ch <- prometheus.MustNewConstMetric(d.poolWaitSeconds, prometheus.CounterValue, st.WaitDuration.Seconds())

	ctx, cancel := context.WithTimeout(context.Background(), metricsScrapeTimeout)
	defer cancel()
	snap, err := d.store.MetricsSnapshot(ctx, time.Now())
	if err != nil {
		d.log.Warn("metrics: database-backed metrics left out of this scrape", "err", err)
		gauge(d.up, 0)
		return
	}
	gauge(d.up, 1)
	for _, c := range snap.Campaigns {
		id := strconv.FormatInt(c.ID, 10)
		gauge(d.openTasks, float64(c.OpenTasks), id, c.Name)
		gauge(d.leases, float64(c.LiveLeases), id, c.Name)
	}
	for _, j := range snap.RunningJobs {
		labels := []string{strconv.FormatInt(j.ID, 10), strconv.FormatInt(j.CampaignID, 10), j.Kind, j.Device}
		gauge(d.jobDone, float64(j.Done), labels...)
		gauge(d.jobTotal, float64(j.Total), labels...)
	}
	gauge(d.queuedJobs, float64(snap.QueuedJobs))
}
