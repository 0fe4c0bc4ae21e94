package jobs_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/tracer/jobs"
)

var regtest = &chaincfg.RegressionNetParams

const goodAddr = "bcrt1qadvwn5wq58p39flkekpqfk6qdh5m775p4xlehf"

func parse(t *testing.T, src string) (*jobs.Plan, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "w.csv"), []byte("address\n"+goodAddr+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return jobs.Parse(context.Background(), []byte(src), "jobs.yaml", dir, regtest)
}

func TestParseExpands(t *testing.T) {
	plan, err := parse(t, `
version: 1
defaults:
  max_txs: 5000
  stop: [exchange, mixing_service]
traces:
  - name: one
    seeds: {addresses: `+goodAddr+`}
    model: fifo
    direction: backward
matrix:
  - name: m
    seeds:
      - {name: a, program: CYBER2}
      - {name: b, file: w.csv}
    models: [poison, proportional]
    max_hops: [5, 20, 50]
  - seeds:
      - {name: c, entity: lotus}
    min_value: 0
`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, j := range plan.Jobs {
		names = append(names, j.Name)
	}
	want := "one m-a-poison-h5 m-a-poison-h20 m-a-poison-h50 m-a-haircut-h5 m-a-haircut-h20 m-a-haircut-h50 " +
		"m-b-poison-h5 m-b-poison-h20 m-b-poison-h50 m-b-haircut-h5 m-b-haircut-h20 m-b-haircut-h50 c-haircut"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("names:\n got %s\nwant %s", got, want)
	}
	one := plan.Jobs[0]
	if one.Model != "fifo" || one.Direction != "backward" || one.MaxTxs != 5000 || one.MaxHops != 50 || one.MinValue != 546 ||
		len(one.Stop) != 2 || one.Seeds.Addresses[0] != goodAddr || one.Line != 7 {
		t.Errorf("trace one: %+v", one)
	}
	if j := plan.Jobs[5]; j.MaxHops != 20 || j.Model != "haircut" || j.Seeds.Program != "CYBER2" {
		t.Errorf("m-a-haircut-h20: %+v", j)
	}
	if j := plan.Jobs[7]; j.Seeds.File != "w.csv" || len(j.Seeds.FileSHA256) != 64 {
		t.Errorf("seed file: %+v", j.Seeds)
	}
	if j := plan.Jobs[13]; j.MinValue != 1 || j.MaxHops != 50 {
		t.Errorf("c-haircut: %+v", j)
	}
}

