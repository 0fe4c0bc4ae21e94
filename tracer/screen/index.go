package screen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/taint"
)

// IndexStore is a store the index can be written to. *store.Store
// implements it.
type IndexStore interface {
	Store // its Exposure room writes the index
	ScanTxs(ctx context.Context, from, to store.TxNum, fn func(*store.Tx) error) error
}

// slot is one column of the shares every tainted output carries: a source
// group (its walk gives the per-source breakdown), or, where a category
// has several groups, all of them together (its total, rounded once as a
// combined trace would, rather than per source).
type slot struct {
	category, entity string
	combined         bool // every group of the category at once
	single           bool // the category's only group: its total too
}

// slotsOf lays out the slots of src's groups: categories by name, each
// category's groups in order, then its combined slot.
func slotsOf(src *Sources) (slots []slot, seeds [][]tracer.Seed) {
	perCat := map[string][]Group{}
	for _, g := range src.Groups {
		perCat[g.Category] = append(perCat[g.Category], g)
	}
	for _, cat := range sortedKeys(perCat) {
		gs := perCat[cat]
		var all []tracer.Seed
		for _, g := range gs {
			slots = append(slots, slot{category: cat, entity: g.Entity, single: len(gs) == 1})
			seeds = append(seeds, g.Seeds)
			all = append(all, g.Seeds...)
		}
		if len(gs) > 1 {
			slots = append(slots, slot{category: cat, combined: true})
			seeds = append(seeds, all)
		}
	}
	return slots, seeds
}

// seedKey identifies an address as the store's address index matches it
// (address.Addr.Same: P2PK as its P2PKH).
type seedKey struct {
	class   byte
	payload [32]byte
}

func seedKeyOf(a address.Addr) seedKey { return seedKey{byte(a.Kind.Class()), a.Payload} }

// engine applies transactions to the shares: the one step both the full
// build and a block update run, so both give the same index.
type engine struct {
	opt   Options
	src   *Sources
	lab   tracer.Labeler
	model taint.Model
	slots []slot
	seeds map[seedKey][]uint32 // source address → slots it seeds
	// seedBits has the bit of every source address's first two payload
	// bytes: most outputs are ruled out without a map read (every output
	// of the chain is asked about).
	seedBits [1 << 10]uint64
	maxHops  int32

	// Per-transaction scratch, indexed by slot.
	sumT, sumV []int64
	hops       []int32
	bestIn     []int64
	pred       []uint64
	root       []bool
	mark       []bool // slot is in touched
	touched    []uint32
	seedOut    [][]uint32         // per output: slots it is a source output of
	taint      []int64            // per touched slot, per output: its taint
	shares     []taintShare       // followed shares, output by output: rec.outs' shares
	contribs   []stepContribution // this transaction's, output by output
	cs         []contribution     // one output's, for countFunc
	outInfo    []outInfo          // per output, read once a transaction
	values     []int64
	negative   bool // some value is (a damaged record: Propagate says so)
	coins      []taint.Coin
}

func newEngine(opt Options, src *Sources) *engine {
	e := &engine{opt: opt, src: src, lab: opt.labels(src), model: opt.model(), seeds: map[seedKey][]uint32{}, maxHops: int32(opt.MaxHops)}
	if p := opt.Progress; p != nil {
		// A build reports from its walk, its accumulator and its merge's
		// parts: one call at a time, as Options promises.
		var mu sync.Mutex
		e.opt.Progress = func(s string) {
			mu.Lock()
			defer mu.Unlock()
			p(s)
		}
	}
	var seeds [][]tracer.Seed
	e.slots, seeds = slotsOf(src)
	for i, ss := range seeds {
		for _, sd := range ss {
			k := seedKeyOf(sd.Addr)
			if l := e.seeds[k]; len(l) == 0 || l[len(l)-1] != uint32(i) {
				e.seeds[k] = append(l, uint32(i))
			}
			b := seedBit(&sd.Addr)
			e.seedBits[b/64] |= 1 << (b % 64)
		}
	}
	n := len(e.slots)
	e.sumT, e.sumV, e.hops, e.bestIn, e.pred, e.root, e.mark = make([]int64, n), make([]int64, n), make([]int32, n), make([]int64, n), make([]uint64, n), make([]bool, n), make([]bool, n)
	return e
}

// seedBit is an address's bit in engine.seedBits.
func seedBit(a *address.Addr) uint32 { return uint32(a.Payload[0])<<8 | uint32(a.Payload[1]) }

