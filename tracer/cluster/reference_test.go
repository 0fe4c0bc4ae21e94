package cluster_test

import (
	"cmp"
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/tracer/cluster"
)

// refForest is the simplest union-find with the store's semantics: ids in
// order of first use, union by size (the lower id wins a tie), no path
// compression, the transaction of each union on its edge, member rings
// joined by swapping the roots' next pointers, and the size guard.
type refForest struct {
	st       store.ClusterState
	ids      map[[33]byte]store.AddrID
	addr     []address.Addr // by id; index 0 unused
	parent   []store.AddrID
	size     []int64
	link     []uint64 // TxNum+1 of the union that set parent
	next     []store.AddrID
	refusals []store.ClusterRefusal
}

func newRefForest() *refForest {
	return &refForest{st: store.ClusterState{NextID: 1}, ids: map[[33]byte]store.AddrID{},
		addr: make([]address.Addr, 1), parent: make([]store.AddrID, 1), size: make([]int64, 1), link: make([]uint64, 1), next: make([]store.AddrID, 1)}
}

func refKey(a address.Addr) [33]byte {
	var k [33]byte
	k[0] = byte(a.Kind.Class())
	copy(k[1:], a.Payload[:])
	return k
}

func (f *refForest) State() *store.ClusterState { return &f.st }

func (f *refForest) Intern(a address.Addr) (store.AddrID, error) {
	if id, ok := f.ids[refKey(a)]; ok {
		return id, nil
	}
	id := store.AddrID(len(f.addr))
	a.Kind = a.Kind.Class()
	f.ids[refKey(a)] = id
	f.addr, f.parent, f.size, f.link, f.next = append(f.addr, a), append(f.parent, id), append(f.size, 1), append(f.link, 0), append(f.next, id)
	f.st.NextID = id + 1
	f.st.Addresses++
	f.st.Clusters++
	f.st.Largest = max(f.st.Largest, 1)
	return id, nil
}

func (f *refForest) root(id store.AddrID) store.AddrID {
	for f.parent[id] != id {
		id = f.parent[id]
	}
	return id
}

func (f *refForest) Union(a, b store.AddrID, tx store.TxNum, guard int64, rule string) (bool, *store.ClusterRefusal, error) {
	ra, rb := f.root(a), f.root(b)
	if ra == rb {
		return false, nil, nil
	}
	sa, sb := f.size[ra], f.size[rb]
	if guard > 0 && sa > guard && sb > guard {
		for i := len(f.refusals) - 1; i >= 0 && f.refusals[i].Tx == tx; i-- {
			if o := f.refusals[i]; o.A == ra && o.B == rb || o.A == rb && o.B == ra {
				return false, nil, nil
			}
		}
		r := store.ClusterRefusal{Tx: tx, A: ra, B: rb, SizeA: sa, SizeB: sb, Rule: rule}
		f.refusals = append(f.refusals, r)
		f.st.Refused++
		return false, &r, nil
	}
	if sa < sb || sa == sb && rb < ra {
		ra, rb = rb, ra
	}
	f.parent[rb], f.link[rb] = ra, uint64(tx)+1
	f.size[ra] += f.size[rb]
	f.next[ra], f.next[rb] = f.next[rb], f.next[ra]
	f.st.Unions++
	f.st.Clusters--
	f.st.Largest = max(f.st.Largest, f.size[ra])
	return true, nil, nil
}

