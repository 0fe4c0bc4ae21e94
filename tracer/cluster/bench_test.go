package cluster_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer/cluster"
)

// BenchmarkCluster clusters the generated benchmark chain from scratch
// with the default options, in a copy of the cached ingested store (not
// timed), and reports inputs/s, tx/s, the CPU seconds of the process
// (less sensitive than wall time to a busy machine), the peak RSS of the
// clustering run (and its anonymous and file-backed parts, sampled) and the
// union-find's memory per address.
func BenchmarkCluster(b *testing.B) {
	cached := storetest.BenchStore(b, storetest.BenchTxs(b))
	dir := filepath.Join(b.TempDir(), "db")
	if err := os.CopyFS(dir, os.DirFS(cached.Dir())); err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		storetest.ResetPeakRSS()
		cpu0 := cpuSeconds()
		sampler := storetest.SampleRSS()
		b.ResetTimer()
		res, err := cluster.Run(context.Background(), st, cluster.Options{MaxMerge: cluster.DefaultMaxMerge, Rebuild: true})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu := cpuSeconds() - cpu0
		rss := storetest.PeakRSS()
		anon, file := sampler.Stop()
		s := res.State
		b.ReportMetric(float64(res.Inputs)/res.Seconds, "inputs/s")
		b.ReportMetric(float64(res.Txs)/res.Seconds, "tx/s")
		b.ReportMetric(float64(res.Inputs)/cpu, "inputs/cpu-s")
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(float64(anon)/(1<<20), "peak-anon-MiB")
		b.ReportMetric(float64(file)/(1<<20), "peak-file-MiB")
		b.ReportMetric(float64(res.ForestBytes)/float64(max(s.Addresses, 1)), "forest-B/addr")
		b.ReportMetric(res.Seconds, "cluster-s")
		b.Logf("clustered %d txs, %d inputs in %.1fs (%.1f CPU s): %d addresses in %d clusters, largest %d; %d unions, %d coinjoins skipped, %d refused; forest %d MB",
			res.Txs, res.Inputs, res.Seconds, cpu, s.Addresses, s.Clusters, s.Largest, res.Unions, s.CoinJoins, s.Refused, res.ForestBytes>>20)
	}
}

// cpuSeconds is the process's user and system CPU time so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
