package tracer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/sanctions/tags"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/taint"
)

// scamChain is a generated scam-centre chain, ingested once per test binary.
type scamChain struct {
	dir   string
	st    *store.Store
	flow  *tracer.FlowGraph // the same store through its flow index
	truth *chaingen.Truth
	lab   tracer.MapLabeler
	seeds []tracer.Seed
}

var (
	chainOnce sync.Once
	chain     scamChain
	chainErr  error
)

func loadScamChain(t *testing.T) *scamChain {
	t.Helper()
	chainOnce.Do(func() { chainErr = buildScamChain() })
	if chainErr != nil {
		t.Fatal(chainErr)
	}
	return &chain
}

func buildScamChain() error {
	dir, err := tempDir()
	if err != nil {
		return err
	}
	ctx := context.Background()
	if _, err := chaingen.Generate(ctx, chaingen.Config{OutDir: dir, Txs: 6000, Seed: 42}, nil); err != nil {
		return err
	}
	st, err := store.Open(filepath.Join(dir, "db"), store.Options{})
	if err != nil {
		return err
	}
	if _, err := ingest.Run(ctx, st, ingest.Config{Paths: []string{filepath.Join(dir, "blocks")}, StartHeight: -1, ToHeight: -1}); err != nil {
		return err
	}
	truth, err := chaingen.ReadTruth(filepath.Join(dir, "truth.json"))
	if err != nil {
		return err
	}
	// Labels through the real tag-pack loader.
	pack, err := tags.ParsePackFile(ctx, filepath.Join(dir, "tags", "exchanges.yaml"), tags.Options{Network: &chaincfg.RegressionNetParams})
	if err != nil {
		return err
	}
	params := &chaincfg.RegressionNetParams
	lab := tracer.MapLabeler{}
	for _, tg := range pack.Tags {
		a, err := address.Parse(tg.Address, params)
		if err != nil {
			return fmt.Errorf("tag %s: %w", tg.Address, err)
		}
		entity := tg.Actor
		if entity == "" {
			entity = tg.Label
		}
		lab[a] = tracer.Label{Entity: entity, Category: tg.Category, Source: pack.Title}
	}
	var seeds []tracer.Seed
	for _, s := range truth.Seeds {
		a, err := address.Parse(s.Address, params)
		if err != nil {
			return err
		}
		seeds = append(seeds, tracer.Seed{Addr: a, Label: s.Entity})
	}
	x, err := flow.Open(ctx, st, flow.Options{ChunkTxs: 1000})
	if err != nil {
		return err
	}
	chain = scamChain{dir: dir, st: st, flow: &tracer.FlowGraph{Graph: st, Flow: x}, truth: truth, lab: lab, seeds: seeds}
	return nil
}

func truthModel(m taint.Model) chaingen.TaintModel {
	return chaingen.TaintModel(m.String())
}

// TestForwardAgainstTruth traces the scam-centre scenario from its seeds
// under every model and compares with the generator's ground truth: every
// tagged deposit is a hit carrying the truth's tainted amount to the
// satoshi, every untagged tainted deposit is caught where its sweep reaches
// a tagged hot wallet, every truth path to a tagged deposit is in the flow
// graph, and no clean deposit is flagged.
func TestForwardAgainstTruth(t *testing.T) {
	c := loadScamChain(t)
	for _, g := range c.graphs() {
		for _, m := range taint.Models {
			t.Run(g.name+"/"+m.String(), func(t *testing.T) { forwardAgainstTruth(t, c, g.g, m) })
		}
	}
}

type namedGraph struct {
	name string
	g    tracer.Graph
}

// graphs are the two ways a forward walk reads the chain.
func (c *scamChain) graphs() []namedGraph {
	return []namedGraph{{"store", c.st}, {"flow", c.flow}}
}

