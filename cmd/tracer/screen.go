package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer/export"
	"github.com/tracer-oss/tracer/tracer/screen"
	"github.com/tracer-oss/tracer/tracer/screen/audit"
	"github.com/tracer-oss/tracer/tracer/screen/policy"
	"github.com/tracer-oss/tracer/tracer/spec"
)

var screenFlags = []cli.Flag{
	&cli.BoolFlag{Name: "poison", Usage: "poison model (an output is tainted in full if any source reaches it) instead of haircut"},
	&cli.IntFlag{Name: "max-hops", Value: spec.DefaultMaxHops, Usage: "sources further than `N` transactions do not count (hops as for a trace)"},
	&cli.Int64Flag{Name: "min-value", Value: 1, Usage: "do not follow tainted amounts below `SAT`"},
	&cli.IntFlag{Name: "top", Value: 5, Usage: "contributing sources to list per category"},
	auditLogFlag,
	&cli.StringFlag{Name: "policy", Usage: "rate results by the risk policy in `FILE` (YAML; default: the built-in policy, see README)"},
}

// loadPolicy reads --policy (nil: the built-in default); a bad file is bad
// input, exit 2, with its file and line.
func loadPolicy(c *cli.Context) (*policy.Policy, error) {
	path := c.String("policy")
	if path == "" {
		return policy.Default(), nil
	}
	p, err := policy.ParseFile(path)
	if err != nil {
		return nil, badInput(err)
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(c.App.ErrWriter, "warning: %s\n", w)
	}
	return p, nil
}

func screenCommand() *cli.Command {
	return &cli.Command{
		Name:      "screen",
		Before:    raiseHeapLimit,
		Usage:     "screen addresses for sanctions exposure (direct hits and funds traced back to sanctioned sources)",
		ArgsUsage: "[ADDR...]",
		Description: `Screens each address: a direct hit when it is on the sanctions list in force
(entity, program, designation date), else its indirect exposure: the amount
and share of everything it received that traces back to sanctioned addresses
within --max-hops (haircut model, or --poison), the nearest source and its hop
count, the top contributing sources with one example path each, and the same
for risky tag categories (mixing_service, market, ransomware, ...) when tags
are loaded. A branch ends at any tagged address (an exchange's commingled
funds break the trail).

Every result is rated by a risk policy: a level (severe, high, medium, low,
none) and the rule that set it. --policy FILE names a YAML policy (rules on
category, direct or indirect exposure, amount, share and hops; the highest
level of all matching rules wins, the first such rule is named); without it
the built-in policy applies (README, "Risk policy"). A bad policy file exits
2 naming its file and line.

Screens are lookups in the exposure index. The index is rebuilt when it is
missing or stale (the sanctions list, the chain tip, the tag packs or the
options changed since it was built, or an older version wrote it), or with
--rebuild-index; --fresh walks backward from each address instead, without
the index. A build beyond its memory budget spills sorted runs to $TMPDIR
(room for about the index's size again) and removes the runs a killed build
left there.

Batch: --in FILE reads one address a line, or CSV (comma, semicolon or tab)
with the address in the first column; a first line starting with "address"
is the header, lines starting with # and blank lines are skipped. Every row
is written to --out (or stdout), in order: the line number, the input's own
columns unchanged, then risk, error, the result, the chain tip and the
sanctions list version screened against (CSV, or JSON lines with --json). A
row that cannot be screened is kept with risk "error" and the reason, and
makes the exit code 2. --out is written whole at the end: an interrupted or
failed batch leaves no file.

Every screened input (invalid ones too) is appended to the audit log
(--audit-log, default audit.log in the --db directory; see tracer audit).

Examples:
  tracer screen bc1q... 3Abc...
  tracer screen --json bc1q...
  tracer screen --in customers.csv --out results.csv
  tracer screen --rebuild-index`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "in", Usage: "screen the addresses in `FILE` (one a line, or CSV with the address first)"},
			&cli.StringFlag{Name: "out", Usage: "with --in: write results to `FILE` (default: stdout)"},
			&cli.BoolFlag{Name: "fresh", Usage: "walk backward from each address now instead of reading the index"},
			&cli.BoolFlag{Name: "rebuild-index", Usage: "rebuild the exposure index first"},
			&cli.BoolFlag{Name: "no-rebuild", Usage: "never rebuild: answer from a stale index or walk fresh without one"},
			jsonFlag,
		}, screenFlags...),
		Action: runScreen,
	}
}

