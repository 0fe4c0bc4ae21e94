//go:build integration

package report

import (
	"bytes"
	"github.com/tracer-oss/tracer/tracer/internal/browser"
	"image"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracer-oss/tracer/tracer"
)

// screenshot renders r's HTML report in headless chromium at 1400x2000 and
// returns the decoded PNG.
func screenshot(t *testing.T, bin string, r *tracer.Result) image.Image {
	t.Helper()
	page := filepath.Join(t.TempDir(), "report.html")
	var b bytes.Buffer
	if err := testRenderer.HTML(&b, r); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return browser.Screenshot(t, bin, "file://"+page, "1400,2000")
}

// TestHTMLScreenshotIntegration opens the HTML report in a real browser and
// checks the picture: the graph's hit colour (#d62728, used nowhere else on
// the page) and the seed colour must cover a fair number of pixels, and a
// report with no flow graph must show (almost) none.
func TestHTMLScreenshotIntegration(t *testing.T) {
	bin := browser.Path(t)

	// The hit colour is drawn only by the graph viewer (its nodes and legend).
	img := screenshot(t, bin, fixture(false))
	if s := img.Bounds().Size(); s.X < 1000 || s.Y < 1000 {
		t.Fatalf("screenshot is %v", s)
	}
	white := browser.CountNear(img, 255, 255, 255, 0)
	total := img.Bounds().Dx() * img.Bounds().Dy()
	if white > total*98/100 {
		t.Fatalf("screenshot is blank: %d of %d pixels white", white, total)
	}
	red := browser.CountNear(img, 0xd6, 0x27, 0x28, 12)
	gold := browser.CountNear(img, 0xff, 0xbf, 0x00, 12)
	blue := browser.CountNear(img, 0x1f, 0x77, 0xb4, 12)
	t.Logf("full report: %d hit-red, %d seed-gold, %d holding-blue pixels of %d", red, gold, blue, total)
	// Six hit boxes, the graph fitted to the viewer's 640 px: over 3,000 px.
	if red < 3_000 {
		t.Errorf("only %d hit-coloured pixels: the graph's hits are not shown", red)
	}
	if gold < 2_000 {
		t.Errorf("only %d seed-coloured pixels: the graph's seeds are not shown", gold)
	}
	if blue < 2_000 {
		t.Errorf("only %d holding-coloured pixels", blue)
	}

	// Control: without edges the graph has no hit nodes, so no red.
	bare := fixture(false)
	bare.Edges = nil
	img = screenshot(t, bin, bare)
	if red := browser.CountNear(img, 0xd6, 0x27, 0x28, 12); red > 500 {
		t.Errorf("report without a flow graph shows %d hit-coloured pixels: the check above proves nothing", red)
	}
}
