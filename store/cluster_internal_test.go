package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/tracer-oss/tracer/sanctions/address"
)

func testAddr(b byte) address.Addr {
	a := address.Addr{Kind: address.P2WPKH}
	a.Payload[0] = b
	return a
}

// TestClusterForest: unions by size, the link of two addresses is the
// latest union between them, member rings, the guard, P2PK as P2PKH, and
// everything read back after a commit with an empty cache.
func TestClusterForest(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w, err := s.NewClusterWriter(false)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[byte]AddrID{}
	for _, b := range []byte{1, 2, 3, 4, 5, 6} {
		if ids[b], err = w.Intern(testAddr(b)); err != nil {
			t.Fatal(err)
		}
	}
	pk := address.Addr{Kind: address.P2PK}
	pk.Payload[0] = 9
	pkID, _ := w.Intern(pk)
	for _, u := range []struct {
		a, b byte
		tx   TxNum
	}{{1, 2, 5}, {3, 4, 7}, {2, 3, 9}, {5, 6, 11}} {
		if ok, ref, err := w.Union(ids[u.a], ids[u.b], u.tx, 0, "multi-input"); err != nil || !ok || ref != nil {
			t.Fatalf("union %d %d: %v %v %v", u.a, u.b, ok, ref, err)
		}
	}
	// Both clusters exceed a guard of 1: refused, once.
	for i := range 2 {
		if ok, ref, err := w.Union(ids[1], ids[5], 12, 1, "multi-input"); err != nil || ok || (ref != nil) != (i == 0) || w.State().Refused != 1 {
			t.Fatalf("guarded union %d: %v %v %v", i, ok, ref, err)
		}
	}
	if ok, _, _ := w.Union(ids[1], ids[4], 13, 0, "x"); ok {
		t.Fatal("union within one cluster reported as a merge")
	}
	w.State().NextTx = 14
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Clusters{s.Clusters()} {
		for _, tc := range []struct {
			a, b byte
			tx   TxNum
			ok   bool
		}{{1, 2, 5, true}, {3, 4, 7, true}, {1, 4, 9, true}, {2, 3, 9, true}, {5, 6, 11, true}, {1, 5, 0, false}} {
			tx, ok, err := c.Link(ids[tc.a], ids[tc.b])
			if err != nil || ok != tc.ok || ok && tx != tc.tx {
				t.Errorf("link %d–%d: %d %v %v, want %d %v", tc.a, tc.b, tx, ok, err, tc.tx, tc.ok)
			}
		}
		var got []byte
		if err := c.Members(ids[3], 0, func(_ AddrID, a address.Addr) bool { got = append(got, a.Payload[0]); return true }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 4 || bytes.IndexByte(got, 1) < 0 || bytes.IndexByte(got, 4) < 0 {
			t.Errorf("members %v", got)
		}
		p2pkh := pk
		p2pkh.Kind = address.P2PKH
		if id, ok, err := c.Lookup(p2pkh); err != nil || !ok || id != pkID {
			t.Errorf("P2PK under its P2PKH: %d %v %v", id, ok, err)
		}
		if _, size, err := c.Root(ids[6]); err != nil || size != 2 {
			t.Errorf("size %d %v", size, err)
		}
	}
	st, ok, err := s.ClusterState()
	if err != nil || !ok || st.Addresses != 7 || st.Clusters != 3 || st.Unions != 4 || st.Refused != 1 || st.Largest != 4 || st.Dirty {
		t.Errorf("state %+v %v %v", st, ok, err)
	}
	n := 0
	if err := s.ClusterRefusals(func(r ClusterRefusal) bool {
		n++
		return r.Tx == 12 && r.SizeA == 4 && r.SizeB == 2 || r.SizeA == 2 && r.SizeB == 4
	}); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d refusals stored", n)
	}
	// A state marked dirty (by an undo) needs a rebuild.
	dirty := st
	dirty.Dirty = true
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(keyClusterState, mustJSON(&dirty)) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.NewClusterWriter(false); !errors.Is(err, ErrClusterDirty) {
		t.Errorf("dirty state: %v", err)
	}
	// An older version's interrupted commit (dirty, not past the chain's
	// end) is never taken for a rollback to undo.
	dirty.NextTx = 0
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(keyClusterState, mustJSON(&dirty)) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.NewClusterWriter(false); !errors.Is(err, ErrClusterDirty) {
		t.Errorf("dirty state of an interrupted commit: %v", err)
	}
	if w, err := s.NewClusterWriter(true); err != nil || w.State().NextID > 1 {
		t.Errorf("rebuild: %v", err)
	}
}

