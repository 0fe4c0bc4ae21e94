package store

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestMergeIter: the merge of sorted runs (spilled files read through
// buffers smaller and larger than their entries, and the in-memory run)
// yields every entry in key order, equal keys in run order, as a stable
// sort of all runs' entries by key does; for 1 to 37 runs, keys shorter
// and longer than the 8-byte prefixes the tournament compares first.
func TestMergeIter(t *testing.T) {
	for _, tc := range []struct {
		runs, bufSize int
	}{{1, 1 << 10}, {2, 16}, {3, 1 << 10}, {8, 64}, {37, 16}, {37, 1 << 16}} {
		t.Run(fmt.Sprintf("%d runs, buffers of %d", tc.runs, tc.bufSize), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.runs), uint64(tc.bufSize)))
			type kv struct{ k, v string }
			var want []kv
			var rs []*runReader
			dir := t.TempDir()
			for run := 0; run < tc.runs; run++ {
				var e entryBuf
				for i, n := 0, rng.IntN(300); i < n; i++ {
					k := make([]byte, rng.IntN(14))
					for j := range k {
						k[j] = byte(rng.IntN(3)) // few distinct bytes: shared prefixes, equal keys across runs
					}
					v := bytes.Repeat([]byte{byte(run)}, rng.IntN(40))
					e.add(k, v)
				}
				var scratch []bufEntry
				e.sort(&scratch)
				for i := range e.ents {
					want = append(want, kv{string(e.key(&e.ents[i])), string(e.value(&e.ents[i]))})
				}
				if run == tc.runs-1 {
					rs = append(rs, &runReader{idx: run, mem: &e, ents: e.ents})
					break
				}
				name := filepath.Join(dir, fmt.Sprint(run))
				if _, err := e.writeRun(name, &scratch); err != nil {
					t.Fatal(err)
				}
				f, err := os.Open(name)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { f.Close() })
				rs = append(rs, &runReader{idx: run, r: bufio.NewReaderSize(f, tc.bufSize)})
			}
			slices.SortStableFunc(want, func(x, y kv) int { return bytes.Compare([]byte(x.k), []byte(y.k)) })
			it, err := newMergeIter(rs)
			if err != nil {
				t.Fatal(err)
			}
			var got []kv
			for it.next() {
				got = append(got, kv{string(it.k), string(it.v)})
			}
			if it.err != nil {
				t.Fatal(it.err)
			}
			if len(got) != len(want) {
				t.Fatalf("merged %d entries, want %d", len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("entry %d: %x=%x, want %x=%x", i, got[i].k, got[i].v, want[i].k, want[i].v)
				}
			}
		})
	}
}

// TestMergeIterCorrupt: a run file cut inside an entry ends the merge with
// an error, not a panic or a short merge passed off as whole.
func TestMergeIterCorrupt(t *testing.T) {
	var e entryBuf
	for i := 0; i < 100; i++ {
		e.add([]byte(fmt.Sprintf("key%04d", i)), bytes.Repeat([]byte{1}, 30))
	}
	var scratch []bufEntry
	name := filepath.Join(t.TempDir(), "run")
	if _, err := e.writeRun(name, &scratch); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(name, fi.Size()-10); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	it, err := newMergeIter([]*runReader{{r: bufio.NewReaderSize(f, 64)}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for it.next() {
		n++
	}
	if it.err == nil {
		t.Fatalf("merged %d entries of a cut run without an error", n)
	}
}
