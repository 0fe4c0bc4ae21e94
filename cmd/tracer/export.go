package main

import (
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/tracer/cluster"
	"github.com/tracer-oss/tracer/tracer/export"
)

func exportCommand() *cli.Command {
	formatFlag := &cli.StringFlag{Name: "format", Value: "parquet", Usage: "parquet or csv"}
	return &cli.Command{
		Name:  "export",
		Usage: "write traces or the transaction graph as Parquet (or CSV) tables for analysis",
		Description: `Tables for DuckDB, pandas or Spark; the columns are documented in the README
(and go doc ./tracer/export).

Examples:
  tracer export trace study/m-cyber2-fifo --out edges.parquet --hits hits.parquet
  tracer export trace study --out edges.parquet      (every finished job, with a job column)
  tracer export graph --from 800000 --to 800999 --out graph/
  tracer export clusters --out clusters.parquet`,
		Subcommands: []*cli.Command{
			{
				Name:      "trace",
				Usage:     "the edges (and hits) of a report.json, a job folder or a jobs output folder",
				ArgsUsage: "REPORT.json|DIR",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "out", Required: true, Usage: "edges `FILE`"},
					&cli.StringFlag{Name: "hits", Usage: "hits `FILE` (default: none)"},
					formatFlag,
				},
				Action: runExportTrace,
			},
			{
				Name:  "graph",
				Usage: "the store's transactions, inputs and outputs of a height range",
				Description: `Writes txs, inputs and outputs tables (columns: go doc ./tracer/export) for
blocks --from..--to into --out, all three or none. It reads the transaction
records in one pass and spenders and spent outputs from the trace index
(DB/flow), which it builds or extends first
as a forward trace does. Memory stays bounded whatever the range.

  tracer export graph --out graph/
  tracer export graph --from 800000 --to 800999 --out graph/ --format csv`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "from", Usage: "first `HEIGHT` (default: the store's first)"},
					&cli.StringFlag{Name: "to", Usage: "last `HEIGHT` (default: the tip)"},
					&cli.StringFlag{Name: "out", Required: true, Usage: "output `DIR`: txs, inputs and outputs files"},
					formatFlag,
				},
				Action: runExportGraph,
			},
			{
				Name:  "clusters",
				Usage: "every clustered address with its entity and label, to score clustering with your own tools",
				Description: `Writes one row per address of the cluster forest (tracer cluster): address,
entity (the cluster's id, as tracer entity shows it) and label (the entity's
name when a cluster-defining tag labels it; empty otherwise, also for a
conflict). Addresses that never shared a cluster are not listed: each is an
entity of its own. The format follows the extension: .parquet or .csv.
Streamed: memory stays bounded whatever the number of addresses.

  tracer export clusters --out clusters.parquet
  tracer export clusters --out clusters.csv --label-all-tags`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "out", Required: true, Usage: "output `FILE` (.parquet or .csv)"},
					&cli.BoolFlag{Name: "label-all-tags", Usage: "let every exchange tag label its cluster, not only cluster definers"},
				},
				Action: runExportClusters,
			},
		},
	}
}

func runExportTrace(c *cli.Context) error {
	f, err := export.ParseFormat(c.String("format"))
	if err != nil {
		return badInput(err)
	}
	if c.NArg() != 1 {
		return usageErrorf("export trace: want one report.json or folder, got %d arguments", c.NArg())
	}
	for _, p := range []string{c.String("out"), c.String("hits")} {
		if p != "" {
			if err := export.CheckFile(p); err != nil {
				return badInput(err)
			}
		}
	}
	traces := export.LoadTraces(c.Args().First())
	var st export.TraceStats
	write := func(edges, hits io.Writer) error {
		var err error
		st, err = export.Traces(edges, hits, f, traces)
		return err
	}
	out, hitsPath := c.String("out"), c.String("hits")
	if hitsPath == "" {
		err = export.WriteFile(out, func(w io.Writer) error { return write(w, nil) })
	} else {
		err = export.WriteFile(out, func(w io.Writer) error {
			return export.WriteFile(hitsPath, func(h io.Writer) error { return write(w, h) })
		})
	}
	if err != nil {
		return badInputIf(err, export.ErrNotTrace, export.ErrOutput, fs.ErrNotExist)
	}
	fmt.Fprintf(c.App.ErrWriter, "export: %d traces: %d edges to %s", st.Traces, st.Edges, out)
	if hitsPath != "" {
		fmt.Fprintf(c.App.ErrWriter, ", %d hits to %s", st.Hits, hitsPath)
	}
	fmt.Fprintln(c.App.ErrWriter)
	return nil
}

