package graphview

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/tracer-oss/tracer/tracer"
)

// Node kinds.
const (
	KindTx      = "tx"      // a transaction
	KindAddress = "address" // an address (a hit, a holding, a seed, a stop)
	KindEntity  = "entity"  // the addresses of one clustered entity, drawn as one node
)

// Node is one node of the graph. ID is "t:"+txid, "a:"+address or
// "e:"+entity; Key is what notes and expansions name it by (the txid, the
// address or the entity).
type Node struct {
	ID        string   `json:"id"`
	Key       string   `json:"key"`
	Kind      string   `json:"kind"`
	Txid      string   `json:"txid,omitempty"`
	Address   string   `json:"address,omitempty"`
	Addresses []string `json:"addresses,omitempty"` // entity nodes: the member addresses drawn
	Entity    string   `json:"entity,omitempty"`
	Category  string   `json:"category,omitempty"` // sanctioned, exchange, mixer, ...
	TagSource string   `json:"tag_source,omitempty"`
	Via       string   `json:"via,omitempty"` // tag | cluster
	Height    int32    `json:"height"`
	Time      string   `json:"time,omitempty"`
	Hops      int      `json:"hops"`
	Value     int64    `json:"value_sat"`   // value of the outputs drawn through it
	Tainted   int64    `json:"tainted_sat"` // tainted value through it
	Share     float64  `json:"share"`       // tainted / value, 0..1
	End       string   `json:"end,omitempty"`
	Hit       bool     `json:"hit,omitempty"`
	Seed      bool     `json:"seed,omitempty"`   // a seed's funding tx or a seed address
	Target    bool     `json:"target,omitempty"` // backward: the address of interest
	OnPath    bool     `json:"on_path,omitempty"`
	Expanded  bool     `json:"expanded,omitempty"` // added by an expansion, not by the trace
	Note      string   `json:"note,omitempty"`
	// Exposure summarises an address's exposure from the store's exposure
	// index ("not indexed" when the store has none); see Annotate.
	Exposure string `json:"exposure,omitempty"`
	// Hidden: an investigator hid the branch from this node (the viewer
	// hides it and what only it leads to).
	Hidden bool `json:"hidden,omitempty"`
}

// Edge is value moving from one node to another.
type Edge struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Vout    uint32 `json:"vout"`
	Address string `json:"address,omitempty"`
	Value   int64  `json:"value_sat"`
	Tainted int64  `json:"tainted_sat"`
	End     string `json:"end,omitempty"`
	OnPath  bool   `json:"on_path,omitempty"`
}

// Counts are what a page states of the graph; they are counted from the
// nodes, so the page and the drawing agree.
type Counts struct {
	Transactions int `json:"transactions"`
	Addresses    int `json:"addresses"`
	Entities     int `json:"entities"`
	Hits         int `json:"hits"` // edges into hits: one per hit output, as the trace counts hits
	Edges        int `json:"edges"`
}

// Graph is what the viewer draws.
type Graph struct {
	Direction string `json:"direction"` // forward | backward
	Nodes     []Node `json:"nodes"`
	Edges     []Edge `json:"edges"`
	Counts    Counts `json:"counts"`
	// Truncated: the trace's graph was capped (tracer.Result.GraphTruncated),
	// or Cap dropped nodes.
	Truncated bool `json:"truncated,omitempty"`
	// Capped: Cap left Omitted nodes (and OmittedEdges edges) out so a
	// browser can draw the rest; every hit, seed and path to a hit is kept.
	Capped       bool `json:"capped"`
	Omitted      int  `json:"omitted"`
	OmittedEdges int  `json:"omitted_edges"`

	byID  map[string]int
	edges map[edgeKey]bool
}

type edgeKey struct {
	from, to string
	vout     uint32
}

// Options tune FromResult.
type Options struct {
	// Time, if set, gives the UTC time of a block height for the details.
	Time func(height int32) string
	// Notes by node key (txid, address or entity).
	Notes map[string]string
}

// TxID is the node id of a transaction.
func TxID(txid string) string { return "t:" + txid }

// AddrID is the node id of an address.
func AddrID(addr string) string { return "a:" + addr }

// EntityID is the node id of an entity.
func EntityID(e string) string { return "e:" + e }

// Node returns the node with id, or nil.
func (g *Graph) Node(id string) *Node {
	if g.byID == nil {
		g.index()
	}
	if i, ok := g.byID[id]; ok {
		return &g.Nodes[i]
	}
	return nil
}

func (g *Graph) index() {
	g.byID = make(map[string]int, len(g.Nodes))
	for i, n := range g.Nodes {
		g.byID[n.ID] = i
	}
}

