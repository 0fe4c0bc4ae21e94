package store

import (
	"encoding/binary"
	"math/rand"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// BenchmarkClusterForest drives the in-memory union-find alone (no store
// reads or writes) with a synthetic chain of TRACER_FOREST_INPUTS inputs
// (default 25,000,000, about a 10M-transaction chain's): transactions of 1–4
// inputs, each input a new address (60%) or one seen before, as common-input
// clustering does. It reports inputs/s and the forest's bytes per address.
func BenchmarkClusterForest(b *testing.B) {
	n := 25_000_000
	if v := os.Getenv("TRACER_FOREST_INPUTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("TRACER_FOREST_INPUTS=%q", v)
		}
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		w := &ClusterWriter{f: newForest(), st: ClusterState{NextID: 1}}
		r := rand.New(rand.NewSource(1))
		var addrs uint64
		addr := func(k uint64) (a clusterAddrKey) {
			a[0] = 4 // P2WPKH
			binary.LittleEndian.PutUint64(a[1:], k*0x9e3779b97f4a7c15)
			return a
		}
		b.ResetTimer()
		start, cpu0 := time.Now(), cpuSeconds()
		var tx TxNum
		for inputs := 0; inputs < n; tx++ {
			k := 1 + r.Intn(4)
			var first AddrID
			for j := 0; j < k; j++ {
				var a clusterAddrKey
				if addrs == 0 || r.Intn(10) < 6 {
					addrs++
					a = addr(addrs)
				} else {
					a = addr(1 + uint64(r.Int63n(int64(addrs))))
				}
				id, err := w.Intern(keyAddr(&a))
				if err != nil {
					b.Fatal(err)
				}
				if j == 0 {
					first = id
				} else if _, _, err := w.Union(first, id, tx, 0, "multi-input"); err != nil {
					b.Fatal(err)
				}
			}
			inputs += k
		}
		sec, cpu := time.Since(start).Seconds(), cpuSeconds()-cpu0
		b.StopTimer()
		b.ReportMetric(float64(n)/sec, "inputs/s")
		b.ReportMetric(float64(n)/cpu, "inputs/cpu-s")
		b.ReportMetric(float64(w.f.bytes())/float64(w.st.Addresses), "B/addr")
		b.Logf("%d inputs, %d txs: %d addresses in %d clusters, largest %d, in %.1fs (%.1f CPU s); forest %d MB",
			n, tx, w.st.Addresses, w.st.Clusters, w.st.Largest, sec, cpu, w.f.bytes()>>20)
	}
}

// cpuSeconds is the process's user and system CPU time so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// TestChunked writes every element of chunked arrays of three element
// sizes across their first chunk boundaries and reads them back: each
// index has its own element, and the chunks hold what was written.
func TestChunked(t *testing.T) {
	t.Run("uint32", func(t *testing.T) { testChunked(t, func(i uint32) uint32 { return i*2654435761 + 1 }) })
	t.Run("address", func(t *testing.T) {
		testChunked(t, func(i uint32) (k clusterAddrKey) { binary.LittleEndian.PutUint32(k[29:], i); k[0] = byte(i); return })
	})
	t.Run("output", func(t *testing.T) { testChunked(t, func(i uint32) Output { return Output{Value: int64(i) * 3} }) })
}

func testChunked[T comparable](t *testing.T, val func(uint32) T) {
	var a chunked[T]
	n := uint32(1)<<chunkShift[T]()*2 + 5 // into a third chunk
	a.grow(n)
	if len(a.c) != 3 {
		t.Fatalf("%d chunks for %d elements, want 3", len(a.c), n)
	}
	for i := uint32(0); i <= n; i++ {
		*a.at(i) = val(i)
	}
	for i := uint32(0); i <= n; i++ {
		if got := *a.at(i); got != val(i) {
			t.Fatalf("element %d: %v, want %v", i, got, val(i))
		}
	}
}
