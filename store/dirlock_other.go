//go:build !unix

package store

// ifUnlocked runs fn; without flock there is no lock to test.
func ifUnlocked(dir string, fn func() error) error { return fn() }

// processAlive cannot tell without kill(2): a holder file is trusted.
func processAlive(pid int) bool { return true }

// lockTaken cannot tell without flock: Open will.
func lockTaken(dir string) bool { return false }

func lockConflicts(dir string, readOnly bool) bool { return false }
