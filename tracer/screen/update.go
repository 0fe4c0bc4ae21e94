package screen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
)

// UpdateStats is what one UpdateIndex did.
type UpdateStats struct {
	BlocksApplied int           `json:"blocks_applied"`
	BlocksUndone  int           `json:"blocks_undone"`
	Txs           int           `json:"txs"`       // transactions of applied blocks
	Addresses     int           `json:"addresses"` // address records rewritten (applied and undone)
	Duration      time.Duration `json:"duration_ns"`
}

// UpdateIndex brings generation gen of the exposure index (0: the one in
// force) from its tip to the store's: it first undoes, from the undo
// records the index keeps, every block it applied that is no longer on the
// store's best chain, then applies each newer block, propagating exposure
// forward from that block's inputs only. Each block is one store
// transaction together with the header's tip, so a crash leaves a
// consistent index and running it again resumes. An index built for
// another list, tag packs or options, or behind a reorganisation deeper
// than its undo records, is ErrIndexStale: rebuild it with BuildIndex.
func UpdateIndex(ctx context.Context, st IndexStore, gen uint32, opt Options) (store.ExposureIndex, UpdateStats, error) {
	if err := opt.normalize(false); err != nil {
		return store.ExposureIndex{}, UpdateStats{}, err
	}
	hdr, err := st.Exposure().Header(gen)
	if err != nil {
		return hdr, UpdateStats{}, err
	}
	src, err := LoadSources(st, opt.Params)
	if err != nil {
		return hdr, UpdateStats{}, err
	}
	e := newEngine(opt, src)
	var p IndexParams
	if len(hdr.Params) > 0 {
		if err := json.Unmarshal(hdr.Params, &p); err != nil {
			return hdr, UpdateStats{}, fmt.Errorf("%w: exposure index params: %v", store.ErrCorrupt, err)
		}
	}
	why := staleness(hdr, p, st.State(), src, opt)
	why = slices.DeleteFunc(why, func(s string) bool { return s == whyTip(hdr, st.State()) })
	if p.Slots != len(e.slots) {
		why = append(why, fmt.Sprintf("built with %d share columns, the sources now make %d", p.Slots, len(e.slots)))
	}
	if len(why) > 0 {
		return hdr, UpdateStats{}, fmt.Errorf("%w: %s", ErrIndexStale, why[0])
	}
	return updateIndex(ctx, st, e, hdr.Gen)
}

// updateIndex undoes and applies blocks until gen's tip is the store's.
func updateIndex(ctx context.Context, st IndexStore, e *engine, gen uint32) (store.ExposureIndex, UpdateStats, error) {
	started := time.Now()
	var stats UpdateStats
	defer func() { stats.Duration = time.Since(started) }()
	last := started
	// The next block's records are read ahead while one is applied: a
	// just-built index's files are not in the page cache, and an update
	// otherwise waits on the device for most of its reads.
	var ahead sync.WaitGroup
	defer ahead.Wait()
	var next *aheadBlock // the block read ahead
	for {
		if err := ctx.Err(); err != nil {
			return store.ExposureIndex{}, stats, err
		}
		hdr, err := st.Exposure().Header(gen)
		if err != nil {
			return hdr, stats, err
		}
		state := st.State()
		on, err := onChain(st, state, hdr)
		if err != nil {
			return hdr, stats, err
		}
		switch {
		case !on:
			n, err := e.undoBlock(st, gen, hdr.TipHeight)
			if err != nil {
				return hdr, stats, fmt.Errorf("screen: undo block %d of the exposure index: %w", hdr.TipHeight, err)
			}
			stats.BlocksUndone++
			stats.Addresses += n
		case hdr.TipHeight < state.Height:
			ahead.Wait()
			read := next
			if read != nil && (read.err != nil || read.height != hdr.TipHeight+1 || read.b.Hash.String() != blockHashAt(st, read.height)) {
				// Not read (its read's error is the update's to meet), or
				// not the block to apply (the store moved meanwhile).
				read = nil
			}
			next = nil
			if h := hdr.TipHeight + 2; h <= state.Height {
				next = &aheadBlock{height: h}
				ahead.Add(1)
				go func(a *aheadBlock) {
					defer ahead.Done()
					if a.b, a.err = st.BlockByHeight(a.height); a.err == nil {
						if a.txs, a.err = blockTxs(st, a.b); a.err == nil {
							prefetch(st, gen, a.txs) // a hint: the update reports errors
						}
					}
				}(next)
			}
			txs, n, err := e.applyBlock(st, gen, hdr.TipHeight+1, read)
			if err != nil {
				return hdr, stats, fmt.Errorf("screen: apply block %d to the exposure index: %w", hdr.TipHeight+1, err)
			}
			stats.BlocksApplied++
			stats.Txs += txs
			stats.Addresses += n
			if e.opt.Progress != nil && time.Since(last) > time.Second {
				last = time.Now()
				e.progress("index: block %d applied (%d of the store's %d)", hdr.TipHeight+1, hdr.TipHeight+1, state.Height)
			}
		default:
			stats.Duration = time.Since(started)
			return hdr, stats, nil
		}
	}
}

