// Package hugemem allocates arrays read at random all over hundreds of
// megabytes (the cluster forest, the unspent set, an exposure build's
// accumulators) with the kernel asked to back them with 2 MB pages, so a
// random read misses the cache but not also the TLB.
package hugemem

import "unsafe"

// Slice is make([]T, n) with the kernel asked to back it with 2 MB pages
// (a hint it may ignore; see advise).
func Slice[T any](n int) []T {
	s := make([]T, n)
	if n > 0 {
		advise(unsafe.Pointer(&s[0]), uintptr(n)*unsafe.Sizeof(s[0]))
	}
	return s
}
