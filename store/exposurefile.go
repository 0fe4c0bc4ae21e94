package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/tracer-oss/tracer/store/directio"
)

// A full exposure build writes its generation's records once, in key
// order, into two immutable sorted files beside Badger instead of into
// the LSM, where every byte was written, compressed and compacted again
// (at 10 M transactions, Badger's share of the build was about half its
// CPU). Updates per block go to Badger as before, under the same keys: an
// exposure key in Badger overrides the file's record, and an empty value
// there deletes it (no record is empty). Readers see both through
// Exposure and ExposureUpdate and never the files alone.
//
//	exposure/gen-<N>.txs     per-transaction shares, keyed by TxNum (8 bytes, big-endian)
//	exposure/gen-<N>.acc     per-address accumulators, keyed by the record key
//	exposure/gen-<N>.acc.<k> more of them (k from 1), every key after those
//	                         of the file before: a build writes its
//	                         accumulators in parts at once, one file each;
//	                         the header says how many (AccFiles)
//
// A file:
//
//	block*          records (uvarint key length, key, uvarint value length,
//	                value), cut after about sortedBlockSize bytes, then a
//	                CRC-32C of the block's records (4 bytes)
//	index           per block: uvarint first-key length, first key, uvarint
//	                block length (with its CRC)
//	footer          40 bytes: index offset, index length, records, blocks
//	                (uint64 big-endian each), CRC-32C of the index (uint32),
//	                "tXpo" magic
//
// A build writes gen-<N>.*.tmp and renames them in place before it writes
// the generation's header (Stage); files of a generation with no header
// (a killed build, an interrupted drop) are removed when a writer opens
// the store.
const (
	exposureDir     = "exposure"
	sortedBlockSize = 4 << 10
	sortedFooterLen = 8*4 + 4 + 4
	sortedMagic     = "tXpo"
)

// exposureFileName is the name of generation gen's file of family fam
// ('t' tx shares, 'a' accumulators); part numbers an accumulators' file
// after the first.
func exposureFileName(gen uint32, fam byte, part int) string {
	switch {
	case fam == 't':
		return fmt.Sprintf("gen-%d.txs", gen)
	case part > 0:
		return fmt.Sprintf("gen-%d.acc.%d", gen, part)
	}
	return fmt.Sprintf("gen-%d.acc", gen)
}

// parseExposureFileName returns the generation of a file in the exposure
// directory, and whether the name is one of its files (tmp: a build's
// unfinished file).
func parseExposureFileName(name string) (gen uint32, tmp, ok bool) {
	rest, found := strings.CutPrefix(name, "gen-")
	if !found {
		return 0, false, false
	}
	rest, tmp = strings.CutSuffix(rest, ".tmp")
	num, ext, found := strings.Cut(rest, ".")
	part, numbered := strings.CutPrefix(ext, "acc.")
	if numbered {
		k, err := strconv.ParseUint(part, 10, 31)
		numbered = err == nil && k > 0 && part == strconv.FormatUint(k, 10)
	}
	// acc-tail: the second half of an older build's accumulators, only
	// ever a .tmp.
	known := ext == "txs" || ext == "acc" || numbered || tmp && ext == "acc-tail"
	if !found || !known {
		return 0, false, false
	}
	g, err := strconv.ParseUint(num, 10, 32)
	if err != nil || g == 0 {
		return 0, false, false
	}
	return uint32(g), tmp, true
}

// sortedWriter writes one sorted file.
type sortedWriter struct {
	f       *directio.Writer
	path    string // the final name; the file is path+".tmp" until finish
	block   []byte
	first   []byte // the current block's first key
	lowest  []byte // the file's first key
	last    []byte
	index   []byte
	off     int64
	records uint64
	blocks  uint64
}

func newSortedWriter(path string) (*sortedWriter, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	// Past the page cache: a build writes gigabytes once, and readers take
	// the blocks they need (putting them there cost more than the rest of
	// the write).
	f, err := directio.Create(path+".tmp", 0)
	if err != nil {
		return nil, err
	}
	return &sortedWriter{f: f, path: path}, nil
}

