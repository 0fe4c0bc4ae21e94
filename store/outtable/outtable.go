// Package outtable maps transaction outputs to small values in memory: an
// open-addressing table (linear probing, deletion by backward shift, at
// most 3/4 full, on 2 MB pages) keyed by an output packed into 64 bits.
// Clustering's unspent set and the exposure build's frontier hold every
// output in flight of a pass over the chain in one; it costs half what a
// Go map does per spend, and deleting leaves no tombstones, which a map
// that sees millions of outputs come and go while thousands stay is
// slowed by.
package outtable

import (
	"math/bits"
	"unsafe"

	"github.com/tracer-oss/tracer/store/hugemem"
)

// MaxVout is the first output index Key cannot pack: no transaction of
// a valid block has that many outputs.
const MaxVout = 1 << 24

// Key packs output vout of transaction tx (its number in the store) into
// a table key; ok is false from MaxVout on.
func Key(tx uint64, vout uint32) (key uint64, ok bool) {
	return tx<<24 ^ uint64(vout), vout < MaxVout
}

// Table maps keys made by Key to values V.
type Table[V any] struct {
	tab   []entry[V] // len a power of 2, or 0 before the first Put
	shift uint       // 64 - log2(len(tab))
	n     int
}

type entry[V any] struct {
	key uint64 // Key + 1; 0 for an empty slot
	val V
}

// Len is the number of entries.
func (t *Table[V]) Len() int { return t.n }

// Bytes is the memory the table holds.
func (t *Table[V]) Bytes() int64 { return int64(len(t.tab)) * int64(unsafe.Sizeof(entry[V]{})) }

func (t *Table[V]) home(key uint64) uint64 { return (key * 0x9e3779b97f4a7c15) >> t.shift }

// Put sets key's value; key must not be in the table. It returns the
// bytes the table grew by (0 but when it doubles).
func (t *Table[V]) Put(key uint64, v V) (grown int64) {
	if (t.n+1)*4 > len(t.tab)*3 {
		grown = t.resize()
	}
	t.insert(entry[V]{key + 1, v})
	t.n++
	return grown
}

func (t *Table[V]) insert(e entry[V]) {
	mask := uint64(len(t.tab) - 1)
	j := t.home(e.key)
	for t.tab[j].key != 0 {
		j = (j + 1) & mask
	}
	t.tab[j] = e
}

func (t *Table[V]) resize() int64 {
	before := t.Bytes()
	old := t.tab
	size := max(2*len(old), 1<<12)
	t.tab, t.shift = hugemem.Slice[entry[V]](size), uint(64-bits.TrailingZeros(uint(size)))
	for _, e := range old {
		if e.key != 0 {
			t.insert(e)
		}
	}
	return t.Bytes() - before
}

// Take removes key and returns its value; ok is false when the table
// lacks it.
func (t *Table[V]) Take(key uint64) (v V, ok bool) {
	if len(t.tab) == 0 {
		return v, false
	}
	key++
	mask := uint64(len(t.tab) - 1)
	i := t.home(key)
	for t.tab[i].key != key {
		if t.tab[i].key == 0 {
			return v, false
		}
		i = (i + 1) & mask
	}
	v = t.tab[i].val
	// Backward shift: move later entries of the run into the hole when
	// their home is not cyclically in (hole, their place].
	for j := (i + 1) & mask; t.tab[j].key != 0; j = (j + 1) & mask {
		if h := t.home(t.tab[j].key); (j-h)&mask >= (j-i)&mask {
			t.tab[i] = t.tab[j]
			i = j
		}
	}
	t.tab[i] = entry[V]{}
	t.n--
	return v, true
}

// Values calls fn with every value, which it may change, in no order.
func (t *Table[V]) Values(fn func(v *V)) {
	for i := range t.tab {
		if t.tab[i].key != 0 {
			fn(&t.tab[i].val)
		}
	}
}
