package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/graphview"
)

// voidElements have no end tag in HTML.
var voidElements = map[string]bool{
	"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true, "img": true,
	"input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true,
}

// checkBalanced tokenizes an HTML page and fails on any end tag that does
// not close the innermost open element, or elements left open. Inside
// <svg>, self-closing tags are allowed (foreign content).
func checkBalanced(t *testing.T, page []byte) {
	t.Helper()
	z := html.NewTokenizer(bytes.NewReader(page))
	var stack []string
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				t.Fatalf("tokenize: %v", z.Err())
			}
			if len(stack) > 0 {
				t.Fatalf("elements left open: %v", stack)
			}
			return
		case html.StartTagToken:
			name, _ := z.TagName()
			if !voidElements[string(name)] {
				stack = append(stack, string(name))
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if len(stack) == 0 || stack[len(stack)-1] != string(name) {
				t.Fatalf("</%s> closes %v", name, stack)
			}
			stack = stack[:len(stack)-1]
		}
	}
}

// findAll returns the elements named tag under n.
func findAll(n *html.Node, tag string) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == tag {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// parseXML fails unless doc is well-formed XML.
func parseXML(t *testing.T, doc []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
	}
}

// inlineSVG cuts the <svg>...</svg> element out of a page.
func inlineSVG(t *testing.T, page []byte) []byte {
	t.Helper()
	i, j := bytes.Index(page, []byte("<svg")), bytes.LastIndex(page, []byte("</svg>"))
	if i < 0 || j < i {
		t.Fatalf("no inline <svg> in the page")
	}
	return page[i : j+len("</svg>")]
}

