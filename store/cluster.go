package store

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"golang.org/x/sync/errgroup"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store/outtable"
)

// The cluster forest is a union-find over addresses, persisted under the
// 'k', 'c' and 'C' key families (see keys.go). Addresses get compact ids in
// order of first use. Every union attaches the smaller tree's root below the
// larger one's and remembers the transaction that caused it on that edge;
// parents are never path-compressed, so the tree path between two addresses
// holds exactly the unions that joined them, and the latest of those is the
// transaction that put them in one cluster (Clusters.Link). Union by size
// keeps paths at most log2(addresses) long. Each cluster's members also
// form a circular list through their next pointers (a union swaps the two
// roots' next pointers), so listing a cluster costs one read per member.

// AddrID is an address's id in the cluster forest; ids start at 1.
type AddrID uint64

// ClusterState is the clustering pass's progress and counters, stored
// under the meta key "cluster-state".
type ClusterState struct {
	NextTx    TxNum    `json:"next_tx"` // first transaction not yet clustered
	NextID    AddrID   `json:"next_id"` // next address id to hand out (ids start at 1)
	Addresses int64    `json:"addresses"`
	Clusters  int64    `json:"clusters"` // roots: Addresses minus successful unions
	Unions    int64    `json:"unions"`
	Largest   int64    `json:"largest"` // size of the largest cluster
	Txs       int64    `json:"txs"`     // transactions examined
	CoinJoins int64    `json:"coinjoins"`
	Refused   int64    `json:"refused"` // merges the size guard refused
	Change    int64    `json:"change_links"`
	MaxMerge  int64    `json:"max_merge"`
	Rules     []string `json:"change_rules"`
	// Journal is set while a commit copies its journal ('j') to the nodes:
	// readers read the journal first.
	Journal bool `json:"journal,omitempty"`
	// Dirty is set when a reorganisation undid clustered transactions (or,
	// in stores of older versions, while a commit wrote); only a rebuild
	// repairs it.
	Dirty bool `json:"dirty"`
}

// ClusterRefusal is a merge the size guard refused: two clusters, both
// larger than the guard, that transaction Tx would have joined.
type ClusterRefusal struct {
	Tx    TxNum  `json:"tx"`
	A     AddrID `json:"a"` // the two roots at the time
	B     AddrID `json:"b"`
	SizeA int64  `json:"size_a"`
	SizeB int64  `json:"size_b"`
	Rule  string `json:"rule"` // "multi-input" or a change rule
}

var (
	keyClusterState = append([]byte{prefixMeta}, "cluster-state"...)
	keyClusterTable = append([]byte{prefixMeta}, "forest-table"...)
)

// clusterTable names the address table file in force (see the forest
// files in clusterforest.go): its generation, size and hash seed. It is
// written with the cluster state, in one transaction, but kept apart from
// it: two stores with the same clusters may hold different tables.
type clusterTable struct {
	Gen   uint32 `json:"gen"`
	Slots uint64 `json:"slots"`
	Seed  uint64 `json:"seed"`
}

// clusterTable reads the table in force; Gen 0 when there is none.
func (s *Store) clusterTable() (clusterTable, error) {
	var t clusterTable
	err := s.view(func(txn *badger.Txn) error {
		return s.get(txn, keyClusterTable, func(v []byte) error { return json.Unmarshal(v, &t) })
	})
	if errors.Is(err, ErrNotFound) {
		return clusterTable{}, nil
	}
	if err != nil {
		return t, fmt.Errorf("%w: cluster table: %v", ErrCorrupt, err)
	}
	return t, nil
}

func clusterNodeKey(id AddrID) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixClusterNode}, uint64(id))
}

func clusterJournalKey(id AddrID) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixClusterJournal}, uint64(id))
}

func clusterRefusalKey(r ClusterRefusal) []byte {
	k := binary.BigEndian.AppendUint64([]byte{prefixClusterRefusal}, uint64(r.Tx))
	k = binary.BigEndian.AppendUint64(k, uint64(r.A))
	return binary.BigEndian.AppendUint64(k, uint64(r.B))
}

// clusterAddrKey is an address in map-key form: class and payload.
type clusterAddrKey [33]byte

func keyOf(a address.Addr) clusterAddrKey {
	var k clusterAddrKey
	k[0] = byte(a.Kind.Class())
	copy(k[1:], a.Payload[:])
	return k
}

// keyAddr is the address of a map key.
func keyAddr(k *clusterAddrKey) address.Addr {
	a := address.Addr{Kind: address.Kind(k[0])}
	copy(a.Payload[:], k[1:])
	return a
}

// clusterNode is the 'c' record: parent, size (meaningful at a root), link
// (TxNum+1 of the union that set parent; 0 at a root), next member, address.
type clusterNode struct {
	parent AddrID
	size   int64
	link   uint64
	next   AddrID
	addr   address.Addr
}

func appendClusterNode(buf []byte, n *clusterNode) []byte {
	buf = binary.AppendUvarint(buf, uint64(n.parent))
	buf = binary.AppendUvarint(buf, uint64(n.size))
	buf = binary.AppendUvarint(buf, n.link)
	buf = binary.AppendUvarint(buf, uint64(n.next))
	buf = append(buf, byte(n.addr.Kind))
	return append(buf, n.addr.Bytes()...)
}

func decodeClusterNode(v []byte) (*clusterNode, error) {
	d := decoder{b: v}
	n := &clusterNode{parent: AddrID(d.uvarint()), size: int64(d.uvarint()), link: d.uvarint(), next: AddrID(d.uvarint())}
	n.addr.Kind = address.Kind(d.byte1())
	if d.err == nil && !n.addr.Kind.Valid() {
		d.err = ErrCorrupt
	}
	if d.err == nil {
		copy(n.addr.Payload[:], d.bytes(n.addr.Kind.PayloadLen()))
	}
	if d.err != nil || len(d.b) != 0 || n.parent == 0 || n.next == 0 {
		return nil, fmt.Errorf("%w: cluster node", ErrCorrupt)
	}
	return n, nil
}

// ClusterState returns the clustering state; ok is false when the store
// was never clustered.
func (s *Store) ClusterState() (st ClusterState, ok bool, err error) {
	err = s.view(func(txn *badger.Txn) error {
		err := s.get(txn, keyClusterState, func(v []byte) error { return json.Unmarshal(v, &st) })
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: cluster state: %v", ErrCorrupt, err)
		}
		ok = true
		return nil
	})
	if !ok {
		st = ClusterState{NextID: 1}
	}
	return st, ok, err
}

// Clusters reads the cluster forest as of the state committed when it
// first reads (what a killed or running commit wrote is invisible). It
// caches what it reads and is meant for one goroutine and one task (a
// trace, an entity listing).
type Clusters struct {
	s     *Store
	ids   map[clusterAddrKey]AddrID
	nodes map[AddrID]*clusterNode
	st    ClusterState
	table clusterTable
	files clusterPin
	// overlay holds, for records changed in place since the pin, their
	// value as of the pinned state (from the undo records), as of the
	// files' patch count overlaid.
	overlay  map[AddrID][]byte
	overlaid uint64
	stored   bool
	err      error
	pinned   bool
}

// Clusters returns a reader of the cluster forest.
func (s *Store) Clusters() *Clusters {
	return &Clusters{s: s, ids: map[clusterAddrKey]AddrID{}, nodes: map[AddrID]*clusterNode{}}
}

