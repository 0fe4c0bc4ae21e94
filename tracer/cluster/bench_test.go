package cluster_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/tracer/chaingen"
	"github.com/tracer-oss/tracer/tracer/cluster"
)

// benchChain generates (once, cached under the temp dir, shared with
// store/ingest's benchmark) a regtest chain of TRACER_BENCH_TXS
// transactions (default 1,000,000).
func benchChain(b *testing.B) string {
	b.Helper()
	n := 1_000_000
	if v := os.Getenv("TRACER_BENCH_TXS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("tracer-bench-chain-%d", n))
	if _, err := os.Stat(filepath.Join(dir, "done")); err != nil {
		os.RemoveAll(dir)
		start := time.Now()
		if _, err := chaingen.Generate(context.Background(), chaingen.Config{OutDir: dir, Txs: n, Seed: 1}, nil); err != nil {
			b.Fatal(err)
		}
		b.Logf("generated %d txs in %s", n, time.Since(start))
		os.WriteFile(filepath.Join(dir, "done"), nil, 0o644)
	}
	return dir
}

func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// BenchmarkCluster ingests the generated chain (not timed), then clusters
// it from scratch with the default options and reports inputs/s, tx/s and
// the peak RSS of the clustering run (reset after ingest).
func BenchmarkCluster(b *testing.B) {
	dir := benchChain(b)
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
		resetPeakRSS()
		b.ResetTimer()
		res, err := cluster.Run(context.Background(), st, cluster.Options{MaxMerge: cluster.DefaultMaxMerge, Rebuild: true})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		rss := peakRSS()
		b.ReportMetric(float64(res.Inputs)/res.Seconds, "inputs/s")
		b.ReportMetric(float64(res.Txs)/res.Seconds, "tx/s")
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(res.Seconds, "cluster-s")
		s := res.State
		b.Logf("clustered %d txs, %d inputs in %.1fs: %d addresses in %d clusters, largest %d; %d unions, %d coinjoins skipped, %d refused",
			res.Txs, res.Inputs, res.Seconds, s.Addresses, s.Clusters, s.Largest, res.Unions, s.CoinJoins, s.Refused)
	}
}
