package report

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/tracer"
)

func TestBTC(t *testing.T) {
	for _, tc := range []struct {
		sat  int64
		want string
	}{
		{0, "0.00000000"},
		{1, "0.00000001"},
		{546, "0.00000546"},
		{100_000_000, "1.00000000"},
		{2_099_999_997_690_000, "20999999.97690000"},
		{-1, "-0.00000001"},
		{-150_000_000, "-1.50000000"},
		{math.MaxInt64, "92233720368.54775807"},
		{math.MinInt64, "-92233720368.54775808"},
	} {
		t.Run(fmt.Sprint(tc.sat), func(t *testing.T) {
			if got := BTC(tc.sat); got != tc.want {
				t.Errorf("BTC(%d) = %q, want %q", tc.sat, got, tc.want)
			}
		})
	}
}

func TestClean(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Binance", "Binance"},
		{"a\tb\nc", "a b c"},
		{"\x1b[31mred", "?[31mred"},
		{"bad\xffutf8", "bad\uFFFDutf8"},
		{"rtl\u202eoverride", "rtl?override"},
		{"Bitstamp – EU", "Bitstamp – EU"},
		{"nul\x00", "nul?"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := clean(tc.in); got != tc.want {
				t.Errorf("clean(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestCellDefusesFormulas(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"},
		{"+1", "'+1"},
		{"-1", "'-1"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"Binance", "Binance"},
		{"", ""},
	} {
		if got := cell(tc.in); got != tc.want {
			t.Errorf("cell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCSVRows(t *testing.T) {
	r := fixture(false)
	rows, err := csv.NewReader(bytes.NewReader(render(t, "csv", r))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(r.Hits)+1 {
		t.Fatalf("%d rows, want header + %d hits", len(rows), len(r.Hits))
	}
	if strings.Join(rows[0], ",") != "entity,category,tag_source,via,address,txid,vout,height,time_utc,hops,value_btc,tainted_btc,share,seed_address,path" {
		t.Errorf("header %v", rows[0])
	}
	for i, h := range r.Hits {
		row := rows[i+1]
		if row[0] != h.Entity || row[5] != h.Txid || row[11] != BTC(h.Tainted) || row[14] != pathString(h.Path) {
			t.Errorf("row %d = %v does not match hit %+v", i+1, row, h)
		}
		if !strings.HasSuffix(row[14], h.Txid) {
			t.Errorf("row %d: path %q does not end at the hit's txid", i+1, row[14])
		}
	}
}

func TestWriteDispatch(t *testing.T) {
	r := fixture(false)
	for _, f := range Formats() {
		var a, b bytes.Buffer
		if err := testRenderer.Write(&a, strings.ToUpper(f), r); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var err error
		switch f {
		case "text":
			err = testRenderer.Text(&b, r)
		case "json":
			err = testRenderer.JSON(&b, r)
		case "csv":
			err = testRenderer.CSV(&b, r)
		case "dot":
			err = testRenderer.DOT(&b, r)
		case "svg":
			err = testRenderer.SVG(&b, r)
		case "html":
			err = testRenderer.HTML(&b, r)
		}
		if err != nil || !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("Write(%q) differs from the %s renderer (err %v)", f, f, err)
		}
	}
	if err := Write(&bytes.Buffer{}, "pdf", r); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("Write(pdf) = %v, want ErrUnknownFormat", err)
	}
	for _, f := range Formats() {
		if err := Write(&bytes.Buffer{}, f, nil); !errors.Is(err, ErrNilResult) {
			t.Errorf("Write(%s, nil) = %v, want ErrNilResult", f, err)
		}
	}
}

// errWriter fails after n bytes.
type errWriter struct{ n int }

var errDiskFull = errors.New("disk full")

func (w *errWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errDiskFull
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriteErrorsReturned(t *testing.T) {
	r := fixture(false)
	for _, f := range Formats() {
		if err := testRenderer.Write(&errWriter{n: 100}, f, r); !errors.Is(err, errDiskFull) {
			t.Errorf("%s: error %v, want the writer's", f, err)
		}
	}
}

func TestEmptyResult(t *testing.T) {
	for _, r := range []*tracer.Result{{}, {Partial: true}, {Totals: tracer.Totals{PerEntity: map[string]int64{}}}} {
		for _, f := range Formats() {
			out := render(t, f, r)
			if len(out) == 0 {
				t.Errorf("%s: empty output", f)
			}
			if f == "svg" {
				parseXML(t, out)
			}
			if f == "html" {
				checkBalanced(t, out)
			}
		}
	}
}

// hugeResult is a trace of n edges: a binary-ish fan-out from 3 seeds, with
// every fifth output ending at an exchange, a holding or dust.
func hugeResult(n int) *tracer.Result {
	r := fixture(false)
	r.Nodes, r.Edges, r.Hits, r.Holdings = nil, nil, nil, nil
	txid := func(i int) string { return fmt.Sprintf("%064x", i*7919+1) }
	for i := 0; i < 3; i++ {
		r.Nodes = append(r.Nodes, tracer.Node{Txid: txid(i), Height: 800_000 + int32(i), Seed: true, Tainted: 1e8})
	}
	next := 3
	ends := []string{"hit", "holding", "dust", "limit"}
	for i := 0; len(r.Edges) < n; i++ {
		from := r.Nodes[i%len(r.Nodes)]
		if i%5 == 4 {
			end := ends[i%len(ends)]
			addr := fmt.Sprintf("bc1qhuge%034d", i%97)
			r.Edges = append(r.Edges, tracer.Edge{From: from.Txid, Vout: uint32(i), Address: addr, Value: 5000, Tainted: 5000, End: end})
			if end == "hit" {
				r.Hits = append(r.Hits, tracer.Hit{Entity: fmt.Sprintf("Exchange %d", i%13), Address: addr, Txid: from.Txid, Vout: uint32(i),
					Height: from.Height, Hops: from.Hops + 1, Value: 5000, Tainted: 5000, Share: 1,
					Path: []tracer.Step{{Txid: from.Txid, Height: from.Height}}})
			}
			if end == "holding" {
				r.Holdings = append(r.Holdings, tracer.Holding{Address: addr, Txid: from.Txid, Vout: uint32(i), Tainted: 5000})
			}
			continue
		}
		to := tracer.Node{Txid: txid(next), Height: from.Height + int32(i%7) + 1, Hops: from.Hops + 1, Tainted: 10_000}
		next++
		r.Nodes = append(r.Nodes, to)
		r.Edges = append(r.Edges, tracer.Edge{From: from.Txid, Vout: uint32(i), To: to.Txid, Address: "bc1qmid", Value: 10_000, Tainted: 10_000})
	}
	r.Totals.Hits = len(r.Hits)
	return r
}

func TestHugeResultBounded(t *testing.T) {
	r := hugeResult(5000)
	start := time.Now()
	out := map[string][]byte{}
	for _, f := range Formats() {
		out[f] = render(t, f, r)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("rendering 5000 edges took %v", d)
	}
	svg := out["svg"]
	parseXML(t, svg)
	if n := bytes.Count(svg, []byte(`<g class="node `)); n != DefaultMaxNodes {
		t.Errorf("%d nodes drawn, want the cap %d", n, DefaultMaxNodes)
	}
	if !bytes.Contains(svg, []byte("more nodes and")) || !bytes.Contains(svg, []byte("not drawn")) {
		t.Error("no note on the nodes left out")
	}
	if len(svg) > 1<<20 {
		t.Errorf("SVG is %d bytes, want at most 1 MiB", len(svg))
	}
	lo := newLayout(r, DefaultMaxNodes)
	if lo.Width > 20_000 || lo.Height > 3_000 {
		t.Errorf("picture %dx%d px is not bounded", lo.Width, lo.Height)
	}
	// Seeds and hits are drawn before anything else.
	drawn := map[string]bool{}
	for _, n := range lo.Nodes {
		drawn[n.ID] = true
	}
	for _, n := range r.Nodes {
		if n.Seed && !drawn["t:"+n.Txid] {
			t.Errorf("seed %s not drawn", n.Txid)
		}
	}
	checkBalanced(t, out["html"])
	if got := bytes.Count(out["dot"], []byte(" -> ")); got != len(r.Edges) {
		t.Errorf("DOT has %d edges, want all %d", got, len(r.Edges))
	}
}

// TestHostileNumbers: out-of-range numbers from a bad result render
// without panicking.
func TestHostileNumbers(t *testing.T) {
	r := fixture(false)
	r.Nodes = append(r.Nodes, tracer.Node{Txid: "neg", Hops: -5, Height: -1, Tainted: math.MinInt64})
	r.Edges = append(r.Edges,
		tracer.Edge{From: "neg", To: "missing", Tainted: math.MaxInt64},
		tracer.Edge{From: "missing", To: "neg"},                    // a cycle through a tx not in Nodes
		tracer.Edge{From: "neg", To: "neg", End: "hit"},            // a self loop
		tracer.Edge{From: "", To: "", Address: "", End: "unknown"}) // nothing at all
	r.Hits = append(r.Hits, tracer.Hit{Hops: math.MaxInt, Share: math.Inf(1), Value: 0})
	r.Params.MaxHops = math.MinInt
	for _, f := range []string{"text", "csv", "dot", "svg", "html"} {
		render(t, f, r)
	}
	r.Hits[len(r.Hits)-1].Share = math.NaN()
	if err := JSON(&bytes.Buffer{}, r); err == nil {
		t.Error("JSON of a NaN share: no error")
	}
}