func (c *Clusters) pin() error {
	if !c.pinned {
		c.st, c.table, c.stored, c.files, c.err = c.s.pinClusters()
		c.stored = c.stored && c.st.NextID > 1
		c.pinned = true
	}
	return c.err
}

// Lookup returns a's address id; false when a is in no cluster yet (it
// never appeared in a linking transaction: a cluster of its own).
func (c *Clusters) Lookup(a address.Addr) (AddrID, bool, error) {
	if err := c.pin(); err != nil || !c.stored {
		return 0, false, err
	}
	k := keyOf(a)
	if id, ok := c.ids[k]; ok {
		return id, true, nil
	}
	id, err := c.files.lookup(&c.st, &c.table, &k)
	if err != nil || id == 0 {
		return 0, false, err
	}
	c.ids[k] = id
	return id, true, nil
}

func (c *Clusters) node(id AddrID) (*clusterNode, error) {
	if n, ok := c.nodes[id]; ok {
		return n, nil
	}
	if err := c.pin(); err != nil {
		return nil, err
	}
	if !c.stored || id == 0 || id >= c.st.NextID {
		return nil, fmt.Errorf("%w: cluster node %d", ErrNotFound, id)
	}
	var n *clusterNode
	if c.st.Journal {
		err := c.s.view(func(txn *badger.Txn) error {
			return c.s.get(txn, clusterJournalKey(id), func(v []byte) (err error) { n, err = decodeClusterNode(v); return err })
		})
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	if n == nil {
		var rec [forestRecord]byte
		if err := c.files.readRecord(id, &rec); err != nil {
			return nil, err
		}
		var err error
		if n, err = recordNode(id, &rec); err != nil {
			return nil, err
		}
		// Checked after the read: a record changed in place was counted
		// before it changed.
		if c.files.patches != c.s.clust.patches.Load() {
			if err := c.loadOverlay(); err != nil {
				return nil, err
			}
			if v, ok := c.overlay[id]; ok {
				if n, err = decodeClusterNode(v); err != nil {
					return nil, err
				}
			}
		}
	}
	if n.parent >= c.st.NextID || n.next >= c.st.NextID {
		return nil, fmt.Errorf("%w: cluster node %d points past the forest", ErrCorrupt, id)
	}
	c.nodes[id] = n
	return n, nil
}

// loadOverlay reads, from the undo records of the commits after the
// pinned state, the records those commits changed, as they were at the
// pin (the oldest commit's record of a node wins).
func (c *Clusters) loadOverlay() error {
	g := c.s.clust.patches.Load()
	if c.overlay != nil && c.overlaid == g {
		return nil
	}
	over := map[AddrID][]byte{}
	next, records := c.st.NextTx, 0
	moved := fmt.Errorf("%w: the clusters changed past what a reader of the state at tx %d can undo; read again", ErrClusterDirty, c.st.NextTx)
	var now ClusterState
	err := c.s.db.View(func(txn *badger.Txn) error {
		if err := c.s.get(txn, keyClusterState, func(v []byte) error { return json.Unmarshal(v, &now) }); err != nil {
			return err
		}
		prefix := []byte{prefixClusterUndo}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Seek(clusterUndoKey(c.st.NextTx + 1)); it.ValidForPrefix(prefix); it.Next() {
			k := it.Item().Key()
			if len(k) != 9 {
				return fmt.Errorf("%w: cluster undo key %x", ErrCorrupt, k)
			}
			at := TxNum(binary.BigEndian.Uint64(k[1:]))
			if at > now.NextTx {
				break // a killed commit's
			}
			var u *clusterUndo
			if err := it.Item().Value(func(v []byte) (err error) { u, err = decodeClusterUndo(v); return err }); err != nil {
				return err
			}
			if u.prev.NextTx != next {
				return moved // a commit without an undo record on the way
			}
			for i, id := range u.ids {
				if _, ok := over[id]; !ok {
					over[id] = u.nodes[i]
				}
			}
			next, records = at, records+1
		}
		return nil
	})
	if err != nil {
		return err
	}
	if next != now.NextTx || records == 0 && (now.NextTx != c.st.NextTx || now.NextID != c.st.NextID || now.Unions != c.st.Unions) {
		return moved // rolled back below the pin, or changed without undo records
	}
	c.overlay, c.overlaid = over, g
	return nil
}

// Root returns the root of id's cluster and the cluster's size.
func (c *Clusters) Root(id AddrID) (AddrID, int64, error) {
	for range 128 { // union by size bounds the depth by log2(ids)
		n, err := c.node(id)
		if err != nil {
			return 0, 0, err
		}
		if n.parent == id {
			return id, n.size, nil
		}
		id = n.parent
	}
	return 0, 0, fmt.Errorf("%w: cluster tree too deep at %d", ErrCorrupt, id)
}

// Addr returns the address with this id.
func (c *Clusters) Addr(id AddrID) (address.Addr, error) {
	n, err := c.node(id)
	if err != nil {
		return address.Addr{}, err
	}
	return n.addr, nil
}

// Link returns the transaction that put a and b in one cluster: the latest
// union on the tree path between them. ok is false when they are in
// different clusters; a == b gives ok and no transaction (same is true).
func (c *Clusters) Link(a, b AddrID) (tx TxNum, ok bool, err error) {
	if a == b {
		return 0, true, nil
	}
	// Latest union on the way up from a, to each ancestor.
	upA := map[AddrID]uint64{}
	var best uint64
	for id, i := a, 0; ; i++ {
		n, err := c.node(id)
		if err != nil {
			return 0, false, err
		}
		upA[id] = best
		if n.parent == id || i > 128 {
			break
		}
		best = max(best, n.link)
		id = n.parent
	}
	best = 0
	for id, i := b, 0; ; i++ {
		if m, ok := upA[id]; ok {
			best = max(best, m)
			if best == 0 {
				return 0, false, fmt.Errorf("%w: cluster link %d–%d without a transaction", ErrCorrupt, a, b)
			}
			return TxNum(best - 1), true, nil
		}
		n, err := c.node(id)
		if err != nil {
			return 0, false, err
		}
		if n.parent == id || i > 128 {
			return 0, false, nil
		}
		best = max(best, n.link)
		id = n.parent
	}
}

// Members calls fn with the members of id's cluster, starting after the
// member `after` (0: from the cluster's root), until fn returns false or
// every member was listed. The order is the cluster's member ring, stable
// until the next union touching the cluster.
func (c *Clusters) Members(id, after AddrID, fn func(AddrID, address.Addr) bool) error {
	root, size, err := c.Root(id)
	if err != nil {
		return err
	}
	cur := root
	if after != 0 {
		if r, _, err := c.Root(after); err != nil || r != root {
			return fmt.Errorf("%w: %d is not a member of cluster %d", ErrNotFound, after, root)
		}
		n, err := c.node(after)
		if err != nil {
			return err
		}
		if n.next == root {
			return nil
		}
		cur = n.next
	}
	for i := int64(0); i <= size; i++ {
		n, err := c.node(cur)
		if err != nil {
			return err
		}
		if !fn(cur, n.addr) || n.next == root {
			return nil
		}
		cur = n.next
	}
	return fmt.Errorf("%w: member ring of cluster %d longer than its size %d", ErrCorrupt, root, size)
}

// ClusterRefusals calls fn with every refused merge of the committed
// forest, in transaction order.
func (s *Store) ClusterRefusals(fn func(ClusterRefusal) bool) error {
	st, ok, err := s.ClusterState()
	if err != nil || !ok {
		return err
	}
	return s.view(func(txn *badger.Txn) error {
		prefix := []byte{prefixClusterRefusal}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			if k := it.Item().Key(); len(k) < 9 || TxNum(binary.BigEndian.Uint64(k[1:9])) >= st.NextTx {
				return nil // a commit not in force
			}
			var r ClusterRefusal
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &r) }); err != nil {
				return fmt.Errorf("%w: cluster refusal %x: %v", ErrCorrupt, it.Item().Key(), err)
			}
			if !fn(r) {
				return nil
			}
		}
		return nil
	})
}

