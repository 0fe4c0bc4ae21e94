package report

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"sort"
	"strings"

	"github.com/tracer-oss/tracer/tracer"
)

// Geometry of the SVG picture, in pixels. Everything is an integer so the
// output is the same on every machine.
const (
	svgMargin   = 20
	svgHeader   = 92 // title, legend and notes above the columns
	svgBoxW     = 190
	svgBoxH     = 36
	svgColGap   = 100
	svgRowH     = 50
	svgMaxRows  = 40 // a hop layer with more nodes wraps into sub-columns
	svgMinWidth = 760
	svgFont     = "DejaVu Sans Mono, Menlo, Consolas, monospace"
	// edgeLabelMax: with more drawn edges than this, edge labels are left out
	// (they would cover each other); the DOT and JSON keep every amount.
	edgeLabelMax = 400
)

// SVG writes a picture of the flow graph as a standalone SVG document,
// laid out here without Graphviz: one column per hop count, left to right;
// rows by height then id; at most MaxNodes nodes (seeds and hit paths
// first), with a note saying how many were left out.
func (rd Renderer) SVG(w io.Writer, r *tracer.Result) error {
	if r == nil {
		return ErrNilResult
	}
	bw := bufio.NewWriter(w)
	bw.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	writeSVG(bw, r, rd.maxNodes())
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: svg: %w", err)
	}
	return nil
}

// placed is a drawn node and its top-left corner.
type placed struct {
	*gnode
	X, Y int
}

// layout chooses the nodes to draw and places them.
type layout struct {
	Nodes        []placed
	byID         map[string]int
	Edges        []gedge
	Width        int
	Height       int
	HiddenNodes  int
	HiddenEdges  int
	EdgeLabels   bool
	TotalTx      int
	TotalEndNode int
}

// important reports the nodes drawn before any other when the picture is
// capped: seeds, the transactions on hit paths, and the hits.
func important(r *tracer.Result) map[string]bool {
	m := map[string]bool{}
	for _, h := range r.Hits {
		m["t:"+h.Txid] = true
		for _, s := range h.Path {
			m["t:"+s.Txid] = true
		}
	}
	return m
}

func newLayout(r *tracer.Result, maxNodes int) *layout {
	g := buildGraph(r, false)
	lo := &layout{byID: map[string]int{}, TotalTx: countTx(g)}
	lo.TotalEndNode = len(g.Nodes) - lo.TotalTx
	cand := pickNodes(g, important(r))
	if len(cand) > maxNodes {
		lo.HiddenNodes = len(cand) - maxNodes
		cand = cand[:maxNodes]
	}
	sort.SliceStable(cand, func(i, j int) bool { return nodeLess(cand[i], cand[j]) })
	lo.place(hopLayers(cand))
	for _, e := range g.Edges {
		_, okF := lo.byID[e.From]
		_, okT := lo.byID[e.To]
		if !okF || !okT || len(lo.Edges) >= 4*maxNodes {
			lo.HiddenEdges++
			continue
		}
		lo.Edges = append(lo.Edges, e)
	}
	lo.EdgeLabels = len(lo.Edges) <= edgeLabelMax
	return lo
}

// pickNodes orders g's nodes by what a capped drawing keeps first: seeds,
// then hits and the nodes on their paths (imp), then the rest.
func pickNodes(g *graph, imp map[string]bool) []*gnode {
	rank := func(n *gnode) int {
		switch {
		case n.Kind == kindSeed:
			return 0
		case n.Kind == kindHit, imp[n.ID]:
			return 1
		}
		return 2
	}
	cand := append([]*gnode(nil), g.Nodes...)
	sort.SliceStable(cand, func(i, j int) bool {
		if a, b := rank(cand[i]), rank(cand[j]); a != b {
			return a < b
		}
		return nodeLess(cand[i], cand[j])
	})
	return cand
}

// hopLayers groups nodes sorted by hops into one layer per hop count,
// each by height, then id.
func hopLayers(cand []*gnode) [][]*gnode {
	var layers [][]*gnode
	for i, n := range cand {
		if i == 0 || n.Hops != cand[i-1].Hops {
			layers = append(layers, nil)
		}
		layers[len(layers)-1] = append(layers[len(layers)-1], n)
	}
	for _, l := range layers {
		sort.SliceStable(l, func(i, j int) bool {
			if l[i].Height != l[j].Height {
				return l[i].Height < l[j].Height
			}
			return l[i].ID < l[j].ID
		})
	}
	return layers
}

