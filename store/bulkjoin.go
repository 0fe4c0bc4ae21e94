package store

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"unsafe"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/dgraph-io/ristretto/v2/z"
)

// The spend join of a bulk load.
//
// The ingester resolves an input through its cache of recent unspent
// outputs (--cache-txs). A chain whose unspent set outgrows the cache
// (mainnet's does early) used to end the bulk load there and read the
// store once per missed input: random reads, about 100k a second. Instead
// the bulk load goes on and resolves those inputs by an external
// sort-merge join at its end:
//
//   - Transactions the cache evicts hand their still-unspent outputs to
//     the join (EvictOutputs), and inputs the cache misses hand it their
//     previous outpoint (DeferSpend), both keyed by txid and sorted in runs
//     of joinRunBytes spilled to files.
//   - From the first eviction on, the transaction records stream to a file
//     in TxNum order rather than into the store: a record with a deferred
//     input says, until the join, that the input is external and that its
//     fee is unknown (it keeps its other inputs' value minus its outputs').
//   - At the end the runs are merged: each txid's outputs come just before
//     its spends, so every spend is resolved (or found missing) in one
//     pass. A resolved spend writes its spent-by key (into the ordinary
//     runs) and a patch, keyed by the spender; the patches are sorted in
//     turn, and the transaction file is streamed into the store with the
//     patched records rewritten, beside the other families' merges.
//
// Memory stays bounded: one join run and one patch run in memory, the
// merges' read buffers. The disk holds the runs and the transaction file
// until the load ends.

// Phases of a bulk load's end, for OnBulkProgress.
const (
	BulkPhaseJoin  = "join"  // the join of deferred spends (done and total: join entries)
	BulkPhaseMerge = "merge" // the merge of the sorted runs into the store (done and total: writes)
)

// joinRunBytes is the size of one sorted run of the join in memory.
const joinRunBytes = 64 << 20

// JoinHooks lets the ingester judge what the join finds.
type JoinHooks struct {
	// Missing is called for a deferred input whose output the join did not
	// find earlier in the chain (reason "") or found unusable (reason says
	// why); the spender is at pos in the block at height. A nil error
	// keeps the input external.
	Missing func(prev wire.OutPoint, in InPoint, height int32, pos uint32, reason string) error
	// Check judges a transaction whose deferred inputs are all resolved,
	// with its fee filled in; in is the value of all its inputs.
	Check func(tx *Tx, in int64) error
}

// JoinStats counts what a bulk load's join resolved.
type JoinStats struct {
	Deferred int64 `json:"deferred_inputs"` // inputs resolved by the join rather than the cache
	Evicted  int64 `json:"evicted_txs"`     // transactions handed to the join by the cache
	External int64 `json:"external"`        // deferred inputs found nowhere, kept external
	Value    int64 `json:"value"`           // satoshi of the resolved outputs
	Patched  int64 `json:"patched_txs"`     // transaction records rewritten
}

// extSorter sorts key-value pairs larger than memory: runs of runBytes
// sorted in memory and spilled to files, merged on reading.
type extSorter struct {
	s        *Store
	dir      string
	name     string
	runBytes int
	buf      entryBuf
	size     int
	runs     []string
	scratch  []bufEntry
	n        int64
}

func (x *extSorter) add(k, v []byte) error {
	x.buf.add(k, v)
	x.n++
	x.size += len(k) + len(v) + int(unsafe.Sizeof(bufEntry{}))
	if x.size >= x.runBytes {
		return x.spill()
	}
	return nil
}

func (x *extSorter) spill() error {
	if err := x.s.CheckSpace(int64(x.size)); err != nil {
		return err
	}
	name := filepath.Join(x.dir, fmt.Sprintf("%s%05d", x.name, len(x.runs)))
	if _, err := x.buf.writeRun(name, &x.scratch); err != nil {
		return x.s.asNoSpace(err)
	}
	x.runs = append(x.runs, name)
	spare := x.buf.spare
	for _, a := range x.buf.arenas {
		if cap(a) == arenaSize {
			spare = append(spare, a[:0])
		}
	}
	x.buf = entryBuf{ents: x.buf.ents[:0], spare: spare}
	x.size = 0
	return nil
}

// sorted returns the pairs in key order (equal keys in the order added)
// and a function that closes the run files.
func (x *extSorter) sorted(bufSize int) (*mergeIter, func(), error) {
	x.buf.sort(&x.scratch)
	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			f.Close() //nolint:errcheck // a run opened read-only: Close cannot lose data
		}
	}
	var rs []*runReader
	for i, name := range x.runs {
		f, err := os.Open(name)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		files = append(files, f)
		rs = append(rs, &runReader{idx: i, r: bufio.NewReaderSize(f, bufSize)})
	}
	rs = append(rs, &runReader{idx: len(x.runs), mem: &x.buf, ents: x.buf.ents})
	it, err := newMergeIter(rs)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return it, closeAll, nil
}

