package store

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
	"unsafe"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/ristretto/v2/z"
)

// Bulk loading.
//
// An empty store's first large ingest does not go through Badger's
// memtable: inserting millions of random keys into its skiplist is the
// ingest's bottleneck (a third of its CPU time, measured). A bulk batch
// instead buffers every write, sorts it in memory in runs of bulkRunBytes,
// spills each run to a temporary file in the store directory, and at the
// end merges the runs into Badger's StreamWriter, which builds the tables
// directly — the store's write ceiling in ../shared/PERFORMANCE.md.
//
// Nothing of a bulk load is visible until it ends: the state key is written
// after the stream, so a run killed during the load reopens as an empty
// store and loads again from the start (the stream begins by dropping
// whatever a killed load left).

// bulkRunBytes is the size of one sorted run in memory.
const bulkRunBytes = 128 << 20

type bulkWriter struct {
	runBytes int // bulkRunBytes; tests make it small
	s        *Store
	dir      string
	runs     []string
	buf      entryBuf // the run filling
	size     int
	// A full run is sorted and written by a goroutine while the next one
	// fills (the sort then runs on the other core); at most one at a time.
	spilling chan error
	// The run being written; once written its entries and arenas are
	// reused by the next run (growing new ones cost a tenth of the writer
	// goroutine's time in growslice and page faults).
	spilled   *entryBuf
	spareEnts []bufEntry
	scratch   []bufEntry // for sorting; used by one spill at a time
	entries   int64      // writes buffered in all runs
	progress  func(done, total int64)
}

func (s *Store) newBulkWriter() (*bulkWriter, error) {
	dir := filepath.Join(s.dir, "bulk-runs")
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("store: bulk load: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: bulk load: %w", err)
	}
	return &bulkWriter{s: s, dir: dir, runBytes: bulkRunBytes}, nil
}

func (w *bulkWriter) set(k, v []byte) error {
	w.buf.add(k, v)
	w.entries++
	w.size += len(k) + len(v) + int(unsafe.Sizeof(bufEntry{}))
	if w.size >= w.runBytes {
		return w.spill()
	}
	return nil
}

// spill hands the in-memory run to a goroutine that sorts it and writes
// it to a file, after the previous spill has finished.
func (w *bulkWriter) spill() error {
	if err := w.wait(); err != nil {
		return err
	}
	if err := w.s.CheckSpace(int64(w.size)); err != nil {
		return err
	}
	run := &entryBuf{arenas: w.buf.arenas, ents: w.buf.ents}
	name := filepath.Join(w.dir, fmt.Sprintf("run%05d", len(w.runs)))
	w.runs = append(w.runs, name)
	w.spilled = run
	w.buf = entryBuf{ents: w.spareEnts, spare: w.buf.spare}
	w.spareEnts, w.size = nil, 0
	w.spilling = make(chan error, 1)
	go func() { w.spilling <- run.writeRun(name, &w.scratch) }()
	return nil
}

// wait waits for the spill in progress, if any.
func (w *bulkWriter) wait() error {
	if w.spilling == nil {
		return nil
	}
	err := w.s.asNoSpace(<-w.spilling)
	w.spilling = nil
	w.spareEnts = w.spilled.ents[:0]
	for _, a := range w.spilled.arenas {
		if cap(a) == arenaSize {
			w.buf.spare = append(w.buf.spare, a)
		}
	}
	w.spilled = nil
	return err
}