// onChain reports whether the index's tip is on the store's best chain.
func onChain(st IndexStore, state store.State, hdr store.ExposureIndex) (bool, error) {
	if hdr.TipHeight < state.StartHeight {
		return true, nil // nothing applied
	}
	if hdr.TipHeight > state.Height {
		return false, nil
	}
	b, err := st.BlockByHeight(hdr.TipHeight)
	if err != nil {
		return false, err
	}
	return b.Hash.String() == hdr.TipHash, nil
}

// whyTip is the staleness reason of a tip that updates bring forward.
func whyTip(hdr store.ExposureIndex, state store.State) string {
	return fmt.Sprintf("built at tip %d, the store's tip is %d", hdr.TipHeight, state.Height)
}

// applyBlock applies the block at height to gen in one transaction.
func (e *engine) applyBlock(st IndexStore, gen uint32, height int32, read *aheadBlock) (txs, addrs int, err error) {
	var b *store.Block
	var block []*store.Tx
	if read != nil && read.err == nil {
		b, block = read.b, read.txs
	} else if b, err = st.BlockByHeight(height); err != nil {
		return 0, 0, err
	}
	u := undoRecord{hash: b.Hash, first: b.FirstTx, end: b.FirstTx + store.TxNum(b.NumTx)}
	if height > 0 {
		if pb, err := st.BlockByHeight(height - 1); err == nil {
			u.prev = pb.Hash
		} else if !errors.Is(err, store.ErrNotFound) {
			return 0, 0, err
		}
	}
	err = st.Exposure().Update(gen, func(up *store.ExposureUpdate) error {
		bu := &blockUpdate{e: e, st: st, up: up, u: &u, cache: map[store.TxNum]*txShares{},
			accs: map[string][]accEntry{}, old: map[string][]byte{}, changed: map[store.TxNum]bool{}}
		if block == nil {
			var err error
			if block, err = blockTxs(st, b); err != nil {
				return err
			}
			prefetch(st, gen, block)
		}
		for _, tx := range block {
			if err := bu.applyTx(tx); err != nil {
				return err
			}
			txs++
		}
		if addrs, err = bu.write(); err != nil {
			return err
		}
		if err := up.PutUndo(height, u.encode()); err != nil {
			return err
		}
		if err := up.PutUndo(height-int32(e.opt.UndoDepth)-1, nil); err != nil {
			return err
		}
		h := up.Header()
		h.TipHeight, h.TipHash = height, b.Hash.String()
		return nil
	})
	return txs, addrs, err
}

// aheadBlock is a block read, and its records prefetched, while the one
// before it is applied.
type aheadBlock struct {
	height int32
	b      *store.Block
	txs    []*store.Tx
	err    error
}

// blockHashAt is the hash of the store's block at height ("": none).
func blockHashAt(st IndexStore, height int32) string {
	b, err := st.BlockByHeight(height)
	if err != nil {
		return ""
	}
	return b.Hash.String()
}

// blockTxs reads the transactions of block b.
func blockTxs(st IndexStore, b *store.Block) ([]*store.Tx, error) {
	block := make([]*store.Tx, 0, b.NumTx)
	for n := b.FirstTx; n < b.FirstTx+store.TxNum(b.NumTx); n++ {
		tx, err := st.TxByNum(n)
		if err != nil {
			return nil, err
		}
		block = append(block, tx)
	}
	return block, nil
}

