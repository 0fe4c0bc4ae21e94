package chaingen

import (
	"context"
	"testing"
)

// BenchmarkGenerate measures generation of a 20,000-transaction chain
// (after the 432 signalling blocks) with every scenario, signed and with
// placeholder signatures. Run it with -cpu 1 for transactions per
// CPU-second.
func BenchmarkGenerate(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"signed", Config{}},
		{"unsigned", Config{Unsigned: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			const txs = 20_000
			var sum Summary
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				cfg := bc.cfg
				cfg.OutDir, cfg.Txs, cfg.Seed = b.TempDir(), txs, uint64(i+1)
				var err error
				if sum, err = Generate(context.Background(), cfg, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)*txs/b.Elapsed().Seconds(), "tx/s")
			b.ReportMetric(float64(sum.Bytes)/float64(sum.Txs+sum.Coinbases), "bytes/tx")
		})
	}
}
