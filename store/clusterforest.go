package store

import (
	"fmt"
	"hash/maphash"
	"math"
)

// forest is the cluster union-find in memory, over dense address ids: per
// address a parent, an aux word (the TxNum+1 of the union that set the
// parent, or the cluster's size at a root, whose link is always 0), the
// next member of its ring, a path-compressed copy of the parent (up) and
// the address itself, plus an open-addressing table from address to id.
// That is 16 + 33 bytes per address and 8 bytes per table slot (between
// 1.33 and 2.67 slots per address), about 60–70 bytes per address in all. Ids and TxNums are 32-bit here: a forest
// beyond 4,294,967,294 addresses or transactions is refused (ErrTooLarge).
type forest struct {
	parent, aux, next chunked[uint32]
	// up is parent with path compression, for finding roots fast; parent
	// itself is never compressed (its edges carry the links). Both have
	// the same roots.
	up    chunked[uint32]
	addrs chunked[clusterAddrKey]
	n     uint32   // ids handed out: 1..n
	table []uint64 // hash tag and id, 0 for an empty slot; len a power of 2
	seed  maphash.Seed
}

const chunkBits = 16

// chunked is a growable array in fixed-size chunks, so growing never
// copies (no doubling spike in memory) and the memory used is what is
// held, to a chunk.
type chunked[T any] struct{ c [][]T }

func (a *chunked[T]) at(i uint32) *T { return &a.c[i>>chunkBits][i&(1<<chunkBits-1)] }

func (a *chunked[T]) grow(n uint32) {
	for uint64(len(a.c))<<chunkBits < uint64(n)+1 {
		a.c = append(a.c, make([]T, 1<<chunkBits))
	}
}

func newForest() *forest {
	return &forest{seed: maphash.MakeSeed(), table: make([]uint64, 1<<10)}
}

func (f *forest) hash(k *clusterAddrKey) uint64 { return maphash.Bytes(f.seed, k[:]) }

// A table slot holds an id in its low 32 bits and the high 32 bits of
// its address's hash above them, so a probe compares addresses only when
// the hashes agree (a probe that reads the address costs a cache miss).

// lookup returns the id of k, 0 when it has none.
func (f *forest) lookup(k *clusterAddrKey) uint32 {
	h := f.hash(k)
	tag := h >> 32
	mask := uint64(len(f.table) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		e := f.table[i]
		if e == 0 {
			return 0
		}
		if e>>32 == tag && *f.addrs.at(uint32(e)) == *k {
			return uint32(e)
		}
	}
}

func (f *forest) insert(id uint32) {
	h := f.hash(f.addrs.at(id))
	mask := uint64(len(f.table) - 1)
	i := h & mask
	for f.table[i] != 0 {
		i = (i + 1) & mask
	}
	f.table[i] = h>>32<<32 | uint64(id)
}

// add gives k the next id, a cluster of its own; with id 0 the next one,
// else exactly id (loading a stored forest, ids in order).
func (f *forest) add(k clusterAddrKey) (uint32, error) {
	if f.n == math.MaxUint32-1 {
		return 0, fmt.Errorf("%w: more than %d addresses in the cluster forest", ErrTooLarge, f.n)
	}
	f.n++
	id := f.n
	for _, a := range []*chunked[uint32]{&f.parent, &f.aux, &f.next, &f.up} {
		a.grow(id)
	}
	f.addrs.grow(id)
	*f.parent.at(id), *f.aux.at(id), *f.next.at(id), *f.addrs.at(id), *f.up.at(id) = id, 1, id, k, id
	if uint64(f.n)*4 > uint64(len(f.table))*3 { // load above 3/4: double
		f.table = make([]uint64, 2*len(f.table))
		for i := uint32(1); i <= f.n; i++ {
			f.insert(i)
		}
	} else {
		f.insert(id)
	}
	return id, nil
}

// root returns the root of id's tree and the cluster's size, halving the
// path in up as it goes.
func (f *forest) root(id uint32) (uint32, uint32) {
	for {
		u := f.up.at(id)
		p := *u
		if p == id {
			return id, *f.aux.at(id)
		}
		g := *f.up.at(p)
		*u = g
		id = g
	}
}

// join makes ra the parent of rb (both roots).
func (f *forest) join(ra, rb uint32) {
	*f.parent.at(rb), *f.up.at(rb) = ra, ra
}

// bytesPerAddress is the forest's memory per address now.
func (f *forest) bytes() int64 {
	chunks := int64(len(f.addrs.c)) << chunkBits
	return chunks*(4*4+33) + int64(len(f.table))*8
}
