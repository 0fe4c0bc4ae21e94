//go:build scale

package main

// The scale harness (`make scale N=1000000 [SHAPE=mainnet]`): runs the
// tracer binary through every stage of the main job on a generated chain of
// N transactions, each stage in its own process, and prints per stage its
// rate, wall and CPU time, peak anonymous and total RSS, and the disk it
// added per transaction. The chain is generated once and cached: the
// standard shape in the benchmarks' cache ($TMPDIR/tracer-bench-chain-N-w1u,
// storetest.BenchChain), the mainnet shape (gen --shape mainnet --unsigned)
// in $TMPDIR/tracer-bench-chain-mainnet-N-m1; the store is rebuilt every
// run.

import (
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/store/storetest"
)

var (
	scaleN     = flag.Int("scale.n", 100_000, "transactions in the generated chain")
	scaleShape = flag.String("scale.shape", "standard", "chain `SHAPE`: standard (the benchmarks' chain) or mainnet (both unsigned)")
	scaleBin   = flag.String("scale.bin", "", "the tracer binary to measure (make scale builds bin/tracer)")
	scaleCache = flag.String("scale.cache", "", "chain cache `DIR` (default $TMPDIR/tracer-bench-chain-N, shared with the benchmarks)")
	scaleWork  = flag.String("scale.work", "", "store and outputs `DIR`, emptied first (default $TMPDIR/tracer-scale-N)")
	scaleKeep  = flag.Bool("scale.keep", false, "keep the work dir")
	scaleSkip  = flag.String("scale.skip", "", "comma-separated stage `NAMES` not to run (e.g. \"export graph\"), for a run that must fit a time window")
	scaleGen   = flag.Bool("scale.genonly", false, "stop after generating (and caching) the chain: print its row and the gen summary")
)

// measured is one stage's figures.
type measured struct {
	name       string
	items      int64
	unit       string
	wall       time.Duration
	cpu        time.Duration
	anon, peak int64 // bytes
	disk       int64 // bytes the stage added
	note       string
}

