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
	// Issue 17 #4: every row is in the output (the bad one with risk=error
	// and the reason), the customer column is kept, every row names the tip
	// and list version, and a failed row makes the exit code 2.
	code, _, errs = runCLI(t, "--db", db, "screen", "--in", in, "--out", res)
	if code != exitUsage || !strings.Contains(errs, "1 of 4 rows of "+in+" could not be screened") {
		t.Fatalf("batch: exit %d: %s", code, errs)
	}
	f, _ := os.Open(res)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 5 {
		t.Fatalf("batch output: %v %v", err, rows)
	}
	want := [][]string{{"line", "address", "customer", "risk", "error"}, {"3", seed, "alice", "sanctioned", ""}, {"4", "not-an-address", "bob", "error", "*"},
		{"5", dep, "carol", "exposed", ""}, {"7", truth.Clean[0].Address, "", "", ""}}
	for i, w := range want {
		for j, v := range w {
			if got := rows[i][j]; v == "*" && got == "" || v != "*" && v != "" && got != v {
				t.Errorf("row %d column %d: %q, want %q (%v)", i, j, got, v, rows[i])
			}
		}
		if i > 0 && (rows[i][len(rows[i])-1] != "1" || rows[i][len(rows[i])-3] == "") {
			t.Errorf("row %d: no tip or list version: %v", i, rows[i])
		}
	}
	code, out, _ = runCLI(t, "--db", db, "screen", "--in", in, "--json")
	if code != exitUsage || strings.Count(out, "\n") != 4 || !strings.Contains(out, `"line":5`) || !strings.Contains(out, `"risk":"error"`) {
		t.Fatalf("batch --json: exit %d %s", code, out)
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