// ClusterWriter builds the forest in memory (see forest) and writes what
// changed at each Commit. There is one writer at a time (the clustering
// pass). A commit is atomic for readers, who see the forest of the last
// committed state and nothing of a commit under way or killed:
//
//   - new addresses ('k', and their 'c' nodes, ids at or past the committed
//     NextID) and refusals (at or past the committed NextTx) are written in
//     place: readers ignore them until the state that counts them is stored;
//   - changed nodes of committed ids go first to the journal ('j'), then the
//     state is stored with Journal set (the commit point: readers now read
//     'j' before 'c'), then copied to 'c', and the state stored again
//     without Journal.
//
// A writer opening on a state with Journal set finishes the copy; on one
// without, it deletes the journal a killed commit left; with no state at
// all, it deletes what a killed first build left. So a killed run resumes
// from its last commit and never shows half a commit.
type ClusterWriter struct {
	s         *Store
	st        ClusterState // working state
	committed ClusterState // what readers see
	stored    bool         // a state is stored
	f         *forest
	table     clusterTable // the table file in force
	dirtyBits []uint64     // committed ids changed since the last commit
	dirty     []uint32
	// iv is the undo interval under way, since the last commit or Mark;
	// ivBits marks its nodes; marks are the intervals Mark closed since
	// the last commit. Each gets an undo record at the next commit.
	iv       undoInterval
	ivBits   []uint64
	marks    []undoInterval
	refusals []ClusterRefusal
	buf      []byte // new records on their way to the forest file
	// hook, in tests, fails a commit after a step (ClusterStep*) as a kill
	// there would.
	hook func(step string) error
}

// NewClusterWriter starts a writer at the stored state, loading the
// stored forest into memory (one pass over the 'c' family). With rebuild,
// every cluster key is deleted first. A state marked dirty (undone by a
// reorganisation) is ErrClusterDirty.
func (s *Store) NewClusterWriter(rebuild bool) (*ClusterWriter, error) {
	if s.ro {
		return nil, ErrReadOnly
	}
	st, ok, err := s.writerClusterState(rebuild)
	if err != nil {
		return nil, err
	}
	w := &ClusterWriter{s: s, st: st, committed: st, stored: ok, f: newForest()}
	if err := w.settle(); err != nil {
		return nil, err
	}
	if ok {
		if err := w.loadStored(); err != nil {
			return nil, err
		}
	}
	// Undo to a state never stored is impossible: the first interval of
	// a first build gets no undo record.
	w.iv = undoInterval{prev: w.committed, off: !w.stored}
	return w, nil
}

// writerClusterState is the state a new writer starts from (ok: one is
// stored): after dropping everything for a rebuild, finishing a rollback a
// kill interrupted, or dropping an older version's forest.
func (s *Store) writerClusterState(rebuild bool) (st ClusterState, ok bool, err error) {
	if rebuild {
		if err := s.dropClusters(true); err != nil {
			return st, false, err
		}
	}
	st, ok, err = s.ClusterState()
	if err == nil && ok && st.Dirty {
		// A rollback that was killed before it restored the clusters.
		if err = s.undoClusters(); err == nil {
			st, ok, err = s.ClusterState()
		}
	}
	if err != nil {
		return st, false, err
	}
	if ok && st.Dirty {
		return st, false, ErrClusterDirty
	}
	if tab, err := s.clusterTable(); err != nil {
		return st, false, err
	} else if ok && tab.Gen == 0 && st.NextID > 1 {
		// An older version's forest, in Badger keys: cluster again.
		s.log.Info("store: clusters stored by an older version are built again")
		if err := s.dropClusters(true); err != nil {
			return st, false, err
		}
		return ClusterState{NextID: 1}, false, nil
	}
	return st, ok, nil
}

// settle clears what a killed commit left beside the stored state: with
// no state, everything; a journal, copied to the forest file; else stray
// journal keys.
func (w *ClusterWriter) settle() error {
	s := w.s
	switch {
	case !w.stored:
		// Nothing is visible without a state: whatever is stored is a
		// killed first build's.
		return s.dropClusters(false)
	case w.st.Journal:
		st := w.st
		if err := s.finishClusterJournal(&st); err != nil {
			return err
		}
		w.st, w.committed = st, st
		return nil
	default:
		return s.dropIfAny(prefixClusterJournal)
	}
}

// loadStored drops refusals and table files past the stored state (a
// killed commit's) and loads the stored forest.
func (w *ClusterWriter) loadStored() error {
	s := w.s
	if err := s.deleteRefusalsFrom(w.st.NextTx); err != nil {
		return err
	}
	// Tables of other generations are a killed commit's.
	tab, err := s.clusterTable()
	if err != nil {
		return err
	}
	w.table = tab
	keep := tableFile(tab.Gen)
	if err := s.removeClusterFiles(func(name string) bool { return name != forestFile && name != keep }); err != nil {
		return fmt.Errorf("store: cluster files: %w", err)
	}
	return w.load()
}

// dropClusters deletes every cluster key, and with state the state too.
func (s *Store) dropClusters(state bool) error {
	prefixes := [][]byte{{prefixClusterAddr}, {prefixClusterNode}, {prefixClusterRefusal}, {prefixClusterJournal}, {prefixClusterUndo}}
	if state {
		prefixes = append(prefixes, keyClusterState, keyClusterTable)
	}
	for _, p := range prefixes {
		if err := s.dropIfAny(p...); err != nil {
			return err
		}
	}
	if err := s.removeClusterFiles(func(string) bool { return true }); err != nil {
		return fmt.Errorf("store: drop cluster files: %w", err)
	}
	return nil
}

// dropIfAny drops the keys under prefix when there is one (DropPrefix
// costs a flush even when there is nothing to drop).
func (s *Store) dropIfAny(prefix ...byte) error {
	found := false
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		it.Seek(prefix)
		found = it.ValidForPrefix(prefix)
		return nil
	})
	if err == nil && found {
		err = s.db.DropPrefix(prefix)
	}
	if err != nil {
		return fmt.Errorf("store: drop cluster keys %q: %w", prefix, err)
	}
	return nil
}