func forwardAgainstTruth(t *testing.T, c *scamChain, g tracer.Graph, m taint.Model) {
	res, err := tracer.Forward(context.Background(), g, c.lab, c.seeds, tracer.Options{Model: m, Params: &chaincfg.RegressionNetParams, MaxHops: 200})
	if err != nil {
		t.Fatal(err)
	}
	hits := map[string]tracer.Hit{}
	for _, h := range res.Hits {
		hits[fmt.Sprintf("%s:%d", h.Txid, h.Vout)] = h
	}
	edges := map[[2]string]bool{}
	for _, e := range res.Edges {
		if e.To != "" {
			edges[[2]string{e.From, e.To}] = true
		}
	}
	tm := truthModel(m)
	var want, found, exact, viaSweep int
	trueHit := map[string]bool{}
	for _, d := range c.truth.Deposits {
		tt := d.Taint.Get(tm)
		if tt == 0 {
			continue
		}
		want++
		key := fmt.Sprintf("%s:%d", d.Txid, d.Vout)
		if d.Tagged {
			h, ok := hits[key]
			if !ok {
				t.Errorf("tagged deposit %s (%s, %d sat tainted) not found", key, d.Exchange, tt)
				continue
			}
			found++
			trueHit[key] = true
			if h.Tainted == tt {
				exact++
			} else {
				t.Errorf("deposit %s: tainted %d, truth %d", key, h.Tainted, tt)
			}
			continue
		}
		// Untagged: without clustering the trace stops where the
		// exchange's sweep pays a tagged hot wallet.
		ok := false
		for k, h := range hits {
			if h.Txid == d.SweepTxid {
				ok = true
				trueHit[k] = true
			}
		}
		if ok {
			found++
			viaSweep++
		} else if d.SweepTxid != "" {
			t.Errorf("untagged deposit %s: no hit at its sweep %s", key, d.SweepTxid)
		}
	}
	// Every hit's path is a chain of the graph's edges from a seed's
	// funding transaction to the hit's transaction.
	seedTx := map[string]bool{}
	for _, n := range res.Nodes {
		if n.Seed {
			seedTx[n.Txid] = true
		}
	}
	for _, h := range res.Hits {
		if len(h.Path) == 0 || h.Path[len(h.Path)-1].Txid != h.Txid {
			if !seedTx[h.Txid] {
				t.Errorf("hit %s:%d: path %v does not end at it", h.Txid, h.Vout, h.Path)
			}
			continue
		}
		from := false
		for s := range seedTx {
			from = from || edges[[2]string{s, h.Path[0].Txid}]
		}
		if !from {
			t.Errorf("hit %s:%d: path starts at %s, which no seed transaction pays", h.Txid, h.Vout, h.Path[0].Txid)
		}
		for i := 1; i < len(h.Path); i++ {
			if !edges[[2]string{h.Path[i-1].Txid, h.Path[i].Txid}] {
				t.Errorf("hit %s:%d: path step %s → %s is no edge", h.Txid, h.Vout, h.Path[i-1].Txid, h.Path[i].Txid)
			}
		}
	}
	for _, p := range c.truth.Paths {
		if !p.Tagged || hits[fmt.Sprintf("%s:%d", p.DepositTxid, p.DepositVout)].Txid == "" {
			continue
		}
		for i := 1; i < len(p.Txids); i++ {
			if !edges[[2]string{p.Txids[i-1], p.Txids[i]}] {
				t.Errorf("path %v: edge %s → %s missing", p.Txids, p.Txids[i-1], p.Txids[i])
			}
		}
	}
	// Precision: clean deposits must not be hits.
	falsePos := 0
	for _, cl := range c.truth.Clean {
		for _, cm := range cl.CleanUnder {
			if cm == tm {
				if _, ok := hits[fmt.Sprintf("%s:%d", cl.Txid, cl.Vout)]; ok {
					falsePos++
					t.Errorf("clean output %s:%d flagged", cl.Txid, cl.Vout)
				}
			}
		}
	}
	tp := len(trueHit)
	t.Logf("%s: recall %d/%d tainted deposits (%d exact to the satoshi, %d via sweep); hits %d, true %d, clean flagged %d; visited %d txs",
		m, found, want, exact, viaSweep, len(res.Hits), tp, falsePos, res.Params.TxsVisited)
	if found != want || want == 0 {
		t.Fatalf("recall %d/%d", found, want)
	}
	// Conservation of totals (poison copies taint, so it is exempt).
	tot := res.Totals
	if m != taint.Poison && tot.Traced != tot.ToEntities+tot.Unspent+tot.Fees+tot.Dust+tot.Cut {
		t.Errorf("totals do not add up: %+v", tot)
	}
}

