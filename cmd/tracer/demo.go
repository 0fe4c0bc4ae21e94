package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/export"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "the main job end to end: a scam-centre case traced to the exchanges, as an HTML report",
		Description: `Without a node or a download, runs the whole job on an embedded default:

  1. generates a regtest chain with the scam-centre scenario (tracer gen): a
     sanctioned entity's wallets receive victim payments, then peel chains,
     splits, a CoinJoin-like mix and deposits into several exchanges;
  2. ingests its Bitcoin Core block files (tracer ingest);
  3. loads the scenario's sanctions list, written in OFAC's sdn_advanced.xml
     format, and its exchange tag pack in GraphSense TagPack format, through
     the real loaders (tracer sanctions load, tracer tags load);
  4. clusters addresses by common-input ownership (tracer cluster), so
     deposits into an exchange's untagged deposit addresses are caught;
  5. traces the sanctioned entity's addresses forward (tracer trace) and
     writes the interactive HTML report;
  6. keeps the trace as a case (tracer case new), exports its evidence
     bundle and verifies it against the store (tracer case export, verify);
  7. compares the hits with the scenario's ground truth for the traced
     seeds, and prints where the report is.

With --mainnet it instead ingests the real mainnet blocks 0–14131 that the
btcd Go module ships and shows lookups on them.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Value: "demo", Usage: "working `DIR` for the demo"},
			&cli.IntFlag{Name: "txs", Value: 20000, Usage: "transactions in the generated chain"},
			&cli.StringFlag{Name: "model", Value: "haircut", Usage: "taint model of the trace"},
			&cli.BoolFlag{Name: "mainnet", Usage: "ingest btcd's real mainnet blocks 0–14131 and show lookups instead"},
			&cli.StringFlag{Name: "blocks", Usage: "with --mainnet: use this block `FILE` instead of btcd's"},
		},
		Action: runDemo,
	}
}

// sub runs one tracer command line in this process, as a user would type it.
func sub(c *cli.Context, args ...string) error {
	app := newApp(c.App.Writer, c.App.ErrWriter)
	fmt.Fprintf(c.App.Writer, "\n$ tracer %s\n", strings.Join(args, " "))
	return app.RunContext(c.Context, reorderArgs(app, append([]string{"tracer"}, args...)))
}

func runDemo(c *cli.Context) error {
	if c.Bool("mainnet") {
		return runMainnetDemo(c)
	}
	start := time.Now()
	d := newDemoFiles(c.String("out"))
	if err := d.fresh(); err != nil {
		return err
	}
	gen := []string{"gen", "--out", d.chain, "--txs", fmt.Sprint(c.Int("txs")), "--seed", "2025", "--scenario", "scam-centre,exchange", "--xor"}
	if err := sub(c, gen...); err != nil {
		return err
	}
	truth, err := chaingen.ReadTruth(filepath.Join(d.chain, "truth.json"))
	if err != nil {
		return err
	}
	const program = "CYBER2"
	seeds, names := programSeeds(truth, program)
	for _, s := range d.steps(program, c.String("model"), seeds) {
		if err := sub(c, s...); err != nil {
			return err
		}
	}
	res, err := readResult(d.json)
	if err != nil {
		return err
	}
	want, found := depositsFound(truth, seeds, res)
	fmt.Fprintf(c.App.Writer, "\nground truth: %d deposits into exchanges from the %d seed addresses of %s (program %s); the trace has %d hits, %d of them those deposits (%s)\n",
		want, len(seeds), strings.Join(names, ", "), program, res.Totals.Hits, found, filepath.Join(d.chain, "truth.json"))
	report, err := filepath.Abs(d.report)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "\ndemo done in %s. The case is kept in the store (tracer --db %s case show 1; tracer --db %s serve, then open /case?id=1);\nits evidence bundle is %s.\nThe interactive report: %s\n",
		time.Since(start).Round(time.Millisecond), d.db, d.db, d.bundle, report)
	return nil
}

// demoFiles are the demo's files under its --out folder.
type demoFiles struct {
	out, chain, db, report, json, bundle string
}

func newDemoFiles(out string) demoFiles {
	return demoFiles{out: out, chain: filepath.Join(out, "chain"), db: filepath.Join(out, "store"),
		report: filepath.Join(out, "report.html"), json: filepath.Join(out, "trace.json"), bundle: filepath.Join(out, "case.zip")}
}

// fresh makes the demo's folder (its parent must exist, as for every
// output) and removes the chain and store of an earlier run: the demo's
// store is its own.
func (d demoFiles) fresh() error {
	if err := export.CheckDir(d.out); err != nil {
		return badInput(err)
	}
	if err := os.MkdirAll(d.out, 0o755); err != nil {
		return err
	}
	if err := os.RemoveAll(d.chain); err != nil {
		return err
	}
	return os.RemoveAll(d.db)
}

// steps are the command lines the demo runs after generating the chain.
func (d demoFiles) steps(program, model string, seeds []string) [][]string {
	db := d.db
	return [][]string{
		{"--db", db, "ingest", "--blocks", filepath.Join(d.chain, "blocks")},
		{"--db", db, "sanctions", "load", filepath.Join(d.chain, "sanctions", "sdn_advanced.xml")},
		{"--db", db, "tags", "load", filepath.Join(d.chain, "tags", "exchanges.yaml")},
		{"--db", db, "cluster"},
		{"--db", db, "trace", "--program", program, "--model", model},
		{"--db", db, "trace", "--program", program, "--model", model, "--format", "json", "--out", d.json},
		{"--db", db, "trace", "--program", program, "--model", model, "--format", "html", "--out", d.report},
		append([]string{"--db", db, "case", "new", "--title", "demo: program " + program, "--model", model, "--max-txs", "1000000"}, seeds...),
		{"--db", db, "case", "export", "1", "--out", d.bundle},
		{"--db", db, "case", "verify", d.bundle},
	}
}

// programSeeds are the addresses and names of the generated chain's
// sanctioned entities of program.
func programSeeds(truth *chaingen.Truth, program string) (seeds, names []string) {
	for _, e := range truth.Entities {
		if e.Program == program {
			seeds = append(seeds, e.Addresses...)
			names = append(names, e.Name)
		}
	}
	return seeds, names
}

// depositsFound compares a trace with the ground truth of what was traced:
// the deposits reached from these seeds (want), not every deposit of the
// scenario, and how many of them the trace's hits are (found).
func depositsFound(truth *chaingen.Truth, seeds []string, res *tracer.Result) (want, found int) {
	traced := map[string]bool{}
	for _, a := range seeds {
		traced[a] = true
	}
	deposits := map[string]bool{}
	for _, p := range truth.Paths {
		if traced[p.Seed] {
			deposits[fmt.Sprintf("%s:%d", p.DepositTxid, p.DepositVout)] = true
		}
	}
	for _, h := range res.Hits {
		if deposits[fmt.Sprintf("%s:%d", h.Txid, h.Vout)] {
			found++
		}
	}
	return len(deposits), found
}

func readResult(path string) (*tracer.Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r tracer.Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("demo: %s: %w", path, err)
	}
	return &r, nil
}

func runMainnetDemo(c *cli.Context) error {
	file := c.String("blocks")
	if file == "" {
		var err error
		if file, err = btcdBlocksFile(); err != nil {
			return err
		}
	}
	db := filepath.Join(c.String("out"), "mainnet")
	for _, s := range [][]string{
		{"--db", db, "ingest", "--blocks", file},
		{"--db", db, "status"},
		{"--db", db, "tx", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"},
		{"--db", db, "address", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "--limit", "5"},
	} {
		if err := sub(c, s...); err != nil {
			return err
		}
	}
	fmt.Fprintf(c.App.Writer, "\nThe store is in %s; try: tracer --db %s block 170\n", db, db)
	return nil
}

// btcdBlocksFile finds blk_0_to_14131.dat in the btcd module this binary
// was built with, downloading the module if the cache lacks it.
func btcdBlocksFile() (string, error) {
	version := "v0.24.2"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/btcsuite/btcd" {
				version = d.Version
			}
		}
	}
	mod := "github.com/btcsuite/btcd@" + version
	dir := ""
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		dir = filepath.Join(strings.TrimSpace(string(out)), "github.com", "btcsuite", "btcd@"+version)
	}
	file := filepath.Join(dir, "blockchain", "testdata", "blk_0_to_14131.dat")
	if _, err := os.Stat(file); err == nil && dir != "" {
		return file, nil
	}
	out, err := exec.Command("go", "mod", "download", "-json", mod).Output()
	if err != nil {
		return "", fmt.Errorf("demo: cannot find or download %s (needs the go command): %v; pass --blocks FILE", mod, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && strings.Trim(k, `"`) == "Dir" {
			dir = strings.Trim(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), ",")), `"`)
		}
	}
	file = filepath.Join(dir, "blockchain", "testdata", "blk_0_to_14131.dat")
	if _, err := os.Stat(file); err != nil {
		return "", fmt.Errorf("demo: %s has no block file: %v", mod, err)
	}
	return file, nil
}
