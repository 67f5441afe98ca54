package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Result describes one file after Download.
type Result struct {
	// Path is where the file now lies.
	Path string
	// Size is its size in bytes.
	Size int64
	// SHA256 is the hex sha256 of its content, computed locally.
	SHA256 string
	// Skipped is true when the file was already present and verified.
	Skipped bool
}

// errStalled cancels an attempt whose body stopped delivering bytes.
var errStalled = errors.New("no data received within the stall timeout")

// Download fetches one file of repo at revision (a branch, tag or commit;
// Pull passes the commit) into dest and verifies it against f. A file
// already at dest with the right size and hash is kept. Bytes arrive in
// dest+".part", which survives failures so that the next attempt or the
// next run continues with a Range request; a verified .part is renamed onto
// dest, and a .part that fails verification is removed.
func (c *Client) Download(ctx context.Context, repo, revision string, f File, dest string) (Result, error) {
	want := f.size()
	if ok, sum := c.alreadyThere(dest, f); ok {
		c.printf("%s: already present (%s, verified)\n", f.Name, FormatBytes(want))
		return Result{Path: dest, Size: want, SHA256: sum, Skipped: true}, nil
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return Result{}, fmt.Errorf("hub: %s: %w", f.Name, err)
	}
	part := dest + ".part"
	// Bytes kept from an earlier run may belong to another revision of the
	// file; if the result does not verify, they get one fresh download
	// before the mismatch is reported.
	inherited := false
	if st, err := os.Stat(part); err == nil && st.Size() > 0 {
		inherited = true
	}
	var sum string
	for {
		if err := c.fetchWithRetries(ctx, repo, revision, f, part); err != nil {
			return Result{}, err
		}
		var err error
		sum, err = verify(part, f)
		if err == nil {
			break
		}
		// A .part that is complete but wrong cannot be repaired by
		// resuming, so it goes.
		os.Remove(part)
		if !inherited {
			return Result{}, fmt.Errorf("%w; the download was removed", err)
		}
		inherited = false
		c.printf("%s: the bytes kept from an earlier run do not verify (%v); downloading the file again\n", f.Name, err)
	}
	if err := os.Rename(part, dest); err != nil {
		return Result{}, fmt.Errorf("hub: %s: %w", f.Name, err)
	}
	syncDir(filepath.Dir(dest))
	return Result{Path: dest, Size: want, SHA256: sum}, nil
}

// fetchWithRetries runs fetch until part is complete, retrying failures
// that may pass with a growing pause.
func (c *Client) fetchWithRetries(ctx context.Context, repo, revision string, f File, part string) error {
	wait := c.retryWait
	for attempt := 1; ; attempt++ {
		err := c.fetch(ctx, repo, revision, f, part)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("hub: %s: interrupted, run the pull again to resume: %w", f.Name, ctx.Err())
		case !isRetryable(err):
			return err
		case attempt >= c.attempts && attempt > 1:
			return fmt.Errorf("%w (gave up on %s after %d attempts; run the pull again to resume)", err, f.Name, attempt)
		case attempt >= c.attempts:
			return fmt.Errorf("%w (while downloading %s; run the pull again to resume)", err, f.Name)
		}
		c.endLine()
		c.printf("%s: %v; retrying in %s (attempt %d of %d)\n", f.Name, err, wait, attempt+1, c.attempts)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return fmt.Errorf("hub: %s: interrupted, run the pull again to resume: %w", f.Name, ctx.Err())
		}
		wait *= 2
	}
}

// alreadyThere reports whether dest already holds f, and its sha256.
func (c *Client) alreadyThere(dest string, f File) (bool, string) {
	st, err := os.Stat(dest)
	if err != nil || !st.Mode().IsRegular() || st.Size() != f.size() {
		return false, ""
	}
	sum, err := verify(dest, f)
	if err != nil {
		c.printf("%s: present but damaged (%v); downloading it again\n", f.Name, err)
		return false, ""
	}
	return true, sum
}

