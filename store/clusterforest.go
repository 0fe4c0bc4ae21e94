package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/dgraph-io/badger/v4"

	"github.com/tracer-oss/tracer/store/hugemem"
)

// forest is the cluster union-find in memory, over dense address ids: per
// address a parent, an aux word (the TxNum+1 of the union that set the
// parent, or the cluster's size at a root, whose link is always 0), the
// next member of its ring, a path-compressed copy of the parent (up) and
// the address itself, plus an open-addressing table from address to id.
// That is 16 + 33 bytes per address and 8 bytes per table slot (between
// 1.33 and 2.67 slots per address), about 60–70 bytes per address in all. Ids and TxNums are 32-bit here: a forest
// beyond 4,294,967,294 addresses or transactions is refused (ErrTooLarge).
type forest struct {
	parent, aux, next chunked[uint32]
	// up is parent with path compression, for finding roots fast; parent
	// itself is never compressed (its edges carry the links). Both have
	// the same roots.
	up    chunked[uint32]
	addrs chunked[clusterAddrKey]
	n     uint32   // ids handed out: 1..n
	table []uint64 // hash tag and id, 0 for an empty slot; len a power of 2
	seed  uint64   // of the hash; stored with the table (ClusterState.TableSeed)
	// pages marks the table's pages (of pageSlots slots) with a slot
	// filled since the last commit; slotsAll says the whole table must be
	// written (grown, or not yet written).
	pages    []uint64
	slotsAll bool
	// share is the bytes of the arrays, held beside the soft heap limit
	// (heaplimit.go) until the forest is collected.
	share *heapShare
}

// pageSlots is the slots of a table page (4 KB), the unit a commit writes.
const pageSlots = 512

// chunked is a growable array in fixed-size chunks, so growing never
// copies (no doubling spike in memory) and the memory used is what is
// held, to a chunk. Chunks are 12–17 MB, backed by 2 MB pages where the
// kernel grants them (hugemem.Slice): the forest's arrays are read at random,
// and with 4 KB pages most of those reads missed the TLB too. A chunk's
// pages not yet written take no memory.
type chunked[T any] struct {
	c     [][]T
	share *heapShare // counts the chunks; nil: not counted
}

// chunkShift is log2 of a chunk's length for elements of T.
func chunkShift[T any]() uint {
	var z T
	switch size := unsafe.Sizeof(z); {
	case size <= 4:
		return 22
	case size <= 8:
		return 21
	case size <= 16:
		return 20
	case size <= 32:
		return 19
	default:
		return 18
	}
}

func (a *chunked[T]) at(i uint32) *T {
	s := chunkShift[T]()
	return &a.c[i>>s][i&(1<<s-1)]
}

func (a *chunked[T]) grow(n uint32) {
	s := chunkShift[T]()
	for uint64(len(a.c))<<s < uint64(n)+1 {
		a.c = append(a.c, hugemem.Slice[T](1<<s))
		var z T
		a.share.add(int64(unsafe.Sizeof(z)) << s)
	}
}

func newForest() *forest {
	h := &heapShare{}
	f := &forest{seed: rand.Uint64() | 1, slotsAll: true, share: h}
	for _, a := range []*chunked[uint32]{&f.parent, &f.aux, &f.next, &f.up} {
		a.share = h
	}
	f.addrs.share = h
	f.newTable(1 << 10)
	// The forest has no Close: its writer is dropped. Its share is given
	// back when it is collected (the arrays go with it).
	runtime.AddCleanup(f, (*heapShare).release, h)
	return f
}

// newTable replaces the table with an empty one of n slots.
func (f *forest) newTable(n int) {
	f.share.add(int64(n-len(f.table)) * 8)
	f.table = hugemem.Slice[uint64](n)
}

func (f *forest) hash(k *clusterAddrKey) uint64 { return addrHash(f.seed, k) }

