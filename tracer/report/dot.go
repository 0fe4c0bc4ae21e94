package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/tracer-oss/tracer/tracer"
)

// DOT writes the flow graph in Graphviz DOT, left to right: transactions as
// boxes labelled with a short txid and height (seed funding transactions
// filled gold), tainted flows as edges labelled in BTC, and branch ends as
// address ellipses coloured by how the branch ended (hit red with the
// entity's name, holding blue, dust or a limit grey). Nodes come in hop,
// height, id order and edges in from, vout, to order, so the output is
// deterministic.
func (rd Renderer) DOT(w io.Writer, r *tracer.Result) error {
	if r == nil {
		return ErrNilResult
	}
	g := buildGraph(r, true)
	bw := bufio.NewWriter(w)
	title := fmt.Sprintf("tracer: %s %s trace, %d transactions, %d hits", orDash(r.Params.Model), orDash(r.Params.Direction), countTx(g), len(r.Hits))
	if r.Partial {
		title += " (PARTIAL)"
	}
	fmt.Fprintf(bw, "digraph tracer {\n")
	fmt.Fprintf(bw, "  graph [rankdir=LR, fontname=\"Helvetica\", labelloc=t, label=%s];\n", dotQuote(title))
	fmt.Fprintf(bw, "  node [shape=box, fontname=\"Helvetica\", fontsize=10, style=filled, fillcolor=%q, color=%q];\n", txFill, flowColour)
	fmt.Fprintf(bw, "  edge [fontname=\"Helvetica\", fontsize=9, color=%q];\n", flowColour)
	for _, n := range g.Nodes {
		fmt.Fprintf(bw, "  %s [%s];\n", dotQuote(n.ID), dotNodeAttrs(n))
	}
	for _, e := range g.Edges {
		attrs := "label=" + dotQuote(BTC(e.Tainted))
		if e.Kind != kindFlow {
			c := kindColour(e.Kind)
			attrs += fmt.Sprintf(", color=%q, fontcolor=%q", c, c)
		}
		fmt.Fprintf(bw, "  %s -> %s [%s];\n", dotQuote(e.From), dotQuote(e.To), attrs)
	}
	fmt.Fprintf(bw, "}\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: dot: %w", err)
	}
	return nil
}

func countTx(g *graph) int {
	n := 0
	for _, x := range g.Nodes {
		if x.Kind == kindTx || x.Kind == kindSeed {
			n++
		}
	}
	return n
}

func kindColour(kind string) string {
	switch kind {
	case kindHit:
		return hitColour
	case kindHolding:
		return holdingColour
	case kindStop:
		return stopColour
	case kindSeed:
		return seedColour
	}
	return flowColour
}

func dotNodeAttrs(n *gnode) string {
	switch n.Kind {
	case kindSeed:
		return fmt.Sprintf("label=%s, fillcolor=%q, penwidth=2", dotQuote("seed "+shortTxid(n.Txid)+"\nh "+itoa32(n.Height)), seedColour)
	case kindTx:
		return "label=" + dotQuote(shortTxid(n.Txid)+"\nh "+itoa32(n.Height))
	}
	label := shortAddr(n.Address)
	switch n.Kind {
	case kindHit:
		label = orDash(n.Entity) + "\n" + label
	case kindHolding:
		label = "unspent\n" + label
	default:
		label = orDash(n.End) + "\n" + label
	}
	c := kindColour(n.Kind)
	return fmt.Sprintf("shape=ellipse, label=%s, color=%q, fillcolor=%q, fontcolor=\"#ffffff\"", dotQuote(label), c, c)
}

// dotQuote quotes s as a DOT string: backslashes and quotes escaped, line
// breaks as \n, other control characters cleaned.
func dotQuote(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		l = clean(l)
		l = strings.ReplaceAll(l, `\`, `\\`)
		lines[i] = strings.ReplaceAll(l, `"`, `\"`)
	}
	return `"` + strings.Join(lines, `\n`) + `"`
}

func itoa32(h int32) string { return fmt.Sprint(h) }