// fetch performs one attempt: it continues part from its current length, or
// restarts it, until it holds f.size() bytes. It does not verify.
func (c *Client) fetch(ctx context.Context, repo, revision string, f File, part string) error {
	want := f.size()
	var have int64
	if st, err := os.Stat(part); err == nil {
		have = st.Size()
	}
	if have > want {
		os.Remove(part)
		have = 0
	}
	if have == want && want > 0 {
		return nil // complete from an earlier run; verification follows
	}

	reqCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, c.resolveURL(repo, revision, f.Name), nil)
	if err != nil {
		return fmt.Errorf("hub: %s: %w", f.Name, err)
	}
	c.authorize(req)
	// Ask for the bytes as stored: with a transparent gzip encoding the
	// Range offsets would count compressed bytes and resume would corrupt.
	req.Header.Set("Accept-Encoding", "identity")
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() == nil && context.Cause(reqCtx) == errStalled {
			err = errStalled
		}
		return &retryableError{retry: true, err: c.transportError(ctx, err)}
	}
	defer resp.Body.Close()

	flags := os.O_WRONLY | os.O_CREATE
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		if start, ok := contentRangeStart(resp.Header.Get("Content-Range")); !ok || start != have {
			// The server sent some other range; appending it would corrupt
			// the file, so start over on the next attempt.
			os.Remove(part)
			return &retryableError{retry: true, err: fmt.Errorf("hub: %s: asked for bytes from %d, got Content-Range %q",
				f.Name, have, resp.Header.Get("Content-Range"))}
		}
		flags |= os.O_APPEND
	case resp.StatusCode == http.StatusOK:
		// A server that ignores Range sends the whole file again.
		flags |= os.O_TRUNC
		have = 0
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		os.Remove(part)
		return &retryableError{retry: true, err: fmt.Errorf("hub: %s: the server refused to resume at byte %d", f.Name, have)}
	default:
		return c.statusError(resp, repo, revision, f.Name)
	}

	out, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return fmt.Errorf("hub: %s: %w", f.Name, err)
	}
	bar := c.newBar(f.Name, want, have)
	timer := time.AfterFunc(c.stall, func() { cancel(errStalled) })
	defer timer.Stop()
	body := &stallReader{r: resp.Body, timer: timer, d: c.stall}
	// Read at most one byte more than needed, to notice an oversized body.
	n, copyErr := io.Copy(io.MultiWriter(out, bar), io.LimitReader(body, want-have+1))
	var closeErr error
	if copyErr == nil && have+n == want {
		// Flush to disk before the rename that follows verification, so a
		// crash cannot leave a renamed file with missing content.
		closeErr = out.Sync()
	}
	if err := out.Close(); closeErr == nil {
		closeErr = err
	}
	bar.finish(copyErr == nil && have+n == want)
	if copyErr != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("hub: %s: %w", f.Name, ctx.Err())
		}
		if context.Cause(reqCtx) == errStalled {
			copyErr = errStalled
		}
		return &retryableError{retry: true, err: fmt.Errorf("hub: %s: connection lost after %s of %s: %w",
			f.Name, FormatBytes(have+n), FormatBytes(want), unwrapURLError(copyErr))}
	}
	if closeErr != nil {
		return fmt.Errorf("hub: %s: %w", f.Name, closeErr)
	}
	switch got := have + n; {
	case got > want:
		os.Remove(part)
		return errorOf(ErrChecksum, "hub: checksum mismatch: %s: the server sent more than the %d bytes the listing gives", f.Name, want)
	case got < want:
		return &retryableError{retry: true, err: fmt.Errorf("hub: %s: the server closed the body after %s of %s",
			f.Name, FormatBytes(got), FormatBytes(want))}
	}
	return nil
}

// resolveURL is the download URL of a file; each path segment is escaped.
func (c *Client) resolveURL(repo, revision, name string) string {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return c.endpoint + "/" + repo + "/resolve/" + url.PathEscape(revision) + "/" + strings.Join(segs, "/")
}

// contentRangeStart parses the first byte offset of "bytes START-END/TOTAL".
func contentRangeStart(h string) (int64, bool) {
	rest, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return 0, false
	}
	start, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(start), 10, 64)
	return n, err == nil
}

// stallReader pushes the stall deadline back each time bytes arrive.
type stallReader struct {
	r     io.Reader
	timer *time.Timer
	d     time.Duration
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.timer.Reset(s.d)
	}
	return n, err
}

// verify checks path against the size and hash that f lists and returns
// the file's sha256. LFS files are checked by their sha256; small files
// kept in git directly are checked by their git blob id.
func verify(path string, f File) (string, error) {
	file, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hub: verify %s: %w", f.Name, err)
	}
	defer file.Close()
	want := f.size()
	s256 := sha256.New()
	var blob hash.Hash
	w := io.Writer(s256)
	if f.LFS == nil && f.BlobID != "" {
		blob = newGitBlobHash(want)
		w = io.MultiWriter(s256, blob)
	}
	n, err := io.Copy(w, file)
	if err != nil {
		return "", fmt.Errorf("hub: verify %s: %w", f.Name, err)
	}
	if n != want {
		return "", errorOf(ErrChecksum, "hub: checksum mismatch: %s has %d bytes, the hub lists %d", f.Name, n, want)
	}
	sum := hex.EncodeToString(s256.Sum(nil))
	switch {
	case f.LFS != nil && f.LFS.SHA256 != "":
		if !strings.EqualFold(sum, f.LFS.SHA256) {
			return "", errorOf(ErrChecksum, "hub: checksum mismatch: %s has sha256 %s, the hub lists %s", f.Name, sum, f.LFS.SHA256)
		}
	case blob != nil:
		if got := hex.EncodeToString(blob.Sum(nil)); !strings.EqualFold(got, f.BlobID) {
			return "", errorOf(ErrChecksum, "hub: checksum mismatch: %s has git blob id %s, the hub lists %s", f.Name, got, f.BlobID)
		}
	default:
		// Neither hash listed: the size check above is all there is.
	}
	return sum, nil
}

// newGitBlobHash returns a sha1 primed with git's blob header, so that
// writing the content yields the git object id of a file of that size.
func newGitBlobHash(size int64) hash.Hash {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", size)
	return h
}

// GitBlobID returns the git object id of content, as the hub lists it in
// "blobId" for files that are not in LFS.
func GitBlobID(content []byte) string {
	h := newGitBlobHash(int64(len(content)))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

// syncDir makes a rename durable; failure only weakens crash safety, so it
// is ignored.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
