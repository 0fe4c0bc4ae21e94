package tracer

import (
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/flow"
)

// FlowGraph is a Graph with a flow index of the same store beside it (see
// store/flow). The forward walk then reads transactions from the index —
// a few array lookups each instead of store reads — and asks the Graph only
// for seeds, block times and the full address of an output it records or
// that may carry a label. The index must cover the Graph's transactions
// (flow.Open brings it up to the store's tip).
type FlowGraph struct {
	Graph
	Flow *flow.Index
}

// KeyedLabeler is a Labeler that can list the keys (address.Addr.Key) of
// every address it may label. A walk over a flow index, which knows only an
// output's key, then reads the full address of those outputs alone;
// without it, it reads every output's address.
type KeyedLabeler interface {
	Labeler
	LabelKeys() (map[uint64]struct{}, error)
}

// LabelKeys implements KeyedLabeler.
func (m MapLabeler) LabelKeys() (map[uint64]struct{}, error) {
	keys := make(map[uint64]struct{}, len(m))
	for a := range m {
		keys[a.Key()] = struct{}{}
	}
	return keys, nil
}

// LabelKeys implements KeyedLabeler when every labeler in ls does.
func (ls Labelers) LabelKeys() (map[uint64]struct{}, error) {
	keys := map[uint64]struct{}{}
	for _, l := range ls {
		if l == nil {
			continue
		}
		kl, ok := l.(KeyedLabeler)
		if !ok {
			return nil, errNotKeyed
		}
		k, err := kl.LabelKeys()
		if err != nil {
			return nil, err
		}
		for x := range k {
			keys[x] = struct{}{}
		}
	}
	return keys, nil
}

// txView is one transaction as the forward walk reads it.
type txView struct {
	n        store.TxNum
	id       chainhash.Hash
	height   int32
	fee      int64 // when feeKnown
	feeKnown bool
	ins      []inView
	outs     []outView
	valued   bool // the known inputs' values are filled
	spenders bool // the outputs' spent and by fields are filled
}

type inView struct {
	kind store.InputKind
	// prev is the output spent; a flow index source fills it only for
	// the inputs the walk reaches (spends), and out instead.
	prev    store.OutPoint
	out     uint64 // from a flow index: the index of the output spent
	value   int64  // when the view is valued, or the input tainted
	tainted bool   // set by the walk: the input spends a walked output
}

type outView struct {
	value int64
	key   uint64        // flow.KeyOf(address.Addr.Key); read only while addr is nil
	addr  *address.Addr // nil until read
	spent bool
	by    store.InPoint
}

// source is where the forward walk reads transactions.
type source interface {
	// load fills v with tx n; the inputs' values and the outputs'
	// spenders maybe.
	load(n store.TxNum, v *txView) error
	// loadValues fills the values of v's known inputs but the tainted
	// ones (the walk knows those).
	loadValues(v *txView) error
	// loadSpenders fills the spent and by fields of v's outputs.
	loadSpenders(v *txView) error
	// spends tells whether v's input vin spends op, and sets its prev.
	spends(v *txView, vin uint32, op store.OutPoint) bool
	// addr is the full address of an output.
	addr(op store.OutPoint) (address.Addr, error)
	// reads counts the store reads so far.
	reads() int
}

// storeSource reads the Graph: a tx record per visit, the spent-by entries
// of its outputs, and funding transactions for input values.
type storeSource struct {
	g    Graph
	n    int
	fund map[store.TxNum]*store.Tx // small cache of funding txs
	last *store.Tx
}

func (s *storeSource) reads() int { return s.n }

func (s *storeSource) load(n store.TxNum, v *txView) error {
	tx, err := s.g.TxByNum(n)
	if err != nil {
		return err
	}
	s.n++
	s.last = tx
	v.n, v.id, v.height, v.fee, v.feeKnown = n, tx.ID, tx.Height, tx.Fee, tx.FeeKnown
	v.valued, v.spenders = false, false
	v.ins, v.outs = v.ins[:0], v.outs[:0]
	for _, in := range tx.Inputs {
		v.ins = append(v.ins, inView{kind: in.Kind, prev: in.Prev})
	}
	for j := range tx.Outputs {
		o := &tx.Outputs[j]
		v.outs = append(v.outs, outView{value: o.Value, addr: &o.Addr})
	}
	if len(s.fund) > 100_000 {
		clear(s.fund)
	}
	return nil
}

