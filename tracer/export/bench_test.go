package export_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer/export"
)

// BenchmarkExportGraph exports the whole graph of the benchmark chain
// (storetest.BenchStore: 1,000,000 transactions unless TRACER_BENCH_TXS
// says otherwise) as Parquet, to writers that only count bytes, and reports
// transactions per second of wall time and of CPU time, peak anonymous
// memory and Parquet bytes per transaction.
func BenchmarkExportGraph(b *testing.B) {
	st := storetest.BenchStore(b, storetest.BenchTxs(b))
	s := st.State()
	x, err := flow.Open(context.Background(), st, flow.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var txs, ins, outs countWriter
		rss := storetest.SampleRSS()
		start, cpu0 := time.Now(), cpuSeconds(b)
		gs, err := export.Graph(context.Background(), st, x, &chaincfg.RegressionNetParams, s.StartHeight, s.Height, export.Parquet,
			export.GraphWriters{Txs: &txs, Inputs: &ins, Outputs: &outs})
		if err != nil {
			b.Fatal(err)
		}
		wall, cpu := time.Since(start).Seconds(), cpuSeconds(b)-cpu0
		anon, _ := rss.Stop()
		n := float64(gs.Txs)
		b.ReportMetric(n/wall, "tx/s")
		b.ReportMetric(n/cpu, "tx/CPU-s")
		b.ReportMetric(cpu, "CPU-s")
		b.ReportMetric(float64(anon)/(1<<20), "peak-anon-MiB")
		b.ReportMetric(float64(txs.n+ins.n+outs.n)/n, "B/tx")
		b.ReportMetric(float64(gs.StoreReads)/n, "store-reads/tx")
		b.Logf("%d txs, %d inputs, %d outputs: txs %d B, inputs %d B, outputs %d B", gs.Txs, gs.Inputs, gs.Outputs, txs.n, ins.n, outs.n)
	}
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// cpuSeconds is the user and system CPU time of this process so far.
func cpuSeconds(b *testing.B) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
