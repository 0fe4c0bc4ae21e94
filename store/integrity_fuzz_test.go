package store

import (
	"testing"
)

// FuzzScanLog feeds arbitrary bytes to the Badger log scanner Open runs
// before Badger replays a log: it never panics, never reads past the data,
// and reports an end within it.
func FuzzScanLog(f *testing.F) {
	f.Add(make([]byte, 20))
	f.Add(append(make([]byte, 20), 0, 0, 3, 5, 0, 'k', 'e', 'y', 'v', 'a', 'l', 'u', 'e', 1, 2, 3, 4))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		end, next := scanLog(data)
		if end < 0 || end > int64(len(data)) || next < 0 {
			t.Fatalf("end %d next %d of %d bytes", end, next, len(data))
		}
		tornTail(data, int64(len(data)), end, next)
		tornTail(data, int64(len(data))+4096, end, next)
	})
}
