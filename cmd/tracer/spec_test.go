package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer"
)

// clusteredCase is a generated scam-centre chain ingested, its sanctions
// list and tag pack loaded and clustered, all through the command line.
type clusteredCase struct {
	db    string
	gen   string // the generated chain's directory (blocks/, sanctions/, tags/)
	truth *chaingen.Truth
}

func buildClusteredCase(t *testing.T) clusteredCase {
	t.Helper()
	gen := filepath.Dir(storetest.GenerateChain(t, chaingen.Config{Txs: 3000, Seed: 7}))
	truth, err := chaingen.ReadTruth(filepath.Join(gen, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "db")
	for _, args := range [][]string{
		{"ingest", "--blocks", filepath.Join(gen, "blocks")},
		{"sanctions", "load", filepath.Join(gen, "sanctions", "sdn_advanced.xml")},
		{"tags", "load", filepath.Join(gen, "tags", "exchanges.yaml")},
		{"cluster"},
	} {
		if code, _, errs := runCLI(t, append([]string{"--db", db}, args...)...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
	}
	return clusteredCase{db: db, gen: gen, truth: truth}
}

// startServe runs `tracer serve --read-only` (so that trace and jobs run can
// open the store beside it) on a free loopback port until the test ends.
func startServe(t *testing.T, db string) string {
	t.Helper()
	addr := "127.0.0.1:" + storetest.FreePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	var errb bytes.Buffer
	go func() {
		defer wg.Done()
		run(ctx, []string{"tracer", "--db", db, "serve", "--read-only", "--listen", addr}, io.Discard, &errb)
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	for i := 0; i < 200; i++ {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return "http://" + addr
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("serve did not start: %s", errb.String())
	return ""
}

func get(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func hitsJSON(t *testing.T, what string, b []byte) ([]byte, []tracer.Hit) {
	t.Helper()
	var res tracer.Result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("%s: %v: %.300s", what, err, b)
	}
	out, err := json.Marshal(res.Hits)
	if err != nil {
		t.Fatal(err)
	}
	return out, res.Hits
}

// TestOneSpecEverywhere runs one trace specification through `tracer
// trace`, a job file of `tracer jobs run` and GET /v1/trace of `tracer
// serve` on a clustered generated chain, and gets byte-identical hits: the
// same defaults, the same decoding, the same cluster labels.
func TestOneSpecEverywhere(t *testing.T) {
	cc := buildClusteredCase(t)
	base := startServe(t, cc.db)
	code, apiBody := get(t, base+"/v1/trace?"+cc.specQuery().Encode())
	if code != 200 {
		t.Fatalf("/v1/trace: %d %s", code, apiBody)
	}
	cliBody, jobBody := cc.specRuns(t)
	hits, viaCluster := sameSpecOutputs(t, cliBody, jobBody, apiBody)
	t.Logf("%d hits (%d via cluster), byte-identical from trace, jobs run and /v1/trace", hits, viaCluster)
}

// specSetting is a non-default setting of the specification the
// everywhere tests run, as each front end spells it.
type specSetting struct{ key, value string }

// specSettings are the specification's non-default settings; the rest
// are defaults. Its seed is the truth's first entity's program.
var specSettings = []specSetting{{"model", "fifo"}, {"max_hops", "30"}, {"min_value", "1000"}, {"max_txs", "50000"}, {"stop", "exchange"}}

// specQuery is the specification as a /v1/trace query.
func (cc clusteredCase) specQuery() url.Values {
	q := url.Values{"program": {cc.truth.Entities[0].Program}}
	for _, s := range specSettings {
		q.Set(s.key, s.value)
	}
	return q
}

// specRuns runs the specification through tracer trace (JSON, and CSV
// compared with the job's hits.csv) and a job file of tracer jobs run,
// and returns both JSON reports.
func (cc clusteredCase) specRuns(t *testing.T) (cliBody, jobBody []byte) {
	t.Helper()
	program := cc.truth.Entities[0].Program
	settings := specSettings
	dir := t.TempDir()

	// The CLI.
	args := []string{"--db", cc.db, "trace", "--program", program, "--format", "json", "--out", filepath.Join(dir, "cli.json")}
	for _, s := range settings {
		args = append(args, "--"+strings.ReplaceAll(s.key, "_", "-"), s.value)
	}
	if code, _, errs := runCLI(t, args...); code != 0 {
		t.Fatalf("trace: exit %d: %s", code, errs)
	}
	args[len(args)-len(settings)*2-3] = "csv" // --format csv
	args[len(args)-len(settings)*2-1] = filepath.Join(dir, "cli.csv")
	if code, _, errs := runCLI(t, args...); code != 0 {
		t.Fatalf("trace csv: exit %d: %s", code, errs)
	}

	// A job file.
	job := fmt.Sprintf("traces:\n  - name: one\n    seeds: {program: %s}\n", program)
	for _, s := range settings {
		job += fmt.Sprintf("    %s: %s\n", s.key, s.value)
	}
	jobFile := filepath.Join(dir, "jobs.yaml")
	if err := os.WriteFile(jobFile, []byte(job), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, "--db", cc.db, "jobs", "run", jobFile, "--out", filepath.Join(dir, "jobs")); code != 0 {
		t.Fatalf("jobs run: exit %d: %s", code, errs)
	}

	cliBody, err := os.ReadFile(filepath.Join(dir, "cli.json"))
	if err != nil {
		t.Fatal(err)
	}
	jobBody, err = os.ReadFile(filepath.Join(dir, "jobs", "one", "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	cliCSV, err1 := os.ReadFile(filepath.Join(dir, "cli.csv"))
	jobCSV, err2 := os.ReadFile(filepath.Join(dir, "jobs", "one", "hits.csv"))
	if err1 != nil || err2 != nil || !bytes.Equal(cliCSV, jobCSV) {
		t.Errorf("hits.csv of the job differs from trace --format csv (%v %v)", err1, err2)
	}
	return cliBody, jobBody
}

// sameSpecOutputs checks that the job's and the API's hits are
// byte-identical to the CLI's, and their parameters and data the same
// (but for timings); it returns the hits and those via a cluster.
func sameSpecOutputs(t *testing.T, cliBody, jobBody, apiBody []byte) (int, int) {
	t.Helper()
	cliHits, hits := hitsJSON(t, "trace", cliBody)
	jobHits, _ := hitsJSON(t, "job", jobBody)
	apiHits, _ := hitsJSON(t, "api", apiBody)
	if !bytes.Equal(cliHits, jobHits) {
		t.Errorf("the job's hits differ from the CLI's:\n cli %.400s\n job %.400s", cliHits, jobHits)
	}
	if !bytes.Equal(cliHits, apiHits) {
		t.Errorf("/v1/trace's hits differ from the CLI's:\n cli %.400s\n api %.400s", cliHits, apiHits)
	}
	viaCluster := 0
	for _, h := range hits {
		if h.Via == "cluster" {
			viaCluster++
		}
	}
	if len(hits) == 0 || viaCluster == 0 {
		t.Fatalf("%d hits, %d via cluster: the case does not exercise clusters", len(hits), viaCluster)
	}
	// The parameters each states are the same too.
	for what, b := range map[string][]byte{"job": jobBody, "api": apiBody} {
		var a, c tracer.Result
		if err := json.Unmarshal(cliBody, &c); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatal(err)
		}
		a.Params.Started, c.Params.Started = time.Time{}, time.Time{}
		a.Params.ElapsedSeconds, c.Params.ElapsedSeconds = 0, 0
		a.Params.StoreReadsPerTx, c.Params.StoreReadsPerTx = 0, 0
		if fmt.Sprint(a.Params) != fmt.Sprint(c.Params) || fmt.Sprint(a.Data) != fmt.Sprint(c.Data) {
			t.Errorf("%s: params %+v data %+v\n  cli: params %+v data %+v", what, a.Params, a.Data, c.Params, c.Data)
		}
	}
	return len(hits), viaCluster
}

// TestSpecValidationEverywhere: a specification the decoder refuses is
// refused the same way by every front end: exit 2 from trace and jobs run
// (naming the known categories, or saying since is after until), 400 from
// /v1/trace.
func TestSpecValidationEverywhere(t *testing.T) {
	cc := buildClusteredCase(t)
	seed := cc.truth.Seeds[0].Address
	base := startServe(t, cc.db)
	dir := t.TempDir()
	for _, tc := range []struct {
		name     string
		settings [][2]string
		want     string // in every message
	}{
		{"stop mixer", [][2]string{{"stop", "mixer"}}, "mixing_service"},
		{"stop nonsense", [][2]string{{"stop", "nonsense"}}, "mixing_service"},
		{"stop typo among good", [][2]string{{"stop", "exchange,darknet"}}, `"darknet"`},
		{"since after until", [][2]string{{"since", "450"}, {"until", "440"}}, "450 is after until 440"},
		{"since date after until date", [][2]string{{"since", "2030-01-02"}, {"until", "2030-01-01"}}, "2030-01-02 is after until 2030-01-01"},
		{"since date after until height", [][2]string{{"since", "2999-01-01"}, {"until", "10"}}, "is after until 10"},
		{"bad model", [][2]string{{"model", "heuristic"}}, `unknown model "heuristic"`},
		{"zero hops", [][2]string{{"max_hops", "0"}}, "positive"},
		{"bad since", [][2]string{{"since", "yesterday"}}, "height or a date"},
		{"bad cluster", [][2]string{{"cluster", "maybe"}}, "true or false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// trace
			args := []string{"--db", cc.db, "trace", seed}
			for _, s := range tc.settings {
				flag := "--" + strings.ReplaceAll(s[0], "_", "-")
				if s[0] == "cluster" {
					args = append(args, flag+"="+s[1])
				} else {
					args = append(args, flag, s[1])
				}
			}
			code, _, errs := runCLI(t, args...)
			if s := tc.settings[0]; s[0] == "cluster" {
				// A boolean flag: urfave/cli refuses the value itself.
				if code != 2 {
					t.Errorf("trace: exit %d, want 2: %s", code, errs)
				}
			} else if code != 2 || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") > 2 {
				t.Errorf("trace: exit %d, stderr %q; want exit 2 naming %q", code, errs, tc.want)
			}
			// jobs run
			job := fmt.Sprintf("traces:\n  - name: x\n    seeds: {addresses: [%s]}\n", seed)
			for _, s := range tc.settings {
				job += fmt.Sprintf("    %s: %s\n", s[0], s[1])
			}
			f := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			if err := os.WriteFile(f, []byte(job), 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, errs = runCLI(t, "--db", cc.db, "jobs", "run", f, "--out", filepath.Join(dir, "out-"+filepath.Base(f)))
			if code != 2 || !strings.Contains(errs, tc.want) {
				t.Errorf("jobs run: exit %d, stderr %q; want exit 2 naming %q", code, errs, tc.want)
			}
			// /v1/trace
			q := url.Values{"seed": {seed}}
			for _, s := range tc.settings {
				q.Set(s[0], s[1])
			}
			code, body := get(t, base+"/v1/trace?"+q.Encode())
			if code != 400 || !strings.Contains(string(body), strings.ReplaceAll(tc.want, `"`, `\"`)) {
				t.Errorf("/v1/trace: %d %s; want 400 naming %q", code, body, tc.want)
			}
		})
	}
	// An unknown query parameter is refused, not ignored.
	if code, body := get(t, base+"/v1/trace?seed="+seed+"&max_hop=3"); code != 400 || !strings.Contains(string(body), "max_hops") {
		t.Errorf("unknown parameter: %d %s", code, body)
	}
}
