package tracer

import (
	"container/heap"
	"context"
	"fmt"
	"math/bits"
	"sort"
	"time"

	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer/taint"
)

// Backward traces where the funds an address (or output) received came
// from. Each received output's value is attributed to the inputs of the
// transaction that created it in proportion to their values (haircut,
// floor(a·v_i/V) in exact integer arithmetic, the rounding remainder
// dropped as dust), recursively, in reverse chain order. A branch ends at
// any labelled address (a source, reported as a Hit with its entity: a
// sanctioned wallet, or an exchange whose withdrawals commingle customers'
// funds and so break the trail, as analytics providers treat them), at a
// coinbase (newly mined coins), at an input from before the store's range
// (its value is unknown: it is credited with what the outputs take beyond
// the known inputs, reported in Totals.BeforeRange and as edges ending
// "before_range", never as dust), at opt.MaxHops, or below opt.MinValue. With the poison
// model every source reached is credited with the full value of the
// target's outputs it reaches instead of a share.
//
// In the result, Hits are the sources, Edges point from the funding
// transaction to the spending one (the direction money moved) and carry the
// attributed amount, and Totals.Traced is the value received by the targets.
func Backward(ctx context.Context, g Graph, lab Labeler, targets []Seed, only []store.OutPoint, opt Options) (*Result, error) {
	if err := opt.normalize(); err != nil {
		return nil, err
	}
	if opt.Model != taint.Haircut && opt.Model != taint.Poison {
		return nil, fmt.Errorf("%w: a backward trace supports haircut and poison, not %s", ErrBadParams, opt.Model)
	}
	if lab == nil {
		lab = MapLabeler{}
	}
	started := time.Now()
	b := &backWalker{g: g, lab: lab, opt: opt, stop: map[string]bool{},
		res:  &Result{SchemaVersion: 1, Totals: Totals{PerEntity: map[string]int64{}}},
		want: map[store.TxNum]*backState{}, txids: map[store.TxNum]txRef{}, times: blockTimes{}}
	for _, c := range opt.StopCategories {
		b.stop[c] = true
	}
	b.res.Params = Params{Direction: "backward", Model: opt.Model.String(), MaxHops: opt.MaxHops, MinValue: opt.MinValue,
		SinceHeight: opt.SinceHeight, UntilHeight: opt.UntilHeight, MaxTxs: opt.MaxTxs, WideOutputs: opt.WideOutputs,
		StopCategories: append([]string(nil), opt.StopCategories...), Started: started.UTC()}
	if err := b.addTargets(targets, only); err != nil {
		return nil, err
	}
	if b.res.Totals.Traced == 0 {
		return nil, ErrNoSeeds
	}
	err := b.run(ctx)
	b.res.Params.ElapsedSeconds = time.Since(started).Seconds()
	b.res.Params.TxsVisited = b.visited
	if b.visited > 0 {
		b.res.Params.StoreReadsPerTx = float64(b.reads) / float64(b.visited)
	}
	if err != nil {
		if ctx.Err() == nil {
			return nil, err
		}
		b.res.Partial, b.res.PartialWhy = true, "interrupted"
	}
	b.finish()
	return b.res, nil
}

// addTargets queues the transactions that paid the targets — only the
// outputs in only when it is given, within the height window — each with
// the value it paid, and records each target's outputs and total.
func (b *backWalker) addTargets(targets []Seed, only []store.OutPoint) error {
	opt := b.opt
	onlySet := map[store.OutPoint]bool{}
	for _, op := range only {
		onlySet[op] = true
	}
	for i, t := range targets {
		info := SeedInfo{Address: t.Addr.String(opt.Params), Label: t.Label, Source: t.Source}
		err := b.g.AddressOutputs(t.Addr, store.OutPoint{}, func(o store.AddrOutput) bool {
			if len(onlySet) > 0 && !onlySet[o.OutPoint] {
				return true
			}
			if opt.SinceHeight > 0 && o.Height < opt.SinceHeight || opt.UntilHeight > 0 && o.Height > opt.UntilHeight {
				return true
			}
			info.Outputs++
			info.Received += o.Value
			b.res.Totals.Traced += o.Value
			b.txids[o.Tx] = txRef{o.TxID.String(), o.Height}
			b.add(o.Tx, o.Value, 0, i, store.TxNum(0), false)
			return true
		})
		if err != nil {
			return err
		}
		b.res.Seeds = append(b.res.Seeds, info)
	}
	return nil
}

// backState is the value attributed to a transaction's outputs so far.
type backState struct {
	amount int64
	hops   int
	seed   int
	succ   store.TxNum // the later transaction it funds (for paths); hops 0: none
	queued bool
}

// maxHeap is a max-heap of transaction numbers (container/heap).
type maxHeap []store.TxNum

