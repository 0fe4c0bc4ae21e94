//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ifUnlocked runs fn only if no process holds dir's lock, which Badger
// takes as a flock on the directory itself; it holds the lock meanwhile.
// Failing to release the lock is an error: Badger's Open would then find
// the directory locked by this very process.
func ifUnlocked(dir string, fn func() error) (err error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil // no directory yet: nothing to clean
	}
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return d.Close() // in use: Badger will say so
	}
	defer func() {
		// Close releases the flock too; both errors are reported.
		if uerr := errors.Join(syscall.Flock(int(d.Fd()), syscall.LOCK_UN), d.Close()); uerr != nil {
			err = errors.Join(err, fmt.Errorf("store: unlock %s: %w", dir, uerr))
		}
	}()
	return fn()
}
