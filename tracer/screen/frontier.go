package screen

import (
	"fmt"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/hugemem"
	"github.com/tracer-oss/tracer/store/outtable"
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
	idx   outtable.Table[frontierRef]
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

func newFrontier() *frontier { return &frontier{} }

// len is the number of outputs held.
func (f *frontier) len() int { return f.idx.Len() }

// put holds o's value and shares (copied) for output op, which it does
// not hold yet.
func (f *frontier) put(op store.OutPoint, o *outShares) error {
	key, ok := outtable.Key(uint64(op.Tx), op.Vout)
	if !ok {
		return fmt.Errorf("%w: output %d:%d: no transaction has that many outputs", store.ErrCorrupt, op.Tx, op.Vout)
	}
	if len(f.arena)+len(o.shares) > cap(f.arena) {
		f.arena = growArena(f.arena, len(o.shares))
	}
	f.idx.Put(key, frontierRef{value: o.value, off: len(f.arena), n: int32(len(o.shares))})
	f.arena = append(f.arena, o.shares...)
	f.live += len(o.shares)
	return nil
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
	key, ok := outtable.Key(uint64(op.Tx), op.Vout)
	if !ok {
		return false // never put
	}
	r, ok := f.idx.Take(key)
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
		f.idx.Values(func(r *frontierRef) {
			off := len(next)
			next = append(next, f.arena[r.off:r.off+int(r.n)]...)
			r.off = off
		})
		f.arena, f.spare = next, f.arena[:0]
	}
}
