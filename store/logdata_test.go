package store

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestReadDataSparse: a log preallocated as a hole is read up to its data
// only, with its full size, and a torn tail in it is still told from
// damage.
func TestReadDataSparse(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "000001.vlog")
	head := bytes.Repeat([]byte{7}, 10000)
	if err := os.WriteFile(path, head, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 1<<30); err != nil {
		t.Fatal(err)
	}
	data, size, err := readData(path)
	if err != nil || size != 1<<30 || len(data) < len(head) || len(data) > 1<<20 || !bytes.Equal(data[:len(head)], head) {
		t.Fatalf("readData: %d bytes (size %d), %v; want the %d-byte head and size 1 GiB", len(data), size, err, len(head))
	}
	for _, tt := range []struct {
		name      string
		data      []byte
		size      int64
		end, next int64
		want      bool
	}{
		{"zeros to the end", []byte{1, 2, 0, 0}, 1 << 30, 2, 0, true},
		{"a partial entry, then the hole", []byte{1, 2, 9, 9}, 1 << 30, 2, 3, true},
		{"an entry longer than the file", []byte{1, 2, 9, 9}, 5, 2, 4, false},
		{"data after the partial entry", []byte{1, 2, 9, 9, 0, 5}, 1 << 30, 2, 2, false},
		// A killed copy that stored an entry's tail before its header
		// (seen after SIGKILL in TestUpdateKilled; Badger opens the store
		// and cuts the entry off, losing nothing committed).
		{"an entry's tail written before its header", append(append([]byte{1, 2}, make([]byte, 6)...), 9, 9, 9), 1 << 30, 2, 9, true},
		{"a tail to the file's end, no hole after it", append(append([]byte{1, 2}, make([]byte, 6)...), 9, 9, 9), 11, 2, 9, false},
		{"data beyond the largest entry", append(append([]byte{1, 2}, make([]byte, maxLogEntry+10)...), 9), 1 << 30, 2, 9, false},
		{"a header that decodes to zero lengths", []byte{1, 2, 5, 0, 0, 0, 9}, 1 << 30, 2, 0, false},
	} {
		if got := tornTail(tt.data, tt.size, tt.end, tt.next); got != tt.want {
			t.Errorf("%s: tornTail = %v; want %v", tt.name, got, tt.want)
		}
	}
}
