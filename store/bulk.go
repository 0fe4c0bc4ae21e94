package store

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/ristretto/v2/z"
	"golang.org/x/sync/errgroup"
)

// Bulk loading.
//
// An empty store's first large ingest does not go through Badger's
// memtable: inserting millions of random keys into its skiplist is the
// ingest's bottleneck (a third of its CPU time, measured). A bulk load
// writes Badger's tables directly with its StreamWriter, the store's write
// ceiling in ../shared/PERFORMANCE.md, which wants each stream of keys
// sorted and the streams' key ranges disjoint: one stream per key family.
//
//   - The transaction records, whose keys (TxNum) ingest writes in order
//     and which hold most of the bytes, are streamed while the blocks are
//     read, a chunk at a time: each chunk ends at a block boundary and is
//     sorted first (a block's coinbase record is written after its other
//     transactions). Their tables are built and compressed on the other
//     core while this one reads on.
//   - The other families (txid, spent-by, address and hash index: small
//     keys in random order; block records, in order but a few thousand,
//     not worth a table builder of their own during the load) are sorted
//     in memory in runs of bulkRunBytes; each run is spilled to a
//     temporary file in the store directory, its families one after the
//     other. At the end every family's runs are merged into its own
//     stream, one family at a time (mergeStreams), by a tournament tree.
//
// Memory is bounded whatever the chain's length: two runs (one filling,
// one being sorted and spilled) and a sort scratch, up to four ordered
// chunks of directChunkBytes, the merge's read buffers (mergeBufBytes in
// all) and the StreamWriter's table builders; the ingester's input cache
// besides. Badger's builders are the largest part (each holds a whole
// table, 64 MB compressed, with its uncompressed blocks: 400 to 900 MB
// for the transaction records), so the buffers here are kept small and
// released before the merge: with the Go heap at its limit (cmd/tracer
// sets 1.5 GiB) the GC ran back to back and took a quarter of a
// 3 M-transaction load's CPU time. Measured peak anonymous memory: about
// 1.1 GiB at 1 M transactions, 1.4 GiB at 10 M.
//
// Nothing of a bulk load is visible until it ends: the state key is written
// after the streams, so a run killed during the load reopens as an empty
// store (perhaps holding some tables of the ordered families) and loads
// again from the start (the StreamWriter begins by dropping everything).

// bulkRunBytes is the size of one sorted run in memory.
const bulkRunBytes = 64 << 20

// directChunkBytes is the size at which a chunk of ordered families is
// handed to the StreamWriter (at the next block boundary).
const directChunkBytes = 16 << 20

// mergeStreams is how many families the final merge writes at a time.
// One: a family's merge keeps a core busy with Badger's parsing of the
// stream (StreamWriter.Write), and its table builder and compression use
// most of the other; a second family at a time added a table builder
// (over 300 MB) and a GC running back to back, not speed (measured on a
// 10 M-transaction load: merge 30 s wall either way, 11 CPU-s less).
const mergeStreams = 1

// mergeBufBytes is the read buffer of the final merge, shared by all runs.
const mergeBufBytes = 64 << 20

// directFamily reports whether the keys of family p are streamed as ingest
// writes them, in key order (see above).
func directFamily(p byte) bool { return p == prefixTx }

type bulkWriter struct {
	runBytes int // bulkRunBytes; tests make it small
	s        *Store
	dir      string
	sw       *badger.StreamWriter
	runs     []runFile
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
	progress  func(phase string, done, total int64)

	// The join of deferred spends (see bulkjoin.go); nil until it starts.
	join      *extSorter
	patches   *extSorter
	hooks     JoinHooks
	joinVal   []byte
	stats     JoinStats
	joinFrom  atomic.Int64 // first TxNum whose record goes to txOut; -1: none
	txFile    *os.File
	txName    string
	txOut     *bufio.Writer // used by the streaming goroutine
	txSpilled int64         // records in txOut

	// The ordered families: the chunk filling, and the goroutine that
	// sorts and streams full chunks (see streamDirect).
	direct      entryBuf
	directBytes int
	directCh    chan *entryBuf // full chunks, to the streaming goroutine
	directFree  chan *entryBuf // chunks streamed, for reuse
	directDone  chan error
	directFams  []byte // families streamed (by the streaming goroutine)
}

// runFile is a spilled run: its families one after the other, each a
// sorted section of the file.
type runFile struct {
	name string
	fams []famSpan
}

