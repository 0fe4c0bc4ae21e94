package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/tracer/export"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

func genCommand() *cli.Command {
	return &cli.Command{
		Name:  "gen",
		Usage: "generate a deterministic regtest chain with ground truth",
		Description: `gen writes Bitcoin Core style blk*.dat files for a regtest chain made from
a seed, with a realistic economy and scenarios whose ground truth goes to
DIR/truth.json, plus DIR/sanctions/sdn_advanced.xml and DIR/tags/exchanges.yaml.
Every address belongs to a wallet of an owner: DIR/owners.csv (address, wallet,
owner, kind), DIR/collaborative.csv (CoinJoins, Tx0s, Stonewalls, PayJoins: txid,
kind, height, inputs, owners) and DIR/change.csv (txid, vout) are written as the
chain grows; go doc ./store/chaingen describes them.
The same seed always gives byte-identical files.

  tracer gen --out /tmp/chain --txs 100000 --seed 1 --xor --shuffle --forks 5`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "output `DIR` (required)"},
			&cli.Int64Flag{Name: "txs", Usage: "non-coinbase transactions to generate", Value: 10000},
			&cli.Uint64Flag{Name: "seed", Usage: "seed for everything", Value: 1},
			&cli.StringSliceFlag{Name: "scenario", Usage: "scenario `NAME`s: " + strings.Join(chaingen.Scenarios, ", ") + " (repeatable or comma-separated; default all)"},
			&cli.BoolFlag{Name: "xor", Usage: "obfuscate blk files with blocks/xor.dat as Bitcoin Core 28 does"},
			&cli.BoolFlag{Name: "shuffle", Usage: "write blocks out of height order"},
			&cli.IntFlag{Name: "forks", Usage: "stale fork blocks to interleave"},
			&cli.Int64Flag{Name: "max-file-size", Usage: "blk file size limit in bytes", Value: chaingen.DefaultMaxFileSize},
			&cli.IntFlag{Name: "txs-per-block", Usage: "mean non-coinbase transactions per block (at most 3000)", Value: 2000},
			&cli.IntFlag{Name: "workers", Usage: "signing goroutines (default: all CPUs)"},
			&cli.StringFlag{Name: "shape", Usage: "chain `SHAPE`: " + strings.Join(chaingen.Shapes, ", ") + " (mainnet: an unspent set growing with the chain, coins spent at mainnet-like ages, more address reuse)", Value: chaingen.ShapeStandard},
			&cli.BoolFlag{Name: "unsigned", Usage: "write placeholder signatures of real sizes: several times faster, but no node accepts the chain (ingest, trace and cluster never check signatures)"},
			&cli.BoolFlag{Name: "json", Usage: "print the summary as JSON"},
		},
		Action: runGen,
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageErrorf("gen: %v", err)
		},
	}
}

// maxGenTxs bounds gen --txs: a chain of 2^32 transactions is far beyond a
// test (about 1 TB of block files).
const maxGenTxs = 1 << 32

func runGen(c *cli.Context) error {
	cfg, err := genConfig(c)
	if err != nil {
		return err
	}
	stderr := c.App.ErrWriter
	if err := export.CheckDir(cfg.OutDir); err != nil {
		return badInput(err)
	}
	var sum chaingen.Summary
	err = export.WriteDir(cfg.OutDir, func() error {
		var err error
		sum, err = chaingen.Generate(c.Context, cfg, progressPrinter(stderr))
		return err
	})
	if err != nil {
		return err
	}
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	printGenSummary(c.App.Writer, sum)
	return nil
}

