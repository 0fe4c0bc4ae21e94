package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/dgraph-io/badger/v4"

	"github.com/tracer-oss/tracer/sanctions"
)

// All and the alert outbox.
//
// A watch names what to alert on; the alerter resolves it to addresses. An
// alert is written to the outbox ('W', sequence numbers from 1) in the same
// commit as the block it reports, so no alert is lost when the process
// stops: a deliverer sends pending alerts in sequence order and marks each
// delivered. Sequence numbers are handed out under outboxMu and published by
// 'm' "follow-alert-next", written in the transaction that writes the
// alerts; an alert at or past it is invisible (the leftover of a killed
// commit) and Open deletes it.
//
// When an undo removes a block, its undelivered alerts are retracted (never
// delivered) and each delivered one gets a retraction notice, a new outbox
// entry. An alert retracted while a deliverer was sending it gets its notice
// when MarkDelivered learns of the retraction. So a consumer sees every
// alert once and every withdrawn delivered alert withdrawn once.

var (
	keyAlertNext = append([]byte{prefixMeta}, "follow-alert-next"...)
	keyWatchGen  = append([]byte{prefixMeta}, "watch-gen"...)
)

// WatchKind says what a watch names.
type WatchKind string

const (
	WatchAddress   WatchKind = "address"   // one address
	WatchEntity    WatchKind = "entity"    // every address of a sanctioned profile (by name)
	WatchSanctions WatchKind = "sanctions" // every address on the list in force
)

// Watch is one entry of the watch list.
type Watch struct {
	Kind  WatchKind `json:"kind"`
	Value string    `json:"value,omitempty"` // the address or entity name
	Added time.Time `json:"added"`
	// FromHeight is the store's tip when the watch was added: blocks at or
	// below it are history and raise no alert.
	FromHeight int32 `json:"from_height"`
}

// WatchList is the store's room for the watches, as Cases is for cases:
// the watch keys and the list's generation, read through the store's view.
type WatchList struct{ s *Store }

// WatchList returns the store's watch list.
func (s *Store) WatchList() WatchList { return WatchList{s} }

// watchKey is a watch's key. Entity names are keyed by sanctions.NameKey,
// so the same entity typed in another case or spacing is the same watch.
func watchKey(kind WatchKind, value string) []byte {
	if kind == WatchEntity {
		value = sanctions.NameKey(value)
	}
	return rawWatchKey(kind, value)
}

// rawWatchKey is the key as stores before entity names were normalised
// wrote it.
func rawWatchKey(kind WatchKind, value string) []byte {
	k := []byte{prefixWatch}
	k = append(k, kind...)
	k = append(k, 0)
	return append(k, value...)
}

// Add stores w; it reports false when the same watch existed.
func (wl WatchList) Add(w Watch) (bool, error) {
	s := wl.s
	if s.ro {
		return false, ErrReadOnly
	}
	added := false
	err := s.db.Update(func(txn *badger.Txn) error {
		k := watchKey(w.Kind, w.Value)
		for _, key := range [][]byte{k, rawWatchKey(w.Kind, w.Value)} {
			if _, err := txn.Get(key); err == nil {
				return nil
			} else if !errors.Is(err, badger.ErrKeyNotFound) {
				return err
			}
		}
		added = true
		if err := txn.Set(k, mustJSON(&w)); err != nil {
			return err
		}
		return s.bumpWatchGen(txn)
	})
	if err != nil {
		return false, fmt.Errorf("store: add watch: %w", err)
	}
	return added, nil
}

// Remove deletes a watch; it reports false when there was none.
func (wl WatchList) Remove(kind WatchKind, value string) (bool, error) {
	s := wl.s
	if s.ro {
		return false, ErrReadOnly
	}
	found := false
	err := s.db.Update(func(txn *badger.Txn) error {
		for _, k := range [][]byte{watchKey(kind, value), rawWatchKey(kind, value)} {
			if _, err := txn.Get(k); errors.Is(err, badger.ErrKeyNotFound) {
				continue
			} else if err != nil {
				return err
			}
			found = true
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		if !found {
			return nil
		}
		return s.bumpWatchGen(txn)
	})
	if err != nil {
		return false, fmt.Errorf("store: remove watch: %w", err)
	}
	return found, nil
}

// Gen is the watch list's generation: it changes with every watch
// added or removed (in the same transaction), so a follower holding the
// resolved list checks one key per block to know when to reload it. 0: no
// watch was ever changed (or the store predates the counter).
func (wl WatchList) Gen() (uint64, error) {
	s := wl.s
	var gen uint64
	err := s.view(func(txn *badger.Txn) error {
		err := s.get(txn, keyWatchGen, func(v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("%w: watch generation of %d bytes", ErrCorrupt, len(v))
			}
			gen = binary.BigEndian.Uint64(v)
			return nil
		})
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	})
	return gen, err
}

