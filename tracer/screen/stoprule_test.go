package screen_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/tracer/cluster"
	"github.com/tracer-oss/tracer/tracer/internal/scamstore"
	"github.com/tracer-oss/tracer/tracer/screen"
	"github.com/tracer-oss/tracer/tracer/screen/screentest"
	"github.com/tracer-oss/tracer/tracer/spec"
)

// TestStopRuleAgainstTruth screens the generated scam-centre case after
// clustering, as `tracer cluster; tracer screen` does, against the
// generator's truth:
//   - no exchange hot wallet is exposed (the funds stopped at the deposit
//     address, which its cluster labels as the exchange), from the index and
//     from a fresh walk;
//   - no amount is counted twice: the exposure summed over every exchange
//     address equals what the trace delivered to exchanges;
//   - each deposit address's exposure equals the trace's hits at it, for a
//     trace of the same specification (every sanctioned address as seeds,
//     haircut, the screen's hop and dust limits, clusters on).
func TestStopRuleAgainstTruth(t *testing.T) {
	f := loadFixture(t)
	ctx := context.Background()
	chain := filepath.Join(filepath.Dir(f.db), "chain")
	st, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := scamstore.Load(ctx, st, chain); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Run(ctx, st, cluster.Options{}); err != nil {
		t.Fatal(err)
	}
	x, err := flow.Open(ctx, st, flow.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	runner := spec.NewRunner(st, screentest.Params, x)
	lab, info, _, err := runner.ClusterLabels()
	if err != nil || lab == nil {
		t.Fatalf("cluster labels: %v %v", lab, err)
	}
	const hops = 50
	opt := screen.Options{Params: screentest.Params, MaxHops: hops, Clusters: lab, ClusterInfo: info, Flow: x}
	if _, err := screen.BuildIndex(ctx, st, opt); err != nil {
		t.Fatal(err)
	}
	opt.Flow = nil
	s, err := screen.New(st, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !s.IndexUsable() {
		t.Fatalf("index not usable: %+v", s.Status().Index)
	}

	// The trace of the same specification: every sanctioned address.
	sp := spec.Default()
	for _, e := range f.truth.Entities {
		sp.Seeds.Addresses = append(sp.Seeds.Addresses, e.Addresses...)
	}
	sp.MaxHops, sp.MinValue, sp.Clusters = hops, 1, spec.ClustersOn
	sp.Stop = []string{"exchange", spec.CategorySanctioned}
	out, err := runner.Run(ctx, sp, nil)
	if err != nil {
		t.Fatal(err)
	}
	hitAt := map[string]int64{}
	hitHops := map[string]int{}
	viaCluster := 0
	for _, h := range out.Result.Hits {
		if h.Category != "exchange" {
			continue
		}
		hitAt[h.Address] += h.Tainted
		if hh, ok := hitHops[h.Address]; !ok || h.Hops < hh {
			hitHops[h.Address] = h.Hops
		}
		if h.Via == "cluster" {
			viaCluster++
		}
	}
	if viaCluster == 0 {
		t.Fatal("no hit found through a cluster label: the case does not test the stop rule")
	}

	exchangeAddrs := map[string]string{}
	for _, e := range f.truth.Exchanges {
		for _, a := range e.HotWallets {
			exchangeAddrs[a] = "hot wallet"
		}
		for _, a := range e.Deposits {
			exchangeAddrs[a] = "deposit"
		}
	}
	var screened, traced int64
	hot, deposits := 0, 0
	for a, role := range exchangeAddrs {
		ix, err := s.Lookup(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		fr, err := s.Fresh(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		got := ix.Sanctioned()
		screened += got.Amount
		traced += hitAt[a]
		switch role {
		case "hot wallet":
			hot++
			if ix.Risk == screen.RiskExposed || got.Amount != 0 || fr.Risk == screen.RiskExposed || fr.Sanctioned().Amount != 0 {
				t.Errorf("hot wallet %s: index %s %d sat, fresh %s %d sat; want no exposure (the deposit stops the branch)",
					a, ix.Risk, got.Amount, fr.Risk, fr.Sanctioned().Amount)
			}
		case "deposit":
			if got.Amount != hitAt[a] {
				t.Errorf("deposit %s: exposure %d sat, the trace's hits %d sat", a, got.Amount, hitAt[a])
			}
			if got.Amount > 0 {
				deposits++
				if got.Hops != hitHops[a] {
					t.Errorf("deposit %s: nearest source at %d hops, the trace's nearest hit at %d", a, got.Hops, hitHops[a])
				}
			}
		}
	}
	if screened != traced {
		t.Errorf("exchange addresses screened for %d sat in all, the trace delivered %d sat to them: something is counted twice or lost", screened, traced)
	}
	if hot == 0 || deposits < 5 {
		t.Fatalf("%d hot wallets, %d exposed deposits: the case is too small", hot, deposits)
	}
	t.Logf("%d hot wallets not exposed; %d exposed deposits equal the trace's hits (%d found via cluster); %d sat in all", hot, deposits, viaCluster, screened)
}