type famSpan struct {
	fam      byte
	off, len int64
	n        int64 // entries
}

func (s *Store) newBulkWriter() (*bulkWriter, error) {
	dir := filepath.Join(s.dir, "bulk-runs")
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("store: bulk load: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: bulk load: %w", err)
	}
	sw := s.db.NewStreamWriter()
	if err := sw.Prepare(); err != nil {
		sw.Cancel()
		return nil, fmt.Errorf("store: bulk load: %w", err)
	}
	w := &bulkWriter{s: s, dir: dir, sw: sw, runBytes: bulkRunBytes,
		directCh: make(chan *entryBuf), directFree: make(chan *entryBuf, 2), directDone: make(chan error, 1)}
	w.joinFrom.Store(-1)
	if s.runBytes > 0 {
		w.runBytes = s.runBytes
	}
	go w.streamDirect()
	return w, nil
}

func (w *bulkWriter) set(k, v []byte) error {
	if len(k) > 0 && directFamily(k[0]) {
		w.direct.add(k, v)
		w.directBytes += len(k) + len(v) + int(unsafe.Sizeof(bufEntry{}))
		return nil
	}
	w.buf.add(k, v)
	w.entries++
	w.size += len(k) + len(v) + int(unsafe.Sizeof(bufEntry{}))
	if w.size >= w.runBytes {
		return w.spill()
	}
	return nil
}

// blockBoundary tells the writer that every key of the blocks so far has
// been written: a full chunk of ordered families can go.
func (w *bulkWriter) blockBoundary() error {
	if w.directBytes < directChunkBytes {
		return nil
	}
	return w.sendDirect()
}

// sendDirect hands the chunk filling to the streaming goroutine and starts
// the next (in the arenas of a chunk already streamed, if any).
func (w *bulkWriter) sendDirect() error {
	if len(w.direct.ents) == 0 {
		return nil
	}
	if err := w.s.CheckSpace(int64(w.directBytes)); err != nil {
		return err
	}
	chunk := new(entryBuf)
	*chunk = w.direct
	select {
	case w.directCh <- chunk:
	case err := <-w.directDone:
		w.directDone <- err // for finish and cancel
		if err == nil {
			err = errors.New("the streaming goroutine stopped")
		}
		return fmt.Errorf("store: bulk load: %w", w.s.asNoSpace(err))
	}
	w.direct, w.directBytes = entryBuf{}, 0
	select {
	case old := <-w.directFree:
		w.direct = entryBuf{ents: old.ents[:0], spare: old.arenas}
	default:
	}
	return nil
}

// streamDirect sorts each chunk of ordered families and writes it to the
// family's stream, until directCh closes; the first error stops it (the
// chunks after it are dropped).
func (w *bulkWriter) streamDirect() {
	var err error
	var scratch []bufEntry
	last := map[byte][]byte{} // each family's last key streamed
	for chunk := range w.directCh {
		if err == nil {
			err = w.streamChunk(chunk, &scratch, last)
		}
		for i := range chunk.arenas {
			chunk.arenas[i] = chunk.arenas[i][:0]
		}
		select {
		case w.directFree <- chunk:
		default:
		}
	}
	for fam := range last {
		w.directFams = append(w.directFams, fam) // read after directDone
	}
	w.directDone <- err
}

