package screen

import (
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/hugemem"
)

// frontier holds a build's followed outputs whose spender is still ahead
// of its walk, with their shares as the walk uses them: in one array (an
// arena) rather than a slice each, so putting an output is a copy and
// taking it is a map read, with no encoding, decoding or allocation per
// output (the frontier is the walk's busiest structure: an entry per
// tainted input). Taken outputs leave holes; the arena is compacted into
// a second one when the holes outnumber the live shares.
//
// Its memory is that of the outputs in flight: at 10 M transactions and
// a hundred source groups some 36,000 outputs, about 35 MB.
type frontier struct {
	idx   map[store.OutPoint]frontierRef
	arena []taintShare
	spare []taintShare // the other arena, reused by compact
	live  int          // shares idx refers to
	taken int          // entries taken since idx was last renewed
}

// frontierRef is where an output's shares are in the arena.
type frontierRef struct {
	value int64
	off   int
	n     int32
}

func newFrontier() *frontier { return &frontier{idx: map[store.OutPoint]frontierRef{}} }

// len is the number of outputs held.
func (f *frontier) len() int { return len(f.idx) }

// put holds o's value and shares (copied) for output op.
func (f *frontier) put(op store.OutPoint, o *outShares) {
	if len(f.arena)+len(o.shares) > cap(f.arena) {
		f.arena = growArena(f.arena, len(o.shares))
	}
	f.idx[op] = frontierRef{value: o.value, off: len(f.arena), n: int32(len(o.shares))}
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
	r, ok := f.idx[op]
	if !ok {
		return false
	}
	delete(f.idx, op)
	f.taken++
	f.live -= int(r.n)
	o.vout, o.value, o.shares = op.Vout, r.value, f.arena[r.off:r.off+int(r.n):r.off+int(r.n)]
	return true
}

// tidy compacts the arena when most of it is holes, and renews the map
// when most of what passed through it is gone: a map's deletes leave
// tombstones (in its full groups) that lookups probe past until it grows,
// and this one does not grow. Shares take returned before are invalid
// after it.
func (f *frontier) tidy() {
	if len(f.arena) > 1<<16 && len(f.arena) > 4*f.live {
		next := f.spare[:0]
		if cap(next) < 2*f.live {
			next = growArena(nil, f.live)[:0]
		}
		for op, r := range f.idx {
			off := len(next)
			next = append(next, f.arena[r.off:r.off+int(r.n)]...)
			r.off = off
			f.idx[op] = r
		}
		f.arena, f.spare = next, f.arena[:0]
	}
	if f.taken > 1<<20 && f.taken > 16*len(f.idx) {
		m := make(map[store.OutPoint]frontierRef, len(f.idx))
		for op, r := range f.idx {
			m[op] = r
		}
		f.idx, f.taken = m, 0
	}
}
