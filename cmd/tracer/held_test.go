package main

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/storetest"
)

// noStoreCommands open no store: they need no held-store hint.
// restore makes a new store and never opens an existing one: a held store's
// directory is not empty, which restore refuses on its own.
var noStoreCommands = []string{"demo", "gen", "audit show", "audit verify", "audit export", "export trace", "restore"}

// leafCommands returns the full names of every command that runs (not a
// group), from the app's command tree.
func leafCommands() []string {
	var out []string
	var walk func(prefix string, cs []*cli.Command)
	walk = func(prefix string, cs []*cli.Command) {
		for _, c := range cs {
			if c.Name == "help" {
				continue
			}
			if len(c.Subcommands) > 0 {
				walk(prefix+c.Name+" ", c.Subcommands)
				continue
			}
			out = append(out, prefix+c.Name)
		}
	}
	walk("", newApp(io.Discard, io.Discard).Commands)
	return out
}

// TestHeldHintsCoverCommands: every command is either known to open no
// store or has a held-store hint, and every hint names a command, so a new
// command cannot forget to say what to do when serve holds the store.
func TestHeldHintsCoverCommands(t *testing.T) {
	leaves := leafCommands()
	if len(leaves) < 30 {
		t.Fatalf("only %d commands found: the walk is broken", len(leaves))
	}
	for _, name := range leaves {
		_, hinted := heldHints[name]
		if none := slices.Contains(noStoreCommands, name); hinted == none {
			t.Errorf("%q: hinted %v, in noStoreCommands %v: want exactly one", name, hinted, none)
		}
	}
	for name := range heldHints {
		if !slices.Contains(leaves, name) {
			t.Errorf("heldHints has %q, which is no command", name)
		}
	}
}

