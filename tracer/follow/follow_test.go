package follow_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer/alert"
	"github.com/tracer-oss/tracer/tracer/follow"
)

// firstPaid returns an address first paid in block h of the reference
// store full (paid by the block's first transaction).
func firstPaid(t *testing.T, full *store.Store, h int32) string {
	t.Helper()
	b, err := full.BlockByHeight(h)
	if err != nil {
		t.Fatal(err)
	}
	for n := b.FirstTx + 1; n < b.FirstTx+store.TxNum(b.NumTx); n++ {
		tx, err := full.TxByNum(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range tx.Outputs {
			if !o.Addr.Kind.HasAddress() {
				continue
			}
			first := int32(-1)
			if err := full.AddressOutputs(o.Addr, store.OutPoint{}, func(ao store.AddrOutput) bool {
				first = ao.Height
				return false
			}); err != nil {
				t.Fatal(err)
			}
			if first == h {
				return o.Addr.String(&chaincfg.RegressionNetParams)
			}
		}
	}
	t.Fatalf("no address first paid in block %d", h)
	return ""
}

// TestWatchesFromNextBlock is issue 13's "watches effective from the next
// block, also in follow": a watch added while follow runs raises an alert
// for the next block that pays it (follow read the watch list only at
// start before), and a watch removed while it runs raises none after.
func TestWatchesFromNextBlock(t *testing.T) {
	dir := t.TempDir()
	if _, err := chaingen.Generate(context.Background(), chaingen.Config{OutDir: dir, Txs: 300, Seed: 5, TxsPerBlock: 20}, nil); err != nil {
		t.Fatal(err)
	}
	blocks := storetest.RawBlocks(t, filepath.Join(dir, "blocks", "blk00000.dat"))
	full := storetest.Open(t)
	if _, err := ingest.Run(context.Background(), full, ingest.Config{Paths: []string{filepath.Join(dir, "blocks")}, StartHeight: -1, ToHeight: -1}); err != nil {
		t.Fatal(err)
	}
	n := int32(len(blocks) - 1)
	if n < 6 {
		t.Fatalf("a chain of %d blocks is too short", n+1)
	}
	added, removed := firstPaid(t, full, n-2), firstPaid(t, full, n)

	st := storetest.Open(t)
	// Watched when follow starts, unwatched while it runs.
	if _, err := st.WatchList().Add(store.Watch{Kind: store.WatchAddress, Value: removed, Added: time.Now(), FromHeight: -1}); err != nil {
		t.Fatal(err)
	}
	node := storetest.NewMemNode(t, blocks[:n-2])
	synced := make(chan int32, 64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- follow.Run(ctx, st, node, follow.Config{Sync: ingest.Config{Network: "regtest"}, Poll: 20 * time.Millisecond, Alerts: true,
			OnSynced: func(s store.State) { synced <- s.Height }})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	waitTip := func(h int32) {
		t.Helper()
		timeout := time.After(time.Minute)
		for {
			select {
			case got := <-synced:
				if got == h {
					return
				}
			case err := <-done:
				t.Fatalf("follow stopped: %v", err)
			case <-timeout:
				t.Fatalf("follow did not reach height %d in a minute", h)
			}
		}
	}
	waitTip(n - 3)

	// While follow runs: watch one address, unwatch another.
	if ok, err := st.WatchList().Add(store.Watch{Kind: store.WatchAddress, Value: added, Added: time.Now(), FromHeight: n - 3}); err != nil || !ok {
		t.Fatalf("add watch %s: %v %v", added, ok, err)
	}
	if ok, err := st.WatchList().Remove(store.WatchAddress, removed); err != nil || !ok {
		t.Fatalf("remove watch: %v %v", ok, err)
	}
	node.Set(t, blocks[:n-1]) // block n-2 pays added
	waitTip(n - 2)
	node.Set(t, blocks) // block n pays removed
	waitTip(n)

	var got []alert.Message
	if err := st.Outbox().Each(func(a store.Alert) error {
		_, m, err := alert.Render(a)
		got = append(got, m)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	raised := false
	for _, m := range got {
		switch {
		case m.Address == removed:
			t.Errorf("alert for the removed watch: %+v", m)
		case m.Address == added && m.Height == n-2 && m.Direction == alert.In:
			raised = true
		case m.Address == added && m.Height < n-2:
			t.Errorf("alert before the watch was added: %+v", m)
		}
	}
	if !raised {
		b, _ := json.Marshal(got)
		t.Errorf("no alert for %s paid in block %d, the first block after the watch was added; alerts: %s", added, n-2, b)
	}
}
