//go:build unix

package hub

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockName is the file that a pull holds an exclusive flock on.
const lockName = ".capeval-pull.lock"

// lockDir takes an exclusive lock on dir so that two pulls into the same
// folder cannot append to the same .part files. flock is released by the
// kernel when the process dies, so a crash leaves no stale lock behind.
func lockDir(dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("hub: lock %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("hub: another pull is writing into %s; wait for it to finish", dir)
		}
		return nil, fmt.Errorf("hub: lock %s: %w", dir, err)
	}
	// The lock file stays: removing it would let a pull that opened it
	// just before lock an inode that a third pull no longer sees.
	return func() { f.Close() }, nil
}
