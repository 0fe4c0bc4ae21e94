package report

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"time"

	"github.com/tracer-oss/tracer/tracer"
)

// The fixture is a forward haircut trace from two sanctioned wallets (three
// seed outputs) through 16 transactions to 7 deposits at 3 exchanges, with
// holdings, dust and limits. Txids and addresses are synthetic (hashes of
// names); amounts balance exactly, and the totals are computed from the
// graph as the tracer does, so the fixture obeys the Totals identity.

const bech32Chars = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// fxTxid is a realistic-looking txid: the hex SHA-256 of name.
func fxTxid(name string) string {
	h := sha256.Sum256([]byte("tx " + name))
	return hex.EncodeToString(h[:])
}

// fxAddr is a realistic-looking P2WPKH address derived from name.
func fxAddr(name string) string {
	h := sha256.Sum256([]byte("addr " + name))
	b := []byte("bc1q")
	for i := 0; len(b) < 42; i++ {
		b = append(b, bech32Chars[(h[i%32]>>(i/32*3))&31])
	}
	return string(b)
}

func fxTime(height int32) string {
	t := time.Date(2023, 7, 24, 3, 14, 15, 0, time.UTC).Add(time.Duration(height-800000) * 9 * time.Minute)
	return t.Format(timeLayout)
}

const btc = 100_000_000

type fxBuilder struct {
	r       *tracer.Result
	partial bool
	maxHops int // in a partial trace, transactions beyond this hop were not visited
	nodes   map[string]*tracer.Node
	parent  map[string]string // child txid -> parent txid
	seedOf  map[string]string // txid -> seed address
}

func (f *fxBuilder) tx(name string, height int32, hops int) {
	if f.partial && hops > f.maxHops {
		return
	}
	id := fxTxid(name)
	f.r.Nodes = append(f.r.Nodes, tracer.Node{Txid: id, Height: height, Hops: hops})
	f.nodes[id] = &f.r.Nodes[len(f.r.Nodes)-1]
}

func (f *fxBuilder) seed(name string, height int32, seedAddr string) {
	f.r.Nodes = append(f.r.Nodes, tracer.Node{Txid: fxTxid(name), Height: height, Seed: true})
	f.seedOf[fxTxid(name)] = seedAddr
}

func (f *fxBuilder) node(name string) *tracer.Node {
	for i := range f.r.Nodes {
		if f.r.Nodes[i].Txid == fxTxid(name) {
			return &f.r.Nodes[i]
		}
	}
	return nil
}

// flow moves tainted value from an output of from into to.
func (f *fxBuilder) flow(from string, vout uint32, to, addr string, value, tainted int64) {
	if f.node(from) == nil {
		return
	}
	if f.node(to) == nil { // not visited: the branch was cut by the limit
		f.end(from, vout, addr, "limit", value, tainted)
		return
	}
	f.r.Edges = append(f.r.Edges, tracer.Edge{From: fxTxid(from), Vout: vout, To: fxTxid(to), Address: fxAddr(addr), Value: value, Tainted: tainted})
	f.parent[fxTxid(to)] = fxTxid(from)
	f.seedOf[fxTxid(to)] = f.seedOf[fxTxid(from)]
}

func (f *fxBuilder) end(from string, vout uint32, addr, end string, value, tainted int64) {
	n := f.node(from)
	if n == nil {
		return
	}
	f.r.Edges = append(f.r.Edges, tracer.Edge{From: n.Txid, Vout: vout, Address: fxAddr(addr), Value: value, Tainted: tainted, End: end})
	switch end {
	case "holding":
		f.r.Holdings = append(f.r.Holdings, tracer.Holding{Address: fxAddr(addr), Txid: n.Txid, Vout: vout, Height: n.Height, Hops: n.Hops, Value: value, Tainted: tainted})
	}
}

func (f *fxBuilder) hit(from string, vout uint32, addr, entity, via string, value, tainted int64) {
	n := f.node(from)
	if n == nil {
		return
	}
	f.end(from, vout, addr, "hit", value, tainted)
	var path []tracer.Step
	for id := n.Txid; f.nodes[id] != nil; id = f.parent[id] {
		path = append([]tracer.Step{{Txid: id, Height: f.nodes[id].Height}}, path...)
	}
	h := tracer.Hit{
		Entity: entity, Category: "exchange", TagSource: "walletexplorer-2024-05 (v2)", Via: via,
		Address: fxAddr(addr), Txid: n.Txid, Vout: vout, Height: n.Height, Time: fxTime(n.Height),
		Hops: n.Hops, Value: value, Tainted: tainted, Share: float64(tainted) / float64(value),
		SeedAddress: f.seedOf[n.Txid], Path: path,
	}
	if via == "cluster" {
		h.LinkTxid = fxTxid("cluster link " + addr)
	}
	f.r.Hits = append(f.r.Hits, h)
}

