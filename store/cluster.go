package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"

	"github.com/tracer-oss/tracer/store/address"
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
	// Dirty is set while a commit writes; a state left dirty means an
	// interrupted commit, and only a rebuild repairs it.
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
	err = s.db.View(func(txn *badger.Txn) error {
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

// Clusters reads the cluster forest. It caches what it reads and is meant
// for one goroutine and one task (a trace, an entity listing).
type Clusters struct {
	s        *Store
	ids      map[clusterAddrKey]AddrID
	nodes    map[AddrID]*clusterNode
	complete bool // the caches hold every id (a build from empty that never evicted)
}

// Clusters returns a reader of the cluster forest.
func (s *Store) Clusters() *Clusters {
	return &Clusters{s: s, ids: map[clusterAddrKey]AddrID{}, nodes: map[AddrID]*clusterNode{}}
}

// Lookup returns a's address id; false when a is in no cluster yet (it
// never appeared in a linking transaction: a cluster of its own).
func (c *Clusters) Lookup(a address.Addr) (AddrID, bool, error) {
	k := keyOf(a)
	if id, ok := c.ids[k]; ok || c.complete {
		return id, ok, nil
	}
	var id AddrID
	err := c.s.db.View(func(txn *badger.Txn) error {
		return c.s.get(txn, addrIDKey(a), func(v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("%w: address id %x", ErrCorrupt, v)
			}
			id = AddrID(binary.BigEndian.Uint64(v))
			return nil
		})
	})
	if errors.Is(err, ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	c.ids[k] = id
	return id, true, nil
}

func (c *Clusters) node(id AddrID) (*clusterNode, error) {
	if n, ok := c.nodes[id]; ok {
		return n, nil
	}
	if c.complete {
		return nil, fmt.Errorf("%w: cluster node %d", ErrNotFound, id)
	}
	var n *clusterNode
	err := c.s.db.View(func(txn *badger.Txn) error {
		return c.s.get(txn, clusterNodeKey(id), func(v []byte) error {
			var err error
			n, err = decodeClusterNode(v)
			return err
		})
	})
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: cluster node %d", ErrNotFound, id)
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

// ClusterRefusals calls fn with every refused merge, in transaction order.
func (s *Store) ClusterRefusals(fn func(ClusterRefusal) bool) error {
	return s.db.View(func(txn *badger.Txn) error {
		prefix := []byte{prefixClusterRefusal}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
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

// ClusterWriter builds the forest. There is one writer at a time (the
// clustering pass); it keeps what it touched in memory and writes it at
// each Commit.
type ClusterWriter struct {
	*Clusters
	st         ClusterState
	newIDs     []clusterAddrKey
	dirty      map[AddrID]struct{}
	refusals   []ClusterRefusal
	cacheLimit int
}

// NewClusterWriter starts a writer at the stored state. With rebuild, every
// cluster key is deleted first. A state left dirty by an interrupted commit
// is ErrClusterDirty.
func (s *Store) NewClusterWriter(rebuild bool) (*ClusterWriter, error) {
	if s.ro {
		return nil, ErrReadOnly
	}
	if rebuild {
		if err := s.db.DropPrefix([]byte{prefixClusterAddr}, []byte{prefixClusterNode}, []byte{prefixClusterRefusal}, keyClusterState); err != nil {
			return nil, fmt.Errorf("store: drop clusters: %w", err)
		}
	}
	st, ok, err := s.ClusterState()
	if err != nil {
		return nil, err
	}
	if st.Dirty {
		return nil, ErrClusterDirty
	}
	w := &ClusterWriter{Clusters: s.Clusters(), st: st, dirty: map[AddrID]struct{}{}, cacheLimit: 8 << 20}
	w.complete = !ok || st.NextID <= 1
	return w, nil
}

// State is the writer's state; the pass updates its counters and NextTx,
// Commit stores it.
func (w *ClusterWriter) State() *ClusterState { return &w.st }

// SetCacheLimit sets how many nodes the writer keeps in memory between
// commits (default 8M); tests lower it to exercise the read-through path.
func (w *ClusterWriter) SetCacheLimit(n int) { w.cacheLimit = n }

// Intern returns a's id, giving it a new one (a cluster of its own) when it
// has none.
func (w *ClusterWriter) Intern(a address.Addr) (AddrID, error) {
	id, ok, err := w.Lookup(a)
	if err != nil || ok {
		return id, err
	}
	id = w.st.NextID
	if id == 0 {
		id = 1
	}
	w.st.NextID = id + 1
	w.st.Addresses++
	w.st.Clusters++
	w.st.Largest = max(w.st.Largest, 1)
	a.Kind = a.Kind.Class()
	k := keyOf(a)
	w.ids[k] = id
	w.newIDs = append(w.newIDs, k)
	w.nodes[id] = &clusterNode{parent: id, size: 1, next: id, addr: a}
	w.dirty[id] = struct{}{}
	return id, nil
}

// Union joins the clusters of a and b because of transaction tx. It returns
// false when they already were one cluster, and a refusal (not joined) when
// both clusters are larger than guard (guard 0: no limit).
func (w *ClusterWriter) Union(a, b AddrID, tx TxNum, guard int64, rule string) (bool, *ClusterRefusal, error) {
	ra, sa, err := w.Root(a)
	if err != nil {
		return false, nil, err
	}
	rb, sb, err := w.Root(b)
	if err != nil || ra == rb {
		return false, nil, err
	}
	if guard > 0 && sa > guard && sb > guard {
		r := ClusterRefusal{Tx: tx, A: ra, B: rb, SizeA: sa, SizeB: sb, Rule: rule}
		for i := len(w.refusals) - 1; i >= 0 && w.refusals[i].Tx == tx; i-- {
			if old := w.refusals[i]; old.A == ra && old.B == rb || old.A == rb && old.B == ra {
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
	na, _ := w.node(ra)
	nb, _ := w.node(rb)
	nb.parent, nb.link = ra, uint64(tx)+1
	na.size += nb.size
	na.next, nb.next = nb.next, na.next
	w.dirty[ra], w.dirty[rb] = struct{}{}, struct{}{}
	w.st.Unions++
	w.st.Clusters--
	w.st.Largest = max(w.st.Largest, na.size)
	return true, nil, nil
}

// Commit writes everything changed since the last commit and then the
// state. The state is marked dirty while the data is written, so an
// interrupted commit is detected by the next writer.
func (w *ClusterWriter) Commit() error {
	s := w.s
	dirty := w.st
	dirty.Dirty = true
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(keyClusterState, mustJSON(&dirty)) }); err != nil {
		return fmt.Errorf("store: commit clusters: %w", err)
	}
	wb := s.db.NewWriteBatch()
	fail := func(err error) error {
		wb.Cancel()
		return fmt.Errorf("store: commit clusters: %w", err)
	}
	for _, k := range w.newIDs {
		a := address.Addr{Kind: address.Kind(k[0])}
		copy(a.Payload[:], k[1:])
		if err := wb.Set(addrIDKey(a), binary.BigEndian.AppendUint64(nil, uint64(w.ids[k]))); err != nil {
			return fail(err)
		}
	}
	ids := make([]AddrID, 0, len(w.dirty))
	for id := range w.dirty {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var buf []byte
	for _, id := range ids {
		buf = appendClusterNode(buf[:0], w.nodes[id])
		if err := wb.Set(clusterNodeKey(id), slices.Clone(buf)); err != nil {
			return fail(err)
		}
	}
	for _, r := range w.refusals {
		if err := wb.Set(clusterRefusalKey(r), mustJSON(&r)); err != nil {
			return fail(err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("store: commit clusters: %w", err)
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(keyClusterState, mustJSON(&w.st)) }); err != nil {
		return fmt.Errorf("store: commit cluster state: %w", err)
	}
	w.newIDs, w.refusals = w.newIDs[:0], w.refusals[:0]
	clear(w.dirty)
	if len(w.nodes) > w.cacheLimit {
		clear(w.nodes)
		clear(w.ids)
		w.complete = false
	}
	return nil
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
	return s.db.View(func(txn *badger.Txn) error {
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
