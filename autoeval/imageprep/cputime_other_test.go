//go:build !linux

package imageprep

import "time"

// cpuClock falls back to wall time where thread CPU time is not available.
func cpuClock() (now func() time.Duration, done func()) {
	start := time.Now()
	return func() time.Duration { return time.Since(start) }, func() {}
}
