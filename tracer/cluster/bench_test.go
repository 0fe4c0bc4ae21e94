package cluster_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer/cluster"
)

// BenchmarkCluster ingests the generated chain (not timed), then clusters
// it from scratch with the default options and reports inputs/s, tx/s and
// the peak RSS of the clustering run (reset after ingest).
func BenchmarkCluster(b *testing.B) {
	dir := storetest.BenchChain(b, storetest.BenchTxs(b))
	st, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	start := time.Now()
	if _, err := ingest.Run(context.Background(), st, ingest.Config{Paths: []string{filepath.Join(dir, "blocks")}, StartHeight: -1, ToHeight: -1}); err != nil {
		b.Fatal(err)
	}
	b.Logf("ingested %d txs in %s", st.State().NextTx, time.Since(start).Round(time.Second))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		storetest.ResetPeakRSS()
		b.ResetTimer()
		res, err := cluster.Run(context.Background(), st, cluster.Options{MaxMerge: cluster.DefaultMaxMerge, Rebuild: true})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		rss := storetest.PeakRSS()
		b.ReportMetric(float64(res.Inputs)/res.Seconds, "inputs/s")
		b.ReportMetric(float64(res.Txs)/res.Seconds, "tx/s")
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(res.Seconds, "cluster-s")
		s := res.State
		b.Logf("clustered %d txs, %d inputs in %.1fs: %d addresses in %d clusters, largest %d; %d unions, %d coinjoins skipped, %d refused",
			res.Txs, res.Inputs, res.Seconds, s.Addresses, s.Clusters, s.Largest, res.Unions, s.CoinJoins, s.Refused)
	}
}
