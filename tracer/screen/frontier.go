package screen

import (
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/hugemem"
)

// frontier holds a build's followed outputs whose spender is still ahead
// of its walk, with their shares as the walk uses them: in one array (an
// arena) rather than a slice each, so putting an output is a copy and
// taking it is a table read, with no encoding, decoding or allocation per
// output (the frontier is the walk's busiest structure: an entry per
// tainted input). Taken outputs leave holes; the arena is compacted into
// a second one when the holes outnumber the live shares.
//
// Its memory is that of the outputs in flight: at 10 M transactions and
// a hundred source groups some 36,000 outputs, about 35 MB.
type frontier struct {
	idx   outTable
	arena []taintShare
	spare []taintShare // the other arena, reused by compact
	live  int          // shares idx refers to
}

// frontierRef is where an output's shares are in the arena.
type frontierRef struct {
	value int64
	off   int
	n     int32
}

func newFrontier() *frontier { return &frontier{idx: newOutTable(1 << 10)} }

// len is the number of outputs held.
func (f *frontier) len() int { return f.idx.n }

// put holds o's value and shares (copied) for output op.
func (f *frontier) put(op store.OutPoint, o *outShares) {
	if len(f.arena)+len(o.shares) > cap(f.arena) {
		f.arena = growArena(f.arena, len(o.shares))
	}
	f.idx.put(op, frontierRef{value: o.value, off: len(f.arena), n: int32(len(o.shares))})
	f.arena = append(f.arena, o.shares...)
	f.live += len(o.shares)
}

// growArena is a copy of a with room for n more shares and as many again,
// backed by 2 MB pages: the walk reads the arena at random, an entry per
// tainted input (shares handed out from a stay valid: they keep the old
// array).
func growArena(a []taintShare, n int) []taintShare {
	next := hugemem.Slice[taintShare](max(2*(len(a)+n), 1<<16))[:len(a)]
	copy(next, a)
	return next
}

// take removes output op and fills o with its value and shares; the
// shares are the arena's, valid until the next tidy. ok is false when op
// is not held.
func (f *frontier) take(op store.OutPoint, o *outShares) (ok bool) {
	r, ok := f.idx.take(op)
	if !ok {
		return false
	}
	f.live -= int(r.n)
	o.vout, o.value, o.shares = op.Vout, r.value, f.arena[r.off:r.off+int(r.n):r.off+int(r.n)]
	return true
}

// tidy compacts the arena when most of it is holes. Shares take returned
// before are invalid after it.
func (f *frontier) tidy() {
	if len(f.arena) > 1<<16 && len(f.arena) > 4*f.live {
		next := f.spare[:0]
		if cap(next) < 2*f.live {
			next = growArena(nil, f.live)[:0]
		}
		for i := range f.idx.keys {
			if f.idx.keys[i].Tx == emptyTx {
				continue
			}
			r := &f.idx.vals[i]
			off := len(next)
			next = append(next, f.arena[r.off:r.off+int(r.n)]...)
			r.off = off
		}
		f.arena, f.spare = next, f.arena[:0]
	}
}

// outTable maps outputs to their place in the arena: open addressing
// with linear probing, and deletion by shifting the entries after back
// (no tombstones, which a map that sees millions of outputs come and go
// while tens of thousands stay is otherwise slowed by).
type outTable struct {
	keys []store.OutPoint // Tx == emptyTx: a free slot
	vals []frontierRef
	n    int
	mask uint64
}

// emptyTx marks a free slot: no transaction has that number.
const emptyTx = ^store.TxNum(0)

func newOutTable(size int) outTable {
	t := outTable{keys: make([]store.OutPoint, size), vals: make([]frontierRef, size), mask: uint64(size - 1)}
	for i := range t.keys {
		t.keys[i].Tx = emptyTx
	}
	return t
}

// home is op's first slot.
func (t *outTable) home(op store.OutPoint) uint64 {
	h := uint64(op.Tx)*0x9e3779b97f4a7c15 ^ uint64(op.Vout)*0xc2b2ae3d27d4eb4f
	h ^= h >> 31
	return h & t.mask
}

// put sets op's entry (op is not held).
func (t *outTable) put(op store.OutPoint, r frontierRef) {
	if (t.n+1)*4 > len(t.keys)*3 {
		t.grow()
	}
	i := t.home(op)
	for t.keys[i].Tx != emptyTx {
		if t.keys[i] == op {
			t.vals[i] = r
			return
		}
		i = (i + 1) & t.mask
	}
	t.keys[i], t.vals[i] = op, r
	t.n++
}

// take removes op's entry and returns it; ok is false when op is not held.
func (t *outTable) take(op store.OutPoint) (r frontierRef, ok bool) {
	i := t.home(op)
	for {
		switch t.keys[i] {
		case op:
			r = t.vals[i]
			t.remove(i)
			return r, true
		case store.OutPoint{Tx: emptyTx}:
			return r, false
		}
		i = (i + 1) & t.mask
	}
}

// remove frees slot i, moving back each entry after it in its run that
// would otherwise no longer be found from its home slot.
func (t *outTable) remove(i uint64) {
	t.n--
	for j := (i + 1) & t.mask; t.keys[j].Tx != emptyTx; j = (j + 1) & t.mask {
		// The entry at j may move to i if its home is not in (i, j],
		// cyclically.
		if h := t.home(t.keys[j]); (j-h)&t.mask >= (j-i)&t.mask {
			t.keys[i], t.vals[i] = t.keys[j], t.vals[j]
			i = j
		}
	}
	t.keys[i] = store.OutPoint{Tx: emptyTx}
}

// grow doubles the table.
func (t *outTable) grow() {
	old := *t
	*t = newOutTable(2 * len(old.keys))
	for i, op := range old.keys {
		if op.Tx != emptyTx {
			t.put(op, old.vals[i])
		}
	}
}
