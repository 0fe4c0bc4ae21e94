package main

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/cases"
	"github.com/tracer-oss/tracer/tracer/export"
	"github.com/tracer-oss/tracer/tracer/spec"
)

func caseCommand() *cli.Command {
	return &cli.Command{
		Name:  "case",
		Usage: "an investigator's cases: saved traces with notes, a change log and evidence bundles",
		Description: `A case is a trace kept in the store with its seeds and parameters, notes on
its nodes, hops added by hand and a log of every change (who, when, what).
Explore and annotate cases in the browser with tracer serve (page /case?id=ID).

Examples:
  tracer case new bc1q... --model haircut --max-hops 20 --title "scam centre"
  tracer case list
  tracer case show 1
  tracer case export 1 --out case-1.zip
  tracer case verify case-1.zip

The evidence bundle (export) is a zip with the interactive report, hits.csv,
the graph as JSON, the notes, the parameters, the data versions (tip hash,
sanctions list version and record hash, tag pack hashes), the command that
reproduces the trace and MANIFEST.sha256 of every file. verify checks every
file against the manifest and runs the trace again on the store: it exits 0
when the bundle is intact and matches, 1 when it does not, and says what
differs.`,
		Subcommands: []*cli.Command{
			{
				Name: "new", Usage: "trace seed addresses and keep the trace as a new case", ArgsUsage: "ADDR...",
				Flags:  append([]cli.Flag{&cli.StringFlag{Name: "title", Usage: "a title for the case"}, jsonFlag}, specFlags()...),
				Action: runCaseNew,
			},
			{Name: "list", Usage: "list the cases", Flags: []cli.Flag{jsonFlag}, Action: runCaseList},
			{Name: "show", Usage: "show a case, its notes and its log", ArgsUsage: "ID", Flags: []cli.Flag{jsonFlag}, Action: runCaseShow},
			{
				Name: "export", Usage: "write a case's evidence bundle (zip)", ArgsUsage: "ID",
				Flags:  []cli.Flag{&cli.StringFlag{Name: "out", Usage: "the zip `FILE` (default case-ID.zip)"}},
				Action: runCaseExport,
			},
			{
				Name: "verify", Usage: "check an evidence bundle's files and run its trace again on the store", ArgsUsage: "BUNDLE.zip",
				Flags: []cli.Flag{jsonFlag}, Action: runCaseVerify,
			},
		},
	}
}

// caseService opens the store (writable for changes) and its cases.
func caseService(c *cli.Context, readOnly bool) (*store.Store, *cases.Service, closeFunc, error) {
	st, params, err := openChainFor(c, readOnly)
	if err != nil {
		return nil, nil, nil, err
	}
	var graph tracer.Graph = st
	closeAll := closeFunc(st.Close)
	x, err := flow.Open(c.Context, st, flow.Options{NoUpdate: true})
	if err == nil {
		graph = forwardGraph(st, x)
		closeAll = func() error { return errors.Join(x.Close(), st.Close()) }
	} else {
		x = nil
	}
	return st, cases.ForStore(st, spec.NewRunner(st, params, x), graph, params), closeAll, nil
}

func whoAmI() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

func caseErr(err error) error {
	return badInputIf(err, cases.ErrNotFound, cases.ErrBadInput, tracer.ErrBadParams, tracer.ErrNoSeeds)
}

func caseArgID(c *cli.Context) (uint64, error) {
	if c.NArg() != 1 {
		return 0, usageErrorf("want one case ID")
	}
	id, err := strconv.ParseUint(c.Args().First(), 10, 64)
	if err != nil || id == 0 {
		return 0, usageErrorf("bad case ID %q: want a positive number", c.Args().First())
	}
	return id, nil
}

func runCaseNew(c *cli.Context) (err error) {
	if c.NArg() == 0 {
		return usageErrorf("give the seed addresses")
	}
	_, svc, done, err := caseService(c, false)
	if err != nil {
		return err
	}
	defer closing(done, &err)
	p, err := specOf(c) // the flags of tracer trace, by the same decoder
	if err != nil {
		return err
	}
	cs, err := svc.Create(c.Context, whoAmI(), c.String("title"), p.Seeds.Addresses, p)
	if err != nil {
		return caseErr(err)
	}
	if c.Bool("json") {
		return printJSON(c, cs)
	}
	fmt.Fprintf(c.App.Writer, "case %d: %s trace of %d seeds, %d hits, %d transactions in the graph\n", cs.ID, cs.Params.Direction, len(cs.Seeds), cs.Hits, cs.Nodes)
	return nil
}

