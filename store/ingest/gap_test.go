package ingest_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/store/blockfile"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
)

// writeBlk writes blocks, framed, as dir/name and returns each block's
// record offset (after magic and length).
func writeBlk(t *testing.T, dir, name string, blocks [][]byte, tail []byte) []int64 {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var offs []int64
	var data []byte
	for _, b := range blocks {
		offs = append(offs, int64(len(data))+8)
		data = append(data, frame(wire.TestNet, b)...)
	}
	if err := os.WriteFile(filepath.Join(dir, name), append(data, tail...), 0o644); err != nil {
		t.Fatal(err)
	}
	return offs
}

// TestGapPositions (issue 20): a block removed from a generated chain at
// the start, in the middle and near the end is a gap: the chain before it
// is stored, the missing block and where the next one is are reported, no
// block counts as stale, and ingesting the complete files later continues
// to the same store as one complete run.
func TestGapPositions(t *testing.T) {
	blocks := regtestChain(t)
	n := len(blocks)
	ref := ingestBlocks(t, blocks, ingest.Config{})
	for _, pos := range []int{1, n / 2, n - 2} {
		t.Run(fmt.Sprintf("missing%d", pos), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "gapped")
			gapped := append(append([][]byte(nil), blocks[:pos]...), blocks[pos+1:]...)
			offs := writeBlk(t, dir, "blk00000.dat", gapped, nil)
			st := storetest.Open(t)
			res := run(t, st, ingest.Config{Paths: []string{dir}})
			g := res.Gap
			if res.ToHeight != int32(pos-1) || g == nil || res.Stale != 0 || res.Unconnected != nil || res.Orphans != n-1-pos {
				t.Fatalf("result %+v gap %+v", res, g)
			}
			if g.After != int32(pos-1) || g.NextHeight != int32(pos+1) || g.Missing != hashOf(t, blocks[pos]).String() ||
				g.Next != hashOf(t, blocks[pos+1]).String() || g.File != filepath.Join(dir, "blk00000.dat") || g.Offset != offs[pos] || g.Blocks != n-1-pos {
				t.Fatalf("gap %+v", g)
			}
			// The same files again: nothing new, the same gap.
			res = run(t, st, ingest.Config{Paths: []string{dir}})
			if res.Blocks != 0 || res.Gap == nil || res.Gap.After != int32(pos-1) {
				t.Fatalf("second run %+v", res)
			}
			// A later file brings the missing block.
			writeBlk(t, dir, "blk00001.dat", blocks[pos:pos+1], nil)
			res = run(t, st, ingest.Config{Paths: []string{dir}})
			if res.FromHeight != int32(pos) || res.ToHeight != int32(n-1) || res.Gap != nil || res.Stale != 0 {
				t.Fatalf("after the gap is filled: %+v", res)
			}
			storetest.Equal(t, ref, st)
		})
	}
	// The last block missing: nothing says so, the chain simply ends.
	st := ingestBlocks(t, blocks[:n-1], ingest.Config{})
	if st.State().Height != int32(n-2) {
		t.Fatalf("tip %d", st.State().Height)
	}
}

