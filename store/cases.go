package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Cases: an investigator's saved traces. The store keeps a case's record
// and its latest trace result as opaque bytes (the cases package encodes
// them) and an append-only log of every change: who, when, what.

var keyCaseNext = append([]byte{prefixMeta}, "case-next"...)

// Cases is the store's room for cases, as Clusters is for the cluster
// forest: the case keys of the one Badger handle, read through the store's
// view (and so its snapshot, when it is one).
type Cases struct{ s *Store }

// Cases returns the store's cases.
func (s *Store) Cases() Cases { return Cases{s} }

// CaseEvent is one entry of a case's log.
type CaseEvent struct {
	Seq    uint32    `json:"seq"`
	Time   time.Time `json:"time"`
	Who    string    `json:"who"`
	Action string    `json:"action"` // create, rerun, note, expand, hide, ...
	Node   string    `json:"node,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

func caseKey(id uint64) []byte { return binary.BigEndian.AppendUint64([]byte{prefixCase}, id) }

func caseResultKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixCaseResult}, id)
}

func caseLogKey(id uint64, seq uint32) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64([]byte{prefixCaseLog}, id), seq)
}

// Create stores a new case's record, its first result and the log's
// first event in one transaction, and returns its id (from 1).
func (c Cases) Create(rec func(id uint64) ([]byte, error), result []byte, ev CaseEvent) (uint64, error) {
	s := c.s
	if s.ro {
		return 0, ErrReadOnly
	}
	s.casesMu.Lock()
	defer s.casesMu.Unlock()
	var id uint64
	err := s.db.Update(func(txn *badger.Txn) error {
		id = 1
		if err := s.get(txn, keyCaseNext, func(v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("%w: case-next of %d bytes", ErrCorrupt, len(v))
			}
			id = binary.BigEndian.Uint64(v)
			return nil
		}); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		b, err := rec(id)
		if err != nil {
			return err
		}
		ev.Seq = 1
		return errors.Join(txn.Set(keyCaseNext, binary.BigEndian.AppendUint64(nil, id+1)), txn.Set(caseKey(id), b),
			txn.Set(caseResultKey(id), result), txn.Set(caseLogKey(id, 1), mustJSON(&ev)))
	})
	if err != nil {
		return 0, fmt.Errorf("store: create case: %w", err)
	}
	return id, nil
}

// Update rewrites case id's record with fn's answer (and its result,
// when fn returns one) and appends ev to its log, in one transaction.
func (c Cases) Update(id uint64, fn func(rec []byte) (newRec, newResult []byte, err error), ev CaseEvent) error {
	s := c.s
	if s.ro {
		return ErrReadOnly
	}
	s.casesMu.Lock()
	defer s.casesMu.Unlock()
	{
		err := s.db.Update(func(txn *badger.Txn) error {
			var rec []byte
			if err := s.get(txn, caseKey(id), func(v []byte) error { rec = append([]byte(nil), v...); return nil }); err != nil {
				return err
			}
			nr, res, err := fn(rec)
			if err != nil {
				return err
			}
			seq, err := s.lastCaseSeq(txn, id)
			if err != nil {
				return err
			}
			ev.Seq = seq + 1
			if res != nil {
				if err := txn.Set(caseResultKey(id), res); err != nil {
					return err
				}
			}
			return errors.Join(txn.Set(caseKey(id), nr), txn.Set(caseLogKey(id, ev.Seq), mustJSON(&ev)))
		})
		if err != nil {
			return fmt.Errorf("store: update case %d: %w", id, err)
		}
		return nil
	}
}

func (s *Store) lastCaseSeq(txn *badger.Txn, id uint64) (uint32, error) {
	prefix := binary.BigEndian.AppendUint64([]byte{prefixCaseLog}, id)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true})
	defer it.Close()
	it.Seek(append(append([]byte(nil), prefix...), 0xff, 0xff, 0xff, 0xff))
	if !it.ValidForPrefix(prefix) {
		return 0, nil
	}
	return binary.BigEndian.Uint32(it.Item().Key()[len(prefix):]), nil
}

// Record returns case id's record; ErrNotFound when there is none.
func (c Cases) Record(id uint64) ([]byte, error) { return c.s.caseBytes(caseKey(id)) }

// Result returns the latest trace result of case id.
func (c Cases) Result(id uint64) ([]byte, error) { return c.s.caseBytes(caseResultKey(id)) }

func (s *Store) caseBytes(k []byte) ([]byte, error) {
	var out []byte
	err := s.view(func(txn *badger.Txn) error {
		return s.get(txn, k, func(v []byte) error { out = append([]byte(nil), v...); return nil })
	})
	return out, err
}

// Each calls fn with every case's id and record, in id order.
func (c Cases) Each(fn func(id uint64, rec []byte) error) error {
	s := c.s
	return s.view(func(txn *badger.Txn) error {
		prefix := []byte{prefixCase}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			k := it.Item().Key()
			if len(k) != 9 {
				return fmt.Errorf("%w: case key %x", ErrCorrupt, k)
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			if err := fn(binary.BigEndian.Uint64(k[1:]), v); err != nil {
				return err
			}
		}
		return nil
	})
}

// Log returns case id's log in order.
func (c Cases) Log(id uint64) ([]CaseEvent, error) {
	s := c.s
	var out []CaseEvent
	err := s.view(func(txn *badger.Txn) error {
		prefix := binary.BigEndian.AppendUint64([]byte{prefixCaseLog}, id)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			var e CaseEvent
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &e) }); err != nil {
				return fmt.Errorf("%w: case %d log %x: %v", ErrCorrupt, id, it.Item().Key(), err)
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}
