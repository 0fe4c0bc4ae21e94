package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/tracer-oss/tracer/sanctions"
	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/cluster"
	"github.com/tracer-oss/tracer/tracer/taint"
)

func parse(t testing.TB, s string) address.Addr {
	t.Helper()
	a, err := address.Parse(s, params)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// rootOf returns a's cluster root, or 0 when a is in no cluster.
func rootOf(t testing.TB, c *store.Clusters, a address.Addr) store.AddrID {
	t.Helper()
	id, ok, err := c.Lookup(a)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return 0
	}
	r, _, err := c.Root(id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// spends returns the transactions spending outputs paid to a.
func spends(t testing.TB, st *store.Store, a address.Addr) []*store.Tx {
	t.Helper()
	var out []*store.Tx
	err := st.AddressOutputs(a, store.OutPoint{}, func(o store.AddrOutput) bool {
		if o.Spent {
			tx, err := st.TxByNum(o.SpentBy.Tx)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, tx)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGeneratedChain clusters a generated scam-centre chain and checks the
// entities against the generator's truth, then traces the case with and
// without cluster labels.
func TestGeneratedChain(t *testing.T) {
	dir, truth := scamChain(t)
	st := ingestChain(t, dir, -1)
	ctx := context.Background()
	res, err := cluster.Run(ctx, st, cluster.Options{MaxMerge: cluster.DefaultMaxMerge})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("clustered %d txs, %d inputs: %d addresses in %d clusters (largest %d), %d unions, coinjoins %v, %d refused",
		res.Txs, res.Inputs, res.State.Addresses, res.State.Clusters, res.State.Largest, res.Unions, res.CoinJoins, res.State.Refused)
	lab, err := cluster.NewLabeler(st, params, cluster.LabelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range lab.Conflicts() {
		t.Errorf("cluster %d (%d addresses) holds tags of %v", e.Root, e.Size, e.Names())
	}
	c := st.Clusters()
	owner := map[string]string{} // exchange address → exchange actor
	for _, ex := range truth.Exchanges {
		for _, a := range append(append([]string(nil), ex.HotWallets...), ex.Deposits...) {
			owner[a] = ex.Actor
		}
	}

	t.Run("swept deposits in their exchange's entity", func(t *testing.T) {
		for _, ex := range truth.Exchanges {
			roots := map[store.AddrID]int{}
			swept, alone := 0, 0
			for _, s := range ex.Deposits {
				a := parse(t, s)
				sp := spends(t, st, a)
				if len(sp) == 0 {
					continue
				}
				swept++
				r := rootOf(t, c, a)
				if r == 0 {
					// Only a sweep of this one deposit: nothing to link.
					for _, tx := range sp {
						if len(tx.Inputs) > 1 {
							t.Errorf("%s: deposit %s spent with %d inputs in %s but in no cluster", ex.Name, s, len(tx.Inputs), tx.ID)
						}
					}
					alone++
					continue
				}
				roots[r]++
				e := lab.EntityOf(r)
				if e == nil || e.Conflict() || e.Labels[0].Entity != ex.Actor {
					t.Errorf("%s: swept deposit %s in cluster %d labeled %v", ex.Name, s, r, e)
				}
			}
			hot := map[store.AddrID]bool{}
			for _, s := range ex.HotWallets {
				if r := rootOf(t, c, parse(t, s)); r != 0 {
					hot[r] = true
					if e := lab.EntityOf(r); e == nil || e.Conflict() || e.Labels[0].Entity != ex.Actor {
						t.Errorf("%s: hot wallet %s in cluster %d labeled %v", ex.Name, s, r, e)
					}
				}
			}
			t.Logf("%s: %d of %d deposit addresses swept, in %d clusters (%v), %d swept alone; hot wallets in %d clusters",
				ex.Name, swept, len(ex.Deposits), len(roots), roots, alone, len(hot))
			if swept == 0 || len(roots) == 0 {
				t.Errorf("%s: no swept deposit clustered", ex.Name)
			}
		}
	})

	t.Run("no entity spans two exchanges or a seed and an exchange", func(t *testing.T) {
		byRoot := map[store.AddrID]string{}
		for a, actor := range owner {
			r := rootOf(t, c, parse(t, a))
			if r == 0 {
				continue
			}
			if o, ok := byRoot[r]; ok && o != actor {
				t.Errorf("cluster %d holds addresses of %s and %s", r, o, actor)
			}
			byRoot[r] = actor
		}
		for _, s := range truth.Seeds {
			r := rootOf(t, c, parse(t, s.Address))
			if r == 0 {
				continue
			}
			if o, ok := byRoot[r]; ok {
				t.Errorf("seed %s (%s) is in cluster %d with %s's addresses", s.Address, s.Entity, r, o)
			}
			if e := lab.EntityOf(r); e != nil {
				t.Errorf("seed %s is in a cluster labeled %v", s.Address, e.Names())
			}
			n := 0
			if err := c.Members(r, 0, func(_ store.AddrID, a address.Addr) bool {
				if o, ok := owner[a.String(params)]; ok {
					t.Errorf("seed %s's cluster holds %s's address %s", s.Address, o, a.String(params))
				}
				n++
				return true
			}); err != nil {
				t.Fatal(err)
			}
			if _, size, _ := c.Root(r); int64(n) != size {
				t.Errorf("cluster %d lists %d members, size %d", r, n, size)
			}
		}
	})

	t.Run("coinjoins never merge", func(t *testing.T) {
		denoms := map[int64]bool{1_000_000: true, 5_000_000: true, 10_000_000: true, 50_000_000: true}
		generated, mixes := 0, 0
		err := st.ForEachTxFunding(0, func(tx *store.Tx, funding []*store.Tx) error {
			counts := map[int64]int{}
			for _, o := range tx.Outputs {
				counts[o.Value]++
			}
			for v, n := range counts {
				if denoms[v] && n >= 3 && len(tx.Inputs) >= n {
					generated++
					if cluster.CoinJoin(tx) == "" {
						t.Errorf("generated coinjoin %s (%d inputs, %d × %d) not recognised", tx.ID, len(tx.Inputs), n, v)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// The scam's mix: the operators' coin is input 2; no clean
		// participant may share its cluster.
		for _, cl := range truth.Clean {
			if cl.Kind != "coinjoin-participant" || mixes > 0 {
				continue
			}
			mixes++
			tx, err := st.Tx(mustHash(t, cl.Txid))
			if err != nil {
				t.Fatal(err)
			}
			if cluster.CoinJoin(tx) == "" {
				t.Fatalf("the scam's mix %s is not recognised as a coinjoin", tx.ID)
			}
			ins := inputAddrs(t, st, tx)
			r2 := rootOf(t, c, ins[2])
			for i, a := range ins {
				if i != 2 && r2 != 0 && rootOf(t, c, a) == r2 {
					t.Errorf("mix %s: participant %d shares the operators' cluster %d", tx.ID, i, r2)
				}
			}
		}
		if generated == 0 || mixes == 0 || res.State.CoinJoins < int64(generated) {
			t.Errorf("generated coinjoins %d, scam mixes %d, recognised %d", generated, mixes, res.State.CoinJoins)
		}
		t.Logf("%d generated coinjoins recognised (%d transactions skipped in all: %v)", generated, res.State.CoinJoins, res.CoinJoins)
	})

	t.Run("counterparties", func(t *testing.T) {
		// The first exchange's entity: what it paid others, by the
		// common-input rule all its spending transactions' inputs being
		// its own, is their inputs less fees, its own outputs and data
		// outputs.
		ex := truth.Exchanges[0]
		var root store.AddrID
		for _, d := range ex.Deposits {
			if root = rootOf(t, c, parse(t, d)); root != 0 {
				break
			}
		}
		if root == 0 {
			t.Fatalf("no deposit address of %s is in a cluster", ex.Name)
		}
		var members []address.Addr
		own := map[address.Addr]bool{}
		if err := c.Members(root, 0, func(_ store.AddrID, a address.Addr) bool {
			members = append(members, a)
			a.Kind = a.Kind.Class()
			own[a] = true
			return true
		}); err != nil {
			t.Fatal(err)
		}
		cp, err := cluster.TopCounterparties(st, members, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		var paidOut, paidIn int64
		for _, x := range cp.To {
			paidOut += x.Value
			if x.Root == root {
				t.Errorf("the entity is its own payee")
			}
		}
		for _, x := range cp.From {
			paidIn += x.Value
		}
		var want int64
		spends := map[store.TxNum]bool{}
		for _, a := range members {
			for _, tx := range spends2(t, st, a) {
				if spends[tx.Num] {
					continue
				}
				spends[tx.Num] = true
				for _, o := range tx.Outputs {
					k := o.Addr
					k.Kind = k.Kind.Class()
					if !own[k] && o.Addr.Kind.HasAddress() {
						want += o.Value
					}
				}
			}
		}
		if paidOut != want || paidOut == 0 || paidIn == 0 {
			t.Errorf("%s paid %d sat to counterparties, its spending transactions %d; received %d", ex.Name, paidOut, want, paidIn)
		}
		top, err := cluster.TopCounterparties(st, members, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(top.To) > 3 || len(top.From) > 3 || len(top.To) > 0 && top.To[0] != cp.To[0] || len(top.From) > 0 && top.From[0] != cp.From[0] {
			t.Errorf("top 3: %+v", top)
		}
		for i := 1; i < len(cp.To); i++ {
			if cp.To[i].Value > cp.To[i-1].Value {
				t.Fatalf("payees not by value")
			}
		}
		t.Logf("%s (%d addresses): %d payers (%d sat), %d payees (%d sat)", ex.Name, len(members), len(cp.From), paidIn, len(cp.To), paidOut)
	})

	t.Run("describe", func(t *testing.T) {
		ctx := context.Background()
		ex := truth.Exchanges[0]
		var root store.AddrID
		for _, d := range ex.Deposits {
			if root = rootOf(t, c, parse(t, d)); root != 0 {
				break
			}
		}
		var members []address.Addr
		if err := c.Members(root, 0, func(_ store.AddrID, a address.Addr) bool { members = append(members, a); return true }); err != nil {
			t.Fatal(err)
		}
		var received, balance int64
		for _, a := range members {
			if err := st.AddressOutputs(a, store.OutPoint{}, func(o store.AddrOutput) bool {
				received += o.Value
				if !o.Spent {
					balance += o.Value
				}
				return true
			}); err != nil {
				t.Fatal(err)
			}
		}
		top, err := cluster.TopCounterparties(st, members, 2)
		if err != nil {
			t.Fatal(err)
		}
		opt := cluster.DescribeOptions{Limit: 3, ScanLimit: len(members), Top: 2}
		d, err := cluster.Describe(ctx, st, params, root, address.Addr{}, opt)
		if err != nil {
			t.Fatal(err)
		}
		if d.ID != uint64(root) || d.Size != int64(len(members)) || !d.Totals || d.Received != received || d.Balance != balance ||
			d.FirstSeen < 0 || d.LastSeen < d.FirstSeen || len(d.Page) != min(3, len(members)) || (len(members) > 3) != (d.Next != 0) {
			t.Errorf("Describe(%d) = %+v; want %d members, received %d, balance %d", root, d, len(members), received, balance)
		}
		if len(d.Payers) != len(top.From) || len(d.Payees) != len(top.To) || len(d.Payers) > 0 && d.Payers[0].Value != top.From[0].Value {
			t.Errorf("counterparties %+v / %+v; want those of TopCounterparties %+v", d.Payers, d.Payees, top)
		}
		// By address: the same entity.
		byAddr, err := cluster.Describe(ctx, st, params, 0, members[0], opt)
		if err != nil || byAddr.ID != d.ID || byAddr.Received != d.Received {
			t.Errorf("Describe by address = %+v, %v; want entity %d", byAddr, err, d.ID)
		}
		// Past the scan limit: no totals, no counterparties.
		opt.ScanLimit = len(members) - 1
		if big, err := cluster.Describe(ctx, st, params, root, address.Addr{}, opt); err != nil || big.Totals || big.Received != 0 || big.Payers != nil {
			t.Errorf("Describe past the scan limit = %+v, %v; want no totals", big, err)
		}
		if _, err := cluster.Describe(ctx, st, params, 1<<40, address.Addr{}, opt); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Describe of an absent id: %v, want store.ErrNotFound", err)
		}
		empty, err := store.Open(t.TempDir(), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer empty.Close()
		if _, err := cluster.Describe(ctx, empty, params, 1, address.Addr{}, opt); !errors.Is(err, cluster.ErrNoClusters) {
			t.Errorf("Describe on a store without clusters: %v, want ErrNoClusters", err)
		}
	})

	t.Run("trace", func(t *testing.T) { traceWithClusters(t, st, truth, lab) })
}

func mustHash(t testing.TB, s string) (h [32]byte) {
	t.Helper()
	hh, err := chainhashFromString(s)
	if err != nil {
		t.Fatal(err)
	}
	return hh
}

func inputAddrs(t testing.TB, st *store.Store, tx *store.Tx) []address.Addr {
	t.Helper()
	var out []address.Addr
	for _, in := range tx.Inputs {
		p, err := st.TxByNum(in.Prev.Tx)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Outputs[in.Prev.Vout].Addr)
	}
	return out
}

// directLabeler labels the tagged addresses, like the trace command.
func directLabeler(t testing.TB, st *store.Store) tracer.MapLabeler {
	t.Helper()
	lab := tracer.MapLabeler{}
	if err := st.Tags().Each(func(tg sanctions.Tag) error {
		entity := tg.Actor
		if entity == "" {
			entity = tg.Label
		}
		lab[parse(t, tg.Address)] = tracer.Label{Entity: entity, Category: tg.Category, Source: tg.Pack, Via: "tag"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return lab
}

// traceWithClusters traces the case under every model, with tags alone and
// with cluster labels: with clusters every tainted deposit into a swept
// (clustered) address is a direct hit carrying the truth's taint to the
// satoshi, recall rises, and every hit is a true deposit.
func traceWithClusters(t *testing.T, st *store.Store, truth *chaingen.Truth, cl *cluster.Labeler) {
	direct := directLabeler(t, st)
	var seeds []tracer.Seed
	for _, s := range truth.Seeds {
		seeds = append(seeds, tracer.Seed{Addr: parse(t, s.Address), Label: s.Entity})
	}
	hotOf := map[string]map[string]bool{}
	for _, ex := range truth.Exchanges {
		hotOf[ex.Actor] = map[string]bool{}
		for _, h := range ex.HotWallets {
			hotOf[ex.Actor][h] = true
		}
	}
	x, err := flow.Open(context.Background(), st, flow.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	for _, m := range taint.Models {
		t.Run(m.String(), func(t *testing.T) {
			tm := chaingen.TaintModel(m.String())
			var g tracer.Graph = st
			run := func(lab tracer.Labeler) map[string]tracer.Hit {
				r, err := tracer.Forward(context.Background(), g, lab, seeds, tracer.Options{Model: m, Params: params, MaxHops: 200})
				if err != nil {
					t.Fatal(err)
				}
				hits := map[string]tracer.Hit{}
				for _, h := range r.Hits {
					hits[fmt.Sprintf("%s:%d", h.Txid, h.Vout)] = h
				}
				return hits
			}
			before := run(direct)
			after := run(tracer.Labelers{direct, cl})
			// The walk over the flow index sees only address keys and
			// asks the cluster labeler for its members' keys: same hits.
			g = &tracer.FlowGraph{Graph: st, Flow: x}
			if viaFlow := run(tracer.Labelers{direct, cl}); fmt.Sprint(viaFlow) != fmt.Sprint(after) {
				t.Errorf("hits over the flow index differ:\n%v\n%v", viaFlow, after)
			}
			if err := cl.Err(); err != nil {
				t.Fatal(err)
			}
			deposits := map[string]bool{}
			var want, directHits, clusterHits, unreachable int
			for _, d := range truth.Deposits {
				key := fmt.Sprintf("%s:%d", d.Txid, d.Vout)
				deposits[key] = true
				tt := d.Taint.Get(tm)
				if tt == 0 {
					continue
				}
				want++
				if _, ok := before[key]; ok {
					directHits++
				}
				h, ok := after[key]
				if !ok {
					if l, labeled := cl.Label(parse(t, d.Address)); d.Tagged || labeled {
						t.Errorf("deposit %s (%s, tagged %v, cluster label %v) not a hit", key, d.Exchange, d.Tagged, l)
					} else {
						unreachable++
					}
					continue
				}
				if h.Tainted != tt {
					t.Errorf("deposit %s: tainted %d, truth %d", key, h.Tainted, tt)
				}
				if d.Tagged {
					continue
				}
				clusterHits++
				if h.Via != "cluster" || h.LinkTxid == "" {
					t.Errorf("untagged deposit %s: via %q, link %q", key, h.Via, h.LinkTxid)
					continue
				}
				// Every union inside an exchange's deposit cluster is a sweep
				// into one of its hot wallets.
				link, err := st.Tx(mustHash(t, h.LinkTxid))
				if err != nil {
					t.Fatal(err)
				}
				if len(link.Outputs) != 1 || !hotOf[h.Entity][link.Outputs[0].Addr.String(params)] {
					t.Errorf("deposit %s linked by %s, not a sweep into %s's hot wallet", key, h.LinkTxid, h.Entity)
				}
			}
			for key, h := range after {
				if !deposits[key] {
					t.Errorf("hit %s (%s via %s) is not a deposit of the truth", key, h.Entity, h.Via)
				}
			}
			for _, c := range truth.Clean {
				for _, cm := range c.CleanUnder {
					if _, ok := after[fmt.Sprintf("%s:%d", c.Txid, c.Vout)]; ok && cm == tm {
						t.Errorf("clean output %s:%d flagged", c.Txid, c.Vout)
					}
				}
			}
			t.Logf("%s: %d tainted deposits; direct hits with tags alone %d, with clusters %d (+%d via cluster), %d in no cluster",
				m, want, directHits, directHits+clusterHits, clusterHits, unreachable)
			if clusterHits == 0 {
				t.Error("clustering found no untagged deposit")
			}
		})
	}
}

// spends2 returns the distinct transactions spending outputs paid to a.
func spends2(t testing.TB, st *store.Store, a address.Addr) []*store.Tx {
	seen := map[store.TxNum]bool{}
	var out []*store.Tx
	for _, tx := range spends(t, st, a) {
		if !seen[tx.Num] {
			seen[tx.Num] = true
			out = append(out, tx)
		}
	}
	return out
}
