package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"capeval/accounts"
	"capeval/annotation"
	"capeval/models"
	"capeval/models/modelstest"
)

// scrape GETs /metrics from remote with the headers given (name, value
// pairs) and returns the status and, for a 200, every sample by its series
// as the exposition format prints it (`name{label="value",…}`).
func scrape(t *testing.T, h http.Handler, remote string, headers ...string) (int, map[string]float64, string) {
	t.Helper()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.RemoteAddr = remote
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		return rec.Code, nil, rec.Body.String()
	}
	samples := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(rec.Body.Bytes()))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return rec.Code, samples, rec.Body.String()
}

// TestMetrics drives the rating API (a lease, a rating, its retry, a
// miss), starts an eval job, and scrapes: request counts and latencies by
// route template and status, the ratings counter, queue depth and leases
// of the collecting campaign, the job's progress, the CLIP device and the
// pool's use, with their values.
func TestMetrics(t *testing.T) {
	for _, kind := range modelstest.Stores {
		t.Run(kind, func(t *testing.T) {
			app := newQueueApp(t, kind, annotation.QueueOptions{})
			f := app.seedCampaign("metrics", models.ModeLikert, 5, 1, 1)
			ann := app.tokenFor(app.users[models.RoleAnnotator])
			lead := app.tokenFor(app.users[models.RoleLead])
			code, next, body := app.call("GET", fmt.Sprintf("/api/v1/queue/next?campaign=%d", f.campaign.ID), "", ann)
			if code != 200 {
				t.Fatalf("next: %d %s", code, body)
			}
			task := taskID(t, next)
			rate := fmt.Sprintf("/api/v1/tasks/%d/ratings", task)
			if code, _, body := app.call("POST", rate, likertBody("m-1", 4), ann); code != 201 {
				t.Fatalf("rating: %d %s", code, body)
			}
			if code, _, body := app.call("POST", rate, likertBody("m-1", 4), ann); code != 200 {
				t.Fatalf("retried rating: %d %s", code, body)
			}
			if code, _, _ := app.call("GET", "/api/v1/campaigns/424242", "", lead); code != 404 {
				t.Fatalf("missing campaign: %d", code)
			}
			// A second annotator holds a lease.
			other := app.addUser("other", models.RoleAnnotator)
			if code, _, body := app.call("GET", fmt.Sprintf("/api/v1/queue/next?campaign=%d", f.campaign.ID), "", app.tokenFor(other)); code != 200 {
				t.Fatalf("next for the other annotator: %d %s", code, body)
			}
			ctx := context.Background()
			job := &models.EvalJob{CampaignID: f.campaign.ID, Kind: "text"}
			if err := app.store.CreateJob(ctx, job); err != nil {
				t.Fatal(err)
			}
			if _, err := app.store.ClaimJobByID(ctx, job.ID, "w", time.Now()); err != nil {
				t.Fatal(err)
			}
			if err := app.store.JobHeartbeat(ctx, job.ID, "w", models.JobProgress{Done: 3, Total: 10, Device: "CUDA"}); err != nil {
				t.Fatal(err)
			}
			app.srv.SetEvalDevice("CUDA")

			code, m, body := scrape(t, app.srv.Handler(), "127.0.0.1:40000")
			if code != 200 {
				t.Fatalf("/metrics: %d %s", code, body)
			}
			campaign := fmt.Sprintf(`campaign="metrics",campaign_id="%d"`, f.campaign.ID)
			jobLabels := fmt.Sprintf(`campaign_id="%d",device="CUDA",job_id="%d",kind="text"`, f.campaign.ID, job.ID)
			ratings := `method="POST",route="/api/v1/tasks/:id/ratings"`
			want := map[string]float64{
				`capeval_http_requests_total{` + ratings + `,status="201"}`:                            1,
				`capeval_http_requests_total{` + ratings + `,status="200"}`:                            1,
				`capeval_http_request_duration_seconds_count{` + ratings + `,status="201"}`:            1,
				`capeval_http_requests_total{method="GET",route="/api/v1/queue/next",status="200"}`:    2,
				`capeval_http_requests_total{method="GET",route="/api/v1/campaigns/:id",status="404"}`: 1,
				`capeval_ratings_stored_total`:                                                         1,
				`capeval_queue_open_tasks{` + campaign + `}`:                                           5, // 6 tasks, one rated to the end
				`capeval_leases_outstanding{` + campaign + `}`:                                         1,
				`capeval_eval_job_done{` + jobLabels + `}`:                                             3,
				`capeval_eval_job_total{` + jobLabels + `}`:                                            10,
				`capeval_eval_jobs_queued`:                                                             0,
				`capeval_onnxruntime_device{device="CUDA"}`:                                            1,
				`capeval_db_up`:              1,
				`capeval_db_connections_max`: float64(app.store.DBStats().MaxOpenConnections),
				`capeval_http_request_duration_seconds_bucket{` + ratings + `,status="201",le="+Inf"}`: 1,
			}
			for series, v := range want {
				if got, ok := m[series]; !ok || got != v {
					t.Errorf("%s = %v (present %t), want %v", series, got, ok, v)
				}
			}
			for _, series := range []string{"capeval_db_connections_open", "capeval_db_connections_in_use", "capeval_db_connections_idle",
				"capeval_db_connection_waits_total", "capeval_db_connection_wait_seconds_total", "go_goroutines"} {
				if _, ok := m[series]; !ok {
					t.Errorf("%s missing", series)
				}
			}
			if m["capeval_db_connections_open"] < 1 {
				t.Errorf("capeval_db_connections_open = %v, want at least 1", m["capeval_db_connections_open"])
			}
			if _, ok := m[`capeval_onnxruntime_device{device="none"}`]; ok {
				t.Error("the device gauge still says none after SetEvalDevice")
			}
			// Route templates, never raw paths: no id becomes a label.
			if strings.Contains(body, fmt.Sprintf("/tasks/%d/", task)) || strings.Contains(body, "424242") {
				t.Errorf("a raw URL reached a label:\n%s", body)
			}
		})
	}
}

