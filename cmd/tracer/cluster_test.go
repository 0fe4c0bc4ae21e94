package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/cluster"
)

// TestClusterCLI runs cluster, status, entity and trace on a generated
// scam-centre chain through the command line.
func TestClusterCLI(t *testing.T) {
	gen := t.TempDir()
	if _, err := chaingen.Generate(context.Background(), chaingen.Config{OutDir: gen, Txs: 3000, Seed: 7}, nil); err != nil {
		t.Fatal(err)
	}
	truth, err := chaingen.ReadTruth(filepath.Join(gen, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "db")
	for _, args := range [][]string{
		{"ingest", "--blocks", filepath.Join(gen, "blocks")},
		{"tags", "load", filepath.Join(gen, "tags", "exchanges.yaml")},
	} {
		if code, _, errs := runCLI(t, append([]string{"--db", db}, args...)...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
	}
	// Before clustering: status says so, entity refuses.
	if _, out, _ := runCLI(t, "--db", db, "status"); !strings.Contains(out, "clusters   none") {
		t.Errorf("status before clustering: %s", out)
	}
	if code, _, _ := runCLI(t, "--db", db, "entity", truth.Exchanges[0].HotWallets[0]); code != 2 {
		t.Errorf("entity before clustering: exit %d", code)
	}
	out0 := filepath.Join(t.TempDir(), "clusters.csv")
	if code, _, errs := runCLI(t, "--db", db, "export", "clusters", "--out", out0); code != 2 || !strings.Contains(errs, "tracer cluster") {
		t.Errorf("export clusters before clustering: exit %d %s", code, errs)
	}
	if code, _, errs := runCLI(t, "--db", db, "cluster", "--change", "greedy"); code != 2 || !strings.Contains(errs, "greedy") {
		t.Errorf("unknown rule: exit %d %s", code, errs)
	}
	code, out, errs := runCLI(t, "--db", db, "cluster")
	if code != 0 || !strings.Contains(out, "clusters ") || !strings.Contains(out, "guard ") || !strings.Contains(out, "entities   4 labeled clusters, 0 with conflicting") {
		t.Fatalf("cluster: exit %d\n%s%s", code, out, errs)
	}
	t.Log("\n" + out)
	// Export: the format follows the extension; anything else is bad usage.
	for _, name := range []string{"clusters.txt", "clusters"} {
		if code, _, errs := runCLI(t, "--db", db, "export", "clusters", "--out", filepath.Join(t.TempDir(), name)); code != 2 || !strings.Contains(errs, ".parquet or .csv") {
			t.Errorf("export clusters --out %s: exit %d %s", name, code, errs)
		}
	}
	for _, name := range []string{"clusters.csv", "clusters.parquet"} {
		path := filepath.Join(t.TempDir(), name)
		code, _, errs := runCLI(t, "export", "clusters", "--out", path, "--label-all-tags", "--db", db)
		if code != 0 || !strings.Contains(errs, "addresses in") || !strings.Contains(errs, "labeled") {
			t.Errorf("export clusters --out %s: exit %d %s", name, code, errs)
		}
		if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", path, err)
		}
	}
	if _, out, _ := runCLI(t, "--db", db, "cluster"); !strings.Contains(out, "nothing new") {
		t.Errorf("second cluster run: %s", out)
	}
	if code, _, errs := runCLI(t, "--db", db, "cluster", "--change", "one-time"); code != 2 || !strings.Contains(errs, "rebuild") {
		t.Errorf("other rules without --rebuild: exit %d %s", code, errs)
	}
	if _, out, _ := runCLI(t, "--db", db, "status"); !strings.Contains(out, "merges refused") || !strings.Contains(out, "addresses in") {
		t.Errorf("status: %s", out)
	}

	// The entity of an untagged, swept deposit address is its exchange.
	ex := truth.Exchanges[0]
	var dep string
	for _, d := range ex.Deposits {
		if !contains(ex.TaggedDeposits, d) {
			dep = d
		}
	}
	code, out, errs = runCLI(t, "--db", db, "entity", dep, "--json", "--limit", "3")
	var v cluster.Description
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil {
		t.Fatalf("entity: exit %d %s %s", code, out, errs)
	}
	if len(v.Labels) != 1 || v.Labels[0].Entity != ex.Actor || v.Conflict || v.Size < 10 || len(v.Page) != 3 || v.Next == 0 ||
		!v.Totals || v.Received < v.Balance || v.FirstSeen > v.LastSeen {
		t.Fatalf("entity view: %+v", v)
	}
	// Its top payees are its exchange's hot wallets (the sweeps), named by
	// their tags; at most --top (5) each way.
	if len(v.Payers) == 0 || len(v.Payees) == 0 || len(v.Payers) > 5 || len(v.Payees) > 5 || !contains(ex.HotWallets, v.Payees[0].Address) ||
		!slices.Contains(v.Payees[0].Labels, ex.Actor) {
		t.Errorf("entity counterparties: payers %+v, payees %+v (hot wallets %v)", v.Payers, v.Payees, ex.HotWallets)
	}
	// Paging reaches every member once.
	seen := map[string]bool{}
	for after, pages := uint64(0), 0; pages < 1000; pages++ {
		args := []string{"--db", db, "entity", dep, "--json", "--limit", "7"}
		if after != 0 {
			args = append(args, "--after", jsonNum(after))
		}
		_, out, _ := runCLI(t, args...)
		var p cluster.Description
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatal(err)
		}
		for _, a := range p.Page {
			if seen[a.Address] {
				t.Fatalf("%s listed twice", a.Address)
			}
			seen[a.Address] = true
		}
		if after = p.Next; after == 0 {
			break
		}
	}
	if int64(len(seen)) != v.Size || !seen[dep] {
		t.Errorf("paging listed %d of %d members (deposit included: %v)", len(seen), v.Size, seen[dep])
	}
	if code, out, _ := runCLI(t, "--db", db, "entity", jsonNum(v.ID)); code != 0 || !strings.Contains(out, ex.Actor) {
		t.Errorf("entity by id: exit %d %s", code, out)
	}
	if code, _, _ := runCLI(t, "--db", db, "entity", "99999999"); code != 2 {
		t.Errorf("unknown id: exit %d", code)
	}

	// Trace: clusters are used by default, --cluster=false turns them off.
	var seeds []string
	for _, s := range truth.Seeds {
		seeds = append(seeds, s.Address)
	}
	viaCluster := func(args ...string) int {
		code, out, errs := runCLI(t, append(append([]string{"--db", db, "trace", "--json"}, args...), seeds...)...)
		if code != 0 {
			t.Fatalf("trace %v: exit %d %s", args, code, errs)
		}
		var r tracer.Result
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, h := range r.Hits {
			if h.Via == "cluster" {
				n++
				if h.LinkTxid == "" {
					t.Errorf("cluster hit %s:%d without link txid", h.Txid, h.Vout)
				}
			}
		}
		return n
	}
	if n := viaCluster(); n == 0 {
		t.Error("trace with clusters: no hit via cluster")
	}
	if n := viaCluster("--cluster=false"); n != 0 {
		t.Errorf("trace --cluster=false: %d hits via cluster", n)
	}

	// The first forward trace built the trace index; the walk over the
	// store itself (--no-index) gives the same report.
	code, out, _ = runCLI(t, "--db", db, "status", "--json")
	var sv statusView
	if err := json.Unmarshal([]byte(out), &sv); code != 0 || err != nil || sv.TraceIndex == nil || !sv.TraceIndex.Current || sv.TraceIndex.Txs != sv.Txs {
		t.Fatalf("status after a trace: exit %d, %v, trace index %+v", code, err, sv.TraceIndex)
	}
	if code, out, errs := runCLI(t, "--db", db, "verify"); code != 0 || !strings.Contains(out, "trace index: compared") || !strings.Contains(out, " 0 mismatches") {
		t.Errorf("verify with a trace index: exit %d\n%s%s", code, out, errs)
	}
	report := func(args ...string) string {
		code, out, errs := runCLI(t, append(append([]string{"--db", db, "trace", "--json", "--model", "fifo"}, args...), seeds...)...)
		if code != 0 {
			t.Fatalf("trace %v: exit %d %s", args, code, errs)
		}
		var r tracer.Result
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		r.Params.ElapsedSeconds, r.Params.StoreReadsPerTx, r.Params.Started = 0, 0, time.Time{}
		b, _ := json.Marshal(r)
		return string(b)
	}
	if a, b := report(), report("--no-index"); a != b {
		t.Errorf("trace over the index and over the store differ:\n%s\n%s", a, b)
	}
}

func jsonNum(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
