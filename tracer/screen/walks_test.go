package screen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"testing"

	"github.com/tracer-oss/tracer/sanctions"
	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/sanctions/tags"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/internal/scamstore"
)

// walkRecords is the index as it was built before the one pass: one
// tracer.Forward walk per source group (and per category with several
// groups, one from all of them for its total), kept here as the
// reference the one pass must equal.
func walkRecords(ctx context.Context, st Store, opt Options) (map[string]Record, error) {
	if err := opt.normalize(false); err != nil {
		return nil, err
	}
	src, err := LoadSources(st, opt.Params)
	if err != nil {
		return nil, err
	}
	acc := map[string]map[string]*categoryAcc{}
	slots, seeds := slotsOf(src)
	for i, sl := range slots {
		topt := tracer.Options{Model: opt.model(), MaxHops: opt.MaxHops, MinValue: opt.MinValue, MaxTxs: math.MaxInt32,
			WideOutputs: math.MaxInt32, StopCategories: src.barriers(opt.Clusters), Params: opt.Params, MaxGraph: math.MaxInt32, MaxListed: 1}
		res, err := tracer.Forward(ctx, st, opt.labels(src), seeds[i], topt)
		if errors.Is(err, tracer.ErrNoSeeds) {
			continue
		}
		if err != nil {
			return nil, err
		}
		nodes := map[string]*tracer.Node{}
		pred := map[string]string{}
		predAmt := map[string]int64{}
		for j := range res.Nodes {
			nodes[res.Nodes[j].Txid] = &res.Nodes[j]
		}
		for _, e := range res.Edges {
			if e.To != "" {
				if p, ok := pred[e.To]; !ok || e.Tainted > predAmt[e.To] || e.Tainted == predAmt[e.To] && e.From < p {
					pred[e.To], predAmt[e.To] = e.From, e.Tainted
				}
			}
		}
		for _, e := range res.Edges {
			if e.Tainted <= 0 || e.Address == "" {
				continue
			}
			a, err := address.Parse(e.Address, opt.Params)
			if err != nil || src.IsSource(a) {
				continue
			}
			cats := acc[e.Address]
			if cats == nil {
				cats = map[string]*categoryAcc{}
				acc[e.Address] = cats
			}
			c := cats[sl.category]
			if c == nil {
				c = &categoryAcc{}
				cats[sl.category] = c
			}
			hops := 0
			if n := nodes[e.From]; n != nil {
				hops = n.Hops
			}
			out := e.From + ":" + strconv.Itoa(int(e.Vout))
			if sl.combined || sl.single {
				c.total(e.Tainted, e.Value, out, opt.Poison)
			}
			if !sl.combined {
				from := e.From
				c.add(sl.entity, e.Tainted, e.Value, out, hops, opt.Poison, func() []tracer.Step {
					var p []tracer.Step
					for cur, k := from, 0; cur != "" && k <= opt.MaxHops+1; k++ {
						n := nodes[cur]
						if n == nil {
							break
						}
						p = append([]tracer.Step{{Txid: cur, Height: n.Height}}, p...)
						if n.Seed {
							break
						}
						cur = pred[cur]
					}
					return p
				})
			}
		}
	}
	out := map[string]Record{}
	for s, cats := range acc {
		a, _ := address.Parse(s, opt.Params)
		var received int64
		if err := st.AddressOutputs(a, store.OutPoint{}, func(o store.AddrOutput) bool { received += o.Value; return true }); err != nil {
			return nil, err
		}
		out[s] = record(received, cats, opt.TopSources)
	}
	return out, nil
}

// TestOnePassEqualsWalks: on the scam-centre chain with its list, its
// exchange tags and risky entities taken from its own addresses (several
// per category, so category totals come from the combined column), the
// one-pass index equals the per-group forward walks address by address:
// received, every category's amount, hops and nearest source, and every
// top source's amount, hops and example path. Haircut rounds per group
// exactly as each walk does (floor per output), so there is no rounding
// difference to bound: the comparison is exact.
func TestOnePassEqualsWalks(t *testing.T) {
	ctx := context.Background()
	st := scamstore.Writable(t, 3000)
	// Risky entities from the chain's own outputs: 3 categories × 3.
	p := &tags.Pack{Title: "risky", Source: "risky.yaml"}
	abuses := []string{tags.AbuseRansomware, tags.AbuseScam, tags.AbuseMixing}
	for n := store.TxNum(300); n < st.State().NextTx && len(p.Tags) < 27; n += 97 {
		tx, err := st.TxByNum(n)
		if err != nil {
			t.Fatal(err)
		}
		a := tx.Outputs[0].Addr.String(scamstore.Params)
		g := len(p.Tags) % 9
		p.Tags = append(p.Tags, sanctions.Tag{Address: a, Currency: "BTC", Label: fmt.Sprint("risky-", g), Actor: fmt.Sprint("risky-", g),
			Abuse: abuses[g%3], Confidence: "forensic", Pack: "risky.yaml"})
	}
	if _, err := st.Tags().SavePack(ctx, p); err != nil {
		t.Fatal(err)
	}
	for _, opt := range []Options{
		{Params: scamstore.Params, MaxHops: 200, UndoDepth: -1, TopSources: 20},
		{Params: scamstore.Params, MaxHops: 200, Poison: true, UndoDepth: -1, TopSources: 20},
		{Params: scamstore.Params, MaxHops: 6, MinValue: 50_000, UndoDepth: 5, TopSources: 20},
		{Params: scamstore.Params, MaxHops: 200, UndoDepth: -1, TopSources: 20, accBudget: 300}, // merged in the store many times
	} {
		t.Run(fmt.Sprintf("poison=%v hops=%d min=%d budget=%d", opt.Poison, opt.MaxHops, opt.MinValue, opt.accBudget), func(t *testing.T) {
			want, err := walkRecords(ctx, st, opt)
			if err != nil {
				t.Fatal(err)
			}
			hdr, err := BuildIndex(ctx, st, opt)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]Record{}
			rd, err := NewReader(st, hdr, opt.Params, opt.TopSources)
			if err != nil {
				t.Fatal(err)
			}
			err = rd.ForEach(ctx, func(a string, r Record) error {
				got[a] = r
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(want) < 50 {
				t.Fatalf("the walks expose only %d addresses: too few to compare", len(want))
			}
			bad, paths := 0, 0
			for a, w := range want {
				g := got[a]
				if len(w.Exposures) == 0 {
					if _, ok := got[a]; ok && len(g.Exposures) > 0 {
						bad++
					}
					continue
				}
				if !reflect.DeepEqual(g, w) {
					// Report the first few differences in full.
					if bad++; bad <= 3 {
						gj, _ := json.Marshal(g)
						wj, _ := json.Marshal(w)
						t.Errorf("%s:\none pass %s\nwalks    %s", a, gj, wj)
					}
				}
				for _, e := range w.Exposures {
					paths += len(e.Sources)
				}
			}
			if bad > 0 {
				t.Fatalf("%d of %d addresses differ", bad, len(want))
			}
			t.Logf("%d addresses, %d example paths equal", len(want), paths)
		})
	}
}
