package store

import (
	"slices"

	"github.com/dgraph-io/badger/v4"
)

// FamilySize is what one key family takes in the store.
type FamilySize struct {
	Prefix     byte  `json:"prefix"`
	Keys       int64 `json:"keys"`
	KeyBytes   int64 `json:"key_bytes"`   // the keys as written, without Badger's 8-byte version
	ValueBytes int64 `json:"value_bytes"` // the values as written
	// TableBytes is the on-disk size of the tables that hold only this
	// family (a bulk load writes each family's tables apart); tables that
	// hold several families (after ordinary commits and compactions) are
	// counted in Mixed.
	TableBytes int64 `json:"table_bytes"`
}

// Sizes is the store's space by key family.
type Sizes struct {
	Families []FamilySize `json:"families"`
	// Mixed is the on-disk size of tables holding keys of more than one
	// family; ValueLog the size of the value logs (values over 1 KB).
	Mixed    int64 `json:"mixed_table_bytes"`
	ValueLog int64 `json:"value_log_bytes"`
}

// Sizes counts every key of the store by family and apportions the
// tables' on-disk sizes to the families they hold. It reads every key: a
// measurement for benchmarks and capacity planning, not for a hot path.
func (s *Store) Sizes() (Sizes, error) {
	var by [256]FamilySize
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: false})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			k := item.Key()
			if len(k) == 0 {
				continue
			}
			f := &by[k[0]]
			f.Keys++
			f.KeyBytes += int64(len(k))
			f.ValueBytes += item.ValueSize()
		}
		return nil
	})
	if err != nil {
		return Sizes{}, err
	}
	var sz Sizes
	for _, t := range s.db.Tables() {
		if len(t.Left) > 0 && len(t.Right) > 0 && t.Left[0] == t.Right[0] {
			by[t.Left[0]].TableBytes += int64(t.OnDiskSize)
		} else {
			sz.Mixed += int64(t.OnDiskSize)
		}
	}
	_, sz.ValueLog = s.db.Size()
	for p := range by {
		if by[p].Keys > 0 || by[p].TableBytes > 0 {
			by[p].Prefix = byte(p)
			sz.Families = append(sz.Families, by[p])
		}
	}
	slices.SortFunc(sz.Families, func(a, b FamilySize) int { return int(a.Prefix) - int(b.Prefix) })
	return sz, nil
}
