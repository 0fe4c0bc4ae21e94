package store_test

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/storetest"
)

// TestHeapLimitHoldsClusterArrays: the chain-sized arrays of clustering —
// a scan's unspent outputs, a writer's forest — raise the soft heap limit
// SetHeapLimit keeps by at least their size while they live, and give it
// back when the scan ends and when the forest is collected. Under a fixed
// limit they left the collector running back to back on long chains.
func TestHeapLimitHoldsClusterArrays(t *testing.T) {
	st := storetest.GeneratedStore(t, chaingen.Config{Txs: 3000, Seed: 11, TxsPerBlock: 100})
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		store.StopHeapLimit()
		debug.SetMemoryLimit(prev)
	})
	const base = 1 << 30
	runtime.GC() // earlier tests' forests give their share back
	store.SetHeapLimit(base)
	before := debug.SetMemoryLimit(-1)
	if before < base {
		t.Fatalf("limit %d after SetHeapLimit(%d)", before, base)
	}

	// More than 3 batches of 512: the scan's resolver is still running
	// (its set alive) when fn sees the first transaction.
	var during int64
	err := st.ForEachTxSpent(context.Background(), 0, st.State().NextTx, func(*store.Tx, []store.Spent) error {
		during = max(during, debug.SetMemoryLimit(-1)-before)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if during < 64<<10 { // the unspent table's first 4,096 slots alone
		t.Errorf("a scan's unspent outputs raised the limit by %d bytes", during)
	}
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("after the scan the limit is %d, want %d back", got, before)
	}

	w, err := st.NewClusterWriter(true)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50_000 {
		a := address.Addr{Kind: address.P2WPKH}
		a.Payload[0], a.Payload[1], a.Payload[2] = byte(i), byte(i>>8), byte(i>>16)
		if _, err := w.Intern(a); err != nil {
			t.Fatal(err)
		}
	}
	if raised, held := debug.SetMemoryLimit(-1)-before, w.MemoryBytes(); raised < held {
		t.Errorf("a forest of %d bytes raised the limit by %d", held, raised)
	}
	w = nil //nolint:ineffassign,wastedassign // dropped, so that it is collected
	deadline := time.Now().Add(10 * time.Second)
	for debug.SetMemoryLimit(-1) != before {
		if time.Now().After(deadline) {
			t.Fatalf("the forest was dropped and the limit stays at %d, want %d back", debug.SetMemoryLimit(-1), before)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}
