package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer/cluster"
)

func clusterCommand() *cli.Command {
	return &cli.Command{
		Name:  "cluster",
		Usage: "group addresses into entities (common-input ownership), after ingest",
		Description: `Puts every input address of a transaction in one entity, skipping coinbases
and CoinJoin-like transactions (whirlpool, wasabi, joinmarket and equal-split
shapes; see package tracer/cluster). A second run continues from the first
transaction not yet clustered.

The transactions are read once in chain order; the union-find is held in
memory (62 bytes per address) and committed to the store directory every
1,000,000 transactions, at each of the last 100 blocks (so a reorganisation
is undone exactly) and at the end. A killed or interrupted run resumes from
its last commit when run again; entity, trace and status only ever see a
whole committed clustering.

Change heuristics are off unless named with --change (repeatable or
comma-separated): one-time, optimal, address-type, peeling. A merge of two
clusters both larger than --max-merge addresses is refused and recorded.
Changing the rules or the guard needs --rebuild.

Tags marked is_cluster_definer label their whole cluster (see tracer entity,
and tracer trace --cluster).`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "change", Usage: "change `RULE` to apply: one-time, optimal, address-type, peeling (default none)"},
			&cli.Int64Flag{Name: "max-merge", Value: cluster.DefaultMaxMerge, Usage: "refuse merging two clusters both larger than `N` addresses (0: no guard)"},
			&cli.BoolFlag{Name: "rebuild", Usage: "drop the stored clusters and start from the first transaction"},
			&cli.BoolFlag{Name: "label-all-tags", Usage: "in the summary, let every exchange tag label its cluster"},
			jsonFlag,
		},
		Action: runCluster,
	}
}

func runCluster(c *cli.Context) (err error) {
	rules, err := cluster.ParseRules(c.StringSlice("change"))
	if err != nil {
		return badInput(err)
	}
	if c.Int64("max-merge") < 0 {
		return usageErrorf("--max-merge must not be negative")
	}
	st, params, err := openChainFor(c, false)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	opt, err := clusterOptions(c, st, rules)
	if err != nil {
		return err
	}
	prog := newProgress(c.App.ErrWriter)
	opt.Progress = func(done, total store.TxNum) {
		prog.line(fmt.Sprintf("cluster: tx %d/%d", done, total))
	}
	res, err := cluster.Run(c.Context, st, opt)
	prog.finish()
	if errors.Is(err, cluster.ErrOptions) || errors.Is(err, store.ErrClusterDirty) {
		return badInput(err)
	}
	if err != nil {
		return err
	}
	lab, err := cluster.NewLabeler(st, params, cluster.LabelOptions{AllTags: c.Bool("label-all-tags")})
	if err != nil {
		return err
	}
	var ents []entityLine
	for _, e := range lab.Entities() {
		ents = append(ents, entityLine{e.Root, e.Size, e.Names(), e.Conflict(), len(e.Definers)})
	}
	if c.Bool("json") {
		return printJSON(c, struct {
			*cluster.Result
			Entities []entityLine `json:"entities"`
		}{res, ents})
	}
	return printCluster(c.App.Writer, st, res, ents)
}

// entityLine is a labeled cluster in cluster's answer.
type entityLine struct {
	Root     store.AddrID `json:"id"`
	Size     int64        `json:"size"`
	Entities []string     `json:"entities"`
	Conflict bool         `json:"conflict"`
	Definers int          `json:"definers"`
}

// clusterOptions are the options of this run: without --change or
// --max-merge, a later run keeps the stored ones.
func clusterOptions(c *cli.Context, st *store.Store, rules []cluster.Rule) (cluster.Options, error) {
	opt := cluster.Options{Change: rules, MaxMerge: c.Int64("max-merge"), Rebuild: c.Bool("rebuild")}
	prev, ok, err := st.ClusterState()
	if err != nil || !ok || opt.Rebuild {
		return opt, err
	}
	if !c.IsSet("change") {
		if opt.Change, err = cluster.ParseRules(prev.Rules); err != nil {
			return opt, fmt.Errorf("the store's change rules: %w", err)
		}
	}
	if !c.IsSet("max-merge") {
		opt.MaxMerge = prev.MaxMerge
	}
	return opt, nil
}

// printCluster renders a clustering run and the labeled clusters for people.
func printCluster(w io.Writer, st *store.Store, res *cluster.Result, ents []entityLine) error {
	s := res.State
	if res.Txs == 0 {
		fmt.Fprintf(w, "nothing new: transactions up to %d already clustered\n", s.NextTx)
	} else {
		fmt.Fprintf(w, "clustered txs %d–%d: %d txs, %d inputs in %.1fs (%.0f inputs/s); %d unions\n",
			res.From, res.To-1, res.Txs, res.Inputs, res.Seconds, float64(res.Inputs)/max(res.Seconds, 1e-9), res.Unions)
	}
	fmt.Fprintf(w, "coinjoins  %d skipped%s\n", s.CoinJoins, countsNote(res.CoinJoins))
	rulesNote := "none"
	if len(s.Rules) > 0 {
		rulesNote = strings.Join(s.Rules, ", ")
	}
	fmt.Fprintf(w, "change     rules: %s; %d links\n", rulesNote, s.Change)
	fmt.Fprintf(w, "clusters   %d addresses in %d clusters, largest %d\n", s.Addresses, s.Clusters, s.Largest)
	fmt.Fprintf(w, "guard      %d merges refused in all (both clusters > %d addresses), %d in this run\n", s.Refused, s.MaxMerge, len(res.Refusals))
	for i, r := range res.Refusals {
		if i == 10 {
			fmt.Fprintf(w, "           … %d more\n", len(res.Refusals)-10)
			break
		}
		tx, err := st.TxByNum(r.Tx)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "           refused: tx %s (%s) would join cluster %d (%d) with %d (%d)\n", tx.ID, r.Rule, r.A, r.SizeA, r.B, r.SizeB)
	}
	conflicts := 0
	for _, e := range ents {
		if e.Conflict {
			conflicts++
			fmt.Fprintf(w, "CONFLICT   cluster %d (%d addresses) holds tags of %s: it labels nothing until resolved\n", e.Root, e.Size, strings.Join(e.Entities, " / "))
		}
	}
	fmt.Fprintf(w, "entities   %d labeled clusters, %d with conflicting labels\n", len(ents), conflicts)
	for i, e := range ents {
		if i == 10 {
			break
		}
		if !e.Conflict {
			fmt.Fprintf(w, "           %-24s cluster %d, %d addresses, %d defining tags\n", e.Entities[0], e.Root, e.Size, e.Definers)
		}
	}
	return nil
}

func countsNote(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(parts)
	return " in this run (" + strings.Join(parts, ", ") + ")"
}
