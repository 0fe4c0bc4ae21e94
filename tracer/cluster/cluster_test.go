package cluster_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/tracer/cluster"
)

func TestCoinJoinShapes(t *testing.T) {
	rep := func(v int64, n int) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	cat := func(a ...[]int64) []int64 {
		var out []int64
		for _, x := range a {
			out = append(out, x...)
		}
		return out
	}
	tests := []struct {
		name string
		ins  int
		outs []int64
		want string
	}{
		{"payment", 1, []int64{5e7, 3e7}, ""},
		{"two inputs two outputs", 2, []int64{5e7, 5e7}, ""},
		{"whirlpool", 5, rep(1e6, 5), cluster.ShapeWhirlpool},
		{"wasabi", 40, cat(rep(10_012_345, 30), rep(777, 1), []int64{1e8, 2e8, 3e8}), cluster.ShapeWasabi},
		{"wasabi needs 10 inputs", 9, cat(rep(10_000_000, 10), []int64{1}), ""},
		{"joinmarket", 4, cat(rep(2e7, 3), []int64{1e6, 2e6, 3e6}), cluster.ShapeJoinMarket},
		{"joinmarket needs as many inputs as equal outputs", 3, cat(rep(2e7, 4), []int64{1e6}), ""},
		{"equal split of two", 2, []int64{4e7, 4e7, 1e6}, cluster.ShapeEqualSplit},
		{"dust equal outputs", 4, cat(rep(546, 3), []int64{1e6}), ""},
		{"batch payment from one input", 1, rep(1e6, 10), ""},
		{"consolidation", 10, []int64{1e9}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tx := &store.Tx{Inputs: make([]store.Input, tc.ins)}
			for _, v := range tc.outs {
				tx.Outputs = append(tx.Outputs, store.Output{Value: v, Addr: address.Addr{Kind: address.P2WPKH}})
			}
			// An OP_RETURN never counts as an output.
			tx.Outputs = append(tx.Outputs, store.Output{Addr: address.Addr{Kind: address.OpReturn}})
			if got := cluster.CoinJoin(tx); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseRules(t *testing.T) {
	r, err := cluster.ParseRules([]string{"peeling, address-type", "one-time", "peeling"})
	if err != nil || fmt.Sprint(r) != "[address-type one-time peeling]" {
		t.Errorf("got %v, %v", r, err)
	}
	if _, err := cluster.ParseRules([]string{"greedy"}); !errors.Is(err, cluster.ErrRule) {
		t.Errorf("unknown rule: %v", err)
	}
}

// clusterKeys dumps the cluster forest's keys and values.
func clusterKeys(t testing.TB, st *store.Store) string {
	t.Helper()
	var b bytes.Buffer
	err := st.Dump(func(k, v []byte) error {
		if k[0] == 'k' || k[0] == 'c' || k[0] == 'C' || bytes.HasPrefix(k, []byte("mcluster-")) {
			fmt.Fprintf(&b, "%x=%x\n", k, v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestIncremental: clustering half a chain, ingesting the rest and
// clustering again writes the same forest as one run over the whole chain,
// also with commits every few transactions and a tiny cache; changing the
// options without a rebuild is refused.
func TestIncremental(t *testing.T) {
	dir, truth := scamChain(t)
	ctx := context.Background()
	opt := cluster.Options{MaxMerge: 20, Change: []cluster.Rule{cluster.RuleOneTime}}
	whole := ingestChain(t, dir, -1)
	if _, err := cluster.Run(ctx, whole, opt); err != nil {
		t.Fatal(err)
	}
	steps := ingestChain(t, dir, truth.TipHeight/2)
	small := opt
	small.CommitEvery = 101
	r1, err := cluster.Run(ctx, steps, small)
	if err != nil {
		t.Fatal(err)
	}
	ingestMore(t, steps, dir)
	r2, err := cluster.Run(ctx, steps, small)
	if err != nil {
		t.Fatal(err)
	}
	if r2.From != r1.To || r1.To == 0 || r2.Txs == 0 {
		t.Fatalf("second run %d–%d after %d–%d", r2.From, r2.To, r1.From, r1.To)
	}
	if a, b := clusterKeys(t, whole), clusterKeys(t, steps); a != b {
		t.Fatalf("incremental forest differs from a single run (%d vs %d bytes of dump)", len(b), len(a))
	}
	st, _, _ := whole.ClusterState()
	if st.Refused == 0 {
		t.Error("the 20-address guard refused nothing")
	}
	var refusals int64
	if err := whole.ClusterRefusals(func(r store.ClusterRefusal) bool {
		refusals++
		if r.SizeA <= 20 || r.SizeB <= 20 {
			t.Errorf("refusal %+v below the guard", r)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if refusals != st.Refused || st.Largest <= 20 {
		t.Errorf("%d refusals stored, state says %d; largest %d", refusals, st.Refused, st.Largest)
	}
	// A third run has nothing to do; other options are refused.
	if r3, err := cluster.Run(ctx, steps, small); err != nil || r3.Txs != 0 {
		t.Errorf("third run: %+v, %v", r3, err)
	}
	if _, err := cluster.Run(ctx, steps, cluster.Options{MaxMerge: 20}); !errors.Is(err, cluster.ErrOptions) {
		t.Errorf("other rules without rebuild: %v", err)
	}
	rebuilt := cluster.Options{MaxMerge: 20, Rebuild: true}
	if r, err := cluster.Run(ctx, steps, rebuilt); err != nil || r.From != 0 || r.State.Change != 0 {
		t.Errorf("rebuild: %+v, %v", r, err)
	}
}

// TestClustererPerBlock: a Clusterer opened once and extended after every
// few blocks, as a process following the chain does, writes the same
// forest as one run over the whole chain; a store rolled back below the
// clustered transactions is refused.
func TestClustererPerBlock(t *testing.T) {
	dir, truth := scamChain(t)
	ctx := context.Background()
	opt := cluster.Options{MaxMerge: 50, Change: []cluster.Rule{cluster.RuleOneTime}}
	whole := ingestChain(t, dir, -1)
	if _, err := cluster.Run(ctx, whole, opt); err != nil {
		t.Fatal(err)
	}
	steps := ingestChain(t, dir, truth.TipHeight/2)
	c, err := cluster.Open(steps, opt)
	if err != nil {
		t.Fatal(err)
	}
	extends := 0
	for h := truth.TipHeight / 2; ; h += 7 {
		if _, err := ingest.Run(ctx, steps, ingest.Config{Paths: []string{filepath.Join(dir, "blocks")}, StartHeight: -1, ToHeight: min(h, truth.TipHeight)}); err != nil {
			t.Fatal(err)
		}
		res, err := c.Extend(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.To != steps.State().NextTx {
			t.Fatalf("extended to %d, store holds %d", res.To, steps.State().NextTx)
		}
		extends++
		if h >= truth.TipHeight {
			break
		}
	}
	if extends < 5 {
		t.Fatalf("only %d extends", extends)
	}
	if a, b := clusterKeys(t, whole), clusterKeys(t, steps); a != b {
		t.Fatalf("forest extended per block differs from a single run (%d vs %d bytes of dump)", len(b), len(a))
	}
	// A reorganisation: the rollback undoes the clusters exactly, to the
	// last commit at or below the new end, and the same Clusterer then
	// catches up again.
	for _, back := range []int32{3, 20} {
		if _, err := steps.Rollback(ctx, truth.TipHeight-back); err != nil {
			t.Fatal(err)
		}
		cs, ok, err := steps.ClusterState()
		if err != nil || !ok || cs.Dirty || cs.NextTx > steps.State().NextTx || cs.NextTx+2000 < steps.State().NextTx {
			t.Fatalf("clusters after rolling back %d blocks: %+v %v %v (store ends at tx %d)", back, cs, ok, err, steps.State().NextTx)
		}
		ref := newRefForest()
		if err := cluster.RunWith(steps, opt, ref, cs.NextTx); err != nil {
			t.Fatal(err)
		}
		compareForest(t, steps, ref)
		if res, err := c.Extend(ctx); err != nil || res.To != steps.State().NextTx {
			t.Fatalf("extend after the rollback: %+v %v", res, err)
		}
		ingestMore(t, steps, dir)
		if _, err := c.Extend(ctx); err != nil {
			t.Fatal(err)
		}
		if a, b := clusterKeys(t, whole), clusterKeys(t, steps); a != b {
			t.Fatalf("after a rollback of %d blocks and catching up, the forest differs from a single run's", back)
		}
	}
}

// TestRandomBlocksAndReorgs: a Clusterer opened once follows random
// sequences of new blocks and rollbacks (the first step right after the
// first full run, which is one large commit): every rollback is undone
// exactly (never marked dirty), and after every step the stored forest is,
// address by address, the one a single run over the chain then stored
// gives; caught up to the tip it holds the same keys as one run over the
// whole chain.
func TestRandomBlocksAndReorgs(t *testing.T) {
	dir, truth := scamChain(t)
	ctx := context.Background()
	opt := cluster.Options{MaxMerge: 50, Change: []cluster.Rule{cluster.RuleOneTime}}
	whole := ingestChain(t, dir, -1)
	if _, err := cluster.Run(ctx, whole, opt); err != nil {
		t.Fatal(err)
	}
	to := func(st *store.Store, h int32) {
		t.Helper()
		if _, err := ingest.Run(ctx, st, ingest.Config{Paths: []string{filepath.Join(dir, "blocks")}, StartHeight: -1, ToHeight: h}); err != nil {
			t.Fatal(err)
		}
	}
	for seed := range uint64(2) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 13))
			h := truth.TipHeight/3 + int32(r.IntN(int(truth.TipHeight/3)))
			st := ingestChain(t, dir, h)
			c, err := cluster.Open(st, opt)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Extend(ctx); err != nil {
				t.Fatal(err)
			}
			rollbacks := 0
			for step := range 10 {
				if step == 0 || r.IntN(3) == 0 {
					back := 1 + int32(r.IntN(12))
					if _, err := st.Rollback(ctx, h-back); err != nil {
						t.Fatal(err)
					}
					h -= back
					rollbacks++
					cs, _, err := st.ClusterState()
					if err != nil || cs.Dirty {
						t.Fatalf("step %d: rolling back %d blocks left the clusters dirty (%v)", step, back, err)
					}
				} else {
					h = min(h+1+int32(r.IntN(8)), truth.TipHeight)
					to(st, h)
				}
				res, err := c.Extend(ctx)
				if err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				cs, _, err := st.ClusterState()
				if err != nil || cs.Dirty || res.To != st.State().NextTx || cs.NextTx != res.To {
					t.Fatalf("step %d: extended to %d, state %+v (%v), store holds %d", step, res.To, cs, err, st.State().NextTx)
				}
				ref := newRefForest()
				if err := cluster.RunWith(st, opt, ref, cs.NextTx); err != nil {
					t.Fatal(err)
				}
				compareForest(t, st, ref)
				if t.Failed() {
					t.Fatalf("step %d (height %d): the forest differs from a single run's", step, h)
				}
			}
			if rollbacks < 2 {
				t.Fatalf("only %d rollbacks", rollbacks)
			}
			to(st, truth.TipHeight)
			if _, err := c.Extend(ctx); err != nil {
				t.Fatal(err)
			}
			if a, b := clusterKeys(t, whole), clusterKeys(t, st); a != b {
				t.Fatal("caught up to the tip, the forest differs from a single run over the whole chain")
			}
		})
	}
}

// TestUndoMarkedBlocks: one run over the whole chain commits once, with
// the blocks near the tip marked (store.ClusterWriter.Mark) rather than
// committed; rollbacks into those blocks, in several steps, are each
// undone exactly to a block's state that was never committed (the forest
// equals a single run's up to there, address by address), and every step
// undoes unions.
func TestUndoMarkedBlocks(t *testing.T) {
	dir, truth := scamChain(t)
	ctx := context.Background()
	opt := cluster.Options{MaxMerge: 50, Change: []cluster.Rule{cluster.RuleOneTime}, UndoBlocks: 60}
	st := ingestChain(t, dir, -1)
	commits := 0
	run := opt
	run.OnCommit = func(store.TxNum) { commits++ }
	if _, err := cluster.Run(ctx, st, run); err != nil {
		t.Fatal(err)
	}
	if commits != 1 {
		t.Fatalf("%d commits, want 1", commits)
	}
	h := truth.TipHeight
	for _, back := range []int32{2, 9, 25, 20} {
		before, _, err := st.ClusterState()
		if err != nil {
			t.Fatal(err)
		}
		h -= back
		if _, err := st.Rollback(ctx, h); err != nil {
			t.Fatal(err)
		}
		cs, ok, err := st.ClusterState()
		if err != nil || !ok || cs.Dirty || cs.NextTx != st.State().NextTx {
			t.Fatalf("rolled back to height %d: clusters %+v %v %v, store ends at tx %d", h, cs, ok, err, st.State().NextTx)
		}
		if cs.Unions >= before.Unions {
			t.Fatalf("rolling back %d blocks to height %d undid no union (%d before, %d after)", back, h, before.Unions, cs.Unions)
		}
		ref := newRefForest()
		if err := cluster.RunWith(st, opt, ref, cs.NextTx); err != nil {
			t.Fatal(err)
		}
		compareForest(t, st, ref)
		if t.Failed() {
			t.Fatalf("rolled back to height %d: the forest differs from a single run's", h)
		}
	}
}
