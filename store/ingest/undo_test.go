package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
)

var (
	regChainOnce sync.Once
	regChain     [][]byte
	regChainErr  error
)

// regtestChain is a small generated regtest chain with spends in its last
// ~40 blocks, in height order (generated once per test binary).
func regtestChain(t testing.TB) [][]byte {
	t.Helper()
	regChainOnce.Do(func() {
		dir, err := tempDir()
		if err != nil {
			regChainErr = err
			return
		}
		_, regChainErr = chaingen.Generate(context.Background(), chaingen.Config{OutDir: dir, Txs: 800, Seed: 8, TxsPerBlock: 20}, nil)
		if regChainErr == nil {
			regChain = storetest.RawBlocks(t, filepath.Join(dir, "blocks", "blk00000.dat"))
		}
		os.RemoveAll(dir)
	})
	if regChainErr != nil {
		t.Fatal(regChainErr)
	}
	return regChain
}

func writeDir(t *testing.T, blocks [][]byte) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "blocks")
	storetest.WriteBlocksDir(t, dir, blocks, storetest.Layout{Magic: wire.TestNet})
	return dir
}

func ingestBlocks(t *testing.T, blocks [][]byte, cfg ingest.Config) *store.Store {
	t.Helper()
	st := storetest.Open(t)
	cfg.Paths = []string{writeDir(t, blocks)}
	run(t, st, cfg)
	return st
}

// TestRollbackEqualsShorterIngest ingests a chain of N blocks, undoes K and
// compares with a store that ingested only N−K, key by key; then ingests
// the rest again and compares with the full ingest.
func TestRollbackEqualsShorterIngest(t *testing.T) {
	blocks := regtestChain(t)
	n := int32(len(blocks) - 1)
	full := ingestBlocks(t, blocks, ingest.Config{})
	for _, k := range []int32{1, 6, 40, n} {
		t.Run(fmt.Sprintf("undo%d", k), func(t *testing.T) {
			st := ingestBlocks(t, blocks, ingest.Config{CommitTxs: 50, BulkMinBlocks: -1})
			rr, err := st.Rollback(context.Background(), n-k)
			if err != nil {
				t.Fatal(err)
			}
			if rr.Blocks != int(k) || st.State().Height != n-k {
				t.Fatalf("undid %d blocks to %d, want %d to %d", rr.Blocks, st.State().Height, k, n-k)
			}
			ref := ingestBlocks(t, blocks[:n-k+1], ingest.Config{})
			storetest.Equal(t, ref, st)
			if vr, err := st.Verify(context.Background(), &chaincfg.RegressionNetParams); err != nil || len(vr.Problems) > 0 {
				t.Fatalf("verify: %v %v", err, vr.Problems)
			}
			run(t, st, ingest.Config{Paths: []string{writeDir(t, blocks)}})
			storetest.Equal(t, full, st)
		})
	}
	t.Run("below the first block", func(t *testing.T) {
		st := ingestBlocks(t, blocks[:10], ingest.Config{})
		if _, err := st.Rollback(context.Background(), -1); !errors.Is(err, store.ErrRollback) {
			t.Fatalf("rollback to -1: %v, want ErrRollback", err)
		}
	})
}

