package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// loadWith loads the configuration from env, with CAPEVAL_DATA_DIR a
// fresh temporary folder unless env sets it.
func loadWith(t testing.TB, env map[string]string) (Config, error) {
	t.Helper()
	dir := t.TempDir()
	return LoadConfig(func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		if k == "CAPEVAL_DATA_DIR" {
			return dir
		}
		return ""
	})
}

// testConfig is loadWith for a configuration the test expects to load.
func testConfig(t testing.TB, env map[string]string) Config {
	t.Helper()
	cfg, err := loadWith(t, env)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestConfigSecurity(t *testing.T) {
	dir := t.TempDir()
	secret := strings.Repeat("s", 40)
	file := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(secret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	private, groupReadable, worldReadable := file("private", 0o600), file("group", 0o640), file("world", 0o644)
	ownerReadOnly := file("readonly", 0o400)
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string // substrings of the error; none: no error
	}{
		{"secret file 0600", map[string]string{"CAPEVAL_JWT_SECRET_FILE": private}, nil},
		{"secret file 0400", map[string]string{"CAPEVAL_JWT_SECRET_FILE": ownerReadOnly}, nil},
		{"group-readable secret file", map[string]string{"CAPEVAL_JWT_SECRET_FILE": groupReadable},
			[]string{"CAPEVAL_JWT_SECRET_FILE", groupReadable, "0640"}},
		{"world-readable secret file", map[string]string{"CAPEVAL_JWT_SECRET_FILE": worldReadable},
			[]string{"CAPEVAL_JWT_SECRET_FILE", worldReadable, "0644"}},
		{"trusted proxies: CIDRs and IPs", map[string]string{"CAPEVAL_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7,2001:db8::/32 ,::1"}, nil},
		{"trusted proxies: not an address", map[string]string{"CAPEVAL_TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"},
			[]string{"CAPEVAL_TRUSTED_PROXIES", `"proxy.local"`}},
		{"trusted proxies: bad prefix", map[string]string{"CAPEVAL_TRUSTED_PROXIES": "10.0.0.0/33"},
			[]string{"CAPEVAL_TRUSTED_PROXIES", `"10.0.0.0/33"`}},
		{"trusted proxies: empty entry", map[string]string{"CAPEVAL_TRUSTED_PROXIES": "10.0.0.1,,10.0.0.2"},
			[]string{"CAPEVAL_TRUSTED_PROXIES", "empty"}},
		{"demo on loopback", map[string]string{"CAPEVAL_DEMO": "true", "CAPEVAL_ADDR": "127.0.0.1:8080"}, nil},
		{"demo on localhost", map[string]string{"CAPEVAL_DEMO": "true", "CAPEVAL_ADDR": "localhost:8080"}, nil},
		{"demo on ::1", map[string]string{"CAPEVAL_DEMO": "true", "CAPEVAL_ADDR": "[::1]:8080"}, nil},
		{"demo on every interface", map[string]string{"CAPEVAL_DEMO": "true", "CAPEVAL_ADDR": ":8080"},
			[]string{"CAPEVAL_DEMO", "CAPEVAL_ADDR=\":8080\"", "loopback"}},
		{"demo on 0.0.0.0", map[string]string{"CAPEVAL_DEMO": "true", "CAPEVAL_ADDR": "0.0.0.0:8080"},
			[]string{"CAPEVAL_DEMO", "loopback"}},
		{"demo on a LAN address", map[string]string{"CAPEVAL_DEMO": "true", "CAPEVAL_ADDR": "192.168.1.5:8080"},
			[]string{"CAPEVAL_DEMO", "loopback"}},
		{"no demo on every interface", map[string]string{"CAPEVAL_ADDR": ":8080"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadWith(t, tt.env)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("LoadConfig: %v", err)
				}
				if tt.env["CAPEVAL_JWT_SECRET_FILE"] != "" && cfg.JWTSecret != secret {
					t.Fatalf("secret %q, want the file's", cfg.JWTSecret)
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

// TestGeneratedSecretFileMode: the secret generated into the data directory
// is checked like a configured one when it is read back.
func TestGeneratedSecretFileMode(t *testing.T) {
	cfg, err := loadWith(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.EnsureSecret(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(cfg.DataDir, "jwt-secret")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := loadWith(t, map[string]string{"CAPEVAL_DATA_DIR": cfg.DataDir})
	if err != nil {
		t.Fatal(err)
	}
	err = again.EnsureSecret()
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "0644") {
		t.Fatalf("EnsureSecret with a world-readable %s: %v, want an error naming the file and its mode", path, err)
	}
}
