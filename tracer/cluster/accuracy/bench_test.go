package accuracy_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer/cluster"
	"github.com/tracer-oss/tracer/tracer/cluster/accuracy"
)

// BenchmarkAccuracy scores clustering on three generated chains (seeds 1,
// 2, 3; TRACER_ACCURACY_SEEDS=N for the first N, TRACER_ACCURACY_TXS
// transactions each, default 20,000): generation and ingest happen before
// the timer; each iteration clusters every chain under every
// configuration and scores it. It reports the pooled pairwise precision
// and recall of multi-input clustering alone and with all change rules,
// and scored addresses per second, and logs the full tables.
//
//	go test ./tracer/cluster/accuracy -run '^$' -bench Accuracy -benchtime 1x -v
func BenchmarkAccuracy(b *testing.B) {
	txs := 20_000
	if v := os.Getenv("TRACER_ACCURACY_TXS"); v != "" {
		var err error
		if txs, err = strconv.Atoi(v); err != nil || txs <= 0 {
			b.Fatalf("TRACER_ACCURACY_TXS=%q: want a positive number", v)
		}
	}
	seeds := 3
	if v := os.Getenv("TRACER_ACCURACY_SEEDS"); v != "" {
		var err error
		if seeds, err = strconv.Atoi(v); err != nil || seeds <= 0 {
			b.Fatalf("TRACER_ACCURACY_SEEDS=%q: want a positive number", v)
		}
	}
	ctx := context.Background()
	type chain struct {
		dir string
		st  *store.Store
	}
	var chains []chain
	for seed := 1; seed <= seeds; seed++ {
		dir := b.TempDir()
		if _, err := chaingen.Generate(ctx, chaingen.Config{OutDir: dir, Txs: txs, Seed: uint64(seed)}, nil); err != nil {
			b.Fatal(err)
		}
		st, err := store.Open(filepath.Join(dir, "db"), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		if _, err := ingest.Run(ctx, st, ingest.Config{Paths: []string{filepath.Join(dir, "blocks")}, StartHeight: -1, ToHeight: -1}); err != nil {
			b.Fatal(err)
		}
		chains = append(chains, chain{dir, st})
	}
	b.ReportAllocs()
	b.ResetTimer()
	var total *accuracy.Report
	for i := 0; i < b.N; i++ {
		total = &accuracy.Report{}
		for _, c := range chains {
			rep, err := accuracy.Evaluate(ctx, c.st, c.dir, params)
			if err != nil {
				b.Fatal(err)
			}
			total.Add(rep)
		}
	}
	b.StopTimer()
	var sb strings.Builder
	if err := total.WriteText(&sb); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d seeds × %d txs, pooled:\n%s", seeds, txs, sb.String())
	mi, all := total.Scores[0].Score, total.Scores[len(total.Scores)-1].Score
	b.ReportMetric(mi.Precision, "mi-precision")
	b.ReportMetric(mi.Recall, "mi-recall")
	b.ReportMetric(all.Precision, "all-precision")
	b.ReportMetric(all.Recall, "all-recall")
	b.ReportMetric(float64(mi.LargestFalse), "largest-false")
	b.ReportMetric(float64(b.N)*float64(mi.Addresses)*float64(len(total.Scores))/b.Elapsed().Seconds(), "addr/s")
}

// BenchmarkScoreBenchChain scores the default clustering (multi-input,
// default guard) of the 1,000,000-transaction benchmark chain
// (storetest.BenchChain; TRACER_BENCH_TXS) against its owners.csv:
// ingest and clustering before the timer, then one pass over owners.csv
// per iteration. It reports precision, recall, the largest false cluster
// and scored addresses per second.
//
//	go test ./tracer/cluster/accuracy -run '^$' -bench ScoreBenchChain -benchtime 1x -v
func BenchmarkScoreBenchChain(b *testing.B) {
	ctx := context.Background()
	dir := storetest.BenchChain(b, storetest.BenchTxs(b))
	st, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := ingest.Run(ctx, st, ingest.Config{Paths: []string{filepath.Join(dir, "blocks")}, StartHeight: -1, ToHeight: -1}); err != nil {
		b.Fatal(err)
	}
	res, err := cluster.Run(ctx, st, cluster.Options{MaxMerge: cluster.DefaultMaxMerge})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("clustered %d txs: %d addresses in %d clusters, largest %d, %d multi-owner skipped %v", res.Txs,
		res.State.Addresses, res.State.Clusters, res.State.Largest, res.State.CoinJoins, res.CoinJoins)
	b.ReportAllocs()
	b.ResetTimer()
	var p *accuracy.Pairwise
	for i := 0; i < b.N; i++ {
		if p, err = accuracy.Score(ctx, st, filepath.Join(dir, "owners.csv"), params); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.Logf("%+v", *p)
	b.ReportMetric(p.Precision, "precision")
	b.ReportMetric(p.Recall, "recall")
	b.ReportMetric(float64(p.LargestFalse), "largest-false")
	b.ReportMetric(float64(b.N)*float64(p.Addresses)/b.Elapsed().Seconds(), "addr/s")
}
