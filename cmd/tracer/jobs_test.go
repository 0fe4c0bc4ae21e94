package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/export"
)

// childEnv makes the test binary run one tracer command line (a JSON list
// of arguments) instead of the tests: the kill test's child process.
const childEnv = "TRACER_CLI_CHILD"

func TestMain(m *testing.M) {
	if v := os.Getenv(childEnv); v != "" {
		var args []string
		if err := json.Unmarshal([]byte(v), &args); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, append([]string{"tracer"}, args...), os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	code := m.Run()
	if studyDir != "" {
		os.RemoveAll(studyDir)
	}
	os.Exit(code)
}

var (
	studyOnce sync.Once
	studyDir  string
	studyErr  error
)

// study builds, through the command line, a store of a generated
// scam-centre chain with its sanctions list and tag pack, and writes a job
// file of 52 traces over it: 10 seed sets × 5 models, a backward trace and
// a trace of a seed that never received anything (a failing job).
func study(t *testing.T) (db, jobFile string) {
	t.Helper()
	studyOnce.Do(func() {
		if studyDir, studyErr = os.MkdirTemp("", "tracer-jobs-cli-"); studyErr != nil {
			return
		}
		chain, db := filepath.Join(studyDir, "chain"), filepath.Join(studyDir, "db")
		for _, args := range [][]string{
			{"gen", "--out", chain, "--txs", "6000", "--seed", "42", "--scenario", "scam-centre,exchange"},
			{"--db", db, "ingest", "--blocks", filepath.Join(chain, "blocks")},
			{"--db", db, "sanctions", "load", filepath.Join(chain, "sanctions", "sdn_advanced.xml")},
			{"--db", db, "tags", "load", filepath.Join(chain, "tags", "exchanges.yaml")},
		} {
			var out, errb bytes.Buffer
			if code := run(context.Background(), append([]string{"tracer"}, args...), &out, &errb); code != 0 {
				studyErr = fmt.Errorf("%v: exit %d: %s", args, code, errb.String())
				return
			}
		}
		truth, err := chaingen.ReadTruth(filepath.Join(chain, "truth.json"))
		if err != nil {
			studyErr = err
			return
		}
		var sets []string
		var funded, unfunded []string
		for _, s := range truth.Seeds {
			if len(s.Funding) > 0 {
				funded = append(funded, s.Address)
			} else {
				unfunded = append(unfunded, s.Address)
			}
		}
		if len(funded) < 4 || len(unfunded) == 0 {
			studyErr = fmt.Errorf("truth seeds: %d funded, %d not", len(funded), len(unfunded))
			return
		}
		for i, a := range funded[:4] {
			sets = append(sets, fmt.Sprintf("    - {name: wallet%d, addresses: [%s]}", i+1, a))
		}
		if err := os.WriteFile(filepath.Join(studyDir, "pair.csv"), []byte("address,label\n"+funded[0]+",a\n"+funded[3]+",b\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		sets = append(sets,
			"    - {name: cyber2, program: CYBER2}",
			"    - {name: tco, program: TCO}",
			"    - {name: lotus, entity: golden lotus}",
			"    - {name: teodor, entity: teodor}",
			"    - {name: pair, file: pair.csv}",
			"    - {name: exchanges, tag_pack: exchanges.yaml}",
		)
		src := fmt.Sprintf(`version: 1
defaults:
  max_txs: 20000
traces:
  - name: deposit-sources
    seeds: {tag_category: exchange}
    direction: backward
    max_hops: 6
  - name: unfunded
    seeds: {addresses: [%s]}
matrix:
  seeds:
%s
  models: [poison, haircut, fifo, lifo, tiho]
`, unfunded[0], strings.Join(sets, "\n"))
		studyErr = os.WriteFile(filepath.Join(studyDir, "study.yaml"), []byte(src), 0o644)
	})
	if studyErr != nil {
		t.Fatal(studyErr)
	}
	return filepath.Join(studyDir, "db"), filepath.Join(studyDir, "study.yaml")
}

// outputs reads every file of a jobs output folder, wall times left out
// (timing.json, the seconds column of the summaries).
func outputs(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	secs := regexp.MustCompile(`"seconds": [0-9.]+`)
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "timing.json" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		switch d.Name() {
		case "summary.csv":
			lines := strings.Split(string(b), "\n")
			for i, l := range lines {
				if f := strings.Split(l, ","); len(f) > 10 {
					f[10] = "S"
					lines[i] = strings.Join(f, ",")
				}
			}
			b = []byte(strings.Join(lines, "\n"))
		case "summary.json":
			b = secs.ReplaceAll(b, []byte(`"seconds": S`))
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func countDone(dir string) int {
	m, _ := filepath.Glob(filepath.Join(dir, "*", "done"))
	return len(m)
}

// stopChild runs the job file in a child process and sends it sig once
// at least 8 jobs are done; it returns the child's stderr.
func stopChild(t *testing.T, db, jobFile, out string, sig syscall.Signal) string {
	t.Helper()
	args, _ := json.Marshal([]string{"--db", db, "jobs", "run", jobFile, "--out", out, "--workers", "2"})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(args))
	var childErr bytes.Buffer
	cmd.Stderr = &childErr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(2 * time.Minute)
poll:
	for {
		select {
		case err := <-exited:
			t.Fatalf("the child finished (%v) before it was stopped; %d jobs done:\n%s", err, countDone(out), childErr.String())
		case <-deadline:
			cmd.Process.Kill()
			t.Fatal("no job finished in 2 minutes")
		case <-time.After(5 * time.Millisecond):
			if countDone(out) >= 8 {
				break poll
			}
		}
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	err := <-exited
	var exit *exec.ExitError
	switch {
	case sig == syscall.SIGKILL && (!errors.As(err, &exit) || exit.ExitCode() != -1):
		t.Fatalf("SIGKILL: child exited with %v", err)
	case sig == syscall.SIGINT && (!errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(childErr.String(), "the same command resumes")):
		t.Fatalf("SIGINT: child exited with %v:\n%s", err, childErr.String())
	}
	return childErr.String()
}

// TestJobsKillResume runs a 52-trace job file in a child process, stops it
// with SIGKILL (a crash) or SIGINT (Ctrl-C) after some jobs finished,
// resumes with the same command, and compares the outputs byte for byte
// with an uninterrupted run.
func TestJobsKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	db, jobFile := study(t)
	full := filepath.Join(t.TempDir(), "full")
	code, _, errs := runCLI(t, "--db", db, "jobs", "run", jobFile, "--out", full)
	if code != 1 || !strings.Contains(errs, "52 jobs: 52 computed") {
		t.Fatalf("uninterrupted run: exit %d, stderr:\n%s", code, errs)
	}
	want := outputs(t, full)
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			killed := filepath.Join(t.TempDir(), "stopped")
			childErr := stopChild(t, db, jobFile, killed, sig)
			done := countDone(killed)
			started, _ := filepath.Glob(filepath.Join(killed, "*", "job.json"))
			t.Logf("stopped with %d of 52 jobs done, %d started", done, len(started))
			if done >= 52 {
				t.Fatalf("all jobs were done at the kill")
			}
			_, err := os.Stat(filepath.Join(killed, "summary.csv"))
			if (err == nil) != (sig == syscall.SIGINT) {
				t.Fatalf("summary after %v: %v", sig, err)
			}
			if sig == syscall.SIGINT {
				sum, _ := os.ReadFile(filepath.Join(killed, "summary.csv"))
				if !strings.Contains(string(sum), ",interrupted,") || !strings.Contains(childErr, fmt.Sprintf("interrupted with %d of 52", done+1)) && !strings.Contains(childErr, fmt.Sprintf("interrupted with %d of 52", done)) {
					t.Errorf("interrupted summary:\n%s\nstderr:\n%s", sum, childErr)
				}
			}
			resume(t, db, jobFile, killed, done, want)
		})
	}
	exportChecks(t, db, full)
}

