package browser

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Page is a chromium tab driven over the DevTools protocol (chromedp),
// recording console errors and uncaught exceptions.
type Page struct {
	Ctx    context.Context
	mu     sync.Mutex
	errors []string
}

// NewPage starts headless chromium with the same flags as Run (off the
// network, a throwaway profile) at the window size ("1400,900") and opens
// a tab; both end with the test.
func NewPage(t testing.TB, windowSize string) *Page {
	t.Helper()
	bin := Path(t)
	w, h, _ := strings.Cut(windowSize, ",")
	var ww, hh int
	if _, err := fmt.Sscan(w, &ww); err != nil {
		t.Fatalf("window size %q: %v", windowSize, err)
	}
	if _, err := fmt.Sscan(h, &hh); err != nil {
		t.Fatalf("window size %q: %v", windowSize, err)
	}
	// Not t.TempDir: chromium's helpers may still write to the profile
	// after the browser exits, which would fail the test at cleanup.
	profile, err := os.MkdirTemp("", "tracer-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.WindowSize(ww, hh),
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true)}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	// This cdproto predates some of chromium's event fields: such events
	// are dropped (none is one the tests use) without a log line each.
	quiet := func(format string, args ...any) {
		if msg := fmt.Sprintf(format, args...); !strings.Contains(msg, "could not unmarshal event") {
			t.Logf("chromedp: %s", msg)
		}
	}
	ctx, cancelC := chromedp.NewContext(actx, chromedp.WithErrorf(quiet))
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() {
		cancelT()
		cancelC()
		cancelA()
		if err := os.RemoveAll(profile); err != nil {
			t.Logf("remove the chromium profile: %v", err)
		}
	})
	p := &Page{Ctx: ctx}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError || ev.Type == runtime.APITypeAssert {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				p.add("console." + string(ev.Type) + ": " + strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			p.add(fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, msg))
		}
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return p
}

func (p *Page) add(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.errors = append(p.errors, s)
}

// Errors returns the console errors and exceptions so far.
func (p *Page) Errors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errors...)
}

// Run runs chromedp actions on the tab, failing the test on error.
func (p *Page) Run(t testing.TB, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(p.Ctx, actions...); err != nil {
		t.Fatalf("chromium: %v", err)
	}
}

// Eval evaluates a JavaScript expression into out.
func (p *Page) Eval(t testing.TB, expr string, out any) {
	t.Helper()
	p.Run(t, chromedp.Evaluate(expr, out))
}