// Add adds n unless a node of its id exists, and returns the node in the
// graph.
func (g *Graph) Add(n Node) *Node {
	if old := g.Node(n.ID); old != nil {
		return old
	}
	g.Nodes = append(g.Nodes, n)
	g.byID[n.ID] = len(g.Nodes) - 1
	return &g.Nodes[len(g.Nodes)-1]
}

// AddEdge adds e unless an edge with the same ends and output exists.
func (g *Graph) AddEdge(e Edge) {
	if g.edges == nil {
		g.edges = make(map[edgeKey]bool, len(g.Edges))
		for _, o := range g.Edges {
			g.edges[edgeKey{o.From, o.To, o.Vout}] = true
		}
	}
	k := edgeKey{e.From, e.To, e.Vout}
	if g.edges[k] {
		return
	}
	g.edges[k] = true
	g.Edges = append(g.Edges, e)
}

// FromResult builds the graph of a trace result. Forward, money flows from
// the seeds (left) to the hits and holdings (right); backward, from the
// sources (left) to the address of interest (right): in both, edges point
// the way money moved.
func FromResult(r *tracer.Result, opt Options) *Graph {
	g := &Graph{Direction: r.Params.Direction, Truncated: r.GraphTruncated, byID: map[string]int{}}
	if g.Direction == "" {
		g.Direction = "forward"
	}
	b := &builder{g: g, r: r, backward: g.Direction == "backward", heights: txHeights(r),
		seeds: map[string]bool{}, outVal: map[string]int64{}, outTaint: map[string]int64{}}
	b.hitAt, b.onPath = hitsAndPaths(r)
	b.addTxs()
	b.addSeeds()
	edges := slices.Clone(r.Edges)
	slices.SortStableFunc(edges, func(a, b tracer.Edge) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.Vout, b.Vout), cmp.Compare(a.To, b.To))
	})
	for _, e := range edges {
		b.addEdge(e)
	}
	if b.backward {
		b.payTarget()
	} else {
		b.markFunding()
	}
	for i := range g.Nodes {
		b.finishNode(&g.Nodes[i], opt)
	}
	for i := range g.Edges {
		e := &g.Edges[i]
		e.OnPath = b.onPath[e.From] && b.onPath[e.To]
	}
	g.Finish()
	return g
}

// builder is the state FromResult's steps share while they draw one result.
type builder struct {
	g        *Graph
	r        *tracer.Result
	backward bool
	hitAt    map[string]tracer.Hit // the first hit of each output, by txid:vout
	onPath   map[string]bool       // node ids on a path to a hit
	heights  map[string]int32      // by txid
	seeds    map[string]bool       // seed addresses
	// Value and tainted value leaving each tx over the drawn edges, for its share.
	outVal, outTaint map[string]int64
}

// hitsAndPaths indexes the hits by output and collects the node ids on
// their paths.
func hitsAndPaths(r *tracer.Result) (hitAt map[string]tracer.Hit, onPath map[string]bool) {
	hitAt, onPath = map[string]tracer.Hit{}, map[string]bool{}
	for _, h := range r.Hits {
		k := outKey(h.Txid, h.Vout)
		if _, ok := hitAt[k]; !ok {
			hitAt[k] = h
		}
		for _, s := range h.Path {
			onPath[TxID(s.Txid)] = true
		}
		onPath[TxID(h.Txid)] = true
		onPath[hitNodeID(h)] = true
		onPath[AddrID(h.SeedAddress)] = true
	}
	return hitAt, onPath
}

// txHeights are the heights of the result's transactions: its nodes', and
// for a hit's tx not among them, the hit's.
func txHeights(r *tracer.Result) map[string]int32 {
	heights := map[string]int32{}
	for _, n := range r.Nodes {
		heights[n.Txid] = n.Height
	}
	for _, h := range r.Hits {
		if _, ok := heights[h.Txid]; !ok {
			heights[h.Txid] = h.Height
		}
	}
	return heights
}

// addTxs adds the result's transactions; forward, its seeds' are marked.
func (b *builder) addTxs() {
	for _, n := range b.r.Nodes {
		b.g.Add(Node{ID: TxID(n.Txid), Key: n.Txid, Kind: KindTx, Txid: n.Txid, Height: n.Height, Hops: n.Hops,
			Tainted: n.Tainted, Seed: n.Seed && !b.backward})
	}
}

// tx is the node of txid, added at hops if new.
func (b *builder) tx(txid string, hops int) *Node {
	return b.g.Add(Node{ID: TxID(txid), Key: txid, Kind: KindTx, Txid: txid, Height: b.heights[txid], Hops: hops})
}