// fixture returns the full trace, or with partial, the same trace stopped
// after hop 2.
func fixture(partial bool) *tracer.Result {
	seedA, seedB := fxAddr("seed A"), fxAddr("seed B")
	r := &tracer.Result{
		SchemaVersion: 1,
		Params: tracer.Params{
			Direction: "forward", Model: "haircut", MaxHops: 12, MinValue: 10_000,
			SinceHeight: 799_000, UntilHeight: 0, MaxTxs: 100_000, WideOutputs: 100,
			StopCategories: []string{"exchange"},
			Started:        time.Date(2025, 11, 20, 9, 30, 0, 0, time.UTC),
			ElapsedSeconds: 3.75, TxsVisited: 19, StoreReadsPerTx: 4.21,
		},
		Data: tracer.DataInfo{
			Network: "mainnet", TipHeight: 872_104,
			TipHash:       "00000000000000000001a3c7e6f0b6d2f1c1d0e9a6b2c3d4e5f60718293a4b5c",
			SanctionsList: "OFAC SDN 2025-11-19 (version 3)",
			TagPacks:      []string{"walletexplorer-2024-05 (v2)", "exchanges-curated 2025-10 (v7)"},
		},
		Seeds: []tracer.SeedInfo{
			{Address: seedA, Label: "GARANTEX EUROPE OU", Source: "OFAC SDN 2025-11-19, profile 37358", Outputs: 2, Received: 65 * btc / 10},
			{Address: seedB, Label: "SUEX OTC, S.R.O.", Source: "OFAC SDN 2025-11-19, profile 31498", Outputs: 1, Received: 3 * btc},
		},
	}
	f := &fxBuilder{r: r, partial: partial, maxHops: 2, nodes: map[string]*tracer.Node{}, parent: map[string]string{}, seedOf: map[string]string{}}
	r.Nodes = make([]tracer.Node, 0, 32) // pointers into it stay valid
	f.seed("S1", 800_000, seedA)
	f.seed("S2", 800_150, seedA)
	f.seed("S3", 800_020, seedB)
	for _, t := range []struct {
		name   string
		height int32
		hops   int
	}{
		{"T1", 800_012, 1}, {"T2", 800_161, 1}, {"T3", 800_031, 1},
		{"T4", 800_040, 2}, {"T5", 800_055, 2}, {"T6", 800_060, 2}, {"T9", 800_200, 2}, {"T10", 800_075, 2},
		{"T7", 800_090, 3}, {"T8", 800_100, 3}, {"T11", 800_110, 3}, {"T14", 800_240, 3}, {"T15", 800_120, 3},
		{"T12", 800_130, 4}, {"T13", 800_140, 4}, {"T16", 800_170, 5},
	} {
		f.tx(t.name, t.height, t.hops)
	}
	for i := range r.Nodes {
		f.nodes[r.Nodes[i].Txid] = &r.Nodes[i]
	}
	for _, s := range []string{"S1", "S2", "S3"} {
		delete(f.nodes, fxTxid(s)) // paths exclude the seed's funding tx
	}

	f.flow("S1", 0, "T1", "seed A", 5*btc, 5*btc)
	f.flow("S2", 1, "T2", "seed A", 15*btc/10, 15*btc/10)
	f.flow("S3", 0, "T3", "seed B", 3*btc, 3*btc)

	f.flow("T1", 0, "T4", "a1", 2*btc, 2*btc)
	f.flow("T1", 1, "T5", "a2", 299_950_000, 299_950_000)
	f.hit("T2", 0, "huobi 1", "Huobi", "tag", 80_000_000, 80_000_000)
	f.flow("T2", 1, "T9", "a3", 69_990_000, 69_990_000)
	f.flow("T3", 0, "T6", "a4", 120_000_000, 120_000_000)
	f.flow("T3", 1, "T10", "a5", 179_990_000, 179_990_000)

	f.hit("T4", 0, "binance 1", "Binance", "tag", 120_000_000, 120_000_000)
	f.flow("T4", 1, "T7", "a6", 79_980_000, 79_980_000)
	f.flow("T5", 0, "T8", "a7", 150_000_000, 150_000_000)
	f.end("T5", 1, "hold 1", "holding", 149_940_000, 149_940_000)
	f.hit("T6", 0, "kraken 1", "Kraken", "cluster", 100_000_000, 60_000_000) // mixed with 0.8 BTC clean
	f.flow("T6", 1, "T11", "a8", 99_990_000, 59_990_000)
	f.end("T9", 0, "hold 2", "holding", 30_000_000, 30_000_000)
	f.flow("T9", 1, "T14", "a9", 39_980_000, 39_980_000)
	f.flow("T10", 0, "T15", "a10", 90_000_000, 90_000_000)
	f.end("T10", 1, "limit 1", "limit", 89_980_000, 89_980_000)

	f.hit("T7", 0, "binance 2", "Binance", "tag", 50_000_000, 50_000_000)
	f.flow("T7", 1, "T12", "a11", 29_970_000, 29_970_000)
	f.end("T7", 2, "dust 1", "dust", 5_000, 5_000)
	f.flow("T8", 0, "T13", "a12", 149_990_000, 149_990_000)
	f.hit("T11", 0, "kraken 2", "Kraken", "tag", 90_000_000, 54_000_000)
	f.end("T11", 1, "hold 3", "holding", 9_980_000, 5_980_000)
	f.end("T14", 0, "dust 2", "dust", 8_000, 8_000)
	f.end("T14", 1, "hold 5", "holding", 39_970_000, 39_970_000)
	f.end("T15", 0, "window 1", "window", 89_990_000, 89_990_000)

	f.hit("T12", 0, "huobi 2", "Huobi", "tag", 29_960_000, 29_960_000)
	f.end("T13", 0, "hold 4", "holding", 75_000_000, 75_000_000)
	f.flow("T13", 1, "T16", "a13", 74_980_000, 74_980_000)
	f.hit("T16", 0, "binance 1", "Binance", "tag", 74_970_000, 74_970_000) // the same deposit address again

	// Tainted in per node, hits in chain order, totals from the graph.
	in, out := map[string]int64{}, map[string]int64{}
	t := &r.Totals
	t.PerEntity = map[string]int64{}
	for _, e := range r.Edges {
		out[e.From] += e.Tainted
		if e.To != "" {
			in[e.To] += e.Tainted
		}
		switch e.End {
		case "dust":
			t.Dust += e.Tainted
		case "limit", "window", "wide":
			t.Cut += e.Tainted
		}
	}
	for i := range r.Nodes {
		n := &r.Nodes[i]
		if n.Seed {
			n.Tainted = out[n.Txid]
			t.Traced += out[n.Txid]
			continue
		}
		n.Tainted = in[n.Txid]
		t.Fees += in[n.Txid] - out[n.Txid]
	}
	sort.SliceStable(r.Hits, func(i, j int) bool { return r.Hits[i].Height < r.Hits[j].Height })
	for _, h := range r.Hits {
		t.ToEntities += h.Tainted
		t.PerEntity[h.Entity] += h.Tainted
	}
	for _, h := range r.Holdings {
		t.Unspent += h.Tainted
	}
	t.Hits = len(r.Hits)
	if partial {
		r.Partial = true
		r.PartialWhy = "interrupted (SIGINT) after 11 transactions"
		r.Params.TxsVisited = 11
		r.Params.ElapsedSeconds = 1.2
	}
	return r
}

