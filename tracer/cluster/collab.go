package cluster

import (
	"github.com/tracer-oss/tracer/store"
)

// Kinds Detect names besides the CoinJoin shapes.
const (
	// KindTx0 is Whirlpool's premix transaction (Tx0): an OP_RETURN, at
	// least two outputs of one value just above a Whirlpool pool
	// denomination (the premixes) and at most two others (the
	// coordinator's fee and the change). It has one owner: it is
	// clustered as usual, and its premix outputs are where coins enter
	// Whirlpool.
	KindTx0 = "whirlpool-tx0"
)

// WhirlpoolPools are Whirlpool's pool denominations (sat).
var WhirlpoolPools = []int64{100_000, 1_000_000, 5_000_000, 50_000_000}

// maxPremixExcess bounds a premix output's mining-fee allowance above its
// pool's denomination.
const maxPremixExcess = 50_000

// isTx0 applies the KindTx0 rule to a transaction's output values.
func isTx0(opReturn bool, values []int64) bool {
	if !opReturn || len(values) < 3 {
		return false
	}
	counts := map[int64]int{}
	for _, v := range values {
		for _, d := range WhirlpoolPools {
			if v > d && v <= d+maxPremixExcess {
				counts[v]++
			}
		}
	}
	for _, c := range counts {
		if c >= 2 && len(values)-c <= 2 {
			return true
		}
	}
	return false
}

// Detect names the collaborative (or collaborative-looking) kind of tx:
// KindTx0, one of the CoinJoin shapes (see CoinJoin) or ShapePayJoin (see
// MultiOwner), or "" for an ordinary transaction. funding[i] is the
// transaction input i spends (nil when unknown), as ForEachTxFunding
// gives it.
func Detect(tx *store.Tx, funding []*store.Tx) string {
	if tx.Coinbase {
		return ""
	}
	values, opReturn := outputValues(tx)
	if isTx0(opReturn, values) {
		return KindTx0
	}
	return MultiOwner(tx, funding)
}

// MultiOwner returns the shape of tx when its inputs may belong to
// several owners, so that the multi-input heuristic must skip it: a
// CoinJoin shape (see CoinJoin) or ShapePayJoin.
//
// payjoin (BIP78, Ficsór's unnecessary-input heuristic UIH2): exactly 2
// inputs and 2 outputs (no OP_RETURN), all four of one script type, every
// input's value known, and the larger input alone pays the larger output
// and the fee. A wallet paying on its own would not have added the other
// input; in a PayJoin the receiver did. Ordinary payments by wallets that
// add unnecessary inputs match too: they are skipped (recall lost), while
// PayJoins whose sender input is the smaller pass as ordinary payments
// (precision lost); the accuracy figures in the README count both.
func MultiOwner(tx *store.Tx, funding []*store.Tx) string {
	return multiOwner(tx, spentOf(tx, funding))
}

// spentOf is what the inputs of tx spend, from their funding transactions
// (nil: unknown).
func spentOf(tx *store.Tx, funding []*store.Tx) []store.Spent {
	spent := make([]store.Spent, len(funding))
	for i, f := range funding {
		if i >= len(tx.Inputs) {
			break
		}
		in := tx.Inputs[i]
		if f != nil && in.Kind == store.InputKnown && int(in.Prev.Vout) < len(f.Outputs) {
			spent[i] = store.Spent{Output: f.Outputs[in.Prev.Vout], Known: true}
		}
	}
	return spent
}

func multiOwner(tx *store.Tx, spent []store.Spent) string {
	if len(tx.Inputs) < 2 {
		return "" // every shape, PayJoin too, has at least 2 inputs
	}
	if s := CoinJoin(tx); s != "" {
		return s
	}
	if isPayJoin(tx, spent) {
		return ShapePayJoin
	}
	return ""
}

func isPayJoin(tx *store.Tx, spent []store.Spent) bool {
	if tx.Coinbase || len(tx.Inputs) != 2 || len(tx.Outputs) != 2 || len(spent) != 2 || !tx.FeeKnown {
		return false
	}
	class := tx.Outputs[0].Addr.Kind.Class()
	if tx.Outputs[1].Addr.Kind.Class() != class || !clusterable(tx.Outputs[0].Addr) {
		return false
	}
	var maxIn int64
	for i, in := range tx.Inputs {
		if !spent[i].Known || in.Kind != store.InputKnown {
			return false
		}
		o := spent[i].Output
		if o.Addr.Kind.Class() != class {
			return false
		}
		maxIn = max(maxIn, o.Value)
	}
	maxOut := max(tx.Outputs[0].Value, tx.Outputs[1].Value)
	return maxIn >= maxOut+tx.Fee
}