func resume(t *testing.T, db, jobFile, killed string, done int, want map[string][]byte) {
	t.Helper()
	code, _, errs := runCLI(t, "--db", db, "jobs", "run", jobFile, "--out", killed, "--workers", "2")
	if code != 1 || !strings.Contains(errs, fmt.Sprintf("%d finished earlier, 1 failed", done)) || !strings.Contains(errs, "unfunded: tracer: no seed received") {
		t.Fatalf("resume: exit %d, stderr:\n%s", code, errs)
	}
	a := outputs(t, killed)
	if len(a) != len(want) || len(a) < 52*4 {
		t.Errorf("%d files after resume, %d in the uninterrupted run", len(a), len(want))
	}
	for k, v := range want {
		if !bytes.Equal(a[k], v) {
			t.Errorf("%s differs between the resumed and the uninterrupted run", k)
		}
	}
}

func exportChecks(t *testing.T, db, full string) {
	// The summary: one row per job, the failure named.
	sum, _ := os.ReadFile(filepath.Join(full, "summary.csv"))
	lines := strings.Split(strings.TrimSpace(string(sum)), "\n")
	if len(lines) != 53 || !strings.HasPrefix(lines[2], "unfunded,failed,0,") || !strings.HasPrefix(lines[3], "wallet1-poison,ok,1,forward,poison,") {
		t.Errorf("summary.csv:\n%s", sum)
	}

	t.Run("export", func(t *testing.T) {
		edges, hits := filepath.Join(t.TempDir(), "edges.parquet"), filepath.Join(t.TempDir(), "hits.parquet")
		code, _, errs := runCLI(t, "export", "trace", full, "--out", edges, "--hits", hits)
		if code != 0 {
			t.Fatalf("export trace: exit %d: %s", code, errs)
		}
		var wantEdges, wantHits int
		var wantTainted int64
		for _, j := range []string{"cyber2-fifo", "deposit-sources", "wallet2-tiho"} {
			var r tracer.Result
			b, _ := os.ReadFile(filepath.Join(full, j, "report.json"))
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			wantEdges += len(r.Edges)
			wantHits += len(r.Hits)
			for _, e := range r.Edges {
				wantTainted += e.Tainted
			}
		}
		f, _ := os.Open(edges)
		defer f.Close()
		er := parquet.NewGenericReader[export.Edge](f)
		rows := make([]export.Edge, er.NumRows())
		n, err := er.Read(rows)
		if err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
		var gotEdges int
		var gotTainted int64
		jobsSeen := map[string]bool{}
		for _, e := range rows[:n] {
			jobsSeen[e.Job] = true
			if e.Job == "cyber2-fifo" || e.Job == "deposit-sources" || e.Job == "wallet2-tiho" {
				gotEdges++
				gotTainted += e.Tainted
			}
		}
		if gotEdges != wantEdges || gotTainted != wantTainted || len(jobsSeen) != 51 || wantEdges == 0 {
			t.Errorf("edges of three jobs: %d rows Σtainted %d, want %d Σ%d; %d jobs in the file (want the 51 finished)", gotEdges, gotTainted, wantEdges, wantTainted, len(jobsSeen))
		}
		code, _, errs = runCLI(t, "export", "trace", filepath.Join(full, "cyber2-fifo"), "--out", edges, "--format", "csv")
		if code != 0 {
			t.Fatalf("export trace --format csv: exit %d: %s", code, errs)
		}
		code, _, errs = runCLI(t, "--db", db, "export", "graph", "--from", "400", "--to", "410", "--out", t.TempDir())
		if code != 0 || !strings.Contains(errs, "blocks 400–410") {
			t.Fatalf("export graph: exit %d: %s", code, errs)
		}
		if code, _, _ := runCLI(t, "--db", db, "export", "graph", "--from", "410", "--to", "400", "--out", t.TempDir()); code != 2 {
			t.Errorf("export graph of an empty range: exit %d, want 2", code)
		}
	})
}

