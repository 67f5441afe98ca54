//go:build !linux

package clip

// lowerWorkerPriority is a no-op where per-thread priorities are not set.
func lowerWorkerPriority() {}
