package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"capeval/autoeval/hub"
)

// modelsHubFiles is the CLIP export the fake hub serves; the ONNX files
// stand in for real graphs, since only bytes are moved here.
var modelsHubFiles = map[string]string{
	"onnx/text_model.onnx":        strings.Repeat("text encoder ", 5000),
	"onnx/vision_model.onnx":      strings.Repeat("vision encoder ", 7000),
	"onnx/text_model_fp16.onnx":   strings.Repeat("fp16 text ", 3000),
	"onnx/vision_model_fp16.onnx": strings.Repeat("fp16 vision ", 4000),
	"preprocessor_config.json":    `{"crop_size": 224}`,
	"tokenizer.json":              `{"model": {"type": "BPE"}}`,
	"config.json":                 `{"model_type": "clip"}`,
}

const modelsTestCommit = "89abcdef0123456789abcdef0123456789abcdef"

// newModelsFakeHub serves the hub API and resolve URLs for any repository
// named Xenova/clip-vit-base-patch32 or acme/clip; ONNX files are LFS files
// behind a redirect. With a token, requests without it get 401 GatedRepo.
func newModelsFakeHub(t *testing.T, token string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	gate := func(w http.ResponseWriter, r *http.Request) bool {
		if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("X-Error-Code", "GatedRepo")
			http.Error(w, "gated", http.StatusUnauthorized)
			return false
		}
		return true
	}
	mux.HandleFunc("GET /api/models/{owner}/{name}/revision/{rev}", func(w http.ResponseWriter, r *http.Request) {
		if !gate(w, r) {
			return
		}
		info := hub.RepoInfo{ID: r.PathValue("owner") + "/" + r.PathValue("name"), SHA: modelsTestCommit}
		for name, content := range modelsHubFiles {
			f := hub.File{Name: name, Size: int64(len(content)), BlobID: hub.GitBlobID([]byte(content))}
			if strings.HasSuffix(name, ".onnx") {
				sum := sha256.Sum256([]byte(content))
				f.LFS = &hub.LFSInfo{SHA256: hex.EncodeToString(sum[:]), Size: f.Size}
			}
			info.Siblings = append(info.Siblings, f)
		}
		json.NewEncoder(w).Encode(info)
	})
	// Resolve URLs are /OWNER/NAME/resolve/REV/FILE; a ServeMux pattern
	// for them would overlap the API's, so they are split by hand.
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 5)
		if len(parts) != 5 || parts[2] != "resolve" || parts[3] != modelsTestCommit {
			http.NotFound(w, r)
			return
		}
		if !gate(w, r) {
			return
		}
		file := parts[4]
		if strings.HasSuffix(file, ".onnx") {
			http.Redirect(w, r, "/lfs/"+file, http.StatusFound)
			return
		}
		w.Write([]byte(modelsHubFiles[file]))
	})
	mux.HandleFunc("GET /lfs/{file...}", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(modelsHubFiles[r.PathValue("file")]))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// modelsEnv is what a test case can refer to.
type modelsEnv struct {
	hub, gated, gone string // endpoints: open, token-protected, closed
	data             string // CAPEVAL_DATA_DIR
}

