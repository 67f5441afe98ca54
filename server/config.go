package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"capeval/accounts"
)

// Config is every setting of capeval, filled from CAPEVAL_* environment
// variables. Each field has a default; Validate checks them at start-up.
type Config struct {
	Addr          string // CAPEVAL_ADDR
	DataDir       string // CAPEVAL_DATA_DIR
	DB            string // CAPEVAL_DB; empty means SQLite in DataDir
	JWTSecret     string // CAPEVAL_JWT_SECRET or the file named by CAPEVAL_JWT_SECRET_FILE
	JWTSecretFile string // CAPEVAL_JWT_SECRET_FILE
	// JWTSecretPrevious verifies (never signs) tokens until
	// JWTSecretPreviousUntil, for a rotation of the secret
	// (CAPEVAL_JWT_SECRET_PREVIOUS, CAPEVAL_JWT_SECRET_PREVIOUS_FILE,
	// CAPEVAL_JWT_SECRET_PREVIOUS_UNTIL).
	JWTSecretPrevious      string
	JWTSecretPreviousFile  string
	JWTSecretPreviousUntil time.Time
	// MetricsToken is the bearer token /metrics wants from anything but a
	// loopback client (CAPEVAL_METRICS_TOKEN or CAPEVAL_METRICS_TOKEN_FILE).
	MetricsToken     string
	MetricsTokenFile string
	TokenTTL         time.Duration // CAPEVAL_TOKEN_TTL
	LeaseTTL         time.Duration // CAPEVAL_LEASE_TTL
	LogLevel         string        // CAPEVAL_LOG_LEVEL
	LogFormat        string        // CAPEVAL_LOG_FORMAT
	ONNXRuntimeLib   string        // CAPEVAL_ONNXRUNTIME_LIB
	CUDAPlugin       string        // CAPEVAL_CUDA_PLUGIN
	CLIPModel        string        // CAPEVAL_CLIP_MODEL
	Device           string        // CAPEVAL_DEVICE
	Demo             bool          // CAPEVAL_DEMO
	MaxBodyBytes     int64         // CAPEVAL_MAX_BODY_BYTES
	SecureCookie     bool          // CAPEVAL_SECURE_COOKIE
	HFToken          string        // HF_TOKEN: the Hugging Face hub's own variable, for `capeval models pull`
	HFEndpoint       string        // HF_ENDPOINT: likewise; empty is the public hub

	// TrustedProxies are the addresses whose X-Forwarded-For,
	// X-Forwarded-Proto and X-Forwarded-Host are believed
	// (CAPEVAL_TRUSTED_PROXIES); without any, the client is the direct peer
	// and the forwarding headers are ignored, since any client can send them.
	TrustedProxies []*net.IPNet
}

// Setting describes one environment variable: README's configuration table
// and `capeval config` are generated from this list, so they cannot drift.
type Setting struct {
	Env     string
	Default string
	Help    string
}

