package chaingen

import (
	"context"
	"testing"
)

// BenchmarkGenerate measures generation of a 20,000-transaction chain
// (after the 432 signalling blocks) with every scenario.
func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	const txs = 20_000
	var sum Summary
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var err error
		sum, err = Generate(context.Background(), Config{OutDir: b.TempDir(), Txs: txs, Seed: uint64(i + 1)}, nil)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*txs/b.Elapsed().Seconds(), "tx/s")
	b.ReportMetric(float64(sum.Bytes)/float64(sum.Txs+sum.Coinbases), "bytes/tx")
}