// TestTruncatedTail (issue 20): a file whose last block is cut short (a
// node killed while writing) stores the blocks before it and reports the
// tail; a later complete copy of the block is used.
func TestTruncatedTail(t *testing.T) {
	blocks := regtestChain(t)
	n := len(blocks)
	last := blocks[n-1]

	t.Run("cut at the end of the file", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "blocks")
		offs := writeBlk(t, dir, "blk00000.dat", blocks[:n-1], frame(wire.TestNet, last)[:len(last)/2])
		st := storetest.Open(t)
		res := run(t, st, ingest.Config{Paths: []string{dir}})
		if res.ToHeight != int32(n-2) || len(res.Tails) != 1 || res.Gap != nil {
			t.Fatalf("result %+v", res)
		}
		if tl := res.Tails[0]; tl.File != filepath.Join(dir, "blk00000.dat") || tl.Offset != offs[n-2]+int64(len(blocks[n-2])) || tl.Want != int64(len(last)+8) {
			t.Fatalf("tail %+v", tl)
		}
		writeBlk(t, dir, "blk00000.dat", blocks, nil) // the node wrote it again
		if res := run(t, st, ingest.Config{Paths: []string{dir}}); res.ToHeight != int32(n-1) || len(res.Tails) != 0 {
			t.Fatalf("completed: %+v", res)
		}
	})
	t.Run("zeros in preallocated space", func(t *testing.T) {
		// Core's files are preallocated: a block cut short is followed by
		// zeros, so its record is whole but its last bytes are zero.
		dir := filepath.Join(t.TempDir(), "blocks")
		cut := append([]byte(nil), last...)
		clear(cut[len(cut)/2:])
		writeBlk(t, dir, "blk00000.dat", append(append([][]byte(nil), blocks[:n-1]...), cut), make([]byte, 4096))
		st := storetest.Open(t)
		res := run(t, st, ingest.Config{Paths: []string{dir}})
		if res.ToHeight != int32(n-2) || len(res.Tails) != 1 || res.Gap != nil {
			t.Fatalf("result %+v", res)
		}
		// After a restart the node wrote the block again in a new file.
		writeBlk(t, dir, "blk00001.dat", [][]byte{last}, nil)
		if res := run(t, st, ingest.Config{Paths: []string{dir}}); res.ToHeight != int32(n-1) || len(res.Tails) != 0 || res.Duplicates != 1 {
			t.Fatalf("with the complete copy: %+v", res)
		}
	})
	t.Run("corrupt last block is refused", func(t *testing.T) {
		// Not zeros: damage, not a tail. Refused, naming the place; the
		// chain before it is stored.
		dir := filepath.Join(t.TempDir(), "blocks")
		bad := append([]byte(nil), last...)
		bad[len(bad)/2] ^= 0x40
		offs := writeBlk(t, dir, "blk00000.dat", append(append([][]byte(nil), blocks[:n-1]...), bad), nil)
		st := storetest.Open(t)
		_, err := ingestErr(st, ingest.Config{Paths: []string{dir}})
		var bfErr *blockfile.Error
		if !errors.Is(err, ingest.ErrBadBlock) || !errors.As(err, &bfErr) || bfErr.Offset != offs[n-1] {
			t.Fatalf("err = %v", err)
		}
		if st.State().Height != int32(n-2) {
			t.Fatalf("tip %d, want %d", st.State().Height, n-2)
		}
	})
}

// TestProgressPhases (issue 17 #19): progress covers every phase of a bulk
// load: the header pass, the blocks, and the merge of the sorted runs into
// the store, which ends with all writes merged before the run reports done.
func TestProgressPhases(t *testing.T) {
	blocks := regtestChain(t)
	var got []ingest.Progress
	st := storetest.Open(t)
	res := run(t, st, ingest.Config{Paths: []string{writeDir(t, blocks)}, Progress: func(p ingest.Progress) { got = append(got, p) }})
	if res.BulkTo < 0 {
		t.Fatal("not a bulk load")
	}
	phases := map[ingest.Phase]int{}
	var lastMerge ingest.Progress
	for i, p := range got {
		phases[p.Phase]++
		if p.Phase == ingest.PhaseMerge {
			lastMerge = p
		}
		if p.Done && i != len(got)-1 {
			t.Fatalf("progress after done: %+v", got[i+1:])
		}
	}
	if phases[ingest.PhaseHeaders] == 0 || phases[ingest.PhaseMerge] < 2 || !got[len(got)-1].Done {
		t.Fatalf("phases %v, last %+v", phases, got[len(got)-1])
	}
	if lastMerge.Steps == 0 || lastMerge.Step != lastMerge.Steps {
		t.Fatalf("last merge report %+v", lastMerge)
	}
}