func runCaseList(c *cli.Context) (err error) {
	_, svc, done, err := caseService(c, true)
	if err != nil {
		return err
	}
	defer closing(done, &err)
	cs, err := svc.List()
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c, map[string]any{"cases": cs})
	}
	if len(cs) == 0 {
		fmt.Fprintln(c.App.Writer, "no cases (create one with tracer case new ADDR, or POST /v1/cases)")
		return nil
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTITLE\tDIRECTION\tSEEDS\tHITS\tRUNS\tNOTES\tUPDATED")
	for _, x := range cs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", x.ID, orDash(x.Title), x.Params.Direction, seedList(x.Seeds), x.Hits, x.Runs, len(x.Notes),
			x.UpdatedAt.UTC().Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

func seedList(s []string) string {
	if len(s) <= 2 {
		return strings.Join(s, ",")
	}
	return fmt.Sprintf("%s,... (%d)", s[0], len(s))
}

func runCaseShow(c *cli.Context) (err error) {
	id, err := caseArgID(c)
	if err != nil {
		return err
	}
	_, svc, done, err := caseService(c, true)
	if err != nil {
		return err
	}
	defer closing(done, &err)
	cs, err := svc.Get(id)
	if err != nil {
		return caseErr(err)
	}
	log, err := svc.Log(id)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c, map[string]any{"case": cs, "log": log})
	}
	w := c.App.Writer
	fmt.Fprintf(w, "case %d %s\n", cs.ID, cs.Title)
	fmt.Fprintf(w, "  seeds:      %s\n", strings.Join(cs.Seeds, ", "))
	p := cs.Params
	fmt.Fprintf(w, "  parameters: %s, %s, max %d hops, min %d sat, max %d txs\n", p.Direction, p.Model, p.MaxHops, p.MinValue, p.MaxTxs)
	fmt.Fprintf(w, "  latest run: %d hits, %d transactions, tip %d %s (run %d)\n", cs.Hits, cs.Nodes, cs.Data.TipHeight, cs.Data.TipHash, cs.Runs)
	fmt.Fprintf(w, "  reproduce:  %s\n", cases.Command(cs.Seeds, cs.Params))
	if len(cs.Notes) > 0 {
		fmt.Fprintln(w, "notes:")
		for k, n := range cs.Notes {
			fmt.Fprintf(w, "  %s (%s, %s): %s\n", k, n.By, n.At.UTC().Format("2006-01-02 15:04"), n.Text)
		}
	}
	fmt.Fprintln(w, "log:")
	for _, e := range log {
		fmt.Fprintf(w, "  %d %s %s %s %s %s\n", e.Seq, e.Time.UTC().Format("2006-01-02 15:04:05"), e.Who, e.Action, e.Node, e.Detail)
	}
	return nil
}

func runCaseExport(c *cli.Context) (err error) {
	id, err := caseArgID(c)
	if err != nil {
		return err
	}
	out := c.String("out")
	if out == "" {
		out = fmt.Sprintf("case-%d.zip", id)
	}
	if err := export.CheckFile(out); err != nil {
		return badInput(err)
	}
	_, svc, done, err := caseService(c, true)
	if err != nil {
		return err
	}
	defer closing(done, &err)
	var b bytes.Buffer
	if err := svc.Bundle(c.Context, id, &b); err != nil {
		return caseErr(err)
	}
	if err := export.WriteFile(out, func(w io.Writer) error { _, err := w.Write(b.Bytes()); return err }); err != nil {
		return badInputIf(err, export.ErrOutput)
	}
	fmt.Fprintf(c.App.ErrWriter, "wrote the evidence bundle of case %d to %s (%d bytes)\n", id, out, b.Len())
	return nil
}

func runCaseVerify(c *cli.Context) (err error) {
	if c.NArg() != 1 {
		return usageErrorf("want one bundle file")
	}
	name := c.Args().First()
	zr, err := zip.OpenReader(name)
	if err != nil {
		return usageErrorf("open bundle %s: %v", name, err)
	}
	defer zr.Close() //nolint:errcheck // opened read-only: Close cannot lose data
	_, svc, done, err := caseService(c, true)
	if err != nil {
		return err
	}
	defer closing(done, &err)
	v, err := svc.Verify(c.Context, &zr.Reader)
	if err != nil {
		return caseErr(fmt.Errorf("verify %s: %w", name, err))
	}
	if c.Bool("json") {
		if err := printJSON(c, v); err != nil {
			return err
		}
	} else {
		w := c.App.Writer
		if v.Intact {
			fmt.Fprintf(w, "files: intact (every file matches MANIFEST.sha256)\n")
		} else {
			fmt.Fprintf(w, "files: NOT INTACT\n")
			for _, f := range v.Tampered {
				fmt.Fprintf(w, "  changed since export (hash differs): %s\n", f)
			}
			for _, f := range v.Missing {
				fmt.Fprintf(w, "  missing: %s\n", f)
			}
			for _, f := range v.Unlisted {
				fmt.Fprintf(w, "  not in the manifest: %s\n", f)
			}
		}
		if v.Matches {
			fmt.Fprintf(w, "trace: matches (run again on the store, same data versions and result)\n")
		} else {
			fmt.Fprintf(w, "trace: DOES NOT MATCH\n")
			for _, d := range v.Differences {
				fmt.Fprintf(w, "  %s\n", d)
			}
		}
	}
	if !v.OK() {
		return cli.Exit("", exitFailure) // said above; exit 1
	}
	return nil
}
