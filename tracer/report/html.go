package report

import (
	"bufio"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"

	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/graphview"
)

// MaxViewerNodes bounds the graph the HTML report's viewer draws.
const MaxViewerNodes = graphview.MaxNodes

// htmlHoldingsShown bounds the holdings table of the HTML report.
const htmlHoldingsShown = 50

// models describes each taint model in one sentence, for the methodology
// note. Keep in step with tracer's models.
var models = []struct{ Name, Text string }{
	{"poison", "Poison: every output of a transaction that spends any tainted input counts as fully tainted, so taint is copied rather than divided and totals can exceed the amount traced."},
	{"haircut", "Haircut: each output carries taint in proportion to the tainted share of the transaction's inputs, so taint is diluted but conserved."},
	{"fifo", "FIFO (first in, first out): inputs and outputs are lined up in order and the tainted satoshis are assigned to the outputs at the same positions, first input to first output."},
	{"lifo", "LIFO (last in, first out): as FIFO, but the inputs' satoshis are taken in reverse, so the last input funds the first outputs."},
	{"tiho", "TIHO (taint in, highest out): the transaction's tainted amount is assigned to its highest-value outputs first, on the view that a payment carries the tainted funds while the small change does not."},
}

type kv struct{ K, V string }

type htmlStep struct {
	Txid   string
	Height int32
}

type htmlHit struct {
	N                                int
	Entity, Category, Via, TagSource string
	Address, Txid, Time, Seed        string
	Vout                             uint32
	Height                           int32
	Hops                             int
	Value, Tainted, Share            string
	Path                             []htmlStep
}

type htmlEntity struct {
	Entity  string
	Hits    int
	Tainted string
}

type htmlHolding struct {
	Address, Txid, Tainted string
	Vout                   uint32
	Height                 int32
	Hops                   int
}

type htmlSeed struct {
	Address, Label, Source, Received string
	Outputs                          int
}

// wording is what the page calls things: a backward trace looks for the
// sources that funded an address, not for where seed funds went.
type wording struct {
	Hits, Hit, HitsNone, Seeds, Entity, Traced, ToEntities, Path, GraphNote string
}

var (
	forwardWords = wording{Hits: "Hits", Hit: "Hit", HitsNone: "No hits.", Seeds: "Seeds", Entity: "Entity",
		Traced: "Traced (leaving the seeds)", ToEntities: "To labelled entities", Path: "Path from seed",
		GraphNote: "Money flows left to right: seeds (gold) on the left, hits (red) and holdings on the right."}
	backwardWords = wording{Hits: "Sources", Hit: "Source", HitsNone: "No labelled sources found.", Seeds: "Address of interest", Entity: "Funded by",
		Traced: "Received by the address of interest", ToEntities: "From labelled sources", Path: "Path to the address of interest",
		GraphNote: "Money flows left to right: sources (red) on the left, the address of interest (gold) on the right."}
)

type htmlModel struct {
	Text string
	Used bool
}

type htmlView struct {
	Title        string
	GeneratedAt  string
	Run          string
	Partial      bool
	PartialNote  string
	Model        string
	Totals       []kv
	TotalsWarn   string
	Entities     []htmlEntity
	Graph        template.HTML // the static SVG, for pages read without JavaScript
	GraphJS      template.JS   // the graph model the viewer draws
	ViewerJS     template.JS
	ViewerCSS    template.CSS
	GraphCounts  string // counted from the same model the viewer draws
	Backward     bool
	W            wording
	Hits         []htmlHit
	Holdings     []htmlHolding
	HoldingsNote string
	Seeds        []htmlSeed
	Params       []kv
	Data         []kv
	Models       []htmlModel
}

