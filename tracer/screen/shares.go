package screen

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/hugemem"
)

// The index keeps three kinds of records (see store/keys.go for their
// keys); a Reader draws an address's Record from them on read. All are sequences of uvarints, so a
// share costs a few bytes; every decoder checks every count and value
// against the bytes left and returns store.ErrCorrupt, never panics.
//
//	tx shares   ngroup, (pred, nslot, slot, slot delta…)…,
//	            nout, (vout, value, nshare, (slot, tainted, hops)…)…
//	            the path predecessors grouped by predecessor (appendPreds);
//	            pred is 0 where the transaction pays a source of the slot
//	            (a path starts there), else TxNum+1 of the funding
//	            transaction of its largest tainted input of the slot
//	accumulator n, (slot delta, amount, hops<<2 | flags, [amount - best],
//	            [best tx, best vout])… (encodeAcc; format 3 had hops,
//	            amount - best and a flag byte always; format 1 began with
//	            the received total, which a Reader now counts on read)
//	undo        2, block hash (32), previous hash (32), first tx, end tx,
//	            naddr, (len, address, present, len, accumulator)…,
//	            nspent, (tx, vout, value, nshare, (slot, tainted, hops)…)…
//	            (version 1 records end after the accumulators)
//
// A tx shares record lists only the outputs not yet spent: the block that
// spends one takes it off and keeps it in its undo record, which puts it
// back.

// taintShare is one source group's tainted amount on an output.
type taintShare struct {
	slot    uint32
	hops    int32
	tainted int64
}

// predEntry is the path predecessor of a transaction for one slot.
type predEntry struct {
	slot uint32
	pred uint64 // 0: the transaction pays a source of the slot; else TxNum+1
}

// outShares are the followed shares of one output.
type outShares struct {
	vout   uint32
	value  int64
	shares []taintShare
}

// txShares is the record of one tainted transaction.
type txShares struct {
	preds []predEntry
	outs  []outShares
}

func (r *txShares) encode(b []byte) []byte {
	b = appendPreds(b, r.preds)
	b = binary.AppendUvarint(b, uint64(len(r.outs)))
	for _, o := range r.outs {
		b = binary.AppendUvarint(b, uint64(o.vout))
		b = encodeOut(b, &o)
	}
	return b
}

// encodeOut appends o's value and shares, as in a tx shares record but
// without its vout.
func encodeOut(b []byte, o *outShares) []byte {
	b = binary.AppendUvarint(b, uint64(o.value))
	b = binary.AppendUvarint(b, uint64(len(o.shares)))
	for _, s := range o.shares {
		b = binary.AppendUvarint(b, uint64(s.slot))
		b = binary.AppendUvarint(b, uint64(s.tainted))
		b = binary.AppendUvarint(b, uint64(s.hops))
	}
	return b
}

// shares reads a count of shares of o (value already read) into o.shares.
func (d *decoder) shares(slots int, o *outShares) {
	ns := d.count(3)
	if cap(o.shares) < ns {
		o.shares = make([]taintShare, 0, ns)
	}
	o.shares = o.shares[:0]
	for j := 0; j < ns; j++ {
		s := taintShare{slot: d.uint32(uint64(slots)), tainted: d.int64(), hops: int32(d.uint32(math.MaxInt32))}
		if s.tainted > o.value {
			d.fail("tainted amount exceeds the output's value")
		}
		o.shares = append(o.shares, s)
	}
}

// decoder reads uvarints, remembering the first error.
type decoder struct {
	b    []byte
	what string
	err  error
}

func (d *decoder) fail(why string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: exposure %s: %s", store.ErrCorrupt, d.what, why)
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("truncated or overlong number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a count of items of at least min bytes each.
func (d *decoder) count(min int) int {
	v := d.uvarint()
	if v > uint64(len(d.b)/min) {
		d.fail(fmt.Sprintf("count %d exceeds the record", v))
		return 0
	}
	return int(v)
}

func (d *decoder) int64() int64 {
	v := d.uvarint()
	if v > math.MaxInt64 {
		d.fail("amount out of range")
		return 0
	}
	return int64(v)
}

func (d *decoder) uint32(limit uint64) uint32 {
	v := d.uvarint()
	if v >= limit {
		d.fail(fmt.Sprintf("value %d out of range", v))
		return 0
	}
	return uint32(v)
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.fail("truncated")
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) end() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail(fmt.Sprintf("%d bytes after the end", len(d.b)))
	}
	return d.err
}