// addrHash is a keyed hash of an address key: the table is stored, so its
// hash must be the same in every process (hash/maphash's is not), and it
// is keyed by a random seed so that chosen addresses cannot crowd one
// stretch of the table.
func addrHash(seed uint64, k *clusterAddrKey) uint64 {
	h := seed ^ uint64(k[0])*0x9e3779b97f4a7c15
	for i := 1; i+8 <= len(k); i += 8 {
		hi, lo := bits.Mul64(h^binary.LittleEndian.Uint64(k[i:]), 0xbf58476d1ce4e5b9)
		h = hi ^ lo
	}
	hi, lo := bits.Mul64(h^seed, 0x94d049bb133111eb)
	return hi ^ lo
}

// A table slot holds an id in its low 32 bits and the high 32 bits of
// its address's hash above them, so a probe compares addresses only when
// the hashes agree (a probe that reads the address costs a cache miss).

// find returns the id of k, or 0 with k's hash and the empty slot where
// its probe ended (where insert would put it).
func (f *forest) find(k *clusterAddrKey) (id uint32, h, slot uint64) {
	h = f.hash(k)
	tag := h >> 32
	mask := uint64(len(f.table) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		e := f.table[i]
		if e == 0 {
			return 0, h, i
		}
		if e>>32 == tag && *f.addrs.at(uint32(e)) == *k {
			return uint32(e), h, i
		}
	}
}

// intern returns k's id, giving it the next one (a cluster of its own)
// when it has none; one probe of the table either way.
func (f *forest) intern(k *clusterAddrKey) (id uint32, added bool, err error) {
	id, h, slot := f.find(k)
	if id != 0 {
		return id, false, nil
	}
	if id, err = f.grow(*k); err != nil {
		return 0, false, err
	}
	if f.resized() {
		f.rebuild()
	} else {
		f.place(slot, h, id)
	}
	return id, true, nil
}

func (f *forest) insert(id uint32) {
	h := f.hash(f.addrs.at(id))
	mask := uint64(len(f.table) - 1)
	i := h & mask
	for f.table[i] != 0 {
		i = (i + 1) & mask
	}
	f.place(i, h, id)
}

// place puts id, of hash h, in the empty slot i.
func (f *forest) place(i, h uint64, id uint32) {
	f.table[i] = h>>32<<32 | uint64(id)
	if !f.slotsAll {
		p := i / pageSlots
		f.pages[p/64] |= 1 << (p % 64)
	}
}

// add gives k the next id, a cluster of its own (loading a stored forest,
// ids in order).
func (f *forest) add(k clusterAddrKey) (uint32, error) {
	id, err := f.grow(k)
	if err != nil {
		return 0, err
	}
	if f.resized() {
		f.rebuild()
	} else {
		f.insert(id)
	}
	return id, nil
}

// grow hands out the next id to k, a cluster of its own, without putting
// it in the table.
func (f *forest) grow(k clusterAddrKey) (uint32, error) {
	if f.n == math.MaxUint32-1 {
		return 0, fmt.Errorf("%w: more than %d addresses in the cluster forest", ErrTooLarge, f.n)
	}
	f.n++
	id := f.n
	for _, a := range []*chunked[uint32]{&f.parent, &f.aux, &f.next, &f.up} {
		a.grow(id)
	}
	f.addrs.grow(id)
	*f.parent.at(id), *f.aux.at(id), *f.next.at(id), *f.addrs.at(id), *f.up.at(id) = id, 1, id, k, id
	return id, nil
}

// resized doubles the table when its load passed 3/4, reporting whether
// it did (its entries must then be put again: rebuild).
func (f *forest) resized() bool {
	if uint64(f.n)*4 <= uint64(len(f.table))*3 {
		return false
	}
	f.newTable(2 * len(f.table))
	return true
}

// rebuild puts every id in the (new, empty) table, which a commit then
// writes whole.
func (f *forest) rebuild() {
	f.slotsAll, f.pages = true, nil
	for i := uint32(1); i <= f.n; i++ {
		f.insert(i)
	}
}