// bumpWatchGen sets a new watch generation in txn. Watch writes are not
// serialised (Badger's conflict detection is off), so two may read the
// same old value: the new one is the clock's nanoseconds (at least old+1),
// which differs from whatever generation a reader holds.
func (s *Store) bumpWatchGen(txn *badger.Txn) error {
	var gen uint64
	err := s.get(txn, keyWatchGen, func(v []byte) error {
		if len(v) == 8 {
			gen = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return txn.Set(keyWatchGen, binary.BigEndian.AppendUint64(nil, max(gen+1, uint64(time.Now().UnixNano()))))
}

// All returns the watch list in key order (kind, then value).
func (wl WatchList) All() ([]Watch, error) {
	s := wl.s
	var out []Watch
	err := s.view(func(txn *badger.Txn) error {
		prefix := []byte{prefixWatch}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			var w Watch
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &w) }); err != nil {
				return fmt.Errorf("%w: watch %q: %v", ErrCorrupt, it.Item().Key(), err)
			}
			out = append(out, w)
		}
		return nil
	})
	return out, err
}

// Outbox is the store's room for the alert outbox: the alerts that
// blocks raised (written by Batch.PutAlert in the block's commit), read
// in sequence order and marked delivered.
type Outbox struct{ s *Store }

// Outbox returns the store's alert outbox.
func (s *Store) Outbox() Outbox { return Outbox{s} }

// AlertStatus is where an alert is in its life.
type AlertStatus uint8

const (
	AlertPending   AlertStatus = iota // waiting for delivery
	AlertDelivered                    // every sink has it
	AlertRetracted                    // its block was undone before delivery: never sent
	AlertWithdrawn                    // delivered, then its block was undone: a notice follows it
)

func (a AlertStatus) String() string {
	switch a {
	case AlertPending:
		return "pending"
	case AlertDelivered:
		return "delivered"
	case AlertRetracted:
		return "retracted"
	case AlertWithdrawn:
		return "withdrawn"
	}
	return fmt.Sprintf("status(%d)", uint8(a))
}

// Alert is an outbox entry. The store keeps Body opaque: the alerter
// renders it.
type Alert struct {
	Seq      uint64          `json:"seq"`
	Status   AlertStatus     `json:"status"`
	Height   int32           `json:"height"`
	Block    chainhash.Hash  `json:"block"`
	Retracts uint64          `json:"retracts,omitempty"` // non-zero: a retraction notice for that alert
	Body     json.RawMessage `json:"body"`
}

func alertKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixAlert}, seq)
}

func (s *Store) loadAlertNext() error {
	s.alertNext = 1
	return s.view(func(txn *badger.Txn) error {
		err := s.get(txn, keyAlertNext, func(v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("%w: follow-alert-next %x", ErrCorrupt, v)
			}
			s.alertNext = binary.BigEndian.Uint64(v)
			return nil
		})
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	})
}

