package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer/cases"
	"github.com/tracer-oss/tracer/tracer/internal/browser"
	"github.com/tracer-oss/tracer/tracer/screen"
	"github.com/tracer-oss/tracer/tracer/screen/api"
	"github.com/tracer-oss/tracer/tracer/spec"
)

// memCases keeps cases in memory, for a read-only benchmark store.
type memCases struct {
	mu   sync.Mutex
	recs map[uint64][]byte
	res  map[uint64][]byte
	log  map[uint64][]store.CaseEvent
}

func (m *memCases) Create(rec func(uint64) ([]byte, error), result []byte, ev store.CaseEvent) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := uint64(len(m.recs) + 1)
	b, err := rec(id)
	if err != nil {
		return 0, err
	}
	ev.Seq = 1
	m.recs[id], m.res[id], m.log[id] = b, result, []store.CaseEvent{ev}
	return id, nil
}

func (m *memCases) Update(id uint64, fn func([]byte) ([]byte, []byte, error), ev store.CaseEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.recs[id]
	if !ok {
		return store.ErrNotFound
	}
	nr, res, err := fn(old)
	if err != nil {
		return err
	}
	m.recs[id] = nr
	if res != nil {
		m.res[id] = res
	}
	ev.Seq = uint32(len(m.log[id]) + 1)
	m.log[id] = append(m.log[id], ev)
	return nil
}

func (m *memCases) get(mp map[uint64][]byte, id uint64) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b, ok := mp[id]; ok {
		return b, nil
	}
	return nil, store.ErrNotFound
}

func (m *memCases) Record(id uint64) ([]byte, error) { return m.get(m.recs, id) }
func (m *memCases) Result(id uint64) ([]byte, error) { return m.get(m.res, id) }
func (m *memCases) Each(fn func(uint64, []byte) error) error {
	for id := uint64(1); ; id++ {
		b, err := m.Record(id)
		if err != nil {
			return nil
		}
		if err := fn(id, b); err != nil {
			return err
		}
	}
}
func (m *memCases) Log(id uint64) ([]store.CaseEvent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.log[id], nil
}

