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
	limit := s.MaxExpand
	if limit <= 0 {
		limit = 500
	}
	txNode := func(t *store.Tx) string {
		id := t.ID.String()
		n := g.Node(graphview.TxID(id))
		if n == nil {
			var v int64
			for _, o := range t.Outputs {
				v += o.Value
			}
			n = g.Add(graphview.Node{ID: graphview.TxID(id), Key: id, Kind: graphview.KindTx, Txid: id, Height: t.Height,
				Time: timeOf(t.Height), Value: v, Expanded: true})
		}
		return n.ID
	}
	addrNode := func(a string, height int32) string {
		n := g.Node(graphview.AddrID(a))
		if n == nil {
			n = g.Add(graphview.Node{ID: graphview.AddrID(a), Key: a, Kind: graphview.KindAddress, Address: a, Height: height, Expanded: true})
		}
		return n.ID
	}
	str := func(a address.Addr) string { return a.String(s.params) }
	if isTxid(e.Node) {
		n, err := s.txNum(e.Node)
		if err != nil {
			return fmt.Errorf("%w: transaction %s: %v", ErrNotFound, e.Node, err)
		}
		tx, err := s.chain.TxByNum(n)
		if err != nil {
			return err
		}
		self := txNode(tx)
		added := 0
		if e.Direction == "forward" {
			sp, err := s.chain.Spenders(n)
			if err != nil {
				return err
			}
			for vout, o := range tx.Outputs {
				if added >= limit {
					break
				}
				if o.Value == 0 && o.Addr.Kind == address.OpReturn {
					continue
				}
				a := str(o.Addr)
				if in, ok := sp[uint32(vout)]; ok {
					st, err := s.chain.TxByNum(in.Tx)
					if err != nil {
						return err
					}
					g.AddEdge(graphview.Edge{From: self, To: txNode(st), Vout: uint32(vout), Address: a, Value: o.Value})
				} else {
					g.AddEdge(graphview.Edge{From: self, To: addrNode(a, tx.Height), Vout: uint32(vout), Address: a, Value: o.Value, End: "unspent"})
				}
				added++
			}
			return nil
		}
		for _, in := range tx.Inputs {
			if added >= limit {
				break
			}
			if in.Kind != store.InputKnown {
				continue
			}
			f, err := s.chain.TxByNum(in.Prev.Tx)
			if err != nil {
				return err
			}
			if int(in.Prev.Vout) >= len(f.Outputs) {
				continue
			}
			o := f.Outputs[in.Prev.Vout]
			g.AddEdge(graphview.Edge{From: txNode(f), To: self, Vout: in.Prev.Vout, Address: str(o.Addr), Value: o.Value})
			added++
		}
		return nil
	}
	a, err := s.addr(e.Node)
	if err != nil {
		return fmt.Errorf("%w: %q is neither a txid nor an address of this network", ErrBadInput, e.Node)
	}
	id := graphview.AddrID(e.Node)
	if g.Node(id) == nil {
		id = addrNode(e.Node, 0)
	}
	added := 0
	var ferr error
	err = s.chain.AddressOutputs(a, store.OutPoint{}, func(o store.AddrOutput) bool {
		if added >= limit {
			return false
		}
		if e.Direction == "backward" {
			t, err := s.chain.TxByNum(o.Tx)
			if err != nil {
				ferr = err
				return false
			}
			g.AddEdge(graphview.Edge{From: txNode(t), To: id, Vout: o.Vout, Address: e.Node, Value: o.Value})
			added++
			return true
		}
		if !o.Spent {
			return true
		}
		t, err := s.chain.TxByNum(o.SpentBy.Tx)
		if err != nil {
			ferr = err
			return false
		}
		g.AddEdge(graphview.Edge{From: id, To: txNode(t), Vout: o.Vout, Address: e.Node, Value: o.Value})
		added++
		return true
	})
	if err == nil {
		err = ferr
	}
	return err
}
