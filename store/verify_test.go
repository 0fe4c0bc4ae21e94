package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
)

// TestVerifyFindsDamage damages one kind of record at a time in a store of
// a generated chain and checks that Verify names what is wrong, where.
func TestVerifyFindsDamage(t *testing.T) {
	blocks := storetest.GenerateChain(t, chaingen.Config{Txs: 300, Seed: 3, TxsPerBlock: 20})
	params := &chaincfg.RegressionNetParams
	fresh := func(t *testing.T) *store.Store {
		st := storetest.Open(t)
		if _, err := ingest.Run(context.Background(), st, ingest.Config{Paths: []string{blocks}, StartHeight: -1, ToHeight: -1}); err != nil {
			t.Fatal(err)
		}
		return st
	}
	// spender is a transaction (not a coinbase) whose input 0 spends an
	// output of the store, in a block after the first.
	spenderOf := func(t *testing.T, st *store.Store) *store.Tx {
		var found *store.Tx
		errStop := fmt.Errorf("found")
		err := st.ForEachTx(0, func(tx *store.Tx) error {
			if !tx.Coinbase && len(tx.Inputs) > 0 && tx.Inputs[0].Kind == store.InputKnown && tx.Height > 2 {
				found = tx
				return errStop
			}
			return nil
		})
		if err != errStop {
			t.Fatalf("no spending transaction in the chain: %v", err)
		}
		return found
	}
	tests := []struct {
		name   string
		damage func(t *testing.T, st *store.Store, tx *store.Tx) error
		want   []string // in the problems, in order, with %s the damaged tx's id and %d its height
	}{
		{"a spent-by entry missing", func(t *testing.T, st *store.Store, tx *store.Tx) error {
			return st.DamageSpent(tx.Inputs[0].Prev, nil)
		}, []string{"spent by %s has no spent-by entry"}},
		{"a spent-by entry naming another input", func(t *testing.T, st *store.Store, tx *store.Tx) error {
			return st.DamageSpent(tx.Inputs[0].Prev, &store.InPoint{Tx: tx.Num, Vin: uint32(len(tx.Inputs))})
		}, []string{"spent-by says tx", "names tx %s input"}},
		{"a fee field", func(t *testing.T, st *store.Store, tx *store.Tx) error {
			tx.Fee++
			return st.DamageTx(tx)
		}, []string{"tx %s fee field"}},
		{"an output value", func(t *testing.T, st *store.Store, tx *store.Tx) error {
			tx.Outputs[0].Value += 1 << 40
			return st.DamageTx(tx)
		}, []string{"tx %s pays", "tx %s fee field"}},
		{"a block record", func(t *testing.T, st *store.Store, tx *store.Tx) error {
			return st.DamageBlock(tx.Height)
		}, []string{"block record: store: not found", "is not block", "first tx number", "blocks, state says", "says height"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := fresh(t)
			if r, err := st.Verify(context.Background(), params); err != nil || len(r.Problems) > 0 {
				t.Fatalf("before the damage: %v %v", err, r.Problems)
			}
			tx := spenderOf(t, st)
			if err := tt.damage(t, st, tx); err != nil {
				t.Fatal(err)
			}
			r, err := st.Verify(context.Background(), params)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range r.Problems {
				got = append(got, fmt.Sprintf("height %d: %s", p.Height, p.What))
			}
			all := strings.Join(got, "\n")
			for _, w := range tt.want {
				if strings.Contains(w, "%s") {
					w = fmt.Sprintf(w, tx.ID)
				}
				if !strings.Contains(all, w) {
					t.Errorf("no problem %q in:\n%s", w, all)
				}
			}
			if r.Blocks == 0 || r.Txs == 0 {
				t.Errorf("counted %d blocks, %d txs", r.Blocks, r.Txs)
			}
		})
	}
}
