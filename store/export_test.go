package store

import (
	"encoding/binary"

	"github.com/dgraph-io/badger/v4"
)

// Hooks for the external tests that damage a store's records on purpose.

// DamageTx rewrites transaction tx.Num's record as tx.
func (s *Store) DamageTx(tx *Tx) error {
	return s.db.Update(func(txn *badger.Txn) error { return txn.Set(txKey(tx.Num), appendTx(nil, tx)) })
}

// DamageSpent rewrites the spent-by entry of op to in, or deletes it when
// in is nil.
func (s *Store) DamageSpent(op OutPoint, in *InPoint) error {
	return s.db.Update(func(txn *badger.Txn) error {
		if in == nil {
			return txn.Delete(spentKey(op))
		}
		return txn.Set(spentKey(op), appendInPoint(nil, op, *in))
	})
}

// DamageBlock deletes block height's record.
func (s *Store) DamageBlock(height int32) error {
	return s.db.Update(func(txn *badger.Txn) error { return txn.Delete(blockKey(height)) })
}

// DamageSchema rewrites the schema version key, as an older tracer left it.
func (s *Store) DamageSchema(v uint32) error {
	return s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(keySchema, binary.BigEndian.AppendUint32(nil, v))
	})
}

// RecordFields calls add with the bytes each field of tx's record takes
// (see appendTx), and of the spent-by values of its inputs, for a
// breakdown of the store's size by field.
func RecordFields(tx *Tx, add func(field string, n int)) {
	uv := func(v uint64) int { return len(binary.AppendUvarint(nil, v)) }
	add("x.txid", 32)
	add("x.height", uv(uint64(tx.Height)))
	add("x.pos", uv(uint64(tx.Pos)))
	add("x.sizes", uv(uint64(tx.VSize))+uv(uint64(tx.Size-tx.VSize)))
	add("x.fee", len(appendTx(nil, &Tx{Fee: tx.Fee, FeeKnown: tx.FeeKnown}))-32-6)
	add("x.counts", uv(uint64(len(tx.Inputs)))+uv(uint64(len(tx.Outputs))))
	for _, in := range tx.Inputs {
		add("x.inputs", len(appendTx(nil, &Tx{Num: tx.Num, Inputs: []Input{in}}))-32-7)
		if in.Kind == InputKnown {
			add("s.value", len(appendInPoint(nil, in.Prev, InPoint{Tx: tx.Num})))
		}
	}
	for _, o := range tx.Outputs {
		n := len(appendTx(nil, &Tx{Outputs: []Output{o}})) - 32 - 7
		add("x.out.payload", o.Addr.Kind.PayloadLen())
		add("x.out.value+kind", n-o.Addr.Kind.PayloadLen())
	}
}

// StopHeapLimit makes SetHeapLimit's limit no longer kept (a test's
// cleanup: the caller restores the runtime's limit itself).
func StopHeapLimit() {
	heapLimit.mu.Lock()
	defer heapLimit.mu.Unlock()
	heapLimit.base = 0
}

// SetAfterPins makes f run between a snapshot's pins of the exposure
// files and its transaction, until the test ends.
func SetAfterPins(t interface{ Cleanup(func()) }, f func()) {
	afterPins = f
	t.Cleanup(func() { afterPins = nil })
}