// HTML writes one self-contained HTML page for a case file: summary totals,
// a table per exchange, the hits with their paths, the flow graph as inline
// SVG, parameters and data versions, and a note on the taint model. It
// needs no JavaScript and loads nothing: CSS and SVG are inline. Strings are
// escaped by html/template.
func (rd Renderer) HTML(w io.Writer, r *tracer.Result) error {
	if r == nil {
		return ErrNilResult
	}
	v := htmlView{
		GeneratedAt: rd.now().Format(timeLayout),
		Partial:     r.Partial,
		PartialNote: partialNote(r),
		Model:       orDash(r.Params.Model),
		// writeSVG escapes every string it writes.
		Graph: template.HTML(svgString(r, rd.maxNodes())),
	}
	v.Title = "Taint trace report"
	v.W = forwardWords
	if strings.EqualFold(r.Params.Direction, "backward") {
		v.Backward, v.W = true, backwardWords
		v.Title = "Source of funds report"
	}
	gm, err := v.graph(rd, r)
	if err != nil {
		return err
	}
	if labels := seedLabels(r.Seeds); len(labels) > 0 {
		v.Title += ": " + strings.Join(labels, ", ")
	}
	v.Run = runLine(r.Params, gm.Counts.Transactions, v.Backward)
	v.totals(r)
	v.hits(r)
	v.holdings(r)
	for _, s := range r.Seeds {
		v.Seeds = append(v.Seeds, htmlSeed{clean(s.Address), clean(s.Label), clean(s.Source), BTC(s.Received), s.Outputs})
	}
	v.params(r)

	bw := bufio.NewWriter(w)
	if err := htmlTemplate.Execute(bw, v); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	return nil
}

// graph sets the viewer's graph — the caller's (cloned) or the result's,
// capped for a browser — and the sentence counting what it draws; it
// returns the capped graph.
func (v *htmlView) graph(rd Renderer, r *tracer.Result) (*graphview.Graph, error) {
	var gm *graphview.Graph
	if rd.Graph != nil {
		gm = rd.Graph.Clone() // Cap below must not change the caller's graph
	} else {
		gm = graphview.FromResult(r, graphview.Options{})
	}
	gm.Cap(MaxViewerNodes)
	gjs, err := graphview.JS(gm)
	if err != nil {
		return nil, fmt.Errorf("report: html: %w", err)
	}
	v.GraphJS, v.ViewerJS, v.ViewerCSS = gjs, graphview.Script(), graphview.Style()
	c := gm.Counts
	v.GraphCounts = fmt.Sprintf("The graph draws %d transactions, %d addresses, %d entities, %d edges and %d %s.",
		c.Transactions, c.Addresses, c.Entities, c.Edges, c.Hits, strings.ToLower(v.W.Hits))
	if r.GraphTruncated {
		v.GraphCounts += " The walk had more edges than the graph keeps: it shows the first ones."
	}
	if gm.Omitted > 0 {
		v.GraphCounts += fmt.Sprintf(" %d more nodes are left out so a browser can draw it (every hit and path is kept); graph.json and the JSON report have them all.", gm.Omitted)
	}
	return gm, nil
}

// seedLabels are the seeds' first three distinct labels (an entity's many
// addresses name it once; an unlabelled seed by its short address), and
// how many more.
func seedLabels(seeds []tracer.SeedInfo) []string {
	var labels []string
	seen := map[string]bool{}
	more := 0
	for _, s := range seeds {
		l := s.Label
		if l == "" {
			l = shortAddr(s.Address)
		}
		l = clean(l)
		if seen[l] {
			continue
		}
		seen[l] = true
		if len(labels) == 3 {
			more++
			continue
		}
		labels = append(labels, l)
	}
	if more > 0 {
		labels = append(labels, fmt.Sprintf("and %d more", more))
	}
	return labels
}

