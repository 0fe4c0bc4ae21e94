package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/store/chaingen"
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
	if err := os.WriteFile(in, []byte("address,customer\n# comment\n"+seed+",alice\nnot-an-address,bob\n"+dep+",carol\n\n"+truth.Clean[0].Address+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
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
	want := [][]string{{"line", "address", "customer", "risk", "level", "rule", "error"}, {"3", seed, "alice", "sanctioned", "", "", ""},
		{"4", "not-an-address", "bob", "error", "", "", "*"}, {"5", dep, "carol", "exposed", "", "", ""}, {"7", truth.Clean[0].Address, "", "", "", "", ""}}
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
	// The risk policy: every output format names the level and the rule.
	if rows[1][4] != "severe" || rows[1][5] != "listed" || rows[0][4] != "level" || rows[0][5] != "rule" {
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
	if err := os.WriteFile(pol, []byte("name: team\nrules:\n  - {name: any-sanctioned-funds, level: high, category: sanctioned, exposure: indirect}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"screen", "--json", dep, "--policy", pol}, {"screen", "--json", "--fresh", "--policy", pol, dep}} {
		var r screen.Result
		code, out, errs = runCLI(t, append([]string{"--db", db}, args...)...)
		if code != 0 || json.Unmarshal([]byte(out), &r) != nil || r.Level != "high" || r.Rule != "any-sanctioned-funds" || r.Policy != "team" {
			t.Fatalf("%v: exit %d %s %s", args, code, out, errs)
		}
	}
	code, out, _ = runCLI(t, "--db", db, "screen", "--in", in, "--json", "--policy", pol)
	if code != exitUsage || // the input's bad row
		!strings.Contains(out, `"level":"none","rule":"","reason"`) && !strings.Contains(out, `"level":"none","rule":""`) || !strings.Contains(out, `"rule":"any-sanctioned-funds"`) {
		t.Fatalf("batch --json --policy: exit %d %s", code, out)
	}
	if err := os.WriteFile(pol, []byte("rules:\n  - name: x\n    level: high\n    category: mafia\n"), 0o644); err != nil {
		t.Fatal(err)
	}
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
	auditTrailCLI(t, db, dir)
	// Usage errors.
	for _, args := range [][]string{{"screen"}, {"screen", "nope"}, {"screen", "--out", "x"}, {"serve", "--listen", "0.0.0.0:0"}} {
		if code, _, errs := runCLI(t, append([]string{"--db", db}, args...)...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2: %s", args, code, errs)
		}
	}
}

// auditTrailCLI checks the audit log the screens above left: verify, show,
// export; then edits, deletes and reorders lines of copies and sees verify
// fail on each, naming the first bad line.
func auditTrailCLI(t *testing.T, db, dir string) {
	t.Helper()
	log := filepath.Join(db, "audit.log")
	code, out, errs := runCLI(t, "--db", db, "audit", "verify", "--json")
	var v struct {
		OK      bool
		Entries int
		Head    string
	}
	// 2 + 1 + 1 (index, fresh) + 4 (batch: 3 screened, 1 invalid) + 4 (batch JSON) + 1 (text) + 2 (policy)
	// + 4 (batch policy) + 1 (after the list reload, list version 2)
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || !v.OK || v.Entries != 20 || len(v.Head) != 64 {
		t.Fatalf("audit verify: exit %d %s %s", code, out, errs)
	}
	code, out, _ = runCLI(t, "--db", db, "audit", "verify", "--head", v.Head)
	if code != 0 || !strings.Contains(out, "OK, 20 entries") {
		t.Fatalf("audit verify --head: exit %d %s", code, out)
	}
	var shown []struct {
		Seq                       int
		Source, Key, Input, Level string
		Rule, Error               string
		ListVersion               int `json:"list_version"`
	}
	code, out, _ = runCLI(t, "--db", db, "audit", "show", "--json", "--limit", "0", "--level", "severe")
	if code != 0 || json.Unmarshal([]byte(out), &shown) != nil || len(shown) < 3 {
		t.Fatalf("audit show: exit %d %s", code, out)
	}
	for _, e := range shown {
		if e.Source != "cli" || !strings.HasPrefix(e.Key, "user:") || e.Level != "severe" || e.Rule != "listed" || e.ListVersion != 1 {
			t.Fatalf("audit show entry %+v", e)
		}
	}
	code, out, _ = runCLI(t, "--db", db, "audit", "show", "--address", "not-an-address")
	if code != 0 || strings.Count(out, "not-an-address") != 3 || !strings.Contains(out, "error") {
		t.Fatalf("audit show --address: exit %d %s", code, out)
	}
	code, out, _ = runCLI(t, "--db", db, "audit", "export", "--format", "csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(rows) != 21 || rows[0][0] != "seq" || rows[20][0] != "20" || rows[20][11] != "2" {
		t.Fatalf("audit export: exit %d %v %d rows", code, err, len(rows))
	}
	raw, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(raw), "\n")[:20]
	for _, tc := range []struct {
		name   string
		change func([]string) []string
		line   string
	}{
		{"edit", func(l []string) []string { l[4] = strings.Replace(l[4], `"level":"`, `"level":"x`, 1); return l }, "line 5:"},
		{"delete", func(l []string) []string { return append(l[:7], l[8:]...) }, "line 8:"},
		{"reorder", func(l []string) []string { l[10], l[11] = l[11], l[10]; return l }, "line 11:"},
	} {
		path := filepath.Join(dir, tc.name+".log")
		if err := os.WriteFile(path, []byte(strings.Join(tc.change(append([]string(nil), lines...)), "")), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errs := runCLI(t, "--db", db, "audit", "verify", "--audit-log", path)
		if code != 1 || !strings.Contains(errs, "does not verify: "+tc.line) {
			t.Errorf("%s: audit verify exit %d, want 1 naming %q: %s %s", tc.name, code, tc.line, out, errs)
		}
		if code, _, _ := runCLI(t, "--db", db, "audit", "export", "--audit-log", path); code != 1 {
			t.Errorf("%s: audit export of a broken log: exit %d, want 1", tc.name, code)
		}
	}
	if code, _, errs := runCLI(t, "--db", db, "audit", "verify", "--head", strings.Repeat("ab", 32)); code != 1 || !strings.Contains(errs, "holds no entry") {
		t.Errorf("audit verify --head unknown: exit %d %s", code, errs)
	}
}