// TestFlowMatchesStore: a walk over the flow index gives the same result,
// field for field, as the walk over the store, for every model, with and
// without tainted fees, and under every limit; and it reads the store
// far less.
func TestFlowMatchesStore(t *testing.T) {
	c := loadScamChain(t)
	limits := []struct {
		name string
		mod  func(*tracer.Options)
	}{
		{"none", func(*tracer.Options) {}},
		{"fees tainted", func(o *tracer.Options) { o.FeesTainted = true }},
		{"max hops 2", func(o *tracer.Options) { o.MaxHops = 2 }},
		{"until", func(o *tracer.Options) { o.UntilHeight = c.st.State().Height - 10 }},
		{"dust", func(o *tracer.Options) { o.MinValue = 50_000_000 }},
		{"max txs", func(o *tracer.Options) { o.MaxTxs = 5 }},
		{"wide", func(o *tracer.Options) { o.WideOutputs = 2 }},
		{"small graph", func(o *tracer.Options) { o.MaxGraph, o.MaxListed = 40, 3 }},
		{"no stop", func(o *tracer.Options) { o.StopCategories = []string{} }},
	}
	for _, m := range taint.Models {
		for _, l := range limits {
			t.Run(m.String()+"/"+l.name, func(t *testing.T) {
				opt := tracer.Options{Model: m, Params: &chaincfg.RegressionNetParams, MaxHops: 200}
				l.mod(&opt)
				a, err := tracer.Forward(context.Background(), c.st, c.lab, c.seeds, opt)
				if err != nil {
					t.Fatal(err)
				}
				b, err := tracer.Forward(context.Background(), c.flow, c.lab, c.seeds, opt)
				if err != nil {
					t.Fatal(err)
				}
				if a.Params.TxsVisited == 0 {
					t.Fatal("nothing visited")
				}
				// The flow walk reads the store for the addresses of the
				// outputs it records; with the graph capped, hardly at all.
				if l.name == "small graph" {
					t.Logf("store reads per visited tx: store %.2f, flow %.2f", a.Params.StoreReadsPerTx, b.Params.StoreReadsPerTx)
					if b.Params.StoreReadsPerTx >= a.Params.StoreReadsPerTx/2 {
						t.Errorf("the flow walk read the store %.2f times per tx, the store walk %.2f", b.Params.StoreReadsPerTx, a.Params.StoreReadsPerTx)
					}
				}
				for _, r := range []*tracer.Result{a, b} {
					r.Params.ElapsedSeconds, r.Params.StoreReadsPerTx, r.Params.Started = 0, 0, time.Time{}
				}
				ja, _ := json.Marshal(a)
				jb, _ := json.Marshal(b)
				if string(ja) != string(jb) {
					t.Fatalf("results differ:\nstore %s\nflow  %s", ja, jb)
				}
			})
		}
	}
}

// TestForwardDeterministic: the same trace twice gives the same result.
func TestForwardDeterministic(t *testing.T) {
	c := loadScamChain(t)
	opt := tracer.Options{Model: taint.Haircut, Params: &chaincfg.RegressionNetParams}
	a, err := tracer.Forward(context.Background(), c.st, c.lab, c.seeds, opt)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tracer.Forward(context.Background(), c.st, c.lab, c.seeds, opt)
	if err != nil {
		t.Fatal(err)
	}
	a.Params.ElapsedSeconds, b.Params.ElapsedSeconds = 0, 0
	a.Params.Started, b.Params.Started = b.Params.Started, a.Params.Started
	if fmt.Sprint(a.Hits, a.Edges, a.Totals, a.Nodes) != fmt.Sprint(b.Hits, b.Edges, b.Totals, b.Nodes) {
		t.Fatal("two runs differ")
	}
}