// place lays the layers out left to right, a layer longer than
// svgMaxRows in several columns, each column centred vertically, and sets
// the drawing's size.
func (lo *layout) place(layers [][]*gnode) {
	maxRows := 0
	for _, l := range layers {
		maxRows = max(maxRows, min(len(l), svgMaxRows))
	}
	x := svgMargin
	for _, l := range layers {
		for start := 0; start < len(l); start += svgMaxRows {
			col := l[start:min(start+svgMaxRows, len(l))]
			y0 := svgHeader + (maxRows-len(col))*svgRowH/2
			for i, n := range col {
				lo.byID[n.ID] = len(lo.Nodes)
				lo.Nodes = append(lo.Nodes, placed{gnode: n, X: x, Y: y0 + i*svgRowH})
			}
			x += svgBoxW + svgColGap
		}
	}
	lo.Width = max(svgMinWidth, x-svgColGap+svgMargin)
	lo.Height = svgHeader + maxRows*svgRowH + svgMargin
}

// esc escapes a cleaned string for XML text and attributes.
func esc(s string) string { return html.EscapeString(clean(s)) }

// writeSVG writes the <svg> element (no XML declaration, so it can sit
// inline in HTML).
func writeSVG(w *bufio.Writer, r *tracer.Result, maxNodes int) {
	lo := newLayout(r, maxNodes)
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	svgHead(p, lo, r, maxNodes)
	svgEdges(p, lo)
	svgNodes(p, lo)
	p("</svg>\n")
}

// svgHead writes the <svg> element's start, arrow markers, title, legend
// and notes.
func svgHead(p func(format string, a ...any), lo *layout, r *tracer.Result, maxNodes int) {
	title := fmt.Sprintf("Flow of tainted bitcoin: %s model, %s, %d transactions, %d hits",
		orDash(r.Params.Model), orDash(r.Params.Direction), lo.TotalTx, len(r.Hits))
	if r.Partial {
		title += " (PARTIAL)"
	}
	p(`<svg xmlns="http://www.w3.org/2000/svg" class="flow" width="%d" height="%d" viewBox="0 0 %d %d" font-family="%s" font-size="11" role="img" aria-label="%s">`+"\n",
		lo.Width, lo.Height, lo.Width, lo.Height, svgFont, esc(title))
	p("<title>%s</title>\n", esc(title))
	p("<defs>\n")
	for _, k := range []string{kindFlow, kindHit, kindHolding, kindStop} {
		p(`<marker id="arrow-%s" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="%s"/></marker>`+"\n", k, kindColour(k))
	}
	p("</defs>\n")
	p(`<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`+"\n", lo.Width, lo.Height)
	p(`<text x="%d" y="%d" font-size="14" font-weight="bold">%s</text>`+"\n", svgMargin, svgMargin+6, esc(title))

	// Legend.
	lx, ly := svgMargin, svgMargin+22
	for _, it := range []struct{ fill, stroke, text string }{
		{seedColour, "#8a6d00", "seed funding tx"},
		{txFill, flowColour, "transaction"},
		{hitColour, hitColour, "hit (entity)"},
		{holdingColour, holdingColour, "unspent holding"},
		{stopColour, stopColour, "dust / limit"},
	} {
		p(`<rect x="%d" y="%d" width="14" height="10" fill="%s" stroke="%s"/><text x="%d" y="%d">%s</text>`+"\n", lx, ly, it.fill, it.stroke, lx+18, ly+9, esc(it.text))
		lx += 30 + 7*len(it.text)
	}
	note := "columns: hops from the seed (left to right); rows: by height; edge labels: tainted BTC"
	if !lo.EdgeLabels {
		note = "columns: hops from the seed (left to right); rows: by height; edge labels left out (too many edges)"
	}
	p(`<text x="%d" y="%d" fill="#555555">%s</text>`+"\n", svgMargin, svgMargin+48, esc(note))
	if lo.HiddenNodes > 0 || lo.HiddenEdges > 0 {
		p(`<text x="%d" y="%d" fill="#555555" font-weight="bold">%s</text>`+"\n", svgMargin, svgMargin+64,
			esc(fmt.Sprintf("%d more nodes and %d more edges not drawn (cap %d nodes); see the DOT or JSON output for all", lo.HiddenNodes, lo.HiddenEdges, maxNodes)))
	}
	if len(lo.Nodes) == 0 {
		p(`<text x="%d" y="%d">%s</text>`+"\n", svgMargin, svgHeader+20, esc("no tainted flow to draw"))
	}
}