// decodeTxShares decodes a tx shares record; slots bounds the slot numbers.
func decodeTxShares(b []byte, slots int) (txShares, error) {
	d := decoder{b: b, what: "tx shares"}
	var r txShares
	r.preds = d.preds(slots)
	no := d.count(3)
	r.outs = make([]outShares, 0, no)
	for i := 0; i < no; i++ {
		o := outShares{vout: d.uint32(math.MaxUint32), value: d.int64()}
		d.shares(slots, &o)
		r.outs = append(r.outs, o)
	}
	return r, d.end()
}

// outIndex returns the index in r.outs of output vout, -1 when none was
// followed or it was spent.
func (r *txShares) outIndex(vout uint32) int {
	for i := range r.outs {
		if r.outs[i].vout == vout {
			return i
		}
	}
	return -1
}

// appendPreds appends preds (in slot order) grouped by predecessor: a
// transaction's source groups mostly share the few inputs it has, so a
// group costs its predecessor once and a byte or so per slot:
//
//	ngroup, (pred, nslot, first slot, slot deltas…)…
//
// Groups are in the order of their first slot.
func appendPreds(b []byte, preds []predEntry) []byte {
	// Few groups (a transaction's inputs, at most): a linear search, and
	// a pass over preds per group rather than a slice of members each.
	var first [16]uint64
	order := first[:0]
	for _, p := range preds {
		if !slices.Contains(order, p.pred) {
			order = append(order, p.pred)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(order)))
	for _, pred := range order {
		n := 0
		for _, p := range preds {
			if p.pred == pred {
				n++
			}
		}
		b = binary.AppendUvarint(b, pred)
		b = binary.AppendUvarint(b, uint64(n))
		prev, i := uint32(0), 0
		for _, p := range preds {
			if p.pred != pred {
				continue
			}
			if i == 0 {
				b = binary.AppendUvarint(b, uint64(p.slot))
			} else {
				b = binary.AppendUvarint(b, uint64(p.slot-prev))
			}
			prev, i = p.slot, i+1
		}
	}
	return b
}

// preds reads appendPreds's groups back, in slot order; every slot once.
func (d *decoder) preds(slots int) []predEntry {
	ng := d.count(2)
	var out []predEntry
	for g := 0; g < ng && d.err == nil; g++ {
		pred := d.uvarint()
		n := d.count(1)
		s := uint64(0)
		for i := 0; i < n && d.err == nil; i++ {
			v := d.uvarint()
			if i > 0 && v == 0 {
				d.fail("slots of a predecessor group out of order")
			}
			s += v
			if s >= uint64(slots) {
				d.fail(fmt.Sprintf("source group %d of %d", s, slots))
				break
			}
			out = append(out, predEntry{slot: uint32(s), pred: pred})
		}
	}
	slices.SortFunc(out, func(a, b predEntry) int { return int(a.slot) - int(b.slot) })
	for i := 1; i < len(out); i++ {
		if out[i].slot == out[i-1].slot {
			d.fail(fmt.Sprintf("source group %d twice", out[i].slot))
			break
		}
	}
	return out
}

// encodePreds encodes preds for encodedPredOf: (slot, pred)… in slot
// order, a compact copy a path reader keeps.
func encodePreds(preds []predEntry) []byte {
	b := make([]byte, 0, 4*len(preds))
	for _, p := range preds {
		b = binary.AppendUvarint(b, uint64(p.slot))
		b = binary.AppendUvarint(b, p.pred)
	}
	return b
}

