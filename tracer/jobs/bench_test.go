package jobs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer/jobs"
	"github.com/tracer-oss/tracer/tracer/seedsel"
	"github.com/tracer-oss/tracer/tracer/spec"
	"github.com/tracer-oss/tracer/tracer/taint"
)

// BenchmarkRun100 runs 100 traces (20 seed addresses × 5 models, forward,
// at most 5,000 transactions each) over the benchmark chain
// (storetest.BenchStore: 1,000,000 transactions unless TRACER_BENCH_TXS
// says otherwise), with 1 and then 2 workers, over the store's trace index
// as tracer jobs run does, and reports jobs/s of each and the speed-up.
func BenchmarkRun100(b *testing.B) {
	st := storetest.BenchStore(b, storetest.BenchTxs(b))
	params := &chaincfg.RegressionNetParams
	// Seeds: the first payment output of transactions spread over the chain.
	var addrs []string
	next := st.State().NextTx
	for n := store.TxNum(1000); len(addrs) < 20 && n < next; n += next / 25 {
		tx, err := st.TxByNum(n)
		if err != nil {
			b.Fatal(err)
		}
		for _, o := range tx.Outputs {
			if o.Addr.Kind.HasAddress() && !tx.Coinbase {
				addrs = append(addrs, o.Addr.String(params))
				break
			}
		}
	}
	plan := &jobs.Plan{}
	for i, a := range addrs {
		for _, m := range taint.Models {
			plan.Jobs = append(plan.Jobs, jobs.Job{
				Name: fmt.Sprintf("s%02d-%s", i, m), Spec: spec.Spec{Seeds: seedsel.Selection{Addresses: []string{a}},
					Direction: "forward", Model: m.String(), MaxHops: 50, MinValue: 546, MaxTxs: 5000, WideOutputs: 1000, Stop: []string{"exchange"}},
			})
		}
	}
	x, err := flow.Open(context.Background(), st, flow.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	// A first pass warms the store's caches, so the one-worker pass that
	// follows is not penalised for going first.
	if _, err := jobs.Run(context.Background(), st, plan, jobs.Config{Out: b.TempDir(), Workers: 2, Params: params, Flow: x}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var rate [3]float64
		var visited int
		for _, w := range []int{1, 2} {
			start := time.Now()
			sum, err := jobs.Run(context.Background(), st, plan, jobs.Config{Out: b.TempDir(), Workers: w, Params: params, Flow: x})
			if err != nil {
				b.Fatalf("%d workers: %v", w, err)
			}
			rate[w] = float64(len(plan.Jobs)) / time.Since(start).Seconds()
			visited = 0
			for _, r := range sum.Rows {
				visited += r.TxsVisited
			}
		}
		b.ReportMetric(float64(len(plan.Jobs)), "jobs")
		b.ReportMetric(float64(visited)/float64(len(plan.Jobs)), "txs-visited/job")
		b.ReportMetric(rate[1], "jobs/s-1worker")
		b.ReportMetric(rate[2], "jobs/s-2workers")
		b.ReportMetric(rate[2]/rate[1], "speedup")
	}
}
