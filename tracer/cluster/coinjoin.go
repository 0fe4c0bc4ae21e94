package cluster

import (
	"slices"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
)

// CoinJoin shapes. Their inputs belong to several owners, so the
// multi-input heuristic must not merge them.
const (
	ShapeWhirlpool  = "whirlpool"   // exactly 5 inputs and 5 outputs, all of one value
	ShapeWabiSabi   = "wabisabi"    // ≥ 20 inputs, ≥ 20 outputs, at least half of Wasabi 2's standard denominations
	ShapeWasabi     = "wasabi"      // ≥ 10 inputs, ≥ 10 outputs of one value within 0.09–0.11 BTC
	ShapeStonewall  = "stonewall"   // ≥ 2 inputs, 4 outputs: one pair of equal value, two other values
	ShapeJoinMarket = "joinmarket"  // n ≥ 3 outputs of one value and ≥ n inputs
	ShapeEqualSplit = "equal-split" // the most common value appears exactly ⌊(outputs+1)/2⌋ ≤ inputs times
	ShapePayJoin    = "payjoin"     // 2 inputs, 2 outputs of one script type, an unnecessary input (needs input values)
)

// CoinJoin returns the CoinJoin shape tx matches, or "" for none. Outputs
// are counted without OP_RETURN outputs. The rules, checked in this order:
//
//   - every shape needs at least 2 inputs and 3 outputs;
//   - a Whirlpool Tx0 (see Detect) is no CoinJoin: it has one owner;
//   - whirlpool: exactly 5 inputs and 5 outputs, all of one value;
//   - wabisabi: at least 20 inputs and 20 outputs, at least half of the
//     outputs worth a Wasabi 2 standard denomination (see
//     IsWabiSabiDenomination) and some denomination appearing at least twice;
//   - wasabi: at least 10 inputs and at least 10 outputs of one value between
//     9,000,000 and 11,000,000 sat (the ~0.1 BTC denomination);
//   - stonewall: exactly 4 outputs, two of one value and two others, each
//     different (Samourai's Stonewall, solo or STONEWALLx2: the two are
//     indistinguishable, so it is skipped as possibly two owners);
//   - joinmarket: the most common output value appears n ≥ 3 times and there
//     are at least n inputs;
//   - equal-split (BlockSci's rule): with p = ⌊(outputs+1)/2⌋ ≤ inputs, the
//     most common output value appears exactly p times.
//
// For joinmarket and equal-split the common value must not be 546 or 2730
// sat (dust outputs of token protocols, not mixing). PayJoin needs the
// values of the inputs: see MultiOwner.
func CoinJoin(tx *store.Tx) string {
	if tx.Coinbase {
		return ""
	}
	values, opReturn := outputValues(tx)
	if isTx0(opReturn, values) {
		return ""
	}
	return coinJoinShape(len(tx.Inputs), values)
}

func outputValues(tx *store.Tx) (values []int64, opReturn bool) {
	values = make([]int64, 0, len(tx.Outputs))
	for i := range tx.Outputs {
		if tx.Outputs[i].Addr.Kind != address.OpReturn {
			values = append(values, tx.Outputs[i].Value)
		} else {
			opReturn = true
		}
	}
	return values, opReturn
}

func coinJoinShape(nIn int, values []int64) string {
	nOut := len(values)
	if nIn < 2 || nOut < 3 {
		return ""
	}
	c := countValues(values)
	switch {
	case c.whirlpool(nIn, nOut):
		return ShapeWhirlpool
	case c.wabiSabi(nIn, nOut):
		return ShapeWabiSabi
	case nIn >= 10 && c.wasabi >= 10:
		return ShapeWasabi
	case c.stonewall(nOut):
		return ShapeStonewall
	case c.common == 546 || c.common == 2730:
		return "" // token protocols' dust, not mixing
	case c.n >= 3 && nIn >= c.n:
		return ShapeJoinMarket
	case c.n == (nOut+1)/2 && c.n <= nIn:
		return ShapeEqualSplit
	}
	return ""
}

// whirlpool: exactly 5 inputs and 5 outputs, all of one value.
func (c valueCounts) whirlpool(nIn, nOut int) bool { return nIn == 5 && nOut == 5 && c.n == 5 }

// wabiSabi: 20 or more inputs and outputs, at least half of the outputs
// worth a standard denomination, one of them at least twice.
func (c valueCounts) wabiSabi(nIn, nOut int) bool {
	return nIn >= 20 && nOut >= 20 && 2*c.standard >= nOut && c.repeated
}

// stonewall: 4 outputs, two of one value and two others, each different.
func (c valueCounts) stonewall(nOut int) bool { return nOut == 4 && c.n == 2 && c.distinct == 3 }

// valueCounts is what the CoinJoin rules ask of a transaction's output
// values.
type valueCounts struct {
	common   int64 // the most common value (the largest of equally common ones)
	n        int   // how many outputs are worth common
	wasabi   int   // the most outputs of one value within 0.09–0.11 BTC
	standard int   // outputs worth a Wasabi 2 standard denomination
	repeated bool  // some standard denomination appears at least twice
	distinct int   // distinct values
}

func countValues(values []int64) valueCounts {
	counts := make(map[int64]int, len(values))
	for _, v := range values {
		counts[v]++
	}
	r := valueCounts{distinct: len(counts)}
	for v, c := range counts {
		if c > r.n || c == r.n && v > r.common {
			r.common, r.n = v, c
		}
		if v >= 9_000_000 && v <= 11_000_000 {
			r.wasabi = max(r.wasabi, c)
		}
		if IsWabiSabiDenomination(v) {
			r.standard += c
			r.repeated = r.repeated || c >= 2
		}
	}
	return r
}

// wabiSabiDenoms are Wasabi 2's standard output denominations, the set
// Dumplings and BlockSci recognise its rounds by: 5,000 sat, and from
// 5,000 sat to 1,343.75 BTC the powers of 2, the powers of 3 and twice
// them, and 1, 2 and 5 times the powers of 10.
var wabiSabiDenoms = func() []int64 {
	const lo, hi = 5000, 134_375_000_000
	set := map[int64]bool{lo: true, hi: true}
	add := func(v int64) {
		if v >= lo && v <= hi {
			set[v] = true
		}
	}
	for v := int64(2); v <= hi; v *= 2 {
		add(v)
	}
	for v := int64(3); v <= hi; v *= 3 {
		add(v)
		add(2 * v)
	}
	for v := int64(10); v <= hi; v *= 10 {
		add(v)
		add(2 * v)
		add(5 * v)
	}
	out := make([]int64, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}()

// IsWabiSabiDenomination reports whether v sat is a Wasabi 2 standard
// denomination.
func IsWabiSabiDenomination(v int64) bool {
	_, ok := slices.BinarySearch(wabiSabiDenoms, v)
	return ok
}
