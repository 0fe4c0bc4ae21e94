package tracer

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/tracer/taint"
)

// DefaultMaxHops is the hop limit of a trace that gives none: the one
// default of every front end (package tracer/spec states them all).
const DefaultMaxHops = 50

// Options are a trace's parameters.
type Options struct {
	Model       taint.Model
	FeesTainted bool
	MaxHops     int   // 0: DefaultMaxHops
	MinValue    int64 // tainted amounts below this are not followed (dust); 0: 1 sat
	SinceHeight int32 // seed outputs received before it are ignored; 0: none
	UntilHeight int32 // transactions after it are not followed; 0: none
	MaxTxs      int   // stop after visiting this many transactions; 0: 10,000,000
	// WideOutputs: a transaction with more outputs than this is not followed
	// through (its labelled outputs still count as hits, the rest is cut).
	// 0: 1,000.
	WideOutputs int
	// StopCategories end a branch at an output whose label has one of these
	// categories, and count it as a hit. nil: exchange only.
	StopCategories []string
	Params         *chaincfg.Params
	// MaxGraph caps the flow graph kept in the result (edges; nodes follow
	// them) and MaxListed the holdings listed, so a walk over millions of
	// transactions keeps memory bounded by its frontier; totals always
	// count everything. 0: 100,000 and 10,000.
	MaxGraph  int
	MaxListed int
	// Progress, if set, is called about once a second.
	Progress func(visited int, pending int)
}

func (o *Options) normalize() error {
	if o.MaxHops == 0 {
		o.MaxHops = DefaultMaxHops
	}
	if o.MinValue == 0 {
		o.MinValue = 1
	}
	if o.MaxTxs == 0 {
		o.MaxTxs = 10_000_000
	}
	if o.WideOutputs == 0 {
		o.WideOutputs = 1000
	}
	if o.MaxGraph == 0 {
		o.MaxGraph = 100_000
	}
	if o.MaxListed == 0 {
		o.MaxListed = 10_000
	}
	if o.StopCategories == nil {
		o.StopCategories = []string{"exchange"}
	}
	if o.MaxHops < 0 || o.MinValue < 0 || o.MaxTxs < 0 || o.WideOutputs < 0 {
		return fmt.Errorf("%w: limits must not be negative", ErrBadParams)
	}
	if o.Params == nil {
		return fmt.Errorf("%w: no network parameters", ErrBadParams)
	}
	return nil
}

// Seed is a starting address.
type Seed struct {
	Addr   address.Addr
	Label  string
	Source string
}

// pending is tainted value on an output waiting for its spender.
type pending struct {
	value, tainted int64
	hops           int
	edge           int // index of its edge in the result, -1 when not recorded
}

// txState is what the walk remembers of a transaction it queued or visited.
type txState struct {
	id      chainhash.Hash
	height  int32
	hops    int
	pred    store.TxNum // funding tx of its most tainted input (for paths)
	seed    int         // index of the seed whose funds reach it through pred
	root    bool        // a seed's funding transaction
	visited bool
	hasPred bool  // pred is set and holds a reference to it
	refs    int32 // taint waiting on its outputs, and visited states whose pred it is
	node    int32 // its node in the result, 1-based; 0: none
	fee     int64 // taint the model gave to the fee
	in      int32 // tainted value waiting at its inputs: a list in walker.pend, 1-based; 0: none
}

// stateTable maps transaction numbers to states: pages of 4,096 slots,
// made as the walk reaches them. Transaction numbers are dense, so this is
// a few array lookups where a map would hash and probe.
type stateTable struct {
	pages [][]*txState
	live  []int32 // states per page
}

const statePage = 4096

func (t *stateTable) get(n store.TxNum) *txState {
	if p := uint64(n) / statePage; p < uint64(len(t.pages)) && t.pages[p] != nil {
		return t.pages[p][uint64(n)%statePage]
	}
	return nil
}