// writeRun sorts e's entries and writes them to a file.
func (e *entryBuf) writeRun(name string, scratch *[]bufEntry) error {
	e.sort(scratch)
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("store: bulk load: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	var hdr [binary.MaxVarintLen64 * 2]byte
	for i := range e.ents {
		x := &e.ents[i]
		n := binary.PutUvarint(hdr[:], uint64(x.klen))
		n += binary.PutUvarint(hdr[n:], uint64(x.vlen))
		bw.Write(hdr[:n])
		bw.Write(e.key(x))
		bw.Write(e.value(x))
	}
	if err := bw.Flush(); err != nil {
		return errors.Join(fmt.Errorf("store: bulk load: %w", err), f.Close())
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store: bulk load: %w", err)
	}
	return nil
}

// runReader iterates one sorted run: a spilled file or the in-memory one.
// k and v are valid until the next call of next.
type runReader struct {
	idx  int // run order: later runs win on equal keys
	r    *bufio.Reader
	f    *os.File
	mem  *entryBuf // the in-memory run
	i    int       // its next entry
	buf  []byte
	k, v []byte
	err  error
}

func (r *runReader) next() bool {
	if r.mem != nil {
		if r.i == len(r.mem.ents) {
			return false
		}
		x := &r.mem.ents[r.i]
		r.k, r.v = r.mem.key(x), r.mem.value(x)
		r.i++
		return true
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

type runHeap []*runReader

func (h runHeap) Len() int { return len(h) }
func (h runHeap) Less(i, j int) bool {
	if c := bytes.Compare(h[i].k, h[j].k); c != 0 {
		return c < 0
	}
	return h[i].idx < h[j].idx
}
func (h runHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)   { *h = append(*h, x.(*runReader)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// appendStreamKV adds k and v at version 1 to a StreamWriter buffer. It is
// badger.KVToBuffer(&pb.KV{Key: k, Value: v, Version: 1}, buf) without the
// generic protobuf marshalling, which took a tenth of a bulk load's CPU
// time: the protobuf wire form of fields 1 (key), 2 (value, omitted when
// empty) and 4 (version).
func appendStreamKV(buf *z.Buffer, k, v []byte) {
	n := 1 + uvarintLen(len(k)) + len(k) + 2
	if len(v) > 0 {
		n += 1 + uvarintLen(len(v)) + len(v)
	}
	b := buf.SliceAllocate(n)[:0:n]
	b = append(b, 1<<3|2)
	b = binary.AppendUvarint(b, uint64(len(k)))
	b = append(b, k...)
	if len(v) > 0 {
		b = append(b, 2<<3|2)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	_ = append(b, 4<<3, 1) // field 4 (version), varint: 1
}

func uvarintLen(n int) int {
	l := 1
	for ; n >= 0x80; n >>= 7 {
		l++
	}
	return l
}

// finish merges the runs into a StreamWriter, then writes the schema and
// state keys in an ordinary transaction, which makes the load visible.
func (w *bulkWriter) finish(st State) error {
	defer func() {
		// The runs are spent either way; a folder left behind only costs
		// disk space, which the user is told about.
		if err := os.RemoveAll(w.dir); err != nil {
			w.s.log.Warn("store: could not remove the bulk-load runs", "dir", w.dir, "err", err)
		}
	}()
	if err := w.wait(); err != nil {
		return err
	}
	// The tables take at most what the runs take (they are compressed).
	need := int64(w.size)
	for _, name := range w.runs {
		if fi, err := os.Stat(name); err == nil {
			need += fi.Size()
		}
	}
	if err := w.s.CheckSpace(need); err != nil {
		return err
	}
	w.buf.sort(&w.scratch)
	var readers []*runReader
	for i, name := range w.runs {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("store: bulk load: %w", err)
		}
		defer f.Close() //nolint:errcheck // a run opened read-only: Close cannot lose data
		readers = append(readers, &runReader{idx: i, f: f, r: bufio.NewReaderSize(f, 1<<20)})
	}
	readers = append(readers, &runReader{idx: len(w.runs), mem: &w.buf})
	h := runHeap{}
	for _, r := range readers {
		if r.next() {
			h = append(h, r)
		} else if r.err != nil {
			return fmt.Errorf("store: bulk load: read run: %w", r.err)
		}
	}
	heap.Init(&h)

	sw := w.s.db.NewStreamWriter()
	if err := sw.Prepare(); err != nil {
		return fmt.Errorf("store: bulk load: %w", err)
	}
	// One goroutine hands full buffers to the StreamWriter (which decodes
	// every entry again) while this one merges the next.
	bufs := make(chan *z.Buffer, 2)
	written := make(chan error, 1)
	go func() {
		var err error
		for b := range bufs {
			if err == nil {
				err = sw.Write(b)
			}
			b.Release() //nolint:errcheck // a calloc-backed buffer (z.NewBuffer): only mmap-backed ones can fail to release
		}
		written <- err
	}()
	buf := z.NewBuffer(8<<20, "tracer.bulk")
	report := func(done int64) {
		if w.progress != nil {
			w.progress(done, w.entries)
		}
	}
	report(0)
	merge := func() error {
		// The key in hand is copied: the reader it came from reuses its
		// buffer. Equal keys: the later run's value wins; emit once.
		var pk, pv []byte
		have := false
		var done int64
		last := time.Now()
		for h.Len() > 0 {
			r := h[0]
			if done++; done%(1<<16) == 0 && time.Since(last) >= time.Second {
				last = time.Now()
				report(done)
			}
			if have && !bytes.Equal(pk, r.k) {
				appendStreamKV(buf, pk, pv)
				if buf.LenNoPadding() >= 4<<20 {
					bufs <- buf
					buf = z.NewBuffer(8<<20, "tracer.bulk")
				}
			}
			pk, pv, have = append(pk[:0], r.k...), append(pv[:0], r.v...), true
			if r.next() {
				heap.Fix(&h, 0)
			} else {
				if r.err != nil {
					return fmt.Errorf("read run: %w", r.err)
				}
				heap.Pop(&h)
			}
		}
		if have {
			appendStreamKV(buf, pk, pv)
		}
		return nil
	}
	err := merge()
	bufs <- buf
	close(bufs)
	if werr := <-written; err == nil {
		err = werr
	}
	if err != nil {
		sw.Cancel()
		return fmt.Errorf("store: bulk load: %w", w.s.asNoSpace(err))
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("store: bulk load: %w", w.s.asNoSpace(err))
	}
	report(w.entries)
	return w.s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(keySchema, binary.BigEndian.AppendUint32(nil, SchemaVersion)); err != nil {
			return err
		}
		return txn.Set(keyState, mustJSON(&st))
	})
}

// CanBulkLoad reports whether a bulk load may start: the chain is empty and
// the store holds nothing but chain keys (which a killed bulk load may
// have left, and the load drops). Sanctions lists, tag packs, watches or
// alerts loaded before the first ingest would be dropped with them, so
// then the ingest goes through ordinary batches.
func (s *Store) CanBulkLoad() (bool, error) {
	if s.ro || !s.state.Empty() {
		return false, nil
	}
	ok := true
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: false})
		defer it.Close()
		for it.Rewind(); it.Valid(); {
			k := it.Item().Key()
			switch {
			case chainFamily(k[0]):
				it.Seek([]byte{k[0] + 1})
			case bytes.Equal(k, keySchema) || bytes.Equal(k, keyState):
				it.Next()
			default:
				ok = false
				return nil
			}
		}
		return nil
	})
	return ok, err
}
