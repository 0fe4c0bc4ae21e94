//go:build integration

package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer/cases"
	"github.com/tracer-oss/tracer/tracer/internal/browser"
	"github.com/tracer-oss/tracer/tracer/screen/api"
)

// TestCasePageInChromiumIntegration drives /case?id=1 of a scam-centre
// case in headless chromium: it loads with no console error and draws
// nodes that carry data-txid or data-address; zoom changes the view box;
// selecting a node and pressing the control marked data-action="expand"
// adds nodes; a note survives a reload; the screenshot shows the hit
// colour; the details panel shows an address's exposure; a capped graph
// says so on the page.
func TestCasePageInChromiumIntegration(t *testing.T) {
	var svc *cases.Service
	s, tr := caseServerTuned(t, api.Config{}, func(_ *store.Store, c *cases.Service) *cases.Service { svc = c; return c })
	srv := httptest.NewServer(s)
	defer srv.Close()
	code, _, body := do(t, s, "POST", "/v1/cases", "", strings.NewReader(seedsBody(tr, `, "title": "demo case"`)))
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	p := browser.NewPage(t, "1400,1000")
	load := func() {
		t.Helper()
		p.Run(t, chromedp.Navigate(srv.URL+"/case?id=1"), chromedp.WaitVisible(`body[data-ready="1"] .gv-node`, chromedp.ByQuery))
	}
	load()
	count := func() int {
		var n int
		p.Eval(t, `document.querySelectorAll(".gv-node").length`, &n)
		return n
	}
	nodes := count()
	var tagged int
	p.Eval(t, `document.querySelectorAll(".gv-node[data-txid], .gv-node[data-address]").length`, &tagged)
	if nodes == 0 || tagged != nodes {
		t.Fatalf("%d nodes, %d with data-txid or data-address", nodes, tagged)
	}

	// The screenshot of the fitted case shows hits in the hit colour.
	var shot []byte
	p.Run(t, chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		shot, err = page.CaptureScreenshot().Do(ctx)
		return err
	}))
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("SCREEN_SCREENSHOT_DIR"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, "case-page.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	red := browser.CountNear(img, 0xd6, 0x27, 0x28, 10)
	t.Logf("case page: %d nodes, %d hit-coloured pixels", nodes, red)
	if red < 1500 {
		t.Errorf("only %d pixels of the hit colour", red)
	}

	var before, after string
	p.Eval(t, `document.querySelector(".gv-svg").getAttribute("viewBox")`, &before)
	p.Run(t, chromedp.Click(`[data-action="zoom-in"]`, chromedp.ByQuery))
	p.Eval(t, `document.querySelector(".gv-svg").getAttribute("viewBox")`, &after)
	if before == after {
		t.Errorf("zoom did not change the view box %q", before)
	}

	// Select a hit's deposit address and expand it forward.
	var addr string
	p.Eval(t, `(function(){var g=document.querySelector(".gv-node.gv-hit[data-kind=address]"); g.dispatchEvent(new MouseEvent("click",{bubbles:true})); return g.getAttribute("data-address")})()`, &addr)
	var details string
	p.Eval(t, `document.querySelector(".gv-details").textContent`, &details)
	if !strings.Contains(details, "exposure") || !strings.Contains(details, "index of block") {
		t.Errorf("the details of hit %s show no exposure from the index: %q", addr, details)
	}
	p.Run(t, chromedp.Click(`[data-action="expand"]`, chromedp.ByQuery))
	deadline := time.Now().Add(20 * time.Second)
	for count() <= nodes && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := count(); n <= nodes {
		t.Errorf("expand %s: %d nodes, was %d", addr, n, nodes)
	}

	// A note on it, then a reload.
	note := "deposit " + addr + ": subpoena the exchange"
	p.Run(t, chromedp.SetValue(`textarea[data-action="note"]`, note, chromedp.ByQuery), chromedp.Click(`[data-action="note-save"]`, chromedp.ByQuery))
	p.Run(t, chromedp.WaitVisible(`.gv-node.gv-noted`, chromedp.ByQuery))
	load()
	var got string
	sel, _ := json.Marshal(addr)
	p.Eval(t, `(function(){var g=document.querySelector('.gv-node[data-address='+JSON.stringify(`+string(sel)+`)+']'); g.dispatchEvent(new MouseEvent("click",{bubbles:true})); return document.querySelector('textarea[data-action="note"]').value})()`, &got)
	if got != note {
		t.Errorf("after a reload the note reads %q, want %q", got, note)
	}
	// Hide the noted branch: fewer nodes, still after a reload; Show all
	// brings them back.
	full := count()
	p.Run(t, chromedp.Evaluate(`document.querySelector('[data-action="hide"]').click()`, nil))
	hidden := count()
	if hidden >= full {
		t.Errorf("hide: %d nodes, was %d", hidden, full)
	}
	time.Sleep(500 * time.Millisecond) // the PUT
	load()
	if n := count(); n != hidden {
		t.Errorf("after a reload %d nodes, %d when hidden", n, hidden)
	}
	p.Run(t, chromedp.Evaluate(`document.querySelector('[data-action="unhide"]').click()`, nil))
	if n := count(); n != full {
		t.Errorf("show all: %d nodes, want %d", n, full)
	}
	time.Sleep(500 * time.Millisecond)
	var logText string
	p.Run(t, chromedp.WaitVisible(`#log tbody tr:nth-child(3)`, chromedp.ByQuery))
	p.Eval(t, `document.getElementById("log").textContent`, &logText)
	for _, want := range []string{"create", "expand", "note", "hide", "show"} {
		if !strings.Contains(logText, want) {
			t.Errorf("the page's log lacks %q: %s", want, logText)
		}
	}
	// Capped: fewer nodes, and the page says how many are left out.
	svc.MaxNodes = 10
	load()
	var capNote string
	p.Eval(t, `(function(){var e=document.querySelector('[data-role="capped"]'); return e && e.offsetHeight > 0 ? e.textContent : ""})()`, &capNote)
	if n := count(); n >= full || !strings.HasPrefix(capNote, "Graph capped: ") || strings.HasPrefix(capNote, "Graph capped: 0 ") {
		t.Errorf("capped at 10: %d nodes (was %d), note %q", n, full, capNote)
	}
	if errs := p.Errors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
}
