package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/storetest"
)

// buildExposure writes and commits a generation with accumulators for
// acc-0000..acc-(accs-1) and tx shares for the even txs below txs. From
// 600 accumulators on they are written in three parts (three files), as
// a large build writes them.
func buildExposure(t *testing.T, st *store.Store, accs, txs int) uint32 {
	t.Helper()
	w, err := st.Exposure().NewIndex()
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < txs; n += 2 {
		if err := w.PutTxShares(store.TxNum(n), []byte(fmt.Sprintf("t%d-%d", w.Gen(), n))); err != nil {
			t.Fatal(err)
		}
	}
	parts := 1
	if accs >= 600 {
		parts = 3
	}
	for i := range accs {
		p, err := w.AccPart(i * parts / accs)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.PutAcc(fmt.Sprintf("acc-%04d", i), []byte(fmt.Sprintf("a%d-%d", w.Gen(), i))); err != nil {
			t.Fatal(err)
		}
	}
	hdr, err := w.Commit(context.Background(), store.ExposureIndex{TipHeight: 1, Addresses: accs})
	if err != nil {
		t.Fatal(err)
	}
	if !hdr.Files || hdr.AccFiles != parts {
		t.Fatalf("header %+v: a build's generation has no files, or not its %d accumulators' files", hdr, parts)
	}
	return hdr.Gen
}

// newExposureWriter opens a store in dir (closed when the test ends) and
// starts a generation in it.
func newExposureWriter(t *testing.T, dir string) (*store.Store, *store.ExposureWriter) {
	t.Helper()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w, err := st.Exposure().NewIndex()
	if err != nil {
		t.Fatal(err)
	}
	return st, w
}

