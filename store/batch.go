package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"slices"

	"github.com/dgraph-io/badger/v4"
)

// Batch collects the writes of a run of blocks. The ingester is its only
// user: one goroutine fills it, and Commit makes it durable together with
// the new State. A batch that is never committed leaves keys the next run
// rewrites identically (keys are functions of chain position).
type Batch struct {
	s    *Store
	wb   *badger.WriteBatch
	keys int
	// Writes are buffered and handed to Badger sorted by key: inserting
	// into its memtable skiplist in key order touches far fewer cache lines
	// than the random order of txid, spent-by and address keys (measured:
	// the skiplist insert was a third of ingest's CPU time).
	buf     entryBuf
	scratch []bufEntry  // for sorting buf
	bulk    *bulkWriter // non-nil in bulk mode (see bulk.go)
	// alerts are written, numbered, in the transaction that writes the
	// state (see outbox.go).
	alerts []*Alert
	joined JoinStats // what the bulk load's join did (see bulkjoin.go)
}

// entryBuf buffers writes: keys and values are copied into arenas and
// indexed by pointer-free entries, which the garbage collector need not
// scan and a sort moves cheaply (with two slices per entry, scanning and
// moving them took a sixth of a bulk load's CPU time).
type entryBuf struct {
	arenas [][]byte // the last one fills
	ents   []bufEntry
	spare  [][]byte // arenas to reuse
}

// bufEntry is a buffered write; seq orders writes of one key, so that
// after sorting the last write of a key is the last of its run. pfx is the
// key's first 8 bytes, big-endian and zero-padded: most comparisons end
// there without touching the key.
type bufEntry struct {
	pfx        uint64
	arena, off uint32
	klen, vlen uint32
	seq        uint32
}

// arenaSize is the size of the blocks entries are copied into.
const arenaSize = 16 << 20

func (e *entryBuf) add(k, v []byte) {
	n := len(k) + len(v)
	last := len(e.arenas) - 1
	if last < 0 || cap(e.arenas[last])-len(e.arenas[last]) < n {
		var a []byte
		if s := len(e.spare); s > 0 && n <= arenaSize {
			a, e.spare = e.spare[s-1][:0], e.spare[:s-1]
		} else {
			a = make([]byte, 0, max(arenaSize, n))
		}
		e.arenas = append(e.arenas, a)
		last++
	}
	a := e.arenas[last]
	off := len(a)
	a = append(a, k...)
	e.arenas[last] = append(a, v...)
	var p [8]byte
	copy(p[:], k)
	e.ents = append(e.ents, bufEntry{pfx: binary.BigEndian.Uint64(p[:]), arena: uint32(last), off: uint32(off),
		klen: uint32(len(k)), vlen: uint32(len(v)), seq: uint32(len(e.ents))})
}

// bytes is the size of the buffered keys and values.
func (e *entryBuf) bytes() int64 {
	var n int64
	for _, a := range e.arenas {
		n += int64(len(a))
	}
	return n
}

func (e *entryBuf) key(x *bufEntry) []byte {
	end := x.off + x.klen
	return e.arenas[x.arena][x.off:end:end]
}

func (e *entryBuf) value(x *bufEntry) []byte {
	start := x.off + x.klen
	end := start + x.vlen
	return e.arenas[x.arena][start:end:end]
}