// compareForest checks the stored forest, read through the store's read
// API, against the reference: every address's id, root, cluster size, the
// transaction on every edge, every member ring in order, the refusals and
// the counters.
func compareForest(t *testing.T, st *store.Store, ref *refForest) {
	t.Helper()
	s, ok, err := st.ClusterState()
	if err != nil || !ok {
		t.Fatalf("cluster state: %v, %v", ok, err)
	}
	r := ref.st
	if s.NextID != r.NextID || s.Addresses != r.Addresses || s.Clusters != r.Clusters || s.Unions != r.Unions ||
		s.Largest != r.Largest || s.Refused != r.Refused || s.Txs != r.Txs || s.CoinJoins != r.CoinJoins || s.Change != r.Change {
		t.Fatalf("state %+v\nreference %+v", s, r)
	}
	c := st.Clusters()
	errs := 0
	fail := func(format string, args ...any) {
		t.Helper()
		if errs++; errs <= 10 {
			t.Errorf(format, args...)
		}
	}
	for id := store.AddrID(1); id < store.AddrID(len(ref.addr)); id++ {
		a := ref.addr[id]
		got, ok, err := c.Lookup(a)
		if err != nil || !ok || got != id {
			fail("lookup %d: %d %v %v", id, got, ok, err)
			continue
		}
		if ga, err := c.Addr(id); err != nil || ga != a {
			fail("addr %d: %v %v, want %v", id, ga, err, a)
		}
		root, size, err := c.Root(id)
		if wr := ref.root(id); err != nil || root != wr || size != ref.size[wr] {
			fail("root of %d: %d (%d) %v, want %d (%d)", id, root, size, err, wr, ref.size[wr])
		}
		if p := ref.parent[id]; p != id {
			if tx, ok, err := c.Link(id, p); err != nil || !ok || uint64(tx)+1 != ref.link[id] {
				fail("link %d–%d: %d %v %v, want %d", id, p, tx, ok, err, ref.link[id]-1)
			}
			continue
		}
		var ring, want []store.AddrID
		for m := id; ; {
			want = append(want, m)
			if m = ref.next[m]; m == id {
				break
			}
		}
		if err := c.Members(id, 0, func(m store.AddrID, _ address.Addr) bool { ring = append(ring, m); return true }); err != nil || !slices.Equal(ring, want) {
			fail("members of %d: %v %v, want %v", id, ring, err, want)
		}
	}
	var refusals []store.ClusterRefusal
	if err := st.ClusterRefusals(func(r store.ClusterRefusal) bool { refusals = append(refusals, r); return true }); err != nil {
		t.Fatal(err)
	}
	// The store lists refusals in key order: transaction, then the roots.
	want := slices.Clone(ref.refusals)
	slices.SortFunc(want, func(a, b store.ClusterRefusal) int {
		return cmp.Or(cmp.Compare(a.Tx, b.Tx), cmp.Compare(a.A, b.A), cmp.Compare(a.B, b.B))
	})
	if !slices.Equal(refusals, want) {
		t.Errorf("refusals %v\nreference %v", refusals, want)
	}
}

// TestReferenceForest clusters generated chains with the store's forest
// and with the reference union-find, under several rule sets and guards,
// and compares the two address by address.
func TestReferenceForest(t *testing.T) {
	scam, _ := scamChain(t)
	other := filepath.Join(t.TempDir(), "chain")
	if _, err := chaingen.Generate(context.Background(), chaingen.Config{OutDir: other, Txs: 4000, Seed: 7}, nil); err != nil {
		t.Fatal(err)
	}
	for _, chain := range []struct{ name, dir string }{{"seed 42", scam}, {"seed 7", other}} {
		st := ingestChain(t, chain.dir, -1)
		for _, tc := range []struct {
			name string
			opt  cluster.Options
		}{
			{"multi-input, default guard", cluster.Options{MaxMerge: cluster.DefaultMaxMerge}},
			{"one-time, guard 50", cluster.Options{MaxMerge: 50, Change: []cluster.Rule{cluster.RuleOneTime}}},
			{"every rule, guard 20, commits every 97 txs", cluster.Options{MaxMerge: 20, Change: cluster.Rules, CommitEvery: 97}},
			{"every rule, no guard", cluster.Options{Change: cluster.Rules}},
		} {
			t.Run(chain.name+"/"+tc.name, func(t *testing.T) {
				opt := tc.opt
				opt.Rebuild = true
				if _, err := cluster.Run(context.Background(), st, opt); err != nil {
					t.Fatal(err)
				}
				ref := newRefForest()
				if err := cluster.RunWith(st, tc.opt, ref, st.State().NextTx); err != nil {
					t.Fatal(err)
				}
				if ref.st.Unions == 0 {
					t.Fatal("the chain joined no addresses")
				}
				compareForest(t, st, ref)
			})
		}
	}
}
