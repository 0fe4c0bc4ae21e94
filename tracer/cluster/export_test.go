package cluster

import (
	"errors"
	"slices"

	"github.com/tracer-oss/tracer/store"
)

// Forest is the union-find a pass drives, for the reference test.
type Forest = forest

// RunWith clusters the stored transactions before to into f with the
// options' rules and guard, as Run does into the store.
func RunWith(st *store.Store, opt Options, f Forest, to store.TxNum) error {
	rules := slices.Clone(opt.Change)
	slices.Sort(rules)
	p := &pass{w: f, st: st, opt: opt, rules: rules, res: &Result{CoinJoins: map[string]int64{}, Change: map[Rule]int64{}}}
	for _, r := range rules {
		p.peeling = p.peeling || r == RulePeeling
	}
	err := st.ForEachTxFunding(0, func(tx *store.Tx, funding []*store.Tx) error {
		if tx.Num >= to {
			return errStop
		}
		if err := p.tx(tx, spentOf(tx, funding)); err != nil {
			return err
		}
		f.State().NextTx = tx.Num + 1
		return nil
	})
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}