// Settings lists every environment variable capeval reads.
var Settings = []Setting{
	{"CAPEVAL_ADDR", "127.0.0.1:8080", "listen address host:port"},
	{"CAPEVAL_DATA_DIR", "./data", "data directory: SQLite database, images, models, generated secret"},
	{"CAPEVAL_DB", "", "database DSN: empty for SQLite at DATA_DIR/capeval.db, sqlite:PATH, or postgres://user:pass@host/db"},
	{"CAPEVAL_JWT_SECRET", "", "HMAC key for login tokens, at least 32 bytes; empty: generated once into DATA_DIR/jwt-secret"},
	{"CAPEVAL_JWT_SECRET_FILE", "", "file holding the JWT secret (instead of CAPEVAL_JWT_SECRET)"},
	{"CAPEVAL_JWT_SECRET_PREVIOUS", "", "a second JWT secret that tokens are verified with, never signed with, until CAPEVAL_JWT_SECRET_PREVIOUS_UNTIL (secret rotation)"},
	{"CAPEVAL_JWT_SECRET_PREVIOUS_FILE", "", "file holding CAPEVAL_JWT_SECRET_PREVIOUS instead"},
	{"CAPEVAL_JWT_SECRET_PREVIOUS_UNTIL", "", "end of the previous secret's grace period, an RFC 3339 time (2026-12-01T18:00:00Z); required with it, at most CAPEVAL_TOKEN_TTL plus 7 days ahead"},
	{"CAPEVAL_METRICS_TOKEN", "", "bearer token for /metrics from other than a loopback client, at least 16 characters; empty: /metrics only on loopback"},
	{"CAPEVAL_METRICS_TOKEN_FILE", "", "file holding CAPEVAL_METRICS_TOKEN instead"},
	{"CAPEVAL_TOKEN_TTL", "12h", "lifetime of a login token (Go duration, 1m to 720h)"},
	{"CAPEVAL_LEASE_TTL", "10m", "how long a task stays an annotator's after they get it or their page's last heartbeat (Go duration, 30s to 24h)"},
	{"CAPEVAL_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"CAPEVAL_LOG_FORMAT", "text", "text or json"},
	{"CAPEVAL_ONNXRUNTIME_LIB", "", "path of libonnxruntime.so (make run/test set it to the provisioned CPU build)"},
	{"CAPEVAL_CUDA_PLUGIN", "", "CUDA execution provider plugin (libonnxruntime_providers_cuda.so, `make cuda-plugin`) for GPUs with the CPU build"},
	{"CAPEVAL_CLIP_MODEL", "", "CLIP model folder (Hugging Face ONNX layout); empty: CLIP metrics unavailable"},
	{"CAPEVAL_DEVICE", "auto", "execution device for CLIP: auto, cpu, cuda or cuda:N"},
	{"CAPEVAL_DEMO", "false", "load the demo campaign and accounts into an empty database (true/false); only on a loopback CAPEVAL_ADDR"},
	{"CAPEVAL_MAX_BODY_BYTES", "1048576", "largest accepted JSON request body in bytes (uploads have their own limit)"},
	{"CAPEVAL_SECURE_COOKIE", "false", "always mark the login cookie Secure; without it, it is Secure when the request came over HTTPS (TLS, or a trusted proxy's X-Forwarded-Proto)"},
	{"CAPEVAL_TRUSTED_PROXIES", "", "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For/-Proto/-Host are believed; empty: none"},
	{"HF_TOKEN", "", "Hugging Face token that `capeval models pull` sends (private or gated repositories)"},
	{"HF_ENDPOINT", "", "Hugging Face hub base URL for `capeval models pull`; empty: https://huggingface.co"},
}

// LoadConfig reads the configuration through getenv (os.Getenv in main, a map
// in tests), applies defaults and validates. The error names the variable.
func LoadConfig(getenv func(string) string) (Config, error) {
	cfg, err := ParseConfig(getenv)
	if err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// ParseConfig reads the configuration as LoadConfig does, without
// Validate's checks of the values against the machine: for the commands
// that set up what the configuration will name (`capeval models pull`
// downloads the folder CAPEVAL_CLIP_MODEL is about to point at).
func ParseConfig(getenv func(string) string) (Config, error) {
	get := func(key string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		for _, s := range Settings {
			if s.Env == key {
				return s.Default
			}
		}
		return ""
	}
	var errs []error
	cfg := Config{
		Addr:           get("CAPEVAL_ADDR"),
		DataDir:        get("CAPEVAL_DATA_DIR"),
		DB:             get("CAPEVAL_DB"),
		JWTSecret:      getenv("CAPEVAL_JWT_SECRET"),
		JWTSecretFile:  get("CAPEVAL_JWT_SECRET_FILE"),
		LogLevel:       strings.ToLower(get("CAPEVAL_LOG_LEVEL")),
		LogFormat:      strings.ToLower(get("CAPEVAL_LOG_FORMAT")),
		ONNXRuntimeLib: get("CAPEVAL_ONNXRUNTIME_LIB"),
		CUDAPlugin:     get("CAPEVAL_CUDA_PLUGIN"),
		CLIPModel:      get("CAPEVAL_CLIP_MODEL"),
		Device:         strings.ToLower(get("CAPEVAL_DEVICE")),
		HFToken:        strings.TrimSpace(getenv("HF_TOKEN")),
		HFEndpoint:     get("HF_ENDPOINT"),
	}
	var err error
	if cfg.TokenTTL, err = time.ParseDuration(get("CAPEVAL_TOKEN_TTL")); err != nil {
		errs = append(errs, fmt.Errorf("CAPEVAL_TOKEN_TTL=%q: want a Go duration such as 12h or 90m", get("CAPEVAL_TOKEN_TTL")))
	}
	if cfg.LeaseTTL, err = time.ParseDuration(get("CAPEVAL_LEASE_TTL")); err != nil {
		errs = append(errs, fmt.Errorf("CAPEVAL_LEASE_TTL=%q: want a Go duration such as 10m or 90s", get("CAPEVAL_LEASE_TTL")))
	}
	for _, b := range []struct {
		env string
		dst *bool
	}{{"CAPEVAL_DEMO", &cfg.Demo}, {"CAPEVAL_SECURE_COOKIE", &cfg.SecureCookie}} {
		if *b.dst, err = strconv.ParseBool(get(b.env)); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: want true or false", b.env, get(b.env)))
		}
	}
	if cfg.MaxBodyBytes, err = strconv.ParseInt(get("CAPEVAL_MAX_BODY_BYTES"), 10, 64); err != nil {
		errs = append(errs, fmt.Errorf("CAPEVAL_MAX_BODY_BYTES=%q: want a number of bytes", get("CAPEVAL_MAX_BODY_BYTES")))
	}
	if cfg.JWTSecret != "" && cfg.JWTSecretFile != "" {
		errs = append(errs, errors.New("CAPEVAL_JWT_SECRET and CAPEVAL_JWT_SECRET_FILE are both set: set one"))
	}
	if cfg.JWTSecretFile != "" {
		secret, err := readSecretFile("CAPEVAL_JWT_SECRET_FILE", cfg.JWTSecretFile)
		if err != nil {
			errs = append(errs, err)
		}
		cfg.JWTSecret = secret
	}
	cfg.JWTSecretPrevious, cfg.JWTSecretPreviousFile, err = secretSetting(getenv, "CAPEVAL_JWT_SECRET_PREVIOUS")
	if err != nil {
		errs = append(errs, err)
	}
	if v := strings.TrimSpace(getenv("CAPEVAL_JWT_SECRET_PREVIOUS_UNTIL")); v != "" {
		if cfg.JWTSecretPreviousUntil, err = time.Parse(time.RFC3339, v); err != nil {
			errs = append(errs, fmt.Errorf("CAPEVAL_JWT_SECRET_PREVIOUS_UNTIL=%q: want an RFC 3339 time such as 2026-12-01T18:00:00Z", v))
		}
	}
	cfg.MetricsToken, cfg.MetricsTokenFile, err = secretSetting(getenv, "CAPEVAL_METRICS_TOKEN")
	if err != nil {
		errs = append(errs, err)
	}
	if cfg.TrustedProxies, err = parseTrustedProxies(get("CAPEVAL_TRUSTED_PROXIES")); err != nil {
		errs = append(errs, err)
	}
	return cfg, errors.Join(errs...)
}

// secretSetting reads the secret env, or the file that env_FILE names
// (checked like the JWT secret's file), and returns it with the file name.
func secretSetting(getenv func(string) string, env string) (secret, file string, err error) {
	secret, file = getenv(env), strings.TrimSpace(getenv(env+"_FILE"))
	switch {
	case file == "":
		return strings.TrimSpace(secret), "", nil
	case strings.TrimSpace(secret) != "":
		return "", file, fmt.Errorf("%s and %s_FILE are both set: set one", env, env)
	}
	secret, err = readSecretFile(env+"_FILE", file)
	return secret, file, err
}

// MinMetricsToken is the shortest CAPEVAL_METRICS_TOKEN accepted.
const MinMetricsToken = 16

// maxPreviousGrace is how far past a token's lifetime the previous
// secret's grace period may reach: time to roll the new secret out to
// every replica. A longer one would keep a leaked old key working for no
// token's sake.
const maxPreviousGrace = 7 * 24 * time.Hour

// Validate checks every value and returns one error per wrong setting.
func (c Config) Validate() error {
	var errs []error
	if host, port, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("CAPEVAL_ADDR=%q: want host:port, e.g. 127.0.0.1:8080 or :8080", c.Addr))
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		errs = append(errs, fmt.Errorf("CAPEVAL_ADDR=%q: port %q is not a number from 0 to 65535", c.Addr, port))
	} else if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		errs = append(errs, fmt.Errorf("CAPEVAL_ADDR=%q: host must be an IP address, localhost or empty", c.Addr))
	}
	if c.Demo && !c.Loopback() {
		errs = append(errs, fmt.Errorf("CAPEVAL_DEMO=true with CAPEVAL_ADDR=%q: the demo's accounts have published passwords, "+
			"so the demo is served on a loopback address only (127.0.0.1:PORT, [::1]:PORT or localhost:PORT)", c.Addr))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("CAPEVAL_DATA_DIR is empty: want a directory path"))
	}
	if c.DB != "" && !strings.HasPrefix(c.DB, "sqlite:") && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		errs = append(errs, fmt.Errorf("CAPEVAL_DB=%q: want empty (SQLite in the data directory), sqlite:PATH or postgres://…", redactDSN(c.DB)))
	}
	if c.JWTSecret != "" && len(c.JWTSecret) < 32 {
		errs = append(errs, fmt.Errorf("CAPEVAL_JWT_SECRET: %d bytes is too short, want at least 32", len(c.JWTSecret)))
	}
	errs = append(errs, c.validateRotation(time.Now())...)
	if c.MetricsToken != "" && len(c.MetricsToken) < MinMetricsToken {
		errs = append(errs, fmt.Errorf("CAPEVAL_METRICS_TOKEN: %d characters is too short, want at least %d", len(c.MetricsToken), MinMetricsToken))
	}
	if c.TokenTTL < time.Minute || c.TokenTTL > 720*time.Hour {
		errs = append(errs, fmt.Errorf("CAPEVAL_TOKEN_TTL=%s: want between 1m and 720h", c.TokenTTL))
	}
	// Shorter than a heartbeat's round trip would take tasks from people
	// still working on them; longer than a day keeps abandoned tasks out of
	// the queue for no one.
	if c.LeaseTTL < 30*time.Second || c.LeaseTTL > 24*time.Hour {
		errs = append(errs, fmt.Errorf("CAPEVAL_LEASE_TTL=%s: want between 30s and 24h", c.LeaseTTL))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("CAPEVAL_LOG_FORMAT=%q: want text or json", c.LogFormat))
	}
	if !validDevice(c.Device) {
		errs = append(errs, fmt.Errorf("CAPEVAL_DEVICE=%q: want auto, cpu, cuda or cuda:N", c.Device))
	}
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 1<<30 {
		errs = append(errs, fmt.Errorf("CAPEVAL_MAX_BODY_BYTES=%d: want between 1024 and 1073741824", c.MaxBodyBytes))
	}
	if c.ONNXRuntimeLib != "" {
		if _, err := os.Stat(c.ONNXRuntimeLib); err != nil {
			errs = append(errs, fmt.Errorf("CAPEVAL_ONNXRUNTIME_LIB=%q: %v (run `make onnxruntime`, or unset it to run without CLIP metrics)", c.ONNXRuntimeLib, errors.Unwrap(err)))
		}
	}
	if c.CUDAPlugin != "" {
		if _, err := os.Stat(c.CUDAPlugin); err != nil {
			errs = append(errs, fmt.Errorf("CAPEVAL_CUDA_PLUGIN=%q: %v (run `make cuda-plugin`, or unset it)", c.CUDAPlugin, errors.Unwrap(err)))
		}
	}
	if c.CLIPModel != "" {
		if st, err := os.Stat(c.CLIPModel); err != nil || !st.IsDir() {
			errs = append(errs, fmt.Errorf("CAPEVAL_CLIP_MODEL=%q: not a directory (download one with `capeval models pull`)", c.CLIPModel))
		}
	}
	return errors.Join(errs...)
}