// dropHiddenAlerts deletes outbox entries at or past the published sequence:
// alerts of a commit that a kill interrupted.
func (s *Store) dropHiddenAlerts() error {
	return s.db.Update(func(txn *badger.Txn) error {
		prefix := []byte{prefixAlert}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		var keys [][]byte
		for it.Seek(alertKey(s.alertNext)); it.ValidForPrefix(prefix); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		it.Close()
		for _, k := range keys {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeAlerts numbers alerts from s.alertNext and writes them with the new
// counter into txn. The caller holds outboxMu and sets s.alertNext to the
// returned value once txn commits.
func (s *Store) writeAlerts(txn *badger.Txn, alerts []*Alert) (uint64, error) {
	next := s.alertNext
	for _, a := range alerts {
		a.Seq = next
		next++
		if err := txn.Set(alertKey(a.Seq), mustJSON(a)); err != nil {
			return s.alertNext, err
		}
	}
	if next != s.alertNext {
		if err := txn.Set(keyAlertNext, binary.BigEndian.AppendUint64(nil, next)); err != nil {
			return s.alertNext, err
		}
	}
	return next, nil
}

// retractAlerts withdraws the live alerts of blocks above height to. Live
// alerts are in non-decreasing height order (each undo withdraws everything
// above its target), so a backward scan stops at the first live alert at or
// below to. The caller holds outboxMu.
func (s *Store) retractAlerts(txn *badger.Txn, to int32) (retracted, notices int, err error) {
	prefix := []byte{prefixAlert}
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true, PrefetchValues: true})
	var pending []*Alert
	var delivered []*Alert
	for it.Seek(alertKey(s.alertNext - 1)); it.ValidForPrefix(prefix); it.Next() {
		var a Alert
		if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &a) }); err != nil {
			it.Close()
			return 0, 0, fmt.Errorf("%w: alert %x: %v", ErrCorrupt, it.Item().Key(), err)
		}
		if a.Retracts != 0 || a.Status == AlertRetracted || a.Status == AlertWithdrawn {
			continue
		}
		if a.Height <= to {
			break
		}
		if a.Status == AlertPending {
			pending = append(pending, &a)
		} else {
			delivered = append(delivered, &a)
		}
	}
	it.Close()
	for _, a := range pending {
		a.Status = AlertRetracted
		if err := txn.Set(alertKey(a.Seq), mustJSON(a)); err != nil {
			return 0, 0, err
		}
	}
	// Notices in the original order.
	var out []*Alert
	for i := len(delivered) - 1; i >= 0; i-- {
		a := delivered[i]
		out = append(out, &Alert{Height: a.Height, Block: a.Block, Retracts: a.Seq, Body: a.Body})
		a.Status = AlertWithdrawn
		if err := txn.Set(alertKey(a.Seq), mustJSON(a)); err != nil {
			return 0, 0, err
		}
	}
	next, err := s.writeAlerts(txn, out)
	if err != nil {
		return 0, 0, err
	}
	s.alertNext = next // the caller reloads it if txn fails
	return len(pending), len(out), nil
}

// Pending returns up to limit pending alerts with a sequence number
// above after, in order.
func (o Outbox) Pending(after uint64, limit int) ([]Alert, error) {
	s := o.s
	if limit <= 0 {
		return nil, nil
	}
	var out []Alert
	err := s.eachAlert(after, func(a Alert) (bool, error) {
		if a.Status == AlertPending {
			out = append(out, a)
		}
		return len(out) < limit, nil
	})
	return out, err
}

// Each calls fn for every visible outbox entry in order.
func (o Outbox) Each(fn func(Alert) error) error {
	return o.s.eachAlert(0, func(a Alert) (bool, error) { return true, fn(a) })
}

// eachAlert calls fn for the visible outbox entries after sequence number
// after, in order, until fn returns false or an error. Entries at or past
// alertNext are a killed commit's: not visible.
func (s *Store) eachAlert(after uint64, fn func(Alert) (bool, error)) error {
	s.outboxMu.Lock()
	end := s.alertNext
	s.outboxMu.Unlock()
	return s.view(func(txn *badger.Txn) error {
		prefix := []byte{prefixAlert}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Seek(alertKey(after + 1)); it.ValidForPrefix(prefix); it.Next() {
			seq := binary.BigEndian.Uint64(it.Item().Key()[1:])
			if seq >= end {
				break
			}
			var a Alert
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &a) }); err != nil {
				return fmt.Errorf("%w: alert %d: %v", ErrCorrupt, seq, err)
			}
			if more, err := fn(a); err != nil || !more {
				return err
			}
		}
		return nil
	})
}

// MarkDelivered records that alert seq reached every sink. If an undo
// retracted it while it was in flight, a retraction notice is queued
// instead of losing the fact that it went out; notice reports that.
func (o Outbox) MarkDelivered(seq uint64) (notice bool, err error) {
	s := o.s
	if s.ro {
		return false, ErrReadOnly
	}
	s.outboxMu.Lock()
	defer s.outboxMu.Unlock()
	next := s.alertNext
	err = s.db.Update(func(txn *badger.Txn) error {
		var a Alert
		if err := s.get(txn, alertKey(seq), func(v []byte) error { return json.Unmarshal(v, &a) }); err != nil {
			return err
		}
		switch a.Status {
		case AlertDelivered, AlertWithdrawn:
			return nil
		case AlertRetracted:
			notice = true
			var err error
			next, err = s.writeAlerts(txn, []*Alert{{Height: a.Height, Block: a.Block, Retracts: a.Seq, Body: a.Body}})
			if err != nil {
				return err
			}
			a.Status = AlertWithdrawn
		default:
			a.Status = AlertDelivered
		}
		return txn.Set(alertKey(seq), mustJSON(&a))
	})
	if err != nil {
		return false, fmt.Errorf("store: mark alert %d delivered: %w", seq, err)
	}
	s.alertNext = next
	return notice, nil
}