// add appends a record; keys must come in strictly increasing order and
// values must not be empty (an empty value is a deletion in Badger).
func (w *sortedWriter) add(key, val []byte) error {
	if len(val) == 0 {
		return fmt.Errorf("store: exposure record %x: empty value", key)
	}
	if w.records > 0 && bytes.Compare(key, w.last) <= 0 {
		return fmt.Errorf("store: exposure records out of order: %x after %x", key, w.last)
	}
	if len(w.block) == 0 {
		w.first = append(w.first[:0], key...)
	}
	if w.records == 0 {
		w.lowest = append(w.lowest[:0], key...)
	}
	w.block = binary.AppendUvarint(w.block, uint64(len(key)))
	w.block = append(w.block, key...)
	w.block = binary.AppendUvarint(w.block, uint64(len(val)))
	w.block = append(w.block, val...)
	w.last = append(w.last[:0], key...)
	w.records++
	if len(w.block) >= sortedBlockSize {
		return w.cut()
	}
	return nil
}

// cut writes the current block and its index entry.
func (w *sortedWriter) cut() error {
	if len(w.block) == 0 {
		return nil
	}
	w.block = binary.BigEndian.AppendUint32(w.block, crc32.Checksum(w.block, castagnoli))
	if _, err := w.f.Write(w.block); err != nil {
		return err
	}
	w.index = binary.AppendUvarint(w.index, uint64(len(w.first)))
	w.index = append(w.index, w.first...)
	w.index = binary.AppendUvarint(w.index, uint64(len(w.block)))
	w.off += int64(len(w.block))
	w.blocks++
	w.block = w.block[:0]
	return nil
}

// finish writes the last block, the index and the footer, syncs the file
// and renames it to its final name.
func (w *sortedWriter) finish() error { return w.finishAs(w.path) }

// finishAs is finish renaming the file to path.
func (w *sortedWriter) finishAs(path string) error {
	if err := w.cut(); err != nil {
		return w.fail(err)
	}
	foot := binary.BigEndian.AppendUint64(nil, uint64(w.off))
	foot = binary.BigEndian.AppendUint64(foot, uint64(len(w.index)))
	foot = binary.BigEndian.AppendUint64(foot, w.records)
	foot = binary.BigEndian.AppendUint64(foot, w.blocks)
	foot = binary.BigEndian.AppendUint32(foot, crc32.Checksum(w.index, castagnoli))
	foot = append(foot, sortedMagic...)
	if _, err := w.f.Write(w.index); err != nil {
		return w.fail(err)
	}
	if _, err := w.f.Write(foot); err != nil {
		return w.fail(err)
	}
	if err := w.f.Sync(); err != nil {
		return w.fail(err)
	}
	if err := w.f.Close(); err != nil {
		w.f = nil
		return w.fail(err)
	}
	w.f = nil
	if err := os.Rename(w.path+".tmp", path); err != nil {
		return w.fail(err)
	}
	return nil
}

// fail removes the unfinished file and returns err.
func (w *sortedWriter) fail(err error) error {
	w.abort()
	return fmt.Errorf("store: write %s: %w", w.path, err)
}

// abort drops the unfinished file.
func (w *sortedWriter) abort() {
	if w.f != nil { // Close ends its goroutine
		_ = w.f.Close() // the file is removed next
		w.f = nil
	}
	_ = os.Remove(w.path + ".tmp") // gone already, or removed at the next open
}

// sortedFile is an open sorted file: its index in memory (the first key
// of every block, packed), its blocks read on demand and checked against
// their CRC.
type sortedFile struct {
	f       *os.File
	path    string
	keys    []byte   // first keys, packed
	keyEnd  []uint32 // keys[keyEnd[i-1]:keyEnd[i]] is block i's first key
	offs    []int64  // block i is [offs[i], offs[i+1])
	records uint64
	bufs    sync.Pool
}

