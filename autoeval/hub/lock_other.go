//go:build !unix

package hub

// lockName is the file that a pull holds a lock on where locking exists.
const lockName = ".capeval-pull.lock"

// lockDir does nothing where flock is missing: concurrent pulls into one
// folder are then the user's to avoid.
func lockDir(dir string) (unlock func(), err error) { return func() {}, nil }
