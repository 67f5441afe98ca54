// Package hub downloads CLIP model folders from a Hugging Face hub endpoint.
//
// A pull asks the hub API for the file listing of one revision (sizes, git
// blob ids and LFS sha256 sums), picks the files of the Hugging Face ONNX
// export layout for the chosen variant, downloads each one to "<file>.part"
// with HTTP range resume, verifies its size and hash, renames it into place,
// and finally writes a small manifest, capeval-model.json, that records which
// ONNX files the loader should use:
//
//	{
//	  "format": 1,
//	  "repo": "Xenova/clip-vit-base-patch32",
//	  "revision": "main",
//	  "commit": "<40 hex digits>",
//	  "endpoint": "https://huggingface.co",
//	  "variant": "fp16",
//	  "text_model": "onnx/text_model_fp16.onnx",
//	  "vision_model": "onnx/vision_model_fp16.onnx",
//	  "files": [{"path": "tokenizer.json", "size": 2224003, "sha256": "…"}, …]
//	}
//
// Paths in the manifest are relative to the folder and use forward slashes.
// Files keep their hub names; the manifest, written last, is what marks a
// folder as complete.
package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// DefaultEndpoint is the public Hugging Face hub.
const DefaultEndpoint = "https://huggingface.co"

// DefaultRepo is the CLIP ViT-B/32 ONNX export that capeval pulls when no
// repository is named.
const DefaultRepo = "Xenova/clip-vit-base-patch32"

// DefaultRevision is the branch pulled when no revision is named.
const DefaultRevision = "main"

// Sentinel errors. The errors this package returns wrap one of them, so
// callers can branch with errors.Is while showing the full message.
var (
	// ErrUnreachable means no HTTP answer came back at all: DNS failure,
	// refused or reset connection, timeout.
	ErrUnreachable = errors.New("hub could not be reached")
	// ErrUnauthorized means the hub refused access (401/403): a private or
	// gated repository, or a bad token.
	ErrUnauthorized = errors.New("access refused by the hub")
	// ErrNotFound means the repository, revision or file does not exist.
	ErrNotFound = errors.New("not found on the hub")
	// ErrChecksum means a downloaded file did not match its listed size or hash.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrLayout means the repository or folder is not a CLIP export in the
	// Hugging Face ONNX layout, or lacks the requested variant.
	ErrLayout = errors.New("not a CLIP ONNX model folder")
)

// localFolderHint tells a user without network how to go on; it is appended
// to every ErrUnreachable message because that is the moment they need it.
const localFolderHint = "check the network (or HTTPS_PROXY), or copy a model folder in the Hugging Face " +
	"ONNX layout to this machine and use it with --clip-model DIR or CAPEVAL_CLIP_MODEL=DIR"

// Options configures a Client. The zero value talks to DefaultEndpoint
// without a token and prints nothing.
type Options struct {
	// Endpoint is the hub base URL; empty means DefaultEndpoint. A path
	// prefix (a mirror under /hf) is kept.
	Endpoint string
	// Token, when set, is sent as "Authorization: Bearer <token>".
	Token string
	// UserAgent names the client to the hub; empty means "capeval".
	UserAgent string
	// HTTPClient sends the requests; nil means a client with connect and
	// response-header timeouts that follows redirects and honours the proxy
	// environment variables. The client is used through a copy whose
	// redirect policy also drops the token where Go would forward it (see
	// withCredentialRedirectPolicy); its own CheckRedirect still decides.
	HTTPClient *http.Client
	// Progress receives progress lines; nil means silent.
	Progress io.Writer
	// Interactive redraws one progress line in place (for a terminal);
	// otherwise one line is written per file.
	Interactive bool
	// MaxAttempts bounds the tries per file when a download fails in a way
	// that may pass (connection cut, stall, 5xx, 429); each retry resumes
	// from the bytes already saved. Zero means 4; 1 means no retry.
	MaxAttempts int
	// RetryWait is the pause before the first retry, doubled after each;
	// zero means one second. Tests set it to a nanosecond.
	RetryWait time.Duration
	// StallTimeout abandons an attempt whose body delivers no byte for this
	// long; zero means one minute.
	StallTimeout time.Duration
}