func (t *stateTable) put(n store.TxNum, st *txState) {
	p := uint64(n) / statePage
	if p >= uint64(len(t.pages)) {
		t.pages = append(t.pages, make([][]*txState, p+1-uint64(len(t.pages)))...)
		t.live = append(t.live, make([]int32, p+1-uint64(len(t.live)))...)
	}
	if t.pages[p] == nil {
		t.pages[p] = make([]*txState, statePage)
	}
	t.pages[p][uint64(n)%statePage] = st
	t.live[p]++
}

// del removes tx n's state; a page without states is given back.
func (t *stateTable) del(n store.TxNum) {
	p := uint64(n) / statePage
	t.pages[p][uint64(n)%statePage] = nil
	if t.live[p]--; t.live[p] == 0 {
		t.pages[p] = nil
	}
}

// each calls fn for every state, in transaction order.
func (t *stateTable) each(fn func(*txState)) {
	for _, p := range t.pages {
		for _, st := range p {
			if st != nil {
				fn(st)
			}
		}
	}
}

// taintIn is tainted value arriving at input vin of a queued transaction,
// an entry of a list in walker.pend.
type taintIn struct {
	vin  uint32
	next int32          // the next entry, 1-based; 0: the end
	from store.OutPoint // the output the taint is on
	p    pending
}

// addIn records tainted value p waiting at input vin of st.
func (w *walker) addIn(st *txState, vin uint32, from store.OutPoint, p pending) {
	var i int32
	if w.free != 0 {
		i = w.free - 1
		w.free = w.pend[i].next
	} else {
		w.pend = append(w.pend, taintIn{})
		i = int32(len(w.pend) - 1)
	}
	w.pend[i] = taintIn{vin: vin, next: st.in, from: from, p: p}
	st.in = i + 1
}

// takeIns appends to buf the tainted value waiting at st's inputs and
// frees its entries.
func (w *walker) takeIns(st *txState, buf []taintIn) []taintIn {
	for h := st.in; h != 0; {
		e := &w.pend[h-1]
		buf = append(buf, *e)
		next := e.next
		e.next, w.free = w.free, h
		h = next
	}
	st.in = 0
	return buf
}

// txHeap is a min-heap of transaction numbers: the walk's queue.
type txHeap []store.TxNum

func (h *txHeap) push(n store.TxNum) {
	q := append(*h, n)
	for i := len(q) - 1; i > 0; {
		parent := (i - 1) / 2
		if q[parent] <= q[i] {
			break
		}
		q[parent], q[i] = q[i], q[parent]
		i = parent
	}
	*h = q
}

func (h *txHeap) pop() store.TxNum {
	q := *h
	top, last := q[0], len(q)-1
	q[0] = q[last]
	q = q[:last]
	for i := 0; ; {
		c := 2*i + 1
		if c >= len(q) {
			break
		}
		if c+1 < len(q) && q[c+1] < q[c] {
			c++
		}
		if q[i] <= q[c] {
			break
		}
		q[i], q[c] = q[c], q[i]
		i = c
	}
	*h = q
	return top
}

// walker holds one forward trace.
type walker struct {
	g       Graph
	lab     Labeler
	opt     Options
	stop    map[string]bool
	res     *Result
	states  stateTable
	slab    []txState  // states are allocated from here, a block at a time
	spare   []*txState // released states, for reuse
	live    int        // states held now
	peak    int        // most states held at once
	pend    []taintIn  // lists of taint waiting at inputs (txState.in)
	free    int32      // free list in pend, 1-based; 0: empty
	queue   txHeap
	seeds   []Seed
	seedOp  map[store.OutPoint]bool // outputs paid to seeds
	src     source
	keys    map[uint64]struct{} // with a flow index: keys of labelled addresses; nil: any
	seedRd  int                 // store reads for the seeds
	visited int
	times   blockTimes
}