// TestParseErrors checks that a bad job file names the line, the job and
// the field.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		line      int
		job       string
		field     string
		sentinel  error
	}{
		{"missing seeds", "traces:\n  - name: x\n    model: fifo\n", 2, "x", "seeds", jobs.ErrMissingField},
		{"empty seeds", "traces:\n  - name: x\n    seeds: {}\n", 3, "x", "seeds", jobs.ErrMissingField},
		{"unknown model", "traces:\n  - name: x\n    seeds: {program: TCO}\n    model: heuristic\n", 4, "x", "model", jobs.ErrBadValue},
		{"unknown matrix model", "matrix:\n  name: m\n  seeds: [{name: a, program: TCO}]\n  models:\n    - fifo\n    - nope\n", 6, "m", "models", jobs.ErrBadValue},
		{"bad address", "traces:\n  - name: x\n    seeds:\n      addresses:\n        - " + goodAddr + "\n        - bc1qnotanaddress\n", 6, "x", "seeds.addresses[1]", jobs.ErrBadValue},
		{"mainnet address", "traces:\n  - name: x\n    seeds: {addresses: [1BoatSLRHtKNngkdXEeobR76b53LETtpyT]}\n", 3, "x", "seeds.addresses[0]", jobs.ErrBadValue},
		{"unknown field", "traces:\n  - name: x\n    seeds: {program: TCO}\n    max_hop: 5\n", 4, "x", "max_hop", jobs.ErrUnknownField},
		{"unknown seed field", "traces:\n  - name: x\n    seeds: {programme: TCO}\n", 3, "x", "seeds.programme", jobs.ErrUnknownField},
		{"missing name", "traces:\n  - seeds: {program: TCO}\n", 2, "", "traces[0].name", jobs.ErrMissingField},
		{"bad name", "traces:\n  - name: ../x\n    seeds: {program: TCO}\n", 2, "", "traces[0].name", jobs.ErrBadValue},
		{"duplicate name", "traces:\n  - name: x\n    seeds: {program: TCO}\n  - name: x\n    seeds: {program: TCO}\n", 4, "x", "name", jobs.ErrBadValue},
		{"matrix name clash", "traces:\n  - name: a-fifo\n    seeds: {program: TCO}\nmatrix:\n  seeds:\n    - {name: a, program: TCO}\n  models: [fifo]\n", 6, "a-fifo", "name", jobs.ErrBadValue},
		{"name differs in case only", "traces:\n  - name: x\n    seeds: {program: TCO}\n  - name: X\n    seeds: {program: TCO}\n", 4, "X", "name", jobs.ErrBadValue},
		{"reserved name", "traces:\n  - name: summary.csv\n    seeds: {program: TCO}\n", 2, "summary.csv", "name", jobs.ErrBadValue},
		{"negative hops", "traces:\n  - name: x\n    seeds: {program: TCO}\n    max_hops: -1\n", 4, "x", "max_hops", jobs.ErrBadValue},
		{"bad direction", "defaults:\n  direction: sideways\ntraces:\n  - name: x\n    seeds: {program: TCO}\n", 2, "defaults", "direction", jobs.ErrBadValue},
		{"missing seed file", "traces:\n  - name: x\n    seeds: {file: nope.csv}\n", 3, "x", "seeds.file", jobs.ErrBadValue},
		{"matrix seed set without name", "matrix:\n  seeds:\n    - {program: TCO}\n", 3, "matrix[0]", "seeds[0].name", jobs.ErrMissingField},
		{"no jobs", "defaults: {model: fifo}\n", 1, "", "", jobs.ErrMissingField},
		{"not yaml", "traces: [\n", 1, "", "", jobs.ErrMalformed},
		{"traces not a list", "traces: {name: x}\n", 1, "", "traces", jobs.ErrMalformed},
		{"bad version", "version: 2\ntraces: []\n", 1, "", "version", jobs.ErrBadValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.src)
			var pe *jobs.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T), want a ParseError", err, err)
			}
			if pe.Line != tc.line || pe.Job != tc.job || pe.Field != tc.field || !errors.Is(err, tc.sentinel) {
				t.Errorf("got line %d job %q field %q (%v)\nwant line %d job %q field %q (%v)", pe.Line, pe.Job, pe.Field, err, tc.line, tc.job, tc.field, tc.sentinel)
			}
			if !strings.HasPrefix(err.Error(), "jobs: jobs.yaml:") {
				t.Errorf("message %q does not start with the file and line", err)
			}
		})
	}
}

// FuzzParse: no input makes the parser panic, and every error is a ParseError.
func FuzzParse(f *testing.F) {
	f.Add([]byte("traces:\n  - name: x\n    seeds: {program: TCO}\n"))
	f.Add([]byte("matrix:\n  name: m\n  seeds: [{name: a, addresses: [" + goodAddr + "]}]\n  models: [fifo, lifo]\n  max_hops: [1, 2]\n"))
	f.Add([]byte("defaults: {stop: exchange, min_value: 0}\ntraces: [{name: a, seeds: {tag_category: scam}}]\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		plan, err := jobs.Parse(context.Background(), data, "fuzz.yaml", dir, regtest)
		if err != nil {
			var pe *jobs.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a ParseError", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, j := range plan.Jobs {
			if seen[j.Name] || j.Seeds.Empty() || j.MaxHops <= 0 || j.MaxTxs <= 0 {
				t.Fatalf("bad job %+v", j)
			}
			seen[j.Name] = true
		}
	})
}

func TestParseMatrixUnknownField(t *testing.T) {
	_, err := parse(t, "matrix:\n  name: m\n  seeds: [{name: a, program: TCO}]\n  model: [fifo]\n")
	var pe *jobs.ParseError
	if !errors.As(err, &pe) || pe.Line != 4 || pe.Job != "m" || pe.Field != "model" || !errors.Is(err, jobs.ErrUnknownField) {
		t.Fatalf("%v", err)
	}
}
