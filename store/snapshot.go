package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
)

// snapshot is the pinned read transaction of a Store returned by Snapshot.
// A read-only Badger transaction is safe for concurrent readers: Get and
// NewIterator change nothing in it but an atomic iterator count.
type snapshot struct {
	txn  *badger.Txn
	refs atomic.Int64
	// expo are the exposure index generations whose files were open when
	// the snapshot was taken, pinned until it ends: a generation its
	// transaction still names stays readable after a drop removed it.
	expo  map[uint32]*exposureGen
	unpin func()
}

// view runs fn in a read transaction: the snapshot's when s is one, else a
// new one. Every read of the store goes through it, so a snapshot answers
// every query as of one instant.
func (s *Store) view(fn func(txn *badger.Txn) error) error {
	if s.snap != nil {
		return fn(s.snap.txn)
	}
	return s.db.View(fn)
}

// Snapshot returns a read-only view of the store as of now: every read of
// it (and of the Readers it opens) answers from one Badger read
// transaction, so a writer's later commits are invisible to it, and its
// State is the chain state of that instant, read in the same transaction.
// It refuses every write (as a read-only store does). Release it when
// done; its transaction ends when it and every Retain are released.
// Taken between two committed blocks, it never shows half of one.
func (s *Store) Snapshot() (*Store, func(), error) {
	if s.snap != nil {
		s.Retain()
		return s, s.release, nil
	}
	expo, unpin, txn, err := s.pinnedTxn()
	if err != nil {
		return nil, nil, fmt.Errorf("store: snapshot: %w", err)
	}
	var state State
	item, err := txn.Get(keyState)
	if err == nil {
		err = item.Value(func(v []byte) error {
			if err := json.Unmarshal(v, &state); err != nil {
				return fmt.Errorf("%w: state: %v", ErrCorrupt, err)
			}
			return nil
		})
	}
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		state = State{Height: -1}
	case err != nil:
		txn.Discard()
		unpin()
		return nil, nil, fmt.Errorf("store: snapshot: %w", err)
	}
	snap := &snapshot{txn: txn, expo: expo, unpin: unpin}
	snap.refs.Store(1)
	v := &Store{db: s.db, clust: s.clust, expo: s.expo, dir: s.dir, ro: true, log: s.log, state: state, minFree: s.minFree, free: s.free, snap: snap}
	return v, v.release, nil
}

// pinnedTxn opens a read transaction with the files of every exposure
// generation it names pinned. They are pinned before the transaction
// opens: a generation dropped in between would be named by the
// transaction and gone from the pins. A generation staged in between
// (its files registered and its header written after the pins) is named
// by the transaction and missing from them: it is pinned then; if it was
// dropped too meanwhile, both are taken again (up to 100 times; past that
// its reads say it was replaced, and to ask again).
func (s *Store) pinnedTxn() (map[uint32]*exposureGen, func(), *badger.Txn, error) {
	for attempt := 0; ; attempt++ {
		expo, unpin := s.expo.pinAll()
		if afterPins != nil {
			afterPins()
		}
		txn := s.db.NewTransaction(false)
		gens, err := exposureFileGens(txn)
		if err != nil {
			txn.Discard()
			unpin()
			return nil, nil, nil, err
		}
		// A generation staged since the pins: pinned now, unless a drop
		// beat us to it (then both are taken again).
		dropped := false
		for gen := range gens {
			if expo[gen] != nil || s.expo.unusableErr(gen) != nil {
				continue
			}
			g, done, err := s.expo.pin(gen)
			if err != nil {
				dropped = true
				break
			}
			if g != nil {
				expo[gen] = g
				prev := unpin
				unpin = func() { prev(); done() }
			}
		}
		if !dropped || attempt == 100 {
			return expo, unpin, txn, nil
		}
		txn.Discard()
		unpin()
	}
}

// afterPins, set by a test, runs between pinnedTxn's pins and its
// transaction.
var afterPins func()

// IsSnapshot reports whether s is a snapshot (Snapshot).
func (s *Store) IsSnapshot() bool { return s.snap != nil }

// Retain adds a reference to a snapshot, for a reader that may outlive
// whoever handed it the snapshot; each Retain needs one Release. On a
// Store that is not a snapshot it does nothing.
func (s *Store) Retain() {
	if s.snap != nil && s.snap.refs.Add(1) <= 1 {
		panic("store: Retain of a released snapshot")
	}
}

// Release drops a reference taken by Retain (or the one Snapshot
// returned); the last one ends the snapshot's transaction. On a Store that
// is not a snapshot it does nothing.
func (s *Store) Release() { s.release() }

func (s *Store) release() {
	if s.snap == nil {
		return
	}
	switch n := s.snap.refs.Add(-1); {
	case n == 0:
		s.snap.txn.Discard()
		s.snap.unpin()
	case n < 0:
		panic("store: snapshot released more often than retained")
	}
}

// WithSanctionsVersion returns a view of the snapshot s (sharing its
// transaction and references: release either) in which the stored list
// version v is the one in force: a live server builds a staged list's
// exposure index on it, and keeps answering from the list an index
// generation was built for while the stored pointer already names
// another. It fails on a store that is not a snapshot and on a version
// that is not stored.
func (s *Store) WithSanctionsVersion(v uint32) (*Store, error) {
	if s.snap == nil {
		return nil, errors.New("store: WithSanctionsVersion of a store that is not a snapshot")
	}
	if _, err := s.Lists().Version(v); err != nil {
		return nil, err
	}
	return &Store{db: s.db, clust: s.clust, expo: s.expo, dir: s.dir, ro: true, log: s.log, state: s.state, minFree: s.minFree, free: s.free, snap: s.snap, listOverride: v}, nil
}