func (h maxHeap) Len() int           { return len(h) }
func (h maxHeap) Less(i, j int) bool { return h[i] > h[j] }
func (h maxHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *maxHeap) Push(x any)        { *h = append(*h, x.(store.TxNum)) }
func (h *maxHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type backWalker struct {
	g       Graph
	lab     Labeler
	opt     Options
	stop    map[string]bool
	res     *Result
	want    map[store.TxNum]*backState
	queue   maxHeap
	txids   map[store.TxNum]txRef
	times   blockTimes
	visited int
	reads   int
}

func (b *backWalker) add(n store.TxNum, amount int64, hops, seed int, succ store.TxNum, hasSucc bool) {
	s := b.want[n]
	if s == nil {
		s = &backState{hops: hops, seed: seed}
		if hasSucc {
			s.succ = succ
		}
		b.want[n] = s
	}
	s.amount += amount
	if hops < s.hops {
		s.hops, s.seed = hops, seed
		if hasSucc {
			s.succ = succ
		}
	}
	if !s.queued {
		s.queued = true
		heap.Push(&b.queue, n)
	}
}

func (b *backWalker) run(ctx context.Context) error {
	for b.queue.Len() > 0 {
		if b.visited&255 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if b.visited >= b.opt.MaxTxs {
			b.res.Partial, b.res.PartialWhy = true, fmt.Sprintf("visited the maximum of %d transactions", b.opt.MaxTxs)
			for b.queue.Len() > 0 {
				n := heap.Pop(&b.queue).(store.TxNum)
				b.res.Totals.Cut += b.want[n].amount
			}
			return nil
		}
		if err := b.visit(heap.Pop(&b.queue).(store.TxNum)); err != nil {
			return err
		}
	}
	return nil
}

// visit reads tx n and passes the amount wanted of it back to the inputs
// that funded it: a coinbase is a source; past MaxHops the amount is cut.
func (b *backWalker) visit(n store.TxNum) error {
	s := b.want[n]
	b.visited++
	tx, err := b.g.TxByNum(n)
	if err != nil {
		return err
	}
	b.reads++
	b.txids[n] = txRef{tx.ID.String(), tx.Height}
	if tx.Coinbase {
		b.source(n, s, "coinbase", Label{Entity: "newly mined coins", Category: "coinbase"}, address.Addr{})
		return nil
	}
	if s.hops >= b.opt.MaxHops {
		b.res.Totals.Cut += s.amount
		return nil
	}
	srcs, V, external, err := b.inputSources(tx)
	if err != nil {
		return err
	}
	// Inputs from before the store's range have no known value. They
	// paid at least what the outputs take beyond the known inputs (the
	// fee taken as zero): the known inputs share the amount over that
	// larger total, and the rest is reported as coming from before the
	// range, not as dust.
	D := V
	if len(external) > 0 {
		var O int64
		for _, o := range tx.Outputs {
			O += o.Value
		}
		D = max(V, O)
	}
	attributed := b.attribute(n, s, srcs, D)
	if len(external) > 0 {
		ext := s.amount // poison: each source is credited in full
		if b.opt.Model == taint.Haircut {
			ext = s.amount - attributed
			if D > 0 {
				hi, lo := bits.Mul64(uint64(s.amount), uint64(D-V))
				q, _ := bits.Div64(hi, lo, uint64(D))
				ext = int64(q)
			}
		}
		b.beforeRange(n, external, ext)
		attributed += ext
	}
	if b.opt.Model == taint.Haircut {
		// Rounding remainders.
		b.res.Totals.Dust += s.amount - attributed
	}
	return nil
}

// backSource is an input of a visited tx: the output it spends, with that
// output's value and address (known: the output is in the store).
type backSource struct {
	op    store.OutPoint
	value int64
	addr  address.Addr
	known bool
}

// inputSources reads the outputs tx's inputs spend, from their funding
// transactions: one backSource per input, the known inputs' total V, and
// the outpoints of the inputs spending from before the store's range.
func (b *backWalker) inputSources(tx *store.Tx) (srcs []backSource, V int64, external []wire.OutPoint, err error) {
	srcs = make([]backSource, len(tx.Inputs))
	for i, in := range tx.Inputs {
		if in.Kind == store.InputExternal {
			external = append(external, in.Ext)
		}
		if in.Kind != store.InputKnown {
			continue
		}
		f, err := b.g.TxByNum(in.Prev.Tx)
		if err != nil {
			return nil, 0, nil, err
		}
		b.reads++
		if int(in.Prev.Vout) >= len(f.Outputs) {
			return nil, 0, nil, fmt.Errorf("%w: an input spends output %d of %s, which has %d outputs", store.ErrCorrupt, in.Prev.Vout, f.ID, len(f.Outputs))
		}
		b.txids[in.Prev.Tx] = txRef{f.ID.String(), f.Height}
		o := f.Outputs[in.Prev.Vout]
		srcs[i] = backSource{in.Prev, o.Value, o.Addr, true}
		V += o.Value
	}
	return srcs, V, external, nil
}

// attribute shares the amount wanted of tx n (state s) among its known
// sources over the total D — in full under poison, by value under haircut
// — drawing an edge to each: a labelled source is a hit, an amount under
// MinValue dust, anything else is queued to walk further back. It returns
// the amount attributed.
func (b *backWalker) attribute(n store.TxNum, s *backState, srcs []backSource, D int64) (attributed int64) {
	for _, sr := range srcs {
		if !sr.known || D == 0 {
			continue
		}
		a := s.amount
		if b.opt.Model == taint.Haircut {
			hi, lo := bits.Mul64(uint64(s.amount), uint64(sr.value))
			q, _ := bits.Div64(hi, lo, uint64(D))
			a = int64(q)
		}
		attributed += a
		e := Edge{From: b.txids[sr.op.Tx].id, Vout: sr.op.Vout, To: b.txids[n].id, Address: sr.addr.String(b.opt.Params), Value: sr.value, Tainted: a}
		if l, ok := b.lab.Label(sr.addr); ok {
			e.End = "hit"
			b.res.Edges = append(b.res.Edges, e)
			b.hitAt(sr.op, sr.addr, sr.value, a, s.hops+1, s.seed, n, l)
			continue
		}
		if a < b.opt.MinValue {
			e.End = "dust"
			b.res.Totals.Dust += a
			b.res.Edges = append(b.res.Edges, e)
			continue
		}
		b.res.Edges = append(b.res.Edges, e)
		b.add(sr.op.Tx, a, s.hops+1, s.seed, n, true)
	}
	return attributed
}

// beforeRange records the amount of tx n that comes from its inputs spending
// outputs from before the store's range: one edge per such input (value
// unknown, the amount split evenly), ending "before_range".
func (b *backWalker) beforeRange(n store.TxNum, ext []wire.OutPoint, amount int64) {
	b.res.Totals.BeforeRange += amount
	each, rest := amount/int64(len(ext)), amount%int64(len(ext))
	for i, op := range ext {
		a := each
		if i == 0 {
			a += rest
		}
		b.res.Edges = append(b.res.Edges, Edge{From: op.Hash.String(), Vout: op.Index, To: b.txids[n].id, Tainted: a, End: EndBeforeRange})
	}
}

func (b *backWalker) source(n store.TxNum, s *backState, _ string, l Label, addr address.Addr) {
	r := b.txids[n]
	h := Hit{Entity: l.Entity, Category: l.Category, TagSource: l.Source, Via: "tag", Address: addr.String(b.opt.Params),
		Txid: r.id, Height: r.height, Time: b.times.of(b.g, r.height), Hops: s.hops, Value: s.amount, Tainted: s.amount, Share: 1}
	h.SeedAddress = b.res.Seeds[s.seed].Address
	h.Path = b.path(n)
	b.res.Hits = append(b.res.Hits, h)
	b.res.Totals.ToEntities += s.amount
	b.res.Totals.PerEntity[l.Entity] += s.amount
	b.res.Totals.Hits++
}

func (b *backWalker) hitAt(op store.OutPoint, addr address.Addr, value, a int64, hops, seed int, spender store.TxNum, l Label) {
	r := b.txids[op.Tx]
	h := Hit{Entity: l.Entity, Category: l.Category, TagSource: l.Source, Via: l.Via, LinkTxid: l.LinkTxid,
		Address: addr.String(b.opt.Params), Txid: r.id, Vout: op.Vout, Height: r.height, Time: b.times.of(b.g, r.height),
		Hops: hops, Value: value, Tainted: a}
	if h.Via == "" {
		h.Via = "tag"
	}
	if value > 0 {
		h.Share = float64(a) / float64(value)
	}
	h.SeedAddress = b.res.Seeds[seed].Address
	h.Path = append([]Step{{Txid: r.id, Height: r.height}}, b.path(spender)...)
	b.res.Hits = append(b.res.Hits, h)
	b.res.Totals.ToEntities += a
	b.res.Totals.PerEntity[l.Entity] += a
	b.res.Totals.Hits++
}

// path lists the transactions from n forward to the target.
func (b *backWalker) path(n store.TxNum) []Step {
	var p []Step
	for i := 0; i < b.opt.MaxHops+2; i++ {
		s := b.want[n]
		r := b.txids[n]
		p = append(p, Step{Txid: r.id, Height: r.height})
		if s == nil || s.hops == 0 {
			break
		}
		n = s.succ
	}
	return p
}

func (b *backWalker) finish() {
	for n, s := range b.want {
		r := b.txids[n]
		b.res.Nodes = append(b.res.Nodes, Node{Txid: r.id, Height: r.height, Hops: s.hops, Tainted: s.amount, Seed: s.hops == 0})
	}
	b.res.sortNodes()
	sort.SliceStable(b.res.Hits, func(i, j int) bool {
		x, y := b.res.Hits[i], b.res.Hits[j]
		if x.Tainted != y.Tainted {
			return x.Tainted > y.Tainted
		}
		if x.Txid != y.Txid {
			return x.Txid < y.Txid
		}
		return x.Vout < y.Vout
	})
}

// txRef is a transaction's id and height as the backward walk reports them.
type txRef struct {
	id     string
	height int32
}