// runLine says when the trace ran, for how long and over how many
// transactions, and why the graph draws another number ("" for a result
// without a start time).
func runLine(p tracer.Params, drawn int, backward bool) string {
	if p.Started.IsZero() {
		return ""
	}
	run := fmt.Sprintf("Trace started %s, ran %s s and visited %d transactions.",
		p.Started.UTC().Format(timeLayout), strconv.FormatFloat(p.ElapsedSeconds, 'f', 1, 64), p.TxsVisited)
	if drawn != p.TxsVisited {
		run += fmt.Sprintf(" The graph draws %d transactions: ", drawn)
		if backward {
			run += "the visited ones and those that funded the sources' outputs."
		} else {
			run += "the visited ones and the seeds' funding transactions, less any beyond the graph's cap."
		}
	}
	return run
}

// totals sets the totals table, a warning when they do not add up, and
// the table of entities.
func (v *htmlView) totals(r *tracer.Result) {
	t := r.Totals
	v.Totals = []kv{
		{v.W.Traced, BTC(t.Traced) + " BTC"},
		{v.W.ToEntities, BTC(t.ToEntities) + " BTC"},
		{"Unspent (holdings)", BTC(t.Unspent) + " BTC"},
		{"Fees", BTC(t.Fees) + " BTC"},
		{"Dust (not followed)", BTC(t.Dust) + " BTC"},
		{"Cut by limits", BTC(t.Cut) + " BTC"},
		{v.W.Hits, strconv.Itoa(t.Hits)},
	}
	if t.BeforeRange > 0 {
		v.Totals = append(v.Totals, kv{"Source before the store's range (value unknown)", BTC(t.BeforeRange) + " BTC"})
	}
	if b := balance(t); b != t.Traced && !strings.EqualFold(r.Params.Model, "poison") {
		v.TotalsWarn = "The totals do not add up: entities + unspent + fees + dust + cut + before range = " + BTC(b) + " BTC."
	}
	for _, e := range entityRows(r) {
		v.Entities = append(v.Entities, htmlEntity{clean(e.Entity), e.Hits, BTC(e.Tainted)})
	}
}

// hits sets the hits, each with its path.
func (v *htmlView) hits(r *tracer.Result) {
	for i, h := range r.Hits {
		hv := htmlHit{
			N: i + 1, Entity: clean(h.Entity), Category: clean(h.Category), Via: clean(h.Via), TagSource: clean(h.TagSource),
			Address: clean(h.Address), Txid: clean(h.Txid), Time: clean(h.Time), Seed: clean(h.SeedAddress),
			Vout: h.Vout, Height: h.Height, Hops: h.Hops,
			Value: BTC(h.Value), Tainted: BTC(h.Tainted), Share: percent(h.Share),
		}
		if h.Via == "cluster" && h.LinkTxid != "" {
			hv.Via += " (linked by " + clean(h.LinkTxid) + ")"
		}
		for _, s := range h.Path {
			hv.Path = append(hv.Path, htmlStep{clean(s.Txid), s.Height})
		}
		v.Hits = append(v.Hits, hv)
	}
}

// holdings sets the largest holdings and the note on how many there are.
func (v *htmlView) holdings(r *tracer.Result) {
	for _, h := range topHoldings(r, htmlHoldingsShown) {
		v.Holdings = append(v.Holdings, htmlHolding{clean(h.Address), clean(h.Txid), BTC(h.Tainted), h.Vout, h.Height, h.Hops})
	}
	v.HoldingsNote = fmt.Sprintf("%d unspent outputs hold %s BTC of taint", len(r.Holdings), BTC(sumHoldings(r)))
	if n := len(r.Holdings) - len(v.Holdings); n > 0 {
		v.HoldingsNote += fmt.Sprintf("; the %d largest are listed, %d more are in the JSON and CSV outputs", len(v.Holdings), n)
	}
	v.HoldingsNote += "."
}

