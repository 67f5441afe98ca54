package hub

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestGitBlobID(t *testing.T) {
	// Ids that `git hash-object` prints for these contents.
	tests := []struct {
		name    string
		content string
		want    string
	}{
		{name: "empty", content: "", want: "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"},
		{name: "hello newline", content: "hello\n", want: "ce013625030ba8dba906f756967f9e9ca394464a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := GitBlobID([]byte(tt.content)); got != tt.want {
				t.Errorf("GitBlobID(%q) = %s, want %s", tt.content, got, tt.want)
			}
		})
	}
}

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {400_000, "390.6 KiB"},
		{351_530_000, "335.2 MiB"}, {5 << 30, "5.0 GiB"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := FormatBytes(tt.n); got != tt.want {
				t.Errorf("FormatBytes(%d) = %q, want %q", tt.n, got, tt.want)
			}
		})
	}
}

func TestContentRangeStart(t *testing.T) {
	tests := []struct {
		header string
		want   int64
		ok     bool
	}{
		{"bytes 100-199/200", 100, true},
		{"bytes 0-9/10", 0, true},
		{"bytes */200", 0, false},
		{"items 1-2/3", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			got, ok := contentRangeStart(tt.header)
			if got != tt.want || ok != tt.ok {
				t.Errorf("contentRangeStart(%q) = %d, %v; want %d, %v", tt.header, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseVariant(t *testing.T) {
	tests := []struct {
		in         string
		want       Variant
		text, vis  string
		wantErrSub string
	}{
		{in: "", want: VariantFP32, text: "onnx/text_model.onnx", vis: "onnx/vision_model.onnx"},
		{in: "fp32", want: VariantFP32, text: "onnx/text_model.onnx", vis: "onnx/vision_model.onnx"},
		{in: "fp16", want: VariantFP16, text: "onnx/text_model_fp16.onnx", vis: "onnx/vision_model_fp16.onnx"},
		{in: "quantized", want: VariantQuantized, text: "onnx/text_model_quantized.onnx", vis: "onnx/vision_model_quantized.onnx"},
		{in: "int4", wantErrSub: `unknown variant "int4" (want one of fp32, fp16, quantized)`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseVariant(tt.in)
			if tt.wantErrSub != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrSub) {
					t.Fatalf("ParseVariant(%q) error %v, want %q", tt.in, err, tt.wantErrSub)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseVariant(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			if got.TextModel() != tt.text || got.VisionModel() != tt.vis {
				t.Errorf("%s files %s, %s; want %s, %s", got, got.TextModel(), got.VisionModel(), tt.text, tt.vis)
			}
		})
	}
}

func TestValidateRepo(t *testing.T) {
	tests := []struct {
		repo   string
		ok     bool
		folder string
	}{
		{"Xenova/clip-vit-base-patch32", true, "Xenova--clip-vit-base-patch32"},
		{"openai/clip-vit-base-patch32", true, "openai--clip-vit-base-patch32"},
		{"gpt2", true, "gpt2"},
		{"a.b_c/d-e.f", true, "a.b_c--d-e.f"},
		{"", false, ""},
		{"a/b/c", false, ""},
		{"../etc", false, ""},
		{"a/..", false, ""},
		{"a/b..c", false, ""},
		{"/abs", false, ""},
		{"a/b?x=1", false, ""},
		{"a/b c", false, ""},
		{"-a/b", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.repo, func(t *testing.T) {
			err := ValidateRepo(tt.repo)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateRepo(%q) = %v, want ok=%v", tt.repo, err, tt.ok)
			}
			if tt.ok && FolderName(tt.repo) != tt.folder {
				t.Errorf("FolderName(%q) = %q, want %q", tt.repo, FolderName(tt.repo), tt.folder)
			}
		})
	}
}

func TestNewClientEndpoint(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", DefaultEndpoint, true},
		{"https://hf-mirror.example/", "https://hf-mirror.example", true},
		{"http://127.0.0.1:8080/hf", "http://127.0.0.1:8080/hf", true},
		{"huggingface.co", "", false},
		{"ftp://x", "", false},
		{"https://", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := NewClient(Options{Endpoint: tt.in})
			if (err == nil) != tt.ok {
				t.Fatalf("NewClient(%q) error %v, want ok=%v", tt.in, err, tt.ok)
			}
			if tt.ok && c.Endpoint() != tt.want {
				t.Errorf("Endpoint() = %q, want %q", c.Endpoint(), tt.want)
			}
		})
	}
}

// TestStatusError covers the hub's answers that the fake hub does not
// produce: plain statuses without X-Error-Code.
func TestStatusError(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		code      string
		file      string
		token     string
		want      error
		retryable bool
		wantSub   string
	}{
		{name: "plain 404 on the listing", status: 404, want: ErrNotFound, wantSub: `repository o/n or its revision "main" was not found`},
		{name: "plain 404 on a file", status: 404, file: "tokenizer.json", want: ErrNotFound, wantSub: "file tokenizer.json was not found"},
		{name: "plain 401 without token", status: 401, want: ErrUnauthorized, wantSub: "private or gated; set HF_TOKEN"},
		{name: "plain 401 with token", status: 401, token: "t", want: ErrUnauthorized, wantSub: "check that the token in HF_TOKEN"},
		{name: "403", status: 403, want: ErrUnauthorized, wantSub: "lacks access"},
		{name: "gated 403", status: 403, code: "GatedRepo", want: ErrUnauthorized, wantSub: "accept its conditions at https://huggingface.co/o/n"},
		{name: "429 is retried", status: 429, retryable: true, wantSub: "429"},
		{name: "502 is retried", status: 502, retryable: true, wantSub: "502"},
		{name: "400 is not retried", status: 400, wantSub: "400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(Options{Token: tt.token})
			if err != nil {
				t.Fatal(err)
			}
			resp := &http.Response{
				StatusCode: tt.status,
				Status:     http.StatusText(tt.status),
				Header:     http.Header{},
				Body:       io.NopCloser(strings.NewReader("body text")),
			}
			if tt.code != "" {
				resp.Header.Set("X-Error-Code", tt.code)
			}
			err = c.statusError(resp, "o/n", "main", tt.file)
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v does not wrap %v", err, tt.want)
			}
			if isRetryable(err) != tt.retryable {
				t.Errorf("retryable = %v, want %v", isRetryable(err), tt.retryable)
			}
			if !strings.Contains(err.Error(), tt.wantSub) || !strings.Contains(err.Error(), "body text") {
				t.Errorf("error %q lacks %q or the body", err, tt.wantSub)
			}
		})
	}
}
