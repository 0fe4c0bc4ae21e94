package flow

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/tracer-oss/tracer/store"
)

// patch sets the spender bits (spMask) of the out.dat record at offset
// off to sp, keeping the value bits beside them.
type patch struct {
	off int64
	sp  uint64
}

// builder appends transactions to the index files a chunk at a time.
type builder struct {
	st    *store.Store
	dir   string
	h     *header
	files [5]*os.File
	// The chunk being built: its first transaction and output, and the
	// new records, in the order of names.
	chunkTx, chunkOut uint64
	buf               [5][]byte
	old               []byte // tx.dat mapped up to chunkTx
	patches           []patch
	touched           map[int64]bool // out.dat chunks (sumChunk) patched in place
	lastHash          chainhash.Hash // of the last block added
}

const (
	fBlk = iota
	fTx
	fTxid
	fOut
	fIn
)

var errStop = errors.New("stop")

// update extends the index described by h to st's tip.
func update(ctx context.Context, st *store.Store, dir string, h *header, opt Options, prev sums) (err error) {
	state := st.State()
	chunk := opt.ChunkTxs
	if chunk <= 0 {
		chunk = 1_000_000
	}
	h.Dirty = true
	if err := writeHeader(dir, h); err != nil {
		return err
	}
	b := &builder{st: st, dir: dir, h: h, chunkTx: h.Txs, chunkOut: h.Outs, lastHash: h.Hash, touched: map[int64]bool{}}
	defer func() {
		if cerr := b.close(); err == nil {
			err = cerr
		}
	}()
	from, err := b.open()
	if err != nil {
		return err
	}
	total := uint64(state.NextTx)
	interrupted, err := b.addAll(ctx, total, chunk, opt.Progress)
	if err != nil {
		return err
	}
	if err := b.flush(); err != nil {
		return err
	}
	for i, f := range b.files {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("flow: sync %s: %w", names[i], err)
		}
	}
	if opt.Progress != nil {
		opt.Progress(h.Txs, total)
	}
	sum, err := prev.refresh(dir, h, from, b.touched)
	if err != nil {
		return err
	}
	if err := writeSums(dir, sum); err != nil {
		return err
	}
	h.Height, h.Hash, h.Dirty = state.Height, state.Hash, false
	if interrupted != nil {
		h.Height, h.Hash = h.StartHeight+int32(h.Blocks)-1, b.lastHash
	}
	if err := writeHeader(dir, h); err != nil {
		return err
	}
	return interrupted
}

// open opens the index files at the sizes h gives, positioned at their
// ends, and maps tx.dat. from is where each file changes: its sum chunks
// before that keep their sums.
func (b *builder) open() (from [5]int64, err error) {
	sizes := b.h.sizes()
	for i, size := range sizes {
		from[i] = size / sumChunk * sumChunk
	}
	for i, name := range names {
		f, err := os.OpenFile(filepath.Join(b.dir, name), os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return from, fmt.Errorf("flow: %w", err)
		}
		b.files[i] = f
		if err := f.Truncate(sizes[i]); err != nil {
			return from, fmt.Errorf("flow: %w", err)
		}
		if _, err := f.Seek(sizes[i], io.SeekStart); err != nil {
			return from, fmt.Errorf("flow: %w", err)
		}
	}
	b.old, err = mapFile(b.files[fTx], sizes[fTx], false)
	return from, err
}

// close closes the files and unmaps tx.dat; it returns the first error.
func (b *builder) close() (err error) {
	for _, f := range b.files {
		if f != nil {
			if cerr := f.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("flow: %w", cerr)
			}
		}
	}
	if uerr := unmap(b.old); err == nil && uerr != nil {
		err = fmt.Errorf("flow: %w", uerr)
	}
	return err
}