// params sets the tables of parameters and data versions, and the model
// notes with the one used marked.
func (v *htmlView) params(r *tracer.Result) {
	p, d := r.Params, r.Data
	v.Params = []kv{
		{"Direction", orDash(p.Direction)},
		{"Taint model", orDash(p.Model)},
		{"Fees tainted", yesNo(p.FeesTainted)},
		{"Max hops", strconv.Itoa(p.MaxHops)},
		{"Min value (dust)", BTC(p.MinValue) + " BTC"},
		{"Heights", heightRange(p)},
		{"Max transactions", strconv.Itoa(p.MaxTxs)},
		{"Wide outputs (not followed through)", strconv.Itoa(p.WideOutputs)},
		{"Stop categories", orDash(strings.Join(p.StopCategories, ", "))},
		{"Transactions visited", strconv.Itoa(p.TxsVisited)},
		{"Store reads per transaction", strconv.FormatFloat(p.StoreReadsPerTx, 'f', 2, 64)},
		{"Schema version", strconv.Itoa(r.SchemaVersion)},
	}
	v.Data = []kv{
		{"Network", orDash(d.Network)},
		{"Chain tip height", strconv.Itoa(int(d.TipHeight))},
		{"Chain tip hash", orDash(d.TipHash)},
		{"Sanctions list", orDash(d.SanctionsList)},
		{"Tag packs", orDash(strings.Join(d.TagPacks, ", "))},
	}
	for _, m := range models {
		v.Models = append(v.Models, htmlModel{m.Text, strings.EqualFold(m.Name, strings.TrimSpace(p.Model))})
	}
}

var htmlTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; font-size: 14px; color: #1a1a1a; margin: 24px; max-width: 1600px; }
h1 { font-size: 22px; margin: 0 0 4px 0; }
h2 { font-size: 17px; margin: 28px 0 8px 0; border-bottom: 1px solid #cccccc; padding-bottom: 3px; }
.meta { color: #555555; margin: 2px 0; }
.partial { background: #fff3cd; border: 2px solid #b26a00; color: #5c3700; font-weight: bold; padding: 10px 14px; margin: 14px 0; font-size: 16px; }
.warn { color: #8a4b00; font-weight: bold; }
.row { display: flex; flex-wrap: wrap; gap: 32px; align-items: flex-start; }
table { border-collapse: collapse; margin: 4px 0; }
th, td { border: 1px solid #d0d0d0; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.num { text-align: right; font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; white-space: nowrap; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; word-break: break-all; }
ol.path { margin: 0; padding-left: 22px; }
.graph { overflow: auto; border: 1px solid #d0d0d0; }
{{.ViewerCSS}}
li.used { font-weight: bold; }
footer { margin-top: 32px; color: #777777; font-size: 12px; }
@media print { body { margin: 0; } .graph { overflow: visible; border: none; } }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="meta">Generated {{.GeneratedAt}}. {{.Run}}</p>
{{if .Partial}}<div class="partial">{{.PartialNote}}</div>
{{end}}
<h2>Summary</h2>
<div class="row">
<table class="totals">
<tbody>
{{range .Totals}}<tr><th>{{.K}}</th><td class="num">{{.V}}</td></tr>
{{end}}</tbody>
</table>
<table class="entities">
<thead><tr><th>{{.W.Entity}}</th><th>{{.W.Hits}}</th><th>Tainted BTC</th></tr></thead>
<tbody>
{{range .Entities}}<tr><td>{{.Entity}}</td><td class="num">{{.Hits}}</td><td class="num">{{.Tainted}}</td></tr>
{{else}}<tr><td colspan="3">{{.W.HitsNone}}</td></tr>
{{end}}</tbody>
</table>
</div>
{{with .TotalsWarn}}<p class="warn">{{.}}</p>
{{end}}
<h2>Flow graph</h2>
<p class="meta graph-counts">{{.GraphCounts}} {{.W.GraphNote}} Scroll to zoom, drag to pan, click a node for its details.</p>
<div id="graph-viewer"></div>
<noscript><div class="graph">
{{.Graph}}</div></noscript>
<script>{{.ViewerJS}}</script>
<script>TracerGraph.mount(document.getElementById("graph-viewer"), {{.GraphJS}}, {});</script>

<h2>{{.W.Hits}}</h2>
{{if .Hits}}<table class="hits">
<thead><tr><th>#</th><th>{{.W.Entity}}</th><th>{{if .Backward}}Source address{{else}}Deposit address{{end}}</th><th>Transaction</th><th>Height</th><th>Time (UTC)</th><th>Hops</th><th>Value BTC</th><th>Tainted BTC</th><th>Share %</th><th>{{.W.Path}}</th></tr></thead>
<tbody>
{{range .Hits}}<tr>
<td class="num">{{.N}}</td>
<td>{{.Entity}}<br><small>{{.Category}}, via {{.Via}}, {{.TagSource}}</small></td>
<td><code>{{.Address}}</code></td>
<td><code>{{.Txid}}</code>:{{.Vout}}</td>
<td class="num">{{.Height}}</td>
<td>{{.Time}}</td>
<td class="num">{{.Hops}}</td>
<td class="num">{{.Value}}</td>
<td class="num">{{.Tainted}}</td>
<td class="num">{{.Share}}</td>
<td>{{if $.Backward}}to{{else}}from seed{{end}} <code>{{.Seed}}</code><ol class="path">{{range .Path}}<li><code>{{.Txid}}</code> ({{.Height}})</li>{{end}}</ol></td>
</tr>
{{end}}</tbody>
</table>
{{else}}<p>{{.W.HitsNone}}</p>
{{end}}
<h2>Holdings</h2>
<p>{{.HoldingsNote}}</p>
{{if .Holdings}}<table class="holdings">
<thead><tr><th>Address</th><th>Output</th><th>Height</th><th>Hops</th><th>Tainted BTC</th></tr></thead>
<tbody>
{{range .Holdings}}<tr><td><code>{{.Address}}</code></td><td><code>{{.Txid}}</code>:{{.Vout}}</td><td class="num">{{.Height}}</td><td class="num">{{.Hops}}</td><td class="num">{{.Tainted}}</td></tr>
{{end}}</tbody>
</table>
{{end}}
<h2>{{.W.Seeds}}</h2>
{{if .Seeds}}<table class="seeds">
<thead><tr><th>Address</th><th>Label</th><th>Source</th><th>Outputs</th><th>Received BTC</th></tr></thead>
<tbody>
{{range .Seeds}}<tr><td><code>{{.Address}}</code></td><td>{{.Label}}</td><td>{{.Source}}</td><td class="num">{{.Outputs}}</td><td class="num">{{.Received}}</td></tr>
{{end}}</tbody>
</table>
{{else}}<p>No seeds.</p>
{{end}}
<h2>Parameters and data</h2>
<div class="row">
<table class="params">
<tbody>
{{range .Params}}<tr><th>{{.K}}</th><td>{{.V}}</td></tr>
{{end}}</tbody>
</table>
<table class="data">
<tbody>
{{range .Data}}<tr><th>{{.K}}</th><td><code>{{.V}}</code></td></tr>
{{end}}</tbody>
</table>
</div>

<h2>Methodology</h2>
{{if .Backward}}<p>This is a backward trace: it starts from the outputs the address of interest received and attributes their value to the inputs that funded them, hop by hop back in time, until it reaches a labelled address (a source), newly mined coins, or a limit.</p>
{{end}}<p>{{if .Backward}}A forward trace, by contrast, follows{{else}}The trace follows{{end}} tainted value from the seed outputs through spending transactions, hop by hop, until it reaches an address of a stop category (a hit), stays unspent (a holding), falls below the minimum value (dust) or meets a limit. This report used the <strong>{{.Model}}</strong> model (in bold below). Amounts are exact satoshi shown as BTC with 8 decimals.</p>
<ul class="models">
{{range .Models}}<li{{if .Used}} class="used"{{end}}>{{.Text}}</li>
{{end}}</ul>
{{if .Partial}}<div class="partial">{{.PartialNote}}</div>
{{end}}
<footer>Generated by tracer. Graph: columns are hops from the seed, rows are ordered by block height.</footer>
</body>
</html>
`))