// maySeed is false for an address that is surely no source address.
func (e *engine) maySeed(a *address.Addr) bool {
	b := seedBit(a)
	return e.seedBits[b/64]&(1<<(b%64)) != 0
}

// outInfo is what the step needs of a tainted output's address.
type outInfo struct {
	read     bool
	labelled bool // a barrier
	counted  bool // not a source: its exposure counts
}

// output returns output j's info, reading it on first use.
func (e *engine) output(j int, o *store.Output) *outInfo {
	oi := &e.outInfo[j]
	if !oi.read {
		oi.read = true
		_, oi.labelled = e.lab.Label(o.Addr)
		oi.counted = !oi.labelled || !e.src.IsSource(o.Addr)
	}
	return oi
}

// contribution is one slot's part of a tainted output counted towards
// its address (the output and its address go beside an output's
// contributions, not in each: a step's contributions are copied to the
// accumulator, some 80 a tainted output with 100 source groups).
type contribution struct {
	slot   uint32
	hops   int32
	amount int64
}

// stepContribution is a contribution and its output, as a step gathers
// them output by output.
type stepContribution struct {
	contribution
	vout uint32
}

// valueOf reads the value of a known input (only for transactions whose
// fee is unknown).
type valueOf func(store.OutPoint) (int64, error)

// step propagates the shares on tx's inputs (ins[i]: the shares on the
// output input i spends; nil: clean) to its outputs, as one forward walk
// per slot would: haircut or poison, sources' own outputs carrying their
// slot in full, a labelled address ending a branch (but not at a
// transaction paying a source of that slot, as in tracer.Forward), dust
// and the hop limit ending it too. It fills rec (followed shares and path
// predecessors) and e.contribs (the tainted outputs paid to an address
// that is not a source, output by output, each in slot order;
// countByOutput hands them out).
func (e *engine) step(tx *store.Tx, ins []*outShares, inValue valueOf, rec *txShares) error {
	rec.preds, rec.outs = rec.preds[:0], rec.outs[:0]
	e.touched, e.contribs = e.touched[:0], e.contribs[:0]
	e.gather(tx, ins)
	W := e.readOutputs(tx)
	if len(e.touched) == 0 {
		return nil
	}
	e.sortTouched()
	defer func() {
		for _, s := range e.touched {
			e.sumT[s], e.sumV[s], e.bestIn[s], e.pred[s], e.root[s], e.mark[s] = 0, 0, 0, 0, false, false
		}
	}()
	known, unknown, err := cleanInputs(tx, inValue)
	if err != nil {
		return err
	}
	// Every touched slot's taint on every output first, then output by
	// output the slots in order: each output's shares and contributions
	// come out together, in slot order, as a record and the accumulator
	// keep them.
	nOut := len(tx.Outputs)
	e.taint = slices.Grow(e.taint[:0], len(e.touched)*nOut)[:len(e.touched)*nOut]
	for si, s := range e.touched {
		pred := e.pred[s]
		if e.root[s] {
			pred = 0
		}
		rec.preds = append(rec.preds, predEntry{slot: s, pred: pred})
		if err := e.propagate(tx, s, e.taint[si*nOut:(si+1)*nOut], W, known, unknown); err != nil {
			return err
		}
	}
	e.shares = e.shares[:0]
	for j := range tx.Outputs {
		e.outputShares(tx, j, rec)
	}
	return nil
}

// countFunc counts the contributions of one output (out, paid to addr),
// in slot order.
type countFunc func(addr *address.Addr, out store.OutPoint, cs []contribution)

// sortTouched puts the touched slots in order: by their marks when they
// are many (a tainted transaction of a chain with a hundred source
// groups touches most of them), else by sorting.
func (e *engine) sortTouched() {
	if len(e.touched) < len(e.mark)/8 {
		slices.Sort(e.touched)
		return
	}
	e.touched = e.touched[:0]
	for s, m := range e.mark {
		if m {
			e.touched = append(e.touched, uint32(s))
		}
	}
}

// touch starts slot s's sums for this transaction, once.
func (e *engine) touch(s uint32) {
	if !e.mark[s] {
		e.mark[s] = true
		e.touched = append(e.touched, s)
		e.hops[s] = 1 << 30
		e.bestIn[s] = -1
	}
}

