//go:build unix

package scratch

import (
	"os"
	"syscall"
)

// lock opens path and takes an exclusive flock on it, held while the
// returned file is open.
func lock(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close() // read-only
		return nil, err
	}
	return f, nil
}

// held reports whether a process holds path's flock (taking and dropping
// it to tell). A directory it cannot open is taken as held.
func held(path string) bool {
	f, err := lock(path)
	if err != nil {
		return true
	}
	_ = f.Close() // drops the lock
	return false
}