// genConfig checks the flags of gen and turns them into the generator's
// configuration.
func genConfig(c *cli.Context) (chaingen.Config, error) {
	if c.NArg() > 0 {
		return chaingen.Config{}, usageErrorf("gen: unexpected argument %q", c.Args().First())
	}
	out := c.String("out")
	if out == "" {
		return chaingen.Config{}, usageErrorf("gen: --out DIR is required")
	}
	txs := c.Int64("txs")
	if txs < 0 || txs > maxGenTxs {
		return chaingen.Config{}, usageErrorf("gen: --txs must be between 0 and %d, got %d", maxGenTxs, txs)
	}
	if c.Int("forks") < 0 {
		return chaingen.Config{}, usageErrorf("gen: --forks must be >= 0, got %d", c.Int("forks"))
	}
	if c.Int64("max-file-size") < 1024 {
		return chaingen.Config{}, usageErrorf("gen: --max-file-size must be >= 1024, got %d", c.Int64("max-file-size"))
	}
	if c.Int("txs-per-block") < 1 || c.Int("txs-per-block") > 3000 {
		return chaingen.Config{}, usageErrorf("gen: --txs-per-block must be between 1 and 3000, got %d", c.Int("txs-per-block"))
	}
	if c.Int("workers") < 0 {
		return chaingen.Config{}, usageErrorf("gen: --workers must be >= 0, got %d", c.Int("workers"))
	}
	if !slices.Contains(chaingen.Shapes, c.String("shape")) {
		return chaingen.Config{}, usageErrorf("gen: --shape %q: known shapes are %s", c.String("shape"), strings.Join(chaingen.Shapes, ", "))
	}
	scen, err := chaingen.ParseScenarios(c.StringSlice("scenario"))
	if err != nil {
		return chaingen.Config{}, usageErrorf("gen: --scenario: %v", err)
	}
	return chaingen.Config{
		OutDir:      out,
		Txs:         int(txs),
		Seed:        c.Uint64("seed"),
		Scenarios:   scen,
		XOR:         c.Bool("xor"),
		Shuffle:     c.Bool("shuffle"),
		Forks:       c.Int("forks"),
		MaxFileSize: c.Int64("max-file-size"),
		Workers:     c.Int("workers"),
		Unsigned:    c.Bool("unsigned"),
		TxsPerBlock: c.Int("txs-per-block"),
		Shape:       c.String("shape"),
	}, nil
}

// progressPrinter draws a bar on a terminal and a line every few seconds
// otherwise.
func progressPrinter(w io.Writer) func(chaingen.Progress) {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	var last time.Time
	return func(p chaingen.Progress) {
		every := 5 * time.Second
		if tty {
			every = 200 * time.Millisecond
		}
		if time.Since(last) < every {
			return
		}
		last = time.Now()
		frac := 1.0
		if p.Target > 0 {
			frac = min(1, float64(p.Txs)/float64(p.Target))
		}
		rate := float64(p.Txs) / max(p.Elapsed.Seconds(), 1e-9)
		if tty {
			const width = 30
			n := int(frac * width)
			fmt.Fprintf(w, "\r[%s%s] %5.1f%% height %d, %d txs, %.1f MiB, %.0f tx/s ",
				strings.Repeat("#", n), strings.Repeat(".", width-n), 100*frac, p.Height, p.Txs, float64(p.Bytes)/(1<<20), rate)
			return
		}
		fmt.Fprintf(w, "gen: height %d, %d/%d txs (%.1f%%), %.1f MiB, %.0f tx/s, %s\n",
			p.Height, p.Txs, p.Target, 100*frac, float64(p.Bytes)/(1<<20), rate, p.Elapsed.Round(time.Second))
	}
}

func printGenSummary(w io.Writer, s chaingen.Summary) {
	fmt.Fprintf(w, "wrote %s: %d blocks (tip %d %s) + %d fork blocks, %d txs + %d coinbases, %d inputs, %d outputs\n",
		s.OutDir, s.Blocks, s.TipHeight, s.TipHash, s.ForkBlocks, s.Txs, s.Coinbases, s.Inputs, s.Outputs)
	fmt.Fprintf(w, "  %d bytes in %d blk files (%.0f bytes/tx)", s.Bytes, s.Files, float64(s.Bytes)/float64(max(1, s.Txs+s.Coinbases)))
	if s.XORKey != "" {
		fmt.Fprintf(w, ", xor key %s", s.XORKey)
	}
	fmt.Fprintf(w, "\n  %.1fs, %.0f tx/s; largest block %d txs, weight %d\n", s.Seconds, s.TxsPerSecond, s.MaxBlockTxs, s.MaxWeight)
	fmt.Fprintf(w, "  script mix: %s\n", shares(s.ScriptMix))
	fmt.Fprintf(w, "  spent:      %s\n", shares(s.InputMix))
	fmt.Fprintf(w, "  tx kinds:   %s\n", shares(s.TxKinds))
	fmt.Fprintf(w, "  shape %s: %d unspent outputs (%.3f per tx), %.1f%% of address outputs to a reused address; spend ages: %s\n",
		s.Shape, s.Unspent, float64(s.Unspent)/float64(max(1, s.Txs)), 100*float64(s.ReusedOutputs)/float64(max(1, s.AddressOutputs)), shares(s.SpendAges))
	fmt.Fprintf(w, "  truth: %d deposits, %d paths (scenarios: %s)\n", s.Deposits, s.Paths, strings.Join(s.Scenarios, ", "))
}

func shares(m map[string]int64) string {
	var total int64
	keys := make([]string, 0, len(m))
	for k, v := range m {
		total += v
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.1f%%", k, 100*float64(m[k])/float64(max(1, total))))
	}
	return strings.Join(parts, ", ")
}