// openSorted opens the sorted file at path and reads its index, checked.
func openSorted(path string) (*sortedFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	sf, err := readSortedIndex(f, path)
	if err != nil {
		_ = f.Close() // read-only: nothing to lose
		return nil, err
	}
	return sf, nil
}

func readSortedIndex(f *os.File, path string) (*sortedFile, error) {
	bad := func(format string, a ...any) error { return exposureDamage(path, -1, fmt.Sprintf(format, a...)) }
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	if size < sortedFooterLen {
		return nil, bad("%d bytes, too short for an exposure file", size)
	}
	foot := make([]byte, sortedFooterLen)
	if _, err := f.ReadAt(foot, size-sortedFooterLen); err != nil {
		return nil, err
	}
	if string(foot[36:]) != sortedMagic {
		return nil, bad("no exposure file footer")
	}
	ixOff := binary.BigEndian.Uint64(foot[0:])
	ixLen := binary.BigEndian.Uint64(foot[8:])
	records := binary.BigEndian.Uint64(foot[16:])
	blocks := binary.BigEndian.Uint64(foot[24:])
	// The index ends where the footer starts (ixOff past that would wrap
	// ixLen), and an entry takes at least 2 bytes (key length, block
	// length): the allocations below are bounded by the file.
	if ixOff > uint64(size)-sortedFooterLen || ixLen != uint64(size)-sortedFooterLen-ixOff || blocks > ixLen/2 {
		return nil, bad("footer names an index at %d+%d in a file of %d bytes", ixOff, ixLen, size)
	}
	index := make([]byte, ixLen)
	if _, err := f.ReadAt(index, int64(ixOff)); err != nil {
		return nil, err
	}
	if crc32.Checksum(index, castagnoli) != binary.BigEndian.Uint32(foot[32:]) {
		return nil, bad("index checksum mismatch")
	}
	sf := &sortedFile{f: f, path: path, records: records, keyEnd: make([]uint32, 0, blocks), offs: make([]int64, 1, blocks+1)}
	for p := 0; p < len(index); {
		kl, n := binary.Uvarint(index[p:])
		if n <= 0 || kl > uint64(len(index)-p-n) {
			return nil, bad("index entry %d at %d: bad key length", len(sf.keyEnd), p)
		}
		p += n
		sf.keys = append(sf.keys, index[p:p+int(kl)]...)
		p += int(kl)
		bl, n := binary.Uvarint(index[p:])
		if n <= 0 || bl < 4 || bl > ixOff {
			return nil, bad("index entry %d: bad block length", len(sf.keyEnd))
		}
		p += n
		sf.keyEnd = append(sf.keyEnd, uint32(len(sf.keys)))
		sf.offs = append(sf.offs, sf.offs[len(sf.offs)-1]+int64(bl))
	}
	if uint64(len(sf.keyEnd)) != blocks || sf.offs[len(sf.offs)-1] != int64(ixOff) {
		return nil, bad("index lists %d blocks ending at %d; footer says %d ending at %d", len(sf.keyEnd), sf.offs[len(sf.offs)-1], blocks, ixOff)
	}
	return sf, nil
}

func (sf *sortedFile) close() error { return sf.f.Close() }

// exposureDamage is the error of a damaged exposure file: which file
// (within the store), where, what; errors.Is(err, ErrDamaged).
func exposureDamage(path string, off int64, what string) error {
	d := Damage{File: filepath.Join(exposureDir, filepath.Base(path)), Offset: off, What: what}
	return fmt.Errorf("%w: %s (run tracer screen --rebuild-index to write the exposure index again)", ErrDamaged, d)
}

func (sf *sortedFile) firstKey(i int) []byte {
	start := uint32(0)
	if i > 0 {
		start = sf.keyEnd[i-1]
	}
	return sf.keys[start:sf.keyEnd[i]]
}

// blockFor is the block that would hold key: the last whose first key is
// not after it (-1: before every block).
func (sf *sortedFile) blockFor(key []byte) int {
	return sort.Search(len(sf.keyEnd), func(i int) bool { return bytes.Compare(sf.firstKey(i), key) > 0 }) - 1
}

