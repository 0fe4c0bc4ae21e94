package ingest

import (
	"fmt"
	"github.com/tracer-oss/tracer/store/network"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
)

// writer owns the batch: it numbers transactions, resolves inputs and
// writes every key. Only the pipeline's writer goroutine touches it.
type writer struct {
	st              *store.Store
	state           store.State
	params          network.Network
	cache           *txCache
	batch           *store.Batch
	res             *Result
	pendingTxs      int
	onCommit        func(int32)
	tx              store.Tx // reused per transaction
	values          []int64  // reused per transaction: its outputs' values for the cache
	pendingCoinbase *store.Tx
	obs             Observer // nil: none
}

// Observer sees every block the writer stores, transaction by transaction
// with inputs resolved (the coinbase last), and may add writes such as
// alerts to the same batch, so that they commit together with the block.
// The Tx is valid only during the call.
type Observer interface {
	Tx(b *store.Batch, blk *store.Block, tx *store.Tx) error
	// Committed follows each durable commit.
	Committed()
	// Reset follows an undo or a cancelled batch: what the observer keeps
	// about uncommitted or removed blocks is void.
	Reset() error
}

const (
	spentMark  = -1 // cache value of a spent output
	unspendMrk = -2 // cache value of an output nobody can spend
)

func (w *writer) block(d *decoded) error {
	height := d.height
	if !w.state.Empty() && (height != w.state.Height+1 || d.header.PrevBlock != w.state.Hash) {
		return fmt.Errorf("%w: block %d (%s) builds on %s, the tip is %d (%s)", ErrChainMoved, height, d.hash, d.header.PrevBlock, w.state.Height, w.state.Hash)
	}
	blk := store.Block{
		Height:  height,
		Hash:    d.hash,
		Header:  d.header,
		FirstTx: w.state.NextTx,
		NumTx:   uint32(len(d.txs)),
		Size:    d.size,
		Weight:  d.weight,
	}
	if err := w.batch.PutBlock(&blk); err != nil {
		return err
	}
	feesKnown := true
	for i := range d.txs {
		if err := w.blockTx(d, &blk, i, &feesKnown); err != nil {
			return err
		}
	}
	if err := w.writeCoinbase(&blk, feesKnown); err != nil {
		return err
	}
	w.state.Height = height
	w.state.Hash = d.hash
	w.state.Blocks++
	w.res.Blocks++
	w.res.Txs += int64(len(d.txs))
	w.res.Bytes += int64(d.size)
	w.pendingTxs += len(d.txs)
	return nil
}

// blockTx stores transaction i of block d: its inputs resolved, its fee
// judged, its outputs remembered for later inputs. The coinbase's record
// waits for the block's fees (writeCoinbase); feesKnown turns false when
// they cannot be known (an input is external).
func (w *writer) blockTx(d *decoded, blk *store.Block, i int, feesKnown *bool) error {
	st := &d.txs[i]
	num := w.state.NextTx
	w.state.NextTx++
	tx := &w.tx
	*tx = store.Tx{
		Num:      num,
		ID:       st.id,
		Height:   d.height,
		Pos:      uint32(i),
		Size:     st.size,
		VSize:    st.vsize,
		Coinbase: i == 0,
		Inputs:   tx.Inputs[:0],
		Outputs:  st.outs,
	}
	var out int64
	for j, o := range tx.Outputs {
		// The block-file scanner refuses these already; a node's
		// blocks are checked here.
		if o.Value < 0 || o.Value > maxSatoshi {
			return fmt.Errorf("%w: block %d tx %s output %d pays %d sat", ErrBadBlock, d.height, tx.ID, j, o.Value)
		}
		out += o.Value
	}
	in, known, defers, err := w.inputs(d, blk, st, tx)
	if err != nil {
		return err
	}
	if err := judgeFee(d.height, tx, in, out, known, defers, feesKnown); err != nil {
		return err
	}
	if i == 0 {
		// The coinbase's record is written after the block's fees are
		// summed; keep its outputs and write it at the end.
		cb := *tx
		cb.Inputs = append([]store.Input(nil), tx.Inputs...)
		w.pendingCoinbase = &cb
	} else {
		if err := w.batch.PutTx(tx); err != nil {
			return err
		}
		if w.obs != nil {
			if err := w.obs.Tx(w.batch, blk, tx); err != nil {
				return err
			}
		}
	}
	w.remember(d.height, tx)
	w.res.Inputs += int64(len(st.ins))
	w.res.Outputs += int64(len(st.outs))
	w.state.Inputs += int64(len(st.ins))
	w.state.Outputs += int64(len(st.outs))
	return nil
}

