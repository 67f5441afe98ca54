package hub

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFolder creates files (name → content) under a fresh folder.
func writeFolder(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		writeFile(t, filepath.Join(dir, filepath.FromSlash(name)), []byte(content))
	}
	return dir
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestInspectWithoutManifest(t *testing.T) {
	tests := []struct {
		name        string
		files       map[string]string
		wantVariant Variant
		wantSize    int64
		wantErr     string // "" means valid
	}{
		{
			name: "fp32 with tokenizer.json",
			files: map[string]string{
				"onnx/text_model.onnx": "tt", "onnx/vision_model.onnx": "vvv",
				"preprocessor_config.json": "{}", "tokenizer.json": "{}",
			},
			wantVariant: VariantFP32, wantSize: 9,
		},
		{
			name: "fp16 with vocab and merges",
			files: map[string]string{
				"onnx/text_model_fp16.onnx": "t", "onnx/vision_model_fp16.onnx": "v",
				"preprocessor_config.json": "{}", "vocab.json": "{}", "merges.txt": "m",
			},
			wantVariant: VariantFP16, wantSize: 7,
		},
		{
			name:    "empty folder",
			files:   map[string]string{},
			wantErr: "no onnx/text_model.onnx and onnx/vision_model.onnx",
		},
		{
			name: "encoders of different variants",
			files: map[string]string{
				"onnx/text_model.onnx": "t", "onnx/vision_model_fp16.onnx": "v",
				"preprocessor_config.json": "{}", "tokenizer.json": "{}",
			},
			wantErr: "no onnx/text_model.onnx and onnx/vision_model.onnx",
		},
		{
			name: "no preprocessor config",
			files: map[string]string{
				"onnx/text_model.onnx": "t", "onnx/vision_model.onnx": "v", "tokenizer.json": "{}",
			},
			wantVariant: VariantFP32, wantErr: "preprocessor_config.json is missing",
		},
		{
			name: "vocab without merges",
			files: map[string]string{
				"onnx/text_model.onnx": "t", "onnx/vision_model.onnx": "v",
				"preprocessor_config.json": "{}", "vocab.json": "{}",
			},
			wantVariant: VariantFP32, wantErr: "no tokenizer.json, nor vocab.json with merges.txt",
		},
		{
			name: "unfinished pull",
			files: map[string]string{
				"onnx/text_model.onnx": "t", "onnx/vision_model.onnx.part": "v",
			},
			wantErr: "unfinished pull (onnx/vision_model.onnx.part)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFolder(t, tt.files)
			st := Inspect(dir, false)
			if st.Manifest != nil {
				t.Errorf("Manifest = %+v, want nil", st.Manifest)
			}
			if tt.wantErr == "" {
				if st.Problem != nil {
					t.Fatalf("Problem = %v, want none", st.Problem)
				}
				if st.Size != tt.wantSize {
					t.Errorf("Size = %d, want %d", st.Size, tt.wantSize)
				}
			} else if st.Problem == nil || !strings.Contains(st.Problem.Error(), tt.wantErr) || !errors.Is(st.Problem, ErrLayout) {
				t.Fatalf("Problem = %v, want ErrLayout with %q", st.Problem, tt.wantErr)
			}
			if st.Variant != tt.wantVariant {
				t.Errorf("Variant = %q, want %q", st.Variant, tt.wantVariant)
			}
		})
	}
}