// TestMetricsAccess: /metrics is open to loopback clients that no proxy
// forwards, and to others only with CAPEVAL_METRICS_TOKEN.
func TestMetricsAccess(t *testing.T) {
	const token = "metrics-token-for-tests"
	open := newTestApp(t)
	withToken := newTestAppWith(t, appOptions{env: map[string]string{"CAPEVAL_METRICS_TOKEN": token}})
	tests := []struct {
		name    string
		app     *testApp
		remote  string
		headers []string
		want    int
	}{
		{"loopback", open, "127.0.0.1:5000", nil, 200},
		{"loopback IPv6", open, "[::1]:5000", nil, 200},
		{"other address", open, "192.0.2.10:5000", nil, 403},
		{"forwarded by a local proxy", open, "127.0.0.1:5000", []string{"X-Forwarded-For", "198.51.100.7"}, 403},
		{"other address, a token but none configured", open, "192.0.2.10:5000", []string{"Authorization", "Bearer " + token}, 403},
		{"other address with the token", withToken, "192.0.2.10:5000", []string{"Authorization", "Bearer " + token}, 200},
		{"forwarded with the token", withToken, "127.0.0.1:5000", []string{"Authorization", "Bearer " + token, "X-Forwarded-For", "198.51.100.7"}, 200},
		{"other address, wrong token", withToken, "192.0.2.10:5000", []string{"Authorization", "Bearer " + token + "x"}, 403},
		{"loopback, wrong token", withToken, "127.0.0.1:5000", []string{"Authorization", "Bearer nope"}, 403},
		{"a login token is not the metrics token", withToken, "192.0.2.10:5000", []string{"Authorization", "Bearer " + withToken.token(models.RoleAdmin)}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := scrape(t, tt.app.srv.Handler(), tt.remote, tt.headers...)
			if code != tt.want {
				t.Fatalf("status %d, want %d: %s", code, tt.want, body)
			}
			if code == 403 && !strings.Contains(body, "CAPEVAL_METRICS_TOKEN") {
				t.Errorf("the refusal does not say how to get in: %s", body)
			}
		})
	}
}

// stalledMetrics is a real store whose metrics query never answers, as a
// database that is down or locked would not.
type stalledMetrics struct{ *models.Store }

func (s stalledMetrics) MetricsSnapshot(ctx context.Context, _ time.Time) (*models.MetricsSnapshot, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestMetricsWithoutDatabase: a scrape while the database does not answer
// comes back within the scrape timeout, says capeval_db_up 0, and still
// has the request metrics and the pool's statistics.
func TestMetricsWithoutDatabase(t *testing.T) {
	store := modelstest.NewStore(t)
	cfg := testConfig(t, nil)
	log := slog.New(slog.DiscardHandler)
	acc, err := accounts.New(store, log, accounts.Config{Secret: strings.Repeat("k", 32), TokenTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	srv := New(cfg, stalledMetrics{store}, acc, Services{}, log)
	srv.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/healthz", nil))
	start := time.Now()
	code, m, body := scrape(t, srv.Handler(), "127.0.0.1:1")
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	if d := time.Since(start); d > metricsScrapeTimeout+2*time.Second {
		t.Errorf("scrape took %v, want about the %v timeout", d, metricsScrapeTimeout)
	}
	if m["capeval_db_up"] != 0 || m[`capeval_http_requests_total{method="GET",route="/healthz",status="200"}`] != 1 {
		t.Errorf("db_up %v, healthz requests %v; want 0 and 1:\n%s", m["capeval_db_up"], m[`capeval_http_requests_total{method="GET",route="/healthz",status="200"}`], body)
	}
	if _, ok := m["capeval_db_connections_max"]; !ok {
		t.Error("pool statistics missing while the database does not answer")
	}
}
