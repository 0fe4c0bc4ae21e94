package accuracy_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/tracer/chaingen"
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
	total.WriteText(&sb)
	b.Logf("%d seeds × %d txs, pooled:\n%s", seeds, txs, sb.String())
	mi, all := total.Scores[0].Score, total.Scores[len(total.Scores)-1].Score
	b.ReportMetric(mi.Precision, "mi-precision")
	b.ReportMetric(mi.Recall, "mi-recall")
	b.ReportMetric(all.Precision, "all-precision")
	b.ReportMetric(all.Recall, "all-recall")
	b.ReportMetric(float64(mi.LargestFalse), "largest-false")
	b.ReportMetric(float64(b.N)*float64(mi.Addresses)*float64(len(total.Scores))/b.Elapsed().Seconds(), "addr/s")
}
