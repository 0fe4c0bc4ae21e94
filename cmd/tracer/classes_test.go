package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Table tests over every command a class of defect of issue 17 applies to.

var (
	clusteredOnce sync.Once
	clusteredDB   string
	clusteredErr  string
)

// clusteredStore copies the jobs study store (a generated regtest chain
// with its sanctions list and tags) and clusters it, once per test binary,
// for commands that change the store or need clusters.
func clusteredStore(t *testing.T) string {
	t.Helper()
	db, _ := study(t)
	clusteredOnce.Do(func() {
		dst := filepath.Join(studyDir, "clustered")
		if out, err := exec.Command("cp", "-r", db, dst).CombinedOutput(); err != nil {
			clusteredErr = string(out)
			return
		}
		if code, _, errs := runCLI(t, "--db", dst, "cluster"); code != 0 {
			clusteredErr = errs
			return
		}
		clusteredDB = dst
	})
	if clusteredDB == "" {
		t.Fatal(clusteredErr)
	}
	return clusteredDB
}

// TestAddressArgumentClass is issue 17 #8 and #9 as a class: every command
// that takes an address gives exit 2 and the same wording for a string that
// is no address, for a mainnet address of each encoding on a regtest store,
// and for an empty argument; none says "not listed" or "no tags".
func TestAddressArgumentClass(t *testing.T) {
	db := clusteredStore(t)
	cases := []struct{ name, addr, want string }{
		{"invalid", "notvalid", `"notvalid" is not a Bitcoin address`},
		{"mainnet p2pkh", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "mainnet address; this store is regtest"},
		{"mainnet p2sh", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "mainnet address; this store is regtest"},
		{"mainnet bech32", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "mainnet address; this store is regtest"},
		{"mainnet bech32m", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "mainnet address; this store is regtest"},
		{"testnet bech32", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "testnet or signet address; this store is regtest"},
		{"empty", "", "empty address"},
	}
	commands := [][]string{
		{"trace"}, {"trace", "--direction", "backward"}, {"screen"}, {"screen", "--fresh"},
		{"sanctions", "check"}, {"tags", "show"}, {"watch", "add"}, {"address"}, {"entity"},
	}
	for _, cmd := range commands {
		for _, tc := range cases {
			t.Run(strings.Join(cmd, "_")+"/"+tc.name, func(t *testing.T) {
				args := append(append([]string{"--db", db}, cmd...), tc.addr)
				code, out, errs := runCLI(t, args...)
				if code != exitUsage || !strings.Contains(errs, tc.want) {
					t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, errs, tc.want)
				}
				if strings.Contains(out, "not listed") || strings.Contains(out, "no tags") || strings.Contains(out, "watching") {
					t.Errorf("answered for an invalid address: %q", out)
				}
			})
		}
	}
	// The watch list is unchanged by the refused adds.
	if _, out, _ := runCLI(t, "--db", db, "watch", "list"); !strings.Contains(out, "no watches") {
		t.Errorf("watch list after refused adds: %q", out)
	}
}

