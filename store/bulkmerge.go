package store

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// runReader iterates one family of one sorted run: a section of a spilled
// file or of the in-memory run. k and v are valid until the next call of
// next.
type runReader struct {
	idx  int // run order: later runs win on equal keys
	r    *bufio.Reader
	mem  *entryBuf  // the in-memory run
	ents []bufEntry // its entries of the family, not yet read
	buf  []byte
	k, v []byte
	pfx  uint64 // k's first 8 bytes, big-endian and zero-padded
	done bool   // no more entries (or err)
	err  error
}

func (r *runReader) next() bool {
	ok := r.read()
	if !ok {
		r.done = true
		return false
	}
	if len(r.k) >= 8 {
		r.pfx = binary.BigEndian.Uint64(r.k)
	} else {
		var p [8]byte
		copy(p[:], r.k)
		r.pfx = binary.BigEndian.Uint64(p[:])
	}
	return true
}

func (r *runReader) read() bool {
	if r.mem != nil {
		if len(r.ents) == 0 {
			return false
		}
		x := &r.ents[0]
		r.k, r.v = r.mem.key(x), r.mem.value(x)
		r.ents = r.ents[1:]
		return true
	}
	// Most entries lie whole in the reader's buffer: point into it rather
	// than copy (k and v are valid until the next read).
	if hdr, _ := r.r.Peek(2 * binary.MaxVarintLen64); len(hdr) > 0 {
		kl, n := binary.Uvarint(hdr)
		if n > 0 {
			vl, m := binary.Uvarint(hdr[n:])
			if m > 0 && kl+vl <= uint64(r.r.Size()) {
				h := n + m
				if b, err := r.r.Peek(h + int(kl+vl)); err == nil {
					r.k, r.v = b[h:h+int(kl):h+int(kl)], b[h+int(kl):]
					_, _ = r.r.Discard(len(b)) // cannot fail: the bytes are buffered
					return true
				}
			}
		}
	}
	kl, err := binary.ReadUvarint(r.r)
	if err != nil {
		if !errors.Is(err, io.EOF) {
			r.err = err
		}
		return false
	}
	vl, err := binary.ReadUvarint(r.r)
	if err != nil {
		r.err = err
		return false
	}
	if kl+vl > 1<<30 {
		r.err = fmt.Errorf("entry of %d bytes", kl+vl)
		return false
	}
	r.buf = slices.Grow(r.buf[:0], int(kl+vl))[:kl+vl]
	if _, err := io.ReadFull(r.r, r.buf); err != nil {
		r.err = err
		return false
	}
	r.k, r.v = r.buf[:kl], r.buf[kl:]
	return true
}

// before reports whether a's entry comes before b's in the merge: by key,
// then by run (a later run's write of a key wins, so it comes last). An
// exhausted reader comes after everything.
func (a *runReader) before(b *runReader) bool {
	if a.done || b.done {
		return !a.done
	}
	if a.pfx != b.pfx {
		return a.pfx < b.pfx
	}
	if c := bytes.Compare(a.k, b.k); c != 0 {
		return c < 0
	}
	return a.idx < b.idx
}

// mergeIter merges sorted runs with a tournament (loser) tree: each entry
// costs one comparison per level, about log2(runs), and most comparisons
// end at the 8-byte prefixes. k and v are copies, valid until the next
// call of next.
type mergeIter struct {
	rs []*runReader
	// tree[0] is the reader holding the least entry; tree[1…len(rs)-1]
	// are the losers of the matches at the inner nodes of the implicit
	// binary tree whose leaves are len(rs)…2*len(rs)-1.
	tree []int
	k, v []byte
	err  error
}

func newMergeIter(rs []*runReader) (*mergeIter, error) {
	it := &mergeIter{rs: rs, tree: make([]int, max(len(rs), 1))}
	for _, r := range rs {
		if !r.next() && r.err != nil {
			return nil, fmt.Errorf("read run: %w", r.err)
		}
	}
	if len(rs) > 0 {
		it.tree[0] = it.build(1)
	}
	return it, nil
}

// build plays the matches of the subtree at node and returns its winner.
func (it *mergeIter) build(node int) int {
	if node >= len(it.rs) {
		return node - len(it.rs)
	}
	l, r := it.build(2*node), it.build(2*node+1)
	if it.rs[r].before(it.rs[l]) {
		l, r = r, l
	}
	it.tree[node] = r
	return l
}

func (it *mergeIter) next() bool {
	if it.err != nil || len(it.rs) == 0 {
		return false
	}
	w := it.tree[0]
	r := it.rs[w]
	if r.done {
		return false
	}
	it.k, it.v = append(it.k[:0], r.k...), append(it.v[:0], r.v...)
	if !r.next() && r.err != nil {
		it.err = fmt.Errorf("read run: %w", r.err)
	}
	// Replay the matches on the path from w's leaf to the root.
	for node := (w + len(it.rs)) / 2; node > 0; node /= 2 {
		if l := it.tree[node]; it.rs[l].before(it.rs[w]) {
			it.tree[node], w = w, l
		}
	}
	it.tree[0] = w
	return true
}