// Forward traces where the funds received by the seeds went. The walk visits
// transactions in chain order, so every tainted input of a transaction is
// known when it is reached; the result is the same on every run. Pass a
// *store.Reader as g for long walks (one read transaction for the walk),
// or a *FlowGraph, which walks a flow index instead of store reads.
func Forward(ctx context.Context, g Graph, lab Labeler, seeds []Seed, opt Options) (*Result, error) {
	if err := opt.normalize(); err != nil {
		return nil, err
	}
	started := time.Now()
	w := &walker{
		g: g, lab: lab, opt: opt, stop: map[string]bool{},
		res: &Result{SchemaVersion: 1, Totals: Totals{PerEntity: map[string]int64{}}},

		seeds: seeds, seedOp: map[store.OutPoint]bool{}, times: blockTimes{},
	}
	if lab == nil {
		w.lab = MapLabeler{}
	}
	w.src = &storeSource{g: g, fund: map[store.TxNum]*store.Tx{}}
	if fg, ok := g.(*FlowGraph); ok && fg.Flow != nil {
		if err := w.useFlow(fg); err != nil {
			return nil, err
		}
	}
	for _, c := range opt.StopCategories {
		w.stop[c] = true
	}
	w.res.Params = Params{
		Direction: "forward", Model: opt.Model.String(), FeesTainted: opt.FeesTainted, MaxHops: opt.MaxHops,
		MinValue: opt.MinValue, SinceHeight: opt.SinceHeight, UntilHeight: opt.UntilHeight, MaxTxs: opt.MaxTxs,
		WideOutputs: opt.WideOutputs, StopCategories: append([]string(nil), opt.StopCategories...), Started: started.UTC(),
	}
	if err := w.seed(); err != nil {
		return nil, err
	}
	err := w.run(ctx)
	w.res.Params.ElapsedSeconds = time.Since(started).Seconds()
	w.res.Params.TxsVisited = w.visited
	w.res.Params.PeakStates = w.peak
	if w.visited > 0 {
		w.res.Params.StoreReadsPerTx = float64(w.seedRd+w.src.reads()) / float64(w.visited)
	}
	if err != nil {
		if ctx.Err() != nil {
			w.res.Partial, w.res.PartialWhy = true, "interrupted"
			w.cutPending("limit")
			w.finish()
			return w.res, nil
		}
		return nil, err
	}
	w.finish()
	return w.res, nil
}

// useFlow makes the walk read fg's flow index, which must cover the
// store, and, when the labeler can list its keys, check outputs against
// them in the index's key form before asking it.
func (w *walker) useFlow(fg *FlowGraph) error {
	// An index behind the store would read later spends as unspent.
	if s, ok := fg.Graph.(interface{ State() store.State }); ok && s.State().NextTx != fg.Flow.Txs() {
		return fmt.Errorf("tracer: %w: it covers %d transactions, the store %d", flow.ErrStale, fg.Flow.Txs(), s.State().NextTx)
	}
	w.src = &flowSource{x: fg.Flow, g: fg.Graph}
	kl, ok := w.lab.(KeyedLabeler)
	if !ok {
		return nil
	}
	keys, err := kl.LabelKeys()
	if err != nil && err != errNotKeyed {
		return err
	}
	if keys != nil {
		// The index holds a shorter key per output (flow.KeyOf).
		w.keys = make(map[uint64]struct{}, len(keys))
		for k := range keys {
			w.keys[flow.KeyOf(k)] = struct{}{}
		}
	}
	return nil
}

func (w *walker) seed() error {
	for i, s := range w.seeds {
		info := SeedInfo{Address: s.Addr.String(w.opt.Params), Label: s.Label, Source: s.Source}
		var outs []store.AddrOutput
		if err := w.g.AddressOutputs(s.Addr, store.OutPoint{}, func(o store.AddrOutput) bool {
			outs = append(outs, o)
			return true
		}); err != nil {
			return err
		}
		w.seedRd++
		for _, o := range outs {
			if w.opt.SinceHeight > 0 && o.Height < w.opt.SinceHeight {
				continue
			}
			if w.opt.UntilHeight > 0 && o.Height > w.opt.UntilHeight {
				continue
			}
			if w.seedOp[o.OutPoint] {
				continue // two seeds share an address
			}
			info.Outputs++
			info.Received += o.Value
			w.seedOp[o.OutPoint] = true
			w.res.Totals.Traced += o.Value
			st := w.state(o.Tx)
			if !st.root {
				st.root, st.seed, st.id, st.height = true, i, o.TxID, o.Height
			}
			ov := outView{value: o.Value, addr: &o.Addr, spent: o.Spent, by: o.SpentBy}
			if err := w.route(st, o.OutPoint, &ov, pending{value: o.Value, tainted: o.Value}, false); err != nil {
				return err
			}
		}
		w.res.Seeds = append(w.res.Seeds, info)
	}
	if w.res.Totals.Traced == 0 {
		return ErrNoSeeds
	}
	return nil
}

