package hugemem_test

import (
	"testing"

	"github.com/tracer-oss/tracer/store/hugemem"
)

// TestSlice: Slice is make([]T, n): the length asked for, zeroed,
// writable end to end, for sizes below, at and above a 2 MB page.
func TestSlice(t *testing.T) {
	for _, n := range []int{0, 1, 1000, 1 << 18, 1<<18 + 3, 3 << 20} {
		s := hugemem.Slice[uint64](n)
		if len(s) != n || cap(s) < n {
			t.Fatalf("Slice(%d): len %d cap %d", n, len(s), cap(s))
		}
		for i := range s {
			if s[i] != 0 {
				t.Fatalf("Slice(%d)[%d] = %d, want 0", n, i, s[i])
			}
			s[i] = uint64(i)
		}
		for i := range s {
			if s[i] != uint64(i) {
				t.Fatalf("Slice(%d)[%d] = %d after writing %d", n, i, s[i], i)
			}
		}
	}
}
