//go:build !unix

package flow

import (
	"encoding/binary"
	"io"
	"os"
)

// mapFile reads size bytes of f into memory where mmap is not available.
// Writes to the slice are not written back: the builder writes files
// through ordinary writes before it maps them.
func mapFile(f *os.File, size int64, rw bool) ([]byte, error) {
	b := make([]byte, size)
	_, err := io.ReadFull(io.NewSectionReader(f, 0, size), b)
	return b, err
}

// patchFile applies patches to f with ordinary writes.
func patchFile(f *os.File, _ int64, patches []patch) error {
	var r [8]byte
	for _, p := range patches {
		if _, err := f.ReadAt(r[:], p.off); err != nil {
			return err
		}
		binary.LittleEndian.PutUint64(r[:], binary.LittleEndian.Uint64(r[:])&^spMask|p.sp)
		if _, err := f.WriteAt(r[:], p.off); err != nil {
			return err
		}
	}
	return nil
}

func unmap([]byte) error { return nil }

func lockFile(*os.File) error   { return nil }
func lockShared(*os.File) error { return nil }
func unlockFile(*os.File) error { return nil }