// backwardFixture is a small backward trace: the address of interest was
// paid by S (hops 0), funded by F (hops 1), funded by X, an output of a
// labelled source; and by Y, a second source's output two hops back.
func backwardFixture() *tracer.Result {
	target, src1, src2 := fxAddr("target"), fxAddr("mixer 1"), fxAddr("scam 1")
	S, F, G, X, Y := fxTxid("S"), fxTxid("F"), fxTxid("G"), fxTxid("X"), fxTxid("Y")
	return &tracer.Result{
		SchemaVersion: 1,
		Params:        tracer.Params{Direction: "backward", Model: "haircut", MaxHops: 10, MinValue: 546, MaxTxs: 1000, WideOutputs: 1000, StopCategories: []string{"exchange"}},
		Data:          tracer.DataInfo{Network: "regtest", TipHeight: 500, TipHash: "00ff"},
		Seeds:         []tracer.SeedInfo{{Address: target, Outputs: 1, Received: 3 * btc}},
		Nodes: []tracer.Node{
			{Txid: S, Height: 400, Hops: 0, Tainted: 3 * btc, Seed: true},
			{Txid: F, Height: 300, Hops: 1, Tainted: 2 * btc},
			{Txid: G, Height: 200, Hops: 2, Tainted: btc},
		},
		Edges: []tracer.Edge{
			{From: F, Vout: 0, To: S, Address: fxAddr("f out"), Value: 2 * btc, Tainted: 2 * btc},
			{From: X, Vout: 1, To: S, Address: src1, Value: btc, Tainted: btc, End: "hit"},
			{From: G, Vout: 0, To: F, Address: fxAddr("g out"), Value: 2 * btc, Tainted: btc},
			{From: Y, Vout: 0, To: G, Address: src2, Value: btc, Tainted: btc, End: "hit"},
		},
		Hits: []tracer.Hit{
			{Entity: "Mixer One", Category: "mixer", Via: "tag", Address: src1, Txid: X, Vout: 1, Height: 350, Hops: 1, Value: btc, Tainted: btc, Share: 1,
				SeedAddress: target, Path: []tracer.Step{{Txid: X, Height: 350}, {Txid: S, Height: 400}}},
			{Entity: "Scam Two", Category: "scam", Via: "tag", Address: src2, Txid: Y, Vout: 0, Height: 150, Hops: 3, Value: btc, Tainted: btc, Share: 1,
				SeedAddress: target, Path: []tracer.Step{{Txid: Y, Height: 150}, {Txid: G, Height: 200}, {Txid: F, Height: 300}, {Txid: S, Height: 400}}},
		},
		Totals: tracer.Totals{Traced: 3 * btc, ToEntities: 2 * btc, PerEntity: map[string]int64{"Mixer One": btc, "Scam Two": btc}, Hits: 2},
	}
}