// prefetch reads ahead, several at once, the records a block's update
// reads one by one: the tx shares of what its inputs spend and the
// accumulators of the addresses it pays.
func prefetch(st IndexStore, gen uint32, block []*store.Tx) {
	var txs []store.TxNum
	var accs []string
	for _, tx := range block {
		for _, in := range tx.Inputs {
			if in.Kind == store.InputKnown {
				txs = append(txs, in.Prev.Tx)
			}
		}
		for j := range tx.Outputs {
			if k := recordKey(tx.Outputs[j].Addr); k != "" {
				accs = append(accs, k)
			}
		}
	}
	st.Exposure().Prefetch(gen, txs, accs)
}

// blockUpdate is one block applied to the index in one store transaction:
// the tx shares records it reads and changes, the accumulators of the
// addresses it pays, and its undo record.
type blockUpdate struct {
	e       *engine
	st      IndexStore
	up      *store.ExposureUpdate
	u       *undoRecord
	cache   map[store.TxNum]*txShares // read or written; nil: none
	changed map[store.TxNum]bool      // records to write
	accs    map[string][]accEntry
	old     map[string][]byte // accumulators before the block, for undo
	order   []string          // addresses in the order first paid
	cerr    error             // of count
	rec     txShares
	ins     []*outShares
	inBuf   []outShares
}

// shares returns tx n's shares record, including this block's changes.
func (bu *blockUpdate) shares(n store.TxNum) (*txShares, error) {
	if r, ok := bu.cache[n]; ok {
		return r, nil
	}
	v, found, err := bu.up.TxShares(n)
	if err != nil || !found {
		bu.cache[n] = nil
		return nil, err
	}
	r, err := decodeTxShares(v, len(bu.e.slots))
	if err != nil {
		return nil, fmt.Errorf("transaction %d: %w", n, err)
	}
	bu.cache[n] = &r
	return &r, nil
}

// value is the value of a known input (for step).
func (bu *blockUpdate) value(op store.OutPoint) (int64, error) { return storedValue(bu.st, op) }

// load reads address a's accumulators on first use.
func (bu *blockUpdate) load(a string) error {
	if _, ok := bu.accs[a]; ok {
		return nil
	}
	v, found, err := bu.up.Acc(a)
	if err != nil {
		return err
	}
	var acc []accEntry
	if found {
		if acc, err = decodeAcc(v, len(bu.e.slots)); err != nil {
			_, s, _ := addressOfKey(a, bu.e.opt.Params)
			return fmt.Errorf("address %s: %w", s, err)
		}
		bu.old[a] = v
	}
	bu.accs[a] = acc
	bu.order = append(bu.order, a)
	return nil
}

// count adds one output's contributions to its address's accumulators.
func (bu *blockUpdate) count(addr *address.Addr, out store.OutPoint, cs []contribution) {
	a := recordKey(*addr)
	if bu.cerr == nil && a != "" {
		if bu.cerr = bu.load(a); bu.cerr == nil {
			bu.accs[a] = addContributions(bu.accs[a], out, cs, nil)
		}
	}
}

// inputs takes the shares of the outputs tx spends off their records
// into bu.ins (nil: clean), keeping those of earlier blocks in the undo
// record.
func (bu *blockUpdate) inputs(tx *store.Tx) error {
	bu.ins = bu.ins[:0]
	bu.inBuf = slices.Grow(bu.inBuf[:0], len(tx.Inputs))[:len(tx.Inputs)]
	for i, in := range tx.Inputs {
		var sh *outShares
		if in.Kind == store.InputKnown {
			r, err := bu.shares(in.Prev.Tx)
			if err != nil {
				return err
			}
			if r != nil {
				if k := r.outIndex(in.Prev.Vout); k >= 0 {
					// Spent: off the record, into the undo record.
					bu.inBuf[i] = r.outs[k]
					sh = &bu.inBuf[i]
					r.outs = slices.Delete(r.outs, k, k+1)
					bu.changed[in.Prev.Tx] = true
					if in.Prev.Tx < bu.u.first {
						bu.u.spent = append(bu.u.spent, spentOut{tx: in.Prev.Tx, out: bu.inBuf[i]})
					}
				}
			}
		}
		bu.ins = append(bu.ins, sh)
	}
	return nil
}