// addSeeds adds the seed addresses: forward the seeds, backward the
// address of interest.
func (b *builder) addSeeds() {
	for _, s := range b.r.Seeds {
		b.seeds[s.Address] = true
		n := b.g.Add(Node{ID: AddrID(s.Address), Key: s.Address, Kind: KindAddress, Address: s.Address, Entity: s.Label,
			TagSource: s.Source, Value: s.Received, Tainted: s.Received, Share: 1})
		if b.backward {
			n.Target = true
		} else {
			n.Seed = true
			if s.Label != "" {
				n.Category = "sanctioned"
			}
		}
	}
}

// addEdge draws one trace edge: straight from tx to tx, or through the
// address node of its output when the output is a hit, an end or a seed.
func (b *builder) addEdge(e tracer.Edge) {
	from := b.tx(e.From, 0)
	fromID, fromHops, fromHeight := from.ID, from.Hops, from.Height
	b.outVal[fromID] += e.Value
	b.outTaint[fromID] += e.Tainted
	mid := b.through(e, fromHeight, fromHops)
	if mid == nil {
		if e.To != "" {
			to := b.tx(e.To, fromHops+1)
			b.g.AddEdge(Edge{From: fromID, To: to.ID, Vout: e.Vout, Address: e.Address, Value: e.Value, Tainted: e.Tainted})
		}
		return
	}
	mid.Value += e.Value
	mid.Tainted += e.Tainted
	mid.Height = max(mid.Height, fromHeight)
	mid.Hops = max(mid.Hops, fromHops+1)
	b.g.AddEdge(Edge{From: fromID, To: mid.ID, Vout: e.Vout, Address: e.Address, Value: e.Value, Tainted: e.Tainted, End: e.End})
	if e.To != "" {
		to := b.tx(e.To, fromHops+1)
		b.g.AddEdge(Edge{From: mid.ID, To: to.ID, Vout: e.Vout, Address: e.Address, Value: e.Value, Tainted: e.Tainted})
	}
}

// through is the address node e's value passes through, or nil when it is
// drawn straight to the next tx. An output without an address is drawn as
// its outpoint.
func (b *builder) through(e tracer.Edge, fromHeight int32, fromHops int) *Node {
	if h, ok := b.hitAt[outKey(e.From, e.Vout)]; ok && e.End == "hit" {
		return hitNode(b.g, h)
	}
	if e.End == "" && !b.seeds[e.Address] {
		return nil
	}
	a := e.Address
	id := AddrID(a)
	if a == "" {
		a, id = outKey(e.From, e.Vout), "o:"+outKey(e.From, e.Vout)
	}
	return b.g.Add(Node{ID: id, Key: a, Kind: KindAddress, Address: e.Address, End: e.End, Height: fromHeight, Hops: fromHops + 1})
}

// payTarget draws, backward, the seed (hops 0) transactions paying the
// address of interest.
func (b *builder) payTarget() {
	for _, n := range b.r.Nodes {
		if n.Seed && len(b.r.Seeds) > 0 {
			s := b.r.Seeds[0]
			b.g.AddEdge(Edge{From: TxID(n.Txid), To: AddrID(s.Address), Address: s.Address, Value: n.Tainted, Tainted: n.Tainted})
		}
	}
}

// markFunding marks, forward, the transactions funding a seed address as
// seeds too.
func (b *builder) markFunding() {
	for _, e := range b.g.Edges {
		if n := b.g.Node(e.To); n != nil && n.Seed && n.Kind == KindAddress {
			if f := b.g.Node(e.From); f != nil {
				f.Seed = true
			}
		}
	}
}

// finishNode sets n's value and share (a tx's from the edges leaving it),
// whether it is on a path to a hit, its time and its note.
func (b *builder) finishNode(n *Node, opt Options) {
	if n.Kind == KindTx {
		if v := b.outVal[n.ID]; v > 0 {
			n.Value = v
			n.Share = float64(b.outTaint[n.ID]) / float64(v)
			if n.Tainted == 0 {
				n.Tainted = b.outTaint[n.ID]
			}
		}
	} else if n.Value > 0 && n.Share == 0 {
		n.Share = float64(n.Tainted) / float64(n.Value)
	}
	n.Share = min(max(n.Share, 0), 1)
	n.OnPath = b.onPath[n.ID]
	if opt.Time != nil && n.Height > 0 {
		n.Time = opt.Time(n.Height)
	}
	if note, ok := opt.Notes[n.Key]; ok {
		n.Note = note
	}
}

// MaxNodes is the cap on the nodes a browser is given to draw (the HTML
// report and the /case page).
const MaxNodes = 20_000

