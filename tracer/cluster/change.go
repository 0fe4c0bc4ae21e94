package cluster

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
)

// Rule is a change heuristic: a guess of which output of a transaction pays
// the spender back, which then joins the spender's entity. Every rule is
// off unless asked for, and all are conservative: a transaction where the
// rule finds no single candidate, or where enabled rules disagree, links
// nothing.
type Rule string

const (
	// RuleOneTime: exactly one output goes to an address never paid
	// before this transaction (and only once in it), and no output pays an
	// input address back (Meiklejohn et al.'s fresh change address).
	RuleOneTime Rule = "one-time"
	// RuleOptimal: exactly one output is smaller than the smallest input
	// (a wallet would not have added that input for a smaller payment);
	// every input must be known.
	RuleOptimal Rule = "optimal"
	// RuleAddressType: every input address is of one type and exactly one
	// output is of that type.
	RuleAddressType Rule = "address-type"
	// RulePeeling: a peel chain hop. A transaction with one input and two
	// outputs spends the larger output of a transaction that also had one
	// input and two outputs; that larger output, of the same address type
	// as its parent's input, was the parent's change, so its address joins
	// the parent's input address.
	RulePeeling Rule = "peeling"
)

// Rules lists every change rule.
var Rules = []Rule{RuleOneTime, RuleOptimal, RuleAddressType, RulePeeling}

