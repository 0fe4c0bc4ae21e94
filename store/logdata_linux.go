package store

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// Linux lseek whences: the next data, the next hole.
const (
	seekData = 3
	seekHole = 4
)

// readData reads a file up to the end of its last data extent; the rest,
// to size, is a hole (zeros). Where the filesystem cannot tell holes it
// reads the whole file.
func readData(path string) (data []byte, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close() //nolint:errcheck // opened read-only: Close cannot lose data
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	size = fi.Size()
	var dataEnd int64
	for off := int64(0); off < size; {
		d, err := f.Seek(off, seekData)
		if errors.Is(err, syscall.ENXIO) {
			break // no data after off
		}
		if err != nil {
			dataEnd = size // holes unknown here: read it all
			break
		}
		h, err := f.Seek(d, seekHole)
		if err != nil {
			dataEnd = size
			break
		}
		dataEnd, off = h, h
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, 0, err
	}
	data = make([]byte, dataEnd)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, 0, err
	}
	return data, size, nil
}