func (w *bulkWriter) streamChunk(chunk *entryBuf, scratch *[]bufEntry, last map[byte][]byte) error {
	chunk.sort(scratch)
	buf := z.NewBuffer(8<<20, "tracer.bulk")
	defer func() { buf.Release() }() //nolint:errcheck // calloc-backed: cannot fail
	ents := chunk.ents
	// From the join's start on, transaction records wait in a file.
	var joinKey []byte
	if from := w.joinFrom.Load(); from >= 0 {
		joinKey = txKey(TxNum(from))
	}
	for i := range ents {
		k := chunk.key(&ents[i])
		if i+1 < len(ents) && bytes.Equal(k, chunk.key(&ents[i+1])) {
			continue // written again later: the last write wins
		}
		if joinKey != nil && k[0] == prefixTx && bytes.Compare(k, joinKey) >= 0 {
			if err := w.spillTx(k, chunk.value(&ents[i])); err != nil {
				return err
			}
			continue
		}
		if l, ok := last[k[0]]; ok && bytes.Compare(k, l) <= 0 {
			return fmt.Errorf("keys of family %q out of order (%x after %x)", k[0], k, l)
		}
		last[k[0]] = append(last[k[0]][:0], k...)
		appendStreamKV(buf, k, chunk.value(&ents[i]), uint32(k[0]))
		if buf.LenNoPadding() >= 4<<20 {
			if err := w.sw.Write(buf); err != nil {
				return err
			}
			buf.Reset()
		}
	}
	return w.sw.Write(buf)
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
	w.runs = append(w.runs, runFile{name: filepath.Join(w.dir, fmt.Sprintf("run%05d", len(w.runs)))})
	rf := &w.runs[len(w.runs)-1]
	w.spilled = run
	w.buf = entryBuf{ents: w.spareEnts, spare: w.buf.spare}
	w.spareEnts, w.size = nil, 0
	w.spilling = make(chan error, 1)
	name := rf.name
	go func() {
		fams, err := run.writeRun(name, &w.scratch)
		rf.fams = fams // read only after wait
		w.spilling <- err
	}()
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

// writeRun sorts e's entries and writes them to a file; it returns where
// each family's entries are.
func (e *entryBuf) writeRun(name string, scratch *[]bufEntry) ([]famSpan, error) {
	e.sort(scratch)
	f, err := os.Create(name)
	if err != nil {
		return nil, fmt.Errorf("store: bulk load: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	var hdr [binary.MaxVarintLen64 * 2]byte
	var fams []famSpan
	var off int64
	for i := range e.ents {
		x := &e.ents[i]
		k := e.key(x)
		var fam byte
		if len(k) > 0 {
			fam = k[0]
		}
		if len(fams) == 0 || fams[len(fams)-1].fam != fam {
			fams = append(fams, famSpan{fam: fam, off: off})
		}
		n := binary.PutUvarint(hdr[:], uint64(x.klen))
		n += binary.PutUvarint(hdr[n:], uint64(x.vlen))
		bw.Write(hdr[:n])
		bw.Write(k)
		bw.Write(e.value(x))
		off += int64(n) + int64(x.klen) + int64(x.vlen)
		fs := &fams[len(fams)-1]
		fs.len = off - fs.off
		fs.n++
	}
	if err := bw.Flush(); err != nil {
		return nil, errors.Join(fmt.Errorf("store: bulk load: %w", err), f.Close())
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("store: bulk load: %w", err)
	}
	return fams, nil
}

// appendStreamKV adds k and v at version 1 to a StreamWriter buffer, for
// stream id (not 0). It is badger.KVToBuffer(&pb.KV{Key: k, Value: v,
// Version: 1, StreamId: id}, buf) without the generic protobuf
// marshalling, which took a tenth of a bulk load's CPU time: the protobuf
// wire form of fields 1 (key), 2 (value, omitted when empty), 4 (version)
// and 10 (stream id).
func appendStreamKV(buf *z.Buffer, k, v []byte, id uint32) {
	n := 1 + uvarintLen(len(k)) + len(k) + 2 + 1 + uvarintLen(int(id))
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
	b = append(b, 4<<3, 1) // field 4 (version), varint: 1
	b = append(b, 10<<3)   // field 10 (stream id), varint
	_ = binary.AppendUvarint(b, uint64(id))
}

// streamDone writes the end of stream id: its last table is built and its
// builder's memory freed now rather than at the StreamWriter's Flush.
func (w *bulkWriter) streamDone(id uint32) error {
	buf := z.NewBuffer(64, "tracer.bulk")
	defer func() { buf.Release() }() //nolint:errcheck // calloc-backed: cannot fail
	appendStreamDone(buf, id)
	return w.sw.Write(buf)
}

// appendStreamDone is badger.KVToBuffer(&pb.KV{StreamId: id, StreamDone:
// true}, buf).
func appendStreamDone(buf *z.Buffer, id uint32) {
	b := buf.SliceAllocate(3 + uvarintLen(int(id)))[:0]
	b = append(b, 10<<3) // field 10 (stream id), varint
	b = binary.AppendUvarint(b, uint64(id))
	_ = append(b, 11<<3, 1) // field 11 (stream done): true
}

func uvarintLen(n int) int {
	l := 1
	for ; n >= 0x80; n >>= 7 {
		l++
	}
	return l
}

// finish streams the last chunk of ordered families, resolves the join's
// deferred spends (if it started), merges the runs of the other families
// into their streams, then writes the schema and state keys in an ordinary
// transaction, which makes the load visible. st is updated by the join.
func (w *bulkWriter) finish(st *State) (err error) {
	defer func() {
		// The runs are spent either way; a folder left behind only costs
		// disk space, which the user is told about.
		if cerr := w.closeTxFile(); cerr != nil && err == nil {
			err = fmt.Errorf("store: bulk load: %w", w.s.asNoSpace(cerr))
		}
		if rerr := os.RemoveAll(w.dir); rerr != nil {
			w.s.log.Warn("store: could not remove the bulk-load runs", "dir", w.dir, "err", rerr)
		}
		if err != nil {
			w.cancelStream()
		}
	}()
	if err := w.endDirect(); err != nil {
		return err
	}
	if err := w.endJoin(st); err != nil {
		return err
	}
	// The last run goes to a file too, so that the merge holds no run in
	// memory, only read buffers (mergeBufBytes).
	if len(w.buf.ents) > 0 {
		if err := w.spill(); err != nil {
			return err
		}
		if err := w.wait(); err != nil {
			return err
		}
	}
	w.releaseSpares()
	if err := w.merge(); err != nil {
		return fmt.Errorf("store: bulk load: %w", w.s.asNoSpace(err))
	}
	if err := w.sw.Flush(); err != nil {
		return fmt.Errorf("store: bulk load: %w", w.s.asNoSpace(err))
	}
	w.sw = nil
	if w.progress != nil {
		w.progress(BulkPhaseMerge, w.entries+w.txSpilled, w.entries+w.txSpilled)
	}
	return w.s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(keySchema, binary.BigEndian.AppendUint32(nil, SchemaVersion)); err != nil {
			return err
		}
		return txn.Set(keyState, mustJSON(st))
	})
}

// endDirect checks the disk has room for the tables, streams the last
// chunk of ordered families and ends their streams (but the transactions'
// when a join rewrites some of them).
func (w *bulkWriter) endDirect() error {
	// The tables take at most what their data takes here (they are
	// compressed): the last chunk of ordered families, the runs.
	need := int64(w.directBytes + w.size)
	for _, rf := range w.runs {
		if fi, err := os.Stat(rf.name); err == nil {
			need += fi.Size()
		}
	}
	if err := w.s.CheckSpace(need); err != nil {
		return err
	}
	serr := w.sendDirect()
	close(w.directCh)
	if derr := <-w.directDone; serr == nil && derr != nil {
		serr = fmt.Errorf("store: bulk load: %w", w.s.asNoSpace(derr))
	}
	w.directCh = nil
	if err := errors.Join(serr, w.wait()); err != nil {
		return err
	}
	for _, fam := range w.directFams {
		if fam == prefixTx && w.join != nil {
			continue // ends after the join's transactions
		}
		if err := w.streamDone(uint32(fam)); err != nil {
			return fmt.Errorf("store: bulk load: %w", w.s.asNoSpace(err))
		}
	}
	return nil
}

// endJoin runs the join, if one started: its spent-by keys go to the
// runs, its patches wait for the merge.
func (w *bulkWriter) endJoin(st *State) error {
	if w.join == nil {
		return nil
	}
	if err := w.closeTxFile(); err != nil {
		return fmt.Errorf("store: bulk load: %w", w.s.asNoSpace(err))
	}
	if err := w.runJoin(st); err != nil {
		return fmt.Errorf("store: bulk load: %w", w.s.asNoSpace(err))
	}
	w.join = nil // its memory is the merge's now
	return w.wait()
}

// releaseSpares drops the buffers kept for reuse while the blocks were
// read (the arenas and entries of the last run spilled, the sort scratch,
// the ordered families' spare chunks): the merge allocates its own, above
// all Badger's table builders (over 100 MB a stream), and with the idle
// buffers still held the heap sat at its limit through the merge, the GC
// running back to back (measured: 380 collections in the merge of a 3 M
// transaction load, against 100 while its blocks were read).
func (w *bulkWriter) releaseSpares() {
	w.buf.spare, w.spareEnts, w.scratch = nil, nil, nil
	w.direct = entryBuf{}
	for {
		select {
		case <-w.directFree:
		default:
			return
		}
	}
}

// merge merges each family's spilled runs into the family's stream,
// mergeStreams families at a time, after the join's transactions (if any).
func (w *bulkWriter) merge() error {
	var fams []byte
	readers := 0 // the most runs a family is spread over
	for _, rf := range w.runs {
		for _, fs := range rf.fams {
			if !slices.Contains(fams, fs.fam) {
				fams = append(fams, fs.fam)
			}
		}
	}
	for _, fam := range fams {
		n := 0
		for _, rf := range w.runs {
			for _, fs := range rf.fams {
				if fs.fam == fam {
					n++
				}
			}
		}
		readers = max(readers, n)
	}
	// The read buffers of the families merged at a time share
	// mergeBufBytes, so that memory does not grow with the number of runs.
	bufSize := max(16<<10, min(1<<20, mergeBufBytes/max(readers*mergeStreams, 1)))

	var done atomic.Int64
	stop := make(chan struct{})
	ticked := make(chan struct{})
	go func() {
		defer close(ticked)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			if w.progress != nil {
				w.progress(BulkPhaseMerge, done.Load(), w.entries+w.txSpilled)
			}
			select {
			case <-t.C:
			case <-stop:
				return
			}
		}
	}()
	defer func() { close(stop); <-ticked }()

	var g errgroup.Group
	g.SetLimit(mergeStreams)
	if w.patches != nil {
		// The join's transactions first: the largest family.
		g.Go(func() error { return w.patchTxs(&done, bufSize) })
	}
	for _, fam := range fams {
		g.Go(func() error {
			var rs []*runReader
			for i, rf := range w.runs {
				for _, fs := range rf.fams {
					if fs.fam != fam {
						continue
					}
					f, err := os.Open(rf.name)
					if err != nil {
						return err
					}
					defer f.Close() //nolint:errcheck // a run opened read-only: Close cannot lose data
					rs = append(rs, &runReader{idx: i, r: bufio.NewReaderSize(io.NewSectionReader(f, fs.off, fs.len), bufSize)})
				}
			}
			return w.mergeFamily(fam, rs, &done)
		})
	}
	return g.Wait()
}

