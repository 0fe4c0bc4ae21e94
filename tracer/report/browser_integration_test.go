//go:build integration

package report

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/tracer"
)

// chromiumPath finds Debian's chromium; the test fails (not skips) without
// it, since CI installs it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found on PATH; install with: apt-get install -y chromium")
	return ""
}

// screenshot renders r's HTML report in headless chromium at 1400x2000 and
// returns the decoded PNG.
func screenshot(t *testing.T, bin string, r *tracer.Result) image.Image {
	t.Helper()
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	shot := filepath.Join(dir, "shot.png")
	var b bytes.Buffer
	if err := testRenderer.HTML(&b, r); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--window-size=1400,2000",
		"--screenshot="+shot, "file://"+page)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\nchromium said:\n%s", err, out)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", shot, err)
	}
	if keep := os.Getenv("REPORT_SCREENSHOT_DIR"); keep != "" {
		data, _ := os.ReadFile(shot)
		os.WriteFile(filepath.Join(keep, strings.ReplaceAll(t.Name(), "/", "_")+".png"), data, 0o644)
	}
	return img
}

// countNear counts pixels within tol of the colour (r, g, b) on each channel.
func countNear(img image.Image, r, g, b, tol int) int {
	n := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			if abs(int(pr>>8)-r) <= tol && abs(int(pg>>8)-g) <= tol && abs(int(pb>>8)-b) <= tol {
				n++
			}
		}
	}
	return n
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// TestHTMLScreenshotIntegration opens the HTML report in a real browser and
// checks the picture: the graph's hit colour (#d62728, used nowhere else on
// the page) and the seed colour must cover a fair number of pixels, and a
// report with no flow graph must show (almost) none.
func TestHTMLScreenshotIntegration(t *testing.T) {
	bin := chromiumPath(t)

	// The hit colour appears only inside the SVG, so red pixels are the graph's.
	var b bytes.Buffer
	if err := testRenderer.HTML(&b, fixture(false)); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	svgStart := strings.Index(page, "<svg")
	if i := strings.Index(page, hitColour); i < svgStart {
		t.Fatalf("%s used outside the SVG, at byte %d", hitColour, i)
	}

	img := screenshot(t, bin, fixture(false))
	if s := img.Bounds().Size(); s.X < 1000 || s.Y < 1000 {
		t.Fatalf("screenshot is %v", s)
	}
	white := countNear(img, 255, 255, 255, 0)
	total := img.Bounds().Dx() * img.Bounds().Dy()
	if white > total*98/100 {
		t.Fatalf("screenshot is blank: %d of %d pixels white", white, total)
	}
	red := countNear(img, 0xd6, 0x27, 0x28, 12)
	gold := countNear(img, 0xff, 0xbf, 0x00, 12)
	blue := countNear(img, 0x1f, 0x77, 0xb4, 12)
	t.Logf("full report: %d hit-red, %d seed-gold, %d holding-blue pixels of %d", red, gold, blue, total)
	// Six hit boxes of 190x36 px, scaled to fit 1400 px, are well over 10,000 px.
	if red < 10_000 {
		t.Errorf("only %d hit-coloured pixels: the graph's hits are not shown", red)
	}
	if gold < 3_000 {
		t.Errorf("only %d seed-coloured pixels: the graph's seeds are not shown", gold)
	}
	if blue < 5_000 {
		t.Errorf("only %d holding-coloured pixels", blue)
	}

	// Control: without edges the graph has no hit nodes, so no red.
	bare := fixture(false)
	bare.Edges = nil
	img = screenshot(t, bin, bare)
	if red := countNear(img, 0xd6, 0x27, 0x28, 12); red > 500 {
		t.Errorf("report without a flow graph shows %d hit-coloured pixels: the check above proves nothing", red)
	}
}