func TestHTMLWellFormed(t *testing.T) {
	for _, tc := range []struct {
		name    string
		r       *tracer.Result
		partial bool
	}{
		{"full", fixture(false), false},
		{"partial", fixture(true), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := render(t, "html", tc.r)
			checkBalanced(t, page)
			// Parsed as a browser without JavaScript does: the static SVG in <noscript>.
			doc, err := html.ParseWithOptions(bytes.NewReader(page), html.ParseOptionEnableScripting(false))
			if err != nil {
				t.Fatal(err)
			}
			if n := len(findAll(doc, "svg")); n != 1 {
				t.Fatalf("%d <svg> elements, want 1", n)
			}
			// The viewer's code and the call that mounts it; nothing loaded from elsewhere.
			if n := len(findAll(doc, "script")); n != 2 {
				t.Errorf("%d <script> elements, want the viewer's 2", n)
			}
			for _, sc := range findAll(doc, "script") {
				for _, a := range sc.Attr {
					if a.Key == "src" {
						t.Errorf("<script src=%q>: the report must be self-contained", a.Val)
					}
				}
			}
			for _, tag := range []string{"link", "img", "iframe", "object"} {
				if n := len(findAll(doc, tag)); n != 0 {
					t.Errorf("<%s> found: the report must be self-contained", tag)
				}
			}
			parseXML(t, inlineSVG(t, page))
			text := textOf(doc)
			for _, h := range tc.r.Hits {
				if !strings.Contains(text, h.Txid) {
					t.Errorf("hit txid %s missing from the page", h.Txid)
				}
				for _, s := range h.Path {
					if !strings.Contains(text, s.Txid) {
						t.Errorf("path txid %s missing from the page", s.Txid)
					}
				}
			}
			for _, want := range []string{"Binance", "Kraken", "Huobi", tc.r.Data.TipHash, tc.r.Data.SanctionsList, "Methodology", "2025-11-20 10:00:00 UTC"} {
				if !strings.Contains(text, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			if got := strings.Contains(text, "PARTIAL"); got != tc.partial {
				t.Errorf("PARTIAL banner shown = %v, want %v", got, tc.partial)
			}
			// Every model is explained; the one used is marked.
			used := 0
			for _, li := range findAll(doc, "li") {
				for _, a := range li.Attr {
					if a.Key == "class" && a.Val == "used" {
						used++
						if !strings.HasPrefix(textOf(li), "Haircut") {
							t.Errorf("marked model %q, want haircut", textOf(li))
						}
					}
				}
			}
			if used != 1 {
				t.Errorf("%d models marked as used, want 1", used)
			}
		})
	}
}

func TestSVGWellFormed(t *testing.T) {
	r := fixture(false)
	svg := render(t, "svg", r)
	parseXML(t, svg)
	g := buildGraph(r, false)
	if got, want := bytes.Count(svg, []byte(`<g class="node `)), len(g.Nodes); got != want {
		t.Errorf("%d nodes drawn, want %d", got, want)
	}
	if got, want := bytes.Count(svg, []byte(`<path class="edge `)), len(r.Edges); got != want {
		t.Errorf("%d edges drawn, want %d", got, want)
	}
	if got := bytes.Count(svg, []byte(`<g class="node hit">`)); got != len(r.Hits) {
		t.Errorf("%d hit nodes, want one per hit, %d", got, len(r.Hits))
	}
	dot := render(t, "dot", r)
	if got := bytes.Count(dot, []byte(`"a:hit:`)); got != 6+len(r.Hits) { // 6 node lines + one edge per hit
		t.Errorf("DOT: %d hit references, want 6 address nodes (one address used twice) and %d edges", got, len(r.Hits))
	}
	if !bytes.Contains(svg, []byte(`marker-end="url(#arrow-hit)"`)) {
		t.Error("hit edges have no arrow")
	}
	// Columns follow hops: every flow edge goes left to right.
	lo := newLayout(r, DefaultMaxNodes)
	for _, e := range lo.Edges {
		a, b := lo.Nodes[lo.byID[e.From]], lo.Nodes[lo.byID[e.To]]
		if b.X <= a.X {
			t.Errorf("edge %s -> %s goes from x=%d to x=%d", e.From, e.To, a.X, b.X)
		}
	}
}

// TestHostileStrings feeds markup, quotes, control characters and invalid
// UTF-8 through every string field a renderer shows.
func TestHostileStrings(t *testing.T) {
	r := fixture(false)
	evil := "<script>alert(\"x\")</script>&amp;\x00\x1b[31m'\"\xff\u202e=cmd|' /C calc'!A0\n"
	r.Hits[0].Entity = evil
	r.Hits[0].Address = evil
	r.Hits[0].TagSource = evil
	r.Hits[0].Path[0].Txid = evil
	r.Seeds[0].Label = evil
	r.Data.SanctionsList = evil
	r.Data.TagPacks = []string{evil}
	r.Params.Model = evil
	r.PartialWhy = evil
	r.Partial = true
	r.Edges = append(r.Edges, tracer.Edge{From: evil, Vout: 1, Address: evil, End: "hit", Tainted: 1})
	r.Nodes = append(r.Nodes, tracer.Node{Txid: evil + "x", Seed: true})
	r.Totals.PerEntity[evil] = 1

	for _, f := range Formats() {
		out := render(t, f, r)
		switch f {
		case "html":
			checkBalanced(t, out)
			doc, err := html.ParseWithOptions(bytes.NewReader(out), html.ParseOptionEnableScripting(false))
			if err != nil {
				t.Fatal(err)
			}
			if n := len(findAll(doc, "script")); n != 2 {
				t.Errorf("html: %d <script> elements, want the viewer's 2: markup injected", n)
			}
			for _, sc := range findAll(doc, "script") {
				if sc.FirstChild != nil && strings.Contains(sc.FirstChild.Data, "<script>alert") {
					t.Errorf("html: the hostile string reached a script unescaped")
				}
			}
			parseXML(t, inlineSVG(t, out))
		case "svg":
			parseXML(t, out)
		case "text", "dot":
			if bytes.ContainsAny(out, "\x00\x1b\u202e") {
				t.Errorf("%s: control characters passed through", f)
			}
		case "csv":
			if bytes.Contains(out, []byte(",=cmd")) {
				t.Errorf("csv: formula not defused")
			}
		}
	}
}

// TestHTMLLeavesGraphWhole: the report caps the graph it draws, not the
// caller's (a case bundle writes that graph whole to graph.json after the
// report).
func TestHTMLLeavesGraphWhole(t *testing.T) {
	r := fixture(false)
	g := graphview.FromResult(r, graphview.Options{})
	for i := 0; len(g.Nodes) <= MaxViewerNodes; i++ {
		g.Nodes = append(g.Nodes, graphview.Node{ID: fmt.Sprintf("t:extra%d", i), Kind: graphview.KindTx, Height: 1 << 30})
	}
	g.Finish()
	n, e := len(g.Nodes), len(g.Edges)
	var b bytes.Buffer
	if err := (Renderer{Graph: g}).HTML(&b, r); err != nil {
		t.Fatal(err)
	}
	if len(g.Nodes) != n || len(g.Edges) != e || g.Capped || g.Node("t:extra0") == nil {
		t.Errorf("HTML changed the caller's graph: %d nodes (was %d), %d edges (was %d), capped %v", len(g.Nodes), n, len(g.Edges), e, g.Capped)
	}
	if !strings.Contains(b.String(), "more nodes are left out so a browser can draw it") {
		t.Errorf("the report does not say its graph is capped")
	}
}