func TestScale(t *testing.T) {
	n := *scaleN
	bin := *scaleBin
	if bin == "" {
		t.Fatal("-scale.bin: the tracer binary to measure is required (run make scale)")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatal(err)
	}
	genArgs := []string{"gen", "--txs", fmt.Sprint(n), "--seed", "1"}
	chain := *scaleCache
	switch *scaleShape {
	case "standard":
		if chain == "" {
			chain = storetest.BenchChainDir(n)
		}
		genArgs = append(genArgs, "--unsigned") // as storetest.BenchChain
	case "mainnet":
		// m1 names the mainnet shape's version, as w1u the standard one's.
		if chain == "" {
			chain = filepath.Join(os.TempDir(), fmt.Sprintf("tracer-bench-chain-mainnet-%d-m1", n))
		}
		genArgs = append(genArgs, "--shape", "mainnet", "--unsigned")
	default:
		t.Fatalf("-scale.shape %q: want standard or mainnet", *scaleShape)
	}
	work := *scaleWork
	if work == "" {
		work = filepath.Join(os.TempDir(), fmt.Sprintf("tracer-scale-%d", n))
	}
	if err := os.RemoveAll(work); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	if !*scaleKeep {
		defer os.RemoveAll(work)
	}
	db := filepath.Join(work, "db")
	logs := filepath.Join(work, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		t.Fatal(err)
	}

	var rows []measured
	// run runs one stage: the binary with args, stdout and stderr to
	// logs/<name>.{out,err}.
	run := func(name string, args ...string) measured {
		t.Helper()
		stdout, _ := os.Create(filepath.Join(logs, name+".out"))
		stderr, _ := os.Create(filepath.Join(logs, name+".err"))
		defer stdout.Close()
		defer stderr.Close()
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = stdout, stderr
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sampler := storetest.SampleRSSOf(cmd.Process.Pid)
		err := cmd.Wait()
		wall := time.Since(start)
		anon, _ := sampler.Stop()
		if err != nil {
			b, _ := os.ReadFile(stderr.Name())
			t.Fatalf("%s: tracer %s: %v\n%s", name, strings.Join(args, " "), err, tail(string(b), 2000))
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		return measured{name: name, wall: wall, anon: anon, peak: ru.Maxrss << 10,
			cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
	}

	// gen, or the cached chain (the benchmarks' convention: "done" last).
	if _, err := os.Stat(filepath.Join(chain, "done")); err != nil {
		if err := os.RemoveAll(chain); err != nil {
			t.Fatal(err)
		}
		m := run("gen", append(genArgs, "--out", chain, "--json")...)
		// The generator's summary (its shape's measured statistics) stays
		// with the cached chain.
		sumJSON, err := os.ReadFile(filepath.Join(logs, "gen.out"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(chain, "gen-summary.json"), sumJSON, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(chain, "done"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		m.items, m.unit, m.disk = int64(n), "tx", diskUsage(t, chain)
		rows = append(rows, m)
	} else {
		rows = append(rows, measured{name: "gen", note: "cached in " + chain, disk: diskUsage(t, chain)})
	}

	if *scaleGen {
		m := rows[0]
		if m.wall == 0 {
			fmt.Printf("\ngen: %s\n", m.note)
			return
		}
		fmt.Printf("\ngen: %d transactions, %s shape, %.1f s wall, %.1f s CPU, %s tx per CPU-second, peak anon RSS %.0f MB, %.0f B per tx (chain %s, load average %s)\n",
			m.items, *scaleShape, m.wall.Seconds(), m.cpu.Seconds(), thousands(int64(float64(m.items)/max(m.cpu.Seconds(), 0.001))), float64(m.anon)/1e6, perTx(m.disk, m.items), chain, loadAverage())
		return
	}
	dbDisk := func() int64 { return diskUsage(t, db) }
	skip := map[string]bool{}
	for _, s := range strings.Split(*scaleSkip, ",") {
		if s = strings.TrimSpace(s); s != "" {
			skip[s] = true
		}
	}
	stage := func(name string, items func() (int64, string), args ...string) {
		if skip[name] {
			rows = append(rows, measured{name: name, note: "skipped (-scale.skip)"})
			return
		}
		before := dbDisk()
		m := run(name, append([]string{"--db", db}, args...)...)
		m.disk = dbDisk() - before
		if items != nil {
			m.items, m.unit = items()
		}
		rows = append(rows, m)
		// A line per stage as it ends: a long run's figures are not lost
		// to a later stage's failure.
		fmt.Printf("%s %s: %.1f s wall, %.1f s CPU, peak anon RSS %.0f MB, peak RSS %.0f MB, disk +%d B\n",
			time.Now().UTC().Format("15:04:05"), name, m.wall.Seconds(), m.cpu.Seconds(), float64(m.anon)/1e6, float64(m.peak)/1e6, m.disk)
	}
	var txs, inputs int64
	chainTxs := func() (int64, string) { return txs, "tx" }

	stage("ingest", nil, "ingest", "--blocks", filepath.Join(chain, "blocks"))
	var status struct {
		Txs    int64 `json:"txs"`
		Inputs int64 `json:"inputs"`
	}
	run("status", "--db", db, "status", "--json")
	if err := readJSON(filepath.Join(logs, "status.out"), &status); err != nil {
		t.Fatal(err)
	}
	txs, inputs = status.Txs, status.Inputs
	if txs < int64(n) {
		t.Fatalf("the store holds %d transactions, fewer than the %d generated", txs, n)
	}
	rows[len(rows)-1].items, rows[len(rows)-1].unit = txs, "tx"
	if rows[0].items == 0 {
		rows[0].items, rows[0].unit = txs, "tx"
	}
	stage("sanctions load", nil, "sanctions", "load", filepath.Join(chain, "sanctions", "sdn_advanced.xml"))
	stage("tags load", nil, "tags", "load", filepath.Join(chain, "tags", "exchanges.yaml"))
	// The first forward trace builds the trace index; --max-txs 1 keeps its
	// walk to one transaction.
	stage("trace index", chainTxs, "trace", "--program", "CYBER2", "--max-txs", "1", "--format", "json", "--out", filepath.Join(work, "index-trace.json"))
	stage("cluster", func() (int64, string) { return inputs, "input" }, "cluster")
	stage("exposure index", chainTxs, "screen", "--rebuild-index")
	report := filepath.Join(work, "trace.json")
	// An investigator's trace (the default model): on the generated chains it
	// is small, so its time is mostly process start and store open.
	stage("trace", nil, "trace", "--program", "CYBER2", "--format", "json", "--out", report)
	var res struct {
		Params struct {
			TxsVisited int64 `json:"txs_visited"`
		} `json:"params"`
		Totals struct {
			Hits int64 `json:"hits"`
		} `json:"totals"`
	}
	if !skip["trace"] {
		if err := readJSON(report, &res); err != nil {
			t.Fatal(err)
		}
		tr := &rows[len(rows)-1]
		tr.items, tr.unit, tr.note = res.Params.TxsVisited, "tx visited", fmt.Sprintf("program CYBER2, haircut: %d txs visited, %d hits", res.Params.TxsVisited, res.Totals.Hits)
		if res.Params.TxsVisited == 0 {
			t.Fatal("the trace visited no transaction")
		}
	}
	out := filepath.Join(work, "graph")
	stage("export graph", chainTxs, "export", "graph", "--out", out)
	if !skip["export graph"] {
		rows[len(rows)-1].disk = diskUsage(t, out)
		rows[len(rows)-1].note = "disk: the Parquet files"
	}

	fmt.Printf("\nscale: %d transactions, %d inputs, %s shape (chain %s), tracer %s, load average %s\n\n", txs, inputs, *scaleShape, chain, bin, loadAverage())
	var gs struct {
		Unspent   int64            `json:"unspent_outputs"`
		SpendAges map[string]int64 `json:"spend_ages"`
		Addr      int64            `json:"address_outputs"`
		Reused    int64            `json:"reused_outputs"`
	}
	if readJSON(filepath.Join(chain, "gen-summary.json"), &gs) == nil && txs > 0 {
		all := max(1, gs.SpendAges["under-1-day"]+gs.SpendAges["1-day-to-1-month"]+gs.SpendAges["over-1-month"])
		fmt.Printf("chain: %.3f unspent outputs per tx, %.1f%% of outputs to a reused address, spends under a day / a day to a month / older: %.1f%% / %.1f%% / %.2f%%\n\n",
			float64(gs.Unspent)/float64(txs), 100*float64(gs.Reused)/float64(max(1, gs.Addr)),
			100*float64(gs.SpendAges["under-1-day"])/float64(all), 100*float64(gs.SpendAges["1-day-to-1-month"])/float64(all), 100*float64(gs.SpendAges["over-1-month"])/float64(all))
	}
	fmt.Println("| stage | rate | per CPU-second | wall | CPU | peak anon RSS | peak RSS | disk per tx |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, m := range rows {
		if m.wall == 0 {
			if m.disk == 0 {
				fmt.Printf("| %s | — | — | — | — | — | — | — (%s) |\n", m.name, m.note)
				continue
			}
			fmt.Printf("| %s | — | — | — | — | — | — | %.0f B (%s) |\n", m.name, perTx(m.disk, txs), m.note)
			continue
		}
		rate, cpuRate := "—", "—"
		if m.items > 0 {
			rate = fmt.Sprintf("%s %s/s", thousands(int64(float64(m.items)/m.wall.Seconds())), m.unit)
			cpuRate = thousands(int64(float64(m.items) / max(m.cpu.Seconds(), 0.001)))
		}
		note := ""
		if m.note != "" {
			note = " (" + m.note + ")"
		}
		fmt.Printf("| %s | %s | %s | %.1f s | %.1f s | %.0f MB | %.0f MB | %.0f B%s |\n", m.name, rate, cpuRate, m.wall.Seconds(), m.cpu.Seconds(),
			float64(m.anon)/1e6, float64(m.peak)/1e6, perTx(m.disk, txs), note)
	}
	fmt.Printf("\nstore on disk: %.0f bytes per transaction (%.1f MB)\n", perTx(dbDisk(), txs), float64(dbDisk())/1e6)
}

// loadAverage is the machine's 1, 5 and 15 minute load averages (Linux),
// as the table's context: the stages share the CPU with whatever else runs.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func perTx(b, txs int64) float64 {
	if txs == 0 {
		return 0
	}
	return float64(b) / float64(txs)
}

// diskUsage is the space the files under dir take on disk (allocated
// blocks, not apparent sizes: Badger preallocates its value log sparsely).
func diskUsage(t *testing.T, dir string) int64 {
	t.Helper()
	var sum int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if info, err := d.Info(); err == nil && !d.IsDir() {
			if st, ok := info.Sys().(*syscall.Stat_t); ok {
				sum += st.Blocks * 512
			} else {
				sum += info.Size()
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func thousands(v int64) string {
	s := fmt.Sprint(v)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
