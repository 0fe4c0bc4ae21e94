package store_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/storetest"
)

// commitTx stores one transaction paying a, spending prev when given, as
// the block at height h.
func commitTx(t *testing.T, st *store.Store, h int32, a address.Addr, prev *store.OutPoint) {
	t.Helper()
	n := st.State().NextTx
	tx := &store.Tx{Num: n, Height: h, ID: chainhash.Hash{byte(h + 1)}, Coinbase: prev == nil, Inputs: []store.Input{{Kind: store.InputCoinbase}},
		Outputs: []store.Output{{Value: int64(h+1) * 100, Addr: a}}}
	if prev != nil {
		tx.Inputs = []store.Input{{Kind: store.InputKnown, Prev: *prev}}
	}
	b, err := st.NewBatch()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.PutTx(tx); err != nil {
		t.Fatal(err)
	}
	if prev != nil {
		if err := b.PutSpend(*prev, store.InPoint{Tx: n, Vin: 0}); err != nil {
			t.Fatal(err)
		}
	}
	state := st.State()
	state.Network, state.Height, state.Hash, state.NextTx = "regtest", h, chainhash.Hash{byte(h + 1)}, n+1
	if err := b.Commit(state); err != nil {
		t.Fatal(err)
	}
}

// snapView is what a snapshot answers, read through each read path.
type snapView struct {
	height   int32
	txs      int // TxByNum finds 0..txs-1
	readerTx bool
	outputs  int
	spent    bool
	watches  int
}

func viewOf(t *testing.T, st *store.Store, a address.Addr) snapView {
	t.Helper()
	v := snapView{height: st.State().Height}
	for n := store.TxNum(0); n < 4; n++ {
		if _, err := st.TxByNum(n); err == nil {
			v.txs++
		} else if !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
	}
	r := st.NewReader()
	_, err := r.TxByNum(1)
	v.readerTx = err == nil
	r.Close()
	if err := st.AddressOutputs(a, store.OutPoint{}, func(store.AddrOutput) bool { v.outputs++; return true }); err != nil {
		t.Fatal(err)
	}
	_, spent, err := st.SpentBy(store.OutPoint{Tx: 0, Vout: 0})
	if err != nil {
		t.Fatal(err)
	}
	v.spent = spent
	w, err := st.WatchList().All()
	if err != nil {
		t.Fatal(err)
	}
	v.watches = len(w)
	return v
}

// TestSnapshot: a snapshot answers every read path as of the instant it
// was taken, while the writer commits more; it refuses writes; readers on
// it run concurrently with the writer (run with -race).
func TestSnapshot(t *testing.T) {
	st := storetest.Open(t)
	a := address.Addr{Kind: address.P2WPKH, Payload: [32]byte{7}}
	commitTx(t, st, 0, a, nil)
	snap, release, err := st.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if !snap.IsSnapshot() || st.IsSnapshot() {
		t.Fatal("IsSnapshot wrong")
	}
	before := snapView{height: 0, txs: 1, outputs: 1}
	if got := viewOf(t, snap, a); got != before {
		t.Fatalf("snapshot before any later write = %+v; want %+v", got, before)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		snap.Retain()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer snap.Release()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if got := viewOf(t, snap, a); got != before {
					t.Errorf("snapshot while the writer commits = %+v; want %+v", got, before)
					return
				}
			}
		}()
	}
	commitTx(t, st, 1, a, &store.OutPoint{Tx: 0, Vout: 0})
	if _, err := st.WatchList().Add(store.Watch{Kind: store.WatchAddress, Value: "x"}); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if got := viewOf(t, snap, a); got != before {
		t.Errorf("snapshot after the writer committed = %+v; want %+v", got, before)
	}
	after := snapView{height: 1, txs: 2, readerTx: true, outputs: 2, spent: true, watches: 1}
	if got := viewOf(t, st, a); got != after {
		t.Errorf("the store itself = %+v; want %+v", got, after)
	}
	snap2, release2, err := st.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer release2()
	if got := viewOf(t, snap2, a); got != after {
		t.Errorf("a new snapshot = %+v; want %+v", got, after)
	}
	if _, err := snap.WatchList().Add(store.Watch{Kind: store.WatchAddress, Value: "y"}); !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("AddWatch on a snapshot: %v; want ErrReadOnly", err)
	}
	if _, err := snap.NewBatch(); !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("NewBatch on a snapshot: %v; want ErrReadOnly", err)
	}
	if err := snap.Close(); err == nil {
		t.Error("Close of a snapshot succeeded; want an error (release ends it)")
	}
	release()
	if _, err := snap.TxByNum(0); err == nil {
		t.Error("a released snapshot still answers")
	}
}
