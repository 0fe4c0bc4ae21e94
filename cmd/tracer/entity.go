package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer/cluster"
)

func entityCommand() *cli.Command {
	return &cli.Command{
		Name:      "entity",
		Usage:     "show an address's entity (cluster): size, labels, conflicts, activity, balance, addresses",
		ArgsUsage: "ADDR|ID",
		Description: `Shows the cluster an address belongs to (run tracer cluster first), or the
cluster with this id. Totals (first and last height seen, received, balance)
read every output of every member, so they are skipped for clusters larger
than --scan-limit addresses; so are the top counterparties: the entities
(clusters, or lone addresses) that paid it most, credited with what their
transactions paid its addresses, and that it paid most, its change excluded.`,
		Flags: []cli.Flag{jsonFlag,
			&cli.IntFlag{Name: "limit", Value: 50, Usage: "addresses per page"},
			&cli.Uint64Flag{Name: "after", Usage: "page after the member with this `ID` (printed at the end of a page)"},
			&cli.IntFlag{Name: "scan-limit", Value: 100_000, Usage: "compute totals only for clusters of at most `N` addresses"},
			&cli.IntFlag{Name: "top", Value: 5, Usage: "top `N` counterparties each way (0: none)"},
			&cli.BoolFlag{Name: "label-all-tags", Usage: "let every exchange tag label its cluster, not only cluster definers"},
		},
		Action: runEntity,
	}
}

func runEntity(c *cli.Context) (err error) {
	arg, err := oneArg(c, "address or entity id")
	if err != nil {
		return err
	}
	if c.Int("limit") <= 0 || c.Int("top") < 0 {
		return usageErrorf("--limit must be positive, --top not negative")
	}
	st, params, err := openChain(c)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	var id store.AddrID
	var addr address.Addr
	if n, err := strconv.ParseUint(arg, 10, 64); err == nil {
		id = store.AddrID(n)
	} else if addr, err = address.Parse(arg, params); err != nil {
		return badInput(err)
	}
	v, err := cluster.Describe(c.Context, st, params, id, addr, cluster.DescribeOptions{
		Limit: c.Int("limit"), After: store.AddrID(c.Uint64("after")), ScanLimit: c.Int("scan-limit"),
		Top: c.Int("top"), Label: cluster.LabelOptions{AllTags: c.Bool("label-all-tags")}})
	if errors.Is(err, cluster.ErrNoClusters) {
		return usageErrorf("no clusters in %s: run tracer cluster first", st.Dir())
	}
	if err != nil {
		return notFound(err)
	}
	if c.Bool("json") {
		return printJSON(c, v)
	}
	return printEntity(c.App.Writer, arg, v, c.Int("scan-limit"))
}

// printEntity renders an entity description for people.
func printEntity(w io.Writer, arg string, v *cluster.Description, scanLimit int) error {
	if v.ID == 0 {
		fmt.Fprintf(w, "entity     %s is in no cluster (never spent together with another address)\n", arg)
	} else {
		fmt.Fprintf(w, "entity     %d: %d addresses\n", v.ID, v.Size)
	}
	switch {
	case len(v.Labels) == 0:
		fmt.Fprintln(w, "labels     none (no cluster-defining tag in this cluster)")
	case v.Conflict:
		fmt.Fprintln(w, "labels     CONFLICT: tags of different entities; the cluster labels nothing")
	}
	for _, l := range v.Labels {
		fmt.Fprintf(w, "label      %s (%s), %d defining tags from %s\n", l.Entity, l.Category, l.Definers, l.Source)
	}
	if v.Totals {
		if v.Outputs > 0 {
			fmt.Fprintf(w, "seen       heights %d–%d, %d outputs\n", v.FirstSeen, v.LastSeen, v.Outputs)
		}
		fmt.Fprintf(w, "received   %s BTC\nbalance    %s BTC\n", btc(v.Received), btc(v.Balance))
	} else {
		fmt.Fprintf(w, "totals     skipped: more than --scan-limit %d addresses\n", scanLimit)
	}
	for _, side := range []struct {
		name string
		cps  []cluster.NamedCounterparty
	}{{"top payers", v.Payers}, {"top payees", v.Payees}} {
		if len(side.cps) == 0 {
			continue
		}
		fmt.Fprintln(w, side.name)
		for _, p := range side.cps {
			who := fmt.Sprintf("entity %d", p.Entity)
			if p.Entity == 0 {
				who = "address"
			}
			if len(p.Labels) > 0 {
				who += " (" + strings.Join(p.Labels, ", ") + ")"
			}
			fmt.Fprintf(w, "  %16s BTC  %5d txs  %s %s\n", btc(p.Value), p.Txs, who, p.Address)
		}
	}
	fmt.Fprintln(w, "addresses")
	for _, a := range v.Page {
		fmt.Fprintf(w, "  %-10d %s\n", a.ID, a.Address)
	}
	if v.Next != 0 {
		fmt.Fprintf(w, "more: --after %d\n", v.Next)
	}
	return nil
}
