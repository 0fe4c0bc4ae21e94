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

// processAlive reports whether a process of that pid exists (signal 0
// checks without sending; EPERM is a process of another user).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// lockTaken reports whether a process holds dir's lock (shared or
// exclusive); it takes and drops the lock to tell.
func lockTaken(dir string) bool {
	taken := true
	if err := ifUnlocked(dir, func() error { taken = false; return nil }); err != nil {
		return false
	}
	d, err := os.Stat(dir)
	return taken && err == nil && d.IsDir()
}

// lockConflicts reports whether another process holds dir's lock in a way
// an open in that mode would be refused for: any lock for a writable open,
// an exclusive one for a read-only open (read-only opens share it).
func lockConflicts(dir string, readOnly bool) bool {
	d, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer func() { _ = d.Close() }() // releases the lock taken to tell; a read-only handle's close error changes nothing
	how := syscall.LOCK_EX
	if readOnly {
		how = syscall.LOCK_SH
	}
	return syscall.Flock(int(d.Fd()), how|syscall.LOCK_NB) != nil
}