// validateRotation checks the previous secret's settings at time now. A
// grace period that is over is not an error: the secret is ignored (and
// the accounts service says so in the log), so a replica restarted with a
// stale rotation setting still starts.
func (c Config) validateRotation(now time.Time) []error {
	var errs []error
	prev, until := c.JWTSecretPrevious != "", !c.JWTSecretPreviousUntil.IsZero()
	switch {
	case prev && !until:
		errs = append(errs, errors.New("CAPEVAL_JWT_SECRET_PREVIOUS is set without CAPEVAL_JWT_SECRET_PREVIOUS_UNTIL: say until when tokens signed with it are accepted (an RFC 3339 time)"))
	case until && !prev:
		errs = append(errs, errors.New("CAPEVAL_JWT_SECRET_PREVIOUS_UNTIL is set without CAPEVAL_JWT_SECRET_PREVIOUS (or its _FILE)"))
	}
	if !prev {
		return errs
	}
	if len(c.JWTSecretPrevious) < 32 {
		errs = append(errs, fmt.Errorf("CAPEVAL_JWT_SECRET_PREVIOUS: %d bytes is too short, want at least 32", len(c.JWTSecretPrevious)))
	}
	if c.JWTSecretPrevious == c.JWTSecret {
		errs = append(errs, errors.New("CAPEVAL_JWT_SECRET_PREVIOUS is the current secret: set CAPEVAL_JWT_SECRET to the new one"))
	}
	if limit := now.Add(c.TokenTTL + maxPreviousGrace); until && c.JWTSecretPreviousUntil.After(limit) {
		errs = append(errs, fmt.Errorf("CAPEVAL_JWT_SECRET_PREVIOUS_UNTIL=%s is more than CAPEVAL_TOKEN_TTL (%s) plus 7 days ahead: no token signed with the previous secret lives that long",
			c.JWTSecretPreviousUntil.Format(time.RFC3339), c.TokenTTL))
	}
	return errs
}

