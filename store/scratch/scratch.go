// Package scratch makes working directories in the OS temporary directory
// that a process holds while it lives: a directory whose process was
// killed (SIGKILL, a power cut) before it could remove it is removed by
// the next Make of the same prefix, so a killed build's gigabytes of
// spill runs do not stay behind.
//
// A directory is held by an flock on it, which the kernel drops when its
// process ends however it ends, so a recycled pid cannot keep a leftover
// alive. A directory is removed only when it holds the owner file, which
// is written after the lock is taken: one just made and not yet locked is
// left alone.
package scratch

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// ownerFile marks a directory as made by Make and locked.
const ownerFile = "owner"

// Dir is a held working directory.
type Dir struct {
	Path string
	lock *os.File // nil where there is no flock
}

// Make removes the leftovers of prefix in dir ("": the OS temporary
// directory) — directories named prefix… whose process is gone — and
// makes a new directory named prefix… there, held until Remove.
func Make(dir, prefix string) (*Dir, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	RemoveLeftovers(dir, prefix)
	path, err := os.MkdirTemp(dir, prefix)
	if err != nil {
		return nil, fmt.Errorf("scratch: %w", err)
	}
	d := &Dir{Path: path}
	live.Store(path, true)
	if d.lock, err = lockFunc(path); err != nil {
		// A file system without flock (NFS mounted without locks, some
		// FUSE ones): the directory works, unlocked and without an owner
		// file, so no one takes it for a leftover — nor removes it if
		// this process is killed.
		d.lock = nil
		return d, nil
	}
	if err := os.WriteFile(filepath.Join(path, ownerFile), fmt.Appendf(nil, "%d\n", os.Getpid()), 0o644); err != nil {
		d.Remove()
		return nil, fmt.Errorf("scratch: %w", err)
	}
	return d, nil
}

// lockFunc and heldFunc are lock and held (tests replace them to play
// file systems without flock, or with flock per process).
var lockFunc, heldFunc = lock, held

// live are the directories this process holds: where flock is emulated
// with locks per process (NFS), taking the lock of one's own directory
// succeeds, so held would take it for a leftover.
var live sync.Map

// Remove removes the directory and everything in it, and lets it go.
func (d *Dir) Remove() {
	_ = os.RemoveAll(d.Path) // temporary files: nothing to keep
	if d.lock != nil {
		_ = d.lock.Close() // drops the flock
		d.lock = nil
	}
	live.Delete(d.Path)
}

// RemoveLeftovers removes the directories named prefix… in dir that Make
// made and no process holds, and returns how many.
func RemoveLeftovers(dir, prefix string) int {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if _, err := os.Stat(filepath.Join(path, ownerFile)); err != nil {
			continue // not Make's, or not yet locked
		}
		if _, mine := live.Load(path); mine || heldFunc(path) {
			continue
		}
		if os.RemoveAll(path) == nil {
			n++
		}
	}
	return n
}
