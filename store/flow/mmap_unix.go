//go:build unix

package flow

import (
	"encoding/binary"
	"fmt"
	"os"
	"syscall"
)

// mapFile maps size bytes of f read-only (writable when rw). A zero size
// maps nothing.
func mapFile(f *os.File, size int64, rw bool) ([]byte, error) {
	if size == 0 {
		return nil, nil
	}
	if int64(int(size)) != size {
		return nil, fmt.Errorf("flow: %s too large to map", f.Name())
	}
	prot := syscall.PROT_READ
	if rw {
		prot |= syscall.PROT_WRITE
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), prot, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("flow: map %s: %w", f.Name(), err)
	}
	return b, nil
}

func unmap(b []byte) error {
	if b == nil {
		return nil
	}
	return syscall.Munmap(b)
}

// patchFile applies patches to f (size bytes long) through a writable
// mapping, in index order; the caller syncs f.
func patchFile(f *os.File, size int64, patches []patch) error {
	if len(patches) == 0 {
		return nil
	}
	b, err := mapFile(f, size, true)
	if err != nil {
		return err
	}
	for _, p := range patches {
		r := b[p.off : p.off+8]
		binary.LittleEndian.PutUint64(r, binary.LittleEndian.Uint64(r)&^spMask|p.sp)
	}
	return unmap(b)
}

// lockFile takes an exclusive advisory lock on f, waiting for it.
func lockFile(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }

// lockShared takes a shared advisory lock on f, or fails at once if an
// exclusive one is held.
func lockShared(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB) }

func unlockFile(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