// encodedPredOf returns slot's entry of encodePreds's bytes (which came
// from a checked record).
func encodedPredOf(b []byte, slot uint32) (uint64, bool) {
	for len(b) > 0 {
		s, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		p, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		if uint32(s) == slot {
			return p, true
		}
	}
	return 0, false
}

// accEntry is one slot's exposure of one address.
type accEntry struct {
	slot    uint32
	hops    int32
	amount  int64
	best    int64          // largest single contribution
	bestOut store.OutPoint // the output that paid it (its path is the example)
}

// add counts one contribution (outputs arrive in chain order, so on equal
// amounts the earlier output stays the example).
func addContribution(acc []accEntry, slot uint32, amount int64, hops int32, op store.OutPoint) []accEntry {
	i, found := slices.BinarySearchFunc(acc, slot, func(e accEntry, s uint32) int { return int(e.slot) - int(s) })
	if !found {
		return slices.Insert(acc, i, accEntry{slot: slot, hops: hops, amount: amount, best: amount, bestOut: op})
	}
	e := &acc[i]
	e.amount += amount
	e.hops = min(e.hops, hops)
	if amount > e.best {
		e.best, e.bestOut = amount, op
	}
	return acc
}

// addContributions counts the contributions of one output, in slot order
// (one each), as addContribution one by one would. A grown array comes
// from slab (nil: the heap).
func addContributions(acc []accEntry, out store.OutPoint, cs []contribution, slab *entrySlab) []accEntry {
	missing, i := 0, 0
	for _, c := range cs {
		for i < len(acc) && acc[i].slot < c.slot {
			i++
		}
		if i == len(acc) || acc[i].slot != c.slot {
			missing++
			continue
		}
		e := &acc[i]
		e.amount += c.amount
		e.hops = min(e.hops, c.hops)
		if c.amount > e.best {
			e.best, e.bestOut = c.amount, out
		}
	}
	if missing == 0 {
		return acc
	}
	// An address paid again is likely to be paid more: room for half as
	// many entries again, so each new slot does not copy them all.
	n := len(acc) + missing
	if len(acc) > 0 {
		n += n / 2
	}
	merged := slab.alloc(n)
	i = 0
	for _, c := range cs {
		for i < len(acc) && acc[i].slot < c.slot {
			merged = append(merged, acc[i])
			i++
		}
		if i < len(acc) && acc[i].slot == c.slot {
			continue // counted above
		}
		merged = append(merged, accEntry{slot: c.slot, hops: c.hops, amount: c.amount, best: c.amount, bestOut: out})
	}
	return append(merged, acc[i:]...)
}

// entrySlab hands out accumulator arrays from large chunks backed by 2 MB
// pages, all taken back at once by reset: a build's accumulators are
// read at random over hundreds of megabytes (each update, each spill),
// and emptied together at each spill. An array replaced by a larger one
// stays in its chunk until reset (used counts both).
type entrySlab struct {
	chunks [][]accEntry
	next   int        // chunks[next:] are free
	cur    []accEntry // the current chunk's entries handed out
	used   int        // entries handed out since reset
}

// slabChunk is a chunk's entries: 40 MiB, whole 2 MB pages.
const slabChunk = 1 << 20

// alloc returns an empty array of capacity n (exactly n, so appends to it
// never reach the next one). A nil slab allocates from the heap.
func (s *entrySlab) alloc(n int) []accEntry {
	if s == nil || n > slabChunk/4 {
		return make([]accEntry, 0, n)
	}
	if len(s.cur)+n > cap(s.cur) {
		if s.next == len(s.chunks) {
			s.chunks = append(s.chunks, hugemem.Slice[accEntry](slabChunk)[:0])
		}
		s.cur = s.chunks[s.next][:0]
		s.next++
	}
	at := len(s.cur)
	s.cur = s.cur[:at+n]
	s.used += n
	return s.cur[at : at : at+n]
}

// reset takes every array back; none of them may be used after it.
func (s *entrySlab) reset() { s.next, s.cur, s.used = 0, nil, 0 }

