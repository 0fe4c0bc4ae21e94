//go:build integration

package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/graphview"
	"github.com/tracer-oss/tracer/tracer/internal/browser"
)

// TestReportViewerIntegration opens the HTML report in headless chromium
// over the DevTools protocol: it loads with no console error, draws every
// node of the graph model with data-txid or data-address, zooming changes
// the view box, a click shows the node's full txid, and the counts the
// page states are the drawn graph's.
func TestReportViewerIntegration(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    *tracer.Result
	}{
		{"forward", fixture(false)},
		{"backward", backwardFixture()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := testRenderer.HTML(&b, tc.r); err != nil {
				t.Fatal(err)
			}
			page := filepath.Join(t.TempDir(), "report.html")
			if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			model := graphview.FromResult(tc.r, graphview.Options{})
			p := browser.NewPage(t, "1400,1000")
			p.Run(t, chromedp.Navigate("file://"+page), chromedp.WaitVisible(".gv-node", chromedp.ByQuery))
			var nodes, tagged int
			p.Eval(t, `document.querySelectorAll(".gv-node").length`, &nodes)
			p.Eval(t, `document.querySelectorAll(".gv-node[data-txid], .gv-node[data-address]").length`, &tagged)
			if nodes == 0 || tagged != nodes {
				t.Fatalf("%d nodes drawn, %d with data-txid or data-address", nodes, tagged)
			}
			if nodes != len(model.Nodes) {
				t.Errorf("%d nodes drawn, the model has %d (no fan-out in this fixture)", nodes, len(model.Nodes))
			}
			var counts string
			p.Eval(t, `document.querySelector(".gv-counts").textContent + " | " + document.querySelector(".graph-counts").textContent`, &counts)
			for _, want := range []string{itoa(model.Counts.Transactions) + " transactions", itoa(model.Counts.Edges) + " edges"} {
				if strings.Count(counts, want) != 2 {
					t.Errorf("viewer and page should both say %q: %s", want, counts)
				}
			}
			// Money flows left to right: forward the seeds are left of the
			// hits, backward the sources (hits) are left of the address of interest.
			var order []float64
			p.Eval(t, `(function(){
				function x(sel){return Array.from(document.querySelectorAll(sel)).map(function(g){return g.transform.baseVal.getItem(0).matrix.e})}
				var ends=x(".gv-node.gv-hit"), seeds=x('.gv-node[data-address="`+tc.r.Seeds[0].Address+`"]');
				return [Math.min.apply(null,ends), Math.max.apply(null,ends), seeds[0]]})()`, &order)
			if tc.r.Params.Direction == "backward" && !(order[2] > order[1]) || tc.r.Params.Direction == "forward" && !(order[2] < order[0]) {
				t.Errorf("%s: hits at x %v..%v, seed/target address at x %v", tc.r.Params.Direction, order[0], order[1], order[2])
			}
			var before, after string
			p.Eval(t, `document.querySelector(".gv-svg").getAttribute("viewBox")`, &before)
			p.Run(t, chromedp.Click(`[data-action="zoom-in"]`, chromedp.ByQuery))
			p.Eval(t, `document.querySelector(".gv-svg").getAttribute("viewBox")`, &after)
			if before == "" || before == after {
				t.Errorf("zoom in: view box %q then %q", before, after)
			}
			p.Run(t, chromedp.Click(`[data-action="fit"]`, chromedp.ByQuery))
			var wheeled string
			p.Eval(t, `(function(){var s=document.querySelector(".gv-svg"),r=s.getBoundingClientRect();
				s.dispatchEvent(new WheelEvent("wheel",{deltaY:-300,clientX:r.left+r.width/2,clientY:r.top+r.height/2,bubbles:true,cancelable:true}));
				return s.getAttribute("viewBox")})()`, &wheeled)
			if wheeled == before {
				t.Errorf("wheel did not zoom: view box %q", wheeled)
			}
			// The height filter: from the highest height on, fewer nodes.
			var top int32
			for _, n := range model.Nodes {
				top = max(top, n.Height)
			}
			var filtered, restored int
			p.Eval(t, `(function(){var i=document.querySelector('[data-action="height-min"]'); i.value="`+itoa(int(top))+`"; i.dispatchEvent(new Event("change"));
				var n=document.querySelectorAll(".gv-node").length; i.value=""; i.dispatchEvent(new Event("change")); return n})()`, &filtered)
			p.Eval(t, `document.querySelectorAll(".gv-node").length`, &restored)
			if filtered == 0 || filtered >= nodes || restored != nodes {
				t.Errorf("height filter from %d: %d nodes of %d, %d after clearing it", top, filtered, nodes, restored)
			}
			txid := tc.r.Hits[0].Txid
			p.Run(t, chromedp.Evaluate(`document.querySelector('.gv-node[data-txid="`+txid+`"]').dispatchEvent(new MouseEvent("click",{bubbles:true}))`, nil))
			var details string
			p.Eval(t, `document.querySelector(".gv-details").textContent`, &details)
			if !strings.Contains(details, txid) {
				t.Errorf("details panel lacks the full txid %s: %q", txid, details)
			}
			if errs := p.Errors(); len(errs) > 0 {
				t.Errorf("console errors: %q", errs)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
