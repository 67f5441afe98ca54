package hub

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// newTestClient returns a client for h that retries without waiting and
// writes its progress into out.
func newTestClient(t *testing.T, endpoint string, out *bytes.Buffer, mod func(*Options)) *Client {
	t.Helper()
	opts := Options{Endpoint: endpoint, Progress: out, RetryWait: time.Nanosecond, MaxAttempts: 1}
	if mod != nil {
		mod(&opts)
	}
	c, err := NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkFolder asserts that dir holds exactly the hub's bytes for names and
// that the manifest lists them.
func checkFolder(t *testing.T, h *fakeHub, dir string, m *Manifest, names ...string) {
	t.Helper()
	for _, name := range names {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(got, h.files[name]) {
			t.Errorf("%s: content differs from the hub's (%d bytes, want %d)", name, len(got), len(h.files[name]))
		}
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name)) + ".part"); err == nil {
			t.Errorf("%s.part left behind", name)
		}
	}
	read, err := ReadManifest(dir)
	if err != nil {
		t.Fatalf("ReadManifest: %v", err)
	}
	if m != nil && read.Commit != m.Commit {
		t.Errorf("manifest on disk has commit %q, Pull returned %q", read.Commit, m.Commit)
	}
	listed := entryPaths(read.Files)
	for _, name := range names {
		if !slices.Contains(listed, name) {
			t.Errorf("manifest does not list %s (lists %v)", name, listed)
		}
	}
	if st := Inspect(dir, true); st.Problem != nil {
		t.Errorf("Inspect(verify) of the pulled folder: %v", st.Problem)
	}
}

var fp32Files = []string{
	"onnx/text_model.onnx", "onnx/vision_model.onnx", "preprocessor_config.json",
	"config.json", "tokenizer.json", "vocab.json", "merges.txt",
}