// addAccs merges b into a: two addresses of one record key (a P2PK
// output and its P2PKH address), each in chain order; on equal largest
// contributions the earlier output stays the example.
func addAccs(a, b []accEntry) []accEntry {
	if a == nil {
		return b
	}
	return mergeAccs(nil, a, b)
}

// mergeAccs appends to dst the accumulators of a and b (each in slot
// order) added slot by slot, as addAccs.
func mergeAccs(dst, a, b []accEntry) []accEntry {
	dst = slices.Grow(dst, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch x, e := a[i], b[j]; {
		case x.slot < e.slot:
			dst = append(dst, x)
			i++
		case e.slot < x.slot:
			dst = append(dst, e)
			j++
		default:
			x.amount += e.amount
			x.hops = min(x.hops, e.hops)
			if e.best > x.best || e.best == x.best && outBefore(e.bestOut, x.bestOut) {
				x.best, x.bestOut = e.best, e.bestOut
			}
			dst = append(dst, x)
			i, j = i+1, j+1
		}
	}
	dst = append(dst, a[i:]...)
	return append(dst, b[j:]...)
}

func outBefore(a, b store.OutPoint) bool { return a.Tx < b.Tx || a.Tx == b.Tx && a.Vout < b.Vout }

// encodeAcc appends the stored accumulators of one address to b.
//
// An entry is its slot's distance from the previous one, the amount and a
// tag: the hops, shifted past two flags. accLess says the amount less the
// largest contribution follows (else it is 0: one contribution, or all
// of them equal); accOut says the output of that contribution follows,
// tx and vout (else it is the previous entry's: an address's groups mostly
// reach it through the same few outputs). Most entries are three numbers,
// about 4 bytes instead of 6 in format 3.
func encodeAcc(acc []accEntry, b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(acc)))
	for i := range acc {
		e := &acc[i]
		slot, tag := e.slot, uint64(e.hops)<<accTagShift
		if i > 0 {
			slot -= acc[i-1].slot // in 32 bits: out of order reads as out of range
		}
		less := e.amount - e.best
		if less != 0 {
			tag |= accLess
		}
		own := i == 0 || e.bestOut != acc[i-1].bestOut
		if own {
			tag |= accOut
		}
		b = binary.AppendUvarint(b, uint64(slot))
		b = binary.AppendUvarint(b, uint64(e.amount))
		b = binary.AppendUvarint(b, tag)
		if less != 0 {
			b = binary.AppendUvarint(b, uint64(less))
		}
		if own {
			b = binary.AppendUvarint(b, uint64(e.bestOut.Tx))
			b = binary.AppendUvarint(b, uint64(e.bestOut.Vout))
		}
	}
	return b
}

// The flags of an accumulator entry's tag (encodeAcc), below its hops.
const (
	accOut       = 1 << iota // the largest contribution's output follows
	accLess                  // the amount less the largest contribution follows
	accTagShift  = iota
	accTagFlags  = 1<<accTagShift - 1
	maxAccTagHop = math.MaxInt32
)

func decodeAcc(b []byte, slots int) ([]accEntry, error) {
	return decodeAccAppend(nil, b, slots)
}