func screenOptions(c *cli.Context, params *chaincfg.Params) (screen.Options, error) {
	opt := screen.Options{Poison: c.Bool("poison"), MaxHops: c.Int("max-hops"), MinValue: c.Int64("min-value"), TopSources: c.Int("top"), Params: params}
	if opt.MaxHops <= 0 || opt.MinValue <= 0 || opt.TopSources <= 0 {
		return opt, usageErrorf("--max-hops, --min-value and --top must be positive")
	}
	return opt, nil
}

// openScreener opens the store read-only with a screener; when the index is
// missing or stale (or rebuild is set) and allowed, it rebuilds the index
// in a read-write session first.
func openScreener(c *cli.Context, rebuild, allowRebuild bool) (*store.Store, *screen.Screener, error) {
	return openScreenerFor(c, rebuild, allowRebuild, true)
}

// openScreenerFor is openScreener, with the store writable unless readOnly.
func openScreenerFor(c *cli.Context, rebuild, allowRebuild, readOnly bool) (*store.Store, *screen.Screener, error) {
	pol, err := loadPolicy(c)
	if err != nil {
		return nil, nil, err
	}
	st, params, err := openScreenStore(c, readOnly)
	if err != nil {
		return nil, nil, err
	}
	opt, err := screenOptions(c, params)
	if err != nil {
		return nil, nil, errors.Join(err, st.Close())
	}
	if err := withClusters(c, st, params, &opt); err != nil {
		return nil, nil, errors.Join(err, st.Close())
	}
	scr, err := screen.New(st, opt)
	if err != nil {
		return nil, nil, errors.Join(err, st.Close())
	}
	scr.SetPolicy(pol)
	if why := scr.Status().ExposureUnavailable; why != "" {
		if rebuild {
			return nil, nil, errors.Join(usageErrorf("screen: no exposure index to build: %s", why), st.Close())
		}
		return st, scr, nil
	}
	if !rebuild && (scr.IndexUsable() || !allowRebuild) {
		return st, scr, nil
	}
	why := "asked to"
	if ix := scr.Status().Index; !rebuild && ix == nil {
		why = "no index yet"
	} else if !rebuild {
		why = strings.Join(ix.Stale, "; ")
	}
	if err := st.Close(); err != nil {
		return nil, nil, err
	}
	if err := rebuildIndex(c, opt, why); err != nil {
		return nil, nil, err
	}
	if st, err = openStore(c, true); err != nil {
		return nil, nil, err
	}
	if err := withClusters(c, st, params, &opt); err != nil {
		return nil, nil, errors.Join(err, st.Close())
	}
	if scr, err = screen.New(st, opt); err != nil {
		return nil, nil, errors.Join(err, st.Close())
	}
	scr.SetPolicy(pol)
	return st, scr, nil
}

// openScreenStore opens the --db store for screening: a store with blocks,
// or one with a sanctions list and no blocks yet, which screens against
// the list alone (screen.MethodList); its network is not known, so the
// parameters returned are mainnet's, nominally: such a screener takes an
// address of any network.
func openScreenStore(c *cli.Context, readOnly bool) (*store.Store, *chaincfg.Params, error) {
	st, err := openStore(c, readOnly)
	if err != nil {
		return nil, nil, err
	}
	if state := st.State(); state.Empty() {
		if _, err := st.Lists().Version(0); err == nil {
			return st, &chaincfg.MainNetParams, nil
		}
	}
	params, err := storeParams(st)
	if err != nil {
		return nil, nil, errors.Join(err, st.Close())
	}
	return st, params, nil
}

// withClusters gives opt the cluster labels of st when it has clusters: the
// barriers a trace stops at (spec's default rule), so screening ends a
// branch where tracing does.
func withClusters(c *cli.Context, st *store.Store, params *chaincfg.Params, opt *screen.Options) error {
	lab, info, warnings, err := spec.NewRunner(st, params, nil).ClusterLabels()
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintf(c.App.ErrWriter, "screen: %s\n", w)
	}
	opt.Clusters, opt.ClusterInfo = lab, info
	return nil
}