// gather sums the shares of tx's inputs per slot: tainted amount, value
// of the inputs carrying it, nearest hops, and the path predecessor (the
// largest tainted input; on a tie the earlier funding transaction).
func (e *engine) gather(tx *store.Tx, ins []*outShares) {
	for i, in := range ins {
		if in == nil {
			continue
		}
		for _, s := range in.shares {
			e.touch(s.slot)
			e.sumT[s.slot] += s.tainted
			e.sumV[s.slot] += in.value
			e.hops[s.slot] = min(e.hops[s.slot], s.hops+1)
			if prev := uint64(tx.Inputs[i].Prev.Tx) + 1; s.tainted > e.bestIn[s.slot] || s.tainted == e.bestIn[s.slot] && prev < e.pred[s.slot] {
				e.bestIn[s.slot], e.pred[s.slot] = s.tainted, prev
			}
		}
	}
}

// readOutputs notes tx's output values and the slots its outputs are
// sources of (each such slot starts a path here), and returns their total.
func (e *engine) readOutputs(tx *store.Tx) (total int64) {
	n := len(tx.Outputs)
	if cap(e.seedOut) < n {
		e.seedOut = make([][]uint32, n)
	}
	e.seedOut = e.seedOut[:n]
	e.values, e.negative = e.values[:0], false
	if cap(e.outInfo) < n {
		e.outInfo = make([]outInfo, n)
	}
	e.outInfo = e.outInfo[:n]
	clear(e.outInfo)
	for j := range tx.Outputs {
		o := &tx.Outputs[j]
		e.values = append(e.values, o.Value)
		e.negative = e.negative || o.Value < 0
		total += o.Value
		e.seedOut[j] = nil
		if e.maySeed(&o.Addr) {
			if sl := e.seeds[seedKeyOf(o.Addr)]; len(sl) > 0 {
				e.seedOut[j] = sl
				for _, s := range sl {
					e.touch(s)
					e.root[s] = true
				}
			}
		}
	}
	return total
}

// cleanInputs sums the known inputs of a transaction whose fee is not
// known (the forward walk's view of its clean part); unknown says some
// input's value is not known at all.
func cleanInputs(tx *store.Tx, inValue valueOf) (known int64, unknown bool, err error) {
	if tx.FeeKnown {
		return 0, false, nil
	}
	for _, in := range tx.Inputs {
		if in.Kind != store.InputKnown {
			unknown = true
			continue
		}
		v, err := inValue(in.Prev)
		if err != nil {
			return 0, false, err
		}
		known += v
	}
	return known, unknown, nil
}

// propagate spreads slot s's tainted inputs over tx's outputs into out
// (one per output) under the model; the rest of the inputs (and the fee)
// is clean.
func (e *engine) propagate(tx *store.Tx, s uint32, out []int64, total, known int64, unknown bool) error {
	if e.sumT[s] <= 0 {
		return nil // out is not read: outputShares takes no taint of the slot
	}
	if tx.FeeKnown && e.model == taint.Haircut {
		// taint.Propagate's haircut of the coins below, without building
		// them: the inputs' value is the same for every slot.
		if V := max(total+tx.Fee, e.sumV[s]); !e.negative && total <= V && e.sumT[s] <= e.sumV[s] {
			taint.HaircutSpread(out, e.values, e.sumT[s], V)
			return nil
		}
	}
	e.coins = append(e.coins[:0], taint.Coin{Value: e.sumV[s], Tainted: e.sumT[s]})
	if tx.FeeKnown {
		if rest := total + tx.Fee - e.sumV[s]; rest > 0 {
			e.coins = append(e.coins, taint.Coin{Value: rest})
		}
	} else {
		e.coins = append(e.coins, taint.Coin{Value: known - e.sumV[s]})
		if unknown && known < total {
			e.coins = append(e.coins, taint.Coin{Value: total - known})
		}
	}
	if _, _, err := taint.Propagate(e.model, e.coins, e.values, false, out); err != nil {
		return fmt.Errorf("tx %s: %w", tx.ID, err)
	}
	return nil
}

