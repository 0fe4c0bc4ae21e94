// Package taint implements the taint models tracer offers: how much of a
// transaction's tainted input value each output carries.
//
// For a transaction with inputs in order (value v_i, tainted t_i) and
// outputs in order (value w_j): V = Σv, W = Σw, fee F = V − W, T = Σt.
//
//   - Poison: if T > 0 every output is fully tainted (and the fee's share is
//     F). Poison copies taint, so it does not conserve it.
//   - Haircut: output j carries floor(T·w_j / V), computed exactly in 128-bit
//     integers; the rest of T (the fee's proportional share plus the
//     rounding remainders, never more than one satoshi per output) is the
//     fee's share. Rounding is always down, so no output is ever credited
//     with taint it did not receive.
//   - FIFO: inputs are laid in order on [0, V), the tainted part of a
//     partly tainted input at the start of its interval; outputs in order on
//     [0, W), then the fee on [W, V). An output carries the tainted length
//     overlapping its interval.
//   - LIFO: as FIFO with the inputs laid in reverse order (outputs still in
//     order, the fee last).
//   - TIHO (taint in, highest out): T goes to outputs in descending value
//     (ties: lower index first), each up to its value; any rest is the fee's.
//
// Worked example, inputs [3 tainted, 7 clean] → outputs [4, 6], no fee:
// poison 4 and 6; haircut 1.2 and 1.8; FIFO 3 and 0; LIFO 0 and 3; TIHO 0
// and 3.
//
// With FeesTainted the fee is paid from tainted value first: the fee's
// share is min(T, F) and the outputs share T − min(T, F) by the model as if
// the transaction paid no fee (for FIFO and LIFO the fee is taken from the
// tainted parts of the inputs in input order, then from the clean parts).
//
// Every model except poison conserves taint exactly: Σ output taint + fee
// share = T.
package taint

import (
	"errors"
	"fmt"
	"math/bits"
	"sort"
	"strings"
)

// Model is a taint model.
type Model uint8

const (
	Poison Model = iota
	Haircut
	FIFO
	LIFO
	TIHO
)

// Models lists every model in a fixed order.
var Models = []Model{Poison, Haircut, FIFO, LIFO, TIHO}

var names = []string{"poison", "haircut", "fifo", "lifo", "tiho"}

func (m Model) String() string {
	if int(m) < len(names) {
		return names[m]
	}
	return fmt.Sprintf("model(%d)", uint8(m))
}

// ErrUnknownModel is a model name tracer does not know.
var ErrUnknownModel = errors.New("taint: unknown model")

// ErrBadInput is a transaction whose values do not add up.
var ErrBadInput = errors.New("taint: bad input")

// Parse returns the model named s ("proportional" is haircut).
func Parse(s string) (Model, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "proportional", "haircut":
		return Haircut, nil
	}
	for i, n := range names {
		if strings.EqualFold(s, n) {
			return Model(i), nil
		}
	}
	return 0, fmt.Errorf("%w %q (one of %s)", ErrUnknownModel, s, strings.Join(names, ", "))
}

// Coin is an input: its value and the tainted part of it.
type Coin struct {
	Value   int64
	Tainted int64
}

// Propagate returns the taint of each output and the fee's share. out must
// have len(outs) elements; it is returned (allocated when nil).
func Propagate(m Model, ins []Coin, outs []int64, feesTainted bool, out []int64) ([]int64, int64, error) {
	if out == nil || len(out) != len(outs) {
		out = make([]int64, len(outs))
	}
	for j := range out {
		out[j] = 0
	}
	V, W, T, err := totals(ins, outs)
	if err != nil {
		return out, 0, err
	}
	F := V - W
	if T == 0 {
		return out, 0, nil
	}
	if m == Poison {
		copy(out, outs)
		return out, F, nil
	}
	var fee int64
	if feesTainted {
		fee = min(T, F)
		T -= fee
		if m == FIFO || m == LIFO {
			ins = withoutFee(ins, F)
		}
		V = W
	}
	switch m {
	case Haircut:
		fee += T - haircut(out, outs, T, V)
	case FIFO, LIFO:
		fee += T - inOrder(out, ins, outs, m == LIFO)
	case TIHO:
		fee += highestFirst(out, outs, T)
	default:
		return out, 0, fmt.Errorf("%w %d", ErrUnknownModel, m)
	}
	return out, fee, nil
}

