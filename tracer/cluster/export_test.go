package cluster

import (
	"slices"

	"github.com/tracer-oss/tracer/store"
)

// Forest is the union-find a pass drives, for the reference test.
type Forest = forest

// RunWith clusters every stored transaction into f with the options' rules
// and guard, as Run does into the store.
func RunWith(st *store.Store, opt Options, f Forest) error {
	rules := slices.Clone(opt.Change)
	slices.Sort(rules)
	p := &pass{w: f, st: st, opt: opt, rules: rules, res: &Result{CoinJoins: map[string]int64{}, Change: map[Rule]int64{}}}
	for _, r := range rules {
		p.peeling = p.peeling || r == RulePeeling
	}
	return st.ForEachTxFunding(0, func(tx *store.Tx, funding []*store.Tx) error {
		if err := p.tx(tx, funding); err != nil {
			return err
		}
		f.State().NextTx = tx.Num + 1
		return nil
	})
}
