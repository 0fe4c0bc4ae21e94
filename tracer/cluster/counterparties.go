package cluster

import (
	"cmp"
	"slices"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
)

// Counterparty is an entity (a cluster, or an address in none) that paid
// an entity or was paid by it.
type Counterparty struct {
	Root    store.AddrID // its cluster; 0 for an address in no cluster
	Address address.Addr // the address seen first (the only one when Root is 0)
	Txs     int          // transactions between the two
	Value   int64        // satoshi paid (to the entity, or by it)
}

// Counterparties are an entity's top payers and payees.
type Counterparties struct {
	From []Counterparty // who paid the entity: the owners of the inputs of transactions paying it
	To   []Counterparty // whom it paid: the owners of outputs of its spending transactions, change excluded
}

// TopCounterparties lists, for an entity with these members, the top
// counterparties each way by value (at most top each). A transaction paying
// the entity is credited, with what it paid the entity's addresses, to the
// owner of its first input that is not the entity's (all of a
// transaction's inputs share an owner under the common-input rule); a
// transaction spending the entity's outputs pays each other owner what its
// outputs to that owner's addresses carry. Coinbase and pre-range inputs
// have no owner.
func TopCounterparties(st *store.Store, members []address.Addr, top int) (Counterparties, error) {
	c := st.Clusters()
	in := map[address.Addr]bool{}
	for _, a := range members {
		in[norm(a)] = true
	}
	// An owner is a cluster, or an address in none.
	type key struct {
		root store.AddrID
		addr address.Addr // when root is 0
	}
	owner := func(a address.Addr) (key, error) {
		id, ok, err := c.Lookup(a)
		if err != nil || !ok {
			return key{addr: norm(a)}, err
		}
		root, _, err := c.Root(id)
		return key{root: root}, err
	}
	from, to := map[key]*Counterparty{}, map[key]*Counterparty{}
	credit := func(m map[key]*Counterparty, k key, a address.Addr, v int64) {
		cp := m[k]
		if cp == nil {
			cp = &Counterparty{Root: k.root, Address: a}
			m[k] = cp
		}
		cp.Txs++
		cp.Value += v
	}
	// The transactions paying the entity and spending from it, once each.
	paying, spending := map[store.TxNum]bool{}, map[store.TxNum]bool{}
	for _, a := range members {
		err := st.AddressOutputs(a, store.OutPoint{}, func(o store.AddrOutput) bool {
			paying[o.Tx] = true
			if o.Spent {
				spending[o.SpentBy.Tx] = true
			}
			return true
		})
		if err != nil {
			return Counterparties{}, err
		}
	}
	for _, n := range sortedNums(paying) {
		tx, err := st.TxByNum(n)
		if err != nil {
			return Counterparties{}, err
		}
		var paid int64
		for _, o := range tx.Outputs {
			if in[norm(o.Addr)] {
				paid += o.Value
			}
		}
		for _, inp := range tx.Inputs {
			if inp.Kind != store.InputKnown {
				continue
			}
			prev, err := st.TxByNum(inp.Prev.Tx)
			if err != nil {
				return Counterparties{}, err
			}
			if int(inp.Prev.Vout) >= len(prev.Outputs) {
				return Counterparties{}, store.ErrCorrupt
			}
			if a := prev.Outputs[inp.Prev.Vout].Addr; !in[norm(a)] && a.Kind.HasAddress() {
				k, err := owner(a)
				if err != nil {
					return Counterparties{}, err
				}
				credit(from, k, a, paid)
				break
			}
		}
	}
	for _, n := range sortedNums(spending) {
		tx, err := st.TxByNum(n)
		if err != nil {
			return Counterparties{}, err
		}
		// One credit per owner and transaction.
		per := map[key]int64{}
		first := map[key]address.Addr{}
		var order []key
		for _, o := range tx.Outputs {
			if in[norm(o.Addr)] || !o.Addr.Kind.HasAddress() {
				continue
			}
			k, err := owner(o.Addr)
			if err != nil {
				return Counterparties{}, err
			}
			if _, ok := per[k]; !ok {
				order = append(order, k)
				first[k] = o.Addr
			}
			per[k] += o.Value
		}
		for _, k := range order {
			credit(to, k, first[k], per[k])
		}
	}
	return Counterparties{From: topOf(from, top), To: topOf(to, top)}, nil
}

// norm is the form membership is checked in: P2PK as its P2PKH.
func norm(a address.Addr) address.Addr {
	a.Kind = a.Kind.Class()
	return a
}

func sortedNums(m map[store.TxNum]bool) []store.TxNum {
	out := make([]store.TxNum, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// topOf returns the n largest by value, ties by cluster then address, so
// the list is the same on every run.
func topOf[K comparable](m map[K]*Counterparty, n int) []Counterparty {
	out := make([]Counterparty, 0, len(m))
	for _, c := range m {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Counterparty) int {
		if c := cmp.Compare(b.Value, a.Value); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Root, b.Root); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Address.Kind, b.Address.Kind); c != 0 {
			return c
		}
		return slices.Compare(a.Address.Payload[:], b.Address.Payload[:])
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}