// svgEdges writes the edges (under the nodes) and their labels.
func svgEdges(p func(format string, a ...any), lo *layout) {
	p(`<g class="edges" fill="none">` + "\n")
	for _, e := range lo.Edges {
		a, b := lo.Nodes[lo.byID[e.From]], lo.Nodes[lo.byID[e.To]]
		x1, y1 := a.X+svgBoxW, a.Y+svgBoxH/2
		x2, y2 := b.X, b.Y+svgBoxH/2
		dx := max((x2-x1)/2, 40)
		width := 1
		if e.Kind == kindHit {
			width = 2
		}
		p(`<path class="edge %s" d="M%d,%d C%d,%d %d,%d %d,%d" stroke="%s" stroke-width="%d" marker-end="url(#arrow-%s)"/>`+"\n",
			e.Kind, x1, y1, x1+dx, y1, x2-dx, y2, x2, y2, kindColour(e.Kind), width, e.Kind)
	}
	p("</g>\n")
	if lo.EdgeLabels {
		p(`<g class="edge-labels" font-size="9" text-anchor="middle" stroke="#ffffff" stroke-width="3" paint-order="stroke">` + "\n")
		for _, e := range lo.Edges {
			a, b := lo.Nodes[lo.byID[e.From]], lo.Nodes[lo.byID[e.To]]
			mx, my := (a.X+svgBoxW+b.X)/2, (a.Y+b.Y+svgBoxH)/2-3
			p(`<text x="%d" y="%d" fill="%s">%s</text>`+"\n", mx, my, kindColour(e.Kind), BTC(e.Tainted))
		}
		p("</g>\n")
	}
}

// svgNodes writes the nodes.
func svgNodes(p func(format string, a ...any), lo *layout) {
	p(`<g class="nodes">` + "\n")
	for _, n := range lo.Nodes {
		st := styleOf(n)
		p(`<g class="node %s"><title>%s</title><rect x="%d" y="%d" width="%d" height="%d" rx="4" fill="%s" stroke="%s" stroke-width="%d"/>`,
			n.Kind, esc(st.tip), n.X, n.Y, svgBoxW, svgBoxH, st.fill, st.stroke, st.sw)
		p(`<text x="%d" y="%d" fill="%s">%s</text><text x="%d" y="%d" fill="%s">%s</text></g>`+"\n",
			n.X+6, n.Y+14, st.textFill, esc(st.l1), n.X+6, n.Y+29, st.textFill, esc(st.l2))
	}
	p("</g>\n")
}

// nodeStyle is how a node is drawn: colours, its tooltip and two lines.
type nodeStyle struct {
	fill, stroke, textFill string
	sw                     int
	tip, l1, l2            string
}

// styleOf: transactions light (seeds gold), end nodes in their kind's
// colour; a hit named by its entity, a holding by its value.
func styleOf(n placed) nodeStyle {
	fill, stroke, textFill, sw := txFill, flowColour, "#111111", 1
	var tip, l1, l2 string
	switch n.Kind {
	case kindSeed, kindTx:
		tip = fmt.Sprintf("tx %s, height %d, hops %d, tainted in %s BTC", n.Txid, n.Height, n.Hops, BTC(n.Tainted))
		l1 = shortTxid(n.Txid)
		l2 = fmt.Sprintf("h %d  %s", n.Height, BTC(n.Tainted))
		if n.Kind == kindSeed {
			fill, stroke, sw = seedColour, "#8a6d00", 2
			l1 = "seed " + l1
		}
	default:
		fill, stroke, textFill = kindColour(n.Kind), kindColour(n.Kind), "#ffffff"
		tip = fmt.Sprintf("%s %s, %d outputs, tainted %s BTC", n.End, n.Address, n.Edges, BTC(n.Tainted))
		l2 = shortAddr(n.Address)
		switch n.Kind {
		case kindHit:
			l1 = short(orDash(n.Entity), 24)
			tip = orDash(n.Entity) + ": " + tip
		case kindHolding:
			l1 = "unspent " + BTC(n.Tainted)
		default:
			l1 = orDash(n.End) + " " + BTC(n.Tainted)
		}
	}
	return nodeStyle{fill: fill, stroke: stroke, textFill: textFill, sw: sw, tip: tip, l1: l1, l2: l2}
}

// svgString renders the inline SVG for the HTML report.
func svgString(r *tracer.Result, maxNodes int) string {
	var b strings.Builder
	bw := bufio.NewWriter(&b)
	writeSVG(bw, r, maxNodes)
	_ = bw.Flush() // into a strings.Builder, whose writes cannot fail
	return b.String()
}