// finishClusterJournal copies a committed journal to the forest file and
// clears it (idempotent: a kill during it is finished by the next writer).
func (s *Store) finishClusterJournal(st *ClusterState) error {
	prefix := []byte{prefixClusterJournal}
	var ids []AddrID
	var recs [][]byte
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			k := it.Item().Key()
			if len(k) != 9 {
				return fmt.Errorf("%w: cluster journal key %x", ErrCorrupt, k)
			}
			id := AddrID(binary.BigEndian.Uint64(k[1:]))
			var n *clusterNode
			if err := it.Item().Value(func(v []byte) (err error) { n, err = decodeClusterNode(v); return err }); err != nil {
				return fmt.Errorf("cluster journal %x: %w", k, err)
			}
			if id == 0 || id >= st.NextID {
				continue // past the forest in force
			}
			ids, recs = append(ids, id), append(recs, nodeRecord(n))
		}
		return nil
	})
	if err == nil && len(ids) > 0 {
		err = s.writeRecords(ids, recs)
	}
	if err == nil {
		st.Journal = false
		err = s.db.Update(func(txn *badger.Txn) error { return txn.Set(keyClusterState, mustJSON(st)) })
	}
	if err == nil {
		err = s.dropIfAny(prefixClusterJournal)
	}
	if err != nil {
		return fmt.Errorf("store: finish cluster commit: %w", err)
	}
	return nil
}

// nodeRecord is the forest record of a node.
func nodeRecord(n *clusterNode) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(n.parent))
	if n.link == 0 { // a root
		b = binary.LittleEndian.AppendUint32(b, uint32(n.size))
	} else {
		b = binary.LittleEndian.AppendUint32(b, uint32(n.link))
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(n.next))
	k := keyOf(n.addr)
	return append(b, k[:]...)
}

// writeRecords writes forest records in place and syncs the file.
func (s *Store) writeRecords(ids []AddrID, recs [][]byte) error {
	f, err := s.clusterFile(forestFile, true)
	if err != nil {
		return err
	}
	for i, id := range ids {
		if _, err := f.WriteAt(recs[i], int64(id-1)*forestRecord); err != nil {
			return err
		}
	}
	return f.Sync()
}