func runExportGraph(c *cli.Context) (err error) {
	f, err := export.ParseFormat(c.String("format"))
	if err != nil {
		return badInput(err)
	}
	if err := export.CheckDir(c.String("out")); err != nil {
		return badInput(err)
	}
	st, params, err := openChain(c)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	s := st.State()
	from, to := s.StartHeight, s.Height
	for _, a := range []struct {
		flag string
		dst  *int32
	}{{"from", &from}, {"to", &to}} {
		if v := c.String(a.flag); v != "" {
			h, err := strconv.ParseInt(v, 10, 32)
			if err != nil {
				return usageErrorf("bad --%s %q: want a height", a.flag, v)
			}
			*a.dst = int32(h)
		}
	}
	if err := export.CheckRange(s, from, to); err != nil {
		return badInput(err)
	}
	// The trace index answers spenders and spent outputs without a store
	// read per row.
	x, err := buildFlow(c, st)
	if err != nil {
		if cerr := c.Context.Err(); cerr != nil {
			return cerr
		}
		return fmt.Errorf("export graph reads the trace index (%s): %w", flow.Dir(st.Dir()), err)
	}
	defer x.Close() //nolint:errcheck // mapped read-only: Close cannot lose data
	start := time.Now()
	prog := newProgress(c.App.ErrWriter)
	gs, err := export.GraphDir(c.Context, st, x, params, from, to, f, c.String("out"), func(g export.GraphStats, h int32) {
		secs := time.Since(start).Seconds()
		prog.line(fmt.Sprintf("export: height %d/%d, %d txs, %d inputs, %d outputs, %.0f tx/s", h, to, g.Txs, g.Inputs, g.Outputs, float64(g.Txs)/secs))
	})
	prog.finish()
	if err != nil {
		return badInputIf(err, export.ErrRange, export.ErrOutput)
	}
	tp, ip, op := export.GraphFiles(c.String("out"), f)
	fmt.Fprintf(c.App.ErrWriter, "export: blocks %d–%d in %s: %d txs to %s, %d inputs to %s, %d outputs (%s BTC) to %s\n",
		from, to, time.Since(start).Round(time.Millisecond), gs.Txs, tp, gs.Inputs, ip, gs.Outputs, btc(gs.OutputValue), op)
	return nil
}

func runExportClusters(c *cli.Context) (err error) {
	out := c.String("out")
	var f export.Format
	switch strings.ToLower(filepath.Ext(out)) {
	case ".parquet":
		f = export.Parquet
	case ".csv":
		f = export.CSV
	default:
		return usageErrorf("export clusters: --out %q: want a .parquet or .csv file name", out)
	}
	if err := export.CheckFile(out); err != nil {
		return badInput(err)
	}
	st, params, err := openChain(c)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	lab, err := cluster.NewLabeler(st, params, cluster.LabelOptions{AllTags: c.Bool("label-all-tags")})
	if err != nil {
		return err
	}
	label := func(root store.AddrID) string {
		if e := lab.EntityOf(root); e != nil && !e.Conflict() && len(e.Labels) == 1 {
			return e.Labels[0].Entity
		}
		return ""
	}
	start := time.Now()
	prog := newProgress(c.App.ErrWriter)
	var cs export.ClusterStats
	err = export.WriteFile(out, func(w io.Writer) error {
		cs, err = export.Clusters(c.Context, st, params, f, w, label, func(done, total int64) {
			prog.line(fmt.Sprintf("export: %d/%d addresses", done, total))
		})
		return err
	})
	prog.finish()
	if err != nil {
		return badInputIf(err, export.ErrNoClusters, export.ErrOutput)
	}
	fmt.Fprintf(c.App.ErrWriter, "export: %d addresses in %d entities (%d labeled) to %s in %s\n",
		cs.Addresses, cs.Entities, cs.Labeled, out, time.Since(start).Round(time.Millisecond))
	return nil
}