// totals are the inputs' value V, the outputs' value W and the inputs'
// tainted value T, or ErrBadInput for a negative value, a tainted part
// above its input or outputs above the inputs.
func totals(ins []Coin, outs []int64) (V, W, T int64, err error) {
	for _, c := range ins {
		if c.Value < 0 || c.Tainted < 0 || c.Tainted > c.Value {
			return 0, 0, 0, fmt.Errorf("%w: input value %d tainted %d", ErrBadInput, c.Value, c.Tainted)
		}
		V += c.Value
		T += c.Tainted
	}
	for _, w := range outs {
		if w < 0 {
			return 0, 0, 0, fmt.Errorf("%w: output value %d", ErrBadInput, w)
		}
		W += w
	}
	if W > V {
		return 0, 0, 0, fmt.Errorf("%w: outputs %d exceed inputs %d", ErrBadInput, W, V)
	}
	return V, W, T, nil
}

// withoutFee takes the fee F from the inputs' tainted parts in input
// order, then from their clean parts, so FIFO and LIFO lay the inputs out
// without a fee interval. ins is not changed.
func withoutFee(ins []Coin, F int64) []Coin {
	adj := make([]Coin, len(ins))
	copy(adj, ins)
	left := F
	for i := range adj {
		d := min(left, adj[i].Tainted)
		adj[i].Tainted -= d
		adj[i].Value -= d
		left -= d
	}
	for i := range adj {
		d := min(left, adj[i].Value-adj[i].Tainted)
		adj[i].Value -= d
		left -= d
	}
	return adj
}

// HaircutSpread is Propagate(Haircut, ins, outs, false, out) for inputs worth V
// in all, T of them tainted, once the caller has checked what Propagate
// checks (0 ≤ T ≤ V, no output negative, the outputs at most V): for a
// caller that spreads many taints over the same outputs (one per source
// group). out is reused when its length fits.
func HaircutSpread(out, outs []int64, T, V int64) []int64 {
	if len(out) != len(outs) {
		out = make([]int64, len(outs))
	}
	if T == 0 {
		clear(out)
		return out
	}
	haircut(out, outs, T, V)
	return out
}

// haircut gives each output its value's share T·w/V of the taint, rounded
// down, and returns the taint given.
func haircut(out, outs []int64, T, V int64) (sum int64) {
	if V <= 0 {
		return 0
	}
	for j, w := range outs {
		hi, lo := bits.Mul64(uint64(T), uint64(w))
		q, _ := bits.Div64(hi, lo, uint64(V)) // T·w/V ≤ T fits
		out[j] = int64(q)
		sum += out[j]
	}
	return sum
}

// inOrder lays the inputs (tainted part first; last first when lifo) and
// the outputs end to end and gives each output the tainted intervals it
// overlaps; it returns the taint given.
func inOrder(out []int64, ins []Coin, outs []int64, lifo bool) (assigned int64) {
	var pos int64
	j, jStart := 0, int64(0)
	for k := range ins {
		i := k
		if lifo {
			i = len(ins) - 1 - k
		}
		c := ins[i]
		a, b := pos, pos+c.Tainted
		pos += c.Value
		for a < b && j < len(outs) {
			jEnd := jStart + outs[j]
			if jEnd <= a {
				jStart = jEnd
				j++
				continue
			}
			ov := min(b, jEnd) - max(a, jStart)
			if ov > 0 {
				out[j] += ov
				assigned += ov
			}
			if jEnd > b {
				break
			}
			jStart = jEnd
			j++
		}
	}
	return assigned
}

// highestFirst (TIHO) fills the outputs with the taint T, largest output
// first; it returns the taint left over, the fee's.
func highestFirst(out, outs []int64, T int64) (left int64) {
	idx := make([]int, len(outs))
	for j := range idx {
		idx[j] = j
	}
	sort.SliceStable(idx, func(a, b int) bool { return outs[idx[a]] > outs[idx[b]] })
	left = T
	for _, j := range idx {
		d := min(left, outs[j])
		out[j] = d
		left -= d
	}
	return left
}
