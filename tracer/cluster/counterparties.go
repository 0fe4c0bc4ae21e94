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
	t := &tally{st: st, c: st.Clusters(), in: map[address.Addr]bool{},
		from: map[ownerKey]*Counterparty{}, to: map[ownerKey]*Counterparty{}}
	for _, a := range members {
		t.in[norm(a)] = true
	}
	paying, spending, err := entityTxs(st, members)
	if err != nil {
		return Counterparties{}, err
	}
	for _, n := range paying {
		if err := t.creditPayer(n); err != nil {
			return Counterparties{}, err
		}
	}
	for _, n := range spending {
		if err := t.creditPayees(n); err != nil {
			return Counterparties{}, err
		}
	}
	return Counterparties{From: topOf(t.from, top), To: topOf(t.to, top)}, nil
}

// ownerKey is an owner: a cluster, or an address in none.
type ownerKey struct {
	root store.AddrID
	addr address.Addr // when root is 0
}

// tally counts one entity's counterparties.
type tally struct {
	st       *store.Store
	c        *store.Clusters
	in       map[address.Addr]bool // the entity's members (norm)
	from, to map[ownerKey]*Counterparty
}

// entityTxs are the transactions paying the entity and those spending
// from it, once each, in chain order.
func entityTxs(st *store.Store, members []address.Addr) (paying, spending []store.TxNum, err error) {
	pay, spend := map[store.TxNum]bool{}, map[store.TxNum]bool{}
	for _, a := range members {
		err := st.AddressOutputs(a, store.OutPoint{}, func(o store.AddrOutput) bool {
			pay[o.Tx] = true
			if o.Spent {
				spend[o.SpentBy.Tx] = true
			}
			return true
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return sortedNums(pay), sortedNums(spend), nil
}

// owner is the cluster of a, or a itself when it is in none.
func (t *tally) owner(a address.Addr) (ownerKey, error) {
	id, ok, err := t.c.Lookup(a)
	if err != nil || !ok {
		return ownerKey{addr: norm(a)}, err
	}
	root, _, err := t.c.Root(id)
	return ownerKey{root: root}, err
}

// credit counts one transaction carrying v to owner k in m (a names a
// new counterparty).
func credit(m map[ownerKey]*Counterparty, k ownerKey, a address.Addr, v int64) {
	cp := m[k]
	if cp == nil {
		cp = &Counterparty{Root: k.root, Address: a}
		m[k] = cp
	}
	cp.Txs++
	cp.Value += v
}

// creditPayer credits what tx n paid the entity to the owner of its first
// input that is not the entity's.
func (t *tally) creditPayer(n store.TxNum) error {
	tx, err := t.st.TxByNum(n)
	if err != nil {
		return err
	}
	var paid int64
	for _, o := range tx.Outputs {
		if t.in[norm(o.Addr)] {
			paid += o.Value
		}
	}
	for _, inp := range tx.Inputs {
		if inp.Kind != store.InputKnown {
			continue
		}
		prev, err := t.st.TxByNum(inp.Prev.Tx)
		if err != nil {
			return err
		}
		if int(inp.Prev.Vout) >= len(prev.Outputs) {
			return store.ErrCorrupt
		}
		if a := prev.Outputs[inp.Prev.Vout].Addr; !t.in[norm(a)] && a.Kind.HasAddress() {
			k, err := t.owner(a)
			if err != nil {
				return err
			}
			credit(t.from, k, a, paid)
			return nil
		}
	}
	return nil
}

// creditPayees credits each owner of tx n's outputs outside the entity
// what they carry, once per owner.
func (t *tally) creditPayees(n store.TxNum) error {
	tx, err := t.st.TxByNum(n)
	if err != nil {
		return err
	}
	per := map[ownerKey]int64{}
	first := map[ownerKey]address.Addr{}
	var order []ownerKey
	for _, o := range tx.Outputs {
		if t.in[norm(o.Addr)] || !o.Addr.Kind.HasAddress() {
			continue
		}
		k, err := t.owner(o.Addr)
		if err != nil {
			return err
		}
		if _, ok := per[k]; !ok {
			order = append(order, k)
			first[k] = o.Addr
		}
		per[k] += o.Value
	}
	for _, k := range order {
		credit(t.to, k, first[k], per[k])
	}
	return nil
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
