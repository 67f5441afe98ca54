package hub

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeHub is a local stand-in for the Hugging Face hub: the revision API,
// resolve URLs that redirect LFS files to a separate "CDN" server, Range
// requests answered with 206, and faults injected per file.
type fakeHub struct {
	t      testing.TB
	repo   string
	commit string
	files  map[string][]byte
	lfs    map[string]bool

	// token, when set, is required: requests without it get 401 GatedRepo.
	token string
	// noRange makes the CDN ignore Range headers and answer 200.
	noRange bool

	mu sync.Mutex
	// cutAt cuts the connection at that byte offset of the file, cuts[name]
	// times.
	cutAt map[string]int64
	cuts  map[string]int
	// stallAt stops sending at that offset until the client gives up,
	// stalls[name] times.
	stallAt map[string]int64
	stalls  map[string]int
	// corrupt flips a byte in what is served (the listing keeps the true
	// hashes).
	corrupt map[string]bool
	// extra appends bytes to what is served.
	extra map[string]int
	// unavailable answers 503 that many times.
	unavailable map[string]int
	// badRange answers a Range request with a 206 for another offset, that
	// many times.
	badRange map[string]int
	// missing files are listed but resolve answers 404.
	missing map[string]bool

	// log records "path range" for every download request that reached the
	// file server, and auth the Authorization header of each API call.
	log  []string
	auth []string

	api, cdn *httptest.Server
}

// testFile returns deterministic pseudo-random content.
func testFile(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 42))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// newFakeHub serves a CLIP export with fp32 and fp16 encoders; the encoders
// are LFS files of a few hundred kB so that cuts land mid-stream.
func newFakeHub(t testing.TB) *fakeHub {
	t.Helper()
	h := &fakeHub{
		t:      t,
		repo:   "Xenova/clip-vit-base-patch32",
		commit: "0123456789abcdef0123456789abcdef01234567",
		files: map[string][]byte{
			"onnx/text_model.onnx":        testFile(1, 300_000),
			"onnx/vision_model.onnx":      testFile(2, 400_000),
			"onnx/text_model_fp16.onnx":   testFile(3, 150_000),
			"onnx/vision_model_fp16.onnx": testFile(4, 200_000),
			"onnx/model.onnx":             testFile(5, 1000),
			"preprocessor_config.json":    []byte(`{"crop_size": 224, "image_mean": [0.48145466, 0.4578275, 0.40821073]}` + "\n"),
			"config.json":                 []byte(`{"model_type": "clip"}` + "\n"),
			"tokenizer.json":              []byte(`{"model": {"type": "BPE"}}` + "\n"),
			"vocab.json":                  []byte(`{"a</w>": 320}` + "\n"),
			"merges.txt":                  []byte("#version: 0.2\na b\n"),
			"README.md":                   []byte("# CLIP\n"),
		},
		lfs: map[string]bool{
			"onnx/text_model.onnx": true, "onnx/vision_model.onnx": true,
			"onnx/text_model_fp16.onnx": true, "onnx/vision_model_fp16.onnx": true,
			"onnx/model.onnx": true,
		},
		cutAt: map[string]int64{}, cuts: map[string]int{},
		stallAt: map[string]int64{}, stalls: map[string]int{},
		corrupt: map[string]bool{}, extra: map[string]int{},
		unavailable: map[string]int{}, badRange: map[string]int{},
		missing: map[string]bool{},
	}
	h.cdn = httptest.NewServer(http.HandlerFunc(h.serveCDN))
	h.api = httptest.NewServer(http.HandlerFunc(h.serveAPI))
	t.Cleanup(func() {
		h.api.Close()
		h.cdn.Close()
	})
	return h
}

func (h *fakeHub) URL() string { return h.api.URL }

func (h *fakeHub) listing() RepoInfo {
	info := RepoInfo{ID: h.repo, SHA: h.commit}
	for name, b := range h.files {
		f := File{Name: name, Size: int64(len(b))}
		if h.lfs[name] {
			sum := sha256.Sum256(b)
			f.LFS = &LFSInfo{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(b))}
			// The hub lists the blob id of the LFS pointer for LFS files; any
			// value will do, the client must check the sha256 instead.
			f.BlobID = GitBlobID([]byte("version https://git-lfs.github.com/spec/v1\n"))
		} else {
			f.BlobID = GitBlobID(b)
		}
		info.Siblings = append(info.Siblings, f)
	}
	sort.Slice(info.Siblings, func(i, j int) bool { return info.Siblings[i].Name < info.Siblings[j].Name })
	return info
}

// authorized answers 401 GatedRepo when a token is required and missing.
func (h *fakeHub) authorized(w http.ResponseWriter, r *http.Request) bool {
	if h.token == "" || r.Header.Get("Authorization") == "Bearer "+h.token {
		return true
	}
	w.Header().Set("X-Error-Code", "GatedRepo")
	w.Header().Set("X-Error-Message", "Access to model "+h.repo+" is restricted.")
	http.Error(w, "gated", http.StatusUnauthorized)
	return false
}

// set changes the hub's configuration under its lock, so that handler
// goroutines see the change (the race detector does not count a socket
// round trip as synchronization).
func (h *fakeHub) set(f func(h *fakeHub)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(h)
}

