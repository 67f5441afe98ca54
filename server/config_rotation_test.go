package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRotationConfig: the previous secret and the metrics token are read
// and checked like the current secret (its _FILE variant with the same
// permission check), and the grace period is required, parsed and bounded.
func TestRotationConfig(t *testing.T) {
	dir := t.TempDir()
	prev := strings.Repeat("p", 40)
	file := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	private, readable := file("prev", prev, 0o600), file("prev-readable", prev, 0o644)
	metricsFile, metricsReadable := file("metrics", "metrics-token-0123456789", 0o600), file("metrics-readable", "metrics-token-0123456789", 0o640)
	soon := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
	current := strings.Repeat("c", 40)
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string
	}{
		{"previous with its grace period", map[string]string{"CAPEVAL_JWT_SECRET": current, "CAPEVAL_JWT_SECRET_PREVIOUS": prev, "CAPEVAL_JWT_SECRET_PREVIOUS_UNTIL": soon}, nil},
		{"previous from a private file", map[string]string{"CAPEVAL_JWT_SECRET_PREVIOUS_FILE": private, "CAPEVAL_JWT_SECRET_PREVIOUS_UNTIL": soon}, nil},
		{"a grace period that is over", map[string]string{"CAPEVAL_JWT_SECRET_PREVIOUS": prev, "CAPEVAL_JWT_SECRET_PREVIOUS_UNTIL": "2020-01-01T00:00:00Z"}, nil},
		{"previous from a readable file", map[string]string{"CAPEVAL_JWT_SECRET_PREVIOUS_FILE": readable, "CAPEVAL_JWT_SECRET_PREVIOUS_UNTIL": soon},
			[]string{"CAPEVAL_JWT_SECRET_PREVIOUS_FILE", readable, "0644", "chmod 600"}},
		{"previous and its file", map[string]string{"CAPEVAL_JWT_SECRET_PREVIOUS": prev, "CAPEVAL_JWT_SECRET_PREVIOUS_FILE": private, "CAPEVAL_JWT_SECRET_PREVIOUS_UNTIL": soon},
			[]string{"CAPEVAL_JWT_SECRET_PREVIOUS and CAPEVAL_JWT_SECRET_PREVIOUS_FILE are both set"}},
		{"previous without a grace period", map[string]string{"CAPEVAL_JWT_SECRET_PREVIOUS": prev},
			[]string{"CAPEVAL_JWT_SECRET_PREVIOUS_UNTIL", "RFC 3339"}},
		{"grace period without previous", map[string]string{"CAPEVAL_JWT_SECRET_PREVIOUS_UNTIL": soon},
			[]string{"CAPEVAL_JWT_SECRET_PREVIOUS_UNTIL is set without"}},
		{"grace period not RFC 3339", map[string]string{"CAPEVAL_JWT_SECRET_PREVIOUS": prev, "CAPEVAL_JWT_SECRET_PREVIOUS_UNTIL": "tomorrow"},
			[]string{`CAPEVAL_JWT_SECRET_PREVIOUS_UNTIL="tomorrow"`}},
		{"grace period too long", map[string]string{"CAPEVAL_JWT_SECRET_PREVIOUS": prev, "CAPEVAL_JWT_SECRET_PREVIOUS_UNTIL": time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)},
			[]string{"CAPEVAL_JWT_SECRET_PREVIOUS_UNTIL", "plus 7 days"}},
		{"short previous", map[string]string{"CAPEVAL_JWT_SECRET_PREVIOUS": "short", "CAPEVAL_JWT_SECRET_PREVIOUS_UNTIL": soon},
			[]string{"CAPEVAL_JWT_SECRET_PREVIOUS: 5 bytes"}},
		{"previous is the current", map[string]string{"CAPEVAL_JWT_SECRET": prev, "CAPEVAL_JWT_SECRET_PREVIOUS": prev, "CAPEVAL_JWT_SECRET_PREVIOUS_UNTIL": soon},
			[]string{"CAPEVAL_JWT_SECRET_PREVIOUS is the current secret"}},
		{"metrics token", map[string]string{"CAPEVAL_METRICS_TOKEN": "metrics-token-0123456789"}, nil},
		{"metrics token from a private file", map[string]string{"CAPEVAL_METRICS_TOKEN_FILE": metricsFile}, nil},
		{"metrics token from a readable file", map[string]string{"CAPEVAL_METRICS_TOKEN_FILE": metricsReadable},
			[]string{"CAPEVAL_METRICS_TOKEN_FILE", "0640"}},
		{"short metrics token", map[string]string{"CAPEVAL_METRICS_TOKEN": "short"},
			[]string{"CAPEVAL_METRICS_TOKEN: 5 characters"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadWith(t, tt.env)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("LoadConfig: %v", err)
				}
				if (tt.env["CAPEVAL_JWT_SECRET_PREVIOUS_FILE"] != "" || tt.env["CAPEVAL_JWT_SECRET_PREVIOUS"] != "") && cfg.JWTSecretPrevious != prev {
					t.Fatalf("previous secret %q, want %q", cfg.JWTSecretPrevious, prev)
				}
				if tt.env["CAPEVAL_METRICS_TOKEN_FILE"] != "" && cfg.MetricsToken != "metrics-token-0123456789" {
					t.Fatalf("metrics token %q, want the file's", cfg.MetricsToken)
				}
				for _, kv := range cfg.Redacted() {
					if v := kv[1]; v != "" && (strings.Contains(v, prev) || strings.Contains(v, "metrics-token-0123456789")) {
						t.Fatalf("Redacted shows a secret: %s=%s", kv[0], v)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("LoadConfig accepted %v", tt.env)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}
