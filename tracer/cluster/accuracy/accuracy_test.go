package accuracy_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/tracer/cluster/accuracy"
)

var params = &chaincfg.RegressionNetParams

// accuracyTxs is the size of each scored chain: TRACER_ACCURACY_TXS,
// default 8,000 (4,000 with -short).
func accuracyTxs(tb testing.TB) int {
	n := 8000
	if testing.Short() {
		n = 4000
	}
	if v := os.Getenv("TRACER_ACCURACY_TXS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			tb.Fatalf("TRACER_ACCURACY_TXS=%q: want a positive number", v)
		}
	}
	return n
}

// evaluate generates a chain of seed, ingests it and evaluates it.
func evaluate(tb testing.TB, seed uint64, txs int) *accuracy.Report {
	tb.Helper()
	dir := tb.TempDir()
	if _, err := chaingen.Generate(context.Background(), chaingen.Config{OutDir: dir, Txs: txs, Seed: seed}, nil); err != nil {
		tb.Fatal(err)
	}
	st, err := store.Open(filepath.Join(tb.TempDir(), "db"), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer st.Close()
	if _, err := ingest.Run(context.Background(), st, ingest.Config{Paths: []string{filepath.Join(dir, "blocks")}, StartHeight: -1, ToHeight: -1}); err != nil {
		tb.Fatal(err)
	}
	rep, err := accuracy.Evaluate(context.Background(), st, dir, params)
	if err != nil {
		tb.Fatal(err)
	}
	return rep
}

// TestAccuracy scores clustering and the detectors on three seeds and
// holds them to the targets: multi-input precision >= 0.99 on every seed,
// every CoinJoin round, Tx0 and Stonewall detected as its kind, no
// ordinary transaction taken for a mixing round.
func TestAccuracy(t *testing.T) {
	txs := accuracyTxs(t)
	total := &accuracy.Report{}
	for _, seed := range []uint64{1, 2, 3} {
		rep := evaluate(t, seed, txs)
		var b strings.Builder
		if err := rep.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		t.Logf("seed %d, %d txs:\n%s", seed, txs, b.String())
		mi := rep.Scores[0]
		if mi.Config.Name != "multi-input" || mi.Score.Precision < 0.99 {
			t.Errorf("seed %d: %s precision %.4f, target 0.99", seed, mi.Config.Name, mi.Score.Precision)
		}
		if mi.Score.Recall <= 0 || mi.Score.Addresses == 0 {
			t.Errorf("seed %d: nothing scored: %+v", seed, mi.Score)
		}
		total.Add(rep)
	}
	var b strings.Builder
	if err := total.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	t.Logf("three seeds pooled:\n%s", b.String())
	c := total.Confusion
	// Mixing rounds and Stonewalls are always recognised as their kind;
	// a JoinMarket round of ten or more ~0.1 BTC outputs also has
	// Wasabi 1's shape, and either skips it.
	for kind, want := range map[string][]string{
		chaingen.CollabWhirlpool: {"whirlpool"}, chaingen.CollabWabiSabi: {"wabisabi"},
		chaingen.CollabJoinMarket: {"joinmarket", "wasabi"}, chaingen.CollabStonewall: {"stonewall"},
		chaingen.CollabStonewallX2: {"stonewall"}, chaingen.CollabTx0: {"whirlpool-tx0"},
	} {
		var n, ok int64
		for got, v := range c[kind] {
			n += v
			if slices.Contains(want, got) {
				ok += v
			}
		}
		if n == 0 || ok != n {
			t.Errorf("%s: %d generated, %d detected as %v: %v", kind, n, ok, want, c[kind])
		}
	}
	if c[chaingen.CollabPayJoin][accuracy.Missed]+c[chaingen.CollabPayJoin]["payjoin"] == 0 {
		t.Error("no PayJoin generated")
	}
	for _, shape := range []string{"whirlpool", "wabisabi", "whirlpool-tx0"} {
		if n := c[accuracy.None][shape]; n > 0 {
			t.Errorf("%d ordinary transactions detected as %s", n, shape)
		}
	}
}
