package clip

import (
	"testing"

	"capeval/internal/sharedtest"
)

// ortLibrary returns the ONNX Runtime library the tests run on, or skips
// (fails under CI=true) when it has not been provisioned.
func ortLibrary(t testing.TB) string {
	t.Helper()
	return sharedtest.ONNXRuntimeLibrary(t, DefaultLibraryPath())
}