// TestMissingStoreClass is issue 17 #13 as a class: every command that
// needs data refuses a --db that does not exist (exit 2, "no store in") and
// does not create it.
func TestMissingStoreClass(t *testing.T) {
	const addr = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"
	tx := strings.Repeat("ab", 32)
	dir := t.TempDir()
	job := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(job, []byte("traces:\n  - name: a\n    seeds: {program: TCO}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(dir, "report.json")
	if err := os.WriteFile(report, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"status"}, {"verify"}, {"block", "1"}, {"tx", tx}, {"address", addr},
		{"cluster"}, {"entity", addr}, {"trace", addr}, {"trace", "--entity", "lotus"},
		{"screen", addr}, {"screen", "--rebuild-index"},
		{"sanctions", "check", addr}, {"sanctions", "list"}, {"sanctions", "versions"}, {"sanctions", "diff", "1", "2"},
		{"case", "list"}, {"case", "new", addr}, {"export", "clusters", "--out", filepath.Join(dir, "c.csv")},
		{"sanctions", "use", "1"}, {"tags", "show", addr}, {"tags", "list"}, {"tags", "remove", "pack.yaml"},
		{"watch", "add", addr}, {"watch", "add", "--sanctions"}, {"watch", "list"}, {"watch", "rm", addr},
		{"jobs", "run", job, "--out", filepath.Join(dir, "jobs-out")},
		{"export", "graph", "--out", filepath.Join(dir, "graph")},
		{"serve", "--listen", "127.0.0.1:0"},
	} {
		t.Run(strings.Join(args, "_"), func(t *testing.T) {
			db := filepath.Join(dir, "typo")
			code, _, errs := runCLI(t, append([]string{"--db", db}, args...)...)
			if code != exitUsage || !strings.Contains(errs, "no store in "+db) {
				t.Errorf("exit %d, stderr %q; want exit 2 and no store in %s", code, errs, db)
			}
			if _, err := os.Stat(db); err == nil {
				t.Errorf("created %s", db)
				os.RemoveAll(db)
			}
			for _, out := range []string{"jobs-out", "graph"} {
				if _, err := os.Stat(filepath.Join(dir, out)); err == nil {
					t.Errorf("created %s", out)
					os.RemoveAll(filepath.Join(dir, out))
				}
			}
		})
	}
}

// TestOutputFilesClass is issue 17 #12 and #14 as a class: every command
// that writes files refuses an output in a folder that does not exist with
// exit 2 before any work, and a command that fails leaves nothing behind
// (no empty folder, no partial file).
func TestOutputFilesClass(t *testing.T) {
	db, jobFile := study(t)
	seed := ""
	if _, out, _ := runCLI(t, "--db", db, "sanctions", "list", "--asset", "XBT", "--json"); strings.Contains(out, `"address"`) {
		i := strings.Index(out, `"address": "`) + len(`"address": "`)
		seed = out[i : i+strings.IndexByte(out[i:], '"')]
	}
	if seed == "" {
		t.Fatal("no listed address in the study store")
	}
	dir := t.TempDir()
	report := filepath.Join(dir, "report.json")
	if code, _, errs := runCLI(t, "--db", db, "trace", seed, "--format", "json", "--out", report); code != 0 {
		t.Fatalf("trace: %s", errs)
	}
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte(seed+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nonexistent")
	aFile := filepath.Join(dir, "a-file")
	if err := os.WriteFile(aFile, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		out  string // must not exist afterwards
		want string
	}{
		{"trace --out missing folder", []string{"--db", db, "trace", seed, "--out", filepath.Join(missing, "x")}, missing, "does not exist"},
		{"trace --out is a folder", []string{"--db", db, "trace", seed, "--out", dir}, "", "is a folder"},
		{"trace fails", []string{"--db", db, "trace", "--entity", "nobody-at-all", "--out", filepath.Join(dir, "t.html")}, filepath.Join(dir, "t.html"), ""},
		{"screen --out missing folder", []string{"--db", db, "screen", "--in", in, "--out", filepath.Join(missing, "x")}, missing, "does not exist"},
		{"screen missing input", []string{"--db", db, "screen", "--in", filepath.Join(dir, "none.csv"), "--out", filepath.Join(dir, "s.csv")}, filepath.Join(dir, "s.csv"), ""},
		{"export trace --out missing folder", []string{"export", "trace", report, "--out", filepath.Join(missing, "e.csv")}, missing, "does not exist"},
		{"export trace --hits missing folder", []string{"export", "trace", report, "--format", "csv", "--out", filepath.Join(dir, "e.csv"), "--hits", filepath.Join(missing, "h.csv")}, filepath.Join(dir, "e.csv"), "does not exist"},
		{"export trace bad input", []string{"export", "trace", in, "--format", "csv", "--out", filepath.Join(dir, "e2.csv")}, filepath.Join(dir, "e2.csv"), ""},
		{"export graph --out missing folder", []string{"--db", db, "export", "graph", "--out", filepath.Join(missing, "g")}, missing, "does not exist"},
		{"export graph bad range", []string{"--db", db, "export", "graph", "--from", "10", "--to", "5", "--out", filepath.Join(dir, "g2")}, filepath.Join(dir, "g2"), ""},
		{"export graph beyond the tip", []string{"--db", db, "export", "graph", "--from", "5", "--to", "99999", "--out", filepath.Join(dir, "g3")}, filepath.Join(dir, "g3"), ""},
		{"export graph --out is a file", []string{"--db", db, "export", "graph", "--out", aFile}, "", "is a file"},
		{"jobs run --out missing folder", []string{"--db", db, "jobs", "run", jobFile, "--out", filepath.Join(missing, "j")}, missing, "does not exist"},
		{"export clusters --out missing folder", []string{"--db", db, "export", "clusters", "--out", filepath.Join(missing, "c.csv")}, missing, "does not exist"},
		{"case export --out missing folder", []string{"--db", db, "case", "export", "1", "--out", filepath.Join(missing, "c.zip")}, missing, "does not exist"},
		{"gen --out missing folder", []string{"gen", "--out", filepath.Join(missing, "c"), "--txs", "10"}, missing, "does not exist"},
		{"gen bad --txs", []string{"gen", "--out", filepath.Join(dir, "c2"), "--txs", "99999999999999"}, filepath.Join(dir, "c2"), "between 0 and"},
		{"gen bad scenario", []string{"gen", "--out", filepath.Join(dir, "c3"), "--scenario", "nope"}, filepath.Join(dir, "c3"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runCLI(t, tc.args...)
			if code != exitUsage || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, errs, tc.want)
			}
			if tc.out != "" {
				if _, err := os.Stat(tc.out); err == nil {
					t.Errorf("left %s behind", tc.out)
				}
			}
			if m, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(m) > 0 {
				t.Errorf("left temporary files %v", m)
			}
		})
	}
}

