package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/internal/scamstore"
	"github.com/tracer-oss/tracer/tracer/jobs"
	"github.com/tracer-oss/tracer/tracer/report"
	"github.com/tracer-oss/tracer/tracer/seedsel"
	"github.com/tracer-oss/tracer/tracer/taint"
)

func TestMain(m *testing.M) {
	code := m.Run()
	scamstore.Remove()
	os.Exit(code)
}

// studyFile is a job file over the scam-centre fixture: 4 seed sets × 5
// models, a backward trace, and a job whose seed never received anything.
func studyFile(t *testing.T) string {
	t.Helper()
	fx := scamstore.Get(t)
	var lotus []string
	for _, s := range fx.Truth.Seeds {
		if strings.HasPrefix(s.Entity, "GOLDEN") && len(s.Funding) > 0 {
			lotus = append(lotus, s.Address)
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "lotus.csv"), []byte("address,label\n"+strings.Join(lotus, ",lotus\n")+",lotus\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := `version: 1
defaults:
  max_txs: 20000
traces:
  - name: deposits-back
    seeds: {tag_category: exchange}
    direction: backward
    max_hops: 4
  - name: unfunded
    seeds: {addresses: [bcrt1pr3e7883q0fvg8pwyksr6uwpfwx5kat2sknqqtgcyu77x9a2kev5sqc0j6l]}
matrix:
  name: m
  seeds:
    - {name: cyber2, program: CYBER2}
    - {name: tco, program: TCO}
    - {name: lotus, entity: golden lotus}
    - {name: file, file: lotus.csv}
  models: [poison, haircut, fifo, lifo, tiho]
`
	path := filepath.Join(dir, "study.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func plan(t *testing.T, path string) *jobs.Plan {
	t.Helper()
	p, err := jobs.ParseFile(context.Background(), path, scamstore.Params)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var secondsRE = regexp.MustCompile(`(,|"seconds": )[0-9.]+(,|\n)`)

// tree reads every file under dir, with wall times (timing.json, the
// seconds column of the summary) left out.
func tree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == jobs.TimingFile {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch d.Name() {
		case jobs.SummaryCSVFile:
			var lines []string
			for _, l := range strings.Split(string(b), "\n") {
				f := strings.Split(l, ",")
				if len(f) > 10 {
					f[10] = "S"
				}
				lines = append(lines, strings.Join(f, ","))
			}
			b = []byte(strings.Join(lines, "\n"))
		case jobs.SummaryJSONFile:
			b = secondsRE.ReplaceAll(b, []byte("${1}S$2"))
		}
		out[rel] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, a, b map[string][]byte) {
	t.Helper()
	for k, v := range a {
		w, ok := b[k]
		if !ok {
			t.Errorf("%s missing", k)
		} else if !bytes.Equal(v, w) {
			t.Errorf("%s differs", k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			t.Errorf("%s extra", k)
		}
	}
}

func TestRunInterruptResume(t *testing.T) {
	st := scamstore.Open(t)
	p := plan(t, studyFile(t))
	if len(p.Jobs) != 22 {
		t.Fatalf("%d jobs", len(p.Jobs))
	}
	ctx := context.Background()
	full := t.TempDir()
	sum, err := jobs.Run(ctx, st, p, jobs.Config{Out: full, Workers: 2, Params: scamstore.Params})
	if !errors.Is(err, jobs.ErrFailed) {
		t.Fatalf("err %v, want ErrFailed (the unfunded job)", err)
	}
	for _, r := range sum.Rows {
		failed := r.Job == "unfunded"
		if failed != (r.Status == jobs.StatusFailed) || (failed && !strings.Contains(r.Error, "no seed received")) {
			t.Errorf("row %+v", r)
		}
		if !failed && (r.Seeds == 0 || r.TxsVisited == 0 || r.Traced == 0) {
			t.Errorf("empty row %+v", r)
		}
		if strings.HasPrefix(r.Job, "m-cyber2-") && r.Hits == 0 {
			t.Errorf("%s: no hits", r.Job)
		}
	}
	want := tree(t, full)

	t.Run("one worker", func(t *testing.T) {
		out := t.TempDir()
		if _, err := jobs.Run(ctx, st, p, jobs.Config{Out: out, Workers: 1, Params: scamstore.Params}); err != nil && !errors.Is(err, jobs.ErrFailed) { // the study has one failing job
			t.Fatal(err)
		}
		sameTree(t, want, tree(t, out))
	})

	t.Run("cancelled then resumed", func(t *testing.T) {
		out := t.TempDir()
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		_, err := jobs.Run(cctx, st, p, jobs.Config{Out: out, Workers: 2, Params: scamstore.Params, Progress: func(pr jobs.Progress) {
			if pr.Finished >= 5 {
				cancel()
			}
		}})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
		done, _ := filepath.Glob(filepath.Join(out, "*", jobs.DoneFile))
		if len(done) < 4 || len(done) >= len(p.Jobs)-1 {
			t.Fatalf("%d jobs finished before the cancel took effect; want some but not all", len(done))
		}
		t.Logf("cancelled with %d of %d jobs finished", len(done), len(p.Jobs))
		sum, err := jobs.Run(ctx, st, p, jobs.Config{Out: out, Workers: 2, Params: scamstore.Params})
		if !errors.Is(err, jobs.ErrFailed) || sum.Skipped != len(done) || sum.Ran != len(p.Jobs)-len(done) {
			t.Fatalf("resume: err %v, skipped %d ran %d, %d were done", err, sum.Skipped, sum.Ran, len(done))
		}
		sameTree(t, want, tree(t, out))
	})

	t.Run("damaged output recomputed", func(t *testing.T) {
		out := t.TempDir()
		if _, err := jobs.Run(ctx, st, p, jobs.Config{Out: out, Workers: 2, Params: scamstore.Params}); err != nil && !errors.Is(err, jobs.ErrFailed) { // the study has one failing job
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, "m-tco-lifo", jobs.HitsFile), []byte("edited\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(filepath.Join(out, "m-lotus-tiho", jobs.ReportFile), 100); err != nil {
			t.Fatal(err)
		}
		sum, _ := jobs.Run(ctx, st, p, jobs.Config{Out: out, Workers: 2, Params: scamstore.Params})
		if sum.Ran != 3 { // the two damaged jobs and the failed one
			t.Errorf("ran %d jobs, want 3", sum.Ran)
		}
		sameTree(t, want, tree(t, out))
	})

	t.Run("rerun changes nothing", func(t *testing.T) {
		sum, _ := jobs.Run(ctx, st, p, jobs.Config{Out: full, Workers: 2, Params: scamstore.Params})
		if sum.Ran != 1 { // only the failed job is retried
			t.Errorf("ran %d jobs again", sum.Ran)
		}
		sameTree(t, want, tree(t, full))
	})
}

// TestRunMatchesTrace: a job's report is what tracer.Forward gives for the
// same seeds, labels and options (less the clock readings).
func TestRunMatchesTrace(t *testing.T) {
	st := scamstore.Open(t)
	out := t.TempDir()
	p := plan(t, studyFile(t))
	if _, err := jobs.Run(context.Background(), st, p, jobs.Config{Out: out, Workers: 2, Params: scamstore.Params}); !errors.Is(err, jobs.ErrFailed) {
		t.Fatal(err)
	}
	sel := seedsel.New(st, scamstore.Params)
	seeds, _, err := sel.Seeds(context.Background(), seedsel.Selection{Program: "CYBER2"})
	if err != nil {
		t.Fatal(err)
	}
	lab, _ := sel.Labels(false)
	res, err := tracer.Forward(context.Background(), st, lab, seeds, tracer.Options{Model: taint.FIFO, MaxHops: 50, MinValue: 546, MaxTxs: 20000, WideOutputs: 1000, Params: scamstore.Params})
	if err != nil {
		t.Fatal(err)
	}
	var job jobs.Job
	b, _ := os.ReadFile(filepath.Join(out, "m-cyber2-fifo", jobs.JobFile))
	if err := json.Unmarshal(b, &job); err != nil {
		t.Fatal(err)
	}
	var got tracer.Result
	b, _ = os.ReadFile(filepath.Join(out, "m-cyber2-fifo", jobs.ReportFile))
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	res.Data = got.Data
	res.Params.Started, res.Params.ElapsedSeconds = got.Params.Started, 0
	var wantJSON bytes.Buffer
	if err := report.JSON(&wantJSON, res); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(wantJSON.Bytes(), b) {
		t.Fatalf("report.json differs from a direct trace (%d vs %d bytes)", len(b), wantJSON.Len())
	}
	if got.Totals.Hits == 0 || !got.Params.Started.IsZero() || got.Data.TipHash == "" || got.Data.SanctionsList == "" {
		t.Errorf("report: %d hits, started %v, data %+v", got.Totals.Hits, got.Params.Started, got.Data)
	}
}

func TestRunRefusesChanges(t *testing.T) {
	st := scamstore.Open(t)
	path := studyFile(t)
	p := plan(t, path)
	out := t.TempDir()
	ctx := context.Background()
	cfg := jobs.Config{Out: out, Params: scamstore.Params}
	if _, err := jobs.Run(ctx, st, p, cfg); err != nil && !errors.Is(err, jobs.ErrFailed) { // the study has one failing job
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(out, "m-tco-fifo", jobs.ReportFile))

	// A finished job given other parameters.
	src, _ := os.ReadFile(path)
	if err := os.WriteFile(path, bytes.Replace(src, []byte("max_txs: 20000"), []byte("max_txs: 30000"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	changed := plan(t, path)
	if _, err := jobs.Run(ctx, st, changed, cfg); !errors.Is(err, jobs.ErrJobChanged) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("changed job: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(out, "m-tco-fifo", jobs.ReportFile))
	if !bytes.Equal(before, after) {
		t.Fatal("a refused run changed a finished job's report")
	}

	// Other data: the manifest records another tip.
	mf := filepath.Join(out, jobs.ManifestFile)
	m, _ := os.ReadFile(mf)
	tip := regexp.MustCompile(`"tip_height": [0-9]+`)
	if err := os.WriteFile(mf, tip.ReplaceAll(m, []byte(`"tip_height": 7`)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.Run(ctx, st, p, cfg); !errors.Is(err, jobs.ErrDataChanged) || !strings.Contains(err.Error(), "store tip 7") {
		t.Fatalf("changed data: %v", err)
	}
	cfg.Force = true
	sum, err := jobs.Run(ctx, st, changed, cfg)
	if !errors.Is(err, jobs.ErrFailed) || sum.Ran != len(changed.Jobs) {
		t.Fatalf("--force: %v, ran %d", err, sum.Ran)
	}
	var j jobs.Job
	b, _ := os.ReadFile(filepath.Join(out, "m-tco-fifo", jobs.JobFile))
	if err := json.Unmarshal(b, &j); err != nil || j.MaxTxs != 30000 {
		t.Errorf("--force kept the old job: %+v", j)
	}
}
