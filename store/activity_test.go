package store

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/tracer-oss/tracer/sanctions/address"
)

// activityStore holds three transactions: a coinbase at height 0 pays a
// (1 and 3) and b (2); tx 1 at height 1 spends 0:0 and pays a 4; tx 2 at
// height 2 spends 1:0. The spend record of 0:1 (b's) names transaction 7,
// which the store does not hold: a damaged record.
func activityStore(t *testing.T) (st *Store, a, b address.Addr, txs []*Tx) {
	t.Helper()
	st, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a = address.Addr{Kind: address.P2PKH, Payload: [32]byte{1}}
	b = address.Addr{Kind: address.P2WPKH, Payload: [32]byte{2}}
	c := address.Addr{Kind: address.P2WPKH, Payload: [32]byte{3}}
	txs = []*Tx{
		{Num: 0, Height: 0, ID: chainhash.Hash{1}, Coinbase: true, Inputs: []Input{{Kind: InputCoinbase}},
			Outputs: []Output{{1, a}, {2, b}, {3, a}}},
		{Num: 1, Height: 1, ID: chainhash.Hash{2}, Inputs: []Input{{Kind: InputKnown, Prev: OutPoint{0, 0}}},
			Outputs: []Output{{4, a}}},
		{Num: 2, Height: 2, ID: chainhash.Hash{3}, Inputs: []Input{{Kind: InputKnown, Prev: OutPoint{1, 0}}},
			Outputs: []Output{{4, c}}},
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
	for op, in := range map[OutPoint]InPoint{{0, 0}: {1, 0}, {1, 0}: {2, 0}, {0, 1}: {7, 0}} {
		if err := batch.PutSpend(op, in); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Commit(State{Height: 2, NextTx: 8}); err != nil {
		t.Fatal(err)
	}
	return st, a, b, txs
}

func TestActivity(t *testing.T) {
	ctx := context.Background()
	st, a, b, _ := activityStore(t)
	absent := address.Addr{Kind: address.P2PKH, Payload: [32]byte{9}}
	tests := []struct {
		name  string
		addrs []address.Addr
		want  Activity
	}{
		{"spent and unspent, last seen at a spend", []address.Addr{a}, Activity{Outputs: 3, Received: 8, Sent: 5, Balance: 3, FirstSeen: 0, LastSeen: 2}},
		{"never paid", []address.Addr{absent}, Activity{FirstSeen: -1, LastSeen: -1}},
		{"a set", []address.Addr{absent, a}, Activity{Outputs: 3, Received: 8, Sent: 5, Balance: 3, FirstSeen: 0, LastSeen: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.Activity(ctx, tt.addrs)
			if err != nil || got != tt.want {
				t.Errorf("Activity = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	// A spend record naming a transaction the store does not hold is an
	// error, never a silently shorter activity.
	if got, err := st.Activity(ctx, []address.Addr{a, b}); !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNotFound) {
		t.Errorf("Activity with a damaged spend record = %+v, %v; want ErrCorrupt", got, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := st.Activity(cctx, []address.Addr{a}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Activity: %v", err)
	}
}

func TestAddressSummary(t *testing.T) {
	ctx := context.Background()
	st, a, b, txs := activityStore(t)
	type page struct {
		op    OutPoint
		spent chainhash.Hash
	}
	tests := []struct {
		name  string
		after *OutPoint
		limit int
		want  []page
		more  bool
	}{
		{"first page", nil, 2, []page{{OutPoint{0, 0}, txs[1].ID}, {OutPoint{0, 2}, chainhash.Hash{}}}, true},
		{"next page", &OutPoint{0, 2}, 2, []page{{OutPoint{1, 0}, txs[2].ID}}, false},
		{"all", nil, 10, []page{{OutPoint{0, 0}, txs[1].ID}, {OutPoint{0, 2}, chainhash.Hash{}}, {OutPoint{1, 0}, txs[2].ID}}, false},
		{"after the last", &OutPoint{1, 0}, 2, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := st.AddressSummary(ctx, a, tt.after, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			want := Activity{Outputs: 3, Received: 8, Sent: 5, Balance: 3, FirstSeen: 0, LastSeen: 2}
			if s.Activity != want || s.Txs != 3 || s.More != tt.more {
				t.Errorf("summary %+v txs %d more %v; want %+v txs 3 more %v", s.Activity, s.Txs, s.More, want, tt.more)
			}
			var got []page
			for _, o := range s.Page {
				got = append(got, page{o.OutPoint, o.SpentByTxID})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("page %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := st.AddressSummary(ctx, a, nil, 0); err == nil {
		t.Error("limit 0: no error")
	}
	if s, err := st.AddressSummary(ctx, b, nil, 5); !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNotFound) {
		t.Errorf("summary with a damaged spend record = %+v, %v; want ErrCorrupt", s, err)
	}
}

func TestPrevOutput(t *testing.T) {
	st, _, b, txs := activityStore(t)
	fund, out, err := st.PrevOutput(Input{Kind: InputKnown, Prev: OutPoint{0, 1}})
	if err != nil || fund.ID != txs[0].ID || out.Value != 2 || !out.Addr.Same(b) {
		t.Errorf("PrevOutput(0:1) = %v, %+v, %v; want b's 2 sat of tx 0", fund, out, err)
	}
	for _, tt := range []struct {
		name string
		in   Input
		want error
	}{
		{"output the transaction does not have", Input{Kind: InputKnown, Prev: OutPoint{0, 3}}, ErrCorrupt},
		{"transaction the store does not hold", Input{Kind: InputKnown, Prev: OutPoint{9, 0}}, ErrNotFound},
		{"coinbase", Input{Kind: InputCoinbase}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := st.PrevOutput(tt.in)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("PrevOutput = %v, want %v", err, tt.want)
			}
		})
	}
}
