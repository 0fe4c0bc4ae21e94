package screen_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer/screen"
	"github.com/tracer-oss/tracer/tracer/screen/screentest"
)

// The crash test re-runs this test binary as an UpdateIndex process that
// the test kills; childEnv holds its arguments.
const childEnv = "TRACER_EXPOSURE_CHILD"

type childArgs struct {
	DB        string
	UndoDepth int
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
	st, err := store.Open(a.DB, store.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer st.Close()
	fmt.Println("start")
	if _, _, err := screen.UpdateIndex(context.Background(), st, 0, screen.Options{Params: screentest.Params, UndoDepth: a.UndoDepth}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("done")
	return 0
}

// indexDump is everything of the index in force: header tip, records,
// accumulators and per-transaction shares.
func indexDump(t *testing.T, db string) (store.ExposureIndex, map[string]string) {
	t.Helper()
	st, err := store.Open(db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hdr, err := st.Exposure().Info()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	recs, accs := generation(t, st, hdr.Gen)
	for a, v := range recs {
		out["rec "+a] = string(v)
	}
	for a, v := range accs {
		out["acc "+a] = string(v)
	}
	for n := store.TxNum(0); n < st.State().NextTx+500; n++ {
		v, ok, err := st.Exposure().TxShares(hdr.Gen, n)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			out[fmt.Sprint("tx ", n)] = string(v)
		}
	}
	return hdr, out
}

// TestUpdateKilled kills UpdateIndex processes with SIGKILL at random
// moments while they undo blocks off the best chain and apply new ones,
// restarting each time; the index the last run leaves must equal, record by
// record, the one an uninterrupted run leaves on a copy of the same store.
func TestUpdateKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes; run without -short")
	}
	ctx := context.Background()
	chain := filepath.Join(t.TempDir(), "chain")
	if _, err := chaingen.Generate(ctx, chaingen.Config{OutDir: chain, Txs: 2500, Seed: 11, TxsPerBlock: 40}, nil); err != nil {
		t.Fatal(err)
	}
	blocks := filepath.Join(chain, "blocks")
	a := childArgs{DB: filepath.Join(t.TempDir(), "db"), UndoDepth: 40}
	ref := filepath.Join(t.TempDir(), "ref")
	// Both stores are made the same way; the reference is never killed.
	var top, mid int32
	setup := func(db string) {
		st, err := store.Open(db, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := ingest.Run(ctx, st, ingest.Config{Paths: []string{blocks}, StartHeight: -1, ToHeight: -1}); err != nil {
			t.Fatal(err)
		}
		top = st.State().Height
		risky := riskyPack(t, st, 6, 4)
		mid = heightAt(t, st, 0.6)
		if _, err := st.Rollback(ctx, mid); err != nil {
			t.Fatal(err)
		}
		loadSources(t, ctx, st, chain, risky)
		if _, err := screen.BuildIndex(ctx, st, screen.Options{Params: screentest.Params, UndoDepth: a.UndoDepth}); err != nil {
			t.Fatal(err)
		}
	}
	setup(a.DB)
	setup(ref)
	// Phase 1: the store loses 8 blocks the index has (undo); phase 2: it
	// gains the rest of the chain (apply).
	phases := []func(st *store.Store){
		func(st *store.Store) {
			if _, err := st.Rollback(ctx, mid-8); err != nil {
				t.Fatal(err)
			}
		},
		func(st *store.Store) {
			if _, err := ingest.Run(ctx, st, ingest.Config{Paths: []string{blocks}, StartHeight: -1, ToHeight: top}); err != nil {
				t.Fatal(err)
			}
		},
	}
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	kills := 0
	for pi, phase := range phases {
		st, err := store.Open(a.DB, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		phase(st)
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		rs, err := store.Open(ref, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		phase(rs)
		started := time.Now()
		if _, _, err := screen.UpdateIndex(ctx, rs, 0, screen.Options{Params: screentest.Params, UndoDepth: a.UndoDepth}); err != nil {
			t.Fatal(err)
		}
		took := time.Since(started)
		if err := rs.Close(); err != nil {
			t.Fatal(err)
		}
		// Kills (one while undoing, three while applying), then a run to
		// the end, each at a random moment early in the time the
		// reference's update took: a kill that lands after the child
		// finished counts for nothing.
		for round := 0; ; round++ {
			if round == 12 {
				t.Fatalf("phase %d: no run finished in 12 rounds", pi)
			}
			cmd, lines := storetest.StartChild(t, childEnv, a)
			killed := false
			for l := range lines {
				if l == "start" && round < 1+2*pi {
					// Early in the update: a loaded machine can run the
					// child faster than the reference ran.
					time.Sleep(took/20 + time.Duration(r.Int64N(int64(took)/4+1)))
					killed = cmd.Process.Signal(syscall.SIGKILL) == nil
				}
			}
			err := cmd.Wait()
			t.Logf("phase %d round %d: killed %v, %v", pi, round, killed, err)
			if ee, ok := err.(*exec.ExitError); ok && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL && killed {
				kills++
				continue
			}
			if err != nil {
				t.Fatalf("phase %d round %d: child: %v", pi, round, err)
			}
			break
		}
		gh, got := indexDump(t, a.DB)
		wh, want := indexDump(t, ref)
		if gh.TipHeight != wh.TipHeight || gh.TipHash != wh.TipHash || gh.Addresses != wh.Addresses {
			t.Fatalf("phase %d: header after kills %+v, uninterrupted %+v", pi, gh, wh)
		}
		bad := 0
		for k, w := range want {
			if g, ok := got[k]; !ok || !bytes.Equal([]byte(g), []byte(w)) {
				bad++
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				bad++
			}
		}
		if bad > 0 || len(want) == 0 {
			t.Fatalf("phase %d: %d of %d entries differ from the uninterrupted run", pi, bad, len(want))
		}
	}
	if kills < 3 {
		t.Fatalf("only %d runs were killed during an update: the test proved little", kills)
	}
	t.Logf("%d kills", kills)
}