// node makes sure tx n has a node in the result's graph.
func (w *walker) node(st *txState) {
	if st.node == 0 {
		w.res.Nodes = append(w.res.Nodes, Node{Txid: st.id.String(), Height: st.height, Seed: st.root, Fee: st.fee, Hops: max(st.hops, 0)})
		st.node = int32(len(w.res.Nodes))
	}
}

// addr is the full address of output op (o), read once.
func (w *walker) addr(op store.OutPoint, o *outView) (address.Addr, error) {
	if o.addr == nil {
		a, err := w.src.addr(op)
		if err != nil {
			return a, err
		}
		o.addr = &a
	}
	return *o.addr, nil
}

// label is the label of output op's address, if it has one. With a flow
// index only outputs whose key a label has are looked at.
func (w *walker) label(op store.OutPoint, o *outView) (Label, bool, error) {
	if len(w.stop) == 0 {
		return Label{}, false, nil // no label ends a branch
	}
	if o.addr == nil && w.keys != nil {
		if _, ok := w.keys[o.key]; !ok {
			return Label{}, false, nil
		}
	}
	a, err := w.addr(op, o)
	if err != nil {
		return Label{}, false, err
	}
	l, ok := w.lab.Label(a)
	return l, ok, nil
}

// record adds an edge to the graph while it is under its cap; -1 when not.
func (w *walker) record(from *txState, op store.OutPoint, o *outView, p pending, end string) (int, error) {
	if len(w.res.Edges) >= w.opt.MaxGraph {
		w.res.GraphTruncated = true
		return -1, nil
	}
	a, err := w.addr(op, o)
	if err != nil {
		return -1, err
	}
	w.node(from)
	w.res.Edges = append(w.res.Edges, Edge{From: from.id.String(), Vout: op.Vout, Address: a.String(w.opt.Params), Value: p.value, Tainted: p.tainted, End: end})
	return len(w.res.Edges) - 1, nil
}

// route decides what happens to tainted value on one output.
func (w *walker) route(st *txState, op store.OutPoint, o *outView, p pending, wide bool) error {
	l, labelled, err := w.label(op, o)
	if err != nil {
		return err
	}
	if labelled && w.stop[l.Category] && !st.root {
		if _, err := w.record(st, op, o, p, "hit"); err != nil {
			return err
		}
		w.hit(st, op, *o.addr, p, l)
		return nil
	}
	end := ""
	switch {
	case p.tainted < w.opt.MinValue:
		end = "dust"
		w.res.Totals.Dust += p.tainted
	case wide:
		end = "wide"
		w.res.Totals.Cut += p.tainted
	case !o.spent:
		end = "holding"
		w.res.Totals.Unspent += p.tainted
		w.res.Totals.Holdings++
		if len(w.res.Holdings) < w.opt.MaxListed {
			a, err := w.addr(op, o)
			if err != nil {
				return err
			}
			w.res.Holdings = append(w.res.Holdings, Holding{Address: a.String(w.opt.Params), Txid: st.id.String(), Vout: op.Vout, Height: st.height, Hops: p.hops, Value: p.value, Tainted: p.tainted})
		}
	case p.hops >= w.opt.MaxHops:
		end = "limit"
		w.res.Totals.Cut += p.tainted
	}
	if end != "" {
		_, err := w.record(st, op, o, p, end)
		return err
	}
	// The spender continues the walk; the edge's To is filled when it is
	// visited.
	if p.edge, err = w.record(st, op, o, p, ""); err != nil {
		return err
	}
	next := w.state(o.by.Tx)
	w.addIn(next, o.by.Vin, op, p)
	st.refs++
	if !next.visited && next.hops == 0 {
		next.hops = -1 // queued
		w.queue.push(o.by.Tx)
	}
	return nil
}