// Join keys: a txid, then 0 and the TxNum for an evicted transaction's
// outputs, or 1, the output index, the spender's TxNum and input index for
// a deferred spend. So a txid's outputs sort just before its spends.
const (
	joinOutputs = 0
	joinSpend   = 1
)

// Patch kinds (the first byte of a patch's value).
const (
	patchKnown    = 1 // the input spends a resolved output
	patchExternal = 2 // the input stays external
	patchCoinbase = 3 // the coinbase's block has an external input: its fees are unknown
)

func (w *bulkWriter) joinRunBytes() int {
	if w.s.runBytes > 0 {
		return w.s.runBytes
	}
	return joinRunBytes
}

// Join starts a bulk load's join: from transaction from on (a block's
// first), transaction records wait in a file until the join has resolved
// the inputs handed to DeferSpend. Only in a bulk load.
func (b *Batch) Join(from TxNum, hooks JoinHooks) error {
	if b.bulk == nil {
		return errors.New("store: a join outside a bulk load")
	}
	w := b.bulk
	if w.join != nil {
		return nil
	}
	f, err := os.Create(filepath.Join(w.dir, "txs"))
	if err != nil {
		return fmt.Errorf("store: bulk load: %w", err)
	}
	w.join = &extSorter{s: w.s, dir: w.dir, name: "join", runBytes: w.joinRunBytes()}
	w.hooks = hooks
	w.txFile, w.txName = f, f.Name()
	w.txOut = bufio.NewWriterSize(f, 1<<20)
	w.joinFrom.Store(int64(from))
	return nil
}

// Joining reports whether the bulk load's join has started.
func (b *Batch) Joining() bool { return b.bulk != nil && b.bulk.join != nil }

// JoinStats is what the last bulk load's join did.
func (b *Batch) JoinStats() JoinStats { return b.joined }

// EvictOutputs hands the join a transaction leaving the ingester's cache:
// values are its outputs' values, negative for spent or unspendable ones.
func (b *Batch) EvictOutputs(id *chainhash.Hash, num TxNum, values []int64) error {
	w := b.bulk
	if w == nil || w.join == nil {
		return errors.New("store: evicted outputs outside a join")
	}
	var k [32 + 1 + 8]byte
	copy(k[:], id[:])
	k[32] = joinOutputs
	binary.BigEndian.PutUint64(k[33:], uint64(num))
	v := binary.AppendUvarint(w.joinVal[:0], uint64(len(values)))
	for _, x := range values {
		v = binary.AppendVarint(v, x)
	}
	w.joinVal = v
	w.stats.Evicted++
	return w.join.add(k[:], v)
}

// DeferSpend hands the join an input the ingester's cache missed: in
// spends prev; the spender's block is at height and begins with
// transaction coinbase. The spender's record must name prev as an
// external input.
func (b *Batch) DeferSpend(prev *wire.OutPoint, in InPoint, height int32, coinbase TxNum) error {
	w := b.bulk
	if w == nil || w.join == nil {
		return errors.New("store: a deferred spend outside a join")
	}
	var k [32 + 1 + 4 + 8 + 4]byte
	copy(k[:], prev.Hash[:])
	k[32] = joinSpend
	binary.BigEndian.PutUint32(k[33:], prev.Index)
	binary.BigEndian.PutUint64(k[37:], uint64(in.Tx))
	binary.BigEndian.PutUint32(k[45:], in.Vin)
	w.stats.Deferred++
	v := binary.AppendUvarint(w.joinVal[:0], uint64(coinbase))
	w.joinVal = binary.AppendUvarint(v, uint64(height))
	return w.join.add(k[:], w.joinVal)
}

// spillTx writes a transaction record to the join's transaction file
// (records arrive in key order).
func (w *bulkWriter) spillTx(k, v []byte) error {
	var hdr [binary.MaxVarintLen64 * 2]byte
	n := binary.PutUvarint(hdr[:], uint64(len(k)))
	n += binary.PutUvarint(hdr[n:], uint64(len(v)))
	w.txOut.Write(hdr[:n])
	w.txOut.Write(k)
	_, err := w.txOut.Write(v)
	w.txSpilled++
	return err
}

