package cluster_test

import (
	"testing"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer/cluster"
)

// handTx builds a transaction whose inputs spend outputs of the given
// values and kinds (one funding transaction per input) and which pays
// outs; opReturn adds a data output. The fee is inputs minus outputs.
func handTx(ins []int64, inKind address.Kind, outs []int64, outKind address.Kind, opReturn bool) (*store.Tx, []*store.Tx) {
	tx := &store.Tx{FeeKnown: true}
	var funding []*store.Tx
	var sum int64
	for i, v := range ins {
		f := &store.Tx{Num: store.TxNum(i + 1), Outputs: []store.Output{{Value: v, Addr: address.Addr{Kind: inKind, Payload: [32]byte{byte(i + 1)}}}}}
		funding = append(funding, f)
		tx.Inputs = append(tx.Inputs, store.Input{Kind: store.InputKnown, Prev: store.OutPoint{Tx: f.Num}})
		sum += v
	}
	for j, v := range outs {
		tx.Outputs = append(tx.Outputs, store.Output{Value: v, Addr: address.Addr{Kind: outKind, Payload: [32]byte{byte(100 + j)}}})
		sum -= v
	}
	if opReturn {
		tx.Outputs = append(tx.Outputs, store.Output{Addr: address.Addr{Kind: address.OpReturn}})
	}
	tx.Fee = sum
	return tx, funding
}

func TestDetect(t *testing.T) {
	rep := func(v int64, n int) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	cat := func(a ...[]int64) []int64 {
		var out []int64
		for _, x := range a {
			out = append(out, x...)
		}
		return out
	}
	// A WabiSabi round: 30 inputs; outputs of standard denominations
	// (2^20, 2·10^5, 3^11, 5·10^6), some repeated, and a few changes.
	wabiOuts := cat(rep(1_048_576, 8), rep(200_000, 6), rep(177_147, 4), rep(5_000_000, 3), []int64{123_457, 98_765, 4_321_987})
	W := address.P2WPKH
	tests := []struct {
		name     string
		ins      []int64
		inKind   address.Kind
		outs     []int64
		outKind  address.Kind
		opReturn bool
		want     string // Detect
		multi    bool   // MultiOwner says so
	}{
		{"payment", []int64{5e7}, W, []int64{3e7, 1e7}, W, false, "", false},
		{"tx0: 5 premixes of the 0.01 pool", []int64{8e7}, W, cat([]int64{50_000}, rep(1_001_100, 5), []int64{74_000_000}), W, true, cluster.KindTx0, false},
		{"tx0 needs its OP_RETURN", []int64{8e7}, W, cat([]int64{50_000}, rep(1_001_100, 5), []int64{74_000_000}), W, false, "", false},
		{"tx0 has at most two other outputs", []int64{8e7}, W, cat([]int64{50_000, 60_000, 70_000}, rep(1_001_100, 2)), W, true, "", false},
		{"tx0 premix allowance is bounded", []int64{8e7}, W, cat([]int64{50_000}, rep(1_060_000, 5)), W, true, "", false},
		{"whirlpool round", rep(1_001_100, 5), W, rep(1_000_000, 5), W, false, cluster.ShapeWhirlpool, true},
		{"wabisabi", rep(2_000_000, 30), W, wabiOuts, W, false, cluster.ShapeWabiSabi, true},
		{"wabisabi needs 20 inputs (JoinMarket-like then)", rep(3_000_000, 19), W, wabiOuts, W, false, cluster.ShapeJoinMarket, true},
		{"wabisabi needs standard values", rep(2_000_000, 30), W, cat(rep(1_048_577, 2), []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}), W, false, "", false},
		{"stonewall", []int64{3e7, 2e7}, W, []int64{1e7, 1e7, 1.9e7, 1.09e7}, W, false, cluster.ShapeStonewall, true},
		{"two pairs are no stonewall", []int64{3e7, 2e7}, W, []int64{1e7, 1e7, 1.4e7, 1.4e7}, W, false, cluster.ShapeEqualSplit, true},
		{"joinmarket", []int64{3e7, 3e7, 3e7, 4e6}, W, cat(rep(2e7, 3), []int64{9e6, 9.5e6}), W, false, cluster.ShapeJoinMarket, true},
		// Sender 1 BTC, receiver 0.2: 0.5 to the receiver, 0.69999 change; the larger input pays the larger output and the fee.
		{"payjoin", []int64{1e8, 2e7}, W, []int64{5e7, 69_999_000}, W, false, cluster.ShapePayJoin, true},
		{"payjoin needs one script type", []int64{1e8, 2e7}, address.P2PKH, []int64{5e7, 69_999_000}, W, false, "", false},
		{"a needed second input is no payjoin", []int64{6e7, 5e7}, W, []int64{1e8, 9_999_000}, W, false, "", false},
		{"payjoin has no OP_RETURN", []int64{1e8, 2e7}, W, []int64{5e7, 69_999_000}, W, true, "", false},
		{"consolidation", rep(1e6, 10), W, []int64{9_990_000}, W, false, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tx, funding := handTx(tc.ins, tc.inKind, tc.outs, tc.outKind, tc.opReturn)
			if got := cluster.Detect(tx, funding); got != tc.want {
				t.Errorf("Detect = %q, want %q", got, tc.want)
			}
			if got := cluster.MultiOwner(tx, funding) != ""; got != tc.multi {
				t.Errorf("MultiOwner = %v, want %v", got, tc.multi)
			}
			// Without input values PayJoin cannot be told: CoinJoin never names it.
			if got := cluster.CoinJoin(tx); got == cluster.ShapePayJoin || got == cluster.KindTx0 {
				t.Errorf("CoinJoin = %q", got)
			}
		})
	}
	unknown, funding := handTx([]int64{1e8, 2e7}, W, []int64{5e7, 69_999_000}, W, false)
	funding[1] = nil
	if got := cluster.Detect(unknown, funding); got != "" {
		t.Errorf("payjoin with an unknown input: %q", got)
	}
}

func TestWabiSabiDenominations(t *testing.T) {
	for v, want := range map[int64]bool{5000: true, 4096: false, 8192: true, 6561: true, 13122: true, 10_000: true,
		20_000: true, 50_000: true, 1_000_000: true, 134_375_000_000: true, 12_345: false, 100_001: false, 4 * 3: false} {
		if got := cluster.IsWabiSabiDenomination(v); got != want {
			t.Errorf("%d: %v, want %v", v, got, want)
		}
	}
}