// state returns tx n's state, made on first use.
func (w *walker) state(n store.TxNum) *txState {
	st := w.states.get(n)
	if st == nil {
		if k := len(w.spare); k > 0 {
			st, w.spare = w.spare[k-1], w.spare[:k-1]
		} else {
			if len(w.slab) == cap(w.slab) {
				w.slab = make([]txState, 0, 4096)
			}
			w.slab = append(w.slab, txState{})
			st = &w.slab[len(w.slab)-1]
		}
		w.states.put(n, st)
		if w.live++; w.live > w.peak {
			w.peak = w.live
		}
	}
	return st
}

// release frees the state of visited tx n when nothing refers to it any
// more — no taint waits on its outputs and no held state's path runs
// through it — and then its predecessors that this leaves unreferenced.
// So the walk holds its frontier and the paths back to the seeds, not
// every transaction it visited. Seeds' funding transactions are kept.
func (w *walker) release(n store.TxNum, st *txState) {
	for st.refs == 0 && st.visited && !st.root {
		pred, has := st.pred, st.hasPred
		w.states.del(n)
		*st = txState{}
		w.spare = append(w.spare, st)
		w.live--
		if !has {
			return
		}
		n, st = pred, w.states.get(pred)
		st.refs--
	}
}

func (w *walker) hit(st *txState, op store.OutPoint, addr address.Addr, p pending, l Label) {
	h := Hit{Entity: l.Entity, Category: l.Category, TagSource: l.Source, Via: l.Via, LinkTxid: l.LinkTxid,
		Address: addr.String(w.opt.Params), Txid: st.id.String(), Vout: op.Vout, Height: st.height, Time: w.times.of(w.g, st.height),
		Hops: p.hops, Value: p.value, Tainted: p.tainted}
	if p.value > 0 {
		h.Share = float64(p.tainted) / float64(p.value)
	}
	if h.Via == "" {
		h.Via = "tag"
	}
	h.SeedAddress = w.res.Seeds[0].Address
	if st.seed < len(w.seeds) {
		h.SeedAddress = w.seeds[st.seed].Addr.String(w.opt.Params)
	}
	for s := st; s != nil && !s.root; {
		h.Path = append(h.Path, Step{Txid: s.id.String(), Height: s.height})
		s = w.states.get(s.pred)
	}
	for i, j := 0, len(h.Path)-1; i < j; i, j = i+1, j-1 {
		h.Path[i], h.Path[j] = h.Path[j], h.Path[i]
	}
	w.res.Hits = append(w.res.Hits, h)
	w.res.Totals.ToEntities += p.tainted
	w.res.Totals.PerEntity[l.Entity] += p.tainted
	w.res.Totals.Hits++
}

// run visits the queued transactions in chain order until none is left,
// checking ctx and reporting progress every 256, or until MaxTxs.
func (w *walker) run(ctx context.Context) error {
	var b walkBufs
	last := time.Now()
	for len(w.queue) > 0 {
		if w.visited&255 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if w.opt.Progress != nil && time.Since(last) > time.Second {
				last = time.Now()
				w.opt.Progress(w.visited, len(w.queue))
			}
		}
		if w.visited >= w.opt.MaxTxs {
			w.res.Partial, w.res.PartialWhy = true, fmt.Sprintf("visited the maximum of %d transactions", w.opt.MaxTxs)
			w.cutPending("limit")
			return nil
		}
		if err := w.visit(w.queue.pop(), &b); err != nil {
			return err
		}
	}
	return nil
}