// Cap keeps at most max nodes for a browser to draw: every hit, seed,
// target, noted, hidden or expanded node, node on a path to a hit and node
// whose id is in pin, then the earliest others (by height); edges to
// dropped nodes go too. It returns how many nodes it dropped.
func (g *Graph) Cap(max int, pin ...string) int {
	if len(g.Nodes) <= max {
		return 0
	}
	keep := g.kept(max, pin)
	nodes := g.Nodes[:0]
	for _, x := range g.Nodes {
		if keep[x.ID] {
			nodes = append(nodes, x)
		}
	}
	dropped := len(g.Nodes) - len(nodes)
	g.Nodes = nodes
	edges := g.Edges[:0]
	for _, e := range g.Edges {
		if keep[e.From] && keep[e.To] {
			edges = append(edges, e)
		}
	}
	g.OmittedEdges += len(g.Edges) - len(edges)
	g.Edges, g.edges = edges, nil
	g.Truncated, g.Capped, g.Omitted = true, true, g.Omitted+dropped
	g.Finish()
	return dropped
}

// kept are the ids of the nodes Cap keeps: every one that matters to the
// investigator (see mustKeep) or is pinned, then the earliest others up
// to max.
func (g *Graph) kept(max int, pin []string) map[string]bool {
	keep := map[string]bool{}
	pinned := map[string]bool{}
	for _, id := range pin {
		pinned[id] = true
	}
	n := 0
	for _, x := range g.Nodes {
		if mustKeep(&x) || pinned[x.ID] {
			keep[x.ID] = true
			n++
		}
	}
	for _, x := range g.Nodes { // sorted by height
		if n >= max {
			break
		}
		if !keep[x.ID] {
			keep[x.ID] = true
			n++
		}
	}
	return keep
}

// mustKeep: hits, seeds, the target, nodes on a path to a hit, and what an
// investigator noted, hid or expanded.
func mustKeep(x *Node) bool {
	return x.Hit || x.Seed || x.Target || x.OnPath || x.Note != "" || x.Hidden || x.Expanded
}

// Clone returns a copy of g that Cap, Add and AddEdge change without
// changing g.
func (g *Graph) Clone() *Graph {
	c := *g
	c.Nodes, c.Edges = slices.Clone(g.Nodes), slices.Clone(g.Edges)
	for i := range c.Nodes {
		c.Nodes[i].Addresses = slices.Clone(c.Nodes[i].Addresses)
	}
	c.byID, c.edges = nil, nil
	c.index()
	return &c
}

// Finish sorts the nodes (by height, then id), re-indexes and counts.
func (g *Graph) Finish() {
	slices.SortStableFunc(g.Nodes, func(a, b Node) int {
		return cmp.Or(cmp.Compare(a.Height, b.Height), cmp.Compare(a.ID, b.ID))
	})
	g.index()
	c := Counts{Edges: len(g.Edges)}
	for _, n := range g.Nodes {
		switch n.Kind {
		case KindTx:
			c.Transactions++
		case KindAddress:
			c.Addresses++
		case KindEntity:
			c.Entities++
		}
	}
	for _, e := range g.Edges {
		if e.End == "hit" {
			c.Hits++
		}
	}
	g.Counts = c
	if g.Nodes == nil {
		g.Nodes = []Node{}
	}
	if g.Edges == nil {
		g.Edges = []Edge{}
	}
}

func hitNodeID(h tracer.Hit) string {
	if h.Via == "cluster" && h.Entity != "" {
		return EntityID(h.Entity)
	}
	return AddrID(h.Address)
}

// hitNode is the node a hit's output is drawn into: its address, or with a
// cluster label its entity (one node for all its addresses).
func hitNode(g *Graph, h tracer.Hit) *Node {
	id := hitNodeID(h)
	n := g.Node(id)
	if n == nil {
		nn := Node{ID: id, Kind: KindAddress, Key: h.Address, Address: h.Address, Entity: h.Entity, Category: h.Category,
			TagSource: h.TagSource, Via: h.Via, Height: h.Height, Time: h.Time, Hops: h.Hops, End: "hit", Hit: true}
		if id != AddrID(h.Address) {
			nn.Kind, nn.Key, nn.Address = KindEntity, h.Entity, ""
		}
		n = g.Add(nn)
	}
	n.Hit, n.End = true, "hit"
	if n.Entity == "" {
		n.Entity, n.Category, n.TagSource, n.Via = h.Entity, h.Category, h.TagSource, h.Via
	}
	if n.Kind == KindEntity && !slices.Contains(n.Addresses, h.Address) {
		n.Addresses = append(n.Addresses, h.Address)
	}
	return n
}

func outKey(txid string, vout uint32) string {
	return txid + ":" + strconv.FormatUint(uint64(vout), 10)
}