// mergeFamily merges the sorted runs of one family into its stream.
func (w *bulkWriter) mergeFamily(fam byte, rs []*runReader, done *atomic.Int64) error {
	it, err := newMergeIter(rs)
	if err != nil {
		return err
	}
	buf := z.NewBuffer(8<<20, "tracer.bulk")
	defer func() { buf.Release() }() //nolint:errcheck // calloc-backed: cannot fail
	id := uint32(fam)
	// The merge's key and value are copies (the reader they came from
	// reuses its buffer): keep the one in hand while the next is read.
	// Equal keys: the later run's value wins; emit once.
	var pk, pv []byte
	have := false
	var n int64
	for it.next() {
		if n++; n%(1<<12) == 0 {
			done.Add(1 << 12)
		}
		if have && !bytes.Equal(pk, it.k) {
			appendStreamKV(buf, pk, pv, id)
			if buf.LenNoPadding() >= 4<<20 {
				if err := w.sw.Write(buf); err != nil {
					return err
				}
				buf.Reset()
			}
		}
		pk, it.k = it.k, pk
		pv, it.v = it.v, pv
		have = true
	}
	if it.err != nil {
		return it.err
	}
	if have {
		appendStreamKV(buf, pk, pv, id)
	}
	if err := w.sw.Write(buf); err != nil {
		return err
	}
	return w.streamDone(id)
}

// cancelStream stops the StreamWriter and drops the tables it wrote, so
// that a load that failed leaves the store empty as it found it.
func (w *bulkWriter) cancelStream() {
	if w.directCh != nil {
		close(w.directCh)
		<-w.directDone //nolint:errcheck // cancelling a load that failed already: the stream's own error adds nothing
		w.directCh = nil
	}
	w.closeTxFile() //nolint:errcheck // the load failed already: the file is dropped with the runs
	if w.sw == nil {
		return
	}
	w.sw.Cancel()
	w.sw = nil
	err := w.s.db.DropAll()
	if err == nil {
		// The StreamWriter dropped the schema and state keys too.
		err = w.s.db.Update(func(txn *badger.Txn) error {
			if err := txn.Set(keySchema, binary.BigEndian.AppendUint32(nil, SchemaVersion)); err != nil {
				return err
			}
			return txn.Set(keyState, mustJSON(&w.s.state))
		})
	}
	if err != nil {
		w.s.log.Warn("store: could not drop a failed bulk load's tables; the next ingest will", "err", err)
	}
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