// readBlock reads block i into buf (grown as needed) and checks it,
// returning its records.
func (sf *sortedFile) readBlock(i int, buf []byte) ([]byte, error) {
	n := int(sf.offs[i+1] - sf.offs[i])
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := sf.f.ReadAt(buf, sf.offs[i]); err != nil {
		return nil, fmt.Errorf("store: read %s block %d: %w", sf.path, i, err)
	}
	body := buf[:n-4]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(buf[n-4:]) {
		return nil, exposureDamage(sf.path, sf.offs[i], fmt.Sprintf("block %d: checksum mismatch", i))
	}
	return body, nil
}

// nextRecord decodes the record at the start of b.
func (sf *sortedFile) nextRecord(b []byte, block int) (key, val, rest []byte, err error) {
	kl, n := binary.Uvarint(b)
	if n <= 0 || kl > uint64(len(b)-n) {
		return nil, nil, nil, sf.damaged(block)
	}
	key, b = b[n:n+int(kl)], b[n+int(kl):]
	vl, n := binary.Uvarint(b)
	if n <= 0 || vl > uint64(len(b)-n) {
		return nil, nil, nil, sf.damaged(block)
	}
	return key, b[n : n+int(vl)], b[n+int(vl):], nil
}

func (sf *sortedFile) damaged(block int) error {
	return exposureDamage(sf.path, sf.offs[block], fmt.Sprintf("block %d: bad record", block))
}

// get returns a copy of key's value.
func (sf *sortedFile) get(key []byte) ([]byte, bool, error) {
	i := sf.blockFor(key)
	if i < 0 {
		return nil, false, nil
	}
	bp, _ := sf.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	defer sf.bufs.Put(bp)
	b, err := sf.readBlock(i, *bp)
	if err != nil {
		return nil, false, err
	}
	*bp = b[:cap(b)]
	for len(b) > 0 {
		k, v, rest, err := sf.nextRecord(b, i)
		if err != nil {
			return nil, false, err
		}
		switch c := bytes.Compare(k, key); {
		case c == 0:
			return bytes.Clone(v), true, nil
		case c > 0:
			return nil, false, nil
		}
		b = rest
	}
	return nil, false, nil
}

// prefetchReaders is how many reads Prefetch has in flight: enough for a
// solid-state device's queue, few enough for a disk.
const prefetchReaders = 8

// prefetch reads the blocks that would hold keys (sorted or not), each
// once, prefetchReaders at a time, and drops them: what is read stays in
// the page cache. A block it cannot read is left to the read that follows
// to report.
func (sf *sortedFile) prefetch(keys [][]byte) {
	blocks := make([]int, 0, len(keys))
	for _, k := range keys {
		if i := sf.blockFor(k); i >= 0 {
			blocks = append(blocks, i)
		}
	}
	slices.Sort(blocks)
	blocks = slices.Compact(blocks)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(prefetchReaders, len(blocks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, sortedBlockSize*2)
			for i := range next {
				n := int(sf.offs[i+1] - sf.offs[i])
				if cap(buf) < n {
					buf = make([]byte, n)
				}
				_, _ = sf.f.ReadAt(buf[:n], sf.offs[i]) // a hint: the real read reports errors
			}
		}()
	}
	for _, i := range blocks {
		next <- i
	}
	close(next)
	wg.Wait()
}