// deleteRefusalsFrom deletes refusals a killed commit left (at or past
// the committed NextTx).
func (s *Store) deleteRefusalsFrom(tx TxNum) error {
	var keys [][]byte
	err := s.view(func(txn *badger.Txn) error {
		prefix := []byte{prefixClusterRefusal}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Seek(binary.BigEndian.AppendUint64(prefix, uint64(tx))); it.ValidForPrefix(prefix); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.deleteKeys(keys)
}

// load reads the committed forest into memory: one sequential read of the
// forest file.
func (w *ClusterWriter) load() error {
	next := w.committed.NextID
	if next < 1 {
		next = 1
	}
	if uint64(next) > math.MaxUint32 {
		return fmt.Errorf("%w: cluster forest of %d addresses", ErrTooLarge, next-1)
	}
	slots := 1 << 10
	for uint64(slots)*3 < 4*uint64(next-1) { // as add grows it
		slots *= 2
	}
	w.f.newTable(slots)
	if w.table.Seed != 0 {
		w.f.seed = w.table.Seed
	}
	if next == 1 {
		return nil
	}
	err := func() error {
		file, err := w.s.clusterFile(forestFile, false)
		if err != nil {
			return err
		}
		r := bufio.NewReaderSize(io.NewSectionReader(file, 0, int64(next-1)*forestRecord), 1<<20)
		var rec [forestRecord]byte
		for id := AddrID(1); id < next; id++ {
			if _, err := io.ReadFull(r, rec[:]); err != nil {
				return fmt.Errorf("%w: cluster node %d: %v", ErrCorrupt, id, err)
			}
			n, err := recordNode(id, &rec)
			if err != nil {
				return err
			}
			if n.parent >= next || n.next >= next {
				return fmt.Errorf("%w: cluster node %d points past the forest", ErrCorrupt, id)
			}
			if _, err := w.f.add(keyOf(n.addr)); err != nil {
				return err
			}
			i := uint32(id)
			*w.f.parent.at(i), *w.f.up.at(i), *w.f.next.at(i) = uint32(n.parent), uint32(n.parent), uint32(n.next)
			*w.f.aux.at(i) = binary.LittleEndian.Uint32(rec[4:])
		}
		return nil
	}()
	if err != nil {
		return fmt.Errorf("store: load clusters: %w", err)
	}
	w.f.slotsAll, w.f.pages = true, nil // the first commit writes the table anew
	return nil
}

// Committed is the state readers see (the last commit's).
func (w *ClusterWriter) Committed() ClusterState { return w.committed }

// State is the writer's state; the pass updates its counters and NextTx,
// Commit stores it.
func (w *ClusterWriter) State() *ClusterState { return &w.st }

// MemoryBytes is the memory the in-memory forest holds.
func (w *ClusterWriter) MemoryBytes() int64 { return w.f.bytes() }

// Intern returns a's id, giving it a new one (a cluster of its own) when it
// has none.
func (w *ClusterWriter) Intern(a address.Addr) (AddrID, error) {
	k := keyOf(a)
	id, added, err := w.f.intern(&k)
	if err != nil || !added {
		return AddrID(id), err
	}
	w.st.NextID = AddrID(id) + 1
	w.st.Addresses++
	w.st.Clusters++
	w.st.Largest = max(w.st.Largest, 1)
	return AddrID(id), nil
}

// touch marks a node about to change: for the journal when committed,
// for the undo interval (with its record as it is) when it existed at the
// interval's start.
func (w *ClusterWriter) touch(id uint32) {
	w.iv.touch(w, id)
	if !w.stored || AddrID(id) >= w.committed.NextID {
		return // new since the last commit: written anyway
	}
	i := id / 64
	for int(i) >= len(w.dirtyBits) {
		w.dirtyBits = append(w.dirtyBits, 0)
	}
	if w.dirtyBits[i]&(1<<(id%64)) == 0 {
		w.dirtyBits[i] |= 1 << (id % 64)
		w.dirty = append(w.dirty, id)
	}
}

// Union joins the clusters of a and b because of transaction tx. It returns
// false when they already were one cluster, and a refusal (not joined) when
// both clusters are larger than guard (guard 0: no limit).
func (w *ClusterWriter) Union(a, b AddrID, tx TxNum, guard int64, rule string) (bool, *ClusterRefusal, error) {
	if a == 0 || b == 0 || uint64(a) > uint64(w.f.n) || uint64(b) > uint64(w.f.n) {
		return false, nil, fmt.Errorf("%w: union of %d and %d in a forest of %d", ErrNotFound, a, b, w.f.n)
	}
	if uint64(tx)+1 > math.MaxUint32 {
		return false, nil, fmt.Errorf("%w: transaction %d past the cluster forest's 32-bit links", ErrTooLarge, tx)
	}
	ra, sa := w.f.root(uint32(a))
	rb, sb := w.f.root(uint32(b))
	if ra == rb {
		return false, nil, nil
	}
	if guard > 0 && int64(sa) > guard && int64(sb) > guard {
		r := ClusterRefusal{Tx: tx, A: AddrID(ra), B: AddrID(rb), SizeA: int64(sa), SizeB: int64(sb), Rule: rule}
		for i := len(w.refusals) - 1; i >= 0 && w.refusals[i].Tx == tx; i-- {
			if old := w.refusals[i]; old.A == r.A && old.B == r.B || old.A == r.B && old.B == r.A {
				return false, nil, nil // the same merge, refused already
			}
		}
		w.refusals = append(w.refusals, r)
		w.st.Refused++
		return false, &r, nil
	}
	if sa < sb || sa == sb && rb < ra {
		ra, rb = rb, ra
	}
	w.touch(ra)
	w.touch(rb)
	f := w.f
	f.join(ra, rb)
	*f.aux.at(rb) = uint32(tx) + 1
	*f.aux.at(ra) = sa + sb
	na, nb := f.next.at(ra), f.next.at(rb)
	*na, *nb = *nb, *na
	w.st.Unions++
	w.st.Clusters--
	w.st.Largest = max(w.st.Largest, int64(sa+sb))
	return true, nil, nil
}

// appendNode appends the 'c' record of id.
func (w *ClusterWriter) appendNode(buf []byte, id uint32) []byte {
	f := w.f
	n := clusterNode{parent: AddrID(*f.parent.at(id)), next: AddrID(*f.next.at(id)), addr: keyAddr(f.addrs.at(id))}
	if n.parent == AddrID(id) {
		n.size = int64(*f.aux.at(id))
	} else {
		n.link = uint64(*f.aux.at(id))
	}
	return appendClusterNode(buf, &n)
}

// The durable steps of a cluster commit, for Options.ClusterHook.
const (
	ClusterStepWritten = "cluster-written" // new nodes, refusals and journal written; state not yet
	ClusterStepJournal = "cluster-journal" // state written with Journal set: the commit point
	ClusterStepCopied  = "cluster-copied"  // journal copied to the nodes; state still says Journal
	ClusterStepDone    = "cluster-done"    // state without Journal; journal deleted
)

func (w *ClusterWriter) step(name string) error {
	if w.s.clustHook != nil {
		w.s.clustHook(name)
	}
	if w.hook != nil {
		return w.hook(name)
	}
	return nil
}

// Commit writes everything changed since the last commit and then the
// state, atomically for readers (see ClusterWriter).
func (w *ClusterWriter) Commit() error {
	if err := w.commit(); err != nil {
		return fmt.Errorf("store: commit clusters: %w", err)
	}
	return nil
}

func (w *ClusterWriter) commit() error {
	s := w.s
	// New nodes, appended to the forest file (invisible until the state
	// counts them).
	file, err := s.clusterFile(forestFile, true)
	if err != nil {
		return err
	}
	if err := w.appendNodes(file); err != nil {
		return err
	}
	st := w.st
	tab, newTable, err := w.commitTable()
	if err != nil {
		return err
	}
	if err := file.Sync(); err != nil {
		return err
	}
	ids, recs, err := w.writeBatch()
	if err != nil {
		return err
	}
	if err := w.step(ClusterStepWritten); err != nil {
		return err
	}
	st.Dirty, st.Journal = false, len(w.dirty) > 0
	err = s.storeClusterState(st.Journal, func(txn *badger.Txn) error {
		if err := txn.Set(keyClusterTable, mustJSON(&tab)); err != nil {
			return err
		}
		return txn.Set(keyClusterState, mustJSON(&st))
	})
	if err != nil {
		return err
	}
	w.committed, w.stored, w.table = st, true, tab
	w.f.clean()
	if newTable {
		keep := tableFile(tab.Gen)
		if err := s.removeClusterFiles(func(name string) bool { return name != forestFile && name != keep }); err != nil {
			return err
		}
	}
	if st.Journal {
		if err := w.copyJournal(st, ids, recs); err != nil {
			return err
		}
	}
	clear(w.dirtyBits)
	w.dirty, w.refusals, w.marks = w.dirty[:0], w.refusals[:0], w.marks[:0]
	w.iv = undoInterval{prev: w.committed}
	if err := s.pruneClusterUndo(w.committed.NextTx); err != nil {
		return err
	}
	return w.step(ClusterStepDone)
}

// appendNodes writes the nodes added since the last commit to the end of
// the forest file, unsynced.
func (w *ClusterWriter) appendNodes(file io.WriterAt) error {
	from := uint32(1)
	if w.stored && w.committed.NextID > 1 {
		from = uint32(w.committed.NextID)
	}
	// One buffer of up to 4 MB, kept between commits: a per-block
	// commit appends a few kilobytes.
	if need := min(4<<20, (int64(w.f.n)+1-int64(from))*forestRecord); int64(cap(w.buf)) < need {
		w.buf = make([]byte, 0, need)
	}
	buf := w.buf[:0]
	off := int64(from-1) * forestRecord
	for id := from; id <= w.f.n && id != 0; id++ {
		buf = w.f.appendRecord(buf, id)
		if len(buf)+forestRecord > cap(buf) || id == w.f.n {
			if _, err := file.WriteAt(buf, off); err != nil {
				return err
			}
			off += int64(len(buf))
			buf = buf[:0]
		}
	}
	return nil
}

// commitTable writes the address table: a new generation when it was
// rebuilt whole (or none is stored), else the slots filled in place. It
// returns the table record to store and whether the generation is new
// (the old files go once the state names it).
func (w *ClusterWriter) commitTable() (clusterTable, bool, error) {
	tab := clusterTable{Gen: w.table.Gen, Slots: uint64(len(w.f.table)), Seed: w.f.seed}
	newTable := w.f.slotsAll || !w.stored || tab.Gen == 0
	if newTable {
		tab.Gen++
		if err := w.s.writeTable(tableFile(tab.Gen), w.f.table); err != nil {
			return tab, false, err
		}
	} else if err := w.writeSlots(tableFile(tab.Gen)); err != nil {
		return tab, false, err
	}
	return tab, newTable, nil
}

// writeBatch writes the refusals, the undo records and the journal of the
// changed nodes in one batch. It returns the changed ids and their forest
// records, for copyJournal.
func (w *ClusterWriter) writeBatch() (ids []AddrID, recs [][]byte, err error) {
	wb := w.s.db.NewWriteBatch()
	for _, r := range w.refusals {
		if err := wb.Set(clusterRefusalKey(r), mustJSON(&r)); err != nil {
			wb.Cancel()
			return nil, nil, err
		}
	}
	slices.Sort(w.dirty)
	// A commit with no new transaction (an Extend with nothing new, a
	// writer's first commit rewriting the table) changes no node and
	// keeps the previous commit's undo record, which has its key.
	w.Mark()
	for i := range w.marks {
		u, err := w.marks[i].record()
		if err == nil {
			err = wb.Set(clusterUndoKey(w.marks[i].next), u)
		}
		if err != nil {
			wb.Cancel()
			return nil, nil, err
		}
	}
	ids = make([]AddrID, len(w.dirty))
	recs = make([][]byte, len(w.dirty))
	for i, id := range w.dirty {
		ids[i], recs[i] = AddrID(id), w.f.appendRecord(nil, id)
		if err := wb.Set(clusterJournalKey(AddrID(id)), w.appendNode(nil, id)); err != nil {
			wb.Cancel()
			return nil, nil, err
		}
	}
	return ids, recs, wb.Flush()
}

// copyJournal, after the state is committed, copies the journalled nodes
// into the forest file, marks the state journal-free and deletes the
// journal; a kill in between leaves a journal the next open copies again.
func (w *ClusterWriter) copyJournal(st ClusterState, ids []AddrID, recs [][]byte) error {
	s := w.s
	if err := w.step(ClusterStepJournal); err != nil {
		return err
	}
	if err := s.writeRecords(ids, recs); err != nil {
		return err
	}
	if err := w.step(ClusterStepCopied); err != nil {
		return err
	}
	st.Journal = false
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(keyClusterState, mustJSON(&st)) }); err != nil {
		return err
	}
	w.committed = st
	wb := s.db.NewWriteBatch()
	for _, id := range w.dirty {
		if err := wb.Delete(clusterJournalKey(AddrID(id))); err != nil {
			wb.Cancel()
			return err
		}
	}
	return wb.Flush()
}

