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