// each calls fn for every record from the first whose key is not before
// from, in key order, until fn returns an error (errStop: the caller's
// way to end early). key and
// val are valid only during the call.
func (sf *sortedFile) each(from []byte, fn func(key, val []byte) error) error {
	start := max(sf.blockFor(from), 0)
	var buf []byte
	for i := start; i < len(sf.keyEnd); i++ {
		b, err := sf.readBlock(i, buf)
		if err != nil {
			return err
		}
		buf = b[:cap(b)]
		for len(b) > 0 {
			k, v, rest, err := sf.nextRecord(b, i)
			if err != nil {
				return err
			}
			b = rest
			if bytes.Compare(k, from) < 0 {
				continue
			}
			if err := fn(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// lastKey returns the file's last key (nil: it has none), reading its
// last block.
func (sf *sortedFile) lastKey() ([]byte, error) {
	if len(sf.keyEnd) == 0 {
		return nil, nil
	}
	i := len(sf.keyEnd) - 1
	b, err := sf.readBlock(i, nil)
	if err != nil {
		return nil, err
	}
	var last []byte
	for len(b) > 0 {
		k, _, rest, err := sf.nextRecord(b, i)
		if err != nil {
			return nil, err
		}
		last, b = k, rest
	}
	return bytes.Clone(last), nil
}

// errStop ends sortedFile.each early without an error.
var errStop = errors.New("stop")

// check reads every block and record of the file: what Verify runs. Its
// keys must increase, from after after (nil: from any); it returns how
// many there are and the last.
func (sf *sortedFile) check(after []byte) (uint64, []byte, error) {
	var n uint64
	last := slices.Clone(after)
	err := sf.each(nil, func(k, _ []byte) error {
		if (n > 0 || after != nil) && bytes.Compare(k, last) <= 0 {
			return exposureDamage(sf.path, -1, fmt.Sprintf("record %d: keys out of order", n))
		}
		last = append(last[:0], k...)
		n++
		return nil
	})
	if err == nil && n != sf.records {
		err = exposureDamage(sf.path, -1, fmt.Sprintf("%d records; footer says %d", n, sf.records))
	}
	return n, last, err
}

// sortedSet is one family's files of a generation, in key order: every
// key of a file sorts after every key of the file before. Each file but
// the first holds a record (openExposureGen checks both).
type sortedSet []*sortedFile

// part is the file that would hold key: the last whose first key is not
// after it (the first when none).
func (s sortedSet) part(key []byte) int {
	return sort.Search(len(s), func(i int) bool { return i > 0 && bytes.Compare(s[i].firstKey(0), key) > 0 }) - 1
}

// get returns a copy of key's value.
func (s sortedSet) get(key []byte) ([]byte, bool, error) {
	if len(s) == 0 {
		return nil, false, nil
	}
	return s[s.part(key)].get(key)
}

// each is sortedFile.each over the set.
func (s sortedSet) each(from []byte, fn func(key, val []byte) error) error {
	if len(s) == 0 {
		return nil
	}
	for _, sf := range s[s.part(from):] {
		if err := sf.each(from, fn); err != nil {
			return err
		}
	}
	return nil
}

// prefetch is sortedFile.prefetch over the set.
func (s sortedSet) prefetch(keys [][]byte) {
	if len(s) == 1 {
		s[0].prefetch(keys)
		return
	}
	parts := make([][][]byte, len(s))
	for _, k := range keys {
		i := s.part(k)
		parts[i] = append(parts[i], k)
	}
	for i, sf := range s {
		if len(parts[i]) > 0 {
			sf.prefetch(parts[i])
		}
	}
}

// check is sortedFile.check over the set, keys increasing across its
// files too; it returns how many records it holds.
func (s sortedSet) check() (uint64, error) {
	var total uint64
	var last []byte
	for _, sf := range s {
		n, l, err := sf.check(last)
		if total += n; err != nil {
			return total, err
		}
		last = l
	}
	return total, nil
}

func (s sortedSet) close() error {
	var errs []error
	for _, sf := range s {
		errs = append(errs, sf.close())
	}
	return errors.Join(errs...)
}

// exposureGen is one generation's open files (a generation with none keeps
// every record in Badger).
type exposureGen struct {
	txs, accs sortedSet
	refs      int // the registry's own (until dropped) and every reader's
}

func (g *exposureGen) file(fam byte) sortedSet {
	if g == nil {
		return nil
	}
	if fam == prefixExposureTx {
		return g.txs
	}
	return g.accs
}

// files are all of the generation's files.
func (g *exposureGen) files() []*sortedFile { return append(slices.Clip(g.txs), g.accs...) }

// exposureFiles are the store's open exposure files, shared by the writer
// and every reader (snapshots pin the generations they may read). A
// dropped generation's files are removed at once and closed when its last
// reader lets go.
type exposureFiles struct {
	mu sync.Mutex
	// staging is held (read) by a build staging a generation, from its
	// files' registration to its header's commit, and (write) by a
	// backup for its whole copy: a generation staged meanwhile would be
	// in Badger's stream without its files in the backup.
	staging sync.RWMutex
	gens    map[uint32]*exposureGen
	dropped map[uint32]bool
	// unusable: a header says the generation has files; they were
	// missing or damaged at open (the error its reads return). The store
	// opens anyway: the index is derived data, and its rebuild needs the
	// store open.
	unusable map[uint32]error
}

// pin returns generation gen's files for one read (nil: it has none),
// and the function that lets them go.
func (x *exposureFiles) pin(gen uint32) (*exposureGen, func(), error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	switch {
	case x.dropped[gen]:
		return nil, nil, fmt.Errorf("%w: exposure index generation %d was replaced and removed while it was being read; ask again", ErrNotFound, gen)
	case x.unusable[gen] != nil:
		return nil, nil, x.unusable[gen]
	}
	g := x.gens[gen]
	if g == nil {
		return nil, func() {}, nil
	}
	g.refs++
	return g, func() { x.unref(g) }, nil
}

// pinAll pins every open generation (a snapshot's, a backup's),
// returning them and the function that lets them go.
func (x *exposureFiles) pinAll() (map[uint32]*exposureGen, func()) {
	x.mu.Lock()
	defer x.mu.Unlock()
	gens := make(map[uint32]*exposureGen, len(x.gens))
	pinned := make([]*exposureGen, 0, len(x.gens)) // what unpin lets go, whatever the caller adds to gens
	for gen, g := range x.gens {
		g.refs++
		gens[gen] = g
		pinned = append(pinned, g)
	}
	return gens, func() {
		for _, g := range pinned {
			x.unref(g)
		}
	}
}

func (x *exposureFiles) unref(g *exposureGen) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.unrefLocked(g)
}

func (x *exposureFiles) unrefLocked(g *exposureGen) {
	if g.refs--; g.refs == 0 {
		_ = g.txs.close() // opened read-only
		_ = g.accs.close()
	}
}

// unusableErr is generation gen's error when its files were missing or
// damaged at open (nil: they were not).
func (x *exposureFiles) unusableErr(gen uint32) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.unusable[gen]
}

// unusableGens are the errors of the generations whose header names
// files that were missing or damaged at open, in generation order.
func (x *exposureFiles) unusableGens() []error {
	x.mu.Lock()
	defer x.mu.Unlock()
	var errs []error
	for _, gen := range slices.Sorted(maps.Keys(x.unusable)) {
		errs = append(errs, x.unusable[gen])
	}
	return errs
}

// add registers a generation's files (the registry holds one reference).
func (x *exposureFiles) add(gen uint32, g *exposureGen) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.gens == nil {
		x.gens = map[uint32]*exposureGen{}
	}
	g.refs = 1
	x.gens[gen] = g
	delete(x.unusable, gen)
}

// drop forgets every generation older than keep and removes its files
// from dir; readers holding them keep reading until they let go.
func (x *exposureFiles) drop(dir string, keep uint32) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	for gen, g := range x.gens {
		if gen < keep {
			if x.dropped == nil {
				x.dropped = map[uint32]bool{}
			}
			x.dropped[gen] = true
			delete(x.gens, gen)
			x.unrefLocked(g)
		}
	}
	for gen := range x.unusable {
		if gen < keep {
			delete(x.unusable, gen)
		}
	}
	// A build's unfinished files stay: an older build may still be
	// writing them (it stages them; the next drop removes them), and a
	// killed one's go at the next writer's open.
	return removeExposureFiles(dir, func(gen uint32, tmp bool) bool { return gen < keep && !tmp })
}