// outputShares takes output j's taint of each touched slot, in slot
// order: a source's own output carries its slot in full at hop 0; paid to
// a counted address it is a contribution; worth following (at least
// MinValue, within the hop limit, not a barrier) it is a share of the
// output in rec.
func (e *engine) outputShares(tx *store.Tx, j int, rec *txShares) {
	o := &tx.Outputs[j]
	nOut := len(tx.Outputs)
	start := len(e.shares)
	for si, s := range e.touched {
		var t int64
		hops := e.hops[s]
		source := slices.Contains(e.seedOut[j], s)
		switch {
		case source:
			t, hops = o.Value, 0
		case e.sumT[s] > 0:
			t = e.taint[si*nOut+j]
		}
		if t <= 0 {
			continue
		}
		follow := t >= e.opt.MinValue && hops < e.maxHops
		if !source {
			oi := e.output(j, o)
			if oi.labelled && !e.root[s] {
				follow = false // a barrier: counted, not followed
			}
			if oi.counted {
				amount := t
				if e.model == taint.Poison {
					amount = o.Value
				}
				e.contribs = append(e.contribs, stepContribution{contribution{slot: s, amount: amount, hops: hops}, uint32(j)})
			}
		}
		if follow {
			e.shares = append(e.shares, taintShare{slot: s, hops: hops, tainted: t})
		}
	}
	if end := len(e.shares); end > start {
		// The shares of outputs before stay where they are if e.shares
		// grows: they keep the array they were taken from.
		rec.outs = append(rec.outs, outShares{vout: uint32(j), value: o.Value, shares: e.shares[start:end:end]})
	}
}

// countByOutput calls count once per output of tx with the step's
// contributions to it, in slot order (one accumulator update per output
// rather than per output and slot).
func (e *engine) countByOutput(tx *store.Tx, count countFunc) {
	e.cs = countByOutput(e.cs, tx.Num, e.contribs, tx.Outputs, outputAddr, count)
}

func outputAddr(o *store.Output) *address.Addr { return &o.Addr }

// countByOutput calls fn once per output of transaction n (of outs; addr
// gives an output's address) with its contributions among cs, which a
// step made output by output, each output's in slot order. buf is
// reused for an output's contributions without their output, and
// returned.
func countByOutput[T any](buf []contribution, n store.TxNum, cs []stepContribution, outs []T, addr func(*T) *address.Addr, fn countFunc) []contribution {
	for len(cs) > 0 {
		vout := cs[0].vout
		buf = buf[:0]
		for len(cs) > 0 && cs[0].vout == vout {
			buf = append(buf, cs[0].contribution)
			cs = cs[1:]
		}
		fn(addr(&outs[vout]), store.OutPoint{Tx: n, Vout: vout}, buf)
	}
	return buf
}

// BuildIndex computes the exposure of every address reached from a source
// in one pass over the store in chain order, carrying on every tainted
// output the sparse shares of each source group (sanctioned entity, or
// risky tag entity) under the model, and stores it as a new index
// generation: per-output shares and per-address accumulators beside the
// records, so UpdateIndex can bring it forward block by block. The last
// Options.UndoDepth blocks are applied as updates, so a reorganisation
// that deep is undone exactly. With opt.Pending the generation is built
// but not made current (store.Exposure.Use switches to it).
func BuildIndex(ctx context.Context, st IndexStore, opt Options) (store.ExposureIndex, error) {
	if err := opt.normalize(false); err != nil {
		return store.ExposureIndex{}, err
	}
	src, err := LoadSources(st, opt.Params)
	if err != nil {
		return store.ExposureIndex{}, err
	}
	if opt.Clusters != nil {
		if err := opt.Clusters.Err(); err != nil {
			return store.ExposureIndex{}, err
		}
	}
	state := st.State()
	e := newEngine(opt, src)
	w, err := st.Exposure().NewIndex()
	if err != nil {
		return store.ExposureIndex{}, err
	}
	hdr, err := e.pass(ctx, st, w, state)
	if err != nil {
		w.Cancel()
		return hdr, err
	}
	e.progress("index: %d exposed addresses written; flushing them", hdr.Addresses)
	hdr, err = w.Stage(ctx, hdr)
	if err != nil {
		return hdr, err
	}
	if n := state.Height - hdr.TipHeight; n > 0 {
		e.progress("index: applying the last %d blocks as updates (their undo records)", n)
	}
	if hdr, _, err = updateIndex(ctx, st, e, hdr.Gen); err != nil {
		return hdr, err
	}
	if !opt.Pending {
		e.progress("index: switching to the new index and deleting the older ones")
		use := st.Exposure().Use
		if opt.Alone {
			use = st.Exposure().UseAlone
		}
		if err := use(hdr.Gen); err != nil {
			return hdr, err
		}
	}
	return hdr, nil
}