func validDevice(d string) bool {
	switch {
	case d == "auto" || d == "cpu" || d == "cuda":
		return true
	case strings.HasPrefix(d, "cuda:"):
		n, err := strconv.Atoi(strings.TrimPrefix(d, "cuda:"))
		return err == nil && n >= 0
	}
	return false
}

func parseLevel(s string) (slog.Level, error) {
	switch s {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("CAPEVAL_LOG_LEVEL=%q: want debug, info, warn or error", s)
}

// NewLogger returns the slog logger the configuration asks for. A line
// logged with a request's context carries the request's id (request_id).
func (c Config) NewLogger(w io.Writer) *slog.Logger {
	level, _ := parseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(requestIDHandler{slog.NewJSONHandler(w, opts)})
	}
	return slog.New(requestIDHandler{slog.NewTextHandler(w, opts)})
}

// EnsureSecret fills an empty JWTSecret from DATA_DIR/jwt-secret, creating
// that file with a random key on first use so that tokens survive restarts
// without any configuration.
func (c *Config) EnsureSecret() error {
	if c.JWTSecret != "" {
		return nil
	}
	path := filepath.Join(c.DataDir, "jwt-secret")
	if secret, err := readSecretFile("the generated JWT secret", path); err == nil {
		c.JWTSecret = secret
		if len(c.JWTSecret) < 32 {
			return fmt.Errorf("%s: secret shorter than 32 bytes; delete the file to generate a new one", path)
		}
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("generate JWT secret: %w", err)
	}
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	c.JWTSecret = hex.EncodeToString(key)
	if err := os.WriteFile(path, []byte(c.JWTSecret+"\n"), 0o600); err != nil {
		return fmt.Errorf("write JWT secret: %w", err)
	}
	return nil
}