func FuzzDecodeClusterNode(f *testing.F) {
	f.Add(appendClusterNode(nil, &clusterNode{parent: 3, size: 9, link: 77, next: 4, addr: testAddr(5)}))
	f.Add([]byte{1, 1, 0, 1, 8})
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := decodeClusterNode(b)
		if err != nil {
			return
		}
		// Uvarints may be written longer than needed; the decoded node
		// must survive a round trip.
		m, err := decodeClusterNode(appendClusterNode(nil, n))
		if err != nil || *m != *n {
			t.Fatalf("%x: %+v does not round-trip: %+v %v", b, n, m, err)
		}
	})
}

// forestView is everything a reader sees of the forest.
func forestView(t *testing.T, s *Store, addrs []address.Addr) string {
	t.Helper()
	c := s.Clusters()
	var b bytes.Buffer
	for _, a := range addrs {
		id, ok, err := c.Lookup(a)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			fmt.Fprintf(&b, "%x: none\n", a.Payload[0])
			continue
		}
		root, size, err := c.Root(id)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%x: id %d root %d size %d members", a.Payload[0], id, root, size)
		if err := c.Members(id, 0, func(m AddrID, _ address.Addr) bool { fmt.Fprintf(&b, " %d", m); return true }); err != nil {
			t.Fatal(err)
		}
		if p := c.nodes[id].parent; p != id {
			tx, _, err := c.Link(id, p)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, " link %d", tx)
		}
		b.WriteByte('\n')
	}
	if err := s.ClusterRefusals(func(r ClusterRefusal) bool { fmt.Fprintf(&b, "refused %+v\n", r); return true }); err != nil {
		t.Fatal(err)
	}
	st, _, err := s.ClusterState()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "state: next tx %d, next id %d, %d addresses, %d clusters\n", st.NextTx, st.NextID, st.Addresses, st.Clusters)
	return b.String()
}

