package store

import (
	"reflect"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/tracer-oss/tracer/sanctions/address"
)

// The txid and address indexes keep 5-byte prefixes: lookups must tell
// colliding entries apart by the full txid and address in the tx records.
func TestIndexPrefixCollisions(t *testing.T) {
	st, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a := address.Addr{Kind: address.P2PKH, Payload: [32]byte{1, 2, 3, 4, 5, 6}}
	b := address.Addr{Kind: address.P2PKH, Payload: [32]byte{1, 2, 3, 4, 5, 7}} // a's prefix
	p2pk := address.Addr{Kind: address.P2PK, Payload: a.Payload}                // indexed with P2PKH
	txs := []*Tx{
		{Num: 0, ID: chainhash.Hash{9, 9, 9, 9, 9, 1}, Coinbase: true, Inputs: []Input{{Kind: InputCoinbase}},
			Outputs: []Output{{1, a}, {2, b}, {3, a}}},
		{Num: 1, ID: chainhash.Hash{9, 9, 9, 9, 9, 2}, Pos: 1, Inputs: []Input{{Kind: InputKnown, Prev: OutPoint{0, 1}}},
			Outputs: []Output{{4, b}, {5, p2pk}, {6, address.Addr{Kind: address.OpReturn}}}},
	}
	batch, err := st.NewBatch()
	if err != nil {
		t.Fatal(err)
	}
	for _, tx := range txs {
		if err := batch.PutTx(tx); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.PutSpend(OutPoint{0, 1}, InPoint{1, 0}); err != nil {
		t.Fatal(err)
	}
	if err := batch.Commit(State{Height: 0, NextTx: 2}); err != nil {
		t.Fatal(err)
	}

	for i, tx := range txs {
		got, err := st.Tx(tx.ID)
		if err != nil || got.Num != tx.Num {
			t.Errorf("Tx(%s) = %+v, %v; want number %d", tx.ID, got, err, i)
		}
	}
	if _, err := st.Tx(chainhash.Hash{9, 9, 9, 9, 9, 3}); err == nil {
		t.Error("Tx of an absent txid sharing the prefix: found")
	}

	tests := []struct {
		name string
		addr address.Addr
		from OutPoint
		want []OutPoint
	}{
		{"two outputs of one tx", a, OutPoint{}, []OutPoint{{0, 0}, {0, 2}, {1, 1}}},
		{"from inside a tx", a, OutPoint{0, 1}, []OutPoint{{0, 2}, {1, 1}}},
		{"from a later tx", a, OutPoint{1, 0}, []OutPoint{{1, 1}}},
		{"colliding prefix", b, OutPoint{}, []OutPoint{{0, 1}, {1, 0}}},
		{"absent", address.Addr{Kind: address.P2PKH, Payload: [32]byte{1, 2, 3, 4, 5, 8}}, OutPoint{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []OutPoint
			err := st.AddressOutputs(tc.addr, tc.from, func(o AddrOutput) bool {
				if !o.Addr.Same(tc.addr) {
					t.Errorf("output %+v is not to %v", o.OutPoint, tc.addr)
				}
				if o.OutPoint == (OutPoint{0, 1}) && (!o.Spent || o.SpentBy != (InPoint{1, 0})) {
					t.Errorf("0:1 spent by %+v (%v), want 1:0", o.SpentBy, o.Spent)
				}
				got = append(got, o.OutPoint)
				return true
			})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