// clean marks the table as written: from now on a commit writes the pages
// of the slots filled after it.
func (f *forest) clean() {
	f.slotsAll = false
	n := (len(f.table)/pageSlots + 63) / 64
	if len(f.pages) != n {
		f.pages = make([]uint64, n)
	} else {
		clear(f.pages)
	}
}

// root returns the root of id's tree and the cluster's size, halving the
// path in up as it goes.
func (f *forest) root(id uint32) (uint32, uint32) {
	for {
		u := f.up.at(id)
		p := *u
		if p == id {
			return id, *f.aux.at(id)
		}
		g := *f.up.at(p)
		*u = g
		id = g
	}
}

// join makes ra the parent of rb (both roots).
func (f *forest) join(ra, rb uint32) {
	*f.parent.at(rb), *f.up.at(rb) = ra, ra
}

// bytes is the forest's memory now: what its ids and table use (the
// chunks' pages past the last id are not yet written, so take none).
func (f *forest) bytes() int64 {
	return (int64(f.n)+1)*(4*4+33) + int64(len(f.table))*8
}

// The forest on disk. The clustering pass keeps the whole forest in memory
// and writes it to two files in the store directory, under clusters/, not
// to Badger: two keys per address were most of a clustering run's time
// (Badger's memtable and log at ≈4 µs a key; measured on the 1M chain).
//
//	file              per          fields (little-endian)
//	forest.dat        address id   parent (4), aux (4: cluster size at a root, else TxNum+1 of
//	                  from 1       the union that set the parent), next member (4), address key (33:
//	                               class, payload padded to 32); 45 bytes
//	table-<gen>.dat   slot         hash tag (high 4) and address id (low 4), 0 when empty: an
//	                               open-addressing table, linear probing, ClusterState.TableSlots
//	                               slots, hash addrHash(ClusterState.TableSeed, key)
//
// Records of ids at or past the committed NextID, and table entries naming
// them, are a commit's under way (or a killed one's): readers ignore them.
// A commit rewrites the table as a new generation when it grew (or when
// the writer has just loaded the forest), and otherwise writes the slots
// it filled; committed records change only through the journal ('j').
const (
	forestRecord = 45
	clusterDir   = "clusters"
	forestFile   = "forest.dat"
)

func tableFile(gen uint32) string { return fmt.Sprintf("table-%d.dat", gen) }

// clusterFiles are the store's open forest files, shared by the writer
// and every reader. A file replaced or removed stays open (retired) until
// the store closes, so a reader pinned to an older state keeps reading it.
type clusterFiles struct {
	mu      sync.Mutex
	open    map[string]*os.File
	retired []*os.File
	// gone are the retired files by name: a reader whose snapshot names a
	// table generation the writer has since replaced and removed (a
	// published view taken before a commit, pinned after it) still finds
	// it here.
	gone map[string]*os.File
	// patches counts the states stored before committed records were
	// changed in place (a commit's journal copy, an undo): a reader whose
	// pin saw another count reads what changed since its state from the
	// undo records (Clusters.node). Bumped under mu with the state write.
	patches atomic.Uint64
}

// storeClusterState runs fn (which writes the cluster state) in one
// transaction; with patches, records of the forest file will be changed in
// place after it, and readers pinned before it must know.
func (s *Store) storeClusterState(patches bool, fn func(txn *badger.Txn) error) error {
	s.clust.mu.Lock()
	defer s.clust.mu.Unlock()
	if patches {
		s.clust.patches.Add(1)
	}
	return s.db.Update(fn)
}

func (s *Store) clusterPath(name string) string { return filepath.Join(s.dir, clusterDir, name) }

// clusterFile returns the open file name, opening it (creating it for the
// writer with create).
func (s *Store) clusterFile(name string, create bool) (*os.File, error) {
	c := s.clust
	c.mu.Lock()
	defer c.mu.Unlock()
	return s.clusterFileLocked(name, create)
}