// applyTx propagates the shares through transaction tx.
func (bu *blockUpdate) applyTx(tx *store.Tx) error {
	n := tx.Num
	if err := bu.inputs(tx); err != nil {
		return err
	}
	if err := bu.e.step(tx, bu.ins, bu.value, &bu.rec); err != nil {
		return err
	}
	bu.e.countByOutput(tx, bu.count)
	if bu.cerr != nil {
		return bu.cerr
	}
	if len(bu.rec.preds) > 0 {
		outs := slices.Clone(bu.rec.outs)
		for i := range outs {
			outs[i].shares = slices.Clone(outs[i].shares) // the step's are reused by the next
		}
		bu.cache[n] = &txShares{preds: slices.Clone(bu.rec.preds), outs: outs}
		bu.changed[n] = true
	}
	return nil
}

// write stores the changed tx shares records and accumulators, noting the
// accumulators' previous values in the undo record, and returns how many
// addresses changed. An address's received total and example paths are
// drawn on read (Reader): only its accumulators change here.
func (bu *blockUpdate) write() (int, error) {
	for _, n := range slices.Sorted(maps.Keys(bu.changed)) {
		if err := bu.up.PutTxShares(n, bu.cache[n].encode(nil)); err != nil {
			return 0, err
		}
	}
	for _, a := range bu.order {
		bu.u.addrs, bu.u.old = append(bu.u.addrs, a), append(bu.u.old, bu.old[a])
		if err := bu.up.PutAcc(a, encodeAcc(bu.accs[a], nil)); err != nil {
			return 0, err
		}
	}
	return len(bu.order), nil
}

// undoBlock undoes the block at height, the tip of gen, from its undo
// record.
func (e *engine) undoBlock(st IndexStore, gen uint32, height int32) (addrs int, err error) {
	err = st.Exposure().Update(gen, func(up *store.ExposureUpdate) error {
		v, found, err := up.Undo(height)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: no undo record of block %d (a reorganisation deeper than the index keeps)", ErrIndexStale, height)
		}
		u, err := decodeUndo(v)
		if err != nil {
			return err
		}
		if h := up.Header(); chainhash.Hash(u.hash).String() != h.TipHash {
			return fmt.Errorf("%w: undo record of block %d is of block %s, the index's tip is %s", store.ErrCorrupt, height, chainhash.Hash(u.hash), h.TipHash)
		}
		if err := up.DeleteTxShares(u.first, u.end); err != nil {
			return err
		}
		if err := e.unspend(up, u.spent); err != nil {
			return err
		}
		for i, a := range u.addrs {
			if err := up.PutAcc(a, u.old[i]); err != nil {
				return err
			}
			addrs++
		}
		if err := up.PutUndo(height, nil); err != nil {
			return err
		}
		h := up.Header()
		h.TipHeight, h.TipHash = height-1, ""
		if u.prev != ([32]byte{}) {
			h.TipHash = chainhash.Hash(u.prev).String()
		}
		return nil
	})
	return addrs, err
}

// unspend puts the outputs an undone block spent back on their
// transactions' records.
func (e *engine) unspend(up *store.ExposureUpdate, spent []spentOut) error {
	byTx := map[store.TxNum][]outShares{}
	for _, sp := range spent {
		for _, sh := range sp.out.shares {
			if sh.slot >= uint32(len(e.slots)) {
				return fmt.Errorf("%w: exposure undo record: source group %d of %d", store.ErrCorrupt, sh.slot, len(e.slots))
			}
		}
		byTx[sp.tx] = append(byTx[sp.tx], sp.out)
	}
	for _, n := range slices.Sorted(maps.Keys(byTx)) {
		v, found, err := up.TxShares(n)
		if err == nil && !found {
			err = fmt.Errorf("%w: exposure undo: no shares record of transaction %d", store.ErrCorrupt, n)
		}
		if err != nil {
			return err
		}
		r, err := decodeTxShares(v, len(e.slots))
		if err != nil {
			return fmt.Errorf("transaction %d: %w", n, err)
		}
		for _, o := range byTx[n] {
			i, found := slices.BinarySearchFunc(r.outs, o.vout, func(x outShares, v uint32) int { return int(x.vout) - int(v) })
			if found {
				return fmt.Errorf("%w: exposure undo: output %d:%d spent but still on its record", store.ErrCorrupt, n, o.vout)
			}
			r.outs = slices.Insert(r.outs, i, o)
		}
		if err := up.PutTxShares(n, r.encode(nil)); err != nil {
			return err
		}
	}
	return nil
}