// progress reports a phase of the build, when asked to.
func (e *engine) progress(format string, args ...any) {
	if e.opt.Progress != nil {
		e.opt.Progress(fmt.Sprintf(format, args...))
	}
}

// header is the header of an index built by e at a tip.
func (e *engine) header(height int32, hash string) store.ExposureIndex {
	groups := make([]IndexGroup, len(e.slots))
	for i, sl := range e.slots {
		groups[i] = IndexGroup{Category: sl.category, Entity: sl.entity, Combined: sl.combined, Single: sl.single}
	}
	p, _ := json.Marshal(IndexParams{Model: e.model.String(), MaxHops: e.opt.MaxHops, MinValue: e.opt.MinValue,
		Clusters: e.opt.clusterInfo(), Slots: len(e.slots), Groups: groups, Format: indexFormat})
	return store.ExposureIndex{ListVersion: e.src.ListVersion, TipHeight: height, TipHash: hash, TagGens: e.src.TagGens, Params: p}
}

var errPassDone = errors.New("pass done")

// pass is the full build up to UndoDepth blocks below the tip: a walk
// over the chain in order feeding an accumulator on a second goroutine,
// then the accumulators merged into the index.
func (e *engine) pass(ctx context.Context, st IndexStore, w *store.ExposureWriter, state store.State) (store.ExposureIndex, error) {
	height, hash, end, err := passRange(st, state, e.opt.UndoDepth)
	if err != nil {
		return store.ExposureIndex{}, err
	}
	acc := newAccumulator(e, w)
	defer acc.runs.remove()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return acc.run(gctx) })
	wk := &walk{e: e, chain: newPassChain(st, e.opt.Flow, state, end), end: end, acc: acc, ctx: gctx,
		frontier: newFrontier(), cur: acc.batch(), last: time.Now()}
	err = st.ScanTxs(gctx, 0, end, wk.tx)
	if err == nil || errors.Is(err, errPassDone) {
		err = wk.send() // the last batch
	}
	close(acc.in)
	if gerr := g.Wait(); gerr != nil && (err == nil || !errors.Is(gerr, context.Canceled)) {
		return store.ExposureIndex{}, gerr // the accumulator's failure stopped the walk
	}
	if err != nil {
		return store.ExposureIndex{}, err
	}
	wk.frontier = nil
	e.progress("index: walk done; it waited %s for its accumulator, which waited %s for it",
		acc.walkWaited.Round(time.Millisecond), acc.accWaited.Round(time.Millisecond))
	addresses, err := e.writeAccs(ctx, acc, w, wk.last)
	if err != nil {
		return store.ExposureIndex{}, err
	}
	hdr := e.header(height, hash)
	hdr.Addresses = addresses
	return hdr, nil
}

// passRange is where a full build's pass ends: UndoDepth blocks below the
// tip (those are applied as updates), as a height, its hash ("" before
// the store's first block) and the first transaction after it.
func passRange(st IndexStore, state store.State, undoDepth int) (height int32, hash string, end store.TxNum, err error) {
	height = max(state.Height-int32(undoDepth), state.StartHeight-1)
	end = state.NextTx
	if height < state.Height {
		b, err := st.BlockByHeight(height + 1)
		if err != nil {
			return 0, "", 0, err
		}
		end = b.FirstTx
	}
	if height >= state.StartHeight {
		b, err := st.BlockByHeight(height)
		if err != nil {
			return 0, "", 0, err
		}
		hash = b.Hash.String()
	}
	return height, hash, end, nil
}

// passChain answers what the pass asks of outputs other than its
// transaction's: whether one is spent before the pass's end, and an
// input's value (only for transactions whose fee is unknown). It reads
// the flow index when it matches the store, else the store.
type passChain struct {
	st  IndexStore
	x   *flow.Index
	end store.TxNum
}

func newPassChain(st IndexStore, x *flow.Index, state store.State, end store.TxNum) *passChain {
	if x != nil && x.Txs() != state.NextTx {
		x = nil // behind or ahead of the store: read the store
	}
	return &passChain{st: st, x: x, end: end}
}

func (c *passChain) spent(op store.OutPoint) (bool, error) {
	if c.x != nil {
		i, err := c.x.OutIndex(op)
		if err != nil {
			return false, err
		}
		o := c.x.Out(i)
		return o.Spent && o.By.Tx < c.end, nil
	}
	sp, err := c.st.Spenders(op.Tx)
	if err != nil {
		return false, err
	}
	in, ok := sp[op.Vout]
	return ok && in.Tx < c.end, nil
}