func rebuildIndex(c *cli.Context, opt screen.Options, why string) (err error) {
	st, err := openStore(c, false)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	if err := withClusters(c, st, opt.Params, &opt); err != nil {
		return err
	}
	x, err := openFlow(c, st)
	if err != nil {
		return err
	}
	if x != nil {
		defer closing(x, &err)
		opt.Flow = x
	}
	fmt.Fprintf(c.App.ErrWriter, "screen: building the exposure index (%s)\n", why)
	prog := newProgress(c.App.ErrWriter)
	opt.Progress = prog.line
	opt.Alone = true // this process holds the store alone
	start := time.Now()
	hdr, err := screen.BuildIndex(c.Context, st, opt)
	prog.finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "screen: index generation %d: %d exposed addresses, built in %s for tip %d and list version %d\n",
		hdr.Gen, hdr.Addresses, time.Since(start).Round(time.Millisecond), hdr.TipHeight, hdr.ListVersion)
	return st.Close()
}

func runScreen(c *cli.Context) (err error) {
	args := c.Args().Slice()
	in := c.String("in")
	if len(args) == 0 && in == "" && !c.Bool("rebuild-index") {
		return usageErrorf("give addresses, --in FILE or --rebuild-index")
	}
	if len(args) > 0 && in != "" {
		return usageErrorf("give addresses or --in FILE, not both")
	}
	if c.String("out") != "" && in == "" {
		return usageErrorf("--out goes with --in")
	}
	if out := c.String("out"); out != "" {
		if err := export.CheckFile(out); err != nil {
			return badInput(err)
		}
	}
	fresh := c.Bool("fresh")
	st, scr, err := openScreener(c, c.Bool("rebuild-index"), !fresh && !c.Bool("no-rebuild"))
	if err != nil {
		return err
	}
	defer closing(st, &err)
	do := scr.Screen
	if fresh {
		do = scr.Fresh
	}
	if in != "" {
		return screenFile(c, scr, in, auditLog(c))
	}
	results, entries, bad, err := screenArgs(c, do, args, scr.Status())
	if err != nil {
		return err
	}
	// The trail first: a screen that cannot be recorded is not shown.
	if err := auditLog(c).Append(entries...); err != nil {
		return err
	}
	if c.Bool("json") {
		if len(args) == 1 && len(results) == 1 {
			if err := printJSON(c, results[0]); err != nil {
				return err
			}
		} else if err := printJSON(c, results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			writeScreenText(c.App.Writer, r)
		}
	}
	if bad > 0 {
		return usageErrorf("%d of %d addresses are invalid", bad, len(args))
	}
	return nil
}

// screenArgs screens each address given, with their audit entries; an
// invalid address is reported on stderr, recorded and counted in bad.
func screenArgs(c *cli.Context, do func(context.Context, string) (*screen.Result, error), args []string, status screen.Status) (results []*screen.Result, entries []audit.Entry, bad int, err error) {
	who := cliUser()
	for _, a := range args {
		r, err := do(c.Context, a)
		if errors.Is(err, address.ErrInvalid) {
			entries = append(entries, audit.FromResult(audit.SourceCLI, who, a, nil, err, status))
			fmt.Fprintf(c.App.ErrWriter, "tracer: %v\n", err)
			bad++
			continue
		}
		if err != nil {
			return nil, nil, 0, err
		}
		entries = append(entries, audit.FromResult(audit.SourceCLI, who, a, r, nil, status))
		results = append(results, r)
	}
	return results, entries, bad, nil
}

func writeScreenText(w io.Writer, r *screen.Result) {
	fmt.Fprintf(w, "%s  %s  level %s", r.Address, strings.ToUpper(r.Risk), r.Level)
	if r.Rule != "" {
		fmt.Fprintf(w, " (rule %s)", r.Rule)
	}
	if r.Method != screen.MethodDirect {
		fmt.Fprintf(w, "  (received %s BTC; %s)", btc(r.Received), r.Method)
	}
	if r.Partial {
		fmt.Fprint(w, "  PARTIAL")
	}
	fmt.Fprintln(w)
	if r.Note != "" {
		fmt.Fprintf(w, "  note: %s\n", r.Note)
	}
	if r.Reason != "" {
		fmt.Fprintf(w, "  policy %s, rule %s: %s\n", r.Policy, r.Rule, r.Reason)
	}
	for _, d := range r.Direct {
		date := ""
		if !d.Designated.IsZero() {
			date = ", designated " + d.Designated.Format("2006-01-02")
		}
		fmt.Fprintf(w, "  listed: %s (profile %d, %s%s) on %s\n", d.Entity, d.ProfileID, strings.Join(d.Programs, ", "), date, d.List)
	}
	for _, t := range r.Tags {
		fmt.Fprintf(w, "  tagged: %s (%s%s) in %s\n", orDash(t.Label), orDash(t.Category), map[bool]string{true: ", " + t.Abuse}[t.Abuse != ""], t.Pack)
	}
	for _, e := range r.Exposures {
		fmt.Fprintf(w, "  %s exposure: %s BTC, %.2f%% of received; nearest %s at %s\n", e.Category, btc(e.Amount), 100*e.Share, e.Nearest, hops(e.Hops))
		for _, s := range e.Sources {
			fmt.Fprintf(w, "    %-40s %s BTC  %6.2f%%  %s\n", s.Entity, btc(s.Amount), 100*s.Share, hops(s.Hops))
			for _, p := range s.Path {
				fmt.Fprintf(w, "      %s @%d\n", p.Txid, p.Height)
			}
		}
	}
}

