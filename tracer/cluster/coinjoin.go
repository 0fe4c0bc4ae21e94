package cluster

import (
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/address"
)

// CoinJoin shapes. Their inputs belong to several owners, so the
// multi-input heuristic must not merge them.
const (
	ShapeWhirlpool  = "whirlpool"   // exactly 5 inputs and 5 outputs, all of one value
	ShapeWasabi     = "wasabi"      // ≥ 10 inputs, ≥ 10 outputs of one value within 0.09–0.11 BTC
	ShapeJoinMarket = "joinmarket"  // n ≥ 3 outputs of one value and ≥ n inputs
	ShapeEqualSplit = "equal-split" // the most common value appears exactly ⌊(outputs+1)/2⌋ ≤ inputs times
)

// CoinJoin returns the CoinJoin shape tx matches, or "" for none. Outputs
// are counted without OP_RETURN outputs. The rules, checked in this order:
//
//   - every shape needs at least 2 inputs and 3 outputs;
//   - whirlpool: exactly 5 inputs and 5 outputs, all of one value;
//   - wasabi: at least 10 inputs and at least 10 outputs of one value between
//     9,000,000 and 11,000,000 sat (the ~0.1 BTC denomination);
//   - joinmarket: the most common output value appears n ≥ 3 times and there
//     are at least n inputs;
//   - equal-split (BlockSci's rule): with p = ⌊(outputs+1)/2⌋ ≤ inputs, the
//     most common output value appears exactly p times.
//
// For joinmarket and equal-split the common value must not be 546 or 2730
// sat (dust outputs of token protocols, not mixing).
func CoinJoin(tx *store.Tx) string {
	if tx.Coinbase {
		return ""
	}
	values := make([]int64, 0, len(tx.Outputs))
	for i := range tx.Outputs {
		if tx.Outputs[i].Addr.Kind != address.OpReturn {
			values = append(values, tx.Outputs[i].Value)
		}
	}
	return coinJoinShape(len(tx.Inputs), values)
}

func coinJoinShape(nIn int, values []int64) string {
	nOut := len(values)
	if nIn < 2 || nOut < 3 {
		return ""
	}
	counts := make(map[int64]int, nOut)
	for _, v := range values {
		counts[v]++
	}
	var common int64
	n, wasabi := 0, 0
	for v, c := range counts {
		if c > n || c == n && v > common {
			common, n = v, c
		}
		if v >= 9_000_000 && v <= 11_000_000 {
			wasabi = max(wasabi, c)
		}
	}
	switch {
	case nIn == 5 && nOut == 5 && n == 5:
		return ShapeWhirlpool
	case nIn >= 10 && wasabi >= 10:
		return ShapeWasabi
	case common == 546 || common == 2730:
		return ""
	case n >= 3 && nIn >= n:
		return ShapeJoinMarket
	case n == (nOut+1)/2 && n <= nIn:
		return ShapeEqualSplit
	}
	return ""
}