// TestConservationInWalk checks, for every model but poison, that tainted
// value is conserved across every transaction the walk visited: what enters
// equals what leaves on its outputs plus the fee's share.
func TestConservationInWalk(t *testing.T) {
	c := loadScamChain(t)
	for _, m := range taint.Models[1:] {
		for _, ft := range []bool{false, true} {
			res, err := tracer.Forward(context.Background(), c.st, c.lab, c.seeds, tracer.Options{Model: m, FeesTainted: ft, Params: &chaincfg.RegressionNetParams, MaxHops: 200})
			if err != nil {
				t.Fatal(err)
			}
			in, out := map[string]int64{}, map[string]int64{}
			for _, e := range res.Edges {
				out[e.From] += e.Tainted
				if e.To != "" {
					in[e.To] += e.Tainted
				}
			}
			checked := 0
			for _, n := range res.Nodes {
				if n.Seed {
					continue
				}
				checked++
				if in[n.Txid] != out[n.Txid]+n.Fee {
					t.Errorf("%v fees-tainted=%v: tx %s: %d in, %d out + %d fee", m, ft, n.Txid, in[n.Txid], out[n.Txid], n.Fee)
				}
			}
			if checked == 0 {
				t.Fatalf("%v: no transaction checked", m)
			}
		}
	}
}

// TestLimits: hop, window, dust and visit limits cut the walk and say so,
// and the totals still add up.
func TestLimits(t *testing.T) {
	c := loadScamChain(t)
	base := tracer.Options{Model: taint.Haircut, Params: &chaincfg.RegressionNetParams}
	full, err := tracer.Forward(context.Background(), c.st, c.lab, c.seeds, base)
	if err != nil {
		t.Fatal(err)
	}
	maxHeight := int32(0)
	for _, n := range full.Nodes {
		maxHeight = max(maxHeight, n.Height)
	}
	tests := []struct {
		name string
		mod  func(*tracer.Options)
		ok   func(*tracer.Result) bool
	}{
		{"max hops 2", func(o *tracer.Options) { o.MaxHops = 2 }, func(r *tracer.Result) bool {
			for _, h := range r.Hits {
				if h.Hops > 2 {
					return false
				}
			}
			return r.Totals.Cut > 0
		}},
		{"until", func(o *tracer.Options) { o.UntilHeight = maxHeight - 10 }, func(r *tracer.Result) bool {
			for _, h := range r.Hits {
				if h.Height > maxHeight-10 {
					return false
				}
			}
			return r.Totals.Cut > 0
		}},
		{"dust", func(o *tracer.Options) { o.MinValue = 50_000_000 }, func(r *tracer.Result) bool { return r.Totals.Dust > 0 }},
		{"max txs", func(o *tracer.Options) { o.MaxTxs = 5 }, func(r *tracer.Result) bool { return r.Partial && r.Params.TxsVisited <= 5 }},
		{"wide", func(o *tracer.Options) { o.WideOutputs = 2 }, func(r *tracer.Result) bool { return r.Totals.Cut > 0 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opt := base
			tc.mod(&opt)
			r, err := tracer.Forward(context.Background(), c.st, c.lab, c.seeds, opt)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.ok(r) {
				t.Errorf("limit not applied: totals %+v, partial %v", r.Totals, r.Partial)
			}
			if tot := r.Totals; tot.Traced != tot.ToEntities+tot.Unspent+tot.Fees+tot.Dust+tot.Cut {
				t.Errorf("totals do not add up: %+v", tot)
			}
			if r.Totals.ToEntities > full.Totals.ToEntities {
				t.Errorf("a limit increased what reached entities: %d > %d", r.Totals.ToEntities, full.Totals.ToEntities)
			}
		})
	}
}
