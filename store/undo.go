package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/tracer-oss/tracer/sanctions/address"
)

// Undo.
//
// Keys are functions of chain position, so undoing blocks to+1…tip deletes
// exactly the keys their records imply: 'b' and 'h' per block; 'x', 't', one
// 'a' per output with an address and one 's' per known input per
// transaction. Undo runs in three durable steps:
//
//  1. one transaction writes the rolled-back State, an undo mark
//     ('m' "follow-undo": the height and TxNum ranges being removed) and the
//     outbox changes (alerts of the removed blocks retracted). From here
//     readers see the shorter chain: every read filters by State.
//  2. a write batch deletes the derived keys ('h', 't', 'a', 's'), computed
//     from the 'b' and 'x' records, which are still there.
//  3. a write batch deletes the 'b' and 'x' records; then the mark goes.
//
// A process killed anywhere reopens with the mark present, and Open repeats
// steps 2 and 3 (deleting is idempotent, and step 3 starts only after step 2
// is durable), so the result equals an uninterrupted undo's.

var keyUndo = append([]byte{prefixMeta}, "follow-undo"...)

// undoMark is the range an undo removes.
type undoMark struct {
	To      int32 `json:"to"`       // new tip
	From    int32 `json:"from"`     // old tip
	FirstTx TxNum `json:"first_tx"` // first removed transaction (the new NextTx)
	EndTx   TxNum `json:"end_tx"`   // the old NextTx
}

// RollbackResult summarises an undo.
type RollbackResult struct {
	From, To  int32 // old and new tip
	Blocks    int
	Txs       int64
	Retracted int // undelivered alerts withdrawn
	Notices   int // retraction notices queued for delivered alerts
}

// Undo steps, passed to Options.UndoHook (tests kill the process there).
const (
	UndoStepState   = "state"   // the shorter state and the mark are durable
	UndoStepDerived = "derived" // the derived keys are deleted
	UndoStepDone    = "done"    // the records are deleted and the mark is gone
)

// Rollback undoes every block above height to, so that the store equals one
// that ingested the same chain only up to to. It is atomic as seen by
// readers and crash-safe (see the comment above).
func (s *Store) Rollback(ctx context.Context, to int32) (RollbackResult, error) {
	res := RollbackResult{From: s.state.Height, To: to}
	if s.ro {
		return res, ErrReadOnly
	}
	if err := s.finishUndo(); err != nil {
		return res, err
	}
	old := s.state
	if to >= old.Height {
		res.To = old.Height
		return res, nil
	}
	if to < old.StartHeight {
		return res, fmt.Errorf("%w: to height %d, the store starts at %d", ErrRollback, to, old.StartHeight)
	}
	st, err := s.unwind(ctx, old, to, &res)
	if err != nil {
		return res, fmt.Errorf("store: rollback to %d: %w", to, err)
	}
	mark := undoMark{To: to, From: old.Height, FirstTx: st.NextTx, EndTx: old.NextTx}
	if err := s.commitRollback(to, st, mark, &res); err != nil {
		// The transaction may have moved the alert counter: reload it, and
		// say so if that fails too (the counter is then not to be trusted).
		return res, errors.Join(fmt.Errorf("store: rollback to %d: %w", to, err), s.loadAlertNext())
	}
	s.state = st
	s.hook(UndoStepState)
	if err := s.finishUndo(); err != nil {
		return res, err
	}
	// The clusters were marked dirty with the state; undo them exactly when
	// their undo records reach back far enough (cluster.go).
	if err := s.undoClusters(); err != nil {
		return res, err
	}
	return res, nil
}

// unwind computes, without writing, the state of the store cut back to
// height to: old less every block above it, counting the blocks and
// transactions undone in res.
func (s *Store) unwind(ctx context.Context, old State, to int32, res *RollbackResult) (State, error) {
	st := old
	err := s.view(func(txn *badger.Txn) error {
		for h := old.Height; h > to; h-- {
			if err := ctx.Err(); err != nil {
				return err
			}
			blk, err := rawBlock(txn, h)
			if err != nil {
				return err
			}
			for n := blk.FirstTx; n < blk.FirstTx+TxNum(blk.NumTx); n++ {
				if err := unwindTx(txn, &st, h, n); err != nil {
					return err
				}
				res.Txs++
			}
			st.Blocks--
			st.NextTx = blk.FirstTx
			res.Blocks++
		}
		tip, err := rawBlock(txn, to)
		if err != nil {
			return err
		}
		st.Height, st.Hash = to, tip.Hash
		return nil
	})
	return st, err
}

// unwindTx takes tx n, at height h, out of the counts of st: its inputs
// and outputs, and the value it moved (its inputs' outputs unspent again,
// its own spendable outputs gone).
func unwindTx(txn *badger.Txn, st *State, h int32, n TxNum) error {
	tx, err := rawTx(txn, n)
	if err != nil {
		return err
	}
	st.Inputs -= int64(len(tx.Inputs))
	st.Outputs -= int64(len(tx.Outputs))
	for _, in := range tx.Inputs {
		switch in.Kind {
		case InputExternal:
			st.External--
		case InputKnown:
			prev, err := rawTx(txn, in.Prev.Tx)
			if err != nil {
				return fmt.Errorf("funding tx of %d: %w", n, err)
			}
			if int(in.Prev.Vout) >= len(prev.Outputs) {
				return fmt.Errorf("%w: tx %d spends %d:%d past its outputs", ErrCorrupt, n, in.Prev.Tx, in.Prev.Vout)
			}
			st.Value += prev.Outputs[in.Prev.Vout].Value
		}
	}
	for _, o := range tx.Outputs {
		if o.Addr.Kind == address.OpReturn || (h == 0 && tx.Coinbase) {
			continue // never counted: unspendable
		}
		st.Value -= o.Value
	}
	return nil
}

