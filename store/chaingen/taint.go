package chaingen

import (
	"math/big"
	"sort"
)

// TaintModel names a rule for splitting a transaction's incoming taint over
// its outputs.
type TaintModel string

// The taint models the truth records, in the order of TaintModels.
const (
	Poison  TaintModel = "poison"
	Haircut TaintModel = "haircut"
	FIFO    TaintModel = "fifo"
	LIFO    TaintModel = "lifo"
	TIHO    TaintModel = "tiho"
)

// TaintModels lists every model in a stable order.
var TaintModels = []TaintModel{Poison, Haircut, FIFO, LIFO, TIHO}

// Coin is one transaction input for taint propagation: its value and the
// part of it that is tainted (0 <= Tainted <= Value), both in satoshi.
type Coin struct {
	Value   int64
	Tainted int64
}

// Limits that keep every sum in int64: 21M BTC per value, and at most a
// million inputs or outputs (far beyond what a 4M-weight block can hold).
const (
	maxMoney      = 21_000_000 * 100_000_000
	maxTaintItems = 1_000_000
)

// Propagate splits the taint of a transaction's inputs over its outputs
// under model m. It returns the tainted amount of each output (in order) and
// the fee's share. This is the independent reference calculator the ground
// truth is computed with; the rules are:
//
// For a tx with inputs in order (value v_i, tainted t_i) and outputs in order
// (value w_j), V=Σv, W=Σw, fee F=V−W, T=Σt.
//   - poison: if T>0 every output is fully tainted (and the fee share is F);
//     poison creates taint, so it is the one model that does not conserve it.
//   - haircut: tainted(o_j)=floor(T*w_j/V) using big-int math; the remainder
//     T−Σ tainted(o_j) is the fee's share.
//   - FIFO: lay inputs in order on [0,V), outputs in order on [0,W) then the
//     fee on [W,V); an output's taint is the tainted length overlapping its
//     interval. Within one input's interval its tainted part comes first:
//     input i covers [a_i, a_i+v_i) and its taint is [a_i, a_i+t_i).
//   - LIFO: the same but with the inputs laid in REVERSE order (outputs still
//     in order, fee last); within an input the tainted part still comes first.
//   - TIHO: T is assigned to outputs in descending value (ties: lower index
//     first), each up to its value; any rest goes to the fee.
//
// Worked example: inputs [3 tainted, 7 clean] → outputs [4,6], no fee:
// poison 4 and 6; haircut 1.2 and 1.8 (in satoshi: 3e8/7e8 → 1.2e8/1.8e8);
// FIFO 3 and 0; LIFO 0 and 3; TIHO 0 and 3.
//
// Every model except poison conserves taint: Σ outputs + fee share = T.
// Propagate returns ErrBadTaintInput when values are negative or above 21M
// BTC, a coin's taint exceeds its value, or outputs exceed inputs.
func Propagate(m TaintModel, ins []Coin, outs []int64) (outTaint []int64, feeTaint int64, err error) {
	V, W, T, err := taintTotals(ins, outs)
	if err != nil {
		return nil, 0, err
	}
	F := V - W
	outTaint = make([]int64, len(outs))
	switch m {
	case Poison:
		if T > 0 {
			copy(outTaint, outs)
			feeTaint = F
		}
		return outTaint, feeTaint, nil
	case Haircut:
		if T == 0 || V == 0 {
			return outTaint, 0, nil
		}
		return outTaint, T - haircutRef(outTaint, outs, T, V), nil
	case FIFO, LIFO:
		return outTaint, T - intervalsRef(outTaint, ins, outs, m == LIFO), nil
	case TIHO:
		return outTaint, tihoRef(outTaint, outs, T), nil
	}
	return nil, 0, ErrUnknownModel
}

// taintTotals checks the coins and outputs and returns V, W and T.
func taintTotals(ins []Coin, outs []int64) (V, W, T int64, err error) {
	if len(ins) > maxTaintItems || len(outs) > maxTaintItems {
		return 0, 0, 0, ErrBadTaintInput
	}
	for _, c := range ins {
		if c.Value < 0 || c.Value > maxMoney || c.Tainted < 0 || c.Tainted > c.Value {
			return 0, 0, 0, ErrBadTaintInput
		}
		V += c.Value
		T += c.Tainted
	}
	for _, w := range outs {
		if w < 0 || w > maxMoney {
			return 0, 0, 0, ErrBadTaintInput
		}
		W += w
	}
	if W > V {
		return 0, 0, 0, ErrBadTaintInput
	}
	return V, W, T, nil
}

// haircutRef sets floor(T*w_j/V) in big-int math and returns their sum.
func haircutRef(outTaint, outs []int64, T, V int64) (sum int64) {
	bt, bv := big.NewInt(T), big.NewInt(V)
	var x big.Int
	for j, w := range outs {
		x.Mul(bt, big.NewInt(w))
		x.Quo(&x, bv)
		outTaint[j] = x.Int64()
		sum += outTaint[j]
	}
	return sum
}

// intervalsRef (FIFO, or LIFO when reverse) lays the tainted parts of the
// inputs on [0,V) and sets each output the tainted length overlapping its
// interval; it returns their sum.
func intervalsRef(outTaint []int64, ins []Coin, outs []int64, reverse bool) (sum int64) {
	order := make([]Coin, len(ins))
	copy(order, ins)
	if reverse {
		for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
			order[i], order[j] = order[j], order[i]
		}
	}
	// Tainted intervals on [0,V).
	type span struct{ a, b int64 }
	var spans []span
	var pos int64
	for _, c := range order {
		if c.Tainted > 0 {
			spans = append(spans, span{pos, pos + c.Tainted})
		}
		pos += c.Value
	}
	pos = 0
	for j, w := range outs {
		for _, s := range spans {
			lo, hi := max(pos, s.a), min(pos+w, s.b)
			if hi > lo {
				outTaint[j] += hi - lo
			}
		}
		sum += outTaint[j]
		pos += w
	}
	return sum
}

// tihoRef gives T to the outputs in descending value (ties: lower index
// first), each up to its value, and returns the rest.
func tihoRef(outTaint, outs []int64, T int64) (rest int64) {
	idx := make([]int, len(outs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return outs[idx[a]] > outs[idx[b]] })
	rest = T
	for _, j := range idx {
		n := min(rest, outs[j])
		outTaint[j] = n
		rest -= n
	}
	return rest
}
