package store

import (
	"reflect"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/sanctions/address"
)

func sampleTx() *Tx {
	return &Tx{
		Num: 1000, ID: chainhash.Hash{1, 2, 3}, Height: 800000, Pos: 7, Size: 250, VSize: 141,
		FeeKnown: true, Fee: 1234,
		Inputs: []Input{
			{Kind: InputKnown, Prev: OutPoint{Tx: 999, Vout: 3}},
			{Kind: InputKnown, Prev: OutPoint{Tx: 0, Vout: 0}},
			{Kind: InputKnown, Prev: OutPoint{Tx: 998, Vout: 2}},
			{Kind: InputExternal, Ext: wire.OutPoint{Hash: chainhash.Hash{9}, Index: 70000}},
		},
		Outputs: []Output{
			{Value: 5000, Addr: address.Addr{Kind: address.P2WPKH, Payload: [32]byte{1, 2}}},
			{Value: 0, Addr: address.Addr{Kind: address.OpReturn}},
			{Value: 21e14, Addr: address.Addr{Kind: address.P2TR, Payload: [32]byte{31: 7}}},
		},
	}
}

func TestTxRecordRoundTrip(t *testing.T) {
	tx := sampleTx()
	got, err := decodeTx(tx.Num, appendTx(nil, tx))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, tx) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, tx)
	}
	cb := &Tx{Num: 5, Coinbase: true, FeeKnown: true, Fee: -3, Inputs: []Input{{Kind: InputCoinbase}}, Outputs: []Output{}}
	got, err = decodeTx(5, appendTx(nil, cb))
	if err != nil || !reflect.DeepEqual(got, cb) {
		t.Fatalf("coinbase round trip: %v %+v", err, got)
	}
	// A coinbase of a block with an external input keeps its fee unknown
	// but its claim beyond the subsidy.
	cb.FeeKnown = false
	got, err = decodeTx(5, appendTx(nil, cb))
	if err != nil || !reflect.DeepEqual(got, cb) {
		t.Fatalf("coinbase round trip, fee unknown: %v %+v", err, got)
	}
}

func FuzzDecodeTx(f *testing.F) {
	f.Add(uint64(1000), appendTx(nil, sampleTx()))
	f.Add(uint64(0), []byte{})
	f.Fuzz(func(t *testing.T, num uint64, b []byte) {
		tx, err := decodeTx(TxNum(num), b)
		if err != nil {
			return
		}
		// What decodes must survive a re-encoding unchanged.
		again, err := decodeTx(TxNum(num), appendTx(nil, tx))
		if err != nil || !reflect.DeepEqual(again, tx) {
			t.Fatalf("re-encoded record decodes to %+v, %v; want %+v", again, err, tx)
		}
	})
}