func TestInspectWithManifest(t *testing.T) {
	files := map[string]string{
		"onnx/text_model_fp16.onnx":   "text",
		"onnx/vision_model_fp16.onnx": "vision",
		"preprocessor_config.json":    "{}",
		"tokenizer.json":              "{}",
	}
	good := &Manifest{
		Format: ManifestFormat, Repo: "o/n", Revision: "main", Commit: "abc", Variant: VariantFP16,
		TextModel: "onnx/text_model_fp16.onnx", VisionModel: "onnx/vision_model_fp16.onnx",
	}
	for _, name := range []string{"onnx/text_model_fp16.onnx", "onnx/vision_model_fp16.onnx", "preprocessor_config.json", "tokenizer.json"} {
		good.Files = append(good.Files, ManifestEntry{Path: name, Size: int64(len(files[name])), SHA256: sha(files[name])})
	}
	tests := []struct {
		name    string
		change  func(dir string, m *Manifest)
		verify  bool
		want    error
		wantSub string
	}{
		{name: "valid"},
		{name: "valid, verified", verify: true},
		{
			name:    "file missing",
			change:  func(dir string, m *Manifest) { os.Remove(filepath.Join(dir, "tokenizer.json")) },
			want:    ErrLayout,
			wantSub: "tokenizer.json is missing",
		},
		{
			name: "file of the wrong size",
			change: func(dir string, m *Manifest) {
				os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte("{ }"), 0o644)
			},
			want:    ErrChecksum,
			wantSub: "tokenizer.json has 3 bytes, the manifest lists 2",
		},
		{
			name:   "same size, other bytes, not verified",
			change: func(dir string, m *Manifest) { os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte("[]"), 0o644) },
		},
		{
			name:    "same size, other bytes, verified",
			change:  func(dir string, m *Manifest) { os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte("[]"), 0o644) },
			verify:  true,
			want:    ErrChecksum,
			wantSub: "tokenizer.json has sha256",
		},
		{
			name:    "encoder not listed",
			change:  func(dir string, m *Manifest) { m.Files = m.Files[1:] },
			want:    ErrLayout,
			wantSub: "names onnx/text_model_fp16.onnx but does not list it",
		},
		{
			name:    "path outside the folder",
			change:  func(dir string, m *Manifest) { m.TextModel = "../x.onnx" },
			wantSub: `file path "../x.onnx" is not inside the folder`,
		},
		{
			name:    "newer format",
			change:  func(dir string, m *Manifest) { m.Format = 2 },
			wantSub: "format 2, this build reads 1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFolder(t, files)
			m := *good
			m.Files = append([]ManifestEntry(nil), good.Files...)
			if tt.change != nil {
				tt.change(dir, &m)
			}
			if err := WriteManifest(dir, &m); err != nil {
				t.Fatal(err)
			}
			st := Inspect(dir, tt.verify)
			if tt.wantSub == "" {
				if st.Problem != nil {
					t.Fatalf("Problem = %v, want none", st.Problem)
				}
				if st.Variant != VariantFP16 || st.Manifest == nil || st.Manifest.Commit != "abc" || st.Size != 14 {
					t.Errorf("Inspect = %+v", st)
				}
				return
			}
			if st.Problem == nil || !strings.Contains(st.Problem.Error(), tt.wantSub) {
				t.Fatalf("Problem = %v, want %q", st.Problem, tt.wantSub)
			}
			if tt.want != nil && !errors.Is(st.Problem, tt.want) {
				t.Errorf("Problem %v does not wrap %v", st.Problem, tt.want)
			}
		})
	}
}

func TestManifestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadManifest(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadManifest of an empty folder: %v, want fs.ErrNotExist", err)
	}
	m := &Manifest{Format: ManifestFormat, Repo: "o/n", Revision: "v1", Commit: "c", Endpoint: DefaultEndpoint,
		Variant: VariantQuantized, TextModel: VariantQuantized.TextModel(), VisionModel: VariantQuantized.VisionModel(),
		Files: []ManifestEntry{{Path: "onnx/text_model_quantized.onnx", Size: 3, SHA256: "x"}}}
	if err := WriteManifest(dir, m); err != nil {
		t.Fatal(err)
	}
	got, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Repo != m.Repo || got.Variant != m.Variant || got.TextModel != m.TextModel || len(got.Files) != 1 || got.Files[0] != m.Files[0] {
		t.Errorf("read back %+v, wrote %+v", got, m)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != ManifestName {
		t.Errorf("folder holds %v, want only %s (no temporary file left)", entries, ManifestName)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, ManifestName))
	for _, key := range []string{`"text_model": "onnx/text_model_quantized.onnx"`, `"variant": "quantized"`, `"format": 1`} {
		if !strings.Contains(string(raw), key) {
			t.Errorf("manifest JSON lacks %s:\n%s", key, raw)
		}
	}
}
