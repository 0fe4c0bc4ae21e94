package store

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Batch collects the writes of a run of blocks. The ingester is its only
// user: one goroutine fills it, and Commit makes it durable together with
// the new State. A batch that is never committed leaves keys the next run
// rewrites identically (keys are functions of chain position).
type Batch struct {
	s    *Store
	wb   *badger.WriteBatch
	buf  []byte
	keys int
}

// NewBatch starts a batch.
func (s *Store) NewBatch() (*Batch, error) {
	if s.ro {
		return nil, ErrReadOnly
	}
	return &Batch{s: s, wb: s.db.NewWriteBatch()}, nil
}

// Keys is the number of keys written since the last Commit.
func (b *Batch) Keys() int { return b.keys }

func (b *Batch) set(k, v []byte) error {
	b.keys++
	return b.wb.Set(k, v)
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
	for i := range tx.Outputs {
		out := &tx.Outputs[i]
		if !out.Addr.Kind.HasAddress() {
			continue
		}
		k := appendAddrKey(make([]byte, 0, 21), &out.Addr, OutPoint{tx.Num, uint32(i)})
		if err := b.set(k, nil); err != nil {
			return err
		}
	}
	return nil
}

// PutSpend records that input in spends output op.
func (b *Batch) PutSpend(op OutPoint, in InPoint) error {
	return b.set(spentKey(op), appendInPoint(nil, in))
}

// Commit makes every write so far durable, then records st as the store's
// state. After a crash the store reopens with the last committed state.
func (b *Batch) Commit(st State) error {
	if err := b.wb.Flush(); err != nil {
		return fmt.Errorf("store: commit batch: %w", err)
	}
	if err := b.s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(keyState, mustJSON(&st))
	}); err != nil {
		return fmt.Errorf("store: commit state: %w", err)
	}
	b.s.state = st
	b.wb = b.s.db.NewWriteBatch()
	b.keys = 0
	return nil
}

// Cancel drops the batch's uncommitted writes where Badger still holds them.
func (b *Batch) Cancel() { b.wb.Cancel() }