// close closes every open file (the store is closing).
func (x *exposureFiles) close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	var errs []error
	for _, g := range x.gens {
		errs = append(errs, g.txs.close(), g.accs.close())
	}
	x.gens = nil
	return errors.Join(errs...)
}

// removeExposureFiles removes the files in dir's exposure directory for
// which rm is true.
func removeExposureFiles(dir string, rm func(gen uint32, tmp bool) bool) error {
	ents, err := os.ReadDir(filepath.Join(dir, exposureDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if gen, tmp, ok := parseExposureFileName(e.Name()); ok && rm(gen, tmp) {
			if err := os.Remove(filepath.Join(dir, exposureDir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// openExposureFiles opens the files of every generation with a header
// (headers: generation → how many accumulators' files its header names,
// 0: none). A writer first removes unfinished files and those of
// generations with no header.
func (s *Store) openExposureFiles(headers map[uint32]int) error {
	if !s.ro {
		err := removeExposureFiles(s.dir, func(gen uint32, tmp bool) bool {
			_, ok := headers[gen]
			return tmp || !ok
		})
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	for gen, accFiles := range headers {
		if accFiles == 0 {
			continue
		}
		g, err := openExposureGen(s.dir, gen, accFiles)
		switch {
		case errors.Is(err, os.ErrNotExist):
			err = fmt.Errorf("%w: exposure index generation %d: its files in %s/ are missing (a backup taken while it was written?); run tracer screen --rebuild-index", ErrCorrupt, gen, exposureDir)
		case errors.Is(err, ErrDamaged):
			err = fmt.Errorf("store: exposure index generation %d: %w", gen, err)
		case err != nil:
			return fmt.Errorf("store: exposure index generation %d: %w", gen, err)
		default:
			s.expo.add(gen, g)
			continue
		}
		if s.expo.unusable == nil {
			s.expo.unusable = map[uint32]error{}
		}
		s.expo.unusable[gen] = err
	}
	return nil
}

// openExposureGen opens generation gen's tx shares file and its accFiles
// accumulators' files, and checks that those follow each other.
func openExposureGen(dir string, gen uint32, accFiles int) (_ *exposureGen, err error) {
	g := &exposureGen{}
	defer func() {
		if err != nil {
			_ = g.txs.close() // read-only
			_ = g.accs.close()
		}
	}()
	open := func(fam byte, part int) (*sortedFile, error) {
		return openSorted(filepath.Join(dir, exposureDir, exposureFileName(gen, fam, part)))
	}
	sf, err := open('t', 0)
	if err != nil {
		return nil, err
	}
	g.txs = sortedSet{sf}
	for part := range accFiles {
		sf, err := open('a', part)
		if err != nil {
			return nil, err
		}
		g.accs = append(g.accs, sf)
		if part == 0 {
			continue
		}
		if len(sf.keyEnd) == 0 {
			return nil, exposureDamage(sf.path, -1, "an accumulators' file after the first holds no record")
		}
		prev := g.accs[part-1]
		last, err := prev.lastKey()
		if err != nil {
			return nil, err
		}
		if last != nil && bytes.Compare(sf.firstKey(0), last) <= 0 {
			return nil, exposureDamage(sf.path, -1, fmt.Sprintf("first key not after the last of %s", filepath.Base(prev.path)))
		}
	}
	return g, nil
}

// copyExposureFile writes an open sorted file into a backup body under
// the exposure directory, from the open file the backup
// pinned, not by name: a drop may have removed the name meanwhile.
func copyExposureFile(w io.Writer, sf *sortedFile) error {
	fi, err := sf.f.Stat()
	if err != nil {
		return err
	}
	return copyReaderInto(w, io.NewSectionReader(sf.f, 0, fi.Size()), fi.Size(), exposureDir+"/"+filepath.Base(sf.path))
}

// syncDir makes the names in dir durable (a rename into it).
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