// startHolder runs tracer serve on db in a child process (the test binary,
// through storetest.StartChild) and waits for its holder file; it is
// stopped with SIGTERM when the test ends.
func startHolder(t *testing.T, db string) (*exec.Cmd, store.Holder) {
	t.Helper()
	cmd, _ := storetest.StartChild(t, childEnv, []string{"--db", db, "serve", "--listen", "127.0.0.1:0"})
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // it may have exited already
		select {
		case <-exited: //nolint:errcheck // stopped by the signal: its exit status says nothing
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited //nolint:errcheck // killed: its exit status says nothing
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if b, err := os.ReadFile(filepath.Join(db, store.HolderFile)); err == nil {
			var h store.Holder
			if err := json.Unmarshal(b, &h); err != nil {
				t.Fatalf("holder file: %v: %s", err, b)
			}
			return cmd, h
		}
		select {
		case err := <-exited:
			t.Fatalf("serve exited before it held the store: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("serve wrote no holder file in 2 minutes")
		}
	}
}

// TestHeldByServe is issue 13's "store held by serve" over every command
// that opens a store: with tracer serve running on the store (a real one,
// in a child process), each says in one line that the store is held by
// tracer serve, with serve's pid and URL, and what to do instead (the
// admin route of a change, the API route of a question); none changes the
// store. When serve stops, its holder file is gone and the commands work
// again.
func TestHeldByServe(t *testing.T) {
	src := clusteredStore(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	if out, err := exec.Command("cp", "-r", src, db).CombinedOutput(); err != nil {
		t.Fatalf("copy the store: %v: %s", err, out)
	}
	versions := func() string {
		_, out, errs := runCLI(t, "--db", db, "sanctions", "versions", "--json")
		_, tags, _ := runCLI(t, "--db", db, "tags", "list", "--json")
		_, watches, _ := runCLI(t, "--db", db, "watch", "list", "--json")
		return out + errs + tags + watches
	}
	before := versions()
	const addr = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"
	tx := strings.Repeat("ab", 32)
	job := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(job, []byte("traces:\n  - name: a\n    seeds: {program: TCO}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "bundle.zip")
	f, err := os.Create(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if err := zip.NewWriter(f).Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	blocks := filepath.Join(dir, "blocks")
	if err := os.Mkdir(blocks, 0o755); err != nil {
		t.Fatal(err)
	}

	cmd, h := startHolder(t, db)
	if h.PID != cmd.Process.Pid || h.Command != "tracer serve" || !strings.HasPrefix(h.URL, "http://127.0.0.1:") {
		t.Fatalf("holder %+v, want tracer serve, pid %d, its URL", h, cmd.Process.Pid)
	}
	held := fmt.Sprintf("tracer: store %s is held by tracer serve (pid %d, %s): ", db, h.PID, h.URL)
	const adminNote = " (it serves admin routes only with --rpc and --admin-keys), or stop it first"
	covered := map[string]bool{}
	for _, tc := range []struct {
		args []string
		want string // what follows "held by ...: "
	}{
		// Changes with an admin route.
		{[]string{"sanctions", "load", ofacFixture("sdn_advanced.xml")}, "post the list to /v1/admin/sanctions instead" + adminNote},
		{[]string{"sanctions", "update", "--url", "http://127.0.0.1:1/sdn.xml"}, "download the list and post it to /v1/admin/sanctions instead" + adminNote},
		{[]string{"tags", "load", tagFixture("tags.csv")}, "post each pack to /v1/admin/tags?name=PACK instead" + adminNote},
		{[]string{"watch", "add", addr}, `post {"address": ADDR} to /v1/admin/watches instead` + adminNote},
		{[]string{"watch", "rm", addr}, "send DELETE /v1/admin/watches/ADDR instead" + adminNote},
		{[]string{"backup", "--out", filepath.Join(dir, "b.bak")}, "fetch GET /v1/admin/backup instead" + adminNote},
		// Changes without one.
		{[]string{"sanctions", "use", "1"}, "stop it to make another list version current"},
		{[]string{"tags", "remove", "exchanges.yaml"}, "stop it to remove a tag pack"},
		{[]string{"ingest", "--blocks", blocks}, "stop it to ingest (serve --rpc follows a node itself)"},
		{[]string{"follow", "--rpc", "http://127.0.0.1:1"}, "stop it to follow a node here, or run tracer serve --rpc, which follows it and serves the API"},
		{[]string{"cluster"}, "stop it to cluster"},
		{[]string{"serve", "--listen", "127.0.0.1:0"}, "stop it to serve the store again"},
		{[]string{"verify"}, "stop it to verify the store"},
		{[]string{"case", "verify", bundle}, "stop it to run a bundle's trace again on the store"},
		{[]string{"case", "new", addr}, "create the case through its API instead: POST /v1/cases"},
		// Questions.
		{[]string{"screen", addr}, "ask its API instead: GET /v1/address/ADDR, or POST /v1/screen for a batch"},
		{[]string{"screen", "--rebuild-index"}, "ask its API instead: GET /v1/address/ADDR, or POST /v1/screen for a batch"},
		{[]string{"sanctions", "check", addr}, "ask its API instead: GET /v1/address/ADDR says whether an address is listed"},
		{[]string{"trace", addr}, "ask its API instead: GET /v1/trace?seed=ADDR (the same trace specification)"},
		{[]string{"status"}, "ask its API instead: GET /v1/status"},
		{[]string{"address", addr}, "ask its API instead: GET /v1/address/ADDR screens an address"},
		{[]string{"case", "list"}, "ask its API instead: GET /v1/cases"},
		{[]string{"case", "show", "1"}, "ask its API instead: GET /v1/cases/ID"},
		{[]string{"case", "export", "1", "--out", filepath.Join(dir, "c.zip")}, "ask its API instead: GET /v1/cases/ID/bundle"},
		{[]string{"jobs", "run", job, "--out", filepath.Join(dir, "jobs-out")}, "stop it to run a batch of traces (its API runs one at a time: GET /v1/trace)"},
		{[]string{"block", "1"}, "stop it to look up blocks"},
		{[]string{"tx", tx}, "stop it to look up transactions"},
		{[]string{"entity", addr}, "stop it to look up entities"},
		{[]string{"sanctions", "list"}, "stop it to list the entries (GET /v1/status names the list in force)"},
		{[]string{"sanctions", "diff"}, "stop it to diff list versions"},
		{[]string{"sanctions", "versions"}, "stop it to list the versions (GET /v1/status names the one in force)"},
		{[]string{"tags", "show", addr}, "stop it to show tags"},
		{[]string{"tags", "list"}, "stop it to list tags"},
		{[]string{"watch", "list"}, "stop it to list the watches"},
		{[]string{"export", "graph", "--out", filepath.Join(dir, "graph")}, "stop it to export the graph"},
		{[]string{"export", "clusters", "--out", filepath.Join(dir, "clusters.csv")}, "stop it to export the clusters"},
	} {
		line := strings.Join(tc.args, " ") + " "
		for _, name := range leafCommands() {
			if strings.HasPrefix(line, name+" ") {
				covered[name] = true
			}
		}
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			code, out, errs := runCLI(t, append([]string{"--db", db}, tc.args...)...)
			if want := held + tc.want + "\n"; code != exitFailure || errs != want {
				t.Errorf("exit %d, stderr\n%q\nwant exit 1 and\n%q", code, errs, want)
			}
			if out != "" {
				t.Errorf("stdout %q", out)
			}
		})
	}
	// Every command of the tree that opens a store was run above.
	for _, name := range leafCommands() {
		if !covered[name] && !slices.Contains(noStoreCommands, name) {
			t.Errorf("%q opens a store but TestHeldByServe does not run it", name)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(db, store.HolderFile)); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("serve stopped but its holder file is still there")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for time.Now().Before(deadline) && store.Held(db) != nil {
		time.Sleep(100 * time.Millisecond)
	}
	var after string
	for time.Now().Before(deadline) {
		if code, _, _ := runCLI(t, "--db", db, "status"); code == 0 {
			after = versions()
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if after != before {
		t.Errorf("the store changed while held:\nbefore %s\nafter %s", before, after)
	}
}

// TestHeldErrorAdmin: a serve that serves the admin routes is pointed at
// without the note on how to start it so.
func TestHeldErrorAdmin(t *testing.T) {
	he := &store.HeldError{Dir: "/x", Holder: store.Holder{PID: 123, Command: "tracer serve", URL: "http://127.0.0.1:8080", Admin: true}}
	for _, tc := range []struct{ cmd, want string }{
		{"sanctions load", "store /x is held by tracer serve (pid 123, http://127.0.0.1:8080): post the list to /v1/admin/sanctions instead"},
		{"cluster", "store /x is held by tracer serve (pid 123, http://127.0.0.1:8080): stop it to cluster"},
		{"no such command", "store /x is held by tracer serve (pid 123, http://127.0.0.1:8080): stop it first"},
	} {
		if got := (heldError{held: he, hint: heldHints[tc.cmd]}).Error(); got != tc.want {
			t.Errorf("%s:\n%q\nwant\n%q", tc.cmd, got, tc.want)
		}
	}
}
