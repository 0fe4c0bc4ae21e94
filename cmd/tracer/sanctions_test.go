package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/sanctions/testfiles"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer/lists"
)

// ofacFixture and tagFixture name the hand-made fixtures in the module's
// top-level testdata/, shared with the sanctions and store tests.
func ofacFixture(name string) string {
	return filepath.Join("..", "..", "testdata", "ofac", name)
}
func tagFixture(name string) string {
	return filepath.Join("..", "..", "testdata", "tags", name)
}

func currentVersion(t *testing.T, db string) uint32 {
	t.Helper()
	code, out, errs := runCLI(t, "--db", db, "sanctions", "versions", "--json")
	if code != 0 {
		t.Fatalf("versions: exit %d: %s", code, errs)
	}
	var vs []store.ListVersion
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.Current {
			return v.Version
		}
	}
	return 0
}

func checkJSON(t *testing.T, db string, addrs ...string) []checkView {
	t.Helper()
	code, out, errs := runCLI(t, append([]string{"--db", db, "sanctions", "check", "--json"}, addrs...)...)
	if code != 0 {
		t.Fatalf("check: exit %d: %s", code, errs)
	}
	var vs []checkView
	if err := json.Unmarshal([]byte(out), &vs); err != nil || len(vs) != len(addrs) {
		t.Fatalf("check --json: %v %s", err, out)
	}
	return vs
}

