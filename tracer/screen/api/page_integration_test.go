//go:build integration

package api_test

import (
	"github.com/tracer-oss/tracer/tracer/internal/browser"
	"image"
	"image/png"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/tracer/screen/api"
)

// TestPageInChromiumIntegration opens the screening page in headless
// chromium with the address in the URL (the page's GET form, no
// JavaScript): the rendered DOM holds the verdict, the exposure and a
// path, and the screenshot shows the verdict box's colour; a listed
// address shows the sanctioned colour instead.
func TestPageInChromiumIntegration(t *testing.T) {
	bin := browser.Path(t)
	s, f := newServer(t, api.Config{})
	srv := httptest.NewServer(s)
	defer srv.Close()
	dep := exposedDeposit(f)
	pageURL := srv.URL + "/?address=" + url.QueryEscape(dep)

	dom := string(browser.Run(t, bin, "1200,1400", "--dump-dom", pageURL))
	for _, want := range []string{"EXPOSED to sanctioned funds", dep, "Exposure: sanctioned", "Example path", `class="verdict exposed"`} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}

	shot := filepath.Join(t.TempDir(), "shot.png")
	browser.Run(t, bin, "1200,1400", "--screenshot="+shot, pageURL)
	img := decode(t, shot)
	keep(t, shot, "screen-page-exposed.png")
	total := img.Bounds().Dx() * img.Bounds().Dy()
	white := browser.CountNear(img, 255, 255, 255, 0)
	exposed := browser.CountNear(img, 0xff, 0xf1, 0xe5, 3) // the exposed verdict's background
	t.Logf("exposed page: %d of %d pixels white, %d in the verdict colour", white, total, exposed)
	if white > total*98/100 {
		t.Fatalf("screenshot is blank")
	}
	if exposed < 20_000 {
		t.Errorf("only %d pixels of the exposed verdict's colour", exposed)
	}

	browser.Run(t, bin, "1200,1400", "--screenshot="+shot, srv.URL+"/?address="+url.QueryEscape(f.truth.Seeds[0].Address))
	img = decode(t, shot)
	listed, exposed2 := browser.CountNear(img, 0xff, 0xeb, 0xe9, 3), browser.CountNear(img, 0xff, 0xf1, 0xe5, 3)
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
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
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