// ParseRules parses rule names, each maybe a comma-separated list, into a
// sorted set.
func ParseRules(names []string) ([]Rule, error) {
	var out []Rule
	for _, n := range names {
		for _, f := range strings.Split(n, ",") {
			f = strings.TrimSpace(strings.ToLower(f))
			if f == "" {
				continue
			}
			r := Rule(f)
			if !slices.Contains(Rules, r) {
				return nil, fmt.Errorf("%w %q (one of %s)", ErrRule, f, ruleNames(Rules))
			}
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

func ruleNames(rs []Rule) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

// clusterable reports whether a's kind names a single owner's address.
// Bare multisig and nonstandard scripts are not clustered.
func clusterable(a address.Addr) bool {
	switch a.Kind.Class() {
	case address.P2PKH, address.P2SH, address.P2WPKH, address.P2WSH, address.P2TR:
		return true
	}
	return false
}

// txView is a transaction with what its inputs spent.
type txView struct {
	tx     *store.Tx
	spent  []store.Spent  // what every input spends
	ins    []address.Addr // distinct clusterable input addresses, in input order
	allIns []store.Output // the spent output of every input; zero for unknown
	known  bool           // every input's spent output is known
	// seen holds ins by class and payload once they are too many to
	// search one by one (a consolidation of hundreds of inputs).
	seen map[address.Addr]struct{}
}

// manyIns is the number of distinct input addresses past which reset
// looks them up in a map instead of comparing with each.
const manyIns = 16

// reset makes v the view of tx, reusing its slices.
func (v *txView) reset(tx *store.Tx, spent []store.Spent) {
	*v = txView{tx: tx, spent: spent, known: true, ins: v.ins[:0], allIns: slices.Grow(v.allIns[:0], len(tx.Inputs))[:len(tx.Inputs)], seen: v.seen}
	clear(v.seen)
	for i := range tx.Inputs {
		if !spent[i].Known {
			v.allIns[i] = store.Output{}
			v.known = false
			continue
		}
		o := spent[i].Output
		v.allIns[i] = o
		if clusterable(o.Addr) && v.add(o.Addr) {
			v.ins = append(v.ins, o.Addr)
		}
	}
}

// add reports whether a is not yet in ins (as the same address: P2PK as
// its P2PKH), recording it in seen once ins is long.
func (v *txView) add(a address.Addr) bool {
	if len(v.ins) < manyIns {
		return !slices.ContainsFunc(v.ins, a.Same)
	}
	if v.seen == nil {
		v.seen = make(map[address.Addr]struct{})
	}
	if len(v.seen) == 0 {
		for _, b := range v.ins {
			v.seen[sameKey(b)] = struct{}{}
		}
	}
	k := sameKey(a)
	if _, ok := v.seen[k]; ok {
		return false
	}
	v.seen[k] = struct{}{}
	return true
}

// sameKey is a with its kind's class, so that addresses Same reports as
// one are one map key.
func sameKey(a address.Addr) address.Addr {
	a.Kind = a.Kind.Class()
	return a
}

// outputs are the indexes of outputs that are not OP_RETURN.
func (v *txView) outputs() []int {
	var out []int
	for i := range v.tx.Outputs {
		if v.tx.Outputs[i].Addr.Kind != address.OpReturn {
			out = append(out, i)
		}
	}
	return out
}

// seenFunc reports whether a was paid by a transaction before tx.
type seenFunc func(a address.Addr, tx store.TxNum) (bool, error)

// changeOutput applies the in-transaction rules; -1 when none links.
func changeOutput(v *txView, rules []Rule, seen seenFunc) (int, Rule, error) {
	outs := v.outputs()
	if len(outs) < 2 || len(v.ins) == 0 {
		return -1, "", nil
	}
	pick, by := -1, Rule("")
	for _, r := range rules {
		var idx int
		var err error
		switch r {
		case RuleOneTime:
			idx, err = oneTime(v, outs, seen)
		case RuleOptimal:
			idx = optimal(v, outs)
		case RuleAddressType:
			idx = addressType(v, outs)
		default:
			continue
		}
		if err != nil {
			return -1, "", err
		}
		if idx < 0 {
			continue
		}
		if pick >= 0 && pick != idx {
			return -1, "", nil // the rules disagree
		}
		if pick < 0 {
			pick, by = idx, r
		}
	}
	if pick >= 0 && !clusterable(v.tx.Outputs[pick].Addr) {
		return -1, "", nil
	}
	return pick, by, nil
}

func oneTime(v *txView, outs []int, seen seenFunc) (int, error) {
	fresh := -1
	for _, i := range outs {
		a := v.tx.Outputs[i].Addr
		if slices.ContainsFunc(v.ins, a.Same) {
			return -1, nil // change back to an input address: no fresh-change guess
		}
		dup := false
		for _, j := range outs {
			if j != i && v.tx.Outputs[j].Addr.Same(a) {
				dup = true
			}
		}
		if dup {
			continue
		}
		s, err := seen(a, v.tx.Num)
		if err != nil {
			return -1, err
		}
		if !s {
			if fresh >= 0 {
				return -1, nil
			}
			fresh = i
		}
	}
	return fresh, nil
}

func optimal(v *txView, outs []int) int {
	if !v.known || len(v.allIns) == 0 {
		return -1
	}
	minIn := v.allIns[0].Value
	for _, o := range v.allIns {
		minIn = min(minIn, o.Value)
	}
	idx := -1
	for _, i := range outs {
		if v.tx.Outputs[i].Value < minIn {
			if idx >= 0 {
				return -1
			}
			idx = i
		}
	}
	return idx
}

func addressType(v *txView, outs []int) int {
	if !v.known {
		return -1
	}
	k := v.allIns[0].Addr.Kind.Class()
	for _, o := range v.allIns {
		if o.Addr.Kind.Class() != k {
			return -1
		}
	}
	idx := -1
	for _, i := range outs {
		if v.tx.Outputs[i].Addr.Kind.Class() == k {
			if idx >= 0 {
				return -1
			}
			idx = i
		}
	}
	return idx
}

// onePayment: a transaction spending one stored output into two (a
// coinbase is no peel hop).
func onePayment(p *store.Tx) bool {
	return !p.Coinbase && len(p.Inputs) == 1 && p.Inputs[0].Kind == store.InputKnown && len(p.Outputs) == 2
}

// peeledOn: the output o the next hop spends is the larger of the two,
// to a clusterable address other than the other output's.
func peeledOn(o, other store.Output) bool {
	return o.Value > other.Value && !o.Addr.Same(other.Addr) && clusterable(o.Addr)
}

// peelingLink returns the parent's input address and the spent output's
// address when v is a peel hop (see RulePeeling).
func peelingLink(v *txView, txByNum func(store.TxNum) (*store.Tx, error)) (address.Addr, address.Addr, bool, error) {
	tx := v.tx
	if len(tx.Inputs) != 1 || len(v.outputs()) != 2 || !v.spent[0].Known {
		return address.Addr{}, address.Addr{}, false, nil
	}
	p, err := txByNum(tx.Inputs[0].Prev.Tx)
	if err != nil {
		return address.Addr{}, address.Addr{}, false, err
	}
	if !onePayment(p) {
		return address.Addr{}, address.Addr{}, false, nil
	}
	vout := tx.Inputs[0].Prev.Vout
	o, other := p.Outputs[vout], p.Outputs[1-vout]
	if !peeledOn(o, other) {
		return address.Addr{}, address.Addr{}, false, nil
	}
	g, err := txByNum(p.Inputs[0].Prev.Tx)
	if err != nil {
		return address.Addr{}, address.Addr{}, false, err
	}
	if int(p.Inputs[0].Prev.Vout) >= len(g.Outputs) {
		return address.Addr{}, address.Addr{}, false, fmt.Errorf("%w: tx %d spends past the outputs of %d", store.ErrCorrupt, p.Num, g.Num)
	}
	in := g.Outputs[p.Inputs[0].Prev.Vout].Addr
	if !clusterable(in) || in.Kind.Class() != o.Addr.Kind.Class() {
		return address.Addr{}, address.Addr{}, false, nil
	}
	return in, o.Addr, true, nil
}