// Client talks to one hub endpoint. It is safe for sequential use; Pull
// downloads one file at a time.
type Client struct {
	endpoint    string
	token       string
	userAgent   string
	http        *http.Client
	progress    io.Writer
	interactive bool
	attempts    int
	retryWait   time.Duration
	stall       time.Duration
	now         func() time.Time
	drawn       bool // an unfinished interactive progress line is on screen
}

// NewClient checks the options and returns a Client.
func NewClient(opts Options) (*Client, error) {
	endpoint := strings.TrimRight(opts.Endpoint, "/")
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("hub: endpoint %q is not an http(s) URL", opts.Endpoint)
	}
	c := &Client{
		endpoint:    endpoint,
		token:       opts.Token,
		userAgent:   opts.UserAgent,
		http:        opts.HTTPClient,
		progress:    opts.Progress,
		interactive: opts.Interactive,
		attempts:    opts.MaxAttempts,
		retryWait:   opts.RetryWait,
		stall:       opts.StallTimeout,
		now:         time.Now,
	}
	if c.http == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// No overall timeout: model files are hundreds of MB. A hub that
		// accepts the connection but never answers is caught here, and a
		// body that stops flowing by the stall timer.
		tr.ResponseHeaderTimeout = time.Minute
		c.http = &http.Client{Transport: tr}
	}
	c.http = withCredentialRedirectPolicy(c.http)
	if c.userAgent == "" {
		c.userAgent = "capeval"
	}
	if c.progress == nil {
		c.progress = io.Discard
	}
	if c.attempts <= 0 {
		c.attempts = 4
	}
	if c.retryWait <= 0 {
		c.retryWait = time.Second
	}
	if c.stall <= 0 {
		c.stall = time.Minute
	}
	return c, nil
}

// Endpoint returns the base URL the client talks to.
func (c *Client) Endpoint() string { return c.endpoint }

// RepoInfo is the part of the hub's model description that a pull needs.
type RepoInfo struct {
	// ID is the repository name as the hub spells it.
	ID string `json:"id"`
	// SHA is the commit the revision resolved to; files are downloaded at
	// this commit so that a branch moving during a pull cannot mix versions.
	SHA string `json:"sha"`
	// Siblings lists every file of the revision.
	Siblings []File `json:"siblings"`
}

// File is one entry of RepoInfo.Siblings.
type File struct {
	// Name is the path inside the repository, with forward slashes.
	Name string `json:"rfilename"`
	// Size is the file size in bytes.
	Size int64 `json:"size"`
	// BlobID is the git blob id: sha1("blob <size>\x00" + content).
	BlobID string `json:"blobId"`
	// LFS is set for files stored in Git LFS; its SHA256 is the content hash.
	LFS *LFSInfo `json:"lfs,omitempty"`
}

// LFSInfo holds the Git LFS pointer fields of a File.
type LFSInfo struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// size returns the content size, preferring the LFS pointer's when present.
func (f File) size() int64 {
	if f.LFS != nil && f.LFS.Size > 0 {
		return f.LFS.Size
	}
	return f.Size
}