// TestSanctionsCLIFixtures runs every sanctions subcommand on the small
// fixtures, into a store with no chain data.
func TestSanctionsCLIFixtures(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	code, _, errs := runCLI(t, "--db", db, "sanctions", "check", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")
	if code != exitUsage {
		t.Errorf("check before any load: exit %d, want %d (%s)", code, exitUsage, errs)
	}
	code, out, errs := runCLI(t, "--db", db, "sanctions", "load", ofacFixture("sdn.csv"))
	if code != 0 || !strings.Contains(errs, "sdn_comments.csv") || !strings.Contains(out, "version 1") {
		t.Fatalf("load sdn.csv alone: exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
	code, out, errs = runCLI(t, "--db", db, "sanctions", "load", ofacFixture("sdn.csv"), ofacFixture("sdn_comments.csv"))
	if code != 0 || !strings.Contains(out, "version 2") || !strings.Contains(out, "XBT 5") {
		t.Fatalf("load sdn.csv + comments: exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
	// The comments file restored addresses cut from the remarks.
	code, out, _ = runCLI(t, "--db", db, "sanctions", "diff", "--json")
	var d diffView
	if code != 0 || json.Unmarshal([]byte(out), &d) != nil || d.Old.Version != 1 || d.New.Version != 2 || len(d.Added) != 2 || len(d.Removed) != 0 {
		t.Fatalf("diff: exit %d %s", code, out)
	}
	vs := checkJSON(t, db, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT")
	if !vs[0].Listed || vs[0].Hits[0].Name != "DARKMARKET EXAMPLE" || vs[0].ListVersion != 2 || vs[1].Listed || len(vs[1].Hits) != 0 {
		t.Fatalf("check: %+v", vs)
	}
	code, out, _ = runCLI(t, "--db", db, "sanctions", "check", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT")
	if code != 0 || !strings.Contains(out, "not listed") {
		t.Errorf("check of an unlisted address: exit %d %s", code, out)
	}
	code, out, _ = runCLI(t, "--db", db, "sanctions", "list", "--json", "--program", "cyber2", "--asset", "XBT")
	var es []entryView
	if code != 0 || json.Unmarshal([]byte(out), &es) != nil || len(es) == 0 {
		t.Fatalf("list: exit %d %s", code, out)
	}
	for _, e := range es {
		if e.Asset != "XBT" || !strings.Contains(strings.Join(e.Programs, ","), "CYBER2") {
			t.Errorf("list --program cyber2 --asset XBT gave %+v", e)
		}
	}
	code, out, _ = runCLI(t, "--db", db, "sanctions", "list", "--version", "1", "--entity", "darkmarket")
	if code != 0 || !strings.Contains(out, "DARKMARKET EXAMPLE") || strings.Contains(out, "IVANOV") {
		t.Errorf("list --version 1 --entity: exit %d %s", code, out)
	}
	// Lists alone leave the chain state empty; status still works.
	if code, out, errs := runCLI(t, "--db", db, "status"); code != 0 || !strings.Contains(out, "empty") {
		t.Errorf("status: exit %d %s %s", code, out, errs)
	}

	// Bad input exits 2 and leaves version 2 current.
	data, err := os.ReadFile(ofacFixture("sdn_advanced.xml"))
	if err != nil {
		t.Fatal(err)
	}
	trunc := filepath.Join(t.TempDir(), "sdn_advanced.xml")
	if err := os.WriteFile(trunc, data[:len(data)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"load", trunc},
		{"load", filepath.Join(t.TempDir(), "missing.xml")},
		{"load"},
		{"list", "--since", "yesterday"},
		{"list", "--version", "9"},
		{"diff", "1"},
		{"diff", "1", "x"},
		{"check"},
	} {
		code, out, errs := runCLI(t, append([]string{"--db", db, "sanctions"}, args...)...)
		if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, want %d; stdout %q stderr %q", args, code, exitUsage, out, errs)
		}
		if args[0] == "load" && len(args) > 1 && args[1] == trunc && !strings.Contains(errs, "sdn_advanced.xml:") {
			t.Errorf("truncated file error lacks file:line: %s", errs)
		}
	}
	if v := currentVersion(t, db); v != 2 {
		t.Errorf("current version after failed loads: %d, want 2", v)
	}
}

// TestSanctionsUpdate serves a fixture over loopback HTTP; the first URL
// fails, the second serves the list.
func TestSanctionsUpdate(t *testing.T) {
	data, err := os.ReadFile(ofacFixture("sdn_advanced.xml.bz2"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/sdn_advanced.xml.bz2":
			w.Write(data)
		case "/big.xml":
			w.Write(make([]byte, 2<<20))
		case "/garbage.xml":
			w.Write([]byte("<Sanctions><DistinctParties>"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "db")
	code, out, errs := runCLI(t, "--db", db, "sanctions", "update", "--url", srv.URL+"/missing.xml", "--url", srv.URL+"/garbage.xml",
		"--url", srv.URL+"/sdn_advanced.xml.bz2")
	if code != 0 || !strings.Contains(out, "version 1") || !strings.Contains(out, srv.URL) || !strings.Contains(errs, "404") {
		t.Fatalf("update: exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
	if vs := checkJSON(t, db, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"); !vs[0].Listed {
		t.Errorf("after update: %+v", vs)
	}
	// Over the size cap, or nothing but failures: exit 1, version 1 stays.
	code, _, errs = runCLI(t, "--db", db, "sanctions", "update", "--url", srv.URL+"/garbage.xml", "--url", srv.URL+"/missing.xml")
	if code != exitFailure || !strings.Contains(errs, "unchanged") {
		t.Errorf("failing update: exit %d %s", code, errs)
	}
	if v := currentVersion(t, db); v != 1 {
		t.Errorf("current version after a failed update: %d", v)
	}
	code, _, errs = runCLI(t, "--db", db, "sanctions", "update", "--max-mb", "1", "--url", srv.URL+"/big.xml")
	if code != exitFailure || !strings.Contains(errs, "over the 1 MB limit") {
		t.Errorf("update over --max-mb: exit %d %s", code, errs)
	}
	if code, _, errs := runCLI(t, "--db", db, "sanctions", "update", "--url", "ftp://example.org/x"); code == 0 {
		t.Errorf("update with an ftp URL succeeded: %s", errs)
	}
}

// TestSanctionsCLIReal loads the real OFAC advanced lists of 2025-09-24 and
// 2025-11-19 and checks Chen Zhi's 29 XBT addresses (TCO, designated
// 2025-10-14) and the 32 XBT entries added between the two editions.
func TestSanctionsCLIReal(t *testing.T) {
	sep := testfiles.Shared(t, "ofac/sdn_advanced_2025-09-24.xml.bz2")
	nov := testfiles.Shared(t, "ofac/sdn_advanced_2025-11-19.xml.bz2")
	chen := testfiles.Shared(t, "prince_group/chen_zhi_ofac_xbt_addresses.csv")
	if testing.Short() {
		t.Skip("-short: the real lists take about 25 s to parse")
	}
	f, err := os.Open(chen)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 30 || rows[0][0] != "address" {
		t.Fatalf("%s: %d rows, %v", chen, len(rows), err)
	}
	var addrs []string
	for _, r := range rows[1:] {
		addrs = append(addrs, r[0])
	}

	db := filepath.Join(t.TempDir(), "db")
	for _, file := range []string{sep, nov} {
		if code, _, errs := runCLI(t, "--db", db, "sanctions", "load", file); code != 0 {
			t.Fatalf("load %s: exit %d: %s", file, code, errs)
		}
	}
	for _, v := range checkJSON(t, db, addrs...) {
		if !v.Listed || v.ListDate != "2025-11-19" {
			t.Errorf("%s: listed %v in list of %s", v.Address, v.Listed, v.ListDate)
			continue
		}
		h := v.Hits[0]
		if h.Name != "Chen Zhi" || h.ProfileID != 55505 || h.Asset != "XBT" || h.Designated != "2025-10-14" || strings.Join(h.Programs, ",") != "TCO" {
			t.Errorf("%s: hit %+v", v.Address, h)
		}
	}
	code, out, _ := runCLI(t, "--db", db, "sanctions", "diff", "--asset", "XBT", "--json")
	var d diffView
	if code != 0 || json.Unmarshal([]byte(out), &d) != nil {
		t.Fatalf("diff: exit %d %s", code, out)
	}
	if len(d.Added) != 32 || len(d.Removed) != 0 || d.Old.Version != 1 || d.New.Version != 2 {
		t.Errorf("diff --asset XBT: %d added, %d removed (v%d→v%d), want 32 and 0", len(d.Added), len(d.Removed), d.Old.Version, d.New.Version)
	}
	// Every Chen Zhi address is among the added.
	added := map[string]bool{}
	for _, e := range d.Added {
		added[e.Address] = true
	}
	for _, a := range addrs {
		if !added[a] {
			t.Errorf("%s not in the diff", a)
		}
	}
	// The September list does not list them.
	if code, out, _ := runCLI(t, "--db", db, "sanctions", "list", "--version", "1", "--entity", "chen zhi", "--json"); code != 0 || strings.TrimSpace(out) != "[]" {
		t.Errorf("list --version 1 --entity 'chen zhi': exit %d %s", code, out)
	}

	// A truncated copy of the real file fails with exit 2; version 2 stays.
	data, err := os.ReadFile(ofacFixture("sdn_advanced.xml.bz2"))
	if err != nil {
		t.Fatal(err)
	}
	trunc := filepath.Join(t.TempDir(), "sdn_advanced.xml.bz2")
	if err := os.WriteFile(trunc, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, "--db", db, "sanctions", "load", trunc); code != exitUsage {
		t.Errorf("truncated .bz2: exit %d, want 2: %s", code, errs)
	}
	if v := currentVersion(t, db); v != 2 {
		t.Errorf("current version after a failed load: %d, want 2", v)
	}
}

func TestTagsCLI(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	pack, err := os.ReadFile(tagFixture("pack.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(string(pack), "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLz", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	// Strict: a bad BTC address fails the whole load with file:line, nothing stored.
	code, out, errs := runCLI(t, "--db", db, "tags", "load", tagFixture("tags.csv"), bad)
	if code != exitUsage || !strings.Contains(errs, "bad.yaml:14") || out != "" {
		t.Errorf("strict load: exit %d, want 2 with bad.yaml:14: %q %q", code, out, errs)
	}
	if _, err := os.Stat(db); err == nil {
		t.Errorf("a failed tag load created the store")
	}
	code, out, errs = runCLI(t, "--db", db, "tags", "load", "--skip-invalid", bad)
	if code != 0 || !strings.Contains(errs, "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLz") || !strings.Contains(out, "2 rejected (bad address 1, unknown category 1)") {
		t.Errorf("--skip-invalid: exit %d %q %q", code, out, errs)
	}
	code, out, errs = runCLI(t, "--db", db, "tags", "load", "--skip-invalid", "--json", tagFixture("pack.yaml"), tagFixture("tags.csv"))
	var lv []lists.PackSummary
	if code != 0 || json.Unmarshal([]byte(out), &lv) != nil || len(lv) != 2 || lv[0].Pack != "pack.yaml" || lv[1].Pack != "tags.csv" || lv[0].Tags == 0 {
		t.Fatalf("tags load: exit %d %s %s", code, out, errs)
	}
	if lv[0].Skipped["ETH"] == 0 {
		t.Errorf("pack.yaml: skipped currencies %v, want ETH counted", lv[0].Skipped)
	}
	code, out, _ = runCLI(t, "--db", db, "tags", "show", "--json", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")
	var tv []tagView
	if code != 0 || json.Unmarshal([]byte(out), &tv) != nil || len(tv) != 3 || tv[0].Pack != "bad.yaml" || tv[1].Pack != "pack.yaml" || tv[2].Pack != "tags.csv" || tv[0].Label == "" {
		t.Fatalf("tags show: exit %d %s", code, out)
	}
	// Reloading a pack replaces its tags rather than adding to them.
	code, out, _ = runCLI(t, "--db", db, "tags", "load", tagFixture("tags.csv"))
	if code != 0 || !strings.Contains(out, "replacing") {
		t.Errorf("reload: exit %d %s", code, out)
	}
	if code, out, _ = runCLI(t, "--db", db, "tags", "show", "--json", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"); code != 0 || json.Unmarshal([]byte(out), &tv) != nil || len(tv) != 3 {
		t.Errorf("after reload: exit %d %s", code, out)
	}
	if code, out, _ = runCLI(t, "--db", db, "tags", "show", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"); code != 0 || !strings.Contains(out, "no tags") {
		t.Errorf("untagged address: exit %d %s", code, out)
	}
	if code, _, _ = runCLI(t, "--db", db, "tags", "load", filepath.Join(t.TempDir(), "nope.yaml")); code != exitUsage {
		t.Errorf("missing file: exit %d", code)
	}
}

// TestSanctionsLoadProgressAndInterrupt is issue 17 #18: sanctions load
// shows progress while it reads the list, and Ctrl-C says the list in force
// is unchanged instead of "context canceled".
func TestSanctionsLoadProgressAndInterrupt(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	list := ofacFixture("sdn_advanced.xml")
	stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"tracer", "--db", db, "sanctions", "load", list}, &out, stderr); code != 0 {
		t.Fatalf("load: exit %d", code)
	}
	stderr.Close()
	progress, _ := os.ReadFile(stderr.Name())
	if !strings.Contains(string(progress), "sanctions: read ") || !strings.Contains(string(progress), "(100%)") || !strings.Contains(string(progress), "sanctions: storing") {
		t.Errorf("no progress on stderr: %q", progress)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var errb bytes.Buffer
	code := run(ctx, []string{"tracer", "--db", db, "sanctions", "load", list}, &out, &errb)
	if code != exitFailure || !strings.Contains(errb.String(), "interrupted; the current list is unchanged") || strings.Contains(errb.String(), "context canceled") {
		t.Errorf("interrupted load: exit %d, %q", code, errb.String())
	}
	if v := currentVersion(t, db); v != 1 {
		t.Errorf("version %d in force after the interrupted load, want 1", v)
	}
}

// TestSanctionsSafety loads OFAC's real legacy sdn.csv, then truncated
// copies of it cut at a line boundary (which parse): an empty one and one
// that lost most entries are refused by load and by update, the list in
// force stays; --force stores one anyway, and sanctions use brings the
// full list back.
func TestSanctionsSafety(t *testing.T) {
	full := testfiles.Shared(t, "ofac/sdn_2024-05-03.csv")
	data, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	dir := t.TempDir()
	cut := func(name string, n int) string {
		p := filepath.Join(dir, name, "sdn.csv")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.Join(lines[:n], "")), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty, half := cut("empty", 3), cut("half", len(lines)/2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(filepath.Join(dir, strings.TrimPrefix(r.URL.Path, "/")))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	defer srv.Close()
	db := filepath.Join(dir, "db")
	if code, _, errs := runCLI(t, "--db", db, "sanctions", "load", full); code != 0 {
		t.Fatalf("load the full list: exit %d %s", code, errs)
	}
	// The last XBT address of the file: not in the half kept by the cut.
	i := strings.LastIndex(string(data), "Digital Currency Address - XBT ")
	listed := strings.Fields(string(data)[i+len("Digital Currency Address - XBT "):])[0]
	listed = strings.TrimRight(listed, ";.")
	if vs := checkJSON(t, db, listed); !vs[0].Listed {
		t.Fatalf("%s not listed in the full list", listed)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"load empty", []string{"sanctions", "load", empty}, "has no entries"},
		{"load half", []string{"sanctions", "load", half}, "fewer than the"},
		{"update empty", []string{"sanctions", "update", "--url", srv.URL + "/empty/sdn.csv"}, "has no entries"},
		{"update half", []string{"sanctions", "update", "--url", srv.URL + "/half/sdn.csv"}, "fewer than the"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runCLI(t, append([]string{"--db", db}, tc.args...)...)
			if code != exitUsage || !strings.Contains(errs, tc.want) || !strings.Contains(errs, "--force") || !strings.Contains(errs, "unchanged") {
				t.Fatalf("exit %d, want 2 mentioning %q: %s", code, tc.want, errs)
			}
			if v := currentVersion(t, db); v != 1 {
				t.Fatalf("current version %d after a refused load, want 1", v)
			}
		})
	}
	if code, _, errs := runCLI(t, "--db", db, "sanctions", "load", half); !strings.Contains(errs, "the file may be truncated") || code != exitUsage {
		t.Errorf("no 0x1A warning: %s", errs)
	}
	code, _, errs := runCLI(t, "--db", db, "sanctions", "load", "--force", half)
	if code != 0 || !strings.Contains(errs, "stored anyway (--force)") || currentVersion(t, db) != 2 {
		t.Fatalf("--force: exit %d %s", code, errs)
	}
	if vs := checkJSON(t, db, listed); vs[0].Listed {
		t.Fatalf("%s listed in the truncated list", listed)
	}
	code, out, _ := runCLI(t, "--db", db, "sanctions", "use", "1")
	if code != 0 || !strings.Contains(out, "version 1 is current") || currentVersion(t, db) != 1 {
		t.Fatalf("use 1: exit %d %s", code, out)
	}
	code, out, _ = runCLI(t, "--db", db, "sanctions", "use", "--json", "2")
	var h store.ListVersion
	if code != 0 || json.Unmarshal([]byte(out), &h) != nil || !h.Current || h.Version != 2 {
		t.Fatalf("use --json 2: exit %d %s", code, out)
	}
	runCLI(t, "--db", db, "sanctions", "use", "1")
	if vs := checkJSON(t, db, listed); !vs[0].Listed {
		t.Errorf("%s not listed after going back to version 1", listed)
	}
	for _, args := range [][]string{{"sanctions", "use", "9"}, {"sanctions", "use", "x"}, {"sanctions", "use"}} {
		if code, _, errs := runCLI(t, append([]string{"--db", db}, args...)...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2: %s", args, code, errs)
		}
	}
}
