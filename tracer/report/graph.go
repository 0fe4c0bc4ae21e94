package report

import (
	"sort"
	"strconv"

	"github.com/tracer-oss/tracer/tracer"
)

// Node kinds of the drawn flow graph.
const (
	kindTx      = "tx"      // a transaction
	kindSeed    = "seed"    // a seed's funding transaction
	kindHit     = "hit"     // an address of a labelled entity (end "hit")
	kindHolding = "holding" // an address holding tainted unspent outputs
	kindStop    = "stop"    // an address where the branch stopped: dust, limit, window, wide
	kindFlow    = "flow"    // edge kind: tx to tx
)

// Colours shared by DOT, SVG and HTML. hitColour is also what the browser
// test looks for in the screenshot: keep it unique on the page.
const (
	hitColour     = "#d62728"
	holdingColour = "#1f77b4"
	stopColour    = "#7f7f7f"
	seedColour    = "#ffbf00"
	flowColour    = "#4d4d4d"
	txFill        = "#f2f2f2"
)

// maxHopsDrawn bounds hop counts from a bad result so hops+1 cannot overflow.
const maxHopsDrawn = 1 << 20

// gnode is a node of the drawn graph: a transaction or an end address.
type gnode struct {
	ID      string
	Kind    string
	Txid    string // tx nodes
	Address string // end nodes
	Entity  string // hit nodes
	End     string // end nodes: the first edge's End (hit, holding, dust, limit, ...)
	Height  int32
	Hops    int
	Tainted int64 // tx: tainted in; end: sum of tainted edges into it
	Edges   int   // end nodes: edges into it
}

// gedge is tainted value moving between two gnodes.
type gedge struct {
	From, To string
	Kind     string // flow, or the end node's kind
	Vout     uint32
	Tainted  int64
}

// graph is the result's flow graph in drawing order.
type graph struct {
	Nodes []*gnode // by hops, height, id
	Edges []gedge  // by from, vout, to
	byID  map[string]*gnode
}

func endKind(end string) string {
	switch end {
	case "hit":
		return kindHit
	case "holding":
		return kindHolding
	}
	return kindStop
}

func outKey(txid string, vout uint32) string {
	return txid + ":" + strconv.FormatUint(uint64(vout), 10)
}

// buildGraph turns r's nodes and edges into the drawn graph: one node per
// transaction (seeds marked), one end node per (end kind, address) with
// byAddress or else per ending output, and tx nodes made up for edges
// naming a transaction missing from r.Nodes. The result is independent of
// the order of r's slices. The SVG keeps end nodes per output so each sits
// in the column after its transaction; DOT merges them per address, which
// shows a deposit address used twice and which Graphviz lays out well.
func buildGraph(r *tracer.Result, byAddress bool) *graph {
	g := &graph{byID: map[string]*gnode{}}
	nodes := append([]tracer.Node(nil), r.Nodes...)
	sort.SliceStable(nodes, func(i, j int) bool { return nodes[i].Txid < nodes[j].Txid })
	for _, n := range nodes {
		k := kindTx
		if n.Seed {
			k = kindSeed
		}
		hops := min(max(n.Hops, 0), maxHopsDrawn)
		g.add(&gnode{ID: "t:" + n.Txid, Kind: k, Txid: n.Txid, Height: n.Height, Hops: hops, Tainted: n.Tainted})
	}
	entity := map[string]string{}
	for _, h := range r.Hits {
		if _, ok := entity[outKey(h.Txid, h.Vout)]; !ok {
			entity[outKey(h.Txid, h.Vout)] = h.Entity
		}
	}
	edges := append([]tracer.Edge(nil), r.Edges...)
	sort.SliceStable(edges, func(i, j int) bool { return edgeLess(edges[i], edges[j]) })
	for _, e := range edges {
		g.addEdge(e, byAddress, entity)
	}
	sort.SliceStable(g.Nodes, func(i, j int) bool { return nodeLess(g.Nodes[i], g.Nodes[j]) })
	return g
}

// add adds n unless a node of its id is there, and returns the node.
func (g *graph) add(n *gnode) *gnode {
	if old, ok := g.byID[n.ID]; ok {
		return old
	}
	g.byID[n.ID] = n
	g.Nodes = append(g.Nodes, n)
	return n
}

// txNode is txid's node, made up at hops when r.Nodes lacks it.
func (g *graph) txNode(txid string, hops int) *gnode {
	if n, ok := g.byID["t:"+txid]; ok {
		return n
	}
	return g.add(&gnode{ID: "t:" + txid, Kind: kindTx, Txid: txid, Hops: hops})
}

// addEdge draws e: to the next transaction, or to the end node of its
// output (per address with byAddress), which sums what ends there; a hit's
// end node is named after the entity of the hit at that output.
func (g *graph) addEdge(e tracer.Edge, byAddress bool, entity map[string]string) {
	from := g.txNode(e.From, 0)
	if e.To != "" {
		to := g.txNode(e.To, from.Hops+1)
		g.Edges = append(g.Edges, gedge{From: from.ID, To: to.ID, Kind: kindFlow, Vout: e.Vout, Tainted: e.Tainted})
		return
	}
	k := endKind(e.End)
	key := e.Address
	if key == "" || !byAddress {
		key = outKey(e.From, e.Vout)
	}
	n := g.add(&gnode{ID: "a:" + k + ":" + key, Kind: k, End: e.End, Address: e.Address, Height: from.Height, Hops: from.Hops + 1})
	if k == kindHit && n.Entity == "" {
		n.Entity = entity[outKey(e.From, e.Vout)]
	}
	n.Hops = max(n.Hops, from.Hops+1)
	n.Height = max(n.Height, from.Height)
	n.Tainted += e.Tainted
	n.Edges++
	g.Edges = append(g.Edges, gedge{From: from.ID, To: n.ID, Kind: k, Vout: e.Vout, Tainted: e.Tainted})
}

// edgeLess orders edges by from, output, to and address, so the graph does
// not depend on the order of r.Edges.
func edgeLess(a, b tracer.Edge) bool {
	if a.From != b.From {
		return a.From < b.From
	}
	if a.Vout != b.Vout {
		return a.Vout < b.Vout
	}
	if a.To != b.To {
		return a.To < b.To
	}
	return a.Address < b.Address
}

// nodeLess orders nodes by hops, then height, then id.
func nodeLess(a, b *gnode) bool {
	if a.Hops != b.Hops {
		return a.Hops < b.Hops
	}
	if a.Height != b.Height {
		return a.Height < b.Height
	}
	return a.ID < b.ID
}
