package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/cluster"
	"github.com/tracer-oss/tracer/tracer/export"
	"github.com/tracer-oss/tracer/tracer/report"
	"github.com/tracer-oss/tracer/tracer/seedsel"
	"github.com/tracer-oss/tracer/tracer/taint"
)

func traceCommand() *cli.Command {
	return &cli.Command{
		Name:      "trace",
		Usage:     "follow funds from seed addresses and flag every hop into an exchange",
		ArgsUsage: "[ADDR...]",
		Description: `Traces where the funds received by the seed addresses went (forward), or where
an address's funds came from (--direction backward), under a taint model:

  poison    every output of a transaction with any tainted input is tainted in full
  haircut   outputs share the taint in proportion to their value (default)
  fifo      first coins in are the first coins out
  lifo      last coins in are the first coins out
  tiho      tainted coins go to the highest-value outputs first

A branch ends at an output paid to a tagged address of a stop category
(exchanges by default: a hit, where funds can be frozen), at an unspent output
(a current holding), below the dust limit, or at a limit. Seeds come from
addresses, a seed file (CSV, JSON, YAML) or the stored sanctions list.

Examples:
  tracer trace --entity "Chen Zhi" --format html --out chen-zhi.html
  tracer trace --program TCO --model fifo --max-hops 20
  tracer trace bc1q... 3Abc... --format json
  tracer trace --seeds wallets.csv --stop exchange --stop mixing_service
  tracer trace --direction backward bc1qdeposit... --format text

Ctrl-C stops the walk and writes the partial result, marked partial.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "seeds", Usage: "seed list `FILE` (CSV, JSON or YAML: address, label, source, confidence)"},
			&cli.StringFlag{Name: "entity", Usage: "seeds: the XBT addresses of sanctioned entities whose name contains `NAME`"},
			&cli.StringFlag{Name: "program", Usage: "seeds: the XBT addresses of sanctions `PROGRAM` (e.g. TCO, CYBER2)"},
			&cli.Int64Flag{Name: "profile", Usage: "seeds: the XBT addresses of SDN profile `ID`"},
			&cli.StringFlag{Name: "direction", Value: "forward", Usage: "forward (where did it go) or backward (where did it come from)"},
			&cli.StringFlag{Name: "model", Value: "haircut", Usage: "taint model: poison, haircut, fifo, lifo, tiho"},
			&cli.BoolFlag{Name: "fees-tainted", Usage: "pay fees from tainted value first"},
			&cli.IntFlag{Name: "max-hops", Value: 50, Usage: "stop after this many transactions from a seed"},
			&cli.Int64Flag{Name: "min-value", Value: 546, Usage: "dust: do not follow tainted amounts below this many `SAT`"},
			&cli.StringFlag{Name: "since", Usage: "only seed outputs received at or after this `HEIGHT or YYYY-MM-DD`"},
			&cli.StringFlag{Name: "until", Usage: "do not follow transactions after this `HEIGHT or YYYY-MM-DD`"},
			&cli.IntFlag{Name: "max-txs", Value: 1_000_000, Usage: "stop after visiting this many transactions (the result is marked partial)"},
			&cli.IntFlag{Name: "wide", Value: 1000, Usage: "do not follow through transactions with more than `N` outputs (batch payouts)"},
			&cli.StringSliceFlag{Name: "stop", Usage: "tag `CATEGORY` that ends a branch as a hit (repeatable; default exchange)"},
			&cli.BoolFlag{Name: "cluster", Usage: "label addresses with their cluster's tags (default: on when tracer cluster has run)"},
			&cli.BoolFlag{Name: "label-all-tags", Usage: "with --cluster, let every exchange tag label its cluster, not only cluster definers"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text, json, csv, dot, svg or html"},
			&cli.StringFlag{Name: "out", Usage: "write the report to `FILE` (default: stdout)"},
			noIndexFlag,
			jsonFlag,
		},
		Action: runTrace,
	}
}

func runTrace(c *cli.Context) error {
	format := c.String("format")
	if c.Bool("json") {
		format = "json"
	}
	if !contains(report.Formats(), format) {
		return usageErrorf("unknown --format %q (one of %s)", format, strings.Join(report.Formats(), ", "))
	}
	model, err := taint.Parse(c.String("model"))
	if err != nil {
		return badInput(err)
	}
	dir := c.String("direction")
	if dir != "forward" && dir != "backward" {
		return usageErrorf("--direction must be forward or backward, not %q", dir)
	}
	if out := c.String("out"); out != "" {
		if err := export.CheckFile(out); err != nil {
			return badInput(err)
		}
	}
	st, params, err := openChain(c)
	if err != nil {
		return err
	}
	defer st.Close()
	sel := seedsel.New(st, params)
	seedList, err := collectSeeds(c, sel)
	if err != nil {
		return err
	}
	if len(seedList) == 0 {
		return usageErrorf("no seeds: give addresses, --seeds FILE, or --entity/--program/--profile with a loaded sanctions list")
	}
	since, err := heightArg(st, c.String("since"), "--since")
	if err != nil {
		return err
	}
	until, err := heightArg(st, c.String("until"), "--until")
	if err != nil {
		return err
	}
	direct, err := sel.Labels(dir == "backward")
	if err != nil {
		return err
	}
	packs, err := seedsel.PackInfo(st)
	if err != nil {
		return err
	}
	var lab tracer.Labeler = direct
	var clusters *cluster.Labeler
	cs, clustered, err := st.ClusterState()
	if err != nil {
		return err
	}
	useClusters := clustered
	if c.IsSet("cluster") {
		useClusters = c.Bool("cluster")
	}
	if useClusters {
		if !clustered {
			return usageErrorf("--cluster: no clusters in %s (run tracer cluster first)", st.Dir())
		}
		if clusters, err = cluster.NewLabeler(st, params, cluster.LabelOptions{AllTags: c.Bool("label-all-tags")}); err != nil {
			return err
		}
		// Direct tags take precedence; cluster labels fill in.
		lab = tracer.Labelers{direct, clusters}
		packs = append(packs, fmt.Sprintf("clusters of %d addresses up to tx %d (change rules: %s)", cs.Addresses, cs.NextTx, rulesOrNone(cs.Rules)))
		for _, e := range clusters.Conflicts() {
			fmt.Fprintf(c.App.ErrWriter, "trace: cluster %d (%d addresses) has conflicting labels %s: not used\n", e.Root, e.Size, strings.Join(e.Names(), " / "))
		}
		if cs.NextTx < st.State().NextTx {
			fmt.Fprintf(c.App.ErrWriter, "trace: clusters cover %d of %d txs (run tracer cluster to update)\n", cs.NextTx, st.State().NextTx)
		}
	}
	opt := tracer.Options{
		Model: model, FeesTainted: c.Bool("fees-tainted"), MaxHops: c.Int("max-hops"), MinValue: c.Int64("min-value"),
		SinceHeight: since, UntilHeight: until, MaxTxs: c.Int("max-txs"), WideOutputs: c.Int("wide"),
		StopCategories: c.StringSlice("stop"), Params: params,
	}
	if opt.MaxHops <= 0 || opt.MinValue < 0 || opt.MaxTxs <= 0 || opt.WideOutputs <= 0 {
		return usageErrorf("--max-hops, --max-txs and --wide must be positive, --min-value not negative")
	}
	if opt.MinValue == 0 {
		opt.MinValue = 1
	}
	prog := newProgress(c.App.ErrWriter)
	opt.Progress = func(visited, pending int) {
		prog.line(fmt.Sprintf("trace: %d transactions visited, %d queued", visited, pending))
	}
	var res *tracer.Result
	rd := st.NewReader()
	defer rd.Close()
	if dir == "forward" {
		var x *flow.Index
		if x, err = openFlow(c, st); err != nil {
			return err
		}
		if x != nil {
			defer x.Close()
		}
		res, err = tracer.Forward(c.Context, forwardGraph(rd, x), lab, seedList, opt)
	} else {
		res, err = tracer.Backward(c.Context, st, lab, seedList, nil, opt)
	}
	prog.finish()
	if clusters != nil && err == nil {
		err = clusters.Err()
	}
	if errors.Is(err, tracer.ErrNoSeeds) {
		return usageErrorf("none of the %d seed addresses received anything in blocks %d–%d", len(seedList), st.State().StartHeight, st.State().Height)
	}
	if err != nil {
		return err
	}
	s := st.State()
	res.Data = tracer.DataInfo{Network: s.Network, TipHeight: s.Height, TipHash: s.Hash.String(), SanctionsList: seedsel.ListInfo(st), TagPacks: packs}
	if out := c.String("out"); out != "" {
		if err := export.WriteFile(out, func(w io.Writer) error { return report.Write(w, format, res) }); err != nil {
			return badInputIf(err, export.ErrOutput)
		}
		fmt.Fprintf(c.App.ErrWriter, "wrote %s report to %s: %d hits, %s BTC reached entities of %s BTC traced%s\n",
			format, out, res.Totals.Hits, btc(res.Totals.ToEntities), btc(res.Totals.Traced), partialNote(res))
		return nil
	}
	return report.Write(c.App.Writer, format, res)
}

func partialNote(r *tracer.Result) string {
	if r.Partial {
		return " (PARTIAL: " + r.PartialWhy + ")"
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// collectSeeds gathers seeds from arguments, a seed file and the sanctions list.
func collectSeeds(c *cli.Context, sel *seedsel.Selector) ([]tracer.Seed, error) {
	out, stats, err := sel.Seeds(c.Context, seedsel.Selection{
		Addresses: c.Args().Slice(), AddressSource: "command line", File: c.String("seeds"),
		Entity: c.String("entity"), Program: c.String("program"), Profile: c.Int64("profile"),
	})
	if err != nil {
		return nil, badInput(err) // a bad address or file, no list, or no match: the input's fault
	}
	if stats.Skipped > 0 {
		fmt.Fprintf(c.App.ErrWriter, "trace: %d listed addresses are not of this network and were skipped\n", stats.Skipped)
	}
	return out, nil
}

// heightArg parses a height or a UTC date (the first block at or after it).
func heightArg(st *store.Store, s, flag string) (int32, error) {
	if s == "" {
		return 0, nil
	}
	if h, err := strconv.ParseInt(s, 10, 32); err == nil && h >= 0 {
		return int32(h), nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return 0, usageErrorf("bad %s %q: want a height or YYYY-MM-DD", flag, s)
	}
	state := st.State()
	lo, hi := state.StartHeight, state.Height+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		b, err := st.BlockByHeight(mid)
		if err != nil {
			return 0, err
		}
		if b.Time().Before(t) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}

func rulesOrNone(r []string) string {
	if len(r) == 0 {
		return "none"
	}
	return strings.Join(r, ", ")
}