// writeTable writes a whole address table as a new file and syncs it.
func (s *Store) writeTable(name string, table []uint64) error {
	if err := s.removeClusterFiles(func(n string) bool { return n == name }); err != nil {
		return err
	}
	f, err := s.clusterFile(name, true)
	if err != nil {
		return err
	}
	if _, err := writeSlotSpan(f, table, 0, uint64(len(table)), nil); err != nil {
		return err
	}
	return f.Sync()
}

// writeSlots writes the table pages with a slot filled since the last
// commit, a run of adjacent pages at a time. A write per filled slot was
// most of a 10M-transaction pass: a commit fills a slot per new address,
// 1.3 million between two commits, spread over the whole table.
func (w *ClusterWriter) writeSlots(name string) error {
	pages := w.f.pages
	if !slices.ContainsFunc(pages, func(b uint64) bool { return b != 0 }) {
		return nil
	}
	f, err := w.s.clusterFile(name, false)
	if err != nil {
		return err
	}
	dirty := func(p int) bool { return p < len(pages)*64 && pages[p/64]&(1<<(p%64)) != 0 }
	var buf []byte
	for p := 0; p < len(pages)*64; p++ {
		if !dirty(p) {
			continue
		}
		q := p + 1
		for dirty(q) {
			q++
		}
		lo, hi := uint64(p)*pageSlots, min(uint64(q)*pageSlots, uint64(len(w.f.table)))
		if buf, err = writeSlotSpan(f, w.f.table, lo, hi, buf); err != nil {
			return err
		}
		p = q
	}
	return f.Sync()
}

// writeSlotSpan writes table[lo:hi] at its place in f through buf (grown
// as needed, up to 4 MB, and returned for reuse).
func writeSlotSpan(f io.WriterAt, table []uint64, lo, hi uint64, buf []byte) ([]byte, error) {
	const most = 1 << 19 // slots per write: 4 MB
	for lo < hi {
		end := min(hi, lo+most)
		buf = buf[:0]
		for _, e := range table[lo:end] {
			buf = binary.LittleEndian.AppendUint64(buf, e)
		}
		if _, err := f.WriteAt(buf, int64(lo)*8); err != nil {
			return buf, err
		}
		lo = end
	}
	return buf, nil
}

// ForEachTxFunding calls fn for every stored transaction in chain order
// from n, with the transaction that funds each input (nil for a coinbase
// or external input). Funding transactions come from one read snapshot and
// a cache of recent ones.
func (s *Store) ForEachTxFunding(from TxNum, fn func(tx *Tx, funding []*Tx) error) error {
	const cacheSize = 1 << 16
	cache := make(map[TxNum]*Tx, cacheSize)
	var ring [cacheSize]TxNum
	var ringPos int
	var ringFull bool
	remember := func(tx *Tx) {
		if ringFull {
			delete(cache, ring[ringPos])
		}
		ring[ringPos] = tx.Num
		cache[tx.Num] = tx
		ringPos++
		if ringPos == cacheSize {
			ringPos, ringFull = 0, true
		}
	}
	var funding []*Tx
	return s.view(func(txn *badger.Txn) error {
		return s.forEachTx(txn, from, func(tx *Tx) error {
			n := tx.Num
			funding = funding[:0]
			for i := range tx.Inputs {
				in := &tx.Inputs[i]
				if in.Kind != InputKnown {
					funding = append(funding, nil)
					continue
				}
				p, ok := cache[in.Prev.Tx]
				if !ok {
					var err error
					if p, err = s.txByNum(txn, in.Prev.Tx); err != nil {
						return fmt.Errorf("funding tx %d of tx %d: %w", in.Prev.Tx, n, err)
					}
					remember(p)
				}
				if int(in.Prev.Vout) >= len(p.Outputs) {
					return fmt.Errorf("%w: tx %d input %d spends %d:%d past its outputs", ErrCorrupt, n, i, in.Prev.Tx, in.Prev.Vout)
				}
				funding = append(funding, p)
			}
			if err := fn(tx, funding); err != nil {
				return err
			}
			remember(tx)
			return nil
		})
	})
}

// Exact undo. A commit writes an undo record 'u' for each interval since
// the last commit that changed at most maxClusterUndoNodes existing nodes:
// the interval from the last commit to the commit, or, when the pass
// marked states in between (ClusterWriter.Mark, once per block near the
// tip), from mark to mark. The record is keyed by the NextTx at the
// interval's end and holds the state at its start and the record then of
// every node it changed that existed then. A rollback of the chain below
// the clustered transactions walks these records back from the committed
// state to the first state at or below the new chain's end and restores
// it through the journal, as a commit does; the transactions between that
// state and the new end are clustered again by the next run. When a
// record on the way is missing (a larger interval, or one older than the
// last maxClusterUndo records), the state stays marked dirty and the
// clusters need a rebuild.
const (
	maxClusterUndoNodes = 100_000
	maxClusterUndo      = 1000
)

func clusterUndoKey(next TxNum) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixClusterUndo}, uint64(next))
}

type clusterUndo struct {
	prev  ClusterState
	ids   []AddrID
	nodes [][]byte
}

func (u *clusterUndo) encode() []byte {
	st := mustJSON(&u.prev)
	b := binary.AppendUvarint(nil, uint64(len(st)))
	b = append(b, st...)
	for i, id := range u.ids {
		b = binary.AppendUvarint(b, uint64(id))
		b = binary.AppendUvarint(b, uint64(len(u.nodes[i])))
		b = append(b, u.nodes[i]...)
	}
	return b
}

func decodeClusterUndo(v []byte) (*clusterUndo, error) {
	d := decoder{b: v}
	u := &clusterUndo{}
	st := d.bytes(int(d.uvarint()))
	if d.err == nil {
		if err := json.Unmarshal(st, &u.prev); err != nil {
			d.err = err
		}
	}
	for d.err == nil && len(d.b) > 0 {
		id := AddrID(d.uvarint())
		rec := d.bytes(int(d.uvarint()))
		if d.err == nil {
			if _, err := decodeClusterNode(rec); err != nil {
				d.err = err
			}
		}
		u.ids, u.nodes = append(u.ids, id), append(u.nodes, rec)
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: cluster undo record: %v", ErrCorrupt, d.err)
	}
	return u, nil
}

// undoInterval is the change of the forest between two states, a commit's
// or a Mark's: the state at its start and, for each node that existed
// then and changed, its record as it was (in the order of first change).
type undoInterval struct {
	prev ClusterState
	next TxNum // NextTx at its end
	ids  []uint32
	old  []byte // forestRecord bytes per id
	off  bool   // no undo record: its start was never stored, or too many nodes changed
}

func (iv *undoInterval) touch(w *ClusterWriter, id uint32) {
	if iv.off || AddrID(id) >= iv.prev.NextID {
		return // new in the interval: the undo ignores it
	}
	i := id / 64
	for int(i) >= len(w.ivBits) {
		w.ivBits = append(w.ivBits, 0)
	}
	if w.ivBits[i]&(1<<(id%64)) != 0 {
		return
	}
	w.ivBits[i] |= 1 << (id % 64)
	if len(iv.ids) == maxClusterUndoNodes {
		iv.off, iv.ids, iv.old = true, nil, nil
		return
	}
	iv.ids = append(iv.ids, id)
	iv.old = w.f.appendRecord(iv.old, id)
}

