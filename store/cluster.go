package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/dgraph-io/badger/v4"

	"github.com/tracer-oss/tracer/sanctions/address"
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

var keyClusterState = append([]byte{prefixMeta}, "cluster-state"...)

// addrIDKey: 'k', class (1), payload (20 or 32 bytes).
func addrIDKey(a address.Addr) []byte {
	a.Kind = a.Kind.Class()
	k := make([]byte, 0, 2+32)
	k = append(k, prefixClusterAddr, byte(a.Kind))
	return append(k, a.Bytes()...)
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
	s      *Store
	ids    map[clusterAddrKey]AddrID
	nodes  map[AddrID]*clusterNode
	st     ClusterState
	stored bool
	err    error
	pinned bool
}

// Clusters returns a reader of the cluster forest.
func (s *Store) Clusters() *Clusters {
	return &Clusters{s: s, ids: map[clusterAddrKey]AddrID{}, nodes: map[AddrID]*clusterNode{}}
}

func (c *Clusters) pin() error {
	if !c.pinned {
		c.st, c.stored, c.err = c.s.ClusterState()
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
	var id AddrID
	err := c.s.view(func(txn *badger.Txn) error {
		return c.s.get(txn, addrIDKey(a), func(v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("%w: address id %x", ErrCorrupt, v)
			}
			id = AddrID(binary.BigEndian.Uint64(v))
			return nil
		})
	})
	if errors.Is(err, ErrNotFound) || err == nil && (id == 0 || id >= c.st.NextID) {
		return 0, false, nil // absent, or written by a commit not (yet) in force
	}
	if err != nil {
		return 0, false, err
	}
	// A killed commit may have left an id that a later one gave another
	// address: the node says whose it is.
	n, err := c.node(id)
	if err != nil {
		return 0, false, err
	}
	if keyOf(n.addr) != k {
		return 0, false, nil
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
	decode := func(v []byte) error {
		var err error
		n, err = decodeClusterNode(v)
		return err
	}
	err := c.s.view(func(txn *badger.Txn) error {
		if c.st.Journal {
			if err := c.s.get(txn, clusterJournalKey(id), decode); !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		return c.s.get(txn, clusterNodeKey(id), decode)
	})
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: cluster node %d below the committed %d", ErrCorrupt, id, c.st.NextID)
	}
	if err != nil {
		return nil, err
	}
	c.nodes[id] = n
	return n, nil
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
	dirtyBits []uint64 // committed ids changed since the last commit
	dirty     []uint32
	refusals  []ClusterRefusal
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
	if rebuild {
		if err := s.dropClusters(true); err != nil {
			return nil, err
		}
	}
	st, ok, err := s.ClusterState()
	if err == nil && ok && st.Dirty {
		// A rollback that was killed before it restored the clusters.
		if err = s.undoClusters(); err == nil {
			st, ok, err = s.ClusterState()
		}
	}
	if err != nil {
		return nil, err
	}
	if ok && st.Dirty {
		return nil, ErrClusterDirty
	}
	w := &ClusterWriter{s: s, st: st, committed: st, stored: ok, f: newForest()}
	switch {
	case !ok:
		// Nothing is visible without a state: whatever is stored is a
		// killed first build's.
		if err := s.dropClusters(false); err != nil {
			return nil, err
		}
	case st.Journal:
		if err := s.finishClusterJournal(&st); err != nil {
			return nil, err
		}
		w.st, w.committed = st, st
	default:
		if err := s.dropIfAny(prefixClusterJournal); err != nil {
			return nil, err
		}
	}
	if ok {
		if err := s.deleteRefusalsFrom(st.NextTx); err != nil {
			return nil, err
		}
		if err := w.load(); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// dropClusters deletes every cluster key, and with state the state too.
func (s *Store) dropClusters(state bool) error {
	prefixes := [][]byte{{prefixClusterAddr}, {prefixClusterNode}, {prefixClusterRefusal}, {prefixClusterJournal}, {prefixClusterUndo}}
	if state {
		prefixes = append(prefixes, keyClusterState)
	}
	for _, p := range prefixes {
		if err := s.dropIfAny(p...); err != nil {
			return err
		}
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

// finishClusterJournal copies a committed journal to the nodes and clears
// it (idempotent: a kill during it is finished by the next writer).
func (s *Store) finishClusterJournal(st *ClusterState) error {
	wb := s.db.NewWriteBatch()
	prefix := []byte{prefixClusterJournal}
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			k := it.Item().Key()
			if len(k) != 9 {
				return fmt.Errorf("%w: cluster journal key %x", ErrCorrupt, k)
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			if _, err := decodeClusterNode(v); err != nil {
				return fmt.Errorf("cluster journal %x: %w", k, err)
			}
			if err := wb.Set(append([]byte{prefixClusterNode}, k[1:]...), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = wb.Flush()
	} else {
		wb.Cancel()
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
	if err != nil || len(keys) == 0 {
		return err
	}
	wb := s.db.NewWriteBatch()
	for _, k := range keys {
		if err := wb.Delete(k); err != nil {
			wb.Cancel()
			return err
		}
	}
	return wb.Flush()
}

// load reads the committed forest into memory.
func (w *ClusterWriter) load() error {
	next := w.committed.NextID
	if next < 1 {
		next = 1
	}
	if uint64(next) > math.MaxUint32 {
		return fmt.Errorf("%w: cluster forest of %d addresses", ErrTooLarge, next-1)
	}
	slots := 1 << 10
	for uint64(slots) < 2*uint64(next) {
		slots *= 2
	}
	w.f.table = make([]uint64, slots)
	prefix := []byte{prefixClusterNode}
	err := w.s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 1000})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			k := it.Item().Key()
			if len(k) != 9 {
				return fmt.Errorf("%w: cluster node key %x", ErrCorrupt, k)
			}
			id := binary.BigEndian.Uint64(k[1:])
			if id >= uint64(next) {
				break // a killed commit's; rewritten before it counts
			}
			if id != uint64(w.f.n)+1 {
				return fmt.Errorf("%w: cluster node %d missing", ErrCorrupt, w.f.n+1)
			}
			var n *clusterNode
			if err := it.Item().Value(func(v []byte) (err error) { n, err = decodeClusterNode(v); return err }); err != nil {
				return fmt.Errorf("cluster node %d: %w", id, err)
			}
			if uint64(n.parent) >= uint64(next) || uint64(n.next) >= uint64(next) || n.size > math.MaxUint32 || n.link > math.MaxUint32 {
				return fmt.Errorf("%w: cluster node %d points past the forest", ErrCorrupt, id)
			}
			if _, err := w.f.add(keyOf(n.addr)); err != nil {
				return err
			}
			i := uint32(id)
			*w.f.parent.at(i), *w.f.up.at(i), *w.f.next.at(i) = uint32(n.parent), uint32(n.parent), uint32(n.next)
			if uint64(n.parent) == id {
				*w.f.aux.at(i) = uint32(n.size)
			} else {
				*w.f.aux.at(i) = uint32(n.link)
			}
		}
		return nil
	})
	if err == nil && uint64(w.f.n)+1 != uint64(next) {
		err = fmt.Errorf("%w: cluster nodes %d–%d missing", ErrCorrupt, w.f.n+1, next-1)
	}
	if err != nil {
		return fmt.Errorf("store: load clusters: %w", err)
	}
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
	if id := w.f.lookup(&k); id != 0 {
		return AddrID(id), nil
	}
	id, err := w.f.add(k)
	if err != nil {
		return 0, err
	}
	w.st.NextID = AddrID(id) + 1
	w.st.Addresses++
	w.st.Clusters++
	w.st.Largest = max(w.st.Largest, 1)
	return AddrID(id), nil
}

// touch marks a committed node changed.
func (w *ClusterWriter) touch(id uint32) {
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
	f := w.f
	f.join(ra, rb)
	*f.aux.at(rb) = uint32(tx) + 1
	*f.aux.at(ra) = sa + sb
	na, nb := f.next.at(ra), f.next.at(rb)
	*na, *nb = *nb, *na
	w.touch(ra)
	w.touch(rb)
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
	wb := s.db.NewWriteBatch()
	from := uint32(1)
	if w.stored && w.committed.NextID > 1 {
		from = uint32(w.committed.NextID)
	}
	// New addresses in key order: Badger's memtable inserts sorted keys
	// along a cached path, and its tables then overlap less.
	var fresh []uint32
	for id := from; id <= w.f.n && id != 0; id++ {
		fresh = append(fresh, id)
	}
	slices.SortFunc(fresh, func(a, b uint32) int { return bytes.Compare(w.f.addrs.at(a)[:], w.f.addrs.at(b)[:]) })
	for _, id := range fresh {
		val := binary.BigEndian.AppendUint64(nil, uint64(id))
		if err := wb.Set(addrIDKey(keyAddr(w.f.addrs.at(id))), val); err != nil {
			wb.Cancel()
			return err
		}
	}
	var buf []byte
	for id := from; id <= w.f.n && id != 0; id++ {
		buf = w.appendNode(buf[:0], id)
		if err := wb.Set(clusterNodeKey(AddrID(id)), slices.Clone(buf)); err != nil {
			wb.Cancel()
			return err
		}
	}
	for _, r := range w.refusals {
		if err := wb.Set(clusterRefusalKey(r), mustJSON(&r)); err != nil {
			wb.Cancel()
			return err
		}
	}
	slices.Sort(w.dirty)
	if w.stored && len(w.dirty) <= maxClusterUndoNodes {
		u, err := w.clusterUndoRecord()
		if err != nil {
			wb.Cancel()
			return err
		}
		if err := wb.Set(clusterUndoKey(w.st.NextTx), u); err != nil {
			wb.Cancel()
			return err
		}
	}
	nodes := make([][]byte, len(w.dirty))
	for i, id := range w.dirty {
		nodes[i] = w.appendNode(nil, id)
		if err := wb.Set(clusterJournalKey(AddrID(id)), nodes[i]); err != nil {
			wb.Cancel()
			return err
		}
	}
	if err := wb.Flush(); err != nil {
		return err
	}
	if err := w.step(ClusterStepWritten); err != nil {
		return err
	}
	st := w.st
	st.Dirty, st.Journal = false, len(w.dirty) > 0
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(keyClusterState, mustJSON(&st)) }); err != nil {
		return err
	}
	w.committed, w.stored = st, true
	if st.Journal {
		// Committed; now copy the journal to the nodes.
		if err := w.step(ClusterStepJournal); err != nil {
			return err
		}
		wb = s.db.NewWriteBatch()
		for i, id := range w.dirty {
			if err := wb.Set(clusterNodeKey(AddrID(id)), nodes[i]); err != nil {
				wb.Cancel()
				return err
			}
		}
		if err := wb.Flush(); err != nil {
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
		wb = s.db.NewWriteBatch()
		for _, id := range w.dirty {
			if err := wb.Delete(clusterJournalKey(AddrID(id))); err != nil {
				wb.Cancel()
				return err
			}
		}
		if err := wb.Flush(); err != nil {
			return err
		}
	}
	clear(w.dirtyBits)
	w.dirty, w.refusals = w.dirty[:0], w.refusals[:0]
	if err := s.pruneClusterUndo(st.NextTx); err != nil {
		return err
	}
	return w.step(ClusterStepDone)
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

// Exact undo. Each commit that changes at most maxClusterUndoNodes
// committed nodes (every per-block commit of a following process) also
// writes an undo record 'u' keyed by the NextTx it commits: the previous
// state and the previous record of every committed node it changes. A
// rollback of the chain below the clustered transactions walks these
// records back from the committed state to the first state at or below
// the new chain's end and restores it through the journal, as a commit
// does; the transactions between that state and the new end are clustered
// again by the next run. When a record on the way is missing (a larger
// commit, or one older than the last maxClusterUndo records), the state
// stays marked dirty and the clusters need a rebuild.
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

// clusterUndoRecord is the undo record of the commit under way: the
// committed records of the nodes it changes, read before they change.
func (w *ClusterWriter) clusterUndoRecord() ([]byte, error) {
	u := &clusterUndo{prev: w.committed}
	err := w.s.view(func(txn *badger.Txn) error {
		for _, id := range w.dirty {
			err := w.s.get(txn, clusterNodeKey(AddrID(id)), func(v []byte) error {
				u.ids, u.nodes = append(u.ids, AddrID(id)), append(u.nodes, slices.Clone(v))
				return nil
			})
			if err != nil {
				return fmt.Errorf("cluster node %d: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
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
	if err != nil || len(keys) == 0 {
		return err
	}
	wb := s.db.NewWriteBatch()
	for _, k := range keys {
		if err := wb.Delete(k); err != nil {
			wb.Cancel()
			return err
		}
	}
	return wb.Flush()
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
	old := map[AddrID][]byte{}
	cur := cs
	err = s.view(func(txn *badger.Txn) error {
		for cur.NextTx > end {
			var u *clusterUndo
			err := s.get(txn, clusterUndoKey(cur.NextTx), func(v []byte) (err error) { u, err = decodeClusterUndo(v); return err })
			if err != nil {
				return err
			}
			for i, id := range u.ids {
				old[id] = u.nodes[i] // older records overwrite newer ones
			}
			cur = u.prev
		}
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return nil // not reachable: stays dirty
	}
	if err != nil {
		return fmt.Errorf("store: undo clusters: %w", err)
	}
	if err := s.dropIfAny(prefixClusterJournal); err != nil {
		return err
	}
	wb := s.db.NewWriteBatch()
	for id, rec := range old {
		if id >= cur.NextID {
			continue // a node that did not exist then: invisible
		}
		if err := wb.Set(clusterJournalKey(id), rec); err != nil {
			wb.Cancel()
			return fmt.Errorf("store: undo clusters: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("store: undo clusters: %w", err)
	}
	cur.Dirty, cur.Journal = false, true
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(keyClusterState, mustJSON(&cur)) }); err != nil {
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
