package tracer_test

import (
	"context"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/address"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/taint"
)

// BenchmarkForward traces forward from the addresses that received the
// chain's early coinbases — the money that funds the whole generated
// economy — under poison with no stop category, so the walk visits most of
// a 1,000,000-transaction chain. It reports transactions visited per
// second, store reads per transaction and peak RSS.
func BenchmarkForward(b *testing.B) {
	for _, m := range []taint.Model{taint.Poison, taint.Haircut} {
		b.Run(m.String(), func(b *testing.B) {
			st := storetest.BenchStore(b, storetest.BenchTxs(b))
			var seeds []tracer.Seed
			seen := map[address.Addr]bool{}
			for h := int32(1); h <= 431; h++ {
				blk, err := st.BlockByHeight(h)
				if err != nil {
					b.Fatal(err)
				}
				cb, err := st.TxByNum(blk.FirstTx)
				if err != nil {
					b.Fatal(err)
				}
				for _, o := range cb.Outputs {
					if o.Addr.Kind.HasAddress() && !seen[o.Addr] {
						seen[o.Addr] = true
						seeds = append(seeds, tracer.Seed{Addr: o.Addr})
					}
				}
			}
			opt := tracer.Options{Model: m, Params: &chaincfg.RegressionNetParams, StopCategories: []string{}, MaxHops: 1 << 20, MaxTxs: 1 << 30}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				storetest.ResetPeakRSS()
				rd := st.NewReader()
				res, err := tracer.Forward(context.Background(), rd, nil, seeds, opt)
				rd.Close()
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(res.Params.TxsVisited), "txs-visited")
				b.ReportMetric(float64(res.Params.TxsVisited)/res.Params.ElapsedSeconds, "tx/s")
				b.ReportMetric(res.Params.StoreReadsPerTx, "reads/tx")
				b.ReportMetric(float64(storetest.PeakRSS())/(1<<20), "peak-RSS-MiB")
			}
		})
	}
}

var _ = store.TxNum(0)
