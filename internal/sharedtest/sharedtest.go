// Package sharedtest locates the licensed reference data that lives beside the
// project in ../shared (it is never copied into the repository). Conformance
// tests call Dir or Path: where the folder is missing they skip with a message,
// except under CI=true, where a missing folder is a failure.
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Root returns the path of the shared folder: $CAPEVAL_SHARED when set,
// otherwise ../shared next to the module root. It does not check existence.
func Root() string {
	if dir := os.Getenv("CAPEVAL_SHARED"); dir != "" {
		return dir
	}
	wd, err := os.Getwd()
	if err != nil {
		return filepath.Join("..", "shared")
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(dir), "shared")
		}
		if filepath.Dir(dir) == dir {
			return filepath.Join(wd, "..", "shared")
		}
	}
}

// Path returns Root joined with elem, after checking that it exists. A missing
// path skips the test, or fails it when CI=true.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{Root()}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		Missing(t, "reference data %s is missing (%v); it lives in ../shared beside the checkout", p, err)
	}
	return p
}

// Missing reports a missing test dependency: under CI=true it fails the test,
// elsewhere it skips it with the message.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and a test dependency is missing: "+format, args...)
	}
	t.Skipf(format, args...)
}

// ONNXRuntimeLibraryEnv names the ONNX Runtime library for the tests; `make
// test` sets it to the library `make onnxruntime` provisions. The program
// itself reads it only through server.Config.
const ONNXRuntimeLibraryEnv = "CAPEVAL_ONNXRUNTIME_LIB"

// ONNXRuntimeLibrary returns the ONNX Runtime library that tests load:
// $CAPEVAL_ONNXRUNTIME_LIB, else fallback (where `make onnxruntime` caches
// it: clip.DefaultLibraryPath). A missing library skips the test, or fails
// it when CI=true.
func ONNXRuntimeLibrary(t testing.TB, fallback string) string {
	t.Helper()
	p := os.Getenv(ONNXRuntimeLibraryEnv)
	if p == "" {
		p = fallback
	}
	if _, err := os.Stat(p); err != nil {
		Missing(t, "ONNX Runtime library %s is missing (%v): run `make onnxruntime` or set %s", p, err, ONNXRuntimeLibraryEnv)
	}
	return p
}
