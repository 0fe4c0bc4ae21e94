package tracer

import (
	"container/heap"
	"context"
	"fmt"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"sort"
	"time"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/address"
	"github.com/tracer-oss/tracer/tracer/taint"
)

// Options are a trace's parameters.
type Options struct {
	Model       taint.Model
	FeesTainted bool
	MaxHops     int   // 0: 100
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
		o.MaxHops = 100
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
	inGraph bool  // has a node in the result
	fee     int64 // taint the model gave to the fee
}

type txHeap []store.TxNum

func (h txHeap) Len() int           { return len(h) }
func (h txHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h txHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *txHeap) Push(x any)        { *h = append(*h, x.(store.TxNum)) }
func (h *txHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// walker holds one forward trace.
type walker struct {
	g       Graph
	lab     Labeler
	opt     Options
	stop    map[string]bool
	res     *Result
	taint   map[store.OutPoint]pending
	states  map[store.TxNum]*txState
	queue   txHeap
	seeds   []Seed
	seedOp  map[store.OutPoint]bool // outputs paid to seeds
	reads   int
	visited int
	times   blockTimes
	fund    map[store.TxNum]*store.Tx // small cache of funding txs read for input values
}

// Forward traces where the funds received by the seeds went. The walk visits
// transactions in chain order, so every tainted input of a transaction is
// known when it is reached; the result is the same on every run. Pass a
// *store.Reader as g for long walks (one read transaction for the walk).
func Forward(ctx context.Context, g Graph, lab Labeler, seeds []Seed, opt Options) (*Result, error) {
	if err := opt.normalize(); err != nil {
		return nil, err
	}
	started := time.Now()
	w := &walker{
		g: g, lab: lab, opt: opt, stop: map[string]bool{},
		res:   &Result{SchemaVersion: 1, Totals: Totals{PerEntity: map[string]int64{}}},
		taint: map[store.OutPoint]pending{}, states: map[store.TxNum]*txState{},
		seeds: seeds, seedOp: map[store.OutPoint]bool{}, times: blockTimes{},
		fund: map[store.TxNum]*store.Tx{},
	}
	if lab == nil {
		w.lab = MapLabeler{}
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
	if w.visited > 0 {
		w.res.Params.StoreReadsPerTx = float64(w.reads) / float64(w.visited)
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
		w.reads++
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
			st := w.states[o.Tx]
			if st == nil {
				st = &txState{}
				w.states[o.Tx] = st
			}
			if !st.root {
				st.root, st.seed, st.id, st.height = true, i, o.TxID, o.Height
			}
			w.route(o.Tx, st, o.OutPoint, o.Addr, pending{value: o.Value, tainted: o.Value}, o.Spent, o.SpentBy, false)
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
	if !st.inGraph {
		st.inGraph = true
		w.res.Nodes = append(w.res.Nodes, Node{Txid: st.id.String(), Height: st.height, Seed: st.root})
	}
}

// record adds an edge to the graph while it is under its cap; -1 when not.
func (w *walker) record(from *txState, op store.OutPoint, addr address.Addr, p pending, end string) int {
	if len(w.res.Edges) >= w.opt.MaxGraph {
		w.res.GraphTruncated = true
		return -1
	}
	w.node(from)
	w.res.Edges = append(w.res.Edges, Edge{From: from.id.String(), Vout: op.Vout, Address: addr.String(w.opt.Params), Value: p.value, Tainted: p.tainted, End: end})
	return len(w.res.Edges) - 1
}

// route decides what happens to tainted value on one output.
func (w *walker) route(from store.TxNum, st *txState, op store.OutPoint, addr address.Addr, p pending, spent bool, by store.InPoint, wide bool) {
	if l, ok := w.lab.Label(addr); ok && w.stop[l.Category] && !st.root {
		w.record(st, op, addr, p, "hit")
		w.hit(st, op, addr, p, l)
		return
	}
	switch {
	case p.tainted < w.opt.MinValue:
		w.record(st, op, addr, p, "dust")
		w.res.Totals.Dust += p.tainted
	case wide:
		w.record(st, op, addr, p, "wide")
		w.res.Totals.Cut += p.tainted
	case !spent:
		w.record(st, op, addr, p, "holding")
		w.res.Totals.Unspent += p.tainted
		w.res.Totals.Holdings++
		if len(w.res.Holdings) < w.opt.MaxListed {
			w.res.Holdings = append(w.res.Holdings, Holding{Address: addr.String(w.opt.Params), Txid: st.id.String(), Vout: op.Vout, Height: st.height, Hops: p.hops, Value: p.value, Tainted: p.tainted})
		}
	case p.hops >= w.opt.MaxHops:
		w.record(st, op, addr, p, "limit")
		w.res.Totals.Cut += p.tainted
	default:
		p.edge = w.record(st, op, addr, p, "") // To is filled when the spender is visited
		w.taint[op] = p
		next := w.states[by.Tx]
		if next == nil {
			next = &txState{}
			w.states[by.Tx] = next
		}
		if !next.visited && next.hops == 0 {
			next.hops = -1 // queued
			heap.Push(&w.queue, by.Tx)
		}
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
		s = w.states[s.pred]
	}
	for i, j := 0, len(h.Path)-1; i < j; i, j = i+1, j-1 {
		h.Path[i], h.Path[j] = h.Path[j], h.Path[i]
	}
	w.res.Hits = append(w.res.Hits, h)
	w.res.Totals.ToEntities += p.tainted
	w.res.Totals.PerEntity[l.Entity] += p.tainted
	w.res.Totals.Hits++
}

func (w *walker) run(ctx context.Context) error {
	last := time.Now()
	var outTaint []int64
	var coins []taint.Coin
	var values []int64
	for w.queue.Len() > 0 {
		if w.visited&255 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if w.opt.Progress != nil && time.Since(last) > time.Second {
				last = time.Now()
				w.opt.Progress(w.visited, w.queue.Len())
			}
		}
		if w.visited >= w.opt.MaxTxs {
			w.res.Partial, w.res.PartialWhy = true, fmt.Sprintf("visited the maximum of %d transactions", w.opt.MaxTxs)
			w.cutPending("limit")
			return nil
		}
		n := heap.Pop(&w.queue).(store.TxNum)
		w.visited++
		tx, err := w.g.TxByNum(n)
		if err != nil {
			return err
		}
		w.reads++
		st := w.states[n]
		st.visited, st.id, st.height = true, tx.ID, tx.Height
		if w.opt.UntilHeight > 0 && tx.Height > w.opt.UntilHeight {
			// Outside the window: the taint arriving here is cut.
			for _, in := range tx.Inputs {
				if p, ok := w.taint[in.Prev]; ok && in.Kind == store.InputKnown {
					delete(w.taint, in.Prev)
					w.res.Totals.Cut += p.tainted
					if p.edge >= 0 {
						w.res.Edges[p.edge].End = "window"
					}
				}
			}
			continue
		}
		// Inputs: tainted ones from the walk, others' values from the store.
		// Only FIFO and LIFO need each input's value; the other models need
		// only the total, which the stored fee gives without a read.
		needValues := w.opt.Model == taint.FIFO || w.opt.Model == taint.LIFO || !tx.FeeKnown
		coins = coins[:0]
		st.hops = 1 << 30
		var best int64 = -1
		known := true
		var txid string
		for vin, in := range tx.Inputs {
			c := taint.Coin{}
			switch in.Kind {
			case store.InputKnown:
				if p, ok := w.taint[in.Prev]; ok {
					delete(w.taint, in.Prev)
					c = taint.Coin{Value: p.value, Tainted: p.tainted}
					if p.hops+1 < st.hops {
						st.hops = p.hops + 1
					}
					if p.tainted > best {
						best, st.pred = p.tainted, in.Prev.Tx
						if fs := w.states[in.Prev.Tx]; fs != nil && !st.root {
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
					v, err := w.inputValue(in.Prev)
					if err != nil {
						return fmt.Errorf("tx %s input %d: %w", tx.ID, vin, err)
					}
					c.Value = v
				}
			default:
				known = false
			}
			coins = append(coins, c)
		}
		values = values[:0]
		var W int64
		for _, o := range tx.Outputs {
			values = append(values, o.Value)
			W += o.Value
		}
		if !needValues {
			var V int64
			for _, c := range coins {
				V += c.Value
			}
			if rest := W + tx.Fee - V; rest > 0 {
				coins = append(coins, taint.Coin{Value: rest}) // the untainted inputs, together
			}
		} else if !known {
			// An input of unknown value (before the store's range): treat
			// the unknown part as clean and as large as the fee makes it.
			var V int64
			for _, c := range coins {
				V += c.Value
			}
			if V < W {
				coins = append(coins, taint.Coin{Value: W - V})
			}
		}
		var fee int64
		outTaint, fee, err = taint.Propagate(w.opt.Model, coins, values, w.opt.FeesTainted, outTaint)
		if err != nil {
			return fmt.Errorf("tx %s: %w", tx.ID, err)
		}
		w.res.Totals.Fees += fee
		st.fee = fee
		var spenders map[uint32]store.InPoint
		for j, t := range outTaint {
			if t == 0 {
				continue
			}
			if spenders == nil {
				if spenders, err = w.g.Spenders(n); err != nil {
					return err
				}
				w.reads++
			}
			op := store.OutPoint{Tx: n, Vout: uint32(j)}
			if w.seedOp[op] {
				// Seed to seed: that output is already traced in full.
				w.res.Totals.Traced -= t
				continue
			}
			sp, spent := spenders[uint32(j)]
			w.route(n, st, op, tx.Outputs[j].Addr, pending{value: tx.Outputs[j].Value, tainted: t, hops: st.hops}, spent, sp, len(tx.Outputs) > w.opt.WideOutputs)
		}
		if len(w.fund) > 100_000 {
			clear(w.fund)
		}
	}
	return nil
}

func (w *walker) inputValue(op store.OutPoint) (int64, error) {
	tx, ok := w.fund[op.Tx]
	if !ok {
		var err error
		if tx, err = w.g.TxByNum(op.Tx); err != nil {
			return 0, err
		}
		w.reads++
		w.fund[op.Tx] = tx
	}
	if int(op.Vout) >= len(tx.Outputs) {
		return 0, fmt.Errorf("%w: output %d:%d", store.ErrCorrupt, op.Tx, op.Vout)
	}
	return tx.Outputs[op.Vout].Value, nil
}

// cutPending counts taint still waiting for its spender as cut by a limit.
func (w *walker) cutPending(end string) {
	for _, p := range w.taint {
		w.res.Totals.Cut += p.tainted
		if p.edge >= 0 {
			w.res.Edges[p.edge].End = end
		}
	}
	clear(w.taint)
}

// finish completes the node list and orders everything deterministically.
func (w *walker) finish() {
	in := map[string]int64{}
	for _, e := range w.res.Edges {
		if e.To != "" {
			in[e.To] += e.Tainted
		}
	}
	fees := map[string]int64{}
	hops := map[string]int{}
	for _, st := range w.states {
		if st.inGraph {
			id := st.id.String()
			fees[id], hops[id] = st.fee, max(st.hops, 0)
		}
	}
	for i := range w.res.Nodes {
		nd := &w.res.Nodes[i]
		nd.Tainted, nd.Fee, nd.Hops = in[nd.Txid], fees[nd.Txid], hops[nd.Txid]
	}
	sort.Slice(w.res.Nodes, func(i, j int) bool {
		a, b := w.res.Nodes[i], w.res.Nodes[j]
		if a.Height != b.Height {
			return a.Height < b.Height
		}
		return a.Txid < b.Txid
	})
	sort.SliceStable(w.res.Hits, func(i, j int) bool {
		a, b := w.res.Hits[i], w.res.Hits[j]
		if a.Height != b.Height {
			return a.Height < b.Height
		}
		if a.Txid != b.Txid {
			return a.Txid < b.Txid
		}
		return a.Vout < b.Vout
	})
	sort.SliceStable(w.res.Holdings, func(i, j int) bool {
		a, b := w.res.Holdings[i], w.res.Holdings[j]
		if a.Height != b.Height {
			return a.Height < b.Height
		}
		if a.Txid != b.Txid {
			return a.Txid < b.Txid
		}
		return a.Vout < b.Vout
	})
}
