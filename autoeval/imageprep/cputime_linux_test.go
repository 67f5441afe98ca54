//go:build linux

package imageprep

import (
	"runtime"
	"syscall"
	"time"
)

// rusageThread is Linux's RUSAGE_THREAD, which package syscall does not name.
const rusageThread = 1

// cpuClock returns a clock of the CPU time of the calling thread, which is
// locked to it, and a function that unlocks it. On a shared machine CPU time
// per image is steadier than wall time, and it is what "per core" means.
func cpuClock() (now func() time.Duration, done func()) {
	runtime.LockOSThread()
	return func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(rusageThread, &ru); err != nil {
			panic(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}, runtime.UnlockOSThread
}
