//go:build !unix

package store

// ifUnlocked runs fn; without flock there is no lock to test.
func ifUnlocked(dir string, fn func() error) error { return fn() }
