package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/dgraph-io/badger/v4"
	"github.com/tracer-oss/tracer/sanctions/address"
)

// Reads never return data past the committed state: a killed ingest may
// leave keys of uncommitted blocks, which the next run rewrites.

func (s *Store) get(txn *badger.Txn, key []byte, fn func([]byte) error) error {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	return s.damaged(item.Value(fn))
}

// damaged names a value that failed its checksum as damage of the store.
func (s *Store) damaged(err error) error {
	if isChecksumErr(err) {
		return &DamageError{Dir: s.dir, Damage: []Damage{{File: "value log", Offset: -1, What: strings.ReplaceAll(err.Error(), "\n", " ")}}}
	}
	return err
}

// BlockByHeight returns the block at height.
func (s *Store) BlockByHeight(height int32) (*Block, error) {
	if height < s.state.StartHeight || height > s.state.Height {
		return nil, fmt.Errorf("%w: block at height %d (store holds %d–%d)", ErrNotFound, height, s.state.StartHeight, s.state.Height)
	}
	var blk *Block
	err := s.view(func(txn *badger.Txn) error {
		return s.get(txn, blockKey(height), func(v []byte) error {
			var err error
			blk, err = decodeBlock(height, v)
			return err
		})
	})
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: block at height %d", ErrNotFound, height)
	}
	return blk, err
}

// BlockByHash returns the block with this hash.
func (s *Store) BlockByHash(hash chainhash.Hash) (*Block, error) {
	h, err := s.HeightOf(hash)
	if err != nil {
		return nil, err
	}
	return s.BlockByHeight(h)
}

// HeightOf returns the height of the stored block with this hash.
func (s *Store) HeightOf(hash chainhash.Hash) (int32, error) {
	hk := [32]byte(hash)
	var h int32 = -1
	err := s.view(func(txn *badger.Txn) error {
		return s.get(txn, hashKey(&hk), func(v []byte) error {
			if len(v) != 4 {
				return ErrCorrupt
			}
			h = int32(binary.BigEndian.Uint32(v))
			return nil
		})
	})
	if err == nil && h > s.state.Height {
		err = ErrNotFound
	}
	if errors.Is(err, ErrNotFound) {
		return -1, fmt.Errorf("%w: block %s", ErrNotFound, hash)
	}
	return h, err
}

// TxByNum returns the transaction with this number.
func (s *Store) TxByNum(n TxNum) (*Tx, error) {
	var tx *Tx
	err := s.view(func(txn *badger.Txn) error {
		var err error
		tx, err = s.txByNum(txn, n)
		return err
	})
	return tx, err
}

func (s *Store) txByNum(txn *badger.Txn, n TxNum) (*Tx, error) {
	if n >= s.state.NextTx {
		return nil, fmt.Errorf("%w: tx number %d", ErrNotFound, n)
	}
	var tx *Tx
	err := s.get(txn, txKey(n), func(v []byte) error {
		var err error
		tx, err = decodeTx(n, v)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: tx number %d", ErrNotFound, n)
	}
	return tx, err
}

// Tx returns the transaction with this txid.
func (s *Store) Tx(txid chainhash.Hash) (*Tx, error) {
	var tx *Tx
	err := s.view(func(txn *badger.Txn) error {
		var err error
		tx, err = s.txByID(txn, &txid)
		return err
	})
	return tx, err
}

// TxNumOf returns the number of the transaction with this txid.
func (s *Store) TxNumOf(txid chainhash.Hash) (TxNum, error) {
	tx, err := s.Tx(txid)
	if err != nil {
		return 0, err
	}
	return tx.Num, nil
}

func (s *Store) txByID(txn *badger.Txn, txid *chainhash.Hash) (*Tx, error) {
	id := [32]byte(*txid)
	prefix := txidPrefix(&id)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		n := txidKeyNum(it.Item().Key())
		if n >= s.state.NextTx {
			continue
		}
		tx, err := s.txByNum(txn, n)
		if err != nil {
			return nil, err
		}
		if tx.ID == *txid {
			return tx, nil
		}
	}
	return nil, fmt.Errorf("%w: tx %s", ErrNotFound, txid)
}

// SpentBy returns the input that spends op, and false when op is unspent.
func (s *Store) SpentBy(op OutPoint) (InPoint, bool, error) {
	var in InPoint
	found := false
	err := s.view(func(txn *badger.Txn) error {
		err := s.get(txn, spentKey(op), func(v []byte) error {
			var err error
			in, err = decodeInPoint(op, v)
			return err
		})
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		found = err == nil && in.Tx < s.state.NextTx
		return err
	})
	return in, found, err
}

// Spenders returns the spending input of every spent output of tx n, by
// output index, in one prefix seek.
func (s *Store) Spenders(n TxNum) (map[uint32]InPoint, error) {
	out := map[uint32]InPoint{}
	err := s.view(func(txn *badger.Txn) error {
		return s.spenders(txn, n, func(vout uint32, in InPoint) { out[vout] = in })
	})
	return out, err
}