// TestClusterCommitKilled fails a commit after each of its steps, as a kill
// there would: readers see the previous commit before the state is
// written and the new one after, never a mix, and the next writer resumes
// from what readers see and leaves no journal behind.
func TestClusterCommitKilled(t *testing.T) {
	var addrs []address.Addr
	for b := range byte(12) {
		addrs = append(addrs, testAddr(b+1))
	}
	// First commit: 1–2–3, 4–5 (tx 10, 11); second: 6–7, 3–4, 8, 1–9
	// (tx 20–23) and a refusal at tx 24.
	first := func(w *ClusterWriter) {
		ids := make([]AddrID, 6)
		for i := range ids[1:] {
			ids[i+1], _ = w.Intern(addrs[i])
		}
		if _, _, err := w.Union(ids[1], ids[2], 10, 0, "multi-input"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.Union(ids[2], ids[3], 10, 0, "multi-input"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.Union(ids[4], ids[5], 11, 0, "multi-input"); err != nil {
			t.Fatal(err)
		}
		w.State().NextTx = 12
	}
	second := func(w *ClusterWriter) {
		id := func(n int) AddrID { i, _ := w.Intern(addrs[n-1]); return i }
		if _, _, err := w.Union(id(6), id(7), 20, 0, "multi-input"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.Union(id(3), id(4), 21, 0, "multi-input"); err != nil {
			t.Fatal(err)
		}
		id(8)
		if _, _, err := w.Union(id(1), id(9), 23, 0, "multi-input"); err != nil {
			t.Fatal(err)
		}
		if _, ref, _ := w.Union(id(6), id(1), 24, 1, "multi-input"); ref == nil {
			t.Fatal("no refusal")
		}
		w.State().NextTx = 25
	}
	run := func(t *testing.T, kill string) (*Store, string, string) {
		s, err := Open(t.TempDir(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		w, err := s.NewClusterWriter(false)
		if err != nil {
			t.Fatal(err)
		}
		first(w)
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		before := forestView(t, s, addrs)
		second(w)
		w.hook = func(step string) error {
			if step == kill {
				return errors.New("killed at " + step)
			}
			return nil
		}
		if err := w.Commit(); (err != nil) != (kill != "") {
			t.Fatalf("commit killed at %q: %v", kill, err)
		}
		return s, before, forestView(t, s, addrs)
	}
	_, before, after := run(t, "")
	if before == after {
		t.Fatal("the second commit changed nothing")
	}
	for _, tc := range []struct {
		kill string
		want string // what readers see: "before" or "after"
	}{{ClusterStepWritten, "before"}, {ClusterStepJournal, "after"}, {ClusterStepCopied, "after"}} {
		t.Run(tc.kill, func(t *testing.T) {
			s, _, seen := run(t, tc.kill)
			want := map[string]string{"before": before, "after": after}[tc.want]
			if seen != want {
				t.Fatalf("readers see\n%s\nwant (%s)\n%s", seen, tc.want, want)
			}
			// The next writer resumes from what readers saw; finishing the
			// second batch again gives the uninterrupted result.
			w, err := s.NewClusterWriter(false)
			if err != nil {
				t.Fatal(err)
			}
			if got := forestView(t, s, addrs); got != want {
				t.Fatalf("after reopening, readers see\n%s\nwant\n%s", got, want)
			}
			journal := 0
			if err := s.view(func(txn *badger.Txn) error {
				it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixClusterJournal}})
				defer it.Close()
				for it.Rewind(); it.Valid(); it.Next() {
					journal++
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if st, _, _ := s.ClusterState(); journal != 0 || st.Journal {
				t.Fatalf("%d journal entries left, state journal %v", journal, st.Journal)
			}
			if tc.want == "before" {
				second(w)
				if err := w.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			if got := forestView(t, s, addrs); got != after {
				t.Fatalf("resumed:\n%s\nwant\n%s", got, after)
			}
		})
	}
}

// TestClusterKeepsCaseLog: cluster commits and a writer's start leave the
// case log alone (the cluster journal once shared its key prefix and a
// writer's start dropped every case's log).
func TestClusterKeepsCaseLog(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id, err := s.Cases().Create(func(uint64) ([]byte, error) { return []byte(`{}`), nil }, nil, CaseEvent{Who: "t", Action: "create"})
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		w, err := s.NewClusterWriter(false)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := w.Intern(testAddr(byte(2 * round)))
		b, _ := w.Intern(testAddr(byte(2*round + 1)))
		if _, _, err := w.Union(a, b, TxNum(round), 0, "multi-input"); err != nil {
			t.Fatal(err)
		}
		w.State().NextTx = TxNum(round + 1)
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	log, err := s.Cases().Log(id)
	if err != nil || len(log) != 1 || log[0].Action != "create" {
		t.Fatalf("case log after clustering: %+v, %v", log, err)
	}
}

// TestClusterReaderPinned: a reader that has read, and a snapshot taken,
// before a commit that changes committed nodes in place keep answering as
// of their state; a reader started after it sees the commit.
func TestClusterReaderPinned(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w, err := s.NewClusterWriter(false)
	if err != nil {
		t.Fatal(err)
	}
	union := func(x, y byte, tx TxNum) {
		a, _ := w.Intern(testAddr(x))
		b, _ := w.Intern(testAddr(y))
		if _, _, err := w.Union(a, b, tx, 0, "multi-input"); err != nil {
			t.Fatal(err)
		}
		w.State().NextTx = tx + 1
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	union(1, 2, 0)
	size := func(c *Clusters, x byte) int64 {
		t.Helper()
		id, ok, err := c.Lookup(testAddr(x))
		if err != nil || !ok {
			t.Fatalf("lookup %d: %v %v", x, ok, err)
		}
		_, n, err := c.Root(id)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := s.Clusters()
	if n := size(before, 1); n != 2 {
		t.Fatalf("size %d before", n)
	}
	snap, release, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	union(3, 4, 1)
	union(2, 3, 2) // joins the two clusters: roots change in place
	for name, c := range map[string]*Clusters{"reader": before, "snapshot": snap.Clusters()} {
		before.nodes = map[AddrID]*clusterNode{} // read again, not from the cache
		if n := size(c, 2); n != 2 {
			t.Errorf("%s pinned before the commits: cluster of 2 has %d addresses, want 2", name, n)
		}
	}
	if n := size(s.Clusters(), 2); n != 4 {
		t.Errorf("a new reader: cluster of 2 has %d addresses, want 4", n)
	}
}

// TestUnspentSet: random puts and takes give what a map gives, through
// the table's growth and its deletions (backward shift must keep every
// probe run reachable).
func TestUnspentSet(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	var u unspentSet
	want := map[OutPoint]Output{}
	var live []OutPoint
	for step := range 200_000 {
		if len(live) == 0 || r.IntN(5) < 3 {
			op := OutPoint{Tx: TxNum(step), Vout: uint32(r.IntN(4))}
			if _, ok := want[op]; ok {
				continue
			}
			o := Output{Value: int64(step)}
			o.Addr.Payload[0] = byte(step)
			u.put(op, &o)
			want[op] = o
			live = append(live, op)
			continue
		}
		i := r.IntN(len(live))
		op := live[i]
		live[i] = live[len(live)-1]
		live = live[:len(live)-1]
		var got Output
		if !u.take(op, &got) || got != want[op] {
			t.Fatalf("step %d: take %v = %v, want %v", step, op, got, want[op])
		}
		delete(want, op)
		if u.take(op, &got) {
			t.Fatalf("step %d: %v taken twice", step, op)
		}
		if miss := (OutPoint{Tx: TxNum(step + 1), Vout: 0}); u.take(miss, &got) {
			t.Fatalf("step %d: took %v, never put", step, miss)
		}
	}
	if u.tab.Len() != len(want) {
		t.Fatalf("%d entries, want %d", u.tab.Len(), len(want))
	}
	for op, o := range want {
		var got Output
		if !u.take(op, &got) || got != o {
			t.Fatalf("take %v = %v, want %v", op, got, o)
		}
	}
}

// TestClusterTableCommits interns addresses over several commits (the
// first writes the whole table, later ones the slots they filled, sparse
// and dense, one after the table grew) and checks that every address has
// its own id, ids are dense (1..n, in the order first seen), and a reader
// and a writer that loads the forest again find each address's id, and no
// id for an address never interned.
func TestClusterTableCommits(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	addr := func(i int) address.Addr {
		a := address.Addr{Kind: address.P2WPKH}
		binary.BigEndian.PutUint32(a.Payload[:], uint32(i))
		a.Payload[31] = 7
		return a
	}
	w, err := s.NewClusterWriter(false)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for step, add := range []int{1000, 5, 500, 3, 1600, 3000, 1} {
		for range add {
			n++
			id, err := w.Intern(addr(n))
			if err != nil {
				t.Fatal(err)
			}
			if id != AddrID(n) {
				t.Fatalf("step %d: address %d got id %d, want %d (dense, first-seen order)", step, n, id, n)
			}
		}
		// Interning again gives the same ids, not new ones.
		for _, i := range []int{1, n / 2, n} {
			if id, err := w.Intern(addr(i)); err != nil || id != AddrID(i) {
				t.Fatalf("step %d: address %d interned again: %d %v", step, i, id, err)
			}
		}
		w.State().NextTx = TxNum(step + 1)
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		// The table file holds the table in memory, slot for slot.
		disk, err := os.ReadFile(s.clusterPath(tableFile(w.table.Gen)))
		if err != nil {
			t.Fatal(err)
		}
		if len(disk) != 8*len(w.f.table) {
			t.Fatalf("step %d: table file of %d bytes, want %d", step, len(disk), 8*len(w.f.table))
		}
		for i, e := range w.f.table {
			if got := binary.LittleEndian.Uint64(disk[8*i:]); got != e {
				t.Fatalf("step %d: slot %d on disk %x, in memory %x", step, i, got, e)
			}
		}
		c := s.Clusters()
		for i := 1; i <= n; i++ {
			id, ok, err := c.Lookup(addr(i))
			if err != nil || !ok || id != AddrID(i) {
				t.Fatalf("step %d: reader's lookup of address %d: %d %v %v", step, i, id, ok, err)
			}
			if a, err := c.Addr(id); err != nil || a != addr(i) {
				t.Fatalf("step %d: reader's address of id %d: %v %v", step, id, a, err)
			}
		}
		if id, ok, err := c.Lookup(addr(n + 1)); err != nil || ok {
			t.Fatalf("step %d: an address never interned has id %d (%v %v)", step, id, ok, err)
		}
	}
	if st, _, err := s.ClusterState(); err != nil || st.Addresses != int64(n) || st.NextID != AddrID(n+1) {
		t.Fatalf("state %+v %v, want %d addresses", st, err, n)
	}
	w, err = s.NewClusterWriter(false)
	if err != nil {
		t.Fatal(err)
	}
	for i := n; i >= 1; i-- {
		if id, err := w.Intern(addr(i)); err != nil || id != AddrID(i) {
			t.Fatalf("loaded writer: address %d has id %d (%v)", i, id, err)
		}
	}
	if id, err := w.Intern(addr(n + 1)); err != nil || id != AddrID(n+1) {
		t.Fatalf("loaded writer: a new address has id %d (%v), want %d", id, err, n+1)
	}
}

// TestClusterRemovedFileStillPinned: a table file the writer removes (a new
// generation replaced it) stays readable by name for a reader whose older
// snapshot names it, whether or not it was open before; a file that never
// existed is still an error, and a file created again under the name is
// the new one.
func TestClusterRemovedFileStillPinned(t *testing.T) {
	st, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := os.MkdirAll(filepath.Join(st.dir, clusterDir), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"table-1.dat", "table-2.dat"} {
		if err := os.WriteFile(st.clusterPath(name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.clusterFile("table-2.dat", false); err != nil { // open before removal
		t.Fatal(err)
	}
	if err := st.removeClusterFiles(func(n string) bool { return n != "table-3.dat" }); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"table-1.dat", "table-2.dat"} {
		if _, err := os.Stat(st.clusterPath(name)); !os.IsNotExist(err) {
			t.Fatalf("%s not removed: %v", name, err)
		}
		f, err := st.clusterFile(name, false)
		if err != nil {
			t.Fatalf("%s removed under a reader: %v", name, err)
		}
		b := make([]byte, len(name))
		if _, err := f.ReadAt(b, 0); err != nil || string(b) != name {
			t.Fatalf("%s reads %q, %v", name, b, err)
		}
	}
	if _, err := st.clusterFile("table-9.dat", false); err == nil {
		t.Fatal("a file that never existed opened")
	}
	if err := os.WriteFile(st.clusterPath("table-1.dat"), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := st.clusterFile("table-1.dat", false)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 3)
	if _, err := f.ReadAt(b, 0); err != nil || string(b) != "new" {
		t.Fatalf("recreated file reads %q, %v", b, err)
	}
}