// sort sorts the writes by key, then by the order they were made. It is a
// radix sort on the 8-byte prefixes (stable, so equal prefixes keep their
// write order), then a comparison sort of each run of equal prefixes by the
// rest of the key: less than half the time of a comparison sort of
// everything (measured on bulk-load runs).
// scratch is reused across calls.
func (e *entryBuf) sort(scratch *[]bufEntry) {
	ents := e.ents
	if len(ents) < 1<<10 {
		e.sortRange(ents)
		return
	}
	if cap(*scratch) < len(ents) {
		*scratch = make([]bufEntry, len(ents))
	}
	src, dst := ents, (*scratch)[:len(ents)]
	for shift := 0; shift < 64; shift += 8 {
		var count [256]int
		for i := range src {
			count[byte(src[i].pfx>>shift)]++
		}
		if count[byte(src[0].pfx>>shift)] == len(src) {
			continue // every prefix has this byte
		}
		sum := 0
		for b, c := range count {
			count[b] = sum
			sum += c
		}
		for i := range src {
			b := byte(src[i].pfx >> shift)
			dst[count[b]] = src[i]
			count[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &ents[0] {
		copy(ents, src)
	}
	for i := 0; i < len(ents); {
		j := i + 1
		for j < len(ents) && ents[j].pfx == ents[i].pfx {
			j++
		}
		if j-i > 1 {
			e.sortRange(ents[i:j])
		}
		i = j
	}
}

// sortRange sorts ents by key, then by write order.
func (e *entryBuf) sortRange(ents []bufEntry) {
	slices.SortFunc(ents, func(x, y bufEntry) int {
		if x.pfx != y.pfx {
			if x.pfx < y.pfx {
				return -1
			}
			return 1
		}
		if c := bytes.Compare(e.key(&x), e.key(&y)); c != 0 {
			return c
		}
		return int(x.seq) - int(y.seq)
	})
}

// flushAt is the number of buffered writes that triggers a sorted write.
const flushAt = 1 << 20

// NewBatch starts a batch.
func (s *Store) NewBatch() (*Batch, error) {
	if s.ro {
		return nil, ErrReadOnly
	}
	return &Batch{s: s, wb: s.db.NewWriteBatch()}, nil
}

// NewBulkBatch starts a bulk-load batch on an empty store: its writes are
// sorted outside Badger and streamed into tables at the end, several times
// faster than a Batch. Until EndBulk, Commit only records the state and
// nothing is visible or durable: a killed bulk load starts again from an
// empty store. EndBulk makes it all durable and switches the batch to
// ordinary commits.
func (s *Store) NewBulkBatch() (*Batch, error) {
	if s.ro {
		return nil, ErrReadOnly
	}
	if !s.state.Empty() {
		return nil, fmt.Errorf("store: a bulk load needs an empty store (this one ends at height %d)", s.state.Height)
	}
	bw, err := s.newBulkWriter()
	if err != nil {
		return nil, err
	}
	return &Batch{s: s, wb: s.db.NewWriteBatch(), bulk: bw}, nil
}

// OnBulkProgress sets a function EndBulk calls about once a second in each
// phase of a bulk load's end: BulkPhaseJoin, the join of deferred spends
// (done and total join entries), then BulkPhaseMerge, the merge of the
// sorted runs into the store (done and total writes).
func (b *Batch) OnBulkProgress(fn func(phase string, done, total int64)) {
	if b.bulk != nil {
		b.bulk.progress = fn
	}
}

// Bulk reports whether the batch is still bulk loading.
func (b *Batch) Bulk() bool { return b.bulk != nil }

// EndBulk finishes a bulk load: it resolves the join's deferred spends (if
// Join started one), writes the sorted data and then st, with the join's
// resolved value and external inputs accounted in it (see Store.State and
// JoinStats).
func (b *Batch) EndBulk(st State) error {
	if b.bulk == nil {
		return b.Commit(st)
	}
	bw := b.bulk
	b.bulk = nil
	b.wb.Cancel()
	err := bw.finish(&st)
	b.joined = bw.stats
	if err != nil {
		return err
	}
	b.s.state = st
	b.wb = b.s.db.NewWriteBatch()
	b.keys = 0
	return nil
}

// Keys is the number of keys written since the last Commit.
func (b *Batch) Keys() int { return b.keys }

func (b *Batch) set(k, v []byte) error {
	b.keys++
	if b.bulk != nil {
		return b.bulk.set(k, v)
	}
	b.buf.add(k, v)
	if len(b.buf.ents) >= flushAt {
		return b.drain()
	}
	return nil
}

// drain hands the buffered writes to Badger in key order, if the disk has
// room for them (twice: the write-ahead log, then the table).
func (b *Batch) drain() error {
	if err := b.s.CheckSpace(2 * b.buf.bytes()); err != nil {
		return err
	}
	b.buf.sort(&b.scratch) // equal keys: the later Set wins in the WriteBatch
	for i := range b.buf.ents {
		x := &b.buf.ents[i]
		if err := b.wb.Set(b.buf.key(x), b.buf.value(x)); err != nil {
			return err
		}
	}
	// The WriteBatch keeps the slices until it is flushed: new arenas.
	b.buf = entryBuf{ents: b.buf.ents[:0]}
	return nil
}

// PutBlock stores a block record and its hash index.
func (b *Batch) PutBlock(blk *Block) error {
	hk := [32]byte(blk.Hash)
	if b.bulk != nil {
		if err := b.bulk.blockBoundary(); err != nil {
			return err
		}
	}
	if err := b.set(blockKey(blk.Height), appendBlock(nil, blk)); err != nil {
		return err
	}
	return b.set(hashKey(&hk), blockKey(blk.Height)[1:])
}

// PutTx stores a transaction record, its txid index entry and the address
// index entries of its outputs.
func (b *Batch) PutTx(tx *Tx) error {
	id := [32]byte(tx.ID)
	if err := b.set(txKey(tx.Num), appendTx(nil, tx)); err != nil {
		return err
	}
	if err := b.set(txidKey(&id, tx.Num), nil); err != nil {
		return err
	}
	// One address entry per output; two outputs to one address write the
	// same key, which collapses.
	var k [addrKeyLen]byte
	for i := range tx.Outputs {
		out := &tx.Outputs[i]
		if !out.Addr.Kind.HasAddress() {
			continue
		}
		if err := b.set(appendAddrKey(k[:0], &out.Addr, tx.Num), nil); err != nil {
			return err
		}
	}
	return nil
}

// PutAlert queues an alert for the outbox; Commit writes it with the state.
// Alerts need ordinary commits: a bulk batch refuses them.
func (b *Batch) PutAlert(a Alert) error {
	if b.bulk != nil {
		return fmt.Errorf("store: alerts in a bulk load")
	}
	a.Seq, a.Status, a.Retracts = 0, AlertPending, 0
	b.alerts = append(b.alerts, &a)
	return nil
}

// PutSpend records that input in spends output op.
func (b *Batch) PutSpend(op OutPoint, in InPoint) error {
	return b.set(spentKey(op), appendInPoint(nil, op, in))
}

// Commit makes every write so far durable, then records st as the store's
// state. After a crash the store reopens with the last committed state.
func (b *Batch) Commit(st State) error {
	if b.bulk != nil {
		b.keys = 0 // the bulk writer bounds its own memory
		return nil
	}
	if err := b.drain(); err != nil {
		return fmt.Errorf("store: commit batch: %w", err)
	}
	if err := b.wb.Flush(); err != nil {
		return fmt.Errorf("store: commit batch: %w", b.s.asNoSpace(err))
	}
	b.s.outboxMu.Lock()
	next := b.s.alertNext
	err := b.s.db.Update(func(txn *badger.Txn) error {
		var err error
		if next, err = b.s.writeAlerts(txn, b.alerts); err != nil {
			return err
		}
		return txn.Set(keyState, mustJSON(&st))
	})
	if err == nil {
		b.s.alertNext = next
	}
	b.s.outboxMu.Unlock()
	if err != nil {
		return fmt.Errorf("store: commit state: %w", err)
	}
	b.alerts = nil
	b.s.state = st
	b.wb = b.s.db.NewWriteBatch()
	b.keys = 0
	return nil
}

// Cancel drops the batch's uncommitted writes where Badger still holds them.
func (b *Batch) Cancel() {
	if b.bulk != nil {
		b.bulk.wait() //nolint:errcheck // the spill it waits for is discarded with the batch
		b.bulk.cancelStream()
		if err := os.RemoveAll(b.bulk.dir); err != nil {
			b.s.log.Warn("store: could not remove the bulk-load runs", "dir", b.bulk.dir, "err", err)
		}
		b.bulk = nil
	}
	b.buf, b.alerts = entryBuf{}, nil
	b.wb.Cancel()
}
