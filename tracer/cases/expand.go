package cases

import (
	"fmt"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer/graphview"
)

func (s *Service) addr(a string) (address.Addr, error) { return address.Parse(a, s.params) }

// expand adds to g one hop from e.Node: forward, the transactions spending
// a transaction's outputs (its unspent outputs as addresses) or an
// address's outputs; backward, the transactions funding a transaction's
// inputs or paying an address. At most MaxExpand neighbours are added.
func (s *Service) expand(g *graphview.Graph, e Expansion, timeOf func(int32) string) error {
	if s.chain == nil {
		return fmt.Errorf("%w: expanding needs the chain", ErrBadInput)
	}
	x := &expander{s: s, g: g, timeOf: timeOf, limit: s.MaxExpand}
	if x.limit <= 0 {
		x.limit = 500
	}
	if !isTxid(e.Node) {
		return x.address(e)
	}
	n, err := s.txNum(e.Node)
	if err != nil {
		return fmt.Errorf("%w: transaction %s: %v", ErrNotFound, e.Node, err)
	}
	tx, err := s.chain.TxByNum(n)
	if err != nil {
		return err
	}
	if e.Direction == "forward" {
		return x.spenders(n, tx)
	}
	return x.funders(tx)
}

// expander adds one expansion's nodes and edges to a case graph.
type expander struct {
	s      *Service
	g      *graphview.Graph
	timeOf func(int32) string
	limit  int // the most neighbours added
}

// txNode is the node id of t, added (with its outputs' value) if new.
func (x *expander) txNode(t *store.Tx) string {
	id := t.ID.String()
	n := x.g.Node(graphview.TxID(id))
	if n == nil {
		var v int64
		for _, o := range t.Outputs {
			v += o.Value
		}
		n = x.g.Add(graphview.Node{ID: graphview.TxID(id), Key: id, Kind: graphview.KindTx, Txid: id, Height: t.Height,
			Time: x.timeOf(t.Height), Value: v, Expanded: true})
	}
	return n.ID
}

// addrNode is the node id of address a, added if new.
func (x *expander) addrNode(a string, height int32) string {
	n := x.g.Node(graphview.AddrID(a))
	if n == nil {
		n = x.g.Add(graphview.Node{ID: graphview.AddrID(a), Key: a, Kind: graphview.KindAddress, Address: a, Height: height, Expanded: true})
	}
	return n.ID
}

func (x *expander) str(a address.Addr) string { return a.String(x.s.params) }

// spenders adds, forward from tx n, the transactions spending its outputs
// and its unspent outputs as addresses (OP_RETURN outputs of no value
// left out).
func (x *expander) spenders(n store.TxNum, tx *store.Tx) error {
	self := x.txNode(tx)
	sp, err := x.s.chain.Spenders(n)
	if err != nil {
		return err
	}
	added := 0
	for vout, o := range tx.Outputs {
		if added >= x.limit {
			break
		}
		if o.Value == 0 && o.Addr.Kind == address.OpReturn {
			continue
		}
		a := x.str(o.Addr)
		if in, ok := sp[uint32(vout)]; ok {
			st, err := x.s.chain.TxByNum(in.Tx)
			if err != nil {
				return err
			}
			x.g.AddEdge(graphview.Edge{From: self, To: x.txNode(st), Vout: uint32(vout), Address: a, Value: o.Value})
		} else {
			x.g.AddEdge(graphview.Edge{From: self, To: x.addrNode(a, tx.Height), Vout: uint32(vout), Address: a, Value: o.Value, End: "unspent"})
		}
		added++
	}
	return nil
}

// funders adds, backward from tx, the transactions funding its inputs
// (those in the store).
func (x *expander) funders(tx *store.Tx) error {
	self := x.txNode(tx)
	added := 0
	for _, in := range tx.Inputs {
		if added >= x.limit {
			break
		}
		if in.Kind != store.InputKnown {
			continue
		}
		f, err := x.s.chain.TxByNum(in.Prev.Tx)
		if err != nil {
			return err
		}
		if int(in.Prev.Vout) >= len(f.Outputs) {
			continue
		}
		o := f.Outputs[in.Prev.Vout]
		x.g.AddEdge(graphview.Edge{From: x.txNode(f), To: self, Vout: in.Prev.Vout, Address: x.str(o.Addr), Value: o.Value})
		added++
	}
	return nil
}

// address adds one hop from an address: forward, the transactions
// spending its outputs; backward, those paying it.
func (x *expander) address(e Expansion) error {
	a, err := x.s.addr(e.Node)
	if err != nil {
		return fmt.Errorf("%w: %q is neither a txid nor an address of this network", ErrBadInput, e.Node)
	}
	id := graphview.AddrID(e.Node)
	if x.g.Node(id) == nil {
		id = x.addrNode(e.Node, 0)
	}
	added := 0
	var ferr error
	err = x.s.chain.AddressOutputs(a, store.OutPoint{}, func(o store.AddrOutput) bool {
		if added >= x.limit {
			return false
		}
		if e.Direction == "backward" {
			t, err := x.s.chain.TxByNum(o.Tx)
			if err != nil {
				ferr = err
				return false
			}
			x.g.AddEdge(graphview.Edge{From: x.txNode(t), To: id, Vout: o.Vout, Address: e.Node, Value: o.Value})
			added++
			return true
		}
		if !o.Spent {
			return true
		}
		t, err := x.s.chain.TxByNum(o.SpentBy.Tx)
		if err != nil {
			ferr = err
			return false
		}
		x.g.AddEdge(graphview.Edge{From: id, To: x.txNode(t), Vout: o.Vout, Address: e.Node, Value: o.Value})
		added++
		return true
	})
	if err == nil {
		err = ferr
	}
	return err
}