// exposureNames are the names in dir's exposure directory, in order.
func exposureNames(dir string) []string {
	ents, _ := os.ReadDir(filepath.Join(dir, "exposure"))
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// reopenReadOnly closes st, the store in dir, and opens it again read-only
// (closed when the test ends).
func reopenReadOnly(t *testing.T, st *store.Store, dir string) *store.Store {
	t.Helper()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dir, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// allAccs is ForEachAcc into a map, checking the order.
func allAccs(t *testing.T, st *store.Store, gen uint32) map[string]string {
	t.Helper()
	got := map[string]string{}
	last := ""
	err := st.Exposure().ForEachAcc(gen, func(k string, v []byte) error {
		if k <= last {
			return fmt.Errorf("%q after %q", k, last)
		}
		last = k
		got[k] = string(v)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestExposureFilesUnderUpdates: a generation's records live in its files
// and updates in Badger over them; every reader (Acc, TxShares, ForEachAcc,
// an update's own reads, the header's count) sees the two merged: an
// update replaces a record of the file, deletes it, adds one, deletes a
// range of tx shares reaching into the file, and adds back what it
// deleted; a reopened store reads the same.
func TestExposureFilesUnderUpdates(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const accs, txs = 3000, 4000 // many blocks of each file
	gen := buildExposure(t, st, accs, txs)
	want := map[string]string{}
	for i := range accs {
		want[fmt.Sprintf("acc-%04d", i)] = fmt.Sprintf("a%d-%d", gen, i)
	}
	err = st.Exposure().Update(gen, func(u *store.ExposureUpdate) error {
		if v, ok, err := u.Acc("acc-0005"); err != nil || !ok || string(v) != want["acc-0005"] {
			return fmt.Errorf("update reads the file: %q %v %v", v, ok, err)
		}
		for _, c := range []struct{ k, v string }{{"acc-0005", "new"}, {"acc-0007", ""}, {"acc-2999", ""}, {"acc-9999", "added"}, {"aaa", "first"}} {
			var v []byte
			if c.v != "" {
				v = []byte(c.v)
			}
			if err := u.PutAcc(c.k, v); err != nil {
				return err
			}
		}
		if _, ok, err := u.Acc("acc-0007"); err != nil || ok {
			return fmt.Errorf("update reads its own delete: %v %v", ok, err)
		}
		if err := u.PutTxShares(1, []byte("odd")); err != nil {
			return err
		}
		if err := u.PutTxShares(12, []byte("replaced")); err != nil {
			return err
		}
		if err := u.PutTxShares(3, nil); err == nil {
			return errors.New("an empty tx shares record was accepted (it would read as a delete)")
		}
		return u.DeleteTxShares(10, 21)
	})
	if err != nil {
		t.Fatal(err)
	}
	want["acc-0005"], want["acc-9999"], want["aaa"] = "new", "added", "first"
	delete(want, "acc-0007")
	delete(want, "acc-2999")
	check := func(st *store.Store, want map[string]string) {
		t.Helper()
		got := allAccs(t, st, gen)
		if len(got) != len(want) {
			t.Fatalf("ForEachAcc: %d records, want %d", len(got), len(want))
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("ForEachAcc %s = %q, want %q", k, got[k], v)
			}
			if r, ok, err := st.Exposure().Acc(gen, k); err != nil || !ok || string(r) != v {
				t.Fatalf("Acc %s = %q %v %v, want %q", k, r, ok, err, v)
			}
		}
		for _, k := range []string{"acc-0007", "acc-2999", "acc-3000", "zzz"} {
			if _, ok := want[k]; ok {
				continue
			}
			if r, ok, err := st.Exposure().Acc(gen, k); err != nil || ok {
				t.Fatalf("Acc %s = %q %v %v, want none", k, r, ok, err)
			}
		}
		for n := range 40 {
			v, ok, err := st.Exposure().TxShares(gen, store.TxNum(n))
			var w string
			switch {
			case n == 1:
				w = "odd"
			case n >= 10 && n < 21:
			case n%2 == 0:
				w = fmt.Sprintf("t%d-%d", gen, n)
			}
			if err != nil || ok != (w != "") || string(v) != w {
				t.Fatalf("TxShares %d = %q %v %v, want %q", n, v, ok, err, w)
			}
		}
		hdr, err := st.Exposure().Header(gen)
		if err != nil || hdr.Addresses != len(want) {
			t.Fatalf("header counts %d addresses (%v), want %d", hdr.Addresses, err, len(want))
		}
	}
	check(st, want)
	// Adding back what an update deleted from the file.
	err = st.Exposure().Update(gen, func(u *store.ExposureUpdate) error { return u.PutAcc("acc-0007", []byte("back")) })
	if err != nil {
		t.Fatal(err)
	}
	want["acc-0007"] = "back"
	check(st, want)
	check(reopenReadOnly(t, st, dir), want)
}

// TestExposureWriterRefuses: records out of key order, repeated, or empty
// are refused, and the build leaves nothing behind.
func TestExposureWriterRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		put  func(w *store.ExposureWriter) error
	}{
		{"accumulators out of order", func(w *store.ExposureWriter) error {
			if err := w.PutAcc("b", []byte("1")); err != nil {
				return err
			}
			return w.PutAcc("a", []byte("2"))
		}},
		{"an accumulator twice", func(w *store.ExposureWriter) error {
			if err := w.PutAcc("a", []byte("1")); err != nil {
				return err
			}
			return w.PutAcc("a", []byte("2"))
		}},
		{"tx shares out of order", func(w *store.ExposureWriter) error {
			if err := w.PutTxShares(300, []byte("1")); err != nil {
				return err
			}
			return w.PutTxShares(2, []byte("2"))
		}},
		{"an empty accumulator", func(w *store.ExposureWriter) error { return w.PutAcc("a", []byte{}) }},
		{"empty tx shares", func(w *store.ExposureWriter) error { return w.PutTxShares(1, nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, w := newExposureWriter(t, dir)
			if err := tc.put(w); err == nil {
				t.Fatal("accepted")
			}
			w.Cancel()
			if ents, _ := os.ReadDir(filepath.Join(dir, "exposure")); len(ents) != 0 {
				t.Fatalf("a cancelled build left %d files", len(ents))
			}
		})
	}
}

// TestExposureFilesPinnedBySnapshot: a snapshot taken before a newer
// generation replaced the one it reads keeps reading it from its files,
// which are removed from the directory at once; a plain read of the
// removed generation is an error, never an empty answer.
func TestExposureFilesPinnedBySnapshot(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	g1 := buildExposure(t, st, 500, 100)
	snap, release, err := st.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	g2 := buildExposure(t, st, 10, 10) // Commit drops g1
	for _, name := range []string{fmt.Sprintf("gen-%d.acc", g1), fmt.Sprintf("gen-%d.txs", g1)} {
		if _, err := os.Stat(filepath.Join(dir, "exposure", name)); !os.IsNotExist(err) {
			t.Fatalf("%s of the replaced generation is still there (%v)", name, err)
		}
	}
	if info, err := snap.Exposure().Info(); err != nil || info.Gen != g1 {
		t.Fatalf("snapshot's index: %+v %v", info, err)
	}
	if v, ok, err := snap.Exposure().Acc(g1, "acc-0321"); err != nil || !ok || string(v) != fmt.Sprintf("a%d-321", g1) {
		t.Fatalf("snapshot read of its generation: %q %v %v", v, ok, err)
	}
	if got := allAccs(t, snap, g1); len(got) != 500 {
		t.Fatalf("snapshot iterates %d records of its generation, want 500", len(got))
	}
	if _, ok, err := st.Exposure().Acc(g1, "acc-0321"); err == nil || ok {
		t.Fatalf("read of a removed generation: %v %v, want an error", ok, err)
	}
	release()
	if v, ok, err := st.Exposure().Acc(g2, "acc-0003"); err != nil || !ok || string(v) != fmt.Sprintf("a%d-3", g2) {
		t.Fatalf("new generation: %q %v %v", v, ok, err)
	}
}

// TestExposureFilesLeftovers: a writer's open removes a killed build's
// unfinished files and files no header names, and keeps the committed
// generation's.
func TestExposureFilesLeftovers(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	gen := buildExposure(t, st, 50, 50)
	w, err := st.Exposure().NewIndex() // killed: never staged nor cancelled
	if err != nil {
		t.Fatal(err)
	}
	if err := w.PutAcc("x", []byte("y")); err != nil {
		t.Fatal(err)
	}
	part, err := w.AccPart(1) // its file is a leftover too
	if err != nil {
		t.Fatal(err)
	}
	if err := part.PutAcc("z", []byte("y")); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	stray := filepath.Join(dir, "exposure", "gen-77.acc")
	if err := os.WriteFile(stray, []byte("stray"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	names := exposureNames(dir)
	want := []string{fmt.Sprintf("gen-%d.acc", gen), fmt.Sprintf("gen-%d.txs", gen)}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("exposure directory holds %v, want %v", names, want)
	}
	if _, ok, err := st.Exposure().Acc(gen, "acc-0049"); err != nil || !ok {
		t.Fatalf("committed generation: %v %v", ok, err)
	}
}

// TestExposureAccParts: accumulators written in parts at once, each by
// its own goroutine, read back as one family in key order whatever the
// splits (empty parts first, between and last, block boundaries or not);
// the parts with records are numbered in order and nothing else is left;
// a part whose keys are not after the part before is refused at Stage,
// and the build fails whole; a part's file missing makes the generation's
// reads an error, never a smaller answer.
func TestExposureAccParts(t *testing.T) {
	const accs = 3000 // some 20 blocks
	val := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 1+i%300) }
	// write writes acc-00000.. in parts: part i from splits[i-1] (0 for
	// the first) up to splits[i] (accs for the last).
	write := func(t *testing.T, w *store.ExposureWriter, splits []int) {
		t.Helper()
		bounds := append(append([]int{0}, splits...), accs)
		var g sync.WaitGroup
		errs := make([]error, len(bounds)-1)
		for i := range len(bounds) - 1 {
			p, err := w.AccPart(i)
			if err != nil {
				t.Fatal(err)
			}
			g.Add(1)
			go func() {
				defer g.Done()
				for k := bounds[i]; k < bounds[i+1] && errs[i] == nil; k++ {
					errs[i] = p.PutAcc(fmt.Sprintf("acc-%05d", k), val(k))
				}
			}()
		}
		g.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		splits []int
		files  int
	}{
		{nil, 1},
		{[]int{1234}, 2},
		{[]int{0}, 2},    // all in part 1; the first file is kept, empty
		{[]int{accs}, 1}, // part 1 empty
		{[]int{1, 1, 1500, accs - 1}, 4},
		{[]int{0, 700, 700, 2999, accs}, 4},
	} {
		t.Run(fmt.Sprint(tc.splits), func(t *testing.T) {
			dir := t.TempDir()
			st, w := newExposureWriter(t, dir)
			write(t, w, tc.splits)
			hdr, err := w.Commit(context.Background(), store.ExposureIndex{TipHeight: 1, Addresses: accs})
			if err != nil {
				t.Fatal(err)
			}
			check := func(st *store.Store) {
				t.Helper()
				got := allAccs(t, st, hdr.Gen)
				if len(got) != accs {
					t.Fatalf("%d accumulators read back, want %d", len(got), accs)
				}
				for i := range accs {
					k := fmt.Sprintf("acc-%05d", i)
					if got[k] != string(val(i)) {
						t.Fatalf("%s: %d bytes read back, want %d", k, len(got[k]), len(val(i)))
					}
					if v, ok, err := st.Exposure().Acc(hdr.Gen, k); err != nil || !ok || !bytes.Equal(v, val(i)) {
						t.Fatalf("Acc(%s): %v %v", k, ok, err)
					}
				}
				for _, k := range []string{"acc", "acc-00000x", "acc-01233x", "zzz"} {
					if _, ok, err := st.Exposure().Acc(hdr.Gen, k); err != nil || ok {
						t.Fatalf("Acc(%s), a key between or beyond the records: %v %v", k, ok, err)
					}
				}
				res, err := st.Verify(context.Background(), nil)
				if err != nil || len(res.Problems) > 0 || res.ExposureFiles != 1+tc.files || res.ExposureRecords != accs {
					t.Fatalf("verify: %v, %d files, %d records, %v", res.Problems, res.ExposureFiles, res.ExposureRecords, err)
				}
			}
			check(st)
			want := []string{fmt.Sprintf("gen-%d.acc", hdr.Gen)}
			for i := 1; i < tc.files; i++ {
				want = append(want, fmt.Sprintf("gen-%d.acc.%d", hdr.Gen, i))
			}
			want = append(want, fmt.Sprintf("gen-%d.txs", hdr.Gen))
			if names := exposureNames(dir); strings.Join(names, " ") != strings.Join(want, " ") {
				t.Fatalf("exposure directory holds %v, want %v", names, want)
			}
			// Reopened: the header says how many files to open.
			check(reopenReadOnly(t, st, dir))
		})
	}
	t.Run("overlap", func(t *testing.T) {
		dir := t.TempDir()
		_, w := newExposureWriter(t, dir)
		write(t, w, []int{1500})
		p, err := w.AccPart(2)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.PutAcc("acc-02999", []byte("v")); err != nil { // the last of part 1
			t.Fatal(err)
		}
		if _, err := w.Commit(context.Background(), store.ExposureIndex{TipHeight: 1}); err == nil || !strings.Contains(err.Error(), "out of order") {
			t.Fatalf("a part overlapping the one before: %v, want out of order", err)
		}
		if names := exposureNames(dir); len(names) > 0 {
			t.Fatalf("a refused build left %v", names)
		}
	})
	for _, tc := range []struct {
		name   string
		damage func(part func(int) string) error
		want   error
		what   string
	}{
		{"missing part", func(part func(int) string) error { return os.Remove(part(2)) }, store.ErrCorrupt, "missing"},
		{"parts of two builds", func(part func(int) string) error {
			// Another store's build with a last part that begins with the
			// last key of this one's part 1 (in its last block, not its
			// first key): each file is sound, the two overlap.
			dir := t.TempDir()
			st, w := newExposureWriter(t, dir)
			write(t, w, []int{1000, 1999})
			hdr, err := w.Commit(context.Background(), store.ExposureIndex{TipHeight: 1, Addresses: accs})
			if err != nil {
				return err
			}
			if err := st.Close(); err != nil {
				return err
			}
			b, err := os.ReadFile(filepath.Join(dir, "exposure", fmt.Sprintf("gen-%d.acc.2", hdr.Gen)))
			if err != nil {
				return err
			}
			return os.WriteFile(part(2), b, 0o644)
		}, store.ErrDamaged, "first key not after"},
		{"parts swapped", func(part func(int) string) error {
			if err := os.Rename(part(1), part(3)); err != nil {
				return err
			}
			if err := os.Rename(part(2), part(1)); err != nil {
				return err
			}
			return os.Rename(part(3), part(2))
		}, store.ErrDamaged, "first key not after"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			st, w := newExposureWriter(t, dir)
			write(t, w, []int{1000, 2000})
			hdr, err := w.Commit(context.Background(), store.ExposureIndex{TipHeight: 1, Addresses: accs})
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			part := func(i int) string { return filepath.Join(dir, "exposure", fmt.Sprintf("gen-%d.acc.%d", hdr.Gen, i)) }
			if err := tc.damage(part); err != nil {
				t.Fatal(err)
			}
			st, err = store.Open(dir, store.Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			for _, k := range []string{"acc-00001", "acc-02500"} {
				if _, ok, err := st.Exposure().Acc(hdr.Gen, k); !errors.Is(err, tc.want) || ok {
					t.Fatalf("Acc(%s) of a generation with a part %s: %v %v", k, tc.name, ok, err)
				}
			}
			r, err := st.Verify(context.Background(), nil)
			if err != nil || len(r.Problems) != 1 || !strings.Contains(r.Problems[0].What, tc.what) {
				t.Fatalf("verify of a generation with %s: %+v %v", tc.name, r.Problems, err)
			}
		})
	}
}

// TestExposureFilesDamage: a flipped byte in a block is found by the read
// that meets it and by Verify, naming the file and offset; a damaged
// footer or index makes the generation's reads an error naming the file,
// and Verify's problem, but the store opens so a rebuild can replace it;
// a missing file is an error on read, never an empty answer.
func TestExposureFilesDamage(t *testing.T) {
	open := func(t *testing.T) (string, uint32) {
		dir := t.TempDir()
		st, err := store.Open(dir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		gen := buildExposure(t, st, 2000, 10)
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		return dir, gen
	}
	damage := func(t *testing.T, path string, at func(size int64) int64) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b[at(int64(len(b)))] ^= 0x20
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("block", func(t *testing.T) {
		dir, gen := open(t)
		name := fmt.Sprintf("gen-%d.acc", gen)
		damage(t, filepath.Join(dir, "exposure", name), func(int64) int64 { return 100 })
		st, err := store.Open(dir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		_, _, err = st.Exposure().Acc(gen, "acc-0001")
		if !errors.Is(err, store.ErrDamaged) || !strings.Contains(err.Error(), name) {
			t.Fatalf("read of a damaged block: %v", err)
		}
		if _, _, err := st.Exposure().Acc(gen, "acc-1999"); err != nil {
			t.Fatalf("read of an intact block: %v", err)
		}
		if err := st.Exposure().ForEachAcc(gen, func(string, []byte) error { return nil }); !errors.Is(err, store.ErrDamaged) {
			t.Fatalf("iteration over a damaged block: %v", err)
		}
		r, err := st.Verify(context.Background(), nil)
		if err != nil || len(r.Problems) != 1 || !strings.Contains(r.Problems[0].What, name) || r.ExposureFiles != 4 {
			t.Fatalf("verify: %+v, %d files, %v", r.Problems, r.ExposureFiles, err)
		}
	})
	for _, tc := range []struct {
		name string
		at   func(size int64) int64
	}{
		{"footer", func(size int64) int64 { return size - 10 }},
		{"index", func(size int64) int64 { return size - 45 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, gen := open(t)
			name := fmt.Sprintf("gen-%d.txs", gen)
			damage(t, filepath.Join(dir, "exposure", name), tc.at)
			// The store opens (its index is derived data, and the
			// remedy, a rebuild, needs it open); the generation's
			// reads and Verify name the damage; a rebuild replaces it.
			st, err := store.Open(dir, store.Options{})
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer st.Close()
			if _, ok, err := st.Exposure().Acc(gen, "acc-0001"); !errors.Is(err, store.ErrDamaged) || ok || !strings.Contains(err.Error(), name) {
				t.Fatalf("read of a generation with a damaged file: %v %v", ok, err)
			}
			if _, _, err := st.Exposure().TxShares(gen, 2); !errors.Is(err, store.ErrDamaged) {
				t.Fatalf("read of a generation with a damaged file: %v", err)
			}
			r, err := st.Verify(context.Background(), nil)
			if err != nil || len(r.Problems) != 1 || !strings.Contains(r.Problems[0].What, name) {
				t.Fatalf("verify: %+v %v", r.Problems, err)
			}
			g2 := buildExposure(t, st, 5, 5)
			if _, err := os.Stat(filepath.Join(dir, "exposure", name)); !os.IsNotExist(err) {
				t.Fatalf("the damaged generation's file outlived a rebuild (%v)", err)
			}
			if v, ok, err := st.Exposure().Acc(g2, "acc-0004"); err != nil || !ok || string(v) != fmt.Sprintf("a%d-4", g2) {
				t.Fatalf("rebuilt generation: %q %v %v", v, ok, err)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		dir, gen := open(t)
		if err := os.Remove(filepath.Join(dir, "exposure", fmt.Sprintf("gen-%d.acc", gen))); err != nil {
			t.Fatal(err)
		}
		st, err := store.Open(dir, store.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, ok, err := st.Exposure().Acc(gen, "acc-0001"); !errors.Is(err, store.ErrCorrupt) || ok {
			t.Fatalf("read of a generation without its files: %v %v", ok, err)
		}
		r, err := st.Verify(context.Background(), nil)
		if err != nil || len(r.Problems) != 1 || !strings.Contains(r.Problems[0].What, "missing") {
			t.Fatalf("verify of a generation without its files: %+v %v", r.Problems, err)
		}
	})
}

// TestExposureDigestIgnoresPlacement: Digest and Dump see a generation's
// records as readers do, so a record moved from the file to Badger (an
// update writing the same value) leaves them unchanged, and a changed
// value changes them.
func TestExposureDigestIgnoresPlacement(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	gen := buildExposure(t, st, 100, 100)
	before, n, err := st.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dump := func() string {
		t.Helper()
		var b strings.Builder
		if err := st.Dump(func(k, v []byte) error { fmt.Fprintf(&b, "%x=%x\n", k, v); return nil }); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	dumped := dump()
	if want := fmt.Sprintf("%x=%x\n", append([]byte{'Y', 0, 0, 0, byte(gen)}, "acc-0042"...), fmt.Sprintf("a%d-42", gen)); !strings.Contains(dumped, want) {
		t.Fatal("Dump leaves out the records in the generation's files")
	}
	put := func(v string) {
		t.Helper()
		err := st.Exposure().Update(gen, func(u *store.ExposureUpdate) error { return u.PutAcc("acc-0042", []byte(v)) })
		if err != nil {
			t.Fatal(err)
		}
	}
	put(fmt.Sprintf("a%d-42", gen))
	same, m, err := st.Digest(ctx)
	if err != nil || same != before || m != n {
		t.Fatalf("digest moved with a record's place: %x (%d) -> %x (%d) %v", before, n, same, m, err)
	}
	if dump() != dumped {
		t.Fatal("Dump moved with a record's place")
	}
	put("other")
	if other, _, _ := st.Digest(ctx); bytes.Equal(other[:], before[:]) {
		t.Fatal("digest blind to a changed record")
	}
	if dump() == dumped {
		t.Fatal("Dump blind to a changed record")
	}
}

// TestExposureOverlayModel: random updates over a generation's files
// (replacing, deleting, re-adding records of the file and of Badger alone,
// deleting ranges of tx shares, several changes of one key in one
// update) read, through every reader, as a map that took the same changes
// does, and the header counts its addresses.
func TestExposureOverlayModel(t *testing.T) {
	st := storetest.Open(t)
	rng := rand.New(rand.NewPCG(7, 13))
	const keys, txs = 600, 900
	accKey := func(i int) string { return fmt.Sprintf("acc-%04d", i) }
	accs, shares := map[string]string{}, map[store.TxNum]string{}
	w, err := st.Exposure().NewIndex()
	if err != nil {
		t.Fatal(err)
	}
	for n := range txs {
		if rng.IntN(3) == 0 {
			v := fmt.Sprintf("t-%d", n)
			shares[store.TxNum(n)] = v
			if err := w.PutTxShares(store.TxNum(n), []byte(v)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range keys {
		if rng.IntN(3) == 0 {
			v := fmt.Sprintf("a-%d", i)
			accs[accKey(i)] = v
			if err := w.PutAcc(accKey(i), []byte(v)); err != nil {
				t.Fatal(err)
			}
		}
	}
	hdr, err := w.Commit(context.Background(), store.ExposureIndex{TipHeight: 1, Addresses: len(accs)})
	if err != nil {
		t.Fatal(err)
	}
	gen := hdr.Gen
	for round := range 40 {
		err := st.Exposure().Update(gen, func(u *store.ExposureUpdate) error {
			for op := range 30 {
				switch rng.IntN(5) {
				case 0, 1:
					k := accKey(rng.IntN(keys))
					v := fmt.Sprintf("r%d-%d", round, op)
					accs[k] = v
					if err := u.PutAcc(k, []byte(v)); err != nil {
						return err
					}
				case 2:
					k := accKey(rng.IntN(keys))
					delete(accs, k)
					if err := u.PutAcc(k, nil); err != nil {
						return err
					}
				case 3:
					n := store.TxNum(rng.IntN(txs))
					v := fmt.Sprintf("s%d-%d", round, op)
					shares[n] = v
					if err := u.PutTxShares(n, []byte(v)); err != nil {
						return err
					}
				case 4:
					first := store.TxNum(rng.IntN(txs))
					end := first + store.TxNum(rng.IntN(40))
					for n := first; n < end; n++ {
						delete(shares, n)
					}
					if err := u.DeleteTxShares(first, end); err != nil {
						return err
					}
				}
			}
			// The update's own reads see its writes.
			k := accKey(rng.IntN(keys))
			if v, ok, err := u.Acc(k); err != nil || ok != (accs[k] != "") || string(v) != accs[k] {
				return fmt.Errorf("update reads %s = %q %v %v, want %q", k, v, ok, err, accs[k])
			}
			return nil
		})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if got := allAccs(t, st, gen); !maps.Equal(got, accs) {
			t.Fatalf("round %d: ForEachAcc holds %d records, want %d", round, len(got), len(accs))
		}
		for i := range keys {
			k := accKey(i)
			if v, ok, err := st.Exposure().Acc(gen, k); err != nil || ok != (accs[k] != "") || string(v) != accs[k] {
				t.Fatalf("round %d: Acc %s = %q %v %v, want %q", round, k, v, ok, err, accs[k])
			}
		}
		for n := range store.TxNum(txs + 50) {
			if v, ok, err := st.Exposure().TxShares(gen, n); err != nil || ok != (shares[n] != "") || string(v) != shares[n] {
				t.Fatalf("round %d: TxShares %d = %q %v %v, want %q", round, n, v, ok, err, shares[n])
			}
		}
		if h, err := st.Exposure().Header(gen); err != nil || h.Addresses != len(accs) {
			t.Fatalf("round %d: header counts %d addresses (%v), want %d", round, h.Addresses, err, len(accs))
		}
	}
}

// TestExposureDigestOfSnapshot: a snapshot's Digest is the store's at the
// snapshot, after a newer generation replaced the one it reads: its
// records are those of the generations its transaction names, from the
// files it pinned, not the store's files of now.
func TestExposureDigestOfSnapshot(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	buildExposure(t, st, 100, 100)
	want, wn, err := st.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	snap, release, err := st.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	buildExposure(t, st, 7, 7) // Commit drops the snapshot's generation
	got, gn, err := snap.Digest(ctx)
	if err != nil || got != want || gn != wn {
		t.Fatalf("snapshot's digest %x (%d keys, %v), want the store's at the snapshot %x (%d)", got, gn, err, want, wn)
	}
}

// TestExposureReadersRaceDrops: readers of the generation in force, as
// builds replace and drop it under them, get its records or an error
// saying it was replaced, never another generation's records nor an empty
// answer; snapshots taken meanwhile read their generation whole.
func TestExposureReadersRaceDrops(t *testing.T) {
	st := storetest.Open(t)
	const accs = 300
	buildExposure(t, st, accs, 20)
	done := make(chan struct{})
	stop := sync.OnceFunc(func() { close(done) })
	defer stop() // a failed build stops the readers too
	errc := make(chan error, 3)
	for r := range 3 {
		go func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					errc <- nil
					return
				default:
				}
				if r == 2 { // a snapshot, read whole
					snap, release, err := st.Snapshot()
					if err != nil {
						errc <- err
						return
					}
					info, err := snap.Exposure().Info()
					n := 0
					if err == nil {
						err = snap.Exposure().ForEachAcc(info.Gen, func(string, []byte) error { n++; return nil })
					}
					release()
					if err != nil || n != accs {
						errc <- fmt.Errorf("snapshot of generation %d: %d records, %v", info.Gen, n, err)
						return
					}
					continue
				}
				info, err := st.Exposure().Info()
				if err != nil {
					errc <- err
					return
				}
				k := i % accs
				v, ok, err := st.Exposure().Acc(info.Gen, fmt.Sprintf("acc-%04d", k))
				switch {
				case errors.Is(err, store.ErrNotFound):
				case err != nil || !ok || string(v) != fmt.Sprintf("a%d-%d", info.Gen, k):
					errc <- fmt.Errorf("generation %d acc %d: %q %v %v", info.Gen, k, v, ok, err)
					return
				}
			}
		}()
	}
	for range 15 {
		buildExposure(t, st, accs, 20)
	}
	stop()
	for range 3 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

// TestSnapshotPinsGenerationStagedMeanwhile: a generation staged and put
// in force between a snapshot's pins and its transaction is named by the
// transaction; the snapshot still reads it whole after a later build drops
// it, instead of "replaced and removed while it was being read".
func TestSnapshotPinsGenerationStagedMeanwhile(t *testing.T) {
	st := storetest.Open(t)
	const accs = 50
	buildExposure(t, st, accs, 10)
	once := sync.OnceFunc(func() { buildExposure(t, st, accs, 10) })
	store.SetAfterPins(t, once)
	snap, release, err := st.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	info, err := snap.Exposure().Info()
	if err != nil {
		t.Fatal(err)
	}
	buildExposure(t, st, accs, 10) // drops the generation the snapshot names
	n := 0
	if err := snap.Exposure().ForEachAcc(info.Gen, func(string, []byte) error { n++; return nil }); err != nil || n != accs {
		t.Fatalf("snapshot's generation %d after a build dropped it: %d records, %v", info.Gen, n, err)
	}
}

// TestSnapshotReleaseKeepsGenerationOpen: releasing a snapshot that
// pinned a generation staged after its first pins lets go of that pin
// once: the generation, still in force, stays readable.
func TestSnapshotReleaseKeepsGenerationOpen(t *testing.T) {
	st := storetest.Open(t)
	buildExposure(t, st, 50, 10)
	store.SetAfterPins(t, sync.OnceFunc(func() { buildExposure(t, st, 50, 10) }))
	snap, release, err := st.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	info, err := snap.Exposure().Info()
	release()
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := st.Exposure().Acc(info.Gen, "acc-0001"); err != nil || !ok || string(v) != fmt.Sprintf("a%d-1", info.Gen) {
		t.Fatalf("generation %d in force, after a snapshot that pinned it was released: %q %v %v", info.Gen, v, ok, err)
	}
}

// TestSnapshotPinsWhileWriterKeepsStaging: a writer that stages and puts
// in force a generation between every pins and transaction a snapshot
// takes does not leave the snapshot's generation unpinned: a later
// build's drop does not fail its reads.
func TestSnapshotPinsWhileWriterKeepsStaging(t *testing.T) {
	st := storetest.Open(t)
	const accs = 50
	buildExposure(t, st, accs, 10)
	store.SetAfterPins(t, func() { buildExposure(t, st, accs, 10) })
	snap, release, err := st.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	store.SetAfterPins(t, nil)
	info, err := snap.Exposure().Info()
	if err != nil {
		t.Fatal(err)
	}
	buildExposure(t, st, accs, 10)
	n := 0
	if err := snap.Exposure().ForEachAcc(info.Gen, func(string, []byte) error { n++; return nil }); err != nil || n != accs {
		t.Fatalf("snapshot's generation %d after a build dropped it: %d records, %v", info.Gen, n, err)
	}
}

// blockedWriter blocks its second Write (a backup's first after its
// magic: its files are pinned by then) until release is closed, saying
// on started that it got there.
type blockedWriter struct {
	w       io.Writer
	started chan struct{}
	release chan struct{}
	writes  int
}

func (b *blockedWriter) Write(p []byte) (int, error) {
	if b.writes++; b.writes == 2 {
		close(b.started)
		<-b.release
	}
	return b.w.Write(p)
}

// TestBackupBesideStagingBuild: a build that stages its generation while
// a backup is being written (a live service's pending build) does not
// end up in the backup as a header without its files: the restored
// store verifies clean and reads every generation its headers name.
func TestBackupBesideStagingBuild(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	buildExposure(t, st, 100, 20)
	w, err := st.Exposure().NewIndex()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.PutAcc("late", []byte("v")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	bw := &blockedWriter{w: &buf, started: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := st.Backup(ctx, bw)
		done <- err
	}()
	<-bw.started // the backup has pinned its files and is writing
	staged := make(chan error, 1)
	go func() {
		_, err := w.Stage(ctx, store.ExposureIndex{Addresses: 1})
		staged <- err
	}()
	select {
	case err := <-staged: // only without the staging lock
		staged <- err
	case <-time.After(300 * time.Millisecond):
	}
	close(bw.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-staged; err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "b")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	replica := filepath.Join(t.TempDir(), "replica")
	if _, err := store.Restore(ctx, file, replica, store.Options{}); err != nil {
		t.Fatal(err)
	}
	r, err := store.Open(replica, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if res, err := r.Verify(ctx, nil); err != nil || len(res.Problems) > 0 {
		t.Fatalf("restored store: %+v %v", res.Problems, err)
	}
}

// TestExposurePrefetch: Prefetch is a hint: with keys present, absent,
// before the first and after the last, duplicated, of a generation that
// does not exist, it returns and changes nothing; the reads after it give
// what they gave before.
func TestExposurePrefetch(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	gen := buildExposure(t, st, 3000, 3000)
	before := allAccs(t, st, gen)
	txs := []store.TxNum{0, 1, 2, 2, 2998, 5000, 1 << 40}
	accs := []string{"", "a", "acc-0000", "acc-0000", "acc-1500", "acc-2999", "zzz"}
	st.Exposure().Prefetch(gen, txs, accs)
	st.Exposure().Prefetch(gen+7, txs, accs)
	st.Exposure().Prefetch(gen, nil, nil)
	if after := allAccs(t, st, gen); !maps.Equal(before, after) {
		t.Fatal("accumulators changed after Prefetch")
	}
	if v, ok, err := st.Exposure().TxShares(gen, 2); err != nil || !ok || string(v) != fmt.Sprintf("t%d-2", gen) {
		t.Fatalf("TxShares(2) after Prefetch: %q %v %v", v, ok, err)
	}
}