func (h *fakeHub) serveAPI(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	name, serve := h.routeLocked(w, r)
	h.mu.Unlock()
	if serve {
		h.serveFile(w, r, name)
	}
}

// routeLocked answers the API and resolve requests, or returns the name of
// a small file to serve directly.
func (h *fakeHub) routeLocked(w http.ResponseWriter, r *http.Request) (string, bool) {
	p := r.URL.EscapedPath()
	if rest, ok := strings.CutPrefix(p, "/api/models/"); ok {
		h.auth = append(h.auth, r.Header.Get("Authorization"))
		repo, rev, ok := strings.Cut(rest, "/revision/")
		if !ok || r.URL.Query().Get("blobs") != "true" {
			http.Error(w, "bad api path", http.StatusBadRequest)
			return "", false
		}
		if repo != h.repo {
			// The hub does not tell a missing repository from a private one.
			w.Header().Set("X-Error-Code", "RepoNotFound")
			w.Header().Set("X-Error-Message", "Repository not found")
			http.Error(w, "not found", http.StatusUnauthorized)
			return "", false
		}
		if !h.authorized(w, r) {
			return "", false
		}
		if rev != "main" && rev != h.commit {
			w.Header().Set("X-Error-Code", "RevisionNotFound")
			w.Header().Set("X-Error-Message", "Invalid rev id: "+rev)
			http.Error(w, "no revision", http.StatusNotFound)
			return "", false
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(h.listing())
		return "", false
	}
	prefix := "/" + h.repo + "/resolve/"
	rest, ok := strings.CutPrefix(p, prefix)
	if !ok {
		http.NotFound(w, r)
		return "", false
	}
	if !h.authorized(w, r) {
		return "", false
	}
	rev, name, _ := strings.Cut(rest, "/")
	if rev != h.commit {
		h.t.Errorf("resolve asked for revision %q, want the commit %q", rev, h.commit)
	}
	if _, ok := h.files[name]; !ok || h.missing[name] {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		w.Header().Set("X-Error-Message", "Entry not found")
		http.Error(w, "no entry", http.StatusNotFound)
		return "", false
	}
	if h.lfs[name] {
		// LFS content lives on another host behind a signed URL.
		http.Redirect(w, r, h.cdn.URL+"/blobs/"+name+"?signature=x", http.StatusFound)
		return "", false
	}
	return name, true
}

func (h *fakeHub) serveCDN(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, "/blobs/")
	if !ok || r.URL.Query().Get("signature") != "x" {
		http.Error(w, "bad signature", http.StatusForbidden)
		return
	}
	h.serveFile(w, r, name)
}

// serveFile answers a download, honouring Range and injecting the faults.
func (h *fakeHub) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	h.mu.Lock()
	h.log = append(h.log, name+" "+r.Header.Get("Range"))
	content := append([]byte(nil), h.files[name]...)
	if h.corrupt[name] {
		content[len(content)/2] ^= 0xff
	}
	content = append(content, make([]byte, h.extra[name])...)
	noRange := h.noRange
	unavailable := h.unavailable[name] > 0
	if unavailable {
		h.unavailable[name]--
	}
	badRange := h.badRange[name] > 0 && r.Header.Get("Range") != ""
	if badRange {
		h.badRange[name]--
	}
	h.mu.Unlock()
	if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "capeval") {
		h.t.Errorf("download of %s sent User-Agent %q", name, ua)
	}
	if r.Header.Get("Accept-Encoding") != "identity" {
		h.t.Errorf("download of %s sent Accept-Encoding %q, want identity", name, r.Header.Get("Accept-Encoding"))
	}
	if unavailable {
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}

	start := int64(0)
	status := http.StatusOK
	if rg := r.Header.Get("Range"); rg != "" && !noRange {
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"), 10, 64)
		if err != nil {
			http.Error(w, "bad range", http.StatusBadRequest)
			return
		}
		if n >= int64(len(content)) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(content)))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		start, status = n, http.StatusPartialContent
		shown := start
		if badRange {
			shown = 0
		}
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", shown, len(content)-1, len(content)))
	}
	body := content[start:]
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(status)

	h.mu.Lock()
	cut, stall := int64(-1), int64(-1)
	if h.cuts[name] > 0 && h.cutAt[name] > start {
		h.cuts[name]--
		cut = h.cutAt[name] - start
	}
	if h.stalls[name] > 0 && h.stallAt[name] > start {
		h.stalls[name]--
		stall = h.stallAt[name] - start
	}
	h.mu.Unlock()
	switch {
	case cut >= 0:
		w.Write(body[:cut])
		w.(http.Flusher).Flush()
		// Dropping the connection with the body unfinished is what a
		// network cut looks like to the client.
		panic(http.ErrAbortHandler)
	case stall >= 0:
		w.Write(body[:stall])
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		panic(http.ErrAbortHandler)
	}
	w.Write(body)
}

// ranges returns the Range headers sent for name, "" for none.
func (h *fakeHub) ranges(name string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, l := range h.log {
		if n, rg, _ := strings.Cut(l, " "); n == name {
			out = append(out, rg)
		}
	}
	return out
}

// authHeaders returns the Authorization headers the API calls carried.
func (h *fakeHub) authHeaders() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.auth)
}

// downloads counts the download requests that reached the file server.
func (h *fakeHub) downloads() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.log)
}