func (c *passChain) value(op store.OutPoint) (int64, error) {
	if c.x != nil {
		i, err := c.x.OutIndex(op)
		if err != nil {
			return 0, err
		}
		return c.x.Out(i).Value, nil
	}
	return storedValue(c.st, op)
}

// storedValue reads the value of output op from the store's record of its
// transaction.
func storedValue(g tracer.Graph, op store.OutPoint) (int64, error) {
	tx, err := g.TxByNum(op.Tx)
	if err != nil {
		return 0, err
	}
	if int(op.Vout) >= len(tx.Outputs) {
		return 0, fmt.Errorf("%w: output %d:%d", store.ErrCorrupt, op.Tx, op.Vout)
	}
	return tx.Outputs[op.Vout].Value, nil
}

// walk is the pass's first stage: it visits the transactions in chain
// order, keeps the frontier — the shares on followed outputs whose
// spender is still ahead — and hands each batch of
// contributions and tx shares records to the accumulator.
type walk struct {
	e        *engine
	chain    *passChain
	end      store.TxNum
	acc      *accumulator
	ctx      context.Context
	frontier *frontier
	cur      *passBatch
	rec      txShares
	ins      []*outShares
	inBuf    []outShares // frontier entries of one tx's inputs
	done     int
	last     time.Time // of the last progress line
}

// tx walks one transaction (ForEachTx's callback).
func (wk *walk) tx(tx *store.Tx) error {
	if tx.Num >= wk.end {
		return errPassDone
	}
	if err := wk.progress(tx.Num); err != nil {
		return err
	}
	if !wk.inputs(tx) && !wk.e.paysSource(tx) {
		return nil
	}
	if err := wk.e.step(tx, wk.ins, wk.chain.value, &wk.rec); err != nil {
		return err
	}
	if len(wk.rec.preds) > 0 {
		if err := wk.record(tx); err != nil {
			return err
		}
	}
	if len(wk.cur.txs) >= 512 || len(wk.cur.contribs) >= 1<<16 {
		return wk.send()
	}
	return nil
}

// progress checks for cancellation and reports, about once a second.
func (wk *walk) progress(n store.TxNum) error {
	if wk.done++; wk.done&1023 != 0 {
		return nil
	}
	if err := wk.ctx.Err(); err != nil {
		return context.Cause(wk.ctx)
	}
	if p := wk.e.opt.Progress; p != nil && time.Since(wk.last) > time.Second {
		wk.last = time.Now()
		p(fmt.Sprintf("index: %d of %d transactions, %d tainted outputs pending, %d addresses exposed", n, wk.end, wk.frontier.len(), wk.acc.exposed.Load()))
	}
	return nil
}

// inputs takes the shares of tx's inputs off the frontier into wk.ins
// (nil: a clean input) and reports whether any input carries shares.
func (wk *walk) inputs(tx *store.Tx) (any bool) {
	wk.ins = wk.ins[:0]
	if cap(wk.inBuf) < len(tx.Inputs) {
		wk.inBuf = make([]outShares, len(tx.Inputs))
	}
	wk.inBuf = wk.inBuf[:len(tx.Inputs)]
	wk.frontier.tidy() // before taking: the shares taken stay put until the next transaction
	for i, in := range tx.Inputs {
		var sh *outShares
		if in.Kind == store.InputKnown && wk.frontier.take(in.Prev, &wk.inBuf[i]) {
			sh, any = &wk.inBuf[i], true
		}
		wk.ins = append(wk.ins, sh)
	}
	return any
}

// record puts tx's followed outputs spent within the pass on the
// frontier, and hands the rest of what the step found to the accumulator
// as it is (encoding the record is the accumulator's part of the work):
// the path predecessors, the
// followed outputs not spent within the pass (blocks applied later spend
// them: applyBlock takes them off), and the contributions.
func (wk *walk) record(tx *store.Tx) error {
	b := wk.cur
	for _, o := range wk.rec.outs {
		op := store.OutPoint{Tx: tx.Num, Vout: o.vout}
		sp, err := wk.chain.spent(op)
		if err != nil {
			return err
		}
		if sp {
			if err := wk.frontier.put(op, &o); err != nil {
				return err
			}
			continue
		}
		b.shares = append(b.shares, o.shares...)
		b.kept = append(b.kept, keptOut{vout: o.vout, value: o.value, end: int32(len(b.shares))})
	}
	b.preds = append(b.preds, wk.rec.preds...)
	if cs := wk.e.contribs; len(cs) > 0 {
		b.contribs = append(b.contribs, cs...)
		for j := range tx.Outputs {
			b.addrs = append(b.addrs, tx.Outputs[j].Addr)
		}
	}
	b.txs = append(b.txs, batchTx{num: tx.Num, preds: int32(len(b.preds)), kept: int32(len(b.kept)),
		contribs: int32(len(b.contribs)), addrs: int32(len(b.addrs))})
	return nil
}

