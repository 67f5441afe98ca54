//go:build unix

package hub

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPullRefusesAConcurrentPull(t *testing.T) {
	h := newFakeHub(t)
	dir := filepath.Join(t.TempDir(), "m")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	c := newTestClient(t, h.URL(), &out, nil)
	_, err = c.Pull(context.Background(), PullOptions{Repo: h.repo, Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "another pull is writing into") {
		t.Fatalf("Pull beside a held lock: %v, want a refusal", err)
	}
	if n := h.downloads(); n != 0 {
		t.Errorf("%d downloads while the folder was locked", n)
	}
	unlock()
	if _, err := c.Pull(context.Background(), PullOptions{Repo: h.repo, Dir: dir}); err != nil {
		t.Fatalf("Pull after the lock was released: %v", err)
	}
}
