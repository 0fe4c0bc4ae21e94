package graphview

import (
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/tracer"
)

func txid(s string) string { return strings.Repeat("0", 64-len(s)) + s }

// backwardResult: the target T was paid by S (hops 0), funded by F and by
// X's output at a labelled source; F was funded by a clustered source's
// output in Y.
func backwardResult() *tracer.Result {
	S, F, X, Y := txid("5"), txid("f"), txid("a"), txid("b")
	return &tracer.Result{
		Params: tracer.Params{Direction: "backward"},
		Seeds:  []tracer.SeedInfo{{Address: "target", Received: 300}},
		Nodes:  []tracer.Node{{Txid: S, Height: 400, Seed: true, Tainted: 300}, {Txid: F, Height: 300, Hops: 1, Tainted: 200}},
		Edges: []tracer.Edge{
			{From: F, To: S, Address: "f0", Value: 200, Tainted: 200},
			{From: X, Vout: 1, To: S, Address: "src", Value: 100, Tainted: 100, End: "hit"},
			{From: Y, To: F, Address: "csrc", Value: 400, Tainted: 200, End: "hit"},
		},
		Hits: []tracer.Hit{
			{Entity: "Mixer", Category: "mixer", Via: "tag", Address: "src", Txid: X, Vout: 1, Height: 350, Path: []tracer.Step{{Txid: X}, {Txid: S}}, SeedAddress: "target"},
			{Entity: "Scam", Category: "scam", Via: "cluster", Address: "csrc", Txid: Y, Height: 150, Path: []tracer.Step{{Txid: Y}, {Txid: F}, {Txid: S}}, SeedAddress: "target"},
		},
	}
}

func TestFromResultBackward(t *testing.T) {
	r := backwardResult()
	g := FromResult(r, Options{Notes: map[string]string{"src": "seen before"}, Time: func(h int32) string { return "t" }})
	S, F, X, Y := r.Nodes[0].Txid, r.Nodes[1].Txid, r.Hits[0].Txid, r.Hits[1].Txid
	has := func(from, to string) bool {
		for _, e := range g.Edges {
			if e.From == from && e.To == to {
				return true
			}
		}
		return false
	}
	// Money moves from the sources to the address of interest.
	for _, e := range [][2]string{{TxID(X), AddrID("src")}, {AddrID("src"), TxID(S)}, {TxID(Y), EntityID("Scam")}, {EntityID("Scam"), TxID(F)}, {TxID(F), TxID(S)}, {TxID(S), AddrID("target")}} {
		if !has(e[0], e[1]) {
			t.Errorf("no edge %s -> %s", e[0], e[1])
		}
	}
	if n := g.Node(AddrID("target")); n == nil || !n.Target || n.Seed {
		t.Errorf("target node: %+v", n)
	}
	// The sources' funding transactions have their heights (not 0).
	for id, h := range map[string]int32{TxID(X): 350, TxID(Y): 150} {
		if n := g.Node(id); n == nil || n.Height != h {
			t.Errorf("%s: %+v, want height %d", id, n, h)
		}
	}
	if n := g.Node(EntityID("Scam")); n == nil || n.Kind != KindEntity || !n.Hit || len(n.Addresses) != 1 {
		t.Errorf("clustered source should be drawn as its entity: %+v", n)
	}
	if n := g.Node(AddrID("src")); n == nil || n.Note != "seen before" || !n.OnPath || n.Category != "mixer" {
		t.Errorf("source node: %+v", n)
	}
	want := Counts{Transactions: 4, Addresses: 2, Entities: 1, Hits: 2, Edges: 6}
	if g.Counts != want {
		t.Errorf("counts %+v, want %+v", g.Counts, want)
	}
}

func TestFromResultForwardSeeds(t *testing.T) {
	A, B := txid("1"), txid("2")
	r := &tracer.Result{
		Params: tracer.Params{Direction: "forward"},
		Seeds:  []tracer.SeedInfo{{Address: "seed", Label: "SDN party", Received: 10}},
		Nodes:  []tracer.Node{{Txid: A, Height: 10, Seed: true, Tainted: 10}, {Txid: B, Height: 11, Hops: 1, Tainted: 10}},
		Edges: []tracer.Edge{
			{From: A, To: B, Address: "seed", Value: 10, Tainted: 10},
			{From: B, Vout: 0, Address: "dep", Value: 8, Tainted: 6, End: "hit"},
			{From: B, Vout: 1, Address: "keep", Value: 4, Tainted: 4, End: "holding"},
		},
		Hits: []tracer.Hit{{Entity: "Ex", Category: "exchange", Via: "tag", Address: "dep", Txid: B, Height: 11, Path: []tracer.Step{{Txid: B}}, SeedAddress: "seed"}},
	}
	g := FromResult(r, Options{})
	if n := g.Node(AddrID("seed")); n == nil || !n.Seed || n.Category != "sanctioned" {
		t.Errorf("seed address: %+v", n)
	}
	if n := g.Node(TxID(B)); n == nil || n.Value != 12 || n.Share != 10.0/12 {
		t.Errorf("B: %+v, want value 12 and share 10/12", n)
	}
	if n := g.Node(AddrID("keep")); n == nil || n.End != "holding" || n.Hit {
		t.Errorf("holding: %+v", n)
	}
	if g.Counts.Hits != 1 || g.Counts.Transactions != 2 || g.Counts.Addresses != 3 {
		t.Errorf("counts %+v", g.Counts)
	}
}

func TestCap(t *testing.T) {
	r := backwardResult()
	g := FromResult(r, Options{})
	all := len(g.Nodes)
	if d := g.Cap(all); d != 0 || len(g.Nodes) != all {
		t.Fatalf("Cap(all) dropped %d", d)
	}
	g.Nodes = append(g.Nodes, Node{ID: "t:extra", Kind: KindTx, Height: 999})
	g.AddEdge(Edge{From: TxID(r.Nodes[0].Txid), To: "t:extra"})
	g.Finish()
	if d := g.Cap(all); d != 1 || g.Node("t:extra") != nil || !g.Truncated || g.Omitted != 1 || !g.Capped || g.Counts.Edges != len(g.Edges) {
		t.Errorf("Cap: dropped %d, %+v", d, g.Counts)
	}
	for _, e := range g.Edges {
		if e.To == "t:extra" {
			t.Errorf("edge to a dropped node kept")
		}
	}
	// Hits and paths stay even under a tiny cap.
	g.Cap(1)
	if g.Node(AddrID("src")) == nil || g.Node(EntityID("Scam")) == nil {
		t.Errorf("a hit was dropped")
	}
	// Expanded nodes, hidden ones and pinned ones (where an expansion
	// started) stay too, so an expansion shows on a capped graph.
	g = FromResult(r, Options{})
	all = len(g.Nodes)
	g.Nodes = append(g.Nodes, Node{ID: "t:late", Kind: KindTx, Height: 998}, Node{ID: "t:expanded", Kind: KindTx, Height: 999, Expanded: true},
		Node{ID: "t:hidden", Kind: KindTx, Height: 999, Hidden: true}, Node{ID: "t:origin", Kind: KindTx, Height: 999})
	g.Finish()
	if d := g.Cap(all, "t:origin"); d != 1 || g.Node("t:late") != nil || g.Node("t:expanded") == nil || g.Node("t:hidden") == nil || g.Node("t:origin") == nil {
		t.Errorf("Cap with pins dropped %d: %+v", d, g.Nodes)
	}
}