// TestJobsInvalidFile: a bad job file exits 2 before any job runs, naming
// the line, job and field.
func TestJobsInvalidFile(t *testing.T) {
	db, _ := study(t)
	dir := t.TempDir()
	for _, tc := range []struct{ name, src, want string }{
		{"missing seeds", "traces:\n  - name: a\n    model: fifo\n", `bad.yaml:2: job "a": seeds: missing field`},
		{"unknown model", "traces:\n  - name: a\n    seeds: {program: TCO}\n    model: fifu\n", `bad.yaml:4: job "a": model: invalid value: unknown model "fifu"`},
		{"bad address", "matrix:\n  name: m\n  seeds:\n    - name: s\n      addresses:\n        - 1BoatSLRHtKNngkdXEeobR76b53LETtpyT\n", `bad.yaml:6: job "m": seeds[0].addresses[0]: invalid value: "1BoatSLRHtKNngkdXEeobR76b53LETtpyT": mainnet address; this store is regtest`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "bad.yaml")
			if err := os.WriteFile(path, []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out-"+strings.ReplaceAll(tc.name, " ", "-"))
			code, _, errs := runCLI(t, "--db", db, "jobs", "run", path, "--out", out)
			if code != 2 || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
				t.Errorf("exit %d, stderr %q\nwant exit 2 and %q", code, errs, tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a bad job file created the output folder")
			}
		})
	}
}
