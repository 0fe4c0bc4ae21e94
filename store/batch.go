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
	arena []byte
	ents  []bufEntry
	bulk  *bulkWriter // non-nil in bulk mode (see bulk.go)
	// alerts are written, numbered, in the transaction that writes the
	// state (see outbox.go).
	alerts []*Alert
}

// bufEntry is a buffered write; seq orders writes of one key, so that
// after sorting the last write of a key is the last of its run. pfx is the
// key's first 8 bytes, big-endian and zero-padded: most comparisons end
// there without touching the key (sorting was a sixth of a bulk load's CPU
// time, most of it in bytes.Compare).
type bufEntry struct {
	pfx  uint64
	k, v []byte
	seq  int
}

func newBufEntry(k, v []byte, seq int) bufEntry {
	var p [8]byte
	copy(p[:], k)
	return bufEntry{pfx: binary.BigEndian.Uint64(p[:]), k: k, v: v, seq: seq}
}

// sortEntries sorts writes by key, then by the order they were made.
func sortEntries(ents []bufEntry) {
	slices.SortFunc(ents, func(x, y bufEntry) int {
		if x.pfx != y.pfx {
			if x.pfx < y.pfx {
				return -1
			}
			return 1
		}
		if c := bytes.Compare(x.k, y.k); c != 0 {
			return c
		}
		return x.seq - y.seq
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

// Bulk reports whether the batch is still bulk loading.
func (b *Batch) Bulk() bool { return b.bulk != nil }

// EndBulk finishes a bulk load: it writes the sorted data and then st.
func (b *Batch) EndBulk(st State) error {
	if b.bulk == nil {
		return b.Commit(st)
	}
	bw := b.bulk
	b.bulk = nil
	b.wb.Cancel()
	if err := bw.finish(st); err != nil {
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
	// Copy into the arena; when it fills, start a new one (old entries keep
	// pointing into the old arena).
	if cap(b.arena)-len(b.arena) < len(k)+len(v) {
		b.arena = make([]byte, 0, max(16<<20, len(k)+len(v)))
	}
	start := len(b.arena)
	b.arena = append(b.arena, k...)
	b.arena = append(b.arena, v...)
	b.ents = append(b.ents, newBufEntry(b.arena[start:start+len(k):start+len(k)], b.arena[start+len(k):len(b.arena):len(b.arena)], len(b.ents)))
	if len(b.ents) >= flushAt {
		return b.drain()
	}
	return nil
}

// drain hands the buffered writes to Badger in key order.
func (b *Batch) drain() error {
	sortEntries(b.ents) // equal keys: the later Set wins in the WriteBatch
	for _, e := range b.ents {
		if err := b.wb.Set(e.k, e.v); err != nil {
			return err
		}
	}
	clear(b.ents)
	b.ents = b.ents[:0]
	b.arena = nil
	return nil
}

// PutBlock stores a block record and its hash index.
func (b *Batch) PutBlock(blk *Block) error {
	hk := [32]byte(blk.Hash)
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
	return b.set(spentKey(op), appendInPoint(nil, in))
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
		return fmt.Errorf("store: commit batch: %w", err)
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
		b.bulk.wait()
		os.RemoveAll(b.bulk.dir)
		b.bulk = nil
	}
	b.ents, b.arena, b.alerts = nil, nil, nil
	b.wb.Cancel()
}
