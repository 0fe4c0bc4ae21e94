//go:build unix

package store

import (
	"os"
	"syscall"
)

// ifUnlocked runs fn only if no process holds dir's lock, which Badger
// takes as a flock on the directory itself; it holds the lock meanwhile.
func ifUnlocked(dir string, fn func() error) error {
	d, err := os.Open(dir)
	if err != nil {
		return nil // no directory yet: nothing to clean
	}
	defer d.Close()
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return nil // in use: Badger will say so
	}
	defer syscall.Flock(int(d.Fd()), syscall.LOCK_UN)
	return fn()
}