// runJoin merges the join's runs: each deferred spend is resolved against
// the outputs of its txid, which sort just before it. A resolved spend
// writes its spent-by key to the ordinary runs and a patch for its
// spender. st is updated: the resolved value leaves the unspent total,
// inputs kept external are counted.
func (w *bulkWriter) runJoin(st *State) error {
	x := w.join
	total := x.n
	it, closeRuns, err := x.sorted(max(16<<10, min(1<<20, mergeBufBytes/max(len(x.runs), 1))))
	if err != nil {
		return err
	}
	defer closeRuns()
	w.patches = &extSorter{s: w.s, dir: w.dir, name: "patch", runBytes: w.joinRunBytes()}
	var cur joinOutputsEntry
	var done int64
	for it.next() {
		if done++; done%(1<<14) == 0 && w.progress != nil {
			w.progress(BulkPhaseJoin, done, total)
		}
		k, v := it.k, it.v
		if len(k) < 33 {
			return fmt.Errorf("join run: key of %d bytes", len(k))
		}
		if k[32] == joinOutputs {
			if err := cur.set(k, v); err != nil {
				return err
			}
			continue
		}
		if err := w.joinSpend(k, v, &cur, st); err != nil {
			return err
		}
	}
	if it.err != nil {
		return it.err
	}
	if w.progress != nil {
		w.progress(BulkPhaseJoin, total, total)
	}
	return nil
}

// joinOutputsEntry is the last evicted transaction the join met: its
// txid, number and outputs' values (negative once spent or unspendable).
type joinOutputsEntry struct {
	id   [32]byte
	num  TxNum
	vals []int64
	have bool
}

// set reads an outputs entry of the join (key k, value v).
func (e *joinOutputsEntry) set(k, v []byte) error {
	d := decoder{b: v}
	n := d.count()
	e.vals = e.vals[:0]
	for i := 0; i < n && d.err == nil; i++ {
		x, m := binary.Varint(d.b)
		if m <= 0 {
			d.err = ErrCorrupt
			break
		}
		d.b = d.b[m:]
		e.vals = append(e.vals, x)
	}
	if d.err != nil || len(k) != 41 {
		return fmt.Errorf("join run: %w", ErrCorrupt)
	}
	copy(e.id[:], k[:32])
	e.num, e.have = TxNum(binary.BigEndian.Uint64(k[33:])), true
	return nil
}

// joinSpend resolves a deferred spend of the join (key k, value v)
// against cur, the outputs entry before it: a spent-by key and a patch, or
// the input stays external (if the hooks allow).
func (w *bulkWriter) joinSpend(k, v []byte, cur *joinOutputsEntry, st *State) error {
	if len(k) != 49 {
		return fmt.Errorf("join run: key of %d bytes", len(k))
	}
	var prev wire.OutPoint
	copy(prev.Hash[:], k[:32])
	prev.Index = binary.BigEndian.Uint32(k[33:])
	in := InPoint{Tx: TxNum(binary.BigEndian.Uint64(k[37:])), Vin: binary.BigEndian.Uint32(k[45:])}
	d := decoder{b: v}
	cb := TxNum(d.uvarint())
	height := int32(d.uvarint32())
	if d.err != nil || cb > in.Tx {
		return fmt.Errorf("join run: %w", ErrCorrupt)
	}
	reason := ""
	switch {
	case !cur.have || !bytes.Equal(cur.id[:], k[:32]) || cur.num >= in.Tx:
		reason = "" // not earlier in the chain
	case int(prev.Index) >= len(cur.vals):
		reason = fmt.Sprintf("%s has %d outputs, input spends %d", prev.Hash, len(cur.vals), prev.Index)
	case cur.vals[prev.Index] < 0:
		reason = fmt.Sprintf("%s:%d is already spent or unspendable", prev.Hash, prev.Index)
	default:
		value := cur.vals[prev.Index]
		cur.vals[prev.Index] = -1
		op := OutPoint{Tx: cur.num, Vout: prev.Index}
		if err := w.set(spentKey(op), appendInPoint(nil, op, in)); err != nil {
			return err
		}
		if err := w.patch(in, patchKnown, op, value); err != nil {
			return err
		}
		st.Value -= value
		w.stats.Value += value
		return nil
	}
	if err := w.hooks.Missing(prev, in, height, uint32(in.Tx-cb), reason); err != nil {
		return err
	}
	st.External++
	w.stats.External++
	if err := w.patch(in, patchExternal, OutPoint{}, 0); err != nil {
		return err
	}
	return w.patch(InPoint{Tx: cb, Vin: ^uint32(0)}, patchCoinbase, OutPoint{}, 0)
}

// patch records a rewrite of input in's spender: the input spends prev
// (of value), stays external, or (kind patchCoinbase) the coinbase's fees
// become unknown.
func (w *bulkWriter) patch(in InPoint, kind byte, prev OutPoint, value int64) error {
	pk := append(txKey(in.Tx), 0, 0, 0, 0)
	binary.BigEndian.PutUint32(pk[len(pk)-4:], in.Vin)
	pv := append(w.joinVal[:0], kind)
	pv = binary.AppendUvarint(pv, uint64(in.Tx))
	pv = binary.AppendUvarint(pv, uint64(prev.Tx))
	pv = binary.AppendUvarint(pv, uint64(prev.Vout))
	pv = binary.AppendUvarint(pv, uint64(value))
	w.joinVal = pv
	return w.patches.add(pk, pv)
}