// Redacted returns the settings as env lines with secrets hidden, for
// `capeval config` and the start-up log.
func (c Config) Redacted() [][2]string {
	secret := redactSet(c.JWTSecret)
	return [][2]string{
		{"CAPEVAL_ADDR", c.Addr},
		{"CAPEVAL_DATA_DIR", c.DataDir},
		{"CAPEVAL_DB", redactDSN(c.DB)},
		{"CAPEVAL_JWT_SECRET", secret},
		{"CAPEVAL_JWT_SECRET_FILE", c.JWTSecretFile},
		{"CAPEVAL_JWT_SECRET_PREVIOUS", redactSet(c.JWTSecretPrevious)},
		{"CAPEVAL_JWT_SECRET_PREVIOUS_FILE", c.JWTSecretPreviousFile},
		{"CAPEVAL_JWT_SECRET_PREVIOUS_UNTIL", formatTime(c.JWTSecretPreviousUntil)},
		{"CAPEVAL_METRICS_TOKEN", redactSet(c.MetricsToken)},
		{"CAPEVAL_METRICS_TOKEN_FILE", c.MetricsTokenFile},
		{"CAPEVAL_TOKEN_TTL", c.TokenTTL.String()},
		{"CAPEVAL_LEASE_TTL", c.LeaseTTL.String()},
		{"CAPEVAL_LOG_LEVEL", c.LogLevel},
		{"CAPEVAL_LOG_FORMAT", c.LogFormat},
		{"CAPEVAL_ONNXRUNTIME_LIB", c.ONNXRuntimeLib},
		{"CAPEVAL_CUDA_PLUGIN", c.CUDAPlugin},
		{"CAPEVAL_CLIP_MODEL", c.CLIPModel},
		{"CAPEVAL_DEVICE", c.Device},
		{"CAPEVAL_DEMO", strconv.FormatBool(c.Demo)},
		{"CAPEVAL_MAX_BODY_BYTES", strconv.FormatInt(c.MaxBodyBytes, 10)},
		{"CAPEVAL_SECURE_COOKIE", strconv.FormatBool(c.SecureCookie)},
		{"CAPEVAL_TRUSTED_PROXIES", joinNets(c.TrustedProxies)},
		{"HF_TOKEN", redactSet(c.HFToken)},
		{"HF_ENDPOINT", c.HFEndpoint},
	}
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

// redactSet shows whether a secret is set, not what it is.
func redactSet(secret string) string {
	if secret == "" {
		return ""
	}
	return "(set, redacted)"
}

// redactDSN hides the password of a URL-style DSN.
func redactDSN(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	scheme := strings.Index(dsn, "://")
	if at < 0 || scheme < 0 {
		return dsn
	}
	userinfo := dsn[scheme+3 : at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return dsn[:scheme+3] + userinfo[:i] + ":xxxxx" + dsn[at:]
	}
	return dsn
}

// AccountsConfig is the configuration of the accounts service that this
// configuration implies: the token secret (call EnsureSecret first), the
// previous one of a rotation, and the lifetime; the limits keep their
// defaults.
func (c Config) AccountsConfig() accounts.Config {
	return accounts.Config{Secret: c.JWTSecret, TokenTTL: c.TokenTTL,
		PreviousSecret: c.JWTSecretPrevious, PreviousUntil: c.JWTSecretPreviousUntil}
}

// Loopback reports whether CAPEVAL_ADDR listens on a loopback address
// only, where nothing but this machine can connect. An empty host listens
// on every interface.
func (c Config) Loopback() bool {
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// readSecretFile reads a secret from path, refusing a file that group or
// others may read: a secret that every local account can read is no
// secret. what names the setting in the error.
func readSecretFile(what, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return "", fmt.Errorf("%s: %s has mode %04o, readable by group or others: make it private with `chmod 600 %s`", what, path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return "", fmt.Errorf("%s: read %s: %w", what, path, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// parseTrustedProxies reads CAPEVAL_TRUSTED_PROXIES: comma-separated IP
// addresses and CIDR ranges.
func parseTrustedProxies(v string) ([]*net.IPNet, error) {
	if v == "" {
		return nil, nil
	}
	var nets []*net.IPNet
	var bad []string
	for i, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			bad = append(bad, fmt.Sprintf("entry %d is empty", i+1))
			continue
		}
		if strings.Contains(part, "/") {
			_, n, err := net.ParseCIDR(part)
			if err != nil {
				bad = append(bad, fmt.Sprintf("%q is not a CIDR range", part))
				continue
			}
			nets = append(nets, n)
			continue
		}
		ip := net.ParseIP(part)
		if ip == nil {
			bad = append(bad, fmt.Sprintf("%q is not an IP address or CIDR range", part))
			continue
		}
		bits := 128
		if ip4 := ip.To4(); ip4 != nil {
			ip, bits = ip4, 32
		}
		nets = append(nets, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("CAPEVAL_TRUSTED_PROXIES=%q: %s; want IPs or CIDRs separated by commas, e.g. 10.0.0.0/8,192.0.2.7", v, strings.Join(bad, "; "))
	}
	return nets, nil
}

func joinNets(nets []*net.IPNet) string {
	s := make([]string, len(nets))
	for i, n := range nets {
		s[i] = n.String()
	}
	return strings.Join(s, ",")
}