// walkBufs are the buffers the walk reuses from one transaction to the next.
type walkBufs struct {
	v        txView
	tin      []taintIn
	parents  []store.TxNum
	coins    []taint.Coin
	values   []int64
	outTaint []int64
}

// visit takes the taint waiting at transaction n's inputs through it to its
// outputs, and sends it on to their spenders (or ends it there).
func (w *walker) visit(n store.TxNum, b *walkBufs) error {
	w.visited++
	v := &b.v
	if err := w.src.load(n, v); err != nil {
		return err
	}
	st := w.states.get(n)
	st.visited, st.id, st.height = true, v.id, v.height
	tin, err := w.taintedInputs(st, v, b)
	if err != nil {
		return err
	}
	if w.opt.UntilHeight > 0 && v.height > w.opt.UntilHeight {
		// Outside the window: the taint arriving here is cut.
		for _, t := range tin {
			w.res.Totals.Cut += t.p.tainted
			if t.p.edge >= 0 {
				w.res.Edges[t.p.edge].End = "window"
			}
		}
		w.unref(b.parents)
		w.release(n, st)
		return nil
	}
	// Inputs: tainted ones from the walk, others' values from the
	// source. Only FIFO and LIFO need each input's value; the other
	// models need only the total, which the fee gives. Without a known
	// fee (inputs from before the store's range) the known inputs'
	// values are read.
	needValues := w.opt.Model == taint.FIFO || w.opt.Model == taint.LIFO || !v.feeKnown
	if needValues && !v.valued {
		if err := w.src.loadValues(v); err != nil {
			return err
		}
	}
	known := w.inputCoins(st, v, tin, needValues, b)
	w.unref(b.parents)
	b.cleanRest(v, needValues, known)
	var fee int64
	b.outTaint, fee, err = taint.Propagate(w.opt.Model, b.coins, b.values, w.opt.FeesTainted, b.outTaint)
	if err != nil {
		return fmt.Errorf("tx %s: %w", v.id, err)
	}
	w.res.Totals.Fees += fee
	st.fee = fee
	if err := w.routeOutputs(n, st, v, b.outTaint); err != nil {
		return err
	}
	if st.node != 0 {
		nd := &w.res.Nodes[st.node-1]
		nd.Fee, nd.Hops = st.fee, max(st.hops, 0)
	}
	w.release(n, st)
	return nil
}

// taintedInputs takes the taint waiting at st's inputs, in input order,
// checks that each input spends the output it came from and marks it
// tainted; b.parents are the transactions it came from.
func (w *walker) taintedInputs(st *txState, v *txView, b *walkBufs) ([]taintIn, error) {
	tin := w.takeIns(st, b.tin[:0])
	b.tin = tin
	slices.SortFunc(tin, func(a, b taintIn) int { return int(a.vin) - int(b.vin) })
	b.parents = b.parents[:0]
	for _, t := range tin {
		if int(t.vin) >= len(v.ins) || v.ins[t.vin].kind != store.InputKnown || v.ins[t.vin].tainted || !w.src.spends(v, t.vin, t.from) {
			return nil, fmt.Errorf("%w: tx %s input %d does not spend output %d:%d, whose spender it is recorded as", store.ErrCorrupt, v.id, t.vin, t.from.Tx, t.from.Vout)
		}
		v.ins[t.vin].tainted = true
		b.parents = append(b.parents, v.ins[t.vin].prev.Tx)
	}
	return tin, nil
}

