package store

import (
	"github.com/dgraph-io/badger/v4"

	"github.com/tracer-oss/tracer/sanctions/address"
)

// Reader is a consistent read-only view of the store for a long walk: one
// Badger read transaction and one reusable iterator for every lookup,
// instead of a transaction (and an iterator) per call. It implements the
// tracer's Graph. Close it when done; it pins the store's state as of
// NewReader.
type Reader struct {
	s   *Store
	txn *badger.Txn
	it  *badger.Iterator // for spent-by prefixes; created on first use
	own bool             // txn is the reader's own (not a snapshot's)
}

// NewReader opens a Reader. A snapshot's Reader reads its transaction.
func (s *Store) NewReader() *Reader {
	if s.snap != nil {
		return &Reader{s: s, txn: s.snap.txn}
	}
	return &Reader{s: s, txn: s.db.NewTransaction(false), own: true}
}

// Close releases the reader's transaction.
func (r *Reader) Close() {
	if r.it != nil {
		r.it.Close()
	}
	if r.own {
		r.txn.Discard()
	}
}

// State is the store's chain state.
func (r *Reader) State() State { return r.s.State() }

// TxByNum returns the transaction with this number.
func (r *Reader) TxByNum(n TxNum) (*Tx, error) { return r.s.txByNum(r.txn, n) }

// BlockByHeight returns the block at height.
func (r *Reader) BlockByHeight(h int32) (*Block, error) { return r.s.BlockByHeight(h) }

// AddressOutputs is Store.AddressOutputs.
func (r *Reader) AddressOutputs(a address.Addr, from OutPoint, fn func(AddrOutput) bool) error {
	return r.s.AddressOutputs(a, from, fn)
}

// Spenders returns the spending input of each spent output of tx n.
func (r *Reader) Spenders(n TxNum) (map[uint32]InPoint, error) {
	if r.it == nil {
		r.it = r.txn.NewIterator(badger.IteratorOptions{PrefetchValues: false})
	}
	out := map[uint32]InPoint{}
	if err := r.s.spendersAt(r.it, n, func(vout uint32, in InPoint) { out[vout] = in }); err != nil {
		return nil, err
	}
	return out, nil
}