// TestRollbackInterrupted stops an undo after each durable step (a panic in
// the hook stands in for a kill; the SIGKILL test runs against btcd) and
// reopens the store, which must finish the undo.
func TestRollbackInterrupted(t *testing.T) {
	blocks := regtestChain(t)
	n := int32(len(blocks) - 1)
	ref := ingestBlocks(t, blocks[:n-5], ingest.Config{})
	for _, step := range []string{store.UndoStepState, store.UndoStepDerived} {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			st, err := store.Open(dir, store.Options{UndoHook: func(s string) {
				if s == step {
					panic("killed at " + s)
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			run(t, st, ingest.Config{Paths: []string{writeDir(t, blocks)}})
			func() {
				defer func() {
					if r := recover(); r == nil {
						t.Fatal("the hook did not stop the undo")
					}
				}()
				if _, err := st.Rollback(context.Background(), n-6); err != nil {
					t.Fatal(err)
				}
			}()
			st.Close()
			st, err = store.Open(dir, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			storetest.Equal(t, ref, st)
		})
	}
}

// branch mines n coinbase-only regtest blocks on parent (at height ph).
func branch(t *testing.T, parent []byte, ph int32, n int, tag byte) [][]byte {
	t.Helper()
	var prev wire.MsgBlock
	if err := prev.Deserialize(bytesReader(parent)); err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for i := 0; i < n; i++ {
		h := ph + 1 + int32(i)
		blk := storetest.CoinbaseBlock(prev.BlockHash(), prev.Header.Timestamp, h, []byte{tag, byte(i)})
		out = append(out, storetest.Serialize(t, blk))
		prev = *blk
	}
	return out
}

// TestBlkFilesBestChainSwitch: a blocks directory whose best chain now
// leaves the stored one is undone to the fork and re-applied, within
// MaxReorg; deeper switches stop and leave the store unchanged.
func TestBlkFilesBestChainSwitch(t *testing.T) {
	blocks := regtestChain(t)
	n := len(blocks) - 1
	for _, depth := range []int{1, 3, 6} {
		t.Run(fmt.Sprintf("depth%d", depth), func(t *testing.T) {
			fork := n - depth + 1 // first replaced height
			newChain := append(append([][]byte{}, blocks[:fork]...), branch(t, blocks[fork-1], int32(fork-1), depth+1, byte(depth))...)
			st := ingestBlocks(t, blocks, ingest.Config{})
			res := run(t, st, ingest.Config{Paths: []string{writeDir(t, newChain)}})
			if res.Reorgs != 1 || res.Undone != depth || res.ToHeight != int32(n+1) {
				t.Fatalf("reorgs %d undone %d tip %d, want 1, %d, %d", res.Reorgs, res.Undone, res.ToHeight, depth, n+1)
			}
			storetest.Equal(t, ingestBlocks(t, newChain, ingest.Config{}), st)
		})
	}
	t.Run("too deep", func(t *testing.T) {
		fork := n - 5
		newChain := append(append([][]byte{}, blocks[:fork]...), branch(t, blocks[fork-1], int32(fork-1), 8, 9)...)
		st := ingestBlocks(t, blocks, ingest.Config{})
		_, err := ingest.Run(context.Background(), st, ingest.Config{Paths: []string{writeDir(t, newChain)}, StartHeight: -1, ToHeight: -1, MaxReorg: 5})
		if !errors.Is(err, ingest.ErrReorgTooDeep) {
			t.Fatalf("got %v, want ErrReorgTooDeep", err)
		}
		storetest.Equal(t, ingestBlocks(t, blocks, ingest.Config{}), st)
	})
}

// TestSyncFollowsReorgs syncs from an in-memory node whose best chain
// switches, and compares with fresh ingests of each chain.
func TestSyncFollowsReorgs(t *testing.T) {
	blocks := regtestChain(t)
	n := len(blocks) - 1
	ctx := context.Background()
	node := storetest.NewMemNode(t, blocks[:n-10])
	st := storetest.Open(t)
	cfg := ingest.Config{Network: "regtest", Workers: 3, CommitTxs: 100}
	if _, err := ingest.Sync(ctx, st, node, cfg); err != nil {
		t.Fatal(err)
	}
	storetest.Equal(t, ingestBlocks(t, blocks[:n-10], ingest.Config{}), st)

	node.Set(t, blocks)
	if res, err := ingest.Sync(ctx, st, node, cfg); err != nil || res.Blocks != 11 || res.Reorgs != 0 {
		t.Fatalf("catch up: %+v %v", res, err)
	}
	for _, depth := range []int{1, 6} {
		fork := n - depth + 1
		chain := append(append([][]byte{}, blocks[:fork]...), branch(t, blocks[fork-1], int32(fork-1), depth+1, byte(20+depth))...)
		node.Set(t, chain)
		res, err := ingest.Sync(ctx, st, node, cfg)
		if err != nil || res.Reorgs != 1 || res.Undone != depth {
			t.Fatalf("depth %d: %+v %v", depth, res, err)
		}
		storetest.Equal(t, ingestBlocks(t, chain, ingest.Config{}), st)
		node.Set(t, blocks) // back to the original chain: a reorg of depth+1
		if res, err := ingest.Sync(ctx, st, node, cfg); err != nil || res.Undone != depth+1 {
			t.Fatalf("back: %+v %v", res, err)
		}
		storetest.Equal(t, ingestBlocks(t, blocks, ingest.Config{}), st)
	}
	// A node behind the store is waited for, not followed down.
	node.Set(t, blocks[:n-3])
	if res, err := ingest.Sync(ctx, st, node, cfg); err != nil || res.Undone != 0 || st.State().Height != int32(n) {
		t.Fatalf("behind: %+v %v", res, err)
	}
	// Too deep.
	chain := append(append([][]byte{}, blocks[:n-20]...), branch(t, blocks[n-21], int32(n-21), 30, 99)...)
	node.Set(t, chain)
	if _, err := ingest.Sync(ctx, st, node, ingest.Config{Network: "regtest", MaxReorg: 10}); !errors.Is(err, ingest.ErrReorgTooDeep) {
		t.Fatalf("deep: %v", err)
	}
	if st.State().Height != int32(n) {
		t.Fatalf("store moved to %d", st.State().Height)
	}
}