// Mark ends an undo interval at the writer's state: the next commit
// writes an undo record for it, so that a rollback can undo the forest to
// this state exactly although it was never committed. A clustering pass
// marks each block near the tip instead of committing it (a commit costs a
// write per new address and a sync). A Mark with no transaction since the
// last is nothing.
func (w *ClusterWriter) Mark() {
	if w.st.NextTx == w.iv.prev.NextTx {
		return
	}
	if w.iv.off {
		clear(w.ivBits)
	} else {
		for _, id := range w.iv.ids {
			w.ivBits[id/64] = 0
		}
		w.iv.next = w.st.NextTx
		w.marks = append(w.marks, w.iv)
	}
	w.iv = undoInterval{prev: w.st}
}

// record is the interval's undo record, its nodes in id order.
func (iv *undoInterval) record() ([]byte, error) {
	u := &clusterUndo{prev: iv.prev}
	order := make([]int, len(iv.ids))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(iv.ids[a], iv.ids[b]) })
	for _, i := range order {
		id := AddrID(iv.ids[i])
		n, err := recordNode(id, (*[forestRecord]byte)(iv.old[i*forestRecord:]))
		if err != nil {
			return nil, err
		}
		u.ids, u.nodes = append(u.ids, id), append(u.nodes, appendClusterNode(nil, n))
	}
	return u.encode(), nil
}