// BenchmarkCaseViewer measures the /case page on the 1,000,000-transaction
// benchmark chain: a forward poison trace of the sanctioned entities cut at
// TRACER_CASE_TXS visited transactions (default 1,600), about 5,000 graph
// nodes, loaded in headless chromium. It reports the time from navigation
// until the graph is drawn and interactive, and the time of one expand.
func BenchmarkCaseViewer(b *testing.B) {
	n := storetest.BenchTxs(b)
	st := storetest.BenchStore(b, n)
	truth, err := chaingen.ReadTruth(filepath.Join(storetest.BenchChain(b, n), "truth.json"))
	if err != nil {
		b.Fatal(err)
	}
	params := &chaincfg.RegressionNetParams
	maxTxs := envInt(b, "TRACER_CASE_TXS", 1600)
	tr := cases.SpecTracer{Runner: spec.NewRunner(st, params, nil)}
	txNum := func(txid string) (store.TxNum, error) { return txNumOf(st, txid) }
	svc := cases.New(&memCases{recs: map[uint64][]byte{}, res: map[uint64][]byte{}, log: map[uint64][]store.CaseEvent{}}, tr, st, txNum, params)
	var seeds []string
	for _, e := range truth.Entities {
		seeds = append(seeds, e.Addresses...)
	}
	ctx := context.Background()
	c, err := svc.Create(ctx, "bench", "scale", seeds, cases.Params{Model: "poison", MaxTxs: maxTxs, MaxHops: 100})
	if err != nil {
		b.Fatal(err)
	}
	g, err := svc.Graph(ctx, c.ID)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("case: %d nodes (%d transactions, %d addresses), %d edges", len(g.Nodes), g.Counts.Transactions, g.Counts.Addresses, len(g.Edges))
	scr, err := screen.New(st, screen.Options{Params: params})
	if err != nil {
		b.Fatal(err)
	}
	s, err := api.New(api.Config{Screener: scr, Tracer: spec.NewRunner(st, params, nil), Cases: svc, HandlerTimeout: 5 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	t0 := time.Now()
	resp, err := http.Get(srv.URL + "/v1/cases/1/graph")
	if err != nil {
		b.Fatal(err)
	}
	nb, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	b.Logf("GET graph: %d bytes in %s", nb, time.Since(t0))
	// The last transaction the walk reached (by height): its spenders are
	// past the cut, so expanding it forward adds nodes.
	var frontier string
	for _, n := range g.Nodes {
		if n.Kind == "tx" {
			frontier = n.Txid
		}
	}
	t0 = time.Now()
	if resp, err = http.Get(srv.URL + "/v1/cases/1/graph?expand=" + frontier + "&direction=backward"); err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	b.Logf("GET graph?expand (server side of an expand): %s", time.Since(t0))
	p := browser.NewPage(b, "1400,1000")
	b.ResetTimer()
	var load, expand float64
	var drawn, after int
	await := func(p *cdpruntime.EvaluateParams) *cdpruntime.EvaluateParams { return p.WithAwaitPromise(true) }
	for i := 0; i < b.N; i++ {
		// Timed by the page itself (performance.now() from navigation
		// start), and waited for with script, not DOM queries: chromedp's
		// DOM tracking of thousands of nodes would slow the page down.
		p.Run(b, chromedp.Navigate(srv.URL+"/case?id="+strconv.FormatUint(c.ID, 10)))
		var ready float64
		p.Run(b, chromedp.Evaluate(`new Promise(function(res){(function poll(){ if (window.tracerReadyMs) {
			// Interactive: a zoom runs.
			var s=document.querySelector(".gv-svg"), vb=s.getAttribute("viewBox"); document.querySelector('[data-action="zoom-in"]').click();
			res(s.getAttribute("viewBox") !== vb ? performance.now() : -1) } else setTimeout(poll, 10)})()})`, &ready, await))
		if ready < 0 {
			b.Fatal("zoom did not change the view box")
		}
		load += ready
		p.Eval(b, `document.querySelectorAll(".gv-node").length`, &drawn)
		var parts []float64
		p.Eval(b, `(function(){var v=window.caseViewer, t=performance.now(); var vis=v.visible(); var t1=performance.now(); v.layout(vis); var t2=performance.now(); v.render(); var t3=performance.now(); v.svg.getBoundingClientRect(); document.body.offsetHeight; var t4=performance.now(); return [t1-t, t2-t1, t3-t2, t4-t3]})()`, &parts)
		b.Logf("load to interactive %.0f ms; a redraw: visible %.0f ms, layout %.0f ms, render %.0f ms, reflow %.0f ms", ready, parts[0], parts[1], parts[2], parts[3])
		// Expand the frontier transaction forward: select it, press Expand,
		// wait for the redrawn graph.
		var res []any
		p.Run(b, chromedp.Evaluate(`new Promise(function(res){var t=performance.now();
			var g=document.querySelector('.gv-node[data-txid="`+frontier+`"]');
			g.dispatchEvent(new MouseEvent("click",{bubbles:true})); document.querySelector('[data-action="expand"]').click();
			(function poll(){var m=document.querySelector(".gv-msg"); if (m && /^expand(ed| failed)/.test(m.textContent)) res([performance.now()-t, m.textContent]); else setTimeout(poll, 5)})()})`, &res, await))
		if len(res) != 2 || !strings.HasPrefix(res[1].(string), "expanded") {
			b.Fatalf("expand: %v", res)
		}
		expand += res[0].(float64)
		p.Eval(b, `document.querySelectorAll(".gv-node").length`, &after)
	}
	b.StopTimer()
	if errs := p.Errors(); len(errs) > 0 {
		b.Errorf("console errors: %q", errs)
	}
	b.ReportMetric(float64(len(g.Nodes)), "graph-nodes")
	b.ReportMetric(float64(drawn), "drawn-nodes")
	b.ReportMetric(float64(after-drawn), "expand-added")
	b.ReportMetric(load/float64(b.N), "load-to-interactive-ms")
	b.ReportMetric(expand/float64(b.N), "expand-ms")
}

func txNumOf(st *store.Store, txid string) (store.TxNum, error) {
	h, err := chainhash.NewHashFromStr(txid)
	if err != nil {
		return 0, err
	}
	return st.TxNumOf(*h)
}
