//go:build integration

package follow_test

import (
	"context"
	"testing"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/ingest/rpcnode"
)

// BenchmarkIntegrationRPCSync measures an initial sync over JSON-RPC from a
// local btcd holding a generated regtest chain (20,000 transactions).
//
//	go test -tags integration -run '^$' -bench RPCSync -benchtime 3x ./tracer/follow/
func BenchmarkIntegrationRPCSync(b *testing.B) {
	r := startChain(b, 20000, 0)
	r.submit(b, 1, len(r.blocks)-1)
	for _, conns := range []int{1, 4} {
		b.Run(map[int]string{1: "conns1", 4: "conns4"}[conns], func(b *testing.B) {
			node, err := rpcnode.Dial(context.Background(), rpcnode.Config{URL: r.btcd.URL(), User: r.btcd.User, Pass: r.btcd.Pass, Conns: conns})
			if err != nil {
				b.Fatal(err)
			}
			defer node.Close()
			b.ReportAllocs()
			b.ResetTimer()
			var blocks, txs, bytes int64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				st, err := store.Open(b.TempDir(), store.Options{})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				res, err := ingest.Sync(context.Background(), st, node, ingest.Config{Network: node.Network(), Workers: conns})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				blocks, txs, bytes = blocks+res.Blocks, txs+res.Txs, bytes+res.Bytes
				st.Close()
				b.StartTimer()
			}
			secs := b.Elapsed().Seconds()
			b.ReportMetric(float64(blocks)/secs, "blocks/s")
			b.ReportMetric(float64(txs)/secs, "tx/s")
			b.ReportMetric(float64(bytes)/1e6/secs, "MB/s")
		})
	}
}