// screenFile screens every row of path: results stream to stdout, or go to
// --out written whole at the end (nothing is left on failure). Rows that
// cannot be screened are in the output with risk "error"; they make the
// exit code 2. Every screened row, invalid ones too, goes to the audit log.
func screenFile(c *cli.Context, scr *screen.Screener, path string, trail *audit.Log) (err error) {
	f, err := os.Open(path)
	if err != nil {
		return badInput(err)
	}
	defer f.Close() //nolint:errcheck // the input, opened read-only
	// Audit entries are appended in groups (one write and sync each), and
	// always before returning.
	var entries []audit.Entry
	var auditErr error
	who, status := cliUser(), scr.Status()
	defer func() {
		if aerr := trail.Append(entries...); aerr != nil && err == nil {
			err = aerr
		}
	}()
	prog := newProgress(c.App.ErrWriter)
	start := time.Now()
	opt := screen.BatchOptions{Name: path, JSON: c.Bool("json"), Fresh: c.Bool("fresh"),
		Row: func(input string, r *screen.Result, rowErr error) error {
			if rowErr == nil || errors.Is(rowErr, address.ErrInvalid) {
				entries = append(entries, audit.FromResult(audit.SourceCLI, who, input, r, rowErr, status))
			}
			if len(entries) >= 512 {
				if auditErr = trail.Append(entries...); auditErr != nil {
					return auditErr
				}
				entries = entries[:0]
			}
			return nil
		},
		Progress: func(s screen.BatchStats) {
			if s.Rows%1000 == 0 {
				prog.line(fmt.Sprintf("screen: %d rows, %.0f/s, %d exposed, %d listed, %d failed", s.Rows, float64(s.Rows)/time.Since(start).Seconds(),
					s.Risk[screen.RiskExposed], s.Risk[screen.RiskSanctioned], s.Failed()))
			}
		}}
	var st screen.BatchStats
	batch := func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 64<<10)
		st, err = scr.Batch(c.Context, f, bw, opt)
		if err != nil {
			return err
		}
		return bw.Flush()
	}
	if out := c.String("out"); out != "" {
		err = export.WriteFile(out, batch)
	} else {
		err = batch(c.App.Writer)
	}
	prog.finish()
	if err != nil {
		return badInputIf(err, export.ErrOutput, bufio.ErrTooLong)
	}
	fmt.Fprintf(c.App.ErrWriter, "screen: %d rows in %s: %d listed, %d exposed, %d risky, %d clear, %d failed (risk=error)\n",
		st.Rows, time.Since(start).Round(time.Millisecond), st.Risk[screen.RiskSanctioned], st.Risk[screen.RiskExposed], st.Risk[screen.RiskRisky], st.Risk[screen.RiskNone], st.Failed())
	fmt.Fprintf(c.App.ErrWriter, "screen: levels: %d severe, %d high, %d medium, %d low, %d none\n",
		st.Levels["severe"], st.Levels["high"], st.Levels["medium"], st.Levels["low"], st.Levels["none"])
	if n := st.Failed(); n > 0 {
		return usageErrorf("%d of %d rows of %s could not be screened: see their error column", n, st.Rows, path)
	}
	return nil
}

// hops says "1 hop" or "n hops".
func hops(n int) string {
	if n == 1 {
		return "1 hop"
	}
	return fmt.Sprintf("%d hops", n)
}
