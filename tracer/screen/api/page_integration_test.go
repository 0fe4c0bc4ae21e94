//go:build integration

package api_test

import (
	"context"
	"image"
	"image/png"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/tracer/screen/api"
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

func chromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + filepath.Join(dir, "profile"), "--window-size=1200,1400"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	return out
}

func countNear(img image.Image, r, g, b, tol int) int {
	n := 0
	bd := img.Bounds()
	for y := bd.Min.Y; y < bd.Max.Y; y++ {
		for x := bd.Min.X; x < bd.Max.X; x++ {
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

// TestPageInChromiumIntegration opens the screening page in headless
// chromium with the address in the URL (the page's GET form, no
// JavaScript): the rendered DOM holds the verdict, the exposure and a
// path, and the screenshot shows the verdict box's colour; a listed
// address shows the sanctioned colour instead.
func TestPageInChromiumIntegration(t *testing.T) {
	bin := chromiumPath(t)
	s, f := newServer(t, api.Config{})
	srv := httptest.NewServer(s)
	defer srv.Close()
	dep := exposedDeposit(f)
	pageURL := srv.URL + "/?address=" + url.QueryEscape(dep)

	dom := string(chromium(t, bin, "--dump-dom", pageURL))
	for _, want := range []string{"EXPOSED to sanctioned funds", dep, "Exposure: sanctioned", "Example path", `class="verdict exposed"`} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}

	shot := filepath.Join(t.TempDir(), "shot.png")
	chromium(t, bin, "--screenshot="+shot, pageURL)
	img := decode(t, shot)
	keep(t, shot, "screen-page-exposed.png")
	total := img.Bounds().Dx() * img.Bounds().Dy()
	white := countNear(img, 255, 255, 255, 0)
	exposed := countNear(img, 0xff, 0xf1, 0xe5, 3) // the exposed verdict's background
	t.Logf("exposed page: %d of %d pixels white, %d in the verdict colour", white, total, exposed)
	if white > total*98/100 {
		t.Fatalf("screenshot is blank")
	}
	if exposed < 20_000 {
		t.Errorf("only %d pixels of the exposed verdict's colour", exposed)
	}

	chromium(t, bin, "--screenshot="+shot, srv.URL+"/?address="+url.QueryEscape(f.truth.Seeds[0].Address))
	img = decode(t, shot)
	listed, exposed2 := countNear(img, 0xff, 0xeb, 0xe9, 3), countNear(img, 0xff, 0xf1, 0xe5, 3)
	t.Logf("listed page: %d pixels in the sanctioned colour, %d in the exposed colour", listed, exposed2)
	if listed < 20_000 || exposed2 > 1000 {
		t.Errorf("listed address: %d sanctioned-colour pixels, %d exposed-colour", listed, exposed2)
	}
	keep(t, shot, "screen-page-listed.png")
}

// keep copies a screenshot to SCREEN_SCREENSHOT_DIR, when set, for a look.
func keep(t *testing.T, shot, name string) {
	if dir := os.Getenv("SCREEN_SCREENSHOT_DIR"); dir != "" {
		data, _ := os.ReadFile(shot)
		os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}
}

func decode(t *testing.T, path string) image.Image {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	img, err := png.Decode(fh)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
