package screen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer"
)

// IndexStore is a store the index can be written to. *store.Store
// implements it.
type IndexStore interface {
	Store
	NewExposureIndex() (*store.ExposureWriter, error)
}

// BuildIndex computes the exposure of every address reached from a source
// by one forward walk per source group (sanctioned entity, or risky tag
// entity), and stores it as a new index generation. The per-group walks
// make the per-source breakdown exact; under haircut their sum is the
// combined exposure, since haircut is linear (up to floor rounding).
func BuildIndex(ctx context.Context, st IndexStore, opt Options) (store.ExposureIndex, error) {
	if err := opt.normalize(false); err != nil {
		return store.ExposureIndex{}, err
	}
	state := st.State()
	src, err := LoadSources(st, opt.Params)
	if err != nil {
		return store.ExposureIndex{}, err
	}
	acc := map[string]map[string]*categoryAcc{}
	poison := opt.Poison
	barriers := src.barriers(opt.Clusters)
	labels := opt.labels(src)
	partial := false
	last := time.Now()
	// One walk per group gives each source's share; where a category has
	// several groups, one more walk from all of them gives its total
	// (rounded once, as a combined trace would, rather than per source).
	groups, perCat := []Group{}, map[string][]Group{}
	for _, g := range src.Groups {
		perCat[g.Category] = append(perCat[g.Category], g)
	}
	for _, cat := range sortedKeys(perCat) {
		gs := perCat[cat]
		groups = append(groups, gs...)
		if len(gs) > 1 {
			all := Group{Category: cat, combined: true}
			for _, g := range gs {
				all.Seeds = append(all.Seeds, g.Seeds...)
			}
			groups = append(groups, all)
		}
	}
	for gi, g := range groups {
		if err := ctx.Err(); err != nil {
			return store.ExposureIndex{}, err
		}
		// Every edge of the walk is an exposure: the flow graph is not
		// capped.
		topt := tracer.Options{Model: opt.model(), MaxHops: opt.MaxHops, MinValue: opt.MinValue, MaxTxs: opt.MaxTxs,
			WideOutputs: math.MaxInt32, StopCategories: barriers, Params: opt.Params, MaxGraph: math.MaxInt32, MaxListed: 1}
		if opt.Progress != nil {
			topt.Progress = func(visited, pending int) {
				opt.Progress(fmt.Sprintf("index: walk %d/%d (%s %s): %d transactions visited, %d queued", gi+1, len(groups), g.Category, g.Entity, visited, pending))
			}
			if time.Since(last) > time.Second {
				last = time.Now()
				opt.Progress(fmt.Sprintf("index: walk %d/%d (%s %s)", gi+1, len(groups), g.Category, g.Entity))
			}
		}
		var graph tracer.Graph = st
		if opt.Flow != nil {
			graph = &tracer.FlowGraph{Graph: st, Flow: opt.Flow}
		}
		res, err := tracer.Forward(ctx, graph, labels, g.Seeds, topt)
		if errors.Is(err, tracer.ErrNoSeeds) {
			continue // no listed address of the entity received anything in the store's range
		}
		if err != nil {
			return store.ExposureIndex{}, fmt.Errorf("screen: index walk from %s %q: %w", g.Category, g.Entity, err)
		}
		if res.Partial {
			if err := ctx.Err(); err != nil {
				return store.ExposureIndex{}, err
			}
			partial = true
		}
		nodes := flowNodes(res)
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
			c := cats[g.Category]
			if c == nil {
				c = &categoryAcc{}
				cats[g.Category] = c
			}
			hops := 0
			if n := nodes[e.From]; n != nil {
				hops = n.hops
			}
			out := e.From + ":" + strconv.Itoa(int(e.Vout))
			if g.combined || len(perCat[g.Category]) == 1 {
				c.total(e.Tainted, e.Value, out, poison)
			}
			if !g.combined {
				c.add(g.Entity, e.Tainted, e.Value, out, hops, poison, nodes.pathTo(e.From, opt.MaxHops))
			}
		}
	}
	w, err := st.NewExposureIndex()
	if err != nil {
		return store.ExposureIndex{}, err
	}
	addrs := sortedKeys(acc)
	for i, s := range addrs {
		if i&255 == 0 {
			if err := ctx.Err(); err != nil {
				w.Cancel()
				return store.ExposureIndex{}, err
			}
		}
		a, _ := address.Parse(s, opt.Params)
		var received int64
		if err := st.AddressOutputs(a, store.OutPoint{}, func(o store.AddrOutput) bool {
			received += o.Value
			return true
		}); err != nil {
			w.Cancel()
			return store.ExposureIndex{}, err
		}
		rec := record(received, acc[s], opt.TopSources)
		b, err := json.Marshal(&rec)
		if err == nil {
			err = w.Put(s, b)
		}
		if err != nil {
			w.Cancel()
			return store.ExposureIndex{}, err
		}
	}
	if opt.Clusters != nil {
		if err := opt.Clusters.Err(); err != nil {
			w.Cancel()
			return store.ExposureIndex{}, err
		}
	}
	p, _ := json.Marshal(IndexParams{Model: opt.model().String(), MaxHops: opt.MaxHops, MinValue: opt.MinValue, Partial: partial, Clusters: opt.clusterInfo()})
	return w.Commit(ctx, store.ExposureIndex{ListVersion: src.ListVersion, TipHeight: state.Height, TipHash: state.Hash.String(),
		TagGens: src.TagGens, Params: p})
}

// walkGraph is the walk's transactions with, for each, its most tainted
// predecessor: enough to draw one example path to any output.
type walkGraph map[string]*flowNode

type flowNode struct {
	pred    string
	predAmt int64
	height  int32
	hops    int
	root    bool
}

func flowNodes(res *tracer.Result) walkGraph {
	f := make(walkGraph, len(res.Nodes))
	for _, n := range res.Nodes {
		f[n.Txid] = &flowNode{height: n.Height, hops: n.Hops, root: n.Seed}
	}
	for _, e := range res.Edges {
		if e.To == "" {
			continue
		}
		if n := f[e.To]; n != nil && (n.pred == "" || e.Tainted > n.predAmt || e.Tainted == n.predAmt && e.From < n.pred) {
			n.pred, n.predAmt = e.From, e.Tainted
		}
	}
	return f
}

// pathTo returns a function drawing the path from a source's funding
// transaction to txid; it is called only for the top sources.
func (f walkGraph) pathTo(txid string, maxHops int) func() []tracer.Step {
	return func() []tracer.Step {
		var p []tracer.Step
		for cur, i := txid, 0; cur != "" && i <= maxHops+1; i++ {
			n := f[cur]
			if n == nil {
				break
			}
			p = append(p, tracer.Step{Txid: cur, Height: n.height})
			if n.root {
				break
			}
			cur = n.pred
		}
		for i, j := 0, len(p)-1; i < j; i, j = i+1, j-1 {
			p[i], p[j] = p[j], p[i]
		}
		return p
	}
}
