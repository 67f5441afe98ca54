package server

import (
	"encoding/json"
	"strings"
	"testing"

	"capeval/annotation"
)

// TestTaskWithoutImageFile: a task of an image imported without its file
// has no image URL (the rating page says the image is missing) rather
// than one that can only fail.
func TestTaskWithoutImageFile(t *testing.T) {
	for _, tt := range []struct{ sha, want string }{
		{"", `"image_url":""`},
		{strings.Repeat("a", 64), `"image_url":"/api/v1/images/` + strings.Repeat("a", 64) + `"`},
	} {
		b, err := json.Marshal(viewTask(&annotation.TaskView{ImageSHA256: tt.sha, Caption: "a dog"}))
		if err != nil || !strings.Contains(string(b), tt.want) {
			t.Errorf("sha %q: %s (%v), want %s", tt.sha, b, err, tt.want)
		}
	}
}
