package tracer_test

import (
	"context"
	"errors"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/taint"
)

// rangeGraph is a two-transaction chain whose inputs partly spend outputs
// from before the store's range.
type rangeGraph struct {
	txs    []*store.Tx
	target address.Addr
}

func (g *rangeGraph) TxByNum(n store.TxNum) (*store.Tx, error) { return g.txs[n], nil }
func (g *rangeGraph) Spenders(store.TxNum) (map[uint32]store.InPoint, error) {
	return map[uint32]store.InPoint{}, nil
}
func (g *rangeGraph) BlockByHeight(h int32) (*store.Block, error) {
	return &store.Block{Height: h}, nil
}
func (g *rangeGraph) AddressOutputs(a address.Addr, _ store.OutPoint, fn func(store.AddrOutput) bool) error {
	for _, tx := range g.txs {
		for i, o := range tx.Outputs {
			if o.Addr == a {
				fn(store.AddrOutput{OutPoint: store.OutPoint{Tx: tx.Num, Vout: uint32(i)}, Output: o, Height: tx.Height, TxID: tx.ID})
			}
		}
	}
	return nil
}

// TestBackwardBeforeRange is issue 17 #6: a backward trace through inputs
// from before the store's range reported their share as dust (and, when a
// transaction mixed known and unknown inputs, gave the known ones all of
// it). The unknown inputs are credited with what the outputs take beyond
// the known inputs and reported as a source before the store's range.
func TestBackwardBeforeRange(t *testing.T) {
	addr := func(b byte) address.Addr {
		a := address.Addr{Kind: address.P2WPKH}
		a.Payload[0] = b
		return a
	}
	ext := func(b byte) store.Input {
		return store.Input{Kind: store.InputExternal, Ext: wire.OutPoint{Hash: chainhash.Hash{b}, Index: 3}}
	}
	g := &rangeGraph{target: addr(9)}
	// tx 0: one input from before the range, pays 6 BTC.
	g.txs = append(g.txs, &store.Tx{Num: 0, ID: chainhash.Hash{0xa0}, Height: 10, Inputs: []store.Input{ext(0xe1)},
		Outputs: []store.Output{{Value: 6e8, Addr: addr(1)}}})
	// tx 1: spends tx 0's 6 BTC and an output from before the range, pays 10 BTC to the target.
	g.txs = append(g.txs, &store.Tx{Num: 1, ID: chainhash.Hash{0xa1}, Height: 11,
		Inputs:  []store.Input{{Kind: store.InputKnown, Prev: store.OutPoint{Tx: 0, Vout: 0}}, ext(0xe2)},
		Outputs: []store.Output{{Value: 10e8, Addr: g.target}}})
	res, err := tracer.Backward(context.Background(), g, nil, []tracer.Seed{{Addr: g.target}}, nil,
		tracer.Options{Model: taint.Haircut, Params: &chaincfg.RegressionNetParams, MaxHops: 10})
	if err != nil {
		t.Fatal(err)
	}
	tot := res.Totals
	if tot.Traced != 10e8 || tot.BeforeRange != 10e8 || tot.Dust != 0 {
		t.Fatalf("totals %+v: want 10 BTC traced, all of it before the store's range, no dust", tot)
	}
	var before, fromKnown int64
	ends := 0
	for _, e := range res.Edges {
		switch {
		case e.End == tracer.EndBeforeRange:
			ends++
			before += e.Tainted
		case e.From == g.txs[0].ID.String():
			fromKnown = e.Tainted
		}
	}
	if ends != 2 || before != 10e8 || fromKnown != 6e8 {
		t.Errorf("edges %+v: want two before-range edges of 10 BTC in all and 6 BTC from tx 0", res.Edges)
	}
}

// TestBackwardDamagedInput: an input naming an output its funding
// transaction does not have is store.ErrCorrupt, never an index out of
// range (issue 18: unchecked Outputs[in.Prev.Vout]).
func TestBackwardDamagedInput(t *testing.T) {
	a := address.Addr{Kind: address.P2WPKH}
	a.Payload[0] = 9
	g := &rangeGraph{target: a}
	g.txs = append(g.txs, &store.Tx{Num: 0, ID: chainhash.Hash{0xb0}, Height: 10,
		Inputs:  []store.Input{{Kind: store.InputExternal, Ext: wire.OutPoint{Hash: chainhash.Hash{0xe3}}}},
		Outputs: []store.Output{{Value: 6e8, Addr: address.Addr{Kind: address.P2WPKH}}}})
	g.txs = append(g.txs, &store.Tx{Num: 1, ID: chainhash.Hash{0xb1}, Height: 11,
		Inputs:  []store.Input{{Kind: store.InputKnown, Prev: store.OutPoint{Tx: 0, Vout: 7}}},
		Outputs: []store.Output{{Value: 5e8, Addr: a}}})
	_, err := tracer.Backward(context.Background(), g, nil, []tracer.Seed{{Addr: a}}, nil,
		tracer.Options{Model: taint.Haircut, Params: &chaincfg.RegressionNetParams, MaxHops: 10})
	if !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("err %v, want store.ErrCorrupt", err)
	}
}
