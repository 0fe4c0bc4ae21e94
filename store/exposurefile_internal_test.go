package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
)

// writeSortedFile writes a sorted file of n records into dir and returns
// its path and bytes.
func writeSortedFile(t testing.TB, dir string, n int) (string, []byte) {
	t.Helper()
	path := filepath.Join(dir, exposureDir, "gen-1.acc")
	w, err := newSortedWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := w.add(fmt.Appendf(nil, "k%05d", i), fmt.Appendf(nil, "value %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.finish(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, b
}

// TestSortedFileCraftedFooter: a footer whose numbers are each in range
// but together impossible (an index starting inside the footer, so its
// length wraps; more blocks than the index has room for) is one
// ErrDamaged, never a panic nor an allocation of the claimed size.
func TestSortedFileCraftedFooter(t *testing.T) {
	for _, tc := range []struct {
		name string
		foot func(size uint64, f []byte)
	}{
		{"index inside the footer", func(size uint64, f []byte) {
			binary.BigEndian.PutUint64(f[0:], size-20)
			binary.BigEndian.PutUint64(f[8:], size-sortedFooterLen-(size-20)) // wraps
		}},
		{"index at the end", func(size uint64, f []byte) {
			binary.BigEndian.PutUint64(f[0:], size)
			binary.BigEndian.PutUint64(f[8:], size-sortedFooterLen-size) // wraps
		}},
		{"more blocks than index bytes", func(_ uint64, f []byte) {
			binary.BigEndian.PutUint64(f[24:], binary.BigEndian.Uint64(f[8:]))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, b := writeSortedFile(t, t.TempDir(), 500)
			tc.foot(uint64(len(b)), b[len(b)-sortedFooterLen:])
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			sf, err := openSorted(path)
			if err == nil {
				_ = sf.close()
			}
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("open: %v, want ErrDamaged", err)
			}
		})
	}
}

// FuzzSortedFile: whatever the bytes of a sorted file, opening it and
// reading every record and a few keys is an error or an answer, never a
// panic.
func FuzzSortedFile(f *testing.F) {
	_, good := writeSortedFile(f, f.TempDir(), 300)
	f.Add(good)
	_, small := writeSortedFile(f, f.TempDir(), 3)
	f.Add(small)
	f.Add([]byte{})
	// A valid empty index, with a block claimed past the file's end.
	ix := binary.AppendUvarint(nil, 1)
	ix = append(ix, 'a')
	ix = binary.AppendUvarint(ix, 1<<40)
	foot := binary.BigEndian.AppendUint64(nil, 0)
	foot = binary.BigEndian.AppendUint64(foot, uint64(len(ix)))
	foot = binary.BigEndian.AppendUint64(foot, 1)
	foot = binary.BigEndian.AppendUint64(foot, 1)
	foot = binary.BigEndian.AppendUint32(foot, crc32.Checksum(ix, castagnoli))
	f.Add(append(append(ix, foot...), sortedMagic...))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "gen-1.txs")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		sf, err := openSorted(path)
		if err != nil {
			return
		}
		defer sf.close() //nolint:errcheck // read-only
		_, _, _ = sf.check(nil)
		for _, k := range []string{"", "k00000", "k00150", "k99999", "\xff"} {
			_, _, _ = sf.get([]byte(k))
		}
	})
}
