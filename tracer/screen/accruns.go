package screen

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store/directio"
	"github.com/tracer-oss/tracer/store/scratch"
)

// accRuns holds a build's per-address accumulators beyond its memory
// budget: each spill is written as a run sorted by address to a temporary
// file, and finish merges the runs in one pass (a k-way merge, as an
// external sort does) into the index. Reading earlier spills back from the
// store instead costs a point read per address per spill, which grows with
// the square of the chain.
//
// Runs are merged in the order they were written, which is chain order, so
// a merged accumulator keeps the choices chain order makes (addAccs: on
// equal largest contributions the earlier output stays the example).
//
// The runs a merge reads at once are bounded, so its buffers are too,
// however long the chain: when fanIn runs of one level are the newest,
// they are merged into one run of the next level (a tiered merge; the
// runs stay in chain order, each level's before the newer levels').
//
// The final merge runs in parts at once, split at keys from the runs'
// samples (the key of a record every sampleEvery bytes of each run, and
// its offset, so a part starts reading each run near its keys).
type accRuns struct {
	slots       int
	sampleEvery int64                            // bytes; 0: 1 MiB
	fanIn       int                              // runs merged into one; 0: defaultFanIn
	progress    func(format string, args ...any) // nil: none
	scratch     *scratch.Dir                     // the runs' directory; nil until the first spill
	runs        []run                            // in chain order
	made        int                              // run files made, for the next one's name
}

// dir is the runs' directory ("": none yet).
func (r *accRuns) dir() string {
	if r.scratch == nil {
		return ""
	}
	return r.scratch.Path
}

// run is one sorted run on disk.
type run struct {
	name    string
	samples []runSample
	size    int64 // its length as written
	level   int   // 0: a spill; n: fanIn runs of level n-1 merged
}

// defaultFanIn: no merge of runs before the last at 10 M transactions
// (some 90 spills); at the whole chain (~10,000) some 80 of level 1.
const defaultFanIn = 128

// runSample is a record of a run: its key and its offset in the run.
type runSample struct {
	key string
	off int64
}

// keyed is one address's accumulators under its record key. head is the
// key's first 8 bytes, big-endian, so sorting compares numbers held in
// the slice and reads the strings themselves (scattered over the heap)
// only on a tie.
type keyed struct {
	head uint64
	key  string
	acc  []accEntry
}

func keyHead(k string) uint64 {
	var b [8]byte
	copy(b[:], k)
	return binary.BigEndian.Uint64(b[:])
}

func compareKeyed(a, b keyed) int {
	if a.head != b.head {
		if a.head < b.head {
			return -1
		}
		return 1
	}
	return strings.Compare(a.key, b.key)
}

// sorted turns accs into record keys in key order, merging the addresses
// that share a key (a P2PK output and its P2PKH address); it empties accs.
func (r *accRuns) sorted(accs map[address.Addr][]accEntry) []keyed {
	out := make([]keyed, 0, len(accs))
	for a, acc := range accs {
		if k := recordKey(a); k != "" {
			out = append(out, keyed{keyHead(k), k, acc})
		}
	}
	clear(accs) // not a delete each: that leaves tombstones the next spill's lookups probe past
	// Addresses of one key merge in either order: addAccs breaks ties by
	// output, not by arrival.
	slices.SortFunc(out, compareKeyed)
	merged := out[:0]
	for _, k := range out {
		if n := len(merged); n > 0 && merged[n-1].key == k.key {
			merged[n-1].acc = addAccs(merged[n-1].acc, k.acc)
			continue
		}
		merged = append(merged, k)
	}
	return merged
}

// runCRC is the checksum of a run's records: CRC-32C, which the CPU
// computes (SSE 4.2, ARMv8).
var runCRC = crc32.MakeTable(crc32.Castagnoli)

// spill writes accs as a new run and empties it, then merges the newest
// runs of a level into one when there are fanIn of them.
func (r *accRuns) spill(ctx context.Context, accs map[address.Addr][]accEntry) error {
	rw, err := r.create()
	if err != nil {
		return err
	}
	var v []byte
	for _, k := range r.sorted(accs) {
		v = encodeAcc(k.acc, v[:0])
		if err := rw.add(k.key, v); err != nil {
			rw.abort()
			return err
		}
	}
	run, err := rw.finish(0)
	if err != nil {
		return err
	}
	r.runs = append(r.runs, run)
	return r.compact(ctx)
}

