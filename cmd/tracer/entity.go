package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/address"
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

type entityLabel struct {
	Entity   string `json:"entity"`
	Category string `json:"category"`
	Source   string `json:"source"`
	Definers int    `json:"defining_tags"`
}

type entityAddr struct {
	ID      uint64 `json:"id"`
	Address string `json:"address"`
}

type entityView struct {
	ID        uint64        `json:"id"` // the cluster's root; 0 for an address in no cluster
	Size      int64         `json:"size"`
	Labels    []entityLabel `json:"labels"`
	Conflict  bool          `json:"conflict"`
	Totals    bool          `json:"totals"` // false when the cluster exceeds --scan-limit
	Outputs   int64         `json:"outputs"`
	FirstSeen int32         `json:"first_seen_height"`
	LastSeen  int32         `json:"last_seen_height"`
	Received  int64         `json:"received_sat"`
	Balance   int64         `json:"balance_sat"`
	// Payers and Payees are the top counterparties (with totals only).
	Payers []counterpartyView `json:"top_payers,omitempty"`
	Payees []counterpartyView `json:"top_payees,omitempty"`
	Page   []entityAddr       `json:"addresses"`
	Next   uint64             `json:"next,omitempty"` // --after value of the next page
}

type counterpartyView struct {
	Entity  uint64   `json:"entity"` // cluster id; 0 for an address in no cluster
	Address string   `json:"address"`
	Labels  []string `json:"labels,omitempty"` // its cluster's labels, or the address's tags
	Txs     int      `json:"txs"`
	Value   int64    `json:"value_sat"`
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
	if _, ok, err := st.ClusterState(); err != nil {
		return err
	} else if !ok {
		return usageErrorf("no clusters in %s: run tracer cluster first", st.Dir())
	}
	cl := st.Clusters()
	var id store.AddrID
	var single address.Addr
	if n, err := strconv.ParseUint(arg, 10, 64); err == nil {
		id = store.AddrID(n)
		if _, err := cl.Addr(id); err != nil {
			return notFound(err)
		}
	} else {
		a, err := address.Parse(arg, params)
		if err != nil {
			return badInput(err)
		}
		var ok bool
		if id, ok, err = cl.Lookup(a); err != nil {
			return err
		} else if !ok {
			single = a
		}
	}
	v := entityView{Size: 1, FirstSeen: -1, LastSeen: -1}
	var lab *cluster.Labeler
	var members []address.Addr
	if id == 0 {
		members = []address.Addr{single}
		v.Page = []entityAddr{{0, single.String(params)}}
	} else {
		root, size, err := cl.Root(id)
		if err != nil {
			return err
		}
		v.ID, v.Size = uint64(root), size
		lab, err = cluster.NewLabeler(st, params, cluster.LabelOptions{AllTags: c.Bool("label-all-tags")})
		if err != nil {
			return err
		}
		if e := lab.EntityOf(root); e != nil {
			v.Conflict = e.Conflict()
			for _, l := range e.Labels {
				n := 0
				for _, d := range e.Definers {
					if strings.EqualFold(d.Label.Entity, l.Entity) {
						n++
					}
				}
				v.Labels = append(v.Labels, entityLabel{l.Entity, l.Category, l.Source, n})
			}
		}
		limit := c.Int("limit")
		err = cl.Members(root, store.AddrID(c.Uint64("after")), func(m store.AddrID, a address.Addr) bool {
			if len(v.Page) == limit {
				v.Next = v.Page[len(v.Page)-1].ID
				return false
			}
			v.Page = append(v.Page, entityAddr{uint64(m), a.String(params)})
			return true
		})
		if err != nil {
			return notFound(err)
		}
		if size <= int64(c.Int("scan-limit")) {
			if err := cl.Members(root, 0, func(_ store.AddrID, a address.Addr) bool { members = append(members, a); return true }); err != nil {
				return err
			}
		}
	}
	if members != nil {
		v.Totals = true
		for _, a := range members {
			err := st.AddressOutputs(a, store.OutPoint{}, func(o store.AddrOutput) bool {
				v.Outputs++
				v.Received += o.Value
				if !o.Spent {
					v.Balance += o.Value
				}
				if v.FirstSeen < 0 || o.Height < v.FirstSeen {
					v.FirstSeen = o.Height
				}
				v.LastSeen = max(v.LastSeen, o.Height)
				if o.Spent {
					// Spending is activity too; its height needs the spender.
					if tx, err := st.TxByNum(o.SpentBy.Tx); err == nil {
						v.LastSeen = max(v.LastSeen, tx.Height)
					}
				}
				return true
			})
			if err != nil {
				return err
			}
		}
	}
	if members != nil && c.Int("top") > 0 {
		cp, err := cluster.TopCounterparties(st, members, c.Int("top"))
		if err != nil {
			return err
		}
		if v.Payers, err = counterpartyViews(st, lab, params, cp.From); err != nil {
			return err
		}
		if v.Payees, err = counterpartyViews(st, lab, params, cp.To); err != nil {
			return err
		}
	}
	if c.Bool("json") {
		return printJSON(c, v)
	}
	w := c.App.Writer
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
		fmt.Fprintf(w, "totals     skipped: more than --scan-limit %d addresses\n", c.Int("scan-limit"))
	}
	for _, side := range []struct {
		name string
		cps  []counterpartyView
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

// counterpartyViews names counterparties with their cluster's labels, or
// their address's tags.
func counterpartyViews(st *store.Store, lab *cluster.Labeler, params *chaincfg.Params, cps []cluster.Counterparty) ([]counterpartyView, error) {
	var out []counterpartyView
	for _, cp := range cps {
		v := counterpartyView{Entity: uint64(cp.Root), Address: cp.Address.String(params), Txs: cp.Txs, Value: cp.Value}
		if lab != nil && cp.Root != 0 {
			if e := lab.EntityOf(cp.Root); e != nil {
				v.Labels = e.Names()
			}
		}
		if len(v.Labels) == 0 {
			tags, err := st.TagsFor(v.Address)
			if err != nil {
				return nil, err
			}
			for _, t := range tags {
				name := t.Actor
				if name == "" {
					name = t.Label
				}
				if !slices.Contains(v.Labels, name) {
					v.Labels = append(v.Labels, name)
				}
			}
		}
		out = append(out, v)
	}
	return out, nil
}