func (s *storeSource) loadValues(v *txView) error {
	for vin := range v.ins {
		in := &v.ins[vin]
		if in.kind != store.InputKnown || in.tainted {
			continue
		}
		var err error
		if in.value, err = s.value(in.prev); err != nil {
			return fmt.Errorf("tx %s input %d: %w", v.id, vin, err)
		}
	}
	v.valued = true
	return nil
}

func (s *storeSource) loadSpenders(v *txView) error {
	sp, err := s.g.Spenders(v.n)
	if err != nil {
		return err
	}
	s.n++
	for j := range v.outs {
		v.outs[j].by, v.outs[j].spent = sp[uint32(j)]
	}
	v.spenders = true
	return nil
}

func (s *storeSource) spends(v *txView, vin uint32, op store.OutPoint) bool {
	return v.ins[vin].prev == op
}

func (s *storeSource) addr(op store.OutPoint) (address.Addr, error) {
	o, err := s.output(op)
	return o.Addr, err
}

func (s *storeSource) value(op store.OutPoint) (int64, error) {
	o, err := s.output(op)
	return o.Value, err
}

func (s *storeSource) output(op store.OutPoint) (store.Output, error) {
	tx, err := s.tx(op.Tx)
	if err != nil {
		return store.Output{}, err
	}
	return outputOf(tx, op)
}

// outputOf is output op of tx (tx.Num == op.Tx).
func outputOf(tx *store.Tx, op store.OutPoint) (store.Output, error) {
	if int(op.Vout) >= len(tx.Outputs) {
		return store.Output{}, fmt.Errorf("%w: output %d:%d", store.ErrCorrupt, op.Tx, op.Vout)
	}
	return tx.Outputs[op.Vout], nil
}

func (s *storeSource) tx(n store.TxNum) (*store.Tx, error) {
	if s.last != nil && s.last.Num == n {
		return s.last, nil
	}
	if tx, ok := s.fund[n]; ok {
		return tx, nil
	}
	tx, err := s.g.TxByNum(n)
	if err != nil {
		return nil, err
	}
	s.n++
	s.fund[n] = tx
	return tx, nil
}

// flowSource reads a flow index; the Graph only for full addresses.
type flowSource struct {
	x    *flow.Index
	g    Graph
	n    int
	last *store.Tx
	// The block of the last transaction loaded: its height and range.
	height       int32
	bfirst, bend store.TxNum
}

func (s *flowSource) reads() int { return s.n }

func (s *flowSource) load(n store.TxNum, v *txView) error {
	x := s.x
	if n >= x.Txs() {
		return fmt.Errorf("%w: transaction %d (the index covers %d)", flow.ErrNotCovered, n, x.Txs())
	}
	if n < s.bfirst || n >= s.bend {
		s.height, s.bfirst, s.bend = x.Block(n)
	}
	v.n, v.id, v.height, v.spenders = n, x.TxID(n), s.height, true
	v.ins, v.outs = v.ins[:0], v.outs[:0]
	v.valued = false
	v.fee, v.feeKnown = x.Fee(n)
	first, end, err := x.Inputs(n)
	if err != nil {
		return err
	}
	for i := first; i < end; i++ {
		kind, out := x.InOut(i)
		v.ins = append(v.ins, inView{kind: kind, out: out})
	}
	if first, end, err = x.Outputs(n); err != nil {
		return err
	}
	for i := first; i < end; i++ {
		o := x.Out(i)
		v.outs = append(v.outs, outView{value: o.Value, key: o.Key, spent: o.Spent, by: o.By})
	}
	return nil
}

func (s *flowSource) loadValues(v *txView) error {
	for vin := range v.ins {
		in := &v.ins[vin]
		if in.kind != store.InputKnown || in.tainted {
			continue
		}
		if in.out >= s.x.Outs() {
			return fmt.Errorf("%w: tx %s input %d spends output %d of %d", flow.ErrCorrupt, v.id, vin, in.out, s.x.Outs())
		}
		in.value = s.x.Out(in.out).Value
	}
	v.valued = true
	return nil
}

func (s *flowSource) loadSpenders(*txView) error { return nil }

func (s *flowSource) spends(v *txView, vin uint32, op store.OutPoint) bool {
	in := &v.ins[vin]
	if j, err := s.x.OutIndex(op); err != nil || j != in.out {
		return false
	}
	in.prev = op
	return true
}

func (s *flowSource) addr(op store.OutPoint) (address.Addr, error) {
	if s.last == nil || s.last.Num != op.Tx {
		tx, err := s.g.TxByNum(op.Tx)
		if err != nil {
			return address.Addr{}, err
		}
		s.n++
		s.last = tx
	}
	o, err := outputOf(s.last, op)
	return o.Addr, err
}
