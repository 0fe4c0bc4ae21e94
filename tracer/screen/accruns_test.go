package screen

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/bits"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer/internal/scamstore"
)

// TestAccRunsMerge: accumulators spilled in several runs and the last
// still in memory merge, address by address, into what one map holding
// them all in chain order would give; the runs are removed.
func TestAccRunsMerge(t *testing.T) {
	// Kinds of every payload length, and a P2PK beside its P2PKH (one
	// record: the store matches them as one address).
	addrs := []address.Addr{
		{Kind: address.P2WPKH, Payload: [32]byte{1}},
		{Kind: address.P2PKH, Payload: [32]byte{2}},
		{Kind: address.P2TR, Payload: [32]byte{1, 3}},
		{Kind: address.P2PK, Payload: [32]byte{2}},
		{Kind: address.P2SH, Payload: [32]byte{5}},
		{Kind: address.OpReturn},
	}
	// Contributions in chain order: (address, slot, amount, output).
	type contrib struct {
		a      int
		slot   uint32
		amount int64
		tx     store.TxNum
	}
	chain := []contrib{{0, 1, 50, 1}, {1, 2, 7, 2}, {0, 1, 80, 3}, {2, 0, 5, 4}, {0, 3, 9, 5},
		{1, 2, 7, 6}, {3, 1, 1, 7}, {0, 1, 80, 8}, {4, 4, 2, 9}, {2, 0, 6, 10}, {3, 2, 9, 11}, {5, 1, 4, 12}}
	want := map[string][]byte{}
	all := map[string][]accEntry{} // by record key, in chain order
	for _, c := range chain {
		if k := recordKey(addrs[c.a]); k != "" {
			all[k] = addContribution(all[k], c.slot, c.amount, int32(c.slot), store.OutPoint{Tx: c.tx})
		}
	}
	for k, acc := range all {
		want[k] = encodeAcc(acc, nil)
	}
	if len(want) != 4 {
		t.Fatalf("the test's addresses make %d records, want 4", len(want))
	}
	for _, tc := range []struct{ parts, fanIn int }{{1, 0}, {2, 0}, {4, 0}, {1, 2}, {2, 2}, {4, 3}} {
		parts := tc.parts
		for _, every := range []int{1, 3, 100} {
			// A sample per record: the smallest runs split.
			r := &accRuns{slots: 5, sampleEvery: 1, fanIn: tc.fanIn}
			accs := map[address.Addr][]accEntry{}
			spills := 0
			for i, c := range chain {
				accs[addrs[c.a]] = addContribution(accs[addrs[c.a]], c.slot, c.amount, int32(c.slot), store.OutPoint{Tx: c.tx})
				if (i+1)%every == 0 && i+1 < len(chain) {
					if err := r.spill(context.Background(), accs); err != nil {
						t.Fatal(err)
					}
					spills++
				}
			}
			// Merged by fanIn: with 2, as a binary counter counts.
			if tc.fanIn == 2 && len(r.runs) != bits.OnesCount(uint(spills)) {
				t.Fatalf("%d spills, runs merged by 2: %d runs left, want %d", spills, len(r.runs), bits.OnesCount(uint(spills)))
			}
			if r.dir() != "" {
				if files, _ := filepath.Glob(filepath.Join(r.dir(), "run-*")); len(files) != len(r.runs) {
					t.Fatalf("%d run files for %d runs", len(files), len(r.runs))
				}
			}
			dir := r.dir()
			got := map[string][]byte{}
			keys := make([][]string, parts) // by part
			var mu sync.Mutex
			puts := make([]func(k string, v []byte) error, parts)
			for i := range puts {
				puts[i] = func(k string, v []byte) error {
					mu.Lock()
					defer mu.Unlock()
					got[k], keys[i] = bytes.Clone(v), append(keys[i], k) // v is valid only during the call
					return nil
				}
			}
			n, err := r.finish(context.Background(), accs, puts...)
			if err != nil || n != len(want) || !reflect.DeepEqual(got, want) {
				t.Fatalf("spill every %d, %+v: %d addresses, %v; got %v want %v", every, tc, n, err, got, want)
			}
			used := 0
			for _, ks := range keys {
				if len(ks) > 0 {
					used++
				}
			}
			if parts > 1 && every < 100 && used < 2 {
				t.Fatalf("spill every %d: %d of %d parts used (%q), want the keys split", every, used, parts, keys)
			}
			all := slices.Concat(keys...) // every key of a part after every key of the part before
			for i := 1; i < len(all); i++ {
				if all[i-1] >= all[i] {
					t.Fatalf("spill every %d, %d parts: keys out of order (or twice): %q", every, parts, keys)
				}
			}
			if dir != "" {
				if _, err := os.Stat(dir); !os.IsNotExist(err) {
					t.Fatalf("spill every %d: runs left in %s", every, dir)
				}
			}
		}
	}
}