func TestPull(t *testing.T) {
	const text, vision = "onnx/text_model.onnx", "onnx/vision_model.onnx"
	tests := []struct {
		name     string
		setup    func(h *fakeHub)
		opts     func(o *Options)
		pull     func(p *PullOptions)
		before   func(t *testing.T, h *fakeHub, dir string)
		wantErr  error    // nil: the pull must succeed
		wantText []string // substrings of the error message
		check    func(t *testing.T, h *fakeHub, dir string, m *Manifest, out string)
	}{
		{
			name: "fresh fp32 pull",
			check: func(t *testing.T, h *fakeHub, dir string, m *Manifest, out string) {
				checkFolder(t, h, dir, m, fp32Files...)
				if m.Variant != VariantFP32 || m.TextModel != text || m.VisionModel != vision {
					t.Errorf("manifest variant %q text %q vision %q", m.Variant, m.TextModel, m.VisionModel)
				}
				if m.Commit != h.commit || m.Revision != "main" || m.Repo != h.repo {
					t.Errorf("manifest repo %q revision %q commit %q", m.Repo, m.Revision, m.Commit)
				}
				for _, skip := range []string{"onnx/model.onnx", "README.md", "onnx/text_model_fp16.onnx"} {
					if _, err := os.Stat(filepath.Join(dir, skip)); err == nil {
						t.Errorf("%s was downloaded but is not part of the fp32 folder", skip)
					}
				}
				if got := h.ranges(vision); len(got) != 1 || got[0] != "" {
					t.Errorf("vision model requests had Range headers %q, want one plain GET", got)
				}
			},
		},
		{
			name: "fp16 variant keeps the hub names",
			pull: func(p *PullOptions) { p.Variant = VariantFP16 },
			check: func(t *testing.T, h *fakeHub, dir string, m *Manifest, out string) {
				checkFolder(t, h, dir, m, "onnx/text_model_fp16.onnx", "onnx/vision_model_fp16.onnx", "preprocessor_config.json")
				if m.TextModel != "onnx/text_model_fp16.onnx" || m.VisionModel != "onnx/vision_model_fp16.onnx" || m.Variant != VariantFP16 {
					t.Errorf("manifest names %q and %q, variant %q", m.TextModel, m.VisionModel, m.Variant)
				}
				if _, err := os.Stat(filepath.Join(dir, text)); err == nil {
					t.Errorf("fp32 text model downloaded for an fp16 pull")
				}
			},
		},
		{
			name:     "variant the repository lacks",
			pull:     func(p *PullOptions) { p.Variant = VariantQuantized },
			wantErr:  ErrLayout,
			wantText: []string{"no quantized variant", "onnx/text_model_quantized.onnx", "offers: fp32, fp16"},
		},
		{
			name: "revision given as the commit",
			pull: func(p *PullOptions) { p.Revision = "0123456789abcdef0123456789abcdef01234567" },
			check: func(t *testing.T, h *fakeHub, dir string, m *Manifest, out string) {
				checkFolder(t, h, dir, m, fp32Files...)
			},
		},
		{
			name:  "connection cut mid-file is resumed within the pull",
			setup: func(h *fakeHub) { h.cutAt[vision], h.cuts[vision] = 123_457, 1 },
			opts:  func(o *Options) { o.MaxAttempts = 3 },
			check: func(t *testing.T, h *fakeHub, dir string, m *Manifest, out string) {
				checkFolder(t, h, dir, m, fp32Files...)
				want := []string{"", "bytes=123457-"}
				if got := h.ranges(vision); !slices.Equal(got, want) {
					t.Errorf("vision model Range headers %q, want %q", got, want)
				}
				if !strings.Contains(out, "retrying") || !strings.Contains(out, "attempt 2 of 3") {
					t.Errorf("progress does not report the retry:\n%s", out)
				}
			},
		},
		{
			name:  "server that ignores Range restarts the file",
			setup: func(h *fakeHub) { h.noRange = true },
			before: func(t *testing.T, h *fakeHub, dir string) {
				writeFile(t, filepath.Join(dir, vision)+".part", testFile(99, 1000)) // wrong bytes
			},
			check: func(t *testing.T, h *fakeHub, dir string, m *Manifest, out string) {
				checkFolder(t, h, dir, m, fp32Files...)
				if got := h.ranges(vision); len(got) != 1 || got[0] != "bytes=1000-" {
					t.Errorf("vision model Range headers %q, want one bytes=1000-", got)
				}
			},
		},
		{
			name:  "206 for the wrong offset restarts the file",
			setup: func(h *fakeHub) { h.badRange[vision] = 1 },
			opts:  func(o *Options) { o.MaxAttempts = 2 },
			before: func(t *testing.T, h *fakeHub, dir string) {
				writeFile(t, filepath.Join(dir, vision)+".part", h.files[vision][:5000])
			},
			check: func(t *testing.T, h *fakeHub, dir string, m *Manifest, out string) {
				checkFolder(t, h, dir, m, fp32Files...)
				if got := h.ranges(vision); !slices.Equal(got, []string{"bytes=5000-", ""}) {
					t.Errorf("vision model Range headers %q, want a resume then a restart", got)
				}
			},
		},
		{
			name: "a .part longer than the file is discarded",
			before: func(t *testing.T, h *fakeHub, dir string) {
				writeFile(t, filepath.Join(dir, text)+".part", testFile(98, 300_001))
			},
			check: func(t *testing.T, h *fakeHub, dir string, m *Manifest, out string) {
				checkFolder(t, h, dir, m, fp32Files...)
			},
		},
		{
			name: "a complete but damaged .part is downloaded again",
			before: func(t *testing.T, h *fakeHub, dir string) {
				writeFile(t, filepath.Join(dir, text)+".part", testFile(97, 300_000))
			},
			check: func(t *testing.T, h *fakeHub, dir string, m *Manifest, out string) {
				checkFolder(t, h, dir, m, fp32Files...)
				if !strings.Contains(out, "bytes kept from an earlier run do not verify") {
					t.Errorf("progress does not mention the damaged .part:\n%s", out)
				}
				if got := h.ranges(text); len(got) != 1 || got[0] != "" {
					t.Errorf("text model Range headers %q, want one plain GET", got)
				}
			},
		},
		{
			name: "a complete, intact .part is renamed without a request",
			before: func(t *testing.T, h *fakeHub, dir string) {
				writeFile(t, filepath.Join(dir, text)+".part", h.files[text])
			},
			check: func(t *testing.T, h *fakeHub, dir string, m *Manifest, out string) {
				checkFolder(t, h, dir, m, fp32Files...)
				if got := h.ranges(text); len(got) != 0 {
					t.Errorf("text model requested %d times, want none", len(got))
				}
			},
		},
		{
			name: "a .part from another revision is downloaded again",
			before: func(t *testing.T, h *fakeHub, dir string) {
				writeFile(t, filepath.Join(dir, vision)+".part", testFile(96, 4096))
			},
			check: func(t *testing.T, h *fakeHub, dir string, m *Manifest, out string) {
				checkFolder(t, h, dir, m, fp32Files...)
				if got := h.ranges(vision); !slices.Equal(got, []string{"bytes=4096-", ""}) {
					t.Errorf("vision model Range headers %q, want a resume then a fresh download", got)
				}
				if !strings.Contains(out, "onnx/vision_model.onnx: the bytes kept from an earlier run do not verify") {
					t.Errorf("progress does not explain the second download:\n%s", out)
				}
			},
		},
		{
			name:  "damaged bytes kept from an earlier run, served wrong again",
			setup: func(h *fakeHub) { h.corrupt[vision] = true },
			before: func(t *testing.T, h *fakeHub, dir string) {
				writeFile(t, filepath.Join(dir, vision)+".part", h.files[vision][:4096])
			},
			wantErr:  ErrChecksum,
			wantText: []string{vision, "the download was removed"},
			check: func(t *testing.T, h *fakeHub, dir string, m *Manifest, out string) {
				assertAbsent(t, dir, vision+".part", vision, ManifestName)
				if got := h.ranges(vision); len(got) != 2 {
					t.Errorf("vision model Range headers %q, want a resume and one fresh try", got)
				}
			},
		},
		{
			name:     "wrong sha256 of an LFS file",
			setup:    func(h *fakeHub) { h.corrupt[vision] = true },
			wantErr:  ErrChecksum,
			wantText: []string{vision, "sha256"},
			check: func(t *testing.T, h *fakeHub, dir string, m *Manifest, out string) {
				assertAbsent(t, dir, vision+".part", vision, ManifestName)
			},
		},
		{
			name:     "wrong git blob id of a small file",
			setup:    func(h *fakeHub) { h.corrupt["preprocessor_config.json"] = true },
			wantErr:  ErrChecksum,
			wantText: []string{"preprocessor_config.json", "git blob id"},
			check: func(t *testing.T, h *fakeHub, dir string, m *Manifest, out string) {
				assertAbsent(t, dir, "preprocessor_config.json.part", "preprocessor_config.json", ManifestName)
			},
		},
		{
			name:     "body longer than listed",
			setup:    func(h *fakeHub) { h.extra[text] = 10 },
			wantErr:  ErrChecksum,
			wantText: []string{text, "more than"},
			check: func(t *testing.T, h *fakeHub, dir string, m *Manifest, out string) {
				assertAbsent(t, dir, text+".part", text)
			},
		},
		{
			name:     "repository not found",
			pull:     func(p *PullOptions) { p.Repo = "nobody/nothing" },
			wantErr:  ErrNotFound,
			wantText: []string{"repository nobody/nothing was not found", "HF_TOKEN"},
		},
		{
			name:     "revision not found",
			pull:     func(p *PullOptions) { p.Revision = "v9" },
			wantErr:  ErrNotFound,
			wantText: []string{`revision "v9" was not found`},
		},
		{
			name:     "file listed but missing",
			setup:    func(h *fakeHub) { h.missing["tokenizer.json"] = true },
			wantErr:  ErrNotFound,
			wantText: []string{"file tokenizer.json was not found"},
		},
		{
			name:     "gated repository without a token",
			setup:    func(h *fakeHub) { h.token = "hf_secret" },
			wantErr:  ErrUnauthorized,
			wantText: []string{"gated", "HF_TOKEN"},
		},
		{
			name:     "gated repository with a wrong token",
			setup:    func(h *fakeHub) { h.token = "hf_secret" },
			opts:     func(o *Options) { o.Token = "hf_wrong" },
			wantErr:  ErrUnauthorized,
			wantText: []string{"check that the token in HF_TOKEN"},
		},
		{
			name:  "gated repository with its token",
			setup: func(h *fakeHub) { h.token = "hf_secret" },
			opts:  func(o *Options) { o.Token = "hf_secret" },
			check: func(t *testing.T, h *fakeHub, dir string, m *Manifest, out string) {
				checkFolder(t, h, dir, m, fp32Files...)
				if got := h.authHeaders(); len(got) != 1 || got[0] != "Bearer hf_secret" {
					t.Errorf("API saw Authorization %q", got)
				}
			},
		},
		{
			name:  "503 twice, then served",
			setup: func(h *fakeHub) { h.unavailable["config.json"] = 2 },
			opts:  func(o *Options) { o.MaxAttempts = 3 },
			check: func(t *testing.T, h *fakeHub, dir string, m *Manifest, out string) {
				checkFolder(t, h, dir, m, fp32Files...)
			},
		},
		{
			name:     "503 every time gives up",
			setup:    func(h *fakeHub) { h.unavailable["config.json"] = 5 },
			opts:     func(o *Options) { o.MaxAttempts = 2 },
			wantText: []string{"503", "gave up on config.json after 2 attempts", "run the pull again"},
		},
		{
			name:  "stalled body is abandoned and resumed",
			setup: func(h *fakeHub) { h.stallAt[text], h.stalls[text] = 70_000, 1 },
			opts:  func(o *Options) { o.MaxAttempts = 2; o.StallTimeout = 100 * time.Millisecond },
			check: func(t *testing.T, h *fakeHub, dir string, m *Manifest, out string) {
				checkFolder(t, h, dir, m, fp32Files...)
				// Usually the resume starts at 70000; a slow reader may have
				// been cut off a little before, so only the resume is checked.
				if got := h.ranges(text); len(got) != 2 || !strings.HasPrefix(got[1], "bytes=") {
					t.Errorf("text model Range headers %q, want a plain GET then a resume", got)
				}
				if !strings.Contains(out, "no data received") {
					t.Errorf("progress does not name the stall:\n%s", out)
				}
			},
		},
		{
			name: "vocab.json and merges.txt without tokenizer.json",
			setup: func(h *fakeHub) {
				delete(h.files, "tokenizer.json")
			},
			check: func(t *testing.T, h *fakeHub, dir string, m *Manifest, out string) {
				checkFolder(t, h, dir, m, "vocab.json", "merges.txt")
			},
		},
		{
			name: "no tokenizer at all",
			setup: func(h *fakeHub) {
				delete(h.files, "tokenizer.json")
				delete(h.files, "merges.txt")
			},
			wantErr:  ErrLayout,
			wantText: []string{"no tokenizer"},
		},
		{
			name: "not an ONNX export",
			setup: func(h *fakeHub) {
				for name := range h.files {
					if strings.HasPrefix(name, "onnx/") {
						delete(h.files, name)
					}
				}
			},
			wantErr:  ErrLayout,
			wantText: []string{"has no onnx/text_model.onnx", DefaultRepo},
		},
		{
			name:     "no preprocessor config",
			setup:    func(h *fakeHub) { delete(h.files, "preprocessor_config.json") },
			wantErr:  ErrLayout,
			wantText: []string{"preprocessor_config.json"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFakeHub(t)
			if tt.setup != nil {
				h.set(tt.setup)
			}
			var out bytes.Buffer
			c := newTestClient(t, h.URL(), &out, tt.opts)
			dir := filepath.Join(t.TempDir(), "model")
			if tt.before != nil {
				if err := os.MkdirAll(filepath.Join(dir, "onnx"), 0o755); err != nil {
					t.Fatal(err)
				}
				tt.before(t, h, dir)
			}
			p := PullOptions{Repo: h.repo, Dir: dir}
			if tt.pull != nil {
				tt.pull(&p)
			}
			m, err := c.Pull(context.Background(), p)
			switch {
			case tt.wantErr == nil && tt.wantText == nil && err != nil:
				t.Fatalf("Pull: %v\nprogress:\n%s", err, out.String())
			case (tt.wantErr != nil || tt.wantText != nil) && err == nil:
				t.Fatalf("Pull succeeded, want an error")
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("Pull error %q does not wrap %v", err, tt.wantErr)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if tt.check != nil {
				tt.check(t, h, dir, m, out.String())
			}
		})
	}
}

// TestPullResumesAcrossRuns checks the case a user meets: the connection
// dies, the command fails, and running it again continues where it stopped.
func TestPullResumesAcrossRuns(t *testing.T) {
	const vision = "onnx/vision_model.onnx"
	h := newFakeHub(t)
	h.set(func(h *fakeHub) { h.cutAt[vision], h.cuts[vision] = 250_001, 1 })
	dir := filepath.Join(t.TempDir(), "model")
	var out bytes.Buffer
	c := newTestClient(t, h.URL(), &out, nil)

	_, err := c.Pull(context.Background(), PullOptions{Repo: h.repo, Dir: dir})
	if err == nil {
		t.Fatal("first pull succeeded through a cut connection")
	}
	for _, s := range []string{vision, "connection lost", "run the pull again to resume"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
	st, err := os.Stat(filepath.Join(dir, vision) + ".part")
	if err != nil || st.Size() != 250_001 {
		t.Fatalf("after the cut: .part %v, size %d; want 250001 bytes kept", err, sizeOf(st))
	}
	if s := Inspect(dir, false); s.Problem == nil || !strings.Contains(s.Problem.Error(), "unfinished pull") {
		t.Errorf("Inspect of the half-pulled folder: %v, want an unfinished pull", s.Problem)
	}

	out.Reset()
	before := h.downloads()
	m, err := c.Pull(context.Background(), PullOptions{Repo: h.repo, Dir: dir})
	if err != nil {
		t.Fatalf("second pull: %v", err)
	}
	checkFolder(t, h, dir, m, fp32Files...)
	if got := h.ranges(vision); len(got) != 2 || got[1] != "bytes=250001-" {
		t.Errorf("vision model Range headers %q, want the second run to resume at 250001", got)
	}
	// The text model, complete after the first run, is verified, not
	// fetched again; the vision model resumes; the small files follow.
	if got, want := h.downloads()-before, len(fp32Files)-1; got != want {
		t.Errorf("second run made %d download requests, want %d", got, want)
	}
	if got := h.ranges("onnx/text_model.onnx"); len(got) != 1 {
		t.Errorf("text model requested %d times over both runs, want 1", len(got))
	}
	if !strings.Contains(out.String(), "resumed at 244.1 KiB") || !strings.Contains(out.String(), "already present") {
		t.Errorf("progress of the second run:\n%s", out.String())
	}
}

// TestPullTwiceSkips checks that a complete folder is verified, not
// fetched again, and that a damaged file in it is replaced.
func TestPullTwiceSkips(t *testing.T) {
	h := newFakeHub(t)
	dir := filepath.Join(t.TempDir(), "model")
	var out bytes.Buffer
	c := newTestClient(t, h.URL(), &out, nil)
	ctx := context.Background()
	if _, err := c.Pull(ctx, PullOptions{Repo: h.repo, Dir: dir}); err != nil {
		t.Fatal(err)
	}
	n := h.downloads()
	if _, err := c.Pull(ctx, PullOptions{Repo: h.repo, Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if got := h.downloads() - n; got != 0 {
		t.Errorf("second pull downloaded %d files, want 0", got)
	}
	// Same size, other bytes: only the hash can tell.
	writeFile(t, filepath.Join(dir, "onnx", "text_model.onnx"), testFile(7, 300_000))
	if s := Inspect(dir, true); !errors.Is(s.Problem, ErrChecksum) {
		t.Errorf("Inspect(verify) of a damaged folder: %v, want ErrChecksum", s.Problem)
	}
	n = h.downloads()
	out.Reset()
	m, err := c.Pull(ctx, PullOptions{Repo: h.repo, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.downloads() - n; got != 1 {
		t.Errorf("repair pull downloaded %d files, want 1", got)
	}
	if !strings.Contains(out.String(), "downloading it again") {
		t.Errorf("progress does not say the damaged file is fetched again:\n%s", out.String())
	}
	checkFolder(t, h, dir, m, fp32Files...)
}

func TestPullUnreachable(t *testing.T) {
	gone := newFakeHub(t)
	goneURL := gone.URL()
	gone.api.Close()

	dnsFail := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{
				Err: "no such host", Name: "huggingface.co", IsNotFound: true}}
		},
	}}
	tests := []struct {
		name     string
		endpoint string
		client   *http.Client
		wantText []string
	}{
		{name: "server gone", endpoint: goneURL, wantText: []string{goneURL, "connection refused"}},
		{name: "DNS failure", endpoint: DefaultEndpoint, client: dnsFail, wantText: []string{"huggingface.co", "no such host"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			c := newTestClient(t, tt.endpoint, &out, func(o *Options) { o.HTTPClient = tt.client })
			_, err := c.Pull(context.Background(), PullOptions{Dir: filepath.Join(t.TempDir(), "m")})
			if !errors.Is(err, ErrUnreachable) {
				t.Fatalf("Pull error %v, want ErrUnreachable", err)
			}
			for _, s := range append(tt.wantText, "could not be reached", "--clip-model DIR", "CAPEVAL_CLIP_MODEL") {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

// TestPullServerGoesAwayMidPull stops the file server between files and
// checks that the error still explains the lost hub.
func TestPullServerGoesAwayMidPull(t *testing.T) {
	h := newFakeHub(t)
	h.cdn.Close() // the listing works, the LFS downloads cannot
	var out bytes.Buffer
	c := newTestClient(t, h.URL(), &out, func(o *Options) { o.MaxAttempts = 2 })
	_, err := c.Pull(context.Background(), PullOptions{Repo: h.repo, Dir: filepath.Join(t.TempDir(), "m")})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Pull error %v, want ErrUnreachable", err)
	}
	for _, s := range []string{"onnx/text_model.onnx", "after 2 attempts", "--clip-model"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}

func TestPullCancelled(t *testing.T) {
	h := newFakeHub(t)
	h.set(func(h *fakeHub) { h.stallAt["onnx/text_model.onnx"], h.stalls["onnx/text_model.onnx"] = 1000, 1 })
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	c := newTestClient(t, h.URL(), &out, func(o *Options) { o.MaxAttempts = 3 })
	dir := filepath.Join(t.TempDir(), "m")
	done := make(chan error, 1)
	go func() {
		_, err := c.Pull(ctx, PullOptions{Repo: h.repo, Dir: dir})
		done <- err
	}()
	// Cancel once the stalled download has saved its first bytes.
	part := filepath.Join(dir, "onnx", "text_model.onnx.part")
	for i := 0; i < 500; i++ {
		if st, err := os.Stat(part); err == nil && st.Size() == 1000 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "run the pull again to resume") {
		t.Fatalf("Pull error %v, want context.Canceled with resume advice", err)
	}
	if st, err := os.Stat(part); err != nil || st.Size() != 1000 {
		t.Errorf("cancelled pull kept .part %v size %d, want 1000 bytes", err, sizeOf(st))
	}
}

func TestProgressOutput(t *testing.T) {
	tests := []struct {
		name        string
		interactive bool
		want        []string
		notWant     []string
	}{
		{name: "not a terminal", want: []string{"onnx/vision_model.onnx: 390.6 KiB in ", "/s)\n", "pulling Xenova/clip-vit-base-patch32 at main (commit 0123456789"}, notWant: []string{"\r"}},
		{name: "terminal", interactive: true, want: []string{"\r\x1b[Konnx/vision_model.onnx  ", "%", "\r\x1b[Konnx/vision_model.onnx: 390.6 KiB in "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFakeHub(t)
			var out bytes.Buffer
			c := newTestClient(t, h.URL(), &out, func(o *Options) { o.Interactive = tt.interactive })
			if _, err := c.Pull(context.Background(), PullOptions{Repo: h.repo, Dir: filepath.Join(t.TempDir(), "m")}); err != nil {
				t.Fatal(err)
			}
			got := out.String()
			for _, s := range tt.want {
				if !strings.Contains(got, s) {
					t.Errorf("progress lacks %q:\n%q", s, got)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(got, s) {
					t.Errorf("progress has %q:\n%q", s, got)
				}
			}
			if !tt.interactive {
				// One header line, then one line per file.
				if lines := strings.Count(got, "\n"); lines != 1+len(fp32Files) {
					t.Errorf("%d lines, want %d:\n%s", lines, 1+len(fp32Files), got)
				}
			}
		})
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func assertAbsent(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name))); err == nil {
			t.Errorf("%s exists, want it absent", name)
		}
	}
}

func sizeOf(fi os.FileInfo) int64 {
	if fi == nil {
		return -1
	}
	return fi.Size()
}
