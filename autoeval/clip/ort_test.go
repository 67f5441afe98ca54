package clip

import (
	"os"
	"testing"

	"capeval/internal/sharedtest"
)

// ortLibrary returns the ONNX Runtime library the tests run on, or skips
// (fails under CI=true) when it has not been provisioned.
func ortLibrary(t testing.TB) string {
	t.Helper()
	p := DefaultLibraryPath()
	if _, err := os.Stat(p); err != nil {
		sharedtest.Missing(t, "ONNX Runtime library %s is missing (%v): run `make onnxruntime` or set %s", p, err, LibraryEnv)
	}
	return p
}
