package cluster_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer/cluster"
)

// TestBenchChainAgainstReference clusters the benchmark chain
// (storetest.BenchStore, TRACER_BENCH_TXS transactions, 1M by default) as
// BenchmarkCluster does and compares the forest, address by address, with
// the reference union-find's over the same chain: the check that a faster
// clustering pass still gives the same clusters at the benchmark's scale.
// It takes minutes, so it runs only with TRACER_BENCH_REFERENCE=1.
func TestBenchChainAgainstReference(t *testing.T) {
	if os.Getenv("TRACER_BENCH_REFERENCE") == "" {
		t.Skip("set TRACER_BENCH_REFERENCE=1 to compare the benchmark chain's clusters with the reference (minutes)")
	}
	cached := storetest.BenchStore(t, storetest.BenchTxs(t))
	dir := filepath.Join(t.TempDir(), "db")
	if err := os.CopyFS(dir, os.DirFS(cached.Dir())); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	opt := cluster.Options{MaxMerge: cluster.DefaultMaxMerge}
	run := opt
	run.Rebuild = true
	res, err := cluster.Run(context.Background(), st, run)
	if err != nil {
		t.Fatal(err)
	}
	ref := newRefForest()
	if err := cluster.RunWith(st, opt, ref, st.State().NextTx); err != nil {
		t.Fatal(err)
	}
	if ref.st.Unions == 0 {
		t.Fatal("the chain joined no addresses")
	}
	compareForest(t, st, ref)
	s := res.State
	t.Logf("%d txs: %d addresses in %d clusters (largest %d), %d unions, %d coinjoins, %d refused: equal to the reference",
		s.Txs, s.Addresses, s.Clusters, s.Largest, s.Unions, s.CoinJoins, s.Refused)
}
