package clip

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// DefaultLibraryPath returns where `make onnxruntime` caches ONNX Runtime
// 1.30.0: the library an encoder loads when its Options name none. The
// configured library (CAPEVAL_ONNXRUNTIME_LIB) comes in through
// Options.LibraryPath, from server.Config.
func DefaultLibraryPath() string {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "capeval", "onnxruntime-1.30.0", "libonnxruntime.so.1")
}

// The ONNX Runtime environment is global to the process (onnxruntime_go keeps
// one, and ONNX Runtime itself allows one), so every encoder shares it: the
// first acquire initializes it, the last release destroys it.
var (
	envMu      sync.Mutex
	envRefs    int
	envLibPath string
	envPlugins map[string]string // registration name → library path
)

// acquireEnv initializes the environment from libPath, or takes another
// reference to it when it is up; a second library path is refused, since one
// process cannot load two ONNX Runtimes.
func acquireEnv(libPath string) error {
	envMu.Lock()
	defer envMu.Unlock()
	if envRefs > 0 {
		if libPath != envLibPath {
			return fmt.Errorf("clip: ONNX Runtime already loaded from %s, cannot also load %s", envLibPath, libPath)
		}
		envRefs++
		return nil
	}
	if _, err := os.Stat(libPath); err != nil {
		return fmt.Errorf("clip: ONNX Runtime library (run `make onnxruntime` or set CAPEVAL_ONNXRUNTIME_LIB): %w", err)
	}
	ort.SetSharedLibraryPath(libPath)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("clip: initialize ONNX Runtime from %s: %w", libPath, err)
	}
	if err := bridgeOpen(libPath); err != nil {
		_ = ort.DestroyEnvironment()
		return err
	}
	envRefs, envLibPath, envPlugins = 1, libPath, map[string]string{}
	return nil
}

// releaseEnv drops one reference, destroying the environment with the last.
func releaseEnv() error {
	envMu.Lock()
	defer envMu.Unlock()
	if envRefs == 0 {
		return errors.New("clip: ONNX Runtime environment released more often than acquired")
	}
	envRefs--
	if envRefs > 0 {
		return nil
	}
	bridgeClose()
	envLibPath, envPlugins = "", nil
	if err := ort.DestroyEnvironment(); err != nil {
		return fmt.Errorf("clip: destroy ONNX Runtime environment: %w", err)
	}
	return nil
}

// registerPlugin registers an execution-provider plugin library once per
// environment. The caller holds a reference.
func registerPlugin(name, path string) error {
	envMu.Lock()
	defer envMu.Unlock()
	if prev, ok := envPlugins[name]; ok {
		if prev != path {
			return fmt.Errorf("clip: execution provider %s already registered from %s", name, prev)
		}
		return nil
	}
	if err := ort.RegisterExecutionProviderLibrary(name, path); err != nil {
		return fmt.Errorf("clip: register execution provider library %s: %w", path, err)
	}
	envPlugins[name] = path
	return nil
}

// EPDevices lists the execution-provider devices ONNX Runtime offers with the
// library at libPath, after registering the given plugins (name → path). The
// result describes the devices (for `capeval` to print, say); an encoder picks
// its own device, so nothing here outlives the call.
func EPDevices(libPath string, plugins map[string]string) ([]EPDevice, error) {
	if err := acquireEnv(libPath); err != nil {
		return nil, err
	}
	defer releaseEnv()
	for name, path := range plugins {
		if err := registerPlugin(name, path); err != nil {
			return nil, err
		}
	}
	return listEPDevices()
}