// repoPattern accepts "name" and "owner/name" with the characters the hub
// allows; anything else would be spliced into URLs and folder names.
var repoPattern = regexp.MustCompile(`^(?:[A-Za-z0-9][A-Za-z0-9._-]*/)?[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ValidateRepo checks that repo is a hub repository id ("owner/name").
func ValidateRepo(repo string) error {
	if !repoPattern.MatchString(repo) || strings.Contains(repo, "..") || strings.HasSuffix(repo, ".") {
		return fmt.Errorf("hub: %q is not a repository id of the form owner/name", repo)
	}
	return nil
}

// FolderName returns the folder name capeval uses for repo: "owner--name".
func FolderName(repo string) string {
	return strings.ReplaceAll(repo, "/", "--")
}

// Info fetches the file listing of repo at revision, with sizes and hashes.
func (c *Client) Info(ctx context.Context, repo, revision string) (*RepoInfo, error) {
	if err := ValidateRepo(repo); err != nil {
		return nil, err
	}
	if revision == "" {
		revision = DefaultRevision
	}
	u := c.endpoint + "/api/models/" + repo + "/revision/" + url.PathEscape(revision) + "?blobs=true"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("hub: list %s at %s: %w", repo, revision, err)
	}
	req.Header.Set("Accept", "application/json")
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, c.statusError(resp, repo, revision, "")
	}
	var info RepoInfo
	// The listing of a big repository is a few hundred kB; the limit only
	// guards against a misconfigured endpoint streaming something else.
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&info); err != nil {
		return nil, fmt.Errorf("hub: list %s at %s: decode %s: %w", repo, revision, u, err)
	}
	if info.SHA == "" {
		return nil, fmt.Errorf("hub: list %s at %s: the answer of %s names no commit", repo, revision, u)
	}
	return &info, nil
}

// authorize adds the User-Agent, and the bearer token when one is
// configured.
func (c *Client) authorize(req *http.Request) {
	req.Header.Set("User-Agent", c.userAgent)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
}

// transportError turns a failed round trip into ErrUnreachable with advice,
// unless the caller cancelled, which is reported as such.
func (c *Client) transportError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("hub: interrupted: %w", ctxErr)
	}
	return errorOf(ErrUnreachable, "hub: the hub at %s could not be reached: %w; %s", c.endpoint, unwrapURLError(err), localFolderHint)
}

// unwrapURLError drops the "Get <url>:" prefix that *url.Error adds, since
// the message already names the endpoint.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// statusError explains a non-success HTTP answer. file is empty for the
// listing request. The hub sets X-Error-Code (RepoNotFound, RevisionNotFound,
// EntryNotFound, GatedRepo) and answers 401 rather than 404 for a repository
// it will not reveal, so the code header is preferred over the status.
func (c *Client) statusError(resp *http.Response, repo, revision, file string) error {
	code := resp.Header.Get("X-Error-Code")
	detail := resp.Header.Get("X-Error-Message")
	if detail == "" {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		detail = strings.TrimSpace(string(body))
	}
	if detail != "" {
		detail = " (" + detail + ")"
	}
	status := fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	tokenAdvice := "set HF_TOKEN to a token of an account that can read it"
	if c.token != "" {
		tokenAdvice = "check that the token in HF_TOKEN is valid and can read it"
	}
	switch {
	case code == "GatedRepo":
		return errorOf(ErrUnauthorized, "hub: %s is a gated repository: accept its conditions at %s/%s and %s%s",
			repo, c.endpoint, repo, tokenAdvice, detail)
	case code == "RepoNotFound":
		return errorOf(ErrNotFound, "hub: repository %s was not found at %s (a private repository also reads as not found: %s)%s",
			repo, c.endpoint, tokenAdvice, detail)
	case code == "RevisionNotFound":
		return errorOf(ErrNotFound, "hub: revision %q was not found in %s%s", revision, repo, detail)
	case code == "EntryNotFound" || (resp.StatusCode == http.StatusNotFound && file != ""):
		return errorOf(ErrNotFound, "hub: file %s was not found in %s at %s%s", file, repo, revision, detail)
	case resp.StatusCode == http.StatusNotFound:
		return errorOf(ErrNotFound, "hub: repository %s or its revision %q was not found at %s%s",
			repo, revision, c.endpoint, detail)
	case resp.StatusCode == http.StatusUnauthorized:
		return errorOf(ErrUnauthorized, "hub: %s answered %s for %s: it may be private or gated; %s%s",
			c.endpoint, status, repo, tokenAdvice, detail)
	case resp.StatusCode == http.StatusForbidden:
		return errorOf(ErrUnauthorized, "hub: %s answered %s for %s: the account lacks access (a gated repository needs its conditions accepted); %s%s",
			c.endpoint, status, repo, tokenAdvice, detail)
	}
	what := "listing " + repo
	if file != "" {
		what = "downloading " + file + " from " + repo
	}
	return &retryableError{
		retry: resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500,
		err:   fmt.Errorf("hub: %s: %s answered %s%s", what, c.endpoint, status, detail),
	}
}

// retryableError marks a failure that another attempt may get past.
type retryableError struct {
	retry bool
	err   error
}

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

// isRetryable reports whether err may pass on another attempt.
func isRetryable(err error) bool {
	var re *retryableError
	return errors.As(err, &re) && re.retry
}

// kindError gives a message that reads as a sentence its sentinel kind,
// so errors.Is works without the sentinel's text in the message.
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// errorOf formats a message (with %w for causes, as fmt.Errorf) of the
// given kind.
func errorOf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, err: fmt.Errorf(format, args...)}
}