// commitRollback makes the shorter state st durable in one transaction,
// with the undo mark, the retraction of alerts raised above to and the
// clusters marked dirty; the records go later (finishUndo).
func (s *Store) commitRollback(to int32, st State, mark undoMark, res *RollbackResult) error {
	s.outboxMu.Lock()
	defer s.outboxMu.Unlock()
	return s.db.Update(func(txn *badger.Txn) error {
		var err error
		res.Retracted, res.Notices, err = s.retractAlerts(txn, to)
		if err != nil {
			return err
		}
		if err := txn.Set(keyUndo, mustJSON(&mark)); err != nil {
			return err
		}
		if err := s.dirtyClusters(txn, st.NextTx); err != nil {
			return err
		}
		return txn.Set(keyState, mustJSON(&st))
	})
}

// dirtyClusters marks the clusters dirty when they were built from
// transactions at or past next: clusters built from undone transactions
// are no longer true. undoClusters then restores them exactly when it can,
// else they need a rebuild (tracer cluster --rebuild).
func (s *Store) dirtyClusters(txn *badger.Txn, next TxNum) error {
	var cs ClusterState
	switch err := s.get(txn, keyClusterState, func(v []byte) error { return json.Unmarshal(v, &cs) }); {
	case err == nil && cs.NextTx > next:
		cs.Dirty = true
		return txn.Set(keyClusterState, mustJSON(&cs))
	case err != nil && !errors.Is(err, ErrNotFound):
		return err
	}
	return nil
}

func (s *Store) hook(step string) {
	if s.undoHook != nil {
		s.undoHook(step)
	}
}

// finishUndo completes the undo the mark describes, if any.
func (s *Store) finishUndo() error {
	var mark undoMark
	err := s.view(func(txn *badger.Txn) error {
		return s.get(txn, keyUndo, func(v []byte) error { return json.Unmarshal(v, &mark) })
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: read undo mark: %w", err)
	}
	if mark.To != s.state.Height || mark.FirstTx != s.state.NextTx || mark.From < mark.To || mark.EndTx < mark.FirstTx {
		return fmt.Errorf("%w: undo mark %+v does not match the state (tip %d, next tx %d)", ErrCorrupt, mark, s.state.Height, s.state.NextTx)
	}
	fail := func(err error) error { return fmt.Errorf("store: undo blocks %d–%d: %w", mark.To+1, mark.From, err) }

	// Step 2: the keys derived from the records.
	if err := s.deleteUndoneDerived(mark); err != nil {
		return fail(err)
	}
	s.hook(UndoStepDerived)

	// Step 3: the records, then the mark.
	if err := s.deleteUndoneRecords(mark); err != nil {
		return fail(err)
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete(keyUndo) }); err != nil {
		return fail(err)
	}
	s.hook(UndoStepDone)
	return nil
}

// deleteUndoneDerived deletes the keys derived from the undone blocks and
// transactions: block hashes, txids, spent-by and address entries. Records
// a killed undo already deleted are skipped.
func (s *Store) deleteUndoneDerived(mark undoMark) error {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	err := s.view(func(txn *badger.Txn) error {
		for h := mark.To + 1; h <= mark.From; h++ {
			blk, err := rawBlock(txn, h)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			hk := [32]byte(blk.Hash)
			if err := wb.Delete(hashKey(&hk)); err != nil {
				return err
			}
		}
		for n := mark.FirstTx; n < mark.EndTx; n++ {
			tx, err := rawTx(txn, n)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if err := deleteTxDerived(wb, tx, n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return wb.Flush()
}

// deleteTxDerived deletes tx n's txid entry, the spent-by entries of its
// inputs and the address entries of its outputs.
func deleteTxDerived(wb *badger.WriteBatch, tx *Tx, n TxNum) error {
	id := [32]byte(tx.ID)
	if err := wb.Delete(txidKey(&id, n)); err != nil {
		return err
	}
	for _, in := range tx.Inputs {
		if in.Kind == InputKnown {
			if err := wb.Delete(spentKey(in.Prev)); err != nil {
				return err
			}
		}
	}
	for i := range tx.Outputs {
		if a := &tx.Outputs[i].Addr; a.Kind.HasAddress() {
			if err := wb.Delete(addrKey(a, n)); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteUndoneRecords deletes the undone block and transaction records.
func (s *Store) deleteUndoneRecords(mark undoMark) error {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for h := mark.To + 1; h <= mark.From; h++ {
		if err := wb.Delete(blockKey(h)); err != nil {
			return err
		}
	}
	for n := mark.FirstTx; n < mark.EndTx; n++ {
		if err := wb.Delete(txKey(n)); err != nil {
			return err
		}
	}
	return wb.Flush()
}

// rawBlock and rawTx read records regardless of the committed state.
func rawBlock(txn *badger.Txn, h int32) (*Block, error) {
	item, err := txn.Get(blockKey(h))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: block at height %d", ErrNotFound, h)
	}
	if err != nil {
		return nil, err
	}
	var blk *Block
	err = item.Value(func(v []byte) error {
		blk, err = decodeBlock(h, v)
		return err
	})
	return blk, err
}

func rawTx(txn *badger.Txn, n TxNum) (*Tx, error) {
	item, err := txn.Get(txKey(n))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: tx %d", ErrNotFound, n)
	}
	if err != nil {
		return nil, err
	}
	var tx *Tx
	err = item.Value(func(v []byte) error {
		tx, err = decodeTx(n, v)
		return err
	})
	return tx, err
}

var _ = binary.BigEndian