// TestInputFilesClass is issue 17 #12 for the commands this branch owns
// (ingest is another's): every command that reads a file given on the
// command line answers a missing file, and a file that is not of its
// format, with exit 2 and the file's name.
func TestInputFilesClass(t *testing.T) {
	studyDB, _ := study(t)
	db := studyDB
	dir := t.TempDir()
	missing := filepath.Join(dir, "nonexistent")
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("hello world\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.csv")
	for _, tc := range []struct {
		name   string
		args   []string
		noText bool // the command takes any text (a list of addresses)
	}{
		{"sanctions load", []string{"sanctions", "load"}, false},
		{"tags load", []string{"tags", "load"}, false},
		{"screen --in", []string{"screen", "--in"}, true},
		{"trace --seeds", []string{"trace", "--seeds"}, false},
		{"jobs run", []string{"jobs", "run", "--out", filepath.Join(dir, "jobs")}, false},
		{"export trace", []string{"export", "trace", "--out", out}, false},
		{"serve --keys", []string{"serve", "--listen", "127.0.0.1:0", "--keys"}, true},
	} {
		for _, file := range []string{missing, text} {
			if file == text && tc.noText {
				continue
			}
			t.Run(tc.name+"/"+filepath.Base(file), func(t *testing.T) {
				db := db
				if tc.args[0] == "sanctions" || tc.args[0] == "tags" {
					db = filepath.Join(t.TempDir(), "db") // loads write: keep the study store as it is
				}
				code, _, errs := runCLI(t, append(append([]string{"--db", db}, tc.args...), file)...)
				if code != exitUsage || !strings.Contains(errs, filepath.Base(file)) {
					t.Errorf("exit %d, %q; want exit 2 naming %s", code, errs, filepath.Base(file))
				}
				if db != studyDB {
					if _, err := os.Stat(db); err == nil {
						t.Errorf("a failed load created the store %s", db)
					}
				}
				for _, p := range []string{out, filepath.Join(dir, "jobs")} {
					if _, err := os.Stat(p); err == nil {
						t.Errorf("left %s behind", p)
						os.RemoveAll(p)
					}
				}
			})
		}
	}
}

// TestInterruptedWritesLeaveNothing: a command that writes a folder and is
// stopped (Ctrl-C) removes what it created: gen's chain folder, export
// graph's table folder.
func TestInterruptedWritesLeaveNothing(t *testing.T) {
	db, _ := study(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, args := range [][]string{
		{"gen", "--out", filepath.Join(dir, "chain"), "--txs", "5000"},
		{"--db", db, "export", "graph", "--out", filepath.Join(dir, "graph")},
	} {
		var out, errb bytes.Buffer
		if code := run(ctx, append([]string{"tracer"}, args...), &out, &errb); code == exitOK {
			t.Errorf("%v interrupted: exit 0", args)
		}
	}
	if left, _ := os.ReadDir(dir); len(left) > 0 {
		t.Errorf("interrupted writes left %v", left)
	}
}

// TestAddressInFilesClass is issue 17 #8 for every input format that holds
// addresses: a mainnet address given to a regtest store is named the same
// way in a tag file, a seeds file, a job file and a batch screen.
func TestAddressInFilesClass(t *testing.T) {
	src, _ := study(t)
	db := filepath.Join(t.TempDir(), "db")
	if out, err := exec.Command("cp", "-r", src, db).CombinedOutput(); err != nil {
		t.Fatal(string(out))
	}
	dir := t.TempDir()
	const mainnet = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
	const want = `"` + mainnet + `": mainnet address; this store is regtest`
	files := map[string]string{
		"tags.csv":  "address,label,category,source\n" + mainnet + ",Some Exchange,exchange,https://example.org\n",
		"seeds.csv": "address,label\n" + mainnet + ",wallet\n",
		"job.yaml":  "traces:\n  - name: a\n    seeds: {addresses: [" + mainnet + "]}\n",
		"in.csv":    "address\n" + mainnet + "\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"tags", "load", filepath.Join(dir, "tags.csv")},
		{"trace", "--seeds", filepath.Join(dir, "seeds.csv")},
		{"jobs", "run", filepath.Join(dir, "job.yaml"), "--out", filepath.Join(dir, "jobs")},
		{"screen", "--in", filepath.Join(dir, "in.csv")},
	} {
		code, out, errs := runCLI(t, append([]string{"--db", db}, args...)...)
		if code != exitUsage || !strings.Contains(strings.ReplaceAll(errs+out, `""`, `"`), want) {
			t.Errorf("%v: exit %d, %q %q; want exit 2 and %q", args[:2], code, errs, out, want)
		}
	}
}
