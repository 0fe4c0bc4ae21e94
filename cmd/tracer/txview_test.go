package main

import (
	"errors"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
)

// TestTxViewDamagedRecord: an input naming an output its funding
// transaction does not have (a damaged record) is an error naming the
// transaction and input, not an index-out-of-range panic (issue 18).
func TestTxViewDamagedRecord(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a := address.Addr{Kind: address.P2WPKH, Payload: [32]byte{1}}
	txs := []*store.Tx{
		{Num: 0, ID: chainhash.Hash{1}, Coinbase: true, Inputs: []store.Input{{Kind: store.InputCoinbase}}, Outputs: []store.Output{{Value: 50, Addr: a}}},
		{Num: 1, ID: chainhash.Hash{2}, Pos: 1, Inputs: []store.Input{{Kind: store.InputKnown, Prev: store.OutPoint{Tx: 0, Vout: 0}}}, Outputs: []store.Output{{Value: 40, Addr: a}}},
		{Num: 2, ID: chainhash.Hash{3}, Pos: 2, Inputs: []store.Input{{Kind: store.InputKnown, Prev: store.OutPoint{Tx: 0, Vout: 7}}}, Outputs: []store.Output{{Value: 40, Addr: a}}},
	}
	batch, err := st.NewBatch()
	if err != nil {
		t.Fatal(err)
	}
	if err := batch.PutBlock(&store.Block{Height: 0, Hash: chainhash.Hash{9}, NumTx: 3}); err != nil {
		t.Fatal(err)
	}
	for _, tx := range txs {
		if err := batch.PutTx(tx); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Commit(store.State{Height: 0, NextTx: 3}); err != nil {
		t.Fatal(err)
	}
	params := &chaincfg.RegressionNetParams
	if v, err := buildTxView(st, params, txs[1]); err != nil || len(v.Inputs) != 1 || v.Inputs[0].Value == nil || *v.Inputs[0].Value != 50 {
		t.Fatalf("sound record: %+v, %v", v, err)
	}
	v, err := buildTxView(st, params, txs[2])
	if !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("damaged record: %+v, %v; want store.ErrCorrupt", v, err)
	}
	t.Log(err)
}
