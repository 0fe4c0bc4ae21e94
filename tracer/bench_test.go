package tracer_test

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/taint"
)

// BenchmarkForward traces forward from the addresses that received the
// chain's coinbases — the money that funds the whole generated economy —
// under poison and haircut with no stop category, so the walk visits
// every transaction of a 1,000,000-transaction chain. It walks the flow index
// (built first, its build time and size reported) and, for comparison, the
// store itself. It reports transactions visited per second, store reads per
// transaction and peak RSS.
func BenchmarkForward(b *testing.B) {
	st := storetest.BenchStore(b, storetest.BenchTxs(b))
	seeds := coinbaseSeeds(b, st, st.State().Height)
	os.RemoveAll(flow.Dir(st.Dir()))
	start, cpu0 := time.Now(), cpuSeconds(b)
	x, err := flow.Open(context.Background(), st, flow.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	build, buildCPU := time.Since(start).Seconds(), cpuSeconds(b)-cpu0
	stats := x.Stats()
	b.Logf("flow index: %d txs, %d outputs, %d inputs, %.0f MB, built in %.1fs (%.0f tx/s)",
		stats.Txs, stats.Outs, stats.Ins, float64(stats.Bytes)/1e6, build, float64(stats.Txs)/build)

	// Both walks must agree, at this scale too.
	totals := map[taint.Model]tracer.Totals{}
	for _, g := range []string{"flow", "store"} {
		for _, m := range []taint.Model{taint.Poison, taint.Haircut} {
			b.Run(g+"/"+m.String(), func(b *testing.B) {
				opt := tracer.Options{Model: m, Params: &chaincfg.RegressionNetParams, StopCategories: []string{}, MaxHops: 1 << 20, MaxTxs: 1 << 30}
				for i := 0; i < b.N; i++ {
					storetest.ResetPeakRSS()
					rd := st.NewReader()
					var graph tracer.Graph = rd
					if g == "flow" {
						graph = &tracer.FlowGraph{Graph: rd, Flow: x}
					}
					cpu0 := cpuSeconds(b)
					res, err := tracer.Forward(context.Background(), graph, nil, seeds, opt)
					cpu := cpuSeconds(b) - cpu0
					rd.Close()
					if err != nil {
						b.Fatal(err)
					}
					if want, ok := totals[m]; ok && fmt.Sprint(want) != fmt.Sprint(res.Totals) {
						b.Fatalf("%s walk totals %+v, flow walk %+v", g, res.Totals, want)
					}
					totals[m] = res.Totals
					b.ReportMetric(float64(res.Params.TxsVisited), "txs-visited")
					b.ReportMetric(float64(res.Params.TxsVisited)/res.Params.ElapsedSeconds, "tx/s")
					// The machine is shared: CPU seconds say what was this walk's.
					b.ReportMetric(cpu, "cpu-s")
					b.ReportMetric(float64(res.Params.TxsVisited)/cpu, "tx/cpu-s")
					b.ReportMetric(res.Params.StoreReadsPerTx, "reads/tx")
					b.ReportMetric(float64(res.Params.PeakStates), "peak-states")
					b.ReportMetric(float64(storetest.PeakRSS())/(1<<20), "peak-RSS-MiB")
					if g == "flow" {
						b.ReportMetric(build, "index-build-s")
						b.ReportMetric(buildCPU, "index-build-cpu-s")
						b.ReportMetric(float64(stats.Bytes)/float64(stats.Txs), "index-bytes/tx")
					}
				}
			})
		}
	}
}

// coinbaseSeeds are the addresses paid by the coinbases of blocks 1..tip.
func coinbaseSeeds(b testing.TB, st *store.Store, tip int32) []tracer.Seed {
	var seeds []tracer.Seed
	seen := map[address.Addr]bool{}
	for h := int32(1); h <= tip; h++ {
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
	return seeds
}

// cpuSeconds is the user and system CPU time of this process so far.
func cpuSeconds(b *testing.B) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
