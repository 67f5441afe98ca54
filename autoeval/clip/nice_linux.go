package clip

import (
	"runtime"
	"syscall"
)

// lowerWorkerPriority pins the calling goroutine to its OS thread and gives
// that thread the lowest CPU priority (nice 19). The goroutine must not
// unlock: when it returns, Go ends the thread instead of reusing it, so the
// lowered priority never leaks to other goroutines.
func lowerWorkerPriority() {
	runtime.LockOSThread()
	// Failing only costs the overlap's benefit, so the error is ignored.
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 19)
}