// pruneClusterUndo deletes undo records beyond the newest maxClusterUndo
// and those past next (undone).
func (s *Store) pruneClusterUndo(next TxNum) error {
	var keys [][]byte
	err := s.view(func(txn *badger.Txn) error {
		prefix := []byte{prefixClusterUndo}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true})
		defer it.Close()
		n := 0
		for it.Seek(append([]byte{prefixClusterUndo}, 0xff)); it.ValidForPrefix(prefix); it.Next() {
			k := it.Item().Key()
			if len(k) != 9 || TxNum(binary.BigEndian.Uint64(k[1:])) > next {
				keys = append(keys, it.Item().KeyCopy(nil))
				continue
			}
			if n++; n > maxClusterUndo {
				keys = append(keys, it.Item().KeyCopy(nil))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.deleteKeys(keys)
}

// undoClusters brings a forest marked dirty by a rollback back to the
// last committed state at or below the chain's end, exactly, when the
// undo records reach it; otherwise it leaves the state dirty. It is
// crash-safe: until the restored state is written the state stays dirty
// (and the next writer tries again), after it the journal is in force.
func (s *Store) undoClusters() error {
	cs, ok, err := s.ClusterState()
	if err != nil || !ok || !cs.Dirty {
		return err
	}
	end := s.state.NextTx
	if cs.NextTx <= end {
		return nil // not a rollback's (an older version's interrupted commit)
	}
	old, cur, err := s.clusterUndoTo(cs, end)
	if errors.Is(err, ErrNotFound) {
		return nil // not reachable: stays dirty
	}
	if err != nil {
		return fmt.Errorf("store: undo clusters: %w", err)
	}
	if err := s.dropIfAny(prefixClusterJournal); err != nil {
		return err
	}
	if err := s.journalNodes(old, cur.NextID); err != nil {
		return fmt.Errorf("store: undo clusters: %w", err)
	}
	cur.Dirty, cur.Journal = false, true
	if err := s.storeClusterState(true, func(txn *badger.Txn) error { return txn.Set(keyClusterState, mustJSON(&cur)) }); err != nil {
		return fmt.Errorf("store: undo clusters: %w", err)
	}
	if err := s.finishClusterJournal(&cur); err != nil {
		return err
	}
	if err := s.deleteRefusalsFrom(cur.NextTx); err != nil {
		return err
	}
	return s.pruneClusterUndo(cur.NextTx)
}

// clusterUndoTo follows the undo records back from cs to the first state
// at or below end: it returns the nodes as they were then (the oldest
// record's copy of each) and that state; ErrNotFound when the records do
// not reach it.
func (s *Store) clusterUndoTo(cs ClusterState, end TxNum) (map[AddrID][]byte, ClusterState, error) {
	old := map[AddrID][]byte{}
	cur := cs
	err := s.view(func(txn *badger.Txn) error {
		for cur.NextTx > end {
			var u *clusterUndo
			err := s.get(txn, clusterUndoKey(cur.NextTx), func(v []byte) (err error) { u, err = decodeClusterUndo(v); return err })
			if err != nil {
				return err
			}
			if u.prev.NextTx >= cur.NextTx {
				return fmt.Errorf("%w: cluster undo record %d goes forward to %d", ErrNotFound, cur.NextTx, u.prev.NextTx)
			}
			for i, id := range u.ids {
				old[id] = u.nodes[i] // older records overwrite newer ones
			}
			cur = u.prev
		}
		return nil
	})
	return old, cur, err
}

// journalNodes writes the old nodes below nextID to the journal (a node
// created later did not exist then: it stays, invisible).
func (s *Store) journalNodes(old map[AddrID][]byte, nextID AddrID) error {
	wb := s.db.NewWriteBatch()
	for id, rec := range old {
		if id >= nextID {
			continue
		}
		if err := wb.Set(clusterJournalKey(id), rec); err != nil {
			wb.Cancel()
			return err
		}
	}
	return wb.Flush()
}

// Spent is the output an input spends, as ForEachTxSpent gives it; Known
// is false for a coinbase input and one spending from before the store's
// range.
type Spent struct {
	Output
	Known bool
}

// ForEachTxSpent calls fn for the stored transactions from up to (not
// including) to, in chain order, with the output each input spends. It
// reads the transactions in one sequential pass and keeps the outputs
// created during the pass and not yet spent in memory (about 70 bytes per
// unspent output), so an input costs a store read only when it spends an
// output created before from. It runs as a pipeline: the read-ahead
// readers (txReader) read and decode the transactions, one goroutine
// resolves in chain order what their inputs spend, and fn runs on another.
// tx and spent are reused between calls: fn must not keep them.
func (s *Store) ForEachTxSpent(ctx context.Context, from, to TxNum, fn func(tx *Tx, spent []Spent) error) error {
	to = min(to, s.state.NextTx)
	if from >= to {
		return nil
	}
	resolved := make(chan *txBatch, 2)
	g, gctx := errgroup.WithContext(ctx)
	return s.view(func(txn *badger.Txn) error {
		r := s.startTxReaders(gctx, g, txn, from, to)
		g.Go(func() error {
			for b := range resolved {
				for i := range b.n {
					if err := fn(&b.txs[i], b.spent[i]); err != nil {
						return err
					}
				}
				r.free <- b
			}
			return nil
		})
		g.Go(func() error {
			defer close(resolved)
			sc := spentScanner{s: s, txn: txn, older: map[TxNum]*Tx{}}
			defer sc.u.release()
			for {
				b, err := r.next(gctx)
				if b == nil {
					return err
				}
				if cap(b.spent) < len(b.txs) {
					b.spent = make([][]Spent, len(b.txs))
				}
				for j := range b.n {
					if err := sc.resolve(&b.txs[j], &b.spent[j]); err != nil {
						return err
					}
				}
				select {
				case resolved <- b:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
		})
		return g.Wait()
	})
}

// ScanTxs calls fn for the committed transactions from up to (not
// including) to, in chain order, as ForEachTx does, but read and decoded
// ahead of fn by the read-ahead readers (txReader): a pass whose own work
// is the bottleneck (the exposure build's) gets the reading off its core.
// tx is reused once fn has seen its batch: fn must not keep it. An error
// from fn ends the scan and is returned as it is.
func (s *Store) ScanTxs(ctx context.Context, from, to TxNum, fn func(tx *Tx) error) error {
	to = min(to, s.state.NextTx)
	if from >= to {
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	return s.view(func(txn *badger.Txn) error {
		r := s.startTxReaders(gctx, g, txn, from, to)
		g.Go(func() error {
			for {
				b, err := r.next(gctx)
				if b == nil {
					return err
				}
				for i := range b.n {
					if err := fn(&b.txs[i]); err != nil {
						return err
					}
				}
				r.free <- b
			}
		})
		return g.Wait()
	})
}

// txBatch is a run of transactions read and decoded ahead of their
// consumer, with room for what their inputs spend (ForEachTxSpent's).
type txBatch struct {
	txs   []Tx
	spent [][]Spent
	n     int
}

// txReaders goroutines read and decode for a txReader, in stretches of
// txStretch batches of txBatchTxs transactions: stretch i by reader i mod
// txReaders, a seek each.
const (
	txReaders  = 2
	txBatchTxs = 512
	txStretch  = 8
)

// txReader hands out, in chain order, the batches its readers decode.
type txReader struct {
	free    chan *txBatch // consumers give a batch back when done with it
	decoded [txReaders]chan *txBatch
	batches uint64 // in from..to
	handed  uint64 // batches handed out
}

// startTxReaders starts the readers of the transactions from..to (within
// the store) on g, reading through txn.
func (s *Store) startTxReaders(gctx context.Context, g *errgroup.Group, txn *badger.Txn, from, to TxNum) *txReader {
	r := &txReader{free: make(chan *txBatch, (txReaders+1)*txStretch)}
	for range cap(r.free) {
		r.free <- &txBatch{txs: make([]Tx, txBatchTxs)}
	}
	for i := range r.decoded {
		r.decoded[i] = make(chan *txBatch, txStretch)
	}
	r.batches = (uint64(to-from) + txBatchTxs - 1) / txBatchTxs
	stretches := (r.batches + txStretch - 1) / txStretch
	for k := range txReaders {
		g.Go(func() error {
			defer close(r.decoded[k])
			prefix := []byte{prefixTx}
			// No value prefetch: Badger starts a goroutine per item for
			// it, and tx records are stored in the LSM tree, so Value
			// reads them in place (measured: the readers' scheduling
			// delay was a third of the 1M clustering pass).
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
			defer it.Close()
			for i := uint64(k); i < stretches; i += txReaders {
				lo := from + TxNum(i*txStretch*txBatchTxs)
				it.Seek(txKey(lo))
				for j := range min(txStretch, r.batches-i*txStretch) {
					lo := lo + TxNum(j*txBatchTxs)
					hi := min(lo+txBatchTxs, to)
					var b *txBatch
					select {
					case b = <-r.free:
						b.n = 0
					case <-gctx.Done():
						return gctx.Err()
					}
					for ; it.ValidForPrefix(prefix); it.Next() {
						n := TxNum(binary.BigEndian.Uint64(it.Item().Key()[1:]))
						if n >= hi {
							break
						}
						tx := &b.txs[b.n]
						if err := it.Item().Value(func(v []byte) error { return decodeTxInto(tx, n, v) }); err != nil {
							return s.damaged(err)
						}
						b.n++
					}
					select {
					case r.decoded[k] <- b:
					case <-gctx.Done():
						return gctx.Err()
					}
				}
			}
			return nil
		})
	}
	return r
}

// next returns the next batch in chain order, or nil: at the end, or when
// the scan stopped (ctx ended: err; a reader failed: g.Wait returns its
// error).
func (r *txReader) next(gctx context.Context) (*txBatch, error) {
	if r.handed == r.batches {
		return nil, nil
	}
	if err := gctx.Err(); err != nil {
		return nil, err
	}
	b, ok := <-r.decoded[r.handed/txStretch%txReaders]
	if !ok {
		return nil, gctx.Err()
	}
	r.handed++
	return b, nil
}

// spentScanner resolves, in chain order, what transactions' inputs spend.
type spentScanner struct {
	s     *Store
	txn   *badger.Txn
	u     unspentSet
	older map[TxNum]*Tx // funding transactions before the scan, a bounded cache
}

// resolve fills *spentp with what tx's inputs spend and keeps its outputs
// until they are spent.
func (sc *spentScanner) resolve(tx *Tx, spentp *[]Spent) error {
	n := tx.Num
	spent := slices.Grow((*spentp)[:0], len(tx.Inputs))[:len(tx.Inputs)]
	*spentp = spent
	for i := range tx.Inputs {
		in := &tx.Inputs[i]
		sp := &spent[i]
		sp.Known = false
		if in.Kind != InputKnown {
			sp.Output = Output{}
			continue
		}
		if sc.u.take(in.Prev, &sp.Output) {
			sp.Known = true
			continue
		}
		p, ok := sc.older[in.Prev.Tx]
		if !ok {
			var err error
			if p, err = sc.s.txByNum(sc.txn, in.Prev.Tx); err != nil {
				return fmt.Errorf("funding tx %d of tx %d: %w", in.Prev.Tx, n, err)
			}
			if len(sc.older) >= 1<<14 {
				clear(sc.older)
			}
			sc.older[in.Prev.Tx] = p
		}
		if int(in.Prev.Vout) >= len(p.Outputs) {
			return fmt.Errorf("%w: tx %d input %d spends %d:%d past its outputs", ErrCorrupt, n, i, in.Prev.Tx, in.Prev.Vout)
		}
		sp.Output, sp.Known = p.Outputs[in.Prev.Vout], true
	}
	for i := range tx.Outputs {
		if tx.Outputs[i].Addr.Kind != address.OpReturn {
			sc.u.put(OutPoint{Tx: n, Vout: uint32(i)}, &tx.Outputs[i])
		}
	}
	return nil
}

// unspentSet holds outputs until they are spent: a table (outtable) from
// the outpoint to a slot of a chunked array of outputs, slots reused
// through a free list. It replaced a Go map, which cost twice as much per
// spend.
type unspentSet struct {
	tab   outtable.Table[uint32]
	outs  chunked[Output]
	free  []uint32
	slots uint32
	share heapShare // tab and outs, beside the soft heap limit until release
}

func (u *unspentSet) put(op OutPoint, o *Output) {
	key, ok := outtable.Key(uint64(op.Tx), op.Vout)
	if !ok {
		return // never in the set: spends of it read the store
	}
	if u.outs.share == nil {
		u.outs.share = &u.share
	}
	var i uint32
	if n := len(u.free); n > 0 {
		i, u.free = u.free[n-1], u.free[:n-1]
	} else {
		i = u.slots
		u.slots++
		u.outs.grow(i)
	}
	*u.outs.at(i) = *o
	if grown := u.tab.Put(key, i); grown != 0 {
		u.share.add(grown)
	}
}

// release drops the set's arrays and gives back their share of the heap
// limit.
func (u *unspentSet) release() {
	u.share.release()
	*u = unspentSet{}
}

// take moves the output op into *o, false when the set lacks it.
func (u *unspentSet) take(op OutPoint, o *Output) bool {
	key, ok := outtable.Key(uint64(op.Tx), op.Vout)
	if !ok {
		return false
	}
	slot, ok := u.tab.Take(key)
	if !ok {
		return false
	}
	u.free = append(u.free, slot)
	*o = *u.outs.at(slot)
	return true
}