func (s *Store) spenders(txn *badger.Txn, n TxNum, fn func(uint32, InPoint)) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: spentPrefix(n), PrefetchValues: false})
	defer it.Close()
	return s.spendersAt(it, n, fn)
}

// spendersAt walks tx n's spent-by entries with it (which may be reused
// across calls, as a Reader does).
func (s *Store) spendersAt(it *badger.Iterator, n TxNum, fn func(uint32, InPoint)) error {
	prefix := spentPrefix(n)
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		vout := spentKeyOutPoint(item.Key()).Vout
		var in InPoint
		if err := item.Value(func(v []byte) error {
			var err error
			in, err = decodeInPoint(OutPoint{Tx: n, Vout: vout}, v)
			return err
		}); err != nil {
			return fmt.Errorf("spender of %d:%d: %w", n, vout, err)
		}
		if in.Tx < s.state.NextTx {
			fn(vout, in)
		}
	}
	return nil
}

// AddrOutput is an output paid to an address, with its spender if spent.
type AddrOutput struct {
	OutPoint
	Output
	Height  int32
	TxID    chainhash.Hash
	Spent   bool
	SpentBy InPoint
}

// AddressOutputs calls fn for every output paid to addr in chain order,
// starting at the outpoint from (the zero OutPoint starts at the
// beginning). fn returns false to stop.
func (s *Store) AddressOutputs(addr address.Addr, from OutPoint, fn func(AddrOutput) bool) error {
	prefix := addrPrefix(&addr)
	return s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
		defer it.Close()
		for it.Seek(addrKey(&addr, from.Tx)); it.ValidForPrefix(prefix); it.Next() {
			n := addrKeyNum(it.Item().Key())
			if n >= s.state.NextTx {
				continue
			}
			tx, err := s.txByNum(txn, n)
			if err != nil {
				return err
			}
			// The entry names the transaction; its outputs to addr are
			// found here (none when the entry is another address's whose
			// prefix collides with addr's).
			for vout := range tx.Outputs {
				op := OutPoint{n, uint32(vout)}
				out := tx.Outputs[vout]
				if !out.Addr.Same(addr) || (n == from.Tx && op.Vout < from.Vout) {
					continue
				}
				ao := AddrOutput{OutPoint: op, Output: out, Height: tx.Height, TxID: tx.ID}
				err := s.get(txn, spentKey(op), func(v []byte) error {
					var err error
					ao.SpentBy, err = decodeInPoint(op, v)
					return err
				})
				switch {
				case err == nil:
					ao.Spent = ao.SpentBy.Tx < s.state.NextTx
				case !errors.Is(err, ErrNotFound):
					return err
				}
				if !fn(ao) {
					return nil
				}
			}
		}
		return nil
	})
}

// ForEachTx calls fn for every stored transaction in chain order from n.
func (s *Store) ForEachTx(from TxNum, fn func(*Tx) error) error {
	return s.view(func(txn *badger.Txn) error { return s.forEachTx(txn, from, fn) })
}

// forEachTx walks the committed tx records from n inside txn.
func (s *Store) forEachTx(txn *badger.Txn, from TxNum, fn func(*Tx) error) error {
	prefix := []byte{prefixTx}
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 256})
	defer it.Close()
	for it.Seek(txKey(from)); it.ValidForPrefix(prefix); it.Next() {
		n := TxNum(binary.BigEndian.Uint64(it.Item().Key()[1:]))
		if n >= s.state.NextTx {
			return nil
		}
		var tx *Tx
		if err := it.Item().Value(func(v []byte) error {
			var err error
			tx, err = decodeTx(n, v)
			return err
		}); err != nil {
			return s.damaged(err)
		}
		if err := fn(tx); err != nil {
			return err
		}
	}
	return nil
}

// ForEachSpend calls fn for every spent-by entry in output order.
func (s *Store) ForEachSpend(fn func(OutPoint, InPoint) error) error {
	return s.view(func(txn *badger.Txn) error {
		prefix := []byte{prefixSpent}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			k := it.Item().Key()
			op := spentKeyOutPoint(k)
			var in InPoint
			if err := it.Item().Value(func(v []byte) error {
				var err error
				in, err = decodeInPoint(op, v)
				return err
			}); err != nil {
				return err
			}
			if in.Tx >= s.state.NextTx {
				continue
			}
			if err := fn(op, in); err != nil {
				return err
			}
		}
		return nil
	})
}

// Dump calls fn with every key and value in key order as readers see
// them (eachRecord: an exposure generation's file records merged with its
// updates, after the other keys), then with the committed cluster forest
// (kept in files) as 'c' records in id order; tests use it to compare two
// stores key by key.
func (s *Store) Dump(fn func(k, v []byte) error) error {
	err := s.view(func(txn *badger.Txn) error {
		return s.eachRecord(txn, func(k, v []byte) error { return fn(bytes.Clone(k), bytes.Clone(v)) })
	})
	if err != nil {
		return err
	}
	return s.dumpForest(fn)
}
