package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
)

// The crash test re-runs this test binary as an ingest process that the
// test kills. childEnv names the store and blocks for it.
const childEnv = "TRACER_INGEST_CHILD"

type childArgs struct {
	DB        string
	Blocks    string
	CommitTxs int
	Bulk      int // BulkMinBlocks
	CacheTxs  int
}

func TestMain(m *testing.M) {
	if v := os.Getenv(childEnv); v != "" {
		os.Exit(childMain(v))
	}
	os.Exit(m.Run())
}

func childMain(v string) int {
	var a childArgs
	if err := json.Unmarshal([]byte(v), &a); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	st, err := store.Open(a.DB, store.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer st.Close()
	res, err := ingest.Run(ctx, st, ingest.Config{Paths: []string{a.Blocks}, StartHeight: -1, ToHeight: -1, CommitTxs: a.CommitTxs, BulkMinBlocks: a.Bulk, CacheTxs: a.CacheTxs,
		OnCommit: func(h int32) { fmt.Printf("commit %d\n", h) }})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if res.Interrupted {
		return 4
	}
	return 0
}

// startChild starts an ingest process; commits receives a line per commit.
func startChild(t *testing.T, a childArgs) (*exec.Cmd, <-chan string) {
	t.Helper()
	return storetest.StartChild(t, childEnv, a)
}

// TestCrashSafety kills ingest with SIGKILL at random moments of a
// multi-file run, restarts it each time, and requires the final store to
// equal an uninterrupted run's, key by key. It also interrupts one run with
// SIGINT, which must stop cleanly at a block boundary.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes; run without -short")
	}
	blocks := storetest.RawBlocks(t, storetest.BtcdTestdata(t, "blk_0_to_14131.dat"))
	dir := filepath.Join(t.TempDir(), "blocks")
	storetest.WriteBlocksDir(t, dir, blocks, storetest.Layout{Magic: wire.MainNet, Files: 5, XOR: [8]byte{9, 8, 7, 6, 5, 4, 3, 2}, Shuffle: 3})

	ref := storetest.Open(t)
	run(t, ref, ingest.Config{Paths: []string{dir}})

	db := t.TempDir()
	args := childArgs{DB: db, Blocks: dir, CommitTxs: 100, Bulk: -1}
	r := rand.New(rand.NewSource(time.Now().UnixNano()))
	kills, heights := 0, []int32{}
	finished := false
	for round := 0; round < 30 && !finished; round++ {
		cmd, commits := startChild(t, args)
		// Let it commit a random number of batches, then stop it a random
		// few milliseconds later: usually in the middle of a batch.
		target := 1 + r.Intn(25)
		seen := 0
		for range commits {
			if seen++; seen == target {
				break
			}
		}
		if seen < target {
			if err := cmd.Wait(); err != nil {
				t.Fatalf("child ended on its own with %v", err)
			}
			finished = true
		} else {
			time.Sleep(time.Duration(r.Intn(8000)) * time.Microsecond)
			if round == 2 {
				cmd.Process.Signal(os.Interrupt)
				err := cmd.Wait()
				if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 4) {
					t.Fatalf("SIGINT: child ended with %v, want a clean interrupt (exit 4)", err)
				}
			} else {
				cmd.Process.Kill()
				cmd.Wait()
				kills++
			}
			go func() {
				for range commits {
				}
			}()
		}
		st, err := store.Open(db, store.Options{ReadOnly: true})
		if err != nil {
			t.Fatalf("reopen after round %d: %v", round, err)
		}
		s := st.State()
		heights = append(heights, s.Height)
		// Whatever it committed must be consistent.
		if !s.Empty() {
			if b, err := st.BlockByHeight(s.Height); err != nil || b.Hash != s.Hash {
				t.Fatalf("round %d: tip %d %s does not match its block record: %v", round, s.Height, s.Hash, err)
			}
		}
		st.Close()
	}
	t.Logf("%d kills; committed heights after each round: %v", kills, heights)
	if kills < 4 {
		t.Fatalf("only %d kills landed", kills)
	}
	// Finish the run and compare.
	cmd, commits := startChild(t, args)
	for range commits {
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("final run: %v", err)
	}
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	storetest.Equal(t, ref, st)
	vr, err := st.Verify(context.Background(), nil2params())
	if err != nil || len(vr.Problems) > 0 {
		t.Fatalf("verify after crashes: %v %+v", err, vr.Problems)
	}
}

// TestCrashSafetyBulk kills a bulk load (an empty store's first run) at
// random moments: each restart loads from scratch, and the finished store
// equals an uninterrupted run's, key by key. With a small input cache the
// load resolves old coins through its join (and its files in bulk-runs).
func TestCrashSafetyBulk(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes; run without -short")
	}
	blocks := storetest.RawBlocks(t, storetest.BtcdTestdata(t, "blk_0_to_14131.dat"))
	dir := filepath.Join(t.TempDir(), "blocks")
	storetest.WriteBlocksDir(t, dir, blocks, storetest.Layout{Magic: wire.MainNet, Files: 3})
	ref := storetest.Open(t)
	run(t, ref, ingest.Config{Paths: []string{dir}, BulkMinBlocks: -1})
	for _, tc := range []struct {
		name string
		args childArgs
	}{
		{"cache holds the chain", childArgs{Blocks: dir, Bulk: 1}},
		{"join beyond a 50-tx cache", childArgs{Blocks: dir, Bulk: 1, CacheTxs: 50, CommitTxs: 500}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.args.CacheTxs > 0 {
				joined := run(t, storetest.Open(t), ingest.Config{Paths: []string{dir}, BulkMinBlocks: 1, CacheTxs: tc.args.CacheTxs, CommitTxs: tc.args.CommitTxs}).Joined
				if joined == 0 {
					t.Fatal("no input was left to the join")
				}
			}
			tc.args.DB = t.TempDir()
			crashBulk(t, ref, tc.args)
		})
	}
}

func crashBulk(t *testing.T, ref *store.Store, args childArgs) {
	db := args.DB
	r := rand.New(rand.NewSource(time.Now().UnixNano()))
	kills := 0
	for round := 0; round < 4; round++ {
		cmd, commits := startChild(t, args)
		go func() {
			for range commits {
			}
		}()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("child: %v", err)
			}
		case <-time.After(time.Duration(50+r.Intn(500)) * time.Millisecond):
			if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
				t.Fatal(err)
			}
			<-done //nolint:errcheck // killed: Wait reports the signal
			kills++
		}
	}
	cmd, commits := startChild(t, args)
	for range commits {
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("final run: %v", err)
	}
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t.Logf("%d kills during bulk loads", kills)
	storetest.Equal(t, ref, st)
}
