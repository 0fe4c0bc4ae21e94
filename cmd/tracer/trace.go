package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/export"
	"github.com/tracer-oss/tracer/tracer/report"
	"github.com/tracer-oss/tracer/tracer/spec"
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

The settings below are a trace specification: job files (tracer jobs run)
and GET /v1/trace (tracer serve) take the same ones, with the same names
(max_hops for --max-hops) and defaults, and give the same result. Hops count
the transactions from a seed's output to the output reached, the paying one
included: a seed paying a deposit address directly is 1 hop.

Ctrl-C stops the walk and writes the partial result, marked partial.`,
		Flags: append(append([]cli.Flag{
			&cli.StringFlag{Name: "seeds", Usage: "seed list `FILE` (CSV, JSON or YAML: address, label, source, confidence)"},
			&cli.StringFlag{Name: "entity", Usage: "seeds: the XBT addresses of sanctioned entities whose name contains `NAME`"},
			&cli.StringFlag{Name: "program", Usage: "seeds: the XBT addresses of sanctions `PROGRAM` (e.g. TCO, CYBER2)"},
			&cli.StringFlag{Name: "profile", Usage: "seeds: the XBT addresses of SDN profile `ID`"},
		}, specFlags()...),
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text, json, csv, dot, svg or html"},
			&cli.StringFlag{Name: "out", Usage: "write the report to `FILE` (default: stdout)"},
			noIndexFlag,
			jsonFlag,
		),
		Action: runTrace,
	}
}

// specFlags are the flags of a trace specification, one per spec.Keys
// entry, decoded by the same decoder as job files and API parameters.
func specFlags() []cli.Flag {
	var out []cli.Flag
	for _, k := range spec.Keys {
		switch {
		case k.Bool:
			out = append(out, &cli.BoolFlag{Name: k.Flag(), Usage: k.Help, DefaultText: k.Default})
		case k.Multi:
			out = append(out, &cli.StringSliceFlag{Name: k.Flag(), Usage: k.Help, DefaultText: k.Default})
		default:
			out = append(out, &cli.StringFlag{Name: k.Flag(), Usage: k.Help, DefaultText: k.Default})
		}
	}
	return out
}

// specOf decodes the trace specification of c's arguments and flags.
func specOf(c *cli.Context) (spec.Spec, error) {
	s := spec.Default()
	bad := func(err error) error {
		var fe *spec.FieldError
		if errors.As(err, &fe) {
			return usageErrorf("--%s: %s", strings.ReplaceAll(fe.Key, "_", "-"), fe.Msg)
		}
		return badInput(err)
	}
	for _, k := range spec.Keys {
		if !c.IsSet(k.Flag()) {
			continue
		}
		var vals []string
		switch {
		case k.Bool:
			vals = []string{strconv.FormatBool(c.Bool(k.Flag()))}
		case k.Multi:
			vals = c.StringSlice(k.Flag())
		default:
			vals = []string{c.String(k.Flag())}
		}
		if err := s.Set(k.Name, vals...); err != nil {
			return s, bad(err)
		}
	}
	if err := s.SetSeed("addresses", c.Args().Slice()...); err != nil {
		return s, bad(err)
	}
	for _, key := range []string{"seeds", "entity", "program", "profile"} {
		if c.IsSet(key) {
			if err := s.SetSeed(key, c.String(key)); err != nil {
				return s, bad(err)
			}
		}
	}
	s.Seeds.AddressSource = "command line"
	if err := s.Validate(); err != nil {
		return s, bad(err)
	}
	return s, nil
}

func runTrace(c *cli.Context) (err error) {
	format, err := traceFormat(c)
	if err != nil {
		return err
	}
	sp, err := specOf(c)
	if err != nil {
		return err
	}
	for _, a := range c.Args().Slice() {
		if strings.TrimSpace(a) == "" { // as every command that takes an address says it
			return badInput(fmt.Errorf("%w: empty address", address.ErrInvalid))
		}
	}
	if sp.Seeds.Empty() {
		return usageErrorf("no seeds: give addresses, --seeds FILE, or --entity/--program/--profile with a loaded sanctions list")
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
	defer closing(st, &err)
	var x *flow.Index
	if sp.Direction == "forward" {
		if x, err = openFlow(c, st); err != nil {
			return err
		}
		if x != nil {
			defer closing(x, &err)
		}
	}
	prog := newProgress(c.App.ErrWriter)
	out, err := spec.NewRunner(st, params, x).Run(c.Context, sp, func(visited, pending int) {
		prog.line(fmt.Sprintf("trace: %d transactions visited, %d queued", visited, pending))
	})
	prog.finish()
	if err != nil {
		return traceErr(err)
	}
	if out.Skipped > 0 {
		fmt.Fprintf(c.App.ErrWriter, "trace: %d listed addresses are not of this network and were skipped\n", out.Skipped)
	}
	for _, w := range out.Warnings {
		fmt.Fprintf(c.App.ErrWriter, "trace: %s\n", w)
	}
	return writeTrace(c, format, out.Result)
}

// traceFormat is the report format of --format, or json with --json.
func traceFormat(c *cli.Context) (string, error) {
	format := c.String("format")
	if c.Bool("json") {
		format = "json"
	}
	if !contains(report.Formats(), format) {
		return "", usageErrorf("unknown --format %q (one of %s)", format, strings.Join(report.Formats(), ", "))
	}
	return format, nil
}

// writeTrace writes the report to --out, saying so on stderr, or to stdout.
func writeTrace(c *cli.Context, format string, res *tracer.Result) error {
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

// traceErr makes the input's faults exit 2, in the CLI's words.
func traceErr(err error) error {
	var fe *spec.FieldError
	switch {
	case errors.As(err, &fe):
		return usageErrorf("--%s: %s", strings.ReplaceAll(fe.Key, "_", "-"), fe.Msg)
	case errors.Is(err, spec.ErrNoClusters):
		return usageErrorf("--cluster: %v", err)
	case errors.Is(err, spec.ErrNoSeeds):
		return usageErrorf("%s", strings.TrimPrefix(err.Error(), spec.ErrNoSeeds.Error()+": "))
	}
	var se *spec.SeedError
	if errors.As(err, &se) {
		return badInput(se.Err) // a bad address or file, no list, or no match
	}
	return err
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