// inputs resolves the inputs of tx into its record and the spent-by
// entries: in is the value of those known, known is false when one is
// external, defers says some are left to the bulk load's join.
func (w *writer) inputs(d *decoded, blk *store.Block, st *scannedTx, tx *store.Tx) (in int64, known, defers bool, err error) {
	known = true
	for vin := range st.ins {
		if tx.Coinbase {
			tx.Inputs = append(tx.Inputs, store.Input{Kind: store.InputCoinbase})
			continue
		}
		prev := &st.ins[vin]
		op, value, how, err := w.resolve(prev)
		if err != nil {
			return 0, false, false, fmt.Errorf("block %d (%s) tx %s input %d: %w", d.height, d.hash, tx.ID, vin, err)
		}
		switch how {
		case deferred:
			// The join resolves it at the end of the bulk load; until
			// then the record names it as external.
			tx.Inputs = append(tx.Inputs, store.Input{Kind: store.InputExternal, Ext: *prev})
			defers = true
			if err := w.batch.DeferSpend(prev, store.InPoint{Tx: tx.Num, Vin: uint32(vin)}, d.height, blk.FirstTx); err != nil {
				return 0, false, false, err
			}
		case external:
			tx.Inputs = append(tx.Inputs, store.Input{Kind: store.InputExternal, Ext: *prev})
			known = false
			w.state.External++
			w.res.External++
		default:
			in += value
			w.state.Value -= value
			tx.Inputs = append(tx.Inputs, store.Input{Kind: store.InputKnown, Prev: op})
			if err := w.batch.PutSpend(op, store.InPoint{Tx: tx.Num, Vin: uint32(vin)}); err != nil {
				return 0, false, false, err
			}
		}
	}
	return in, known, defers, nil
}

// judgeFee sets tx's fee from what it spends (in) and pays (out): known
// when every input is; left to the join when some are deferred (the
// coinbase's is fixed up by writeCoinbase); an unknown one makes the
// block's fees unknown.
func judgeFee(height int32, tx *store.Tx, in, out int64, known, defers bool, feesKnown *bool) error {
	switch {
	case tx.Coinbase:
		tx.FeeKnown = true // fixed up once the block's fees are known
	case known && defers:
		// The join adds the deferred inputs' value and judges the fee
		// (see joinHooks); the record holds the rest until then.
		if in > maxSatoshi || out > maxSatoshi {
			return fmt.Errorf("%w: block %d tx %s moves more than all bitcoin (%d sat in, %d out)", ErrBadBlock, height, tx.ID, in, out)
		}
		tx.Fee = in - out
	case known:
		tx.FeeKnown = true
		tx.Fee = in - out
		if in > maxSatoshi || out > maxSatoshi {
			// Also keeps the fee within what the tx record encodes.
			return fmt.Errorf("%w: block %d tx %s moves more than all bitcoin (%d sat in, %d out)", ErrBadBlock, height, tx.ID, in, out)
		}
		if tx.Fee < 0 {
			return fmt.Errorf("%w: block %d tx %s spends %d sat but pays %d", ErrBadBlock, height, tx.ID, in, out)
		}
	default:
		*feesKnown = false
	}
	return nil
}

// remember puts tx's outputs in the input cache for later inputs.
// Genesis's coinbase is not spendable (as in Bitcoin Core): it never
// enters the cache.
func (w *writer) remember(height int32, tx *store.Tx) {
	values := w.values[:0]
	unspent := 0
	for _, o := range tx.Outputs {
		if o.Addr.Kind == address.OpReturn || (height == 0 && tx.Coinbase) {
			values = append(values, unspendMrk)
			continue
		}
		values = append(values, o.Value)
		w.state.Value += o.Value
		unspent++
	}
	w.values = values
	w.cache.add(tx.ID, tx.Num, values, unspent)
}

// writeCoinbase writes the block's coinbase record, whose "fee" is what it
// claimed beyond the subsidy: the fees collected, unknown when any input
// of the block is external.
func (w *writer) writeCoinbase(blk *store.Block, feesKnown bool) error {
	cb := w.pendingCoinbase
	w.pendingCoinbase = nil
	var cbOut int64
	for _, o := range cb.Outputs {
		cbOut += o.Value
	}
	if cbOut > maxSatoshi {
		return fmt.Errorf("%w: block %d coinbase pays more than all bitcoin (%d sat)", ErrBadBlock, blk.Height, cbOut)
	}
	cb.FeeKnown = feesKnown
	cb.Fee = cbOut - blockchain.CalcBlockSubsidy(blk.Height, w.params.Params)
	if err := w.batch.PutTx(cb); err != nil {
		return err
	}
	if w.obs != nil {
		if err := w.obs.Tx(w.batch, blk, cb); err != nil {
			return err
		}
	}
	return nil
}

