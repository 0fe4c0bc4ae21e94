package store

import (
	"runtime/debug"
	"sync"
)

// The Go runtime's soft memory limit makes the collector work harder as
// the heap nears it. The store's chain-sized arrays — the cluster forest
// and the unspent outputs a clustering scan holds — are long-lived and
// hold no pointers: collecting harder frees none of them. Under a fixed
// limit they pushed the heap against it as the chain grew, and the
// collector then ran back to back (on a 30 M-transaction chain, whose
// forest and unspent set take ≈1.4 GB, clustering took 225 CPU-seconds
// under a 1.5 GiB limit and 100 without one). So the limit SetHeapLimit
// sets is for everything else, and those arrays are held beside it: each
// raises the limit by its size while it lives (a heapShare).
var heapLimit struct {
	mu       sync.Mutex
	base     int64 // 0: the store does not set the limit
	reserved int64 // bytes of the arrays alive now
}

// SetHeapLimit sets the Go runtime's soft memory limit
// (debug.SetMemoryLimit) to n bytes for the process's working memory, and
// keeps it at n plus the size of the store's chain-sized arrays alive at
// any time (the cluster forest, a clustering scan's unspent outputs), so
// their growth with the chain does not leave the collector running back
// to back. A process that set its limit itself (GOMEMLIMIT) should not
// call it: the arrays then count against that limit.
func SetHeapLimit(n int64) {
	heapLimit.mu.Lock()
	defer heapLimit.mu.Unlock()
	heapLimit.base = n
	debug.SetMemoryLimit(n + heapLimit.reserved)
}

// reserveHeap moves the limit by delta bytes of arrays allocated (> 0) or
// released (< 0).
func reserveHeap(delta int64) {
	if delta == 0 {
		return
	}
	heapLimit.mu.Lock()
	defer heapLimit.mu.Unlock()
	heapLimit.reserved += delta
	if heapLimit.base > 0 {
		debug.SetMemoryLimit(heapLimit.base + heapLimit.reserved)
	}
}

// heapShare is the bytes one owner's arrays hold beside the limit.
type heapShare struct{ n int64 }

// add counts delta more bytes (fewer when negative).
func (h *heapShare) add(delta int64) {
	if h == nil {
		return
	}
	h.n += delta
	reserveHeap(delta)
}

// release gives back everything the share holds.
func (h *heapShare) release() {
	if h == nil {
		return
	}
	reserveHeap(-h.n)
	h.n = 0
}