// send hands the batch to the accumulator.
func (wk *walk) send() error {
	select {
	case wk.acc.in <- wk.cur:
	default:
		t := time.Now()
		select {
		case wk.acc.in <- wk.cur:
		case <-wk.ctx.Done():
			return context.Cause(wk.ctx)
		}
		wk.acc.walkWaited += time.Since(t)
	}
	wk.cur = wk.acc.batch()
	return nil
}

// writeAccs merges the accumulator's spilled runs and what it still holds
// into the index, in address order, mergeParts parts of the key space at
// once, and returns how many addresses it wrote.
func (e *engine) writeAccs(ctx context.Context, acc *accumulator, w *store.ExposureWriter, last time.Time) (int, error) {
	if e.opt.Progress != nil {
		e.opt.Progress(fmt.Sprintf("index: merging %d sorted runs of accumulators with those still in memory", len(acc.runs.runs)))
	}
	var written, reported atomic.Int64 // reported: the time of the last report, Unix nanoseconds
	reported.Store(last.UnixNano())
	counted := func(put func(key string, v []byte) error) func(key string, v []byte) error {
		return func(key string, v []byte) error {
			if n := written.Add(1); n&4095 == 0 && e.opt.Progress != nil {
				// Every part counts; one reports a second.
				if was, now := reported.Load(), time.Now().UnixNano(); now-was > int64(time.Second) && reported.CompareAndSwap(was, now) {
					e.opt.Progress(fmt.Sprintf("index: %d exposed addresses written", n))
				}
			}
			return put(key, v)
		}
	}
	if e.opt.accSink != nil {
		return acc.runs.finish(ctx, acc.accs, counted(e.opt.accSink))
	}
	puts := make([]func(key string, v []byte) error, mergeParts)
	for i := range puts {
		p, err := w.AccPart(i)
		if err != nil {
			return 0, err
		}
		puts[i] = counted(p.PutAcc)
	}
	return acc.runs.finish(ctx, acc.accs, puts...)
}

// mergeParts is how many parts of the key space a build merges at once,
// each into a file of its own: more than the cores, so one part's reads
// of the runs overlap another's merging.
const mergeParts = 4

// passBatch is what a build's walk hands its accumulator: for some
// transactions, each one's part of the arrays below, up to the ends in
// its batchTx.
type passBatch struct {
	txs      []batchTx
	preds    []predEntry        // path predecessors
	kept     []keptOut          // followed outputs for the record
	shares   []taintShare       // their shares, up to each one's end
	contribs []stepContribution // output by output, as the step made them
	addrs    []address.Addr     // every output's address, where there are contributions
}

// batchTx is one transaction of a batch: its number, and the ends of its
// parts of the batch's arrays.
type batchTx struct {
	num                          store.TxNum
	preds, kept, contribs, addrs int32
}

// keptOut is a followed output of a batch's transaction and the end of
// its shares in the batch's.
type keptOut struct {
	vout  uint32
	value int64
	end   int32
}

// accumulator is a build's second stage: it counts contributions into the
// per-address accumulators, spilling them to sorted runs beyond the
// budget, and writes the tx shares records.
type accumulator struct {
	e       *engine
	w       *store.ExposureWriter
	in      chan *passBatch
	free    chan *passBatch
	accs    map[address.Addr][]accEntry
	entries int // accumulator entries in accs
	budget  int
	runs    *accRuns
	exposed atomic.Int64 // addresses in accs, for progress
	// take's reused buffers, and add as a countFunc (made once: a method
	// value passed on is allocated each time).
	cs    []contribution
	slab  entrySlab // the accumulators' arrays, taken back at each spill
	outs  []outShares
	buf   []byte
	count countFunc
	// walkWaited is how long the walk waited for room in the queue
	// (written by the walk), accWaited how long this stage waited for a
	// batch; read after the pass, they say which stage bounds it.
	walkWaited, accWaited time.Duration
}