// How an input was resolved.
const (
	known    = iota // from the cache or the store
	external        // spends from before the store's first block
	deferred        // left to the bulk load's join
)

// resolve finds the output an input spends: its number and value, and how
// it was found. In a bulk load whose join has started, an input the cache
// misses is deferred to the join rather than read from the store.
func (w *writer) resolve(prev *wire.OutPoint) (store.OutPoint, int64, int, error) {
	if e, ok := w.cache.get(&prev.Hash); ok {
		values := w.cache.values(e)
		if int(prev.Index) >= len(values) {
			return store.OutPoint{}, 0, 0, fmt.Errorf("%w: %s has %d outputs, input spends %d", ErrMissingInput, prev.Hash, len(values), prev.Index)
		}
		v := values[prev.Index]
		if v < 0 {
			return store.OutPoint{}, 0, 0, fmt.Errorf("%w: %s:%d is already spent or unspendable", ErrMissingInput, prev.Hash, prev.Index)
		}
		w.cache.spend(&prev.Hash, e, prev.Index)
		return store.OutPoint{Tx: e.num, Vout: prev.Index}, v, known, nil
	}
	w.cache.misses++
	if w.batch.Joining() {
		w.res.Joined++
		return store.OutPoint{}, 0, deferred, nil
	}
	tx, err := w.st.Tx(prev.Hash)
	if err != nil {
		if w.state.StartHeight > 0 {
			return store.OutPoint{}, 0, external, nil
		}
		return store.OutPoint{}, 0, 0, fmt.Errorf("%w: %s:%d (%v)", ErrMissingInput, prev.Hash, prev.Index, err)
	}
	if int(prev.Index) >= len(tx.Outputs) {
		return store.OutPoint{}, 0, 0, fmt.Errorf("%w: %s has %d outputs, input spends %d", ErrMissingInput, prev.Hash, len(tx.Outputs), prev.Index)
	}
	return store.OutPoint{Tx: tx.Num, Vout: prev.Index}, tx.Outputs[prev.Index].Value, known, nil
}

// joinHooks judges what the bulk load's join finds, as resolve and block
// judge what the cache finds.
func (w *writer) joinHooks() store.JoinHooks {
	startHeight := w.state.StartHeight
	return store.JoinHooks{
		Missing: func(prev wire.OutPoint, in store.InPoint, height int32, pos uint32, reason string) error {
			where := fmt.Sprintf("block %d, transaction %d of the block, input %d", height, pos, in.Vin)
			if reason != "" {
				return fmt.Errorf("%s: %w: %s", where, ErrMissingInput, reason)
			}
			if startHeight > 0 {
				return nil
			}
			return fmt.Errorf("%s: %w: %s:%d is in no earlier transaction of the chain", where, ErrMissingInput, prev.Hash, prev.Index)
		},
		Check: func(tx *store.Tx, in int64) error {
			var out int64
			for _, o := range tx.Outputs {
				out += o.Value
			}
			if in > maxSatoshi {
				return fmt.Errorf("%w: block %d tx %s moves more than all bitcoin (%d sat in, %d out)", ErrBadBlock, tx.Height, tx.ID, in, out)
			}
			if tx.Fee < 0 {
				return fmt.Errorf("%w: block %d tx %s spends %d sat but pays %d", ErrBadBlock, tx.Height, tx.ID, in, out)
			}
			return nil
		},
	}
}

// commit makes the batch durable. In a bulk load nothing is durable until
// the load ends, so the cache cannot fall back on the store: once it
// outgrows its limit, the transactions it evicts and the inputs it misses
// go to the load's join, resolved when the load ends (see store.Batch.Join).
func (w *writer) commit(final bool) error {
	w.pendingTxs = 0
	if w.batch.Bulk() {
		if !final {
			if w.cache.full() {
				if err := w.batch.Join(w.state.NextTx, w.joinHooks()); err != nil {
					return err
				}
				if err := w.cache.trim(w.batch.EvictOutputs); err != nil {
					return err
				}
			}
			return w.batch.Commit(w.state)
		}
		w.cache.release() // its memory is the merge's now
		err := w.batch.EndBulk(w.state)
		js := w.batch.JoinStats()
		w.res.External += js.External
		if err != nil {
			return err
		}
		w.state = w.st.State()
		w.res.BulkTo = w.state.Height
	} else if err := w.batch.Commit(w.state); err != nil {
		return err
	}
	if err := w.cache.trim(nil); err != nil {
		return err
	}
	if w.obs != nil {
		w.obs.Committed()
	}
	if w.onCommit != nil {
		w.onCommit(w.state.Height)
	}
	return nil
}
