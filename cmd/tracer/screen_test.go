package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/tracer/chaingen"
	"github.com/tracer-oss/tracer/tracer/screen"
)

// TestScreenCLI runs the compliance workflow as a user types it: generate,
// ingest, load the list and tags, screen (the index is built on first use),
// screen fresh, batch a file with a bad line, rebuild when the list changes.
func TestScreenCLI(t *testing.T) {
	dir := t.TempDir()
	chain, db := filepath.Join(dir, "chain"), filepath.Join(dir, "db")
	for _, args := range [][]string{
		{"gen", "--out", chain, "--txs", "2500", "--seed", "5"},
		{"--db", db, "ingest", "--blocks", filepath.Join(chain, "blocks")},
		{"--db", db, "sanctions", "load", filepath.Join(chain, "sanctions", "sdn_advanced.xml")},
		{"--db", db, "tags", "load", filepath.Join(chain, "tags", "exchanges.yaml")},
	} {
		if code, _, errs := runCLI(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
	}
	truth, err := chaingen.ReadTruth(filepath.Join(chain, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	seed := truth.Seeds[0].Address
	dep := ""
	for _, d := range truth.Deposits {
		if d.Taint.Haircut > 0 {
			dep = d.Address
			break
		}
	}
	// First screen builds the index.
	code, out, errs := runCLI(t, "--db", db, "screen", seed, dep)
	if code != 0 || !strings.Contains(errs, "building the exposure index (no index yet)") || !strings.Contains(out, "SANCTIONED") || !strings.Contains(out, "EXPOSED") {
		t.Fatalf("screen: exit %d\n%s\n%s", code, out, errs)
	}
	var ix, fr screen.Result
	code, out, errs = runCLI(t, "--db", db, "screen", "--json", dep)
	if code != 0 || json.Unmarshal([]byte(out), &ix) != nil || ix.Method != screen.MethodIndex || strings.Contains(errs, "building") {
		t.Fatalf("screen --json: exit %d %s %s", code, out, errs)
	}
	code, out, _ = runCLI(t, "--db", db, "screen", "--json", "--fresh", dep)
	if code != 0 || json.Unmarshal([]byte(out), &fr) != nil || fr.Method != screen.MethodFresh {
		t.Fatalf("screen --fresh: exit %d %s", code, out)
	}
	if d := ix.Sanctioned().Amount - fr.Sanctioned().Amount; ix.Sanctioned().Amount == 0 || d > 50 || d < -50 {
		t.Fatalf("index %d sat, fresh %d sat", ix.Sanctioned().Amount, fr.Sanctioned().Amount)
	}
	// Batch: a header, a comment, a bad line, CSV with more columns.
	in := filepath.Join(dir, "in.csv")
	res := filepath.Join(dir, "out.csv")
	os.WriteFile(in, []byte("address,customer\n# comment\n"+seed+",alice\nnot-an-address,bob\n"+dep+",carol\n\n"+truth.Clean[0].Address+"\n"), 0o644)
	code, _, errs = runCLI(t, "--db", db, "screen", "--in", in, "--out", res)
	if code != 0 || !strings.Contains(errs, "line 4") || !strings.Contains(errs, "skipped") || !strings.Contains(errs, "1 bad lines skipped") {
		t.Fatalf("batch: exit %d: %s", code, errs)
	}
	f, _ := os.Open(res)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 4 || rows[0][1] != "address" || rows[1][2] != "sanctioned" || rows[2][0] != "5" || rows[2][2] != "exposed" || rows[3][0] != "7" {
		t.Fatalf("batch output: %v %v", err, rows)
	}
	code, out, _ = runCLI(t, "--db", db, "screen", "--in", in, "--json")
	if code != 0 || strings.Count(out, "\n") != 3 || !strings.Contains(out, `"line":5`) {
		t.Fatalf("batch --json: exit %d %s", code, out)
	}
	// The risk policy: every output format names the level and the rule.
	if rows[1][3] != "severe" || rows[1][4] != "listed" || rows[0][3] != "level" || rows[0][4] != "rule" {
		t.Fatalf("batch CSV level/rule: %v", rows[:2])
	}
	if ix.Level == "" || ix.Rule == "" || ix.Policy != "default" {
		t.Fatalf("screen --json: level %q rule %q policy %q", ix.Level, ix.Rule, ix.Policy)
	}
	code, out, _ = runCLI(t, "--db", db, "screen", seed)
	if code != 0 || !strings.Contains(out, "level severe (rule listed)") {
		t.Fatalf("screen text level: %s", out)
	}
	pol := filepath.Join(dir, "policy.yaml")
	os.WriteFile(pol, []byte("name: team\nrules:\n  - {name: any-sanctioned-funds, level: high, category: sanctioned, exposure: indirect}\n"), 0o644)
	for _, args := range [][]string{{"screen", "--json", dep, "--policy", pol}, {"screen", "--json", "--fresh", "--policy", pol, dep}} {
		var r screen.Result
		code, out, errs = runCLI(t, append([]string{"--db", db}, args...)...)
		if code != 0 || json.Unmarshal([]byte(out), &r) != nil || r.Level != "high" || r.Rule != "any-sanctioned-funds" || r.Policy != "team" {
			t.Fatalf("%v: exit %d %s %s", args, code, out, errs)
		}
	}
	code, out, _ = runCLI(t, "--db", db, "screen", "--in", in, "--json", "--policy", pol)
	if code != 0 || !strings.Contains(out, `"level":"none","rule":"","reason"`) && !strings.Contains(out, `"level":"none","rule":""`) || !strings.Contains(out, `"rule":"any-sanctioned-funds"`) {
		t.Fatalf("batch --json --policy: exit %d %s", code, out)
	}
	os.WriteFile(pol, []byte("rules:\n  - name: x\n    level: high\n    category: mafia\n"), 0o644)
	for _, cmd := range []string{"screen", "serve"} {
		code, _, errs = runCLI(t, "--db", db, cmd, "--policy", pol, dep)
		if code != exitUsage || !strings.Contains(errs, pol+":4:") || !strings.Contains(errs, `unknown category "mafia"`) {
			t.Fatalf("%s with a bad policy: exit %d: %s", cmd, code, errs)
		}
	}
	// A new list version makes the index stale: the next screen rebuilds it.
	if code, _, errs := runCLI(t, "--db", db, "sanctions", "load", filepath.Join(chain, "sanctions", "sdn_advanced.xml")); code != 0 {
		t.Fatalf("reload: %s", errs)
	}
	code, _, errs = runCLI(t, "--db", db, "screen", dep)
	if code != 0 || !strings.Contains(errs, "built for sanctions list version 1, version 2 is in force") {
		t.Fatalf("stale: exit %d %s", code, errs)
	}
	// Usage errors.
	for _, args := range [][]string{{"screen"}, {"screen", "nope"}, {"screen", "--out", "x"}, {"serve", "--listen", "0.0.0.0:0"}} {
		if code, _, errs := runCLI(t, append([]string{"--db", db}, args...)...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2: %s", args, code, errs)
		}
	}
}