// inputCoins fills b.coins with st's inputs as the taint model sees them
// (the tainted ones from tin, the others' values when needValues), sets
// st's hops, predecessor (the input bringing the most taint; the path to st
// runs through it, so it is held) and seed, and links the edges arriving
// here to st's node. known is false when an input's value is unknown
// (before the store's range).
func (w *walker) inputCoins(st *txState, v *txView, tin []taintIn, needValues bool, b *walkBufs) (known bool) {
	b.coins = b.coins[:0]
	st.hops = 1 << 30
	var best int64 = -1
	known = true
	var txid string
	for _, in := range v.ins {
		c := taint.Coin{}
		switch in.kind {
		case store.InputKnown:
			if in.tainted {
				p := tin[0].p
				tin = tin[1:]
				c = taint.Coin{Value: p.value, Tainted: p.tainted}
				if p.hops+1 < st.hops {
					st.hops = p.hops + 1
				}
				if p.tainted > best {
					best, st.pred = p.tainted, in.prev.Tx
					if fs := w.states.get(in.prev.Tx); fs != nil && !st.root {
						st.seed = fs.seed
					}
				}
				if p.edge >= 0 {
					if txid == "" {
						w.node(st)
						txid = st.id.String()
					}
					w.res.Edges[p.edge].To = txid
				}
			} else if needValues {
				c.Value = in.value
			}
		default:
			known = false
		}
		b.coins = append(b.coins, c)
	}
	if best >= 0 && !st.root {
		w.states.get(st.pred).refs++
		st.hasPred = true
	}
	return known
}

// cleanRest sets b.values to v's output values and adds to b.coins the
// untainted inputs not in it as one clean coin: all of them when only the
// total is needed (the fee gives it), or the unknown part of inputs from
// before the store's range, as large as the fee makes it.
func (b *walkBufs) cleanRest(v *txView, needValues, known bool) {
	b.values = b.values[:0]
	var W int64
	for _, o := range v.outs {
		b.values = append(b.values, o.value)
		W += o.value
	}
	if needValues && known {
		return
	}
	var V int64
	for _, c := range b.coins {
		V += c.Value
	}
	if !needValues {
		if rest := W + v.fee - V; rest > 0 {
			b.coins = append(b.coins, taint.Coin{Value: rest}) // the untainted inputs, together
		}
	} else if V < W {
		b.coins = append(b.coins, taint.Coin{Value: W - V})
	}
}

// routeOutputs sends the taint of each of tx n's tainted outputs on to its
// spender, or ends it there.
func (w *walker) routeOutputs(n store.TxNum, st *txState, v *txView, outTaint []int64) error {
	for j, t := range outTaint {
		if t == 0 {
			continue
		}
		if !v.spenders {
			if err := w.src.loadSpenders(v); err != nil {
				return err
			}
		}
		op := store.OutPoint{Tx: n, Vout: uint32(j)}
		if st.root && w.seedOp[op] {
			// Seed to seed: that output is already traced in full.
			w.res.Totals.Traced -= t
			continue
		}
		o := &v.outs[j]
		if err := w.route(st, op, o, pending{value: o.value, tainted: t, hops: st.hops}, len(v.outs) > w.opt.WideOutputs); err != nil {
			return err
		}
	}
	return nil
}

// unref drops one reference to each of the transactions ns (the funding
// transactions of inputs whose taint a visit consumed).
func (w *walker) unref(ns []store.TxNum) {
	for _, n := range ns {
		st := w.states.get(n)
		st.refs--
		w.release(n, st)
	}
}

// cutPending counts taint still waiting for its spender as cut by a limit.
func (w *walker) cutPending(end string) {
	w.states.each(func(st *txState) {
		for _, t := range w.takeIns(st, nil) {
			w.res.Totals.Cut += t.p.tainted
			if t.p.edge >= 0 {
				w.res.Edges[t.p.edge].End = end
			}
		}
	})
}

// finish completes the node list and orders everything deterministically.
func (w *walker) finish() {
	in := map[string]int64{}
	for _, e := range w.res.Edges {
		if e.To != "" {
			in[e.To] += e.Tainted
		}
	}
	for i := range w.res.Nodes {
		nd := &w.res.Nodes[i]
		nd.Tainted = in[nd.Txid]
	}
	w.res.sortNodes()
	slices.SortStableFunc(w.res.Hits, func(a, b Hit) int { return chainOrder(a.Height, a.Txid, a.Vout, b.Height, b.Txid, b.Vout) })
	slices.SortStableFunc(w.res.Holdings, func(a, b Holding) int {
		return chainOrder(a.Height, a.Txid, a.Vout, b.Height, b.Txid, b.Vout)
	})
}
