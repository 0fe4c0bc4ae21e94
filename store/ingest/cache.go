package ingest

import (
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/tracer-oss/tracer/store"
)

// txCache maps recent txids to their numbers and unspent output values.
// Entries leave when all their outputs are spent, or oldest-first at a
// commit once the cache holds more than its limit (a later input then reads
// the store). Entries of uncommitted blocks are never evicted.
//
// It holds no pointers: the map's values locate each transaction's output
// values in one slab, so the GC never scans the cache (with an entry and a
// values slice allocated per transaction, marking them and the pointer
// chases of every lookup took a fifth of a bulk load's CPU time at 10 M
// transactions), and adding a transaction allocates nothing. The queue of
// entries, oldest first, is in slab order and knows each entry's place in
// it, so that dropping its dead entries reads no map.
type txCache struct {
	m map[chainhash.Hash]cacheSlot
	// vals holds, for each entry, the count of its unspent outputs (0 once
	// the entry left) and then its outputs' values (spentMark once spent,
	// unspendMrk for those nobody can spend). Entries that left are holes
	// until compact moves the live ones.
	vals  []int64
	holes int // int64s of vals no entry uses
	// fifo holds the entries in the order added (the slab's): the live
	// ones, and those that left since the last compact.
	fifo    []fifoItem
	head    int
	limit   int
	misses  int64
	evicted int64
}

// cacheSlot locates an entry's values: vals[off] is its unspent count,
// vals[off+1 : off+1+n] its outputs' values.
type cacheSlot struct {
	num store.TxNum
	off int
	n   uint32
}

type fifoItem struct {
	id chainhash.Hash
	cacheSlot
}

func newTxCache(limit int) *txCache {
	return &txCache{m: make(map[chainhash.Hash]cacheSlot, min(limit, 1<<20)), limit: limit}
}

// get finds transaction id.
func (c *txCache) get(id *chainhash.Hash) (cacheSlot, bool) {
	s, ok := c.m[*id]
	return s, ok
}

// values are the output values of the entry at s, valid until the next
// add or trim.
func (c *txCache) values(s cacheSlot) []int64 { return c.vals[s.off+1 : s.off+1+int(s.n)] }

// live reports whether the entry at s is still cached.
func (c *txCache) live(s cacheSlot) bool { return c.vals[s.off] != 0 }

// spend marks output vout of the entry of id at s spent; the entry leaves
// once all its outputs are spent.
func (c *txCache) spend(id *chainhash.Hash, s cacheSlot, vout uint32) {
	c.vals[s.off+1+int(vout)] = spentMark
	c.vals[s.off]--
	if c.vals[s.off] == 0 {
		c.remove(id, s)
	}
}

func (c *txCache) remove(id *chainhash.Hash, s cacheSlot) {
	delete(c.m, *id)
	c.vals[s.off] = 0
	c.holes += 1 + int(s.n)
}

// add caches transaction id, number num, with its outputs' values (copied)
// of which unspent can be spent.
func (c *txCache) add(id chainhash.Hash, num store.TxNum, values []int64, unspent int) {
	if unspent == 0 {
		return
	}
	if old, ok := c.m[id]; ok {
		// A duplicate txid (BIP30): the later transaction is cached.
		c.vals[old.off] = 0
		c.holes += 1 + int(old.n)
	}
	s := cacheSlot{num: num, off: len(c.vals), n: uint32(len(values))}
	c.m[id] = s
	c.vals = append(c.vals, int64(unspent))
	c.vals = append(c.vals, values...)
	c.fifo = append(c.fifo, fifoItem{id, s})
	// In a bulk load nothing is trimmed until it ends: drop the queue's
	// entries of spent transactions now and then, so that it stays within
	// twice the cache rather than growing with the chain; the values' slab
	// likewise.
	if c.slabSparse() {
		c.compact(true)
	} else if len(c.fifo)-c.head > 2*len(c.m)+1<<16 {
		c.compact(false)
	}
}

// release drops every entry: the run is over.
func (c *txCache) release() {
	c.m, c.vals, c.holes, c.fifo, c.head = map[chainhash.Hash]cacheSlot{}, nil, 0, nil, 0
}

func (c *txCache) full() bool { return len(c.m) > c.limit }

// trim evicts the oldest entries while the cache is over its limit,
// handing each to evict if set.
func (c *txCache) trim(evict func(id *chainhash.Hash, num store.TxNum, values []int64) error) error {
	for len(c.m) > c.limit && c.head < len(c.fifo) {
		it := &c.fifo[c.head]
		c.head++
		if c.live(it.cacheSlot) {
			if evict != nil {
				if err := evict(&it.id, it.num, c.values(it.cacheSlot)); err != nil {
					return err
				}
			}
			c.remove(&it.id, it.cacheSlot)
			c.evicted++
		}
	}
	if c.slabSparse() || c.head > len(c.fifo)/2 {
		c.compact(c.slabSparse())
	}
	return nil
}

// slabSparse reports whether the values' holes outweigh twice the live
// values: moving the live ones (a map write each) then costs less than one
// write per value removed since the last move.
func (c *txCache) slabSparse() bool { return c.holes > 2*(len(c.vals)-c.holes)+1<<20 }

// compact drops the queue's entries that left and, if moveValues, the
// values' holes: the live entries' values move, in queue order, to a new
// slab.
func (c *txCache) compact(moveValues bool) {
	live := c.fifo[:0]
	var vals []int64
	if moveValues {
		vals = make([]int64, 0, len(c.vals)-c.holes+len(c.vals)/4)
	}
	for _, it := range c.fifo[c.head:] {
		if !c.live(it.cacheSlot) {
			continue
		}
		if moveValues {
			off := len(vals)
			vals = append(vals, c.vals[it.off:it.off+1+int(it.n)]...)
			it.off = off
			c.m[it.id] = it.cacheSlot
		}
		live = append(live, it)
	}
	c.fifo, c.head = live, 0
	if moveValues {
		c.vals, c.holes = vals, 0
	}
}