// compact merges the newest fanIn runs into one while they are of one
// level.
func (r *accRuns) compact(ctx context.Context) error {
	fan := r.fanIn
	if fan <= 0 {
		fan = defaultFanIn
	}
	fan = max(fan, 2)
	for n := len(r.runs); n >= fan && r.runs[n-fan].level == r.runs[n-1].level; n = len(r.runs) {
		rw, err := r.create()
		if err != nil {
			return err
		}
		tail := r.runs[n-fan:]
		if _, err := merge(ctx, r.slots, tail, "", "", nil, runBuffer, rw.add); err != nil {
			rw.abort()
			return err
		}
		run, err := rw.finish(tail[0].level + 1)
		if err != nil {
			return err
		}
		for _, t := range tail {
			_ = os.Remove(t.name) // merged; the directory goes at the end anyway
		}
		r.runs = append(r.runs[:n-fan], run)
		if r.progress != nil {
			r.progress("index: merged %d sorted runs into one of level %d (%d runs now)", fan, run.level, len(r.runs))
		}
	}
	return nil
}

// runWriter writes one run: records (uvarint key length, key, uvarint
// value length, value, CRC-32C of them all) in key order, sampling a key
// and its offset every sampleEvery bytes.
type runWriter struct {
	w       *directio.Writer
	name    string
	every   int64
	next    int64
	samples []runSample
	b       []byte
}

// create starts a new run file.
func (r *accRuns) create() (*runWriter, error) {
	if r.scratch == nil {
		// Held while the build runs: a killed build's runs are removed
		// by the next build's first spill.
		d, err := scratch.Make("", "tracer-exposure-")
		if err != nil {
			return nil, fmt.Errorf("screen: exposure build: %w", err)
		}
		r.scratch = d
	}
	name := filepath.Join(r.dir(), fmt.Sprintf("run-%05d", r.made))
	r.made++
	// Past the page cache: a run is read once, at a merge, and a build
	// writes gigabytes of them.
	w, err := directio.Create(name, 0)
	if err != nil {
		return nil, fmt.Errorf("screen: exposure build: %w", err)
	}
	every := r.sampleEvery
	if every <= 0 {
		every = 1 << 20
	}
	return &runWriter{w: w, name: name, every: every}, nil
}

// add appends a record (a merge's put).
func (rw *runWriter) add(key string, v []byte) error {
	if off := rw.w.Size(); off >= rw.next {
		rw.samples = append(rw.samples, runSample{key, off})
		rw.next = off + rw.every
	}
	b := binary.AppendUvarint(rw.b[:0], uint64(len(key)))
	b = append(b, key...)
	b = binary.AppendUvarint(b, uint64(len(v)))
	b = append(b, v...)
	// A record whose address only one run has is written to the index as
	// it was spilled, not decoded: a checksum finds damage.
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, runCRC))
	rw.b = b
	if _, err := rw.w.Write(b); err != nil {
		return fmt.Errorf("screen: exposure build: %w", err)
	}
	return nil
}

// finish closes the run and returns it.
func (rw *runWriter) finish(level int) (run, error) {
	size := rw.w.Size()
	if err := rw.w.Close(); err != nil {
		return run{}, fmt.Errorf("screen: exposure build: %w", err)
	}
	return run{name: rw.name, samples: rw.samples, size: size, level: level}, nil
}

// abort drops an unfinished run.
func (rw *runWriter) abort() {
	_ = rw.w.Close() // dropped next
	_ = os.Remove(rw.name)
}

// finish writes every address's accumulators, the runs' merged with accs
// (the last, still in memory), in key order, and returns how many
// addresses it wrote. It removes the runs. The key space is cut into a
// part for each of puts, each merged and written by a goroutine of its
// own at once (a part's keys all sort after the part before's), at
// quantiles of the runs' sample keys; parts past the samples' distinct
// keys get nothing.
func (r *accRuns) finish(ctx context.Context, accs map[address.Addr][]accEntry, puts ...func(key string, v []byte) error) (int, error) {
	defer r.remove()
	last := r.sorted(accs)
	splits := r.splitKeys(len(puts))
	bounds := append(append([]string{""}, splits...), "")
	// Two buffers a run a part, within finishBuffers in all.
	buf := min(max(finishBuffers/max(2*len(r.runs)*(len(splits)+1), 1), 64<<10), runBuffer)
	var written atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	from := 0 // of last: the first key of part i on
	for i, put := range puts[:len(splits)+1] {
		lo, hi := bounds[i], bounds[i+1]
		to := len(last)
		if hi != "" {
			to, _ = slices.BinarySearchFunc(last, hi, func(k keyed, s string) int { return strings.Compare(k.key, s) })
		}
		mem := last[from:to]
		from = to
		g.Go(func() error {
			n, err := merge(gctx, r.slots, r.runs, lo, hi, mem, buf, put)
			written.Add(int64(n))
			return err
		})
	}
	err := g.Wait()
	return int(written.Load()), err
}

