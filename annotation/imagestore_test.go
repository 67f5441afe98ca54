package annotation_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"capeval/annotation"
)

func TestImageStore(t *testing.T) {
	dataDir := t.TempDir()
	st := annotation.NewImageStore(dataDir)
	content := pngBytes(t, 7, 2, 2)
	s := sha256.Sum256(content)
	sum := hex.EncodeToString(s[:])
	key := annotation.StorageKey(sum, "png")
	if key != sum[:2]+"/"+sum+".png" {
		t.Fatalf("key %q", key)
	}

	tests := []struct {
		name        string
		content     []byte
		sum         string
		limit       int64
		wantWritten bool
		wantErr     string
	}{
		{"first put writes", content, sum, 1 << 20, true, ""},
		{"second put finds it", content, sum, 1 << 20, false, ""},
		{"other bytes than the hash", []byte("changed"), strings.Repeat("ab", 32), 1 << 20, false, "the content changed since it was checked"},
		{"over the limit", bytes.Repeat([]byte{1}, 100), strings.Repeat("cd", 32), 99, false, "more than 99 bytes"},
		{"malformed hash", content, "../../etc", 1 << 20, false, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			written, err := st.Put(bytes.NewReader(tt.content), tt.sum, "png", tt.limit)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if written != tt.wantWritten {
				t.Errorf("written %v, want %v", written, tt.wantWritten)
			}
		})
	}
	// Only the good file is there: no temporary leftovers, nothing for the
	// refused puts.
	if files := storedFiles(t, dataDir); len(files) != 1 || files[0] != key {
		t.Errorf("stored files %q, want [%s]", files, key)
	}
	p, err := st.Path(key)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p); err != nil || !bytes.Equal(b, content) || !st.Has(key) {
		t.Errorf("stored content differs (%v)", err)
	}
	for _, bad := range []string{"../x.png", sum[:2] + "/" + sum + ".exe", "zz/" + sum + ".png", sum + ".png"} {
		if _, err := st.Path(bad); err == nil || st.Has(bad) {
			t.Errorf("Path(%q) accepted", bad)
		}
	}
}