// decodeAccAppend decodes accumulators and appends them to acc.
func decodeAccAppend(acc []accEntry, b []byte, slots int) ([]accEntry, error) {
	d := decoder{b: b, what: "accumulator"}
	n := d.count(3)
	acc = slices.Grow(acc, n)
	base := len(acc)
	for i := 0; i < n && d.err == nil; i++ {
		slot := d.uvarint()
		if i > 0 {
			if slot == 0 {
				d.fail("slots out of order")
			}
			if slot >= uint64(slots) { // before the add: a delta near 2^64 wraps below the previous slot
				d.fail(fmt.Sprintf("source group step %d of %d", slot, slots))
			}
			slot += uint64(acc[base+i-1].slot)
		}
		if slot >= uint64(slots) && d.err == nil {
			d.fail(fmt.Sprintf("source group %d of %d", slot, slots))
		}
		e := accEntry{slot: uint32(slot), amount: d.int64()}
		tag := d.uvarint()
		if tag>>accTagShift > maxAccTagHop {
			d.fail(fmt.Sprintf("hops %d out of range", tag>>accTagShift))
		}
		e.hops = int32(tag >> accTagShift)
		e.best = e.amount
		if tag&accLess != 0 {
			less := d.int64()
			if less == 0 || less > e.amount {
				d.fail(fmt.Sprintf("largest contribution %d below a total of %d", e.amount-less, e.amount))
			}
			e.best = e.amount - less
		}
		switch {
		case tag&accOut != 0:
			e.bestOut = store.OutPoint{Tx: store.TxNum(d.uvarint()), Vout: d.uint32(math.MaxUint32)}
		case i == 0:
			d.fail("first entry refers to a previous output")
		default:
			e.bestOut = acc[base+i-1].bestOut
		}
		acc = append(acc, e)
	}
	return acc, d.end()
}

// undoRecord is what undoing one applied block needs: the index keeps it
// itself, so the store's data of a block it no longer has is not needed.
type undoRecord struct {
	hash, prev [32]byte
	first, end store.TxNum
	addrs      []string
	old        [][]byte // accumulator before the block; nil: none
	spent      []spentOut
}

// spentOut is a followed output of an earlier block that a block spent.
type spentOut struct {
	tx  store.TxNum
	out outShares
}

func (u *undoRecord) encode() []byte {
	b := binary.AppendUvarint(nil, 2)
	b = append(b, u.hash[:]...)
	b = append(b, u.prev[:]...)
	b = binary.AppendUvarint(b, uint64(u.first))
	b = binary.AppendUvarint(b, uint64(u.end))
	b = binary.AppendUvarint(b, uint64(len(u.addrs)))
	for i, a := range u.addrs {
		b = binary.AppendUvarint(b, uint64(len(a)))
		b = append(b, a...)
		if u.old[i] == nil {
			b = binary.AppendUvarint(b, 0)
			continue
		}
		b = binary.AppendUvarint(b, 1)
		b = binary.AppendUvarint(b, uint64(len(u.old[i])))
		b = append(b, u.old[i]...)
	}
	b = binary.AppendUvarint(b, uint64(len(u.spent)))
	for i := range u.spent {
		b = binary.AppendUvarint(b, uint64(u.spent[i].tx))
		b = binary.AppendUvarint(b, uint64(u.spent[i].out.vout))
		b = encodeOut(b, &u.spent[i].out)
	}
	return b
}

func decodeUndo(b []byte) (undoRecord, error) {
	d := decoder{b: b, what: "undo record"}
	var u undoRecord
	version := d.uvarint()
	if version != 1 && version != 2 && d.err == nil {
		d.fail(fmt.Sprintf("version %d", version))
	}
	copy(u.hash[:], d.bytes(32))
	copy(u.prev[:], d.bytes(32))
	u.first, u.end = store.TxNum(d.uvarint()), store.TxNum(d.uvarint())
	if u.end < u.first {
		d.fail("transaction range reversed")
	}
	n := d.count(2)
	for i := 0; i < n && d.err == nil; i++ {
		a := string(d.bytes(d.count(1)))
		var old []byte
		switch d.uvarint() {
		case 0:
		case 1:
			old = append([]byte{}, d.bytes(d.count(1))...)
		default:
			d.fail("bad presence flag")
		}
		u.addrs, u.old = append(u.addrs, a), append(u.old, old)
	}
	if version == 2 {
		n := d.count(4)
		for i := 0; i < n && d.err == nil; i++ {
			sp := spentOut{tx: store.TxNum(d.uvarint())}
			sp.out.vout, sp.out.value = d.uint32(math.MaxUint32), d.int64()
			d.shares(math.MaxUint32, &sp.out)
			if sp.tx >= u.first {
				d.fail("spent output of the block itself")
			}
			u.spent = append(u.spent, sp)
		}
	}
	return u, d.end()
}