// spilledRun spills the accumulators of n addresses and returns the runs
// and the run file's bytes, for a test to damage.
func spilledRun(t *testing.T, n int) (*accRuns, []byte) {
	t.Helper()
	r := &accRuns{slots: 5}
	accs := map[address.Addr][]accEntry{}
	for i := range n {
		accs[address.Addr{Kind: address.P2WPKH, Payload: [32]byte{byte(1 + i)}}] = sampleAcc()
	}
	if err := r.spill(context.Background(), accs); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.remove)
	raw, err := os.ReadFile(r.runs[0].name)
	if err != nil {
		t.Fatal(err)
	}
	return r, raw
}

// TestAccRunsDamaged: a damaged run is one clear error naming the run.
func TestAccRunsDamaged(t *testing.T) {
	r, raw := spilledRun(t, 1)
	if err := os.WriteFile(r.runs[0].name, raw[:len(raw)-2], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := r.finish(context.Background(), map[address.Addr][]accEntry{}, func(string, []byte) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "run-00000") {
		t.Fatalf("truncated run: %v", err)
	}
}

// TestAccRunsCutBetweenRecords: a run that ends early, exactly between
// two records (a file system returning less than was written), is an
// error naming the run, not a shorter run with an address left out.
func TestAccRunsCutBetweenRecords(t *testing.T) {
	r, raw := spilledRun(t, 2)
	kl, n := binary.Uvarint(raw)
	vl, m := binary.Uvarint(raw[n+int(kl):])
	first := n + int(kl) + m + int(vl) + 4
	if first >= len(raw) {
		t.Fatalf("the run holds %d bytes, its first record %d: want two records", len(raw), first)
	}
	if err := os.WriteFile(r.runs[0].name, raw[:first], 0o644); err != nil {
		t.Fatal(err)
	}
	wrote := 0
	_, err := r.finish(context.Background(), map[address.Addr][]accEntry{}, func(string, []byte) error { wrote++; return nil })
	if err == nil || !strings.Contains(err.Error(), "run-00000") || !strings.Contains(err.Error(), "ends at byte") {
		t.Fatalf("run cut between records: %v (%d records written)", err, wrote)
	}
}

// TestAccRunsFlipped: a run whose address no other run has is written as
// it was spilled, not decoded, so a damaged byte in its accumulators is
// found by the record's checksum: one clear error naming the run, and
// nothing of the damaged record written.
func TestAccRunsFlipped(t *testing.T) {
	r, raw := spilledRun(t, 1)
	raw[len(raw)-5] ^= 0x01 // the last byte of the accumulators, before the checksum
	if err := os.WriteFile(r.runs[0].name, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	wrote := 0
	_, err := r.finish(context.Background(), map[address.Addr][]accEntry{}, func(string, []byte) error { wrote++; return nil })
	if err == nil || !strings.Contains(err.Error(), "run-00000") || !strings.Contains(err.Error(), "checksum") || wrote != 0 {
		t.Fatalf("flipped byte: %v, %d records written", err, wrote)
	}
}

// TestBuildSpillFails: a build whose accumulators cannot be spilled (no
// temporary directory) fails with that error, leaves no index in force
// and does not hang its two stages.
func TestBuildSpillFails(t *testing.T) {
	ctx := context.Background()
	st := scamstore.Writable(t, 1500)
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	_, err := BuildIndex(ctx, st, Options{Params: scamstore.Params, UndoDepth: -1, accBudget: 1})
	if err == nil || !strings.Contains(err.Error(), "exposure build") {
		t.Fatalf("build with no temporary directory: %v", err)
	}
	if _, err := st.Exposure().Info(); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an index is in force after a failed build: %v", err)
	}
}

// TestBuildProgressSerial: a build's engine calls Progress one call at a
// time, though its walk, accumulator and merge parts report from their own
// goroutines (a CLI's progress line is not safe for two at once).
func TestBuildProgressSerial(t *testing.T) {
	var inside, overlaps, calls atomic.Int32
	e := newEngine(Options{Progress: func(string) {
		if inside.Add(1) > 1 {
			overlaps.Add(1)
		}
		time.Sleep(200 * time.Microsecond)
		inside.Add(-1)
		calls.Add(1)
	}}, &Sources{})
	var g sync.WaitGroup
	for range 8 {
		g.Add(1)
		go func() {
			defer g.Done()
			for range 20 {
				e.progress("index: %d", 1)
			}
		}()
	}
	g.Wait()
	if calls.Load() != 160 || overlaps.Load() != 0 {
		t.Fatalf("%d calls, %d of them while another ran; want 160 and none", calls.Load(), overlaps.Load())
	}
}

// TestBuildProgressEveryPhase: a build reports each of its phases, not
// only the pass (the last ones took minutes at 10M without a word).
func TestBuildProgressEveryPhase(t *testing.T) {
	ctx := context.Background()
	st := scamstore.Writable(t, 1500)
	var lines []string
	opt := Options{Params: scamstore.Params, UndoDepth: 3, Progress: func(s string) { lines = append(lines, s) }}
	if _, err := BuildIndex(ctx, st, opt); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(lines, "\n")
	for _, phase := range []string{"merging", "flushing them", "applying the last 3 blocks", "switching to the new index"} {
		if !strings.Contains(all, phase) {
			t.Errorf("no progress line for %q in:\n%s", phase, all)
		}
	}
}

// TestIndexAheadOfStore: a store rolled back below its index's tip (a
// restart between the store's undo and the index's) still opens a
// screener; the index is stale, never a failure to start.
func TestIndexAheadOfStore(t *testing.T) {
	ctx := context.Background()
	st := scamstore.Writable(t, 1500)
	opt := Options{Params: scamstore.Params}
	hdr, err := BuildIndex(ctx, st, opt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Rollback(ctx, hdr.TipHeight-5); err != nil {
		t.Fatal(err)
	}
	s, err := New(st, opt)
	if err != nil {
		t.Fatalf("a screener over an index ahead of its store: %v", err)
	}
	if s.IndexUsable() || len(s.Status().Index.Stale) == 0 {
		t.Fatalf("an index ahead of its store is not stale: %+v", s.Status().Index)
	}
	if _, err := NewReader(st, hdr, opt.Params, 0); err != nil {
		t.Fatalf("reader of an index ahead of its store: %v", err)
	}
}

// TestAccRunsMergeStops: a merge in two parts whose first part fails
// (here: its context cancelled at its first record, as a failed put
// cancels the other's) stops the second within a check of its context
// rather than writing its half, returns the error and removes the runs.
func TestAccRunsMergeStops(t *testing.T) {
	const addrs = 40_000
	r := &accRuns{slots: 5, sampleEvery: 4096}
	accs := map[address.Addr][]accEntry{}
	for i := range addrs {
		a := address.Addr{Kind: address.P2WPKH}
		a.Payload[0], a.Payload[1], a.Payload[2] = byte(i>>16), byte(i>>8), byte(i)
		accs[a] = addContribution(nil, uint32(i%5), int64(i+1), 1, store.OutPoint{Tx: store.TxNum(i)})
		if i%10_000 == 9_999 {
			if err := r.spill(context.Background(), accs); err != nil {
				t.Fatal(err)
			}
		}
	}
	dir := r.dir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var tail int
	_, err := r.finish(ctx, accs, func(string, []byte) error {
		cancel()
		return ctx.Err()
	}, func(string, []byte) error {
		if tail++; tail == 1 {
			<-ctx.Done() // the first half fails meanwhile
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("finish: %v, want %v", err, context.Canceled)
	}
	if tail == 0 || tail >= 4096 || tail >= addrs/4 {
		t.Fatalf("the second half wrote %d of its some %d records after the first failed, want it stopped within 4096", tail, addrs/2)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("runs left in %s", dir)
	}
}