func newAccumulator(e *engine, w *store.ExposureWriter) *accumulator {
	budget := e.opt.accBudget
	if budget <= 0 {
		budget = 8 << 20 // entries of 40 bytes: about 320 MiB with the map
	}
	a := &accumulator{e: e, w: w, in: make(chan *passBatch, 64), free: make(chan *passBatch, 66), budget: budget,
		accs: map[address.Addr][]accEntry{}, runs: &accRuns{slots: len(e.slots), sampleEvery: sampleStride(budget), fanIn: e.opt.accFanIn, progress: e.progress}}
	a.count = a.add
	return a
}

// sampleStride is how often a spill of a budget's accumulators samples a
// key for the merge's split: some 64 times a run (a spilled entry is about
// 8 bytes), so small budgets (tests) split too.
func sampleStride(budget int) int64 {
	return min(max(int64(budget)*8/64, 512), 1<<20)
}

// batch returns an empty batch, reusing a counted one.
func (a *accumulator) batch() *passBatch {
	select {
	case b := <-a.free:
		b.txs, b.preds, b.kept, b.shares, b.contribs, b.addrs = b.txs[:0], b.preds[:0], b.kept[:0], b.shares[:0], b.contribs[:0], b.addrs[:0]
		return b
	default:
		return &passBatch{}
	}
}

// run counts the batches until in is closed. The accumulators go to a
// sorted run on disk whenever they reach the budget, and the runs are
// merged at the end (accRuns), so memory stays bounded however many
// addresses are exposed.
func (a *accumulator) run(ctx context.Context) error {
	for {
		var b *passBatch
		var ok bool
		select {
		case b, ok = <-a.in:
		default:
			t := time.Now()
			b, ok = <-a.in
			a.accWaited += time.Since(t)
		}
		if !ok {
			break
		}
		if err := ctx.Err(); err != nil {
			continue // drain: the walk stops at its next check
		}
		if err := a.take(b); err != nil {
			return err
		}
		a.exposed.Store(int64(len(a.accs)))
		// Arrays replaced by larger ones stay in the slab until the spill:
		// it counts against the budget too, at half weight.
		if a.entries >= a.budget || a.slab.used >= 2*a.budget {
			a.entries = 0
			if err := a.runs.spill(ctx, a.accs); err != nil {
				return err
			}
			a.slab.reset()
		}
		select {
		case a.free <- b:
		default:
		}
	}
	return ctx.Err()
}

// take counts a batch's contributions and writes its records.
func (a *accumulator) take(b *passBatch) error {
	var start batchTx
	for _, t := range b.txs {
		a.cs = countByOutput(a.cs, t.num, b.contribs[start.contribs:t.contribs], b.addrs[start.addrs:t.addrs], sameAddr, a.count)
		a.outs = a.outs[:0]
		from := int32(0)
		if start.kept > 0 {
			from = b.kept[start.kept-1].end
		}
		for _, k := range b.kept[start.kept:t.kept] {
			a.outs = append(a.outs, outShares{vout: k.vout, value: k.value, shares: b.shares[from:k.end]})
			from = k.end
		}
		rec := txShares{preds: b.preds[start.preds:t.preds], outs: a.outs}
		a.buf = rec.encode(a.buf[:0])
		if err := a.w.PutTxShares(t.num, a.buf); err != nil {
			return err
		}
		start = t
	}
	return nil
}

func sameAddr(a *address.Addr) *address.Addr { return a }

// add counts the contributions of one output (a countFunc).
func (a *accumulator) add(addr *address.Addr, out store.OutPoint, cs []contribution) {
	acc := a.accs[*addr]
	n := len(acc)
	if acc = addContributions(acc, out, cs, &a.slab); len(acc) != n {
		a.entries += len(acc) - n
		a.accs[*addr] = acc
	}
}

// paysSource reports whether tx pays a source address of any slot.
func (e *engine) paysSource(tx *store.Tx) bool {
	if len(e.seeds) == 0 {
		return false
	}
	for j := range tx.Outputs {
		if !e.maySeed(&tx.Outputs[j].Addr) {
			continue
		}
		if _, ok := e.seeds[seedKeyOf(tx.Outputs[j].Addr)]; ok {
			return true
		}
	}
	return false
}
