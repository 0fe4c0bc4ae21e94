//go:build !linux

package directio

import (
	"errors"
	"io"
	"os"
)

func openDirect(name string, flag int, perm os.FileMode) (*os.File, bool, error) {
	f, err := os.OpenFile(name, flag, perm)
	return f, false, err
}

func refused(error) bool { return false }

func clearDirect(*os.File) error { return nil }

func pread(f *os.File, b []byte, off int64) (int, error) {
	n, err := f.ReadAt(b, off)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return n, err
}