func (s *Store) clusterFileLocked(name string, create bool) (*os.File, error) {
	c := s.clust
	if f := c.open[name]; f != nil {
		return f, nil
	}
	flag := os.O_RDONLY
	if !s.ro {
		flag = os.O_RDWR
		if create {
			flag |= os.O_CREATE
			if err := os.MkdirAll(filepath.Join(s.dir, clusterDir), 0o755); err != nil {
				return nil, err
			}
		}
	}
	f, err := os.OpenFile(s.clusterPath(name), flag, 0o644)
	if errors.Is(err, os.ErrNotExist) && !create && c.gone[name] != nil {
		return c.gone[name], nil
	}
	if err != nil {
		return nil, err
	}
	if c.open == nil {
		c.open = map[string]*os.File{}
	}
	c.open[name] = f
	return f, nil
}

// removeClusterFiles removes the files for which drop is true (all: the
// directory too), keeping them open for readers that hold them.
func (s *Store) removeClusterFiles(drop func(name string) bool) error {
	// What Badger was told before (a state naming another table, the
	// cluster keys dropped) reaches the disk before a file goes: a power
	// cut must not keep the removal and lose the change that made it safe.
	if !s.ro {
		if err := s.db.Sync(); err != nil {
			return err
		}
	}
	c := s.clust
	c.mu.Lock()
	defer c.mu.Unlock()
	ents, err := os.ReadDir(filepath.Join(s.dir, clusterDir))
	if errors.Is(err, os.ErrNotExist) {
		ents, err = nil, nil
	}
	if err != nil {
		return err
	}
	// Every file dropped is held open first, so a reader of an older
	// snapshot that names it can still pin it (clusterFileLocked).
	if c.open == nil {
		c.open = map[string]*os.File{}
	}
	for _, e := range ents {
		if drop(e.Name()) && c.open[e.Name()] == nil {
			if f, err := os.Open(s.clusterPath(e.Name())); err == nil {
				c.open[e.Name()] = f
			}
		}
	}
	for name, f := range c.open {
		if drop(name) {
			c.retired = append(c.retired, f)
			if c.gone == nil {
				c.gone = map[string]*os.File{}
			}
			c.gone[name] = f
			delete(c.open, name)
		}
	}
	for _, e := range ents {
		if drop(e.Name()) {
			if err := os.Remove(s.clusterPath(e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *clusterFiles) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, f := range c.open {
		errs = append(errs, f.Close())
	}
	for _, f := range c.retired {
		errs = append(errs, f.Close())
	}
	c.open, c.retired, c.gone = nil, nil, nil
	return errors.Join(errs...)
}

// clusterPin is a reader's view of the forest files: those of the state
// it read, taken together with it.
type clusterPin struct {
	forest, table *os.File
	patches       uint64 // clusterFiles.patches at the pin
}

// pinClusters reads the cluster state and opens its files at once, so a
// writer replacing the table in between cannot pair a state with another
// table.
func (s *Store) pinClusters() (ClusterState, clusterTable, bool, clusterPin, error) {
	s.clust.mu.Lock()
	defer s.clust.mu.Unlock()
	p := clusterPin{patches: s.clust.patches.Load()}
	if s.snap != nil {
		// The snapshot's state may predate changes counted already:
		// its first read checks the undo records.
		p.patches = math.MaxUint64
	}
	var st ClusterState
	var tab clusterTable
	var ok bool
	err := s.view(func(txn *badger.Txn) error {
		err := s.get(txn, keyClusterState, func(v []byte) error { return json.Unmarshal(v, &st) })
		if errors.Is(err, ErrNotFound) {
			st.NextID = 1
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: cluster state: %v", ErrCorrupt, err)
		}
		ok = true
		err = s.get(txn, keyClusterTable, func(v []byte) error { return json.Unmarshal(v, &tab) })
		if err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: cluster table: %v", ErrCorrupt, err)
		}
		return nil
	})
	if err != nil || !ok || st.NextID <= 1 {
		return st, tab, ok, clusterPin{}, err
	}
	if tab.Gen == 0 {
		return st, tab, ok, clusterPin{}, fmt.Errorf("%w: clusters stored by an older version of tracer (run tracer cluster --rebuild)", ErrClusterDirty)
	}
	if p.forest, err = s.clusterFileLocked(forestFile, false); err == nil {
		p.table, err = s.clusterFileLocked(tableFile(tab.Gen), false)
	}
	if err != nil {
		return st, tab, ok, clusterPin{}, fmt.Errorf("%w: cluster files: %v", ErrCorrupt, err)
	}
	return st, tab, ok, p, nil
}

// readRecord reads the forest record of id.
func (p clusterPin) readRecord(id AddrID, rec *[forestRecord]byte) error {
	if _, err := p.forest.ReadAt(rec[:], int64(id-1)*forestRecord); err != nil {
		return fmt.Errorf("%w: cluster node %d: %v", ErrCorrupt, id, err)
	}
	return nil
}

// recordNode decodes a forest record.
func recordNode(id AddrID, rec *[forestRecord]byte) (*clusterNode, error) {
	n := &clusterNode{
		parent: AddrID(binary.LittleEndian.Uint32(rec[0:])),
		next:   AddrID(binary.LittleEndian.Uint32(rec[8:])),
	}
	aux := binary.LittleEndian.Uint32(rec[4:])
	if n.parent == id {
		n.size = int64(aux)
	} else {
		n.link = uint64(aux)
	}
	var k clusterAddrKey
	copy(k[:], rec[12:])
	n.addr = keyAddr(&k)
	if n.parent == 0 || n.next == 0 || !n.addr.Kind.Valid() {
		return nil, fmt.Errorf("%w: cluster node %d", ErrCorrupt, id)
	}
	return n, nil
}

// lookup finds k's id in the stored table tab; 0 when absent.
// Entries at or past next are a commit's not in force: skipped.
func (p clusterPin) lookup(st *ClusterState, tab *clusterTable, k *clusterAddrKey) (AddrID, error) {
	slots := tab.Slots
	if slots == 0 || slots&(slots-1) != 0 {
		return 0, fmt.Errorf("%w: cluster table of %d slots", ErrCorrupt, slots)
	}
	h := addrHash(tab.Seed, k)
	tag := h >> 32
	mask := slots - 1
	var buf [64]byte
	var rec [forestRecord]byte
	for i, n := h&mask, uint64(0); n < slots; {
		// Read up to 8 slots at once, not past the table's end.
		m := min(8, slots-i)
		b := buf[:m*8]
		if _, err := p.table.ReadAt(b, int64(i)*8); err != nil {
			return 0, fmt.Errorf("%w: cluster table: %v", ErrCorrupt, err)
		}
		for j := 0; j < len(b); j += 8 {
			e := binary.LittleEndian.Uint64(b[j:])
			if e == 0 {
				return 0, nil
			}
			id := AddrID(uint32(e))
			if e>>32 == tag && id != 0 && id < st.NextID {
				if err := p.readRecord(id, &rec); err != nil {
					return 0, err
				}
				if [33]byte(rec[12:]) == *k {
					return id, nil
				}
			}
		}
		n += m
		i = (i + m) & mask
	}
	return 0, nil
}

// appendRecord appends the forest record of id.
func (f *forest) appendRecord(buf []byte, id uint32) []byte {
	buf = binary.LittleEndian.AppendUint32(buf, *f.parent.at(id))
	buf = binary.LittleEndian.AppendUint32(buf, *f.aux.at(id))
	buf = binary.LittleEndian.AppendUint32(buf, *f.next.at(id))
	return append(buf, f.addrs.at(id)[:]...)
}

// dumpForest calls fn with the committed forest as 'c' records (key
// clusterNodeKey(id), value the node as a journal record), for Dump.
func (s *Store) dumpForest(fn func(k, v []byte) error) error {
	c := s.Clusters()
	if err := c.pin(); err != nil || !c.stored {
		return err
	}
	for id := AddrID(1); id < c.st.NextID; id++ {
		n, err := c.node(id)
		if err != nil {
			return err
		}
		delete(c.nodes, id)
		if err := fn(clusterNodeKey(id), appendClusterNode(nil, n)); err != nil {
			return err
		}
	}
	return nil
}