// addAll adds the store's transactions from h.Txs to total, flushing every
// chunk transactions. When ctx is done it stops between blocks, keeping
// what is done, and returns ctx's error as interrupted.
func (b *builder) addAll(ctx context.Context, total uint64, chunk int, progress func(done, total uint64)) (interrupted, err error) {
	h := b.h
	err = b.st.ForEachTx(store.TxNum(h.Txs), func(tx *store.Tx) error {
		if uint64(tx.Num) >= total {
			return errStop
		}
		if tx.Pos == 0 {
			if interrupted = ctx.Err(); interrupted != nil {
				return errStop
			}
		}
		if err := b.add(tx); err != nil {
			return err
		}
		if n := h.Txs - b.chunkTx; n >= uint64(chunk) {
			if err := b.flush(); err != nil {
				return err
			}
		}
		if h.Txs%4096 == 0 && progress != nil {
			progress(h.Txs, total)
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	if interrupted == nil && h.Txs != total {
		return nil, fmt.Errorf("%w: the store lists %d transactions, its records end at %d", ErrCorrupt, total, h.Txs)
	}
	return interrupted, nil
}

// add appends one transaction; h counts it at once, the files get it at the
// next flush.
func (b *builder) add(tx *store.Tx) error {
	h := b.h
	if uint64(tx.Num) != h.Txs {
		return fmt.Errorf("%w: transaction %d follows %d", ErrCorrupt, tx.Num, h.Txs-1)
	}
	if tx.Pos == 0 {
		if want := h.StartHeight + int32(h.Blocks); tx.Height != want {
			return fmt.Errorf("%w: block %d follows block %d", ErrCorrupt, tx.Height, want-1)
		}
		blk, err := b.st.BlockByHeight(tx.Height)
		if err != nil {
			return fmt.Errorf("flow: block %d: %w", tx.Height, err)
		}
		b.buf[fBlk] = binary.LittleEndian.AppendUint64(b.buf[fBlk], uint64(tx.Num))
		b.buf[fBlk] = append(b.buf[fBlk], blk.Hash[:]...)
		b.lastHash = blk.Hash
		h.Blocks++
	}
	if h.Outs+uint64(len(tx.Outputs)) >= maxCount || h.Ins+uint64(len(tx.Inputs)) >= maxCount || uint64(tx.Num) > maxSpTx {
		return fmt.Errorf("flow: transaction %d: more than 2^40 outputs or inputs", tx.Num)
	}
	b.buf[fTx] = appendLE(b.buf[fTx], h.Outs, 5)
	b.buf[fTx] = appendLE(b.buf[fTx], h.Ins, 5)
	b.buf[fTx] = appendLE(b.buf[fTx], feeField(tx.Fee, tx.FeeKnown), 4)
	b.buf[fTxid] = append(b.buf[fTxid], tx.ID[:]...)
	for i := range tx.Outputs {
		o := &tx.Outputs[i]
		if o.Value < 0 || o.Value >= maxValue {
			return fmt.Errorf("%w: transaction %d output %d has value %d", ErrCorrupt, tx.Num, i, o.Value)
		}
		b.buf[fOut] = outRecord(b.buf[fOut], o.Value, KeyOf(o.Addr.Key()))
	}
	h.Txs++
	h.Outs += uint64(len(tx.Outputs))
	for vin, in := range tx.Inputs {
		var v uint64
		switch in.Kind {
		case store.InputCoinbase:
			v = inCoinbase
		case store.InputExternal:
			v = inExternal
		default:
			var err error
			if v, err = b.spend(in.Prev, store.InPoint{Tx: tx.Num, Vin: uint32(vin)}); err != nil {
				return err
			}
		}
		b.buf[fIn] = appendLE(b.buf[fIn], v, inSize)
	}
	h.Ins += uint64(len(tx.Inputs))
	return nil
}

// spend records in as the spender of op: in the chunk's buffer when op is
// in the chunk, as a patch of out.dat otherwise. It returns op's index in
// out.dat.
func (b *builder) spend(op store.OutPoint, in store.InPoint) (uint64, error) {
	n := uint64(op.Tx)
	if n >= b.h.Txs-1 {
		return 0, fmt.Errorf("%w: transaction %d spends %d:%d", ErrCorrupt, in.Tx, op.Tx, op.Vout)
	}
	var first, end uint64
	if n >= b.chunkTx {
		t := b.buf[fTx][(n-b.chunkTx)*txSize:]
		first, end = le40(t), le40(t[txSize:])
	} else {
		first = le40(b.old[n*txSize:])
		end = b.chunkOut
		if n+1 < b.chunkTx {
			end = le40(b.old[(n+1)*txSize:])
		}
	}
	if uint64(op.Vout) >= end-first {
		return 0, fmt.Errorf("%w: transaction %d spends %d:%d, which has %d outputs", ErrCorrupt, in.Tx, op.Tx, op.Vout, end-first)
	}
	i := first + uint64(op.Vout)
	sp := spField(in)
	if i >= b.chunkOut {
		r := b.buf[fOut][(i-b.chunkOut)*outSize:]
		binary.LittleEndian.PutUint64(r, binary.LittleEndian.Uint64(r)&^spMask|sp)
		return i, nil
	}
	p := patch{off: int64(i) * outSize, sp: sp}
	b.patches = append(b.patches, p)
	b.touched[p.off/sumChunk] = true
	return i, nil
}

// flush writes the chunk, applies its patches and starts the next chunk.
func (b *builder) flush() error {
	for i, f := range b.files {
		if _, err := f.Write(b.buf[i]); err != nil {
			return fmt.Errorf("flow: write %s: %w", names[i], err)
		}
		b.buf[i] = b.buf[i][:0]
	}
	slices.SortFunc(b.patches, func(p, q patch) int { return int(p.off - q.off) })
	if err := patchFile(b.files[fOut], int64(b.chunkOut)*outSize, b.patches); err != nil {
		return fmt.Errorf("flow: patch out.dat: %w", err)
	}
	b.patches = b.patches[:0]
	b.chunkTx, b.chunkOut = b.h.Txs, b.h.Outs
	if err := unmap(b.old); err != nil {
		return err
	}
	var err error
	b.old, err = mapFile(b.files[fTx], int64(b.chunkTx)*txSize, false)
	return err
}

// cut takes the index described by h back to block fork (a reorg left the
// later blocks): it drops their transactions and clears the spender fields
// they had set on earlier outputs.
func cut(dir string, h *header, fork int32, prev sums) (err error) {
	var files [5]*os.File
	defer func() {
		for _, f := range files {
			if f != nil {
				if cerr := f.Close(); err == nil && cerr != nil {
					err = fmt.Errorf("flow: %w", cerr)
				}
			}
		}
	}()
	for i, name := range names {
		if files[i], err = os.OpenFile(filepath.Join(dir, name), os.O_RDWR, 0); err != nil {
			return fmt.Errorf("flow: %w", err)
		}
	}
	keep := uint64(fork-h.StartHeight) + 1
	if keep >= h.Blocks {
		return fmt.Errorf("%w: cut to block %d of %d", ErrCorrupt, keep, h.Blocks)
	}
	txs, hash, err := cutPoint(files[fBlk], keep)
	if err != nil {
		return err
	}
	outs, ins, patches, err := spendsPastCut(files, h, keep, txs)
	if err != nil {
		return err
	}
	h.Dirty = true
	if err := writeHeader(dir, h); err != nil {
		return err
	}
	slices.SortFunc(patches, func(p, q patch) int { return int(p.off - q.off) })
	if err := patchFile(files[fOut], int64(outs)*outSize, patches); err != nil {
		return fmt.Errorf("flow: patch out.dat: %w", err)
	}
	h.Blocks, h.Txs, h.Outs, h.Ins, h.Height, h.Hash = keep, txs, outs, ins, fork, hash
	var from [5]int64
	for i, size := range h.sizes() {
		from[i] = size / sumChunk * sumChunk
		if err := files[i].Truncate(size); err != nil {
			return fmt.Errorf("flow: %w", err)
		}
		if err := files[i].Sync(); err != nil {
			return fmt.Errorf("flow: sync %s: %w", names[i], err)
		}
	}
	touched := map[int64]bool{}
	for _, p := range patches {
		touched[p.off/sumChunk] = true
	}
	sum, err := prev.refresh(dir, h, from, touched)
	if err != nil {
		return err
	}
	if err := writeSums(dir, sum); err != nil {
		return err
	}
	h.Dirty = false
	return writeHeader(dir, h)
}

// cutPoint reads, from blk.dat, the first transaction of block keep (the
// first to drop) and the hash of the block before it (the new tip).
func cutPoint(blk *os.File, keep uint64) (txs uint64, hash [32]byte, err error) {
	var e [blkSize]byte
	if _, err := blk.ReadAt(e[:], int64(keep)*blkSize); err != nil {
		return 0, hash, fmt.Errorf("flow: %w", err)
	}
	txs = binary.LittleEndian.Uint64(e[:])
	if _, err := blk.ReadAt(e[:], int64(keep-1)*blkSize); err != nil {
		return 0, hash, fmt.Errorf("flow: %w", err)
	}
	return txs, [32]byte(e[8:]), nil
}

// spendsPastCut returns where the outputs and inputs of transaction txs,
// the first one cut, begin, and a patch clearing the spender field of each
// output kept that an input cut spends.
func spendsPastCut(files [5]*os.File, h *header, keep, txs uint64) (outs, ins uint64, patches []patch, err error) {
	sizes := h.sizes()
	tx, err := mapFile(files[fTx], sizes[fTx], false)
	if err != nil {
		return 0, 0, nil, err
	}
	defer func() {
		if uerr := unmap(tx); err == nil && uerr != nil {
			err = fmt.Errorf("flow: %w", uerr)
		}
	}()
	in, err := mapFile(files[fIn], sizes[fIn], false)
	if err != nil {
		return 0, 0, nil, err
	}
	defer func() {
		if uerr := unmap(in); err == nil && uerr != nil {
			err = fmt.Errorf("flow: %w", uerr)
		}
	}()
	if txs == 0 || txs >= h.Txs {
		return 0, 0, nil, fmt.Errorf("%w: block %d starts at transaction %d of %d", ErrCorrupt, keep, txs, h.Txs)
	}
	outs, ins = le40(tx[txs*txSize:]), le40(tx[txs*txSize+txFirstIn:])
	if outs > h.Outs || ins > h.Ins {
		return 0, 0, nil, fmt.Errorf("%w: transaction %d starts past the end", ErrCorrupt, txs)
	}
	for i := ins; i < h.Ins; i++ {
		o := le40(in[i*inSize:])
		if o == inCoinbase || o == inExternal || o >= outs {
			continue // not an output kept: the cut drops it
		}
		patches = append(patches, patch{off: int64(o) * outSize})
	}
	return outs, ins, patches, nil
}