// patchTxs streams the join's transaction file into the store, rewriting
// the records the patches name.
func (w *bulkWriter) patchTxs(done *atomic.Int64, bufSize int) error {
	f, err := os.Open(w.txName)
	if err != nil {
		return err
	}
	defer f.Close() //nolint:errcheck // opened read-only
	txs := &runReader{r: bufio.NewReaderSize(f, 4<<20)}
	pit, closeRuns, err := w.patches.sorted(bufSize)
	if err != nil {
		return err
	}
	defer closeRuns()
	havePatch := pit.next()
	buf := z.NewBuffer(8<<20, "tracer.bulk")
	defer func() { buf.Release() }() //nolint:errcheck // calloc-backed: cannot fail
	id := uint32(prefixTx)
	var tx Tx
	var rec []byte
	var n int64
	for txs.next() {
		if n++; n%(1<<12) == 0 {
			done.Add(1 << 12)
		}
		k, v := txs.k, txs.v
		if havePatch && bytes.Compare(pit.k[:len(pit.k)-4], k) < 0 {
			return fmt.Errorf("join: a patch for transaction key %x, not in the load", pit.k[:len(pit.k)-4])
		}
		if havePatch && bytes.Equal(pit.k[:len(pit.k)-4], k) {
			if havePatch, err = w.applyPatches(pit, k, v, &tx); err != nil {
				return err
			}
			rec = appendTx(rec[:0], &tx)
			v = rec
		}
		appendStreamKV(buf, k, v, id)
		if buf.LenNoPadding() >= 4<<20 {
			if err := w.sw.Write(buf); err != nil {
				return err
			}
			buf.Reset()
		}
	}
	if txs.err != nil {
		return fmt.Errorf("read the join's transactions: %w", txs.err)
	}
	if pit.err != nil {
		return pit.err
	}
	if havePatch {
		return fmt.Errorf("join: a patch for transaction key %x, not in the load", pit.k[:len(pit.k)-4])
	}
	if err := w.sw.Write(buf); err != nil {
		return err
	}
	return w.streamDone(id)
}

// applyPatches decodes the transaction record k, v into tx and applies
// its patches, pit's entries from the current one on; it returns whether
// pit holds another patch.
func (w *bulkWriter) applyPatches(pit *mergeIter, k, v []byte, tx *Tx) (bool, error) {
	var sum int64
	first := true
	havePatch := true
	for havePatch && bytes.Equal(pit.k[:len(pit.k)-4], k) {
		d := decoder{b: pit.v[1:]}
		kind := pit.v[0]
		num := TxNum(d.uvarint())
		prev := OutPoint{Tx: TxNum(d.uvarint()), Vout: uint32(d.uvarint())}
		value := int64(d.uvarint())
		if d.err != nil {
			return false, fmt.Errorf("join patch: %w", ErrCorrupt)
		}
		if first {
			if err := decodeTxInto(tx, num, v); err != nil {
				return false, fmt.Errorf("join: transaction %d: %w", num, err)
			}
			first = false
		}
		vin := binary.BigEndian.Uint32(pit.k[len(pit.k)-4:])
		switch {
		case kind == patchCoinbase:
			tx.FeeKnown = false
		case int(vin) >= len(tx.Inputs) || tx.Inputs[vin].Kind != InputExternal:
			return false, fmt.Errorf("join: transaction %d input %d is not a deferred one", num, vin)
		case kind == patchKnown:
			tx.Inputs[vin] = Input{Kind: InputKnown, Prev: prev}
			sum += value
		}
		havePatch = pit.next()
	}
	if !tx.Coinbase {
		if err := w.settleFee(tx, sum); err != nil {
			return false, err
		}
	}
	w.stats.Patched++
	return havePatch, nil
}

// settleFee sets the fee of a patched transaction: a record with deferred
// inputs holds the value of its other inputs minus its outputs', and
// resolved adds the deferred ones'.
func (w *bulkWriter) settleFee(tx *Tx, resolved int64) error {
	for i := range tx.Inputs {
		if tx.Inputs[i].Kind != InputKnown {
			tx.Fee, tx.FeeKnown = 0, false
			return nil
		}
	}
	var out int64
	for i := range tx.Outputs {
		out += tx.Outputs[i].Value
	}
	in := tx.Fee + out + resolved
	tx.Fee, tx.FeeKnown = in-out, true
	if w.hooks.Check != nil {
		return w.hooks.Check(tx, in)
	}
	return nil
}

// closeTxFile flushes and closes the join's transaction file.
func (w *bulkWriter) closeTxFile() error {
	if w.txFile == nil {
		return nil
	}
	err := errors.Join(w.txOut.Flush(), w.txFile.Close())
	w.txFile = nil
	return err
}