func TestModelsCommand(t *testing.T) {
	const defaultFolder = "Xenova--clip-vit-base-patch32"
	tests := []struct {
		name       string
		args       func(e modelsEnv) []string
		env        func(e modelsEnv) map[string]string
		setup      func(t *testing.T, e modelsEnv)
		wantErr    error  // sentinel the error must wrap
		wantErrSub string // "" with wantErr nil: must succeed
		wantOut    []string
		wantErrOut []string
		check      func(t *testing.T, e modelsEnv)
	}{
		{
			name:    "overview",
			args:    func(e modelsEnv) []string { return []string{"-h"} },
			wantOut: []string{"pull", "list", "capeval models pull [REPO]"},
		},
		{
			name:       "no subcommand is a usage error",
			args:       func(e modelsEnv) []string { return nil },
			wantErr:    errUsage,
			wantErrOut: []string{"Usage: capeval models"},
		},
		{
			name:       "unknown subcommand",
			args:       func(e modelsEnv) []string { return []string{"fetch"} },
			wantErrSub: `unknown subcommand "fetch"`,
		},
		{
			name: "pull -h explains every flag and variable",
			args: func(e modelsEnv) []string { return []string{"pull", "-h"} },
			wantOut: []string{"-dir folder", "-revision REV", "-variant fp32|fp16|quantized", "-endpoint URL",
				"HF_TOKEN", "HF_ENDPOINT", "CAPEVAL_CLIP_MODEL", hub.DefaultRepo, "resumes"},
		},
		{
			name:    "list -h",
			args:    func(e modelsEnv) []string { return []string{"list", "-h"} },
			wantOut: []string{"-verify", "-dir folder"},
		},
		{
			name:       "pull the default repository into the data dir",
			args:       func(e modelsEnv) []string { return []string{"pull"} },
			env:        func(e modelsEnv) map[string]string { return map[string]string{"HF_ENDPOINT": e.hub} },
			wantOut:    []string{"CLIP model " + hub.DefaultRepo + " (fp32, commit 89abcdef01) is in", "--clip-model", "CAPEVAL_CLIP_MODEL="},
			wantErrOut: []string{"pulling " + hub.DefaultRepo, "onnx/vision_model.onnx: 102.5 KiB in"},
			check: func(t *testing.T, e modelsEnv) {
				modelsCheckFolder(t, filepath.Join(e.data, "models", defaultFolder), hub.VariantFP32)
			},
		},
		{
			name: "flags on both sides of the repository",
			args: func(e modelsEnv) []string {
				return []string{"pull", "--variant", "fp16", "acme/clip", "--dir", filepath.Join(e.data, "mine"), "--endpoint", e.hub}
			},
			env:     func(e modelsEnv) map[string]string { return map[string]string{"HF_ENDPOINT": e.gone} },
			wantOut: []string{"CLIP model acme/clip (fp16"},
			check: func(t *testing.T, e modelsEnv) {
				modelsCheckFolder(t, filepath.Join(e.data, "mine"), hub.VariantFP16)
			},
		},
		{
			name:       "unknown variant",
			args:       func(e modelsEnv) []string { return []string{"pull", "--variant", "int4"} },
			wantErrSub: `unknown variant "int4"`,
		},
		{
			name:       "malformed repository",
			args:       func(e modelsEnv) []string { return []string{"pull", "../etc/passwd"} },
			wantErrSub: "not a repository id",
		},
		{
			name:       "two repositories",
			args:       func(e modelsEnv) []string { return []string{"pull", "a/b", "c/d"} },
			wantErrSub: "one repository",
		},
		{
			name:       "undefined flag is a usage error",
			args:       func(e modelsEnv) []string { return []string{"pull", "--force"} },
			wantErr:    errUsage,
			wantErrSub: "flag provided but not defined: -force",
		},
		{
			name:       "gated repository without HF_TOKEN",
			args:       func(e modelsEnv) []string { return []string{"pull", "--endpoint", e.gated} },
			wantErr:    hub.ErrUnauthorized,
			wantErrSub: "HF_TOKEN",
		},
		{
			name: "gated repository with HF_TOKEN",
			args: func(e modelsEnv) []string { return []string{"pull", "--endpoint", e.gated} },
			env:  func(e modelsEnv) map[string]string { return map[string]string{"HF_TOKEN": "hf_test\n"} },
			check: func(t *testing.T, e modelsEnv) {
				modelsCheckFolder(t, filepath.Join(e.data, "models", defaultFolder), hub.VariantFP32)
			},
		},
		{
			name:       "hub unreachable",
			args:       func(e modelsEnv) []string { return []string{"pull"} },
			env:        func(e modelsEnv) map[string]string { return map[string]string{"HF_ENDPOINT": e.gone} },
			wantErr:    hub.ErrUnreachable,
			wantErrSub: "could not be reached",
		},
		{
			name:    "list without a models folder",
			args:    func(e modelsEnv) []string { return []string{"list"} },
			wantOut: []string{"no model folders in", "capeval models pull"},
		},
		{
			name: "list pulled, hand-copied, unfinished and configured folders",
			args: func(e modelsEnv) []string { return []string{"list"} },
			env: func(e modelsEnv) map[string]string {
				return map[string]string{"CAPEVAL_CLIP_MODEL": filepath.Join(e.data, "models", "by-hand")}
			},
			setup: func(t *testing.T, e modelsEnv) {
				modelsRun(t, "pull", "--endpoint", e.hub)
				modelsWrite(t, filepath.Join(e.data, "models", "by-hand"), map[string]string{
					"onnx/text_model_fp16.onnx": "t", "onnx/vision_model_fp16.onnx": "v",
					"preprocessor_config.json": "{}", "vocab.json": "{}", "merges.txt": "#",
				})
				modelsWrite(t, filepath.Join(e.data, "models", "half"), map[string]string{
					"onnx/text_model.onnx": "t", "onnx/vision_model.onnx.part": "v",
				})
			},
			wantOut: []string{
				"FOLDER", "STATE",
				defaultFolder + "  " + hub.DefaultRepo + "@main (89abcdef01)  fp32",
				"ok\n",
				"by-hand", "fp16", "ok (no manifest: not pulled by capeval) [CAPEVAL_CLIP_MODEL]",
				"half", "invalid: an unfinished pull (onnx/vision_model.onnx.part)",
			},
		},
		{
			name: "list --verify finds a damaged file",
			args: func(e modelsEnv) []string { return []string{"list", "--verify"} },
			setup: func(t *testing.T, e modelsEnv) {
				modelsRun(t, "pull", "--endpoint", e.hub)
				p := filepath.Join(e.data, "models", defaultFolder, "tokenizer.json")
				b, _ := os.ReadFile(p)
				b[0] = '['
				os.WriteFile(p, b, 0o644)
				modelsRun(t, "pull", "acme/clip", "--endpoint", e.hub)
			},
			wantOut: []string{"invalid: tokenizer.json has sha256", "acme--clip", "ok (verified)"},
		},
		{
			name:       "list takes no arguments",
			args:       func(e modelsEnv) []string { return []string{"list", "extra"} },
			wantErrSub: "no arguments",
		},
	}
	open := newModelsFakeHub(t, "")
	gated := newModelsFakeHub(t, "hf_test")
	closed := newModelsFakeHub(t, "")
	closed.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := modelsEnv{hub: open.URL, gated: gated.URL, gone: closed.URL, data: t.TempDir()}
			for _, k := range []string{"HF_TOKEN", "HF_ENDPOINT", "CAPEVAL_CLIP_MODEL"} {
				t.Setenv(k, "")
			}
			t.Setenv("CAPEVAL_DATA_DIR", e.data)
			if tt.setup != nil {
				tt.setup(t, e)
			}
			if tt.env != nil {
				for k, v := range tt.env(e) {
					t.Setenv(k, v)
				}
			}
			stdout, stderr, err := execArgs(append([]string{"models"}, tt.args(e)...)...)
			switch {
			case tt.wantErr == nil && tt.wantErrSub == "" && err != nil:
				t.Fatalf("error %v\nstderr:\n%s", err, stderr)
			case (tt.wantErr != nil || tt.wantErrSub != "") && err == nil:
				t.Fatalf("succeeded, want an error\nstdout:\n%s", stdout)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("error %v does not wrap %v", err, tt.wantErr)
			case tt.wantErrSub != "" && !strings.Contains(err.Error(), tt.wantErrSub):
				t.Errorf("error %q lacks %q", err, tt.wantErrSub)
			}
			for _, s := range tt.wantOut {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			for _, s := range tt.wantErrOut {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			if tt.check != nil {
				tt.check(t, e)
			}
		})
	}
}

// modelsCheckFolder asserts a pulled folder holds the hub's bytes for the
// variant and a manifest naming its encoders.
func modelsCheckFolder(t *testing.T, dir string, v hub.Variant) {
	t.Helper()
	for _, name := range []string{v.TextModel(), v.VisionModel(), "preprocessor_config.json", "tokenizer.json", "config.json"} {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil || string(got) != modelsHubFiles[name] {
			t.Errorf("%s in %s: %v, content ok %v", name, dir, err, string(got) == modelsHubFiles[name])
		}
	}
	m, err := hub.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Variant != v || m.TextModel != v.TextModel() || m.VisionModel != v.VisionModel() || m.Commit != modelsTestCommit {
		t.Errorf("manifest %+v", m)
	}
}

// modelsRun runs a models subcommand that must succeed.
func modelsRun(t *testing.T, args ...string) {
	t.Helper()
	if out, errOut, err := execArgs(append([]string{"models"}, args...)...); err != nil {
		t.Fatalf("models %v: %v\n%s%s", args, err, out, errOut)
	}
}

func modelsWrite(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