// splitKeys are the keys that cut the runs' samples into about n parts of
// equal size, increasing (fewer when the samples have fewer distinct
// keys).
func (r *accRuns) splitKeys(n int) []string {
	var keys []string
	for _, run := range r.runs {
		for _, s := range run.samples {
			keys = append(keys, s.key)
		}
	}
	slices.Sort(keys)
	var splits []string
	for i := 1; i < n && len(keys) >= 2; i++ {
		k := keys[i*len(keys)/n]
		if k > "" && (len(splits) == 0 || k > splits[len(splits)-1]) {
			splits = append(splits, k)
		}
	}
	return splits
}

// merge writes the accumulators of runs and mem (the part of the last
// run, in memory, in the range), all in chain order, for the keys from lo
// up to hi ("": from the first, to the last) through put, reading each run
// in buffers of buf bytes. put's v is valid only during the call (the
// index's writer and a run's copy it).
func merge(ctx context.Context, slots int, runs []run, lo, hi string, mem []keyed, buf int, put func(key string, v []byte) error) (int, error) {
	var scratch []byte
	encode := func(acc []accEntry) []byte {
		scratch = encodeAcc(acc, scratch[:0])
		return scratch
	}
	if len(runs) == 0 {
		for _, k := range mem {
			if err := put(k.key, encode(k.acc)); err != nil {
				return 0, err
			}
		}
		return len(mem), nil
	}
	h := &runHeap{}
	for i, run := range runs {
		// From the last sample at or before lo: the records before it
		// are all below lo.
		var off int64
		for _, s := range run.samples {
			if lo == "" || s.key > lo {
				break
			}
			off = s.off
		}
		rd, err := directio.OpenAt(run.name, buf, 1, off)
		if err != nil {
			return 0, fmt.Errorf("screen: exposure build: %w", err)
		}
		defer rd.Close() //nolint:errcheck // read only: nothing to lose on close
		c := &runCursor{order: i, rd: rd, name: run.name, slots: slots, hi: hi, pos: off, size: run.size}
		for {
			if err := c.next(); err != nil {
				return 0, err
			}
			if c.done || c.key >= lo {
				break
			}
		}
		if !c.done {
			h.push(c)
		}
	}
	mc := &runCursor{order: len(runs), mem: mem, slots: slots}
	if err := mc.next(); err != nil {
		return 0, err
	}
	if !mc.done {
		h.push(mc)
	}
	n := 0
	var acc, more, merged []accEntry // reused: several runs' accumulators of one address
	var err error
	for h.Len() > 0 {
		if n&4095 == 4095 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
		c := (*h)[0]
		key, v, mine := c.key, c.val, c.acc
		if err := h.advance(c); err != nil {
			return n, err
		}
		if h.Len() == 0 || (*h)[0].key != key {
			// Only this run has the address (most do): its accumulators
			// as they were spilled, as merging them with nothing would
			// encode them.
			if v == nil {
				v = encode(mine)
			}
			if err := put(key, v); err != nil {
				return n, err
			}
			n++
			continue
		}
		// Several runs have it: merged in run (chain) order.
		if acc, err = c.decode(acc[:0], v, mine); err != nil {
			return n, err
		}
		for h.Len() > 0 && (*h)[0].key == key {
			c := (*h)[0]
			if more, err = c.decode(more[:0], c.val, c.acc); err != nil {
				return n, err
			}
			merged = mergeAccs(merged[:0], acc, more)
			acc, merged = merged, acc
			if err := h.advance(c); err != nil {
				return n, err
			}
		}
		if err := put(key, encode(acc)); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// runBuffer is the size of the buffers a run is read in (two a run: one
// read ahead), at most; the final merge, reading every run in each of its
// parts, shares finishBuffers among them (at least 64 KiB a buffer).
const (
	runBuffer     = 512 << 10
	finishBuffers = 512 << 20
)

// remove deletes the runs.
func (r *accRuns) remove() {
	if r.scratch != nil {
		r.scratch.Remove()
		r.scratch, r.runs = nil, nil
	}
}

// runCursor reads one run (a file, or the sorted accumulators still in
// memory) in key order.
type runCursor struct {
	order int // the run's place in chain order
	rd    *directio.Reader
	name  string
	mem   []keyed
	slots int
	hi    string // a file's records from hi on are another merge's ("": none)
	key   string
	val   []byte     // a file's: the address's accumulators as spilled
	acc   []accEntry // memory's
	bufs  [2][]byte  // the record read, and the one before (flip: which)
	flip  bool
	done  bool
	// A file's offset of the next record, and its length as written: a
	// run that ends early, between two records, is an error, not a
	// shorter run.
	pos, size int64
}

// next moves to the run's next address. A file's accumulators stay
// encoded (c.val, valid until the next call but one: the merge writes an
// address's after moving its cursor on); decode reads them.
func (c *runCursor) next() error {
	if c.rd == nil {
		if len(c.mem) == 0 {
			c.done = true
			return nil
		}
		c.key, c.acc, c.mem = c.mem[0].key, c.mem[0].acc, c.mem[1:]
		return nil
	}
	bad := func(err error) error {
		return fmt.Errorf("screen: exposure build: run %s: %w", c.name, err)
	}
	kl, err := binary.ReadUvarint(c.rd)
	if errors.Is(err, io.EOF) {
		if c.pos != c.size {
			return bad(fmt.Errorf("ends at byte %d of the %d written", c.pos, c.size))
		}
		c.done = true
		return nil
	}
	if err != nil || kl > 1<<10 {
		return bad(fmt.Errorf("bad key length %d: %v", kl, err))
	}
	c.flip = !c.flip
	buf := &c.bufs[0]
	if c.flip {
		buf = &c.bufs[1]
	}
	b := binary.AppendUvarint((*buf)[:0], kl)
	kAt := len(b)
	b = slices.Grow(b, int(kl))[:kAt+int(kl)]
	if _, err := io.ReadFull(c.rd, b[kAt:]); err != nil {
		return bad(err)
	}
	vl, err := binary.ReadUvarint(c.rd)
	if err != nil || vl > 1<<30 {
		return bad(fmt.Errorf("bad value length %d: %v", vl, err))
	}
	b = binary.AppendUvarint(b, vl)
	vAt := len(b)
	b = slices.Grow(b, int(vl)+4)[:vAt+int(vl)+4]
	if _, err := io.ReadFull(c.rd, b[vAt:]); err != nil {
		return bad(err)
	}
	*buf = b
	end := len(b) - 4
	if crc32.Checksum(b[:end], runCRC) != binary.LittleEndian.Uint32(b[end:]) {
		return bad(errors.New("record checksum mismatch"))
	}
	c.key, c.val = string(b[kAt:kAt+int(kl)]), b[vAt:end:end]
	c.pos += int64(len(b))
	if c.hi != "" && c.key >= c.hi {
		c.done = true
	}
	return nil
}

// decode appends the accumulators the cursor read (val, or acc in
// memory) to dst.
func (c *runCursor) decode(dst []accEntry, val []byte, acc []accEntry) ([]accEntry, error) {
	if val == nil {
		return append(dst, acc...), nil
	}
	dst, err := decodeAccAppend(dst, val, c.slots)
	if err != nil {
		return dst, fmt.Errorf("screen: exposure build: run %s: %w", c.name, err)
	}
	return dst, nil
}

// runHeap orders cursors by key, then by run (chain) order: a binary
// heap with the comparison inlined (container/heap's calls through an
// interface were a fifth of the merge).
type runHeap []*runCursor

func (h runHeap) Len() int { return len(h) }

func (h runHeap) less(i, j int) bool {
	if h[i].key != h[j].key {
		return h[i].key < h[j].key
	}
	return h[i].order < h[j].order
}

func (h *runHeap) push(c *runCursor) {
	*h = append(*h, c)
	for i := len(*h) - 1; i > 0; {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			break
		}
		(*h)[i], (*h)[parent] = (*h)[parent], (*h)[i]
		i = parent
	}
}

// down restores the heap below its top.
func (h runHeap) down() {
	for i := 0; ; {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// advance moves c, the heap's top, to its next address.
func (h *runHeap) advance(c *runCursor) error {
	if err := c.next(); err != nil {
		return err
	}
	if c.done {
		last := len(*h) - 1
		(*h)[0] = (*h)[last]
		*h = (*h)[:last]
	}
	h.down()
	return nil
}
