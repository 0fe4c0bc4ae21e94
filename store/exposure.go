package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// ExposureIndex is the header of one generation of the exposure index: what
// it was built from, so readers can tell when it is stale. The records are
// opaque to the store (the screen package encodes them).
type ExposureIndex struct {
	Gen         uint32            `json:"gen"`
	ListVersion uint32            `json:"list_version"` // sanctions list version it was built for; 0: none
	TipHeight   int32             `json:"tip_height"`
	TipHash     string            `json:"tip_hash"`
	TagGens     map[string]uint32 `json:"tag_gens,omitempty"` // tag pack name → generation in force
	BuiltAt     time.Time         `json:"built_at"`
	Addresses   int               `json:"addresses"` // records written
	Params      json.RawMessage   `json:"params,omitempty"`
}

var (
	keyExposureCurrent = append([]byte{prefixMeta}, "exposure-current"...)
	keyExposureGen     = append([]byte{prefixMeta}, "exposure-gen"...)
)

func exposurePrefix(gen uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{prefixExposure}, gen)
}

func exposureKey(gen uint32, addr string) []byte {
	return append(exposurePrefix(gen), addr...)
}

func exposureHeaderKey(gen uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{prefixExposureIndex}, gen)
}

// ExposureWriter writes one new generation of the exposure index. Readers
// keep seeing the previous generation until Commit.
type ExposureWriter struct {
	s   *Store
	gen uint32
	wb  *badger.WriteBatch
	n   int
}

// NewExposureIndex starts a new generation of the exposure index.
func (s *Store) NewExposureIndex() (*ExposureWriter, error) {
	if s.ro {
		return nil, ErrReadOnly
	}
	var gen uint32
	err := s.db.Update(func(txn *badger.Txn) error {
		err := s.get(txn, keyExposureGen, func(v []byte) error {
			if len(v) != 4 {
				return fmt.Errorf("%w: exposure-gen %x", ErrCorrupt, v)
			}
			gen = binary.BigEndian.Uint32(v)
			return nil
		})
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		gen++ // never reused, so keys of an interrupted build never become visible
		return txn.Set(keyExposureGen, binary.BigEndian.AppendUint32(nil, gen))
	})
	if err != nil {
		return nil, fmt.Errorf("store: new exposure index: %w", err)
	}
	return &ExposureWriter{s: s, gen: gen, wb: s.db.NewWriteBatch()}, nil
}

// Put stores the record of one address.
func (w *ExposureWriter) Put(addr string, rec []byte) error {
	if addr == "" || strings.IndexByte(addr, 0) >= 0 {
		return fmt.Errorf("store: exposure record: bad address %q", addr)
	}
	w.n++
	return w.wb.Set(exposureKey(w.gen, addr), rec)
}

// Cancel drops the generation; its keys stay unreferenced until the next
// Commit removes them.
func (w *ExposureWriter) Cancel() { w.wb.Cancel() }

// Commit flushes the records, then switches readers to this generation in
// one transaction (header and pointer), then deletes older generations.
func (w *ExposureWriter) Commit(ctx context.Context, hdr ExposureIndex) (ExposureIndex, error) {
	if err := w.wb.Flush(); err != nil {
		return hdr, fmt.Errorf("store: commit exposure index: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return hdr, err
	}
	hdr.Gen, hdr.Addresses = w.gen, w.n
	if hdr.BuiltAt.IsZero() {
		hdr.BuiltAt = time.Now().UTC().Truncate(time.Second)
	}
	err := w.s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(exposureHeaderKey(w.gen), mustJSON(&hdr)); err != nil {
			return err
		}
		return txn.Set(keyExposureCurrent, binary.BigEndian.AppendUint32(nil, w.gen))
	})
	if err != nil {
		return hdr, fmt.Errorf("store: commit exposure index: %w", err)
	}
	if err := w.s.dropExposureGenerations(w.gen); err != nil {
		return hdr, fmt.Errorf("store: exposure index stored, but removing old generations failed (they stay hidden): %w", err)
	}
	return hdr, nil
}

func (s *Store) dropExposureGenerations(keep uint32) error {
	var del [][]byte
	err := s.view(func(txn *badger.Txn) error {
		for _, p := range []byte{prefixExposure, prefixExposureIndex} {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{p}})
			for it.Seek([]byte{p}); it.ValidForPrefix([]byte{p}); it.Next() {
				k := it.Item().Key()
				if len(k) >= 5 && binary.BigEndian.Uint32(k[1:5]) != keep {
					del = append(del, it.Item().KeyCopy(nil))
				}
			}
			it.Close()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.deleteKeys(del)
}

// deleteKeys deletes keys in write batches.
func (s *Store) deleteKeys(keys [][]byte) error {
	if len(keys) == 0 {
		return nil
	}
	wb := s.db.NewWriteBatch()
	for _, k := range keys {
		if err := wb.Delete(k); err != nil {
			wb.Cancel()
			return err
		}
	}
	return wb.Flush()
}

// ExposureIndexInfo returns the header of the exposure index in force, and
// ErrNotFound when none was built.
func (s *Store) ExposureIndexInfo() (ExposureIndex, error) {
	var hdr ExposureIndex
	err := s.view(func(txn *badger.Txn) error {
		var gen uint32
		err := s.get(txn, keyExposureCurrent, func(v []byte) error {
			if len(v) != 4 {
				return fmt.Errorf("%w: exposure-current %x", ErrCorrupt, v)
			}
			gen = binary.BigEndian.Uint32(v)
			return nil
		})
		if err != nil {
			return err
		}
		return s.get(txn, exposureHeaderKey(gen), func(v []byte) error {
			if err := json.Unmarshal(v, &hdr); err != nil {
				return fmt.Errorf("%w: exposure index header: %v", ErrCorrupt, err)
			}
			return nil
		})
	})
	if errors.Is(err, ErrNotFound) {
		return hdr, fmt.Errorf("%w: no exposure index (run tracer screen --rebuild-index)", ErrNotFound)
	}
	return hdr, err
}

// Exposure returns the record of addr in generation gen (from
// ExposureIndexInfo), appended to buf; found is false when the index holds
// no record for it (no exposure).
func (s *Store) Exposure(gen uint32, addr string, buf []byte) (rec []byte, found bool, err error) {
	if addr == "" || strings.IndexByte(addr, 0) >= 0 {
		return buf, false, nil
	}
	err = s.view(func(txn *badger.Txn) error {
		item, err := txn.Get(exposureKey(gen, addr))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		rec, err = item.ValueCopy(buf[:0])
		return err
	})
	if err != nil {
		return buf, false, fmt.Errorf("store: exposure of %s: %w", addr, err)
	}
	return rec, found, nil
}
