package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/storetest"
)

// TestScanTxsMatchesForEachTx: ScanTxs, reading ahead on another
// goroutine, hands fn the same transactions in the same order as
// ForEachTx over any range (empty, one, across its batches, past the
// end), stops at fn's error and returns it as it is, and stops when its
// context is cancelled.
func TestScanTxsMatchesForEachTx(t *testing.T) {
	st := storetest.GeneratedStore(t, chaingen.Config{Txs: 3000, Seed: 11, TxsPerBlock: 60})
	next := st.State().NextTx
	var all []string
	if err := st.ForEachTx(0, func(tx *store.Tx) error {
		all = append(all, fmt.Sprintf("%d %x %d %d", tx.Num, tx.ID, len(tx.Inputs), len(tx.Outputs)))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(all) < 1500 {
		t.Fatalf("only %d transactions: too few to cross batches", len(all))
	}
	ctx := context.Background()
	for _, r := range [][2]store.TxNum{{0, next}, {0, next + 100}, {7, 8}, {5, 5}, {511, 1537}, {next - 3, next}} {
		t.Run(fmt.Sprintf("%d-%d", r[0], r[1]), func(t *testing.T) {
			var got []string
			err := st.ScanTxs(ctx, r[0], r[1], func(tx *store.Tx) error {
				got = append(got, fmt.Sprintf("%d %x %d %d", tx.Num, tx.ID, len(tx.Inputs), len(tx.Outputs)))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			want := all[min(int(r[0]), len(all)):min(int(r[1]), len(all))]
			if len(got) != len(want) {
				t.Fatalf("%d transactions, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("transaction %d: %s, want %s", i, got[i], want[i])
				}
			}
		})
	}
	stop := errors.New("enough")
	seen := 0
	err := st.ScanTxs(ctx, 0, next, func(*store.Tx) error {
		if seen++; seen == 1000 {
			return stop
		}
		return nil
	})
	if err != stop || seen != 1000 { //nolint:errorlint // returned as it is
		t.Fatalf("fn's error: %v after %d transactions", err, seen)
	}
	cctx, cancel := context.WithCancel(ctx)
	seen = 0
	err = st.ScanTxs(cctx, 0, next, func(*store.Tx) error {
		if seen++; seen == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || seen >= len(all) {
		t.Fatalf("cancelled scan: %v after %d of %d transactions", err, seen, len(all))
	}
}
