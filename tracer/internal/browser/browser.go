// Package browser drives Debian's headless chromium for tests that look at
// what tracer shows a person (the HTML report, the screening page): find
// the binary, run it with the flags this closed network needs, decode a
// screenshot and count pixels of a colour.
package browser

import (
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Path finds chromium on PATH; the test fails (not skips) without it,
// since CI installs it.
func Path(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found on PATH; install with: apt-get install -y chromium")
	return ""
}

// Run runs headless chromium with args after the flags that keep it off
// the network and out of the user's profile, and returns its stdout.
func Run(t testing.TB, bin, windowSize string, args ...string) []byte {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + filepath.Join(dir, "profile"), "--window-size=" + windowSize}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	return out
}

// Screenshot renders url at windowSize ("1400,2000") and decodes the PNG.
func Screenshot(t testing.TB, bin, url, windowSize string) image.Image {
	t.Helper()
	shot := filepath.Join(t.TempDir(), "shot.png")
	Run(t, bin, windowSize, "--screenshot="+shot, url)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close() //nolint:errcheck // opened read-only: Close cannot lose data
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", shot, err)
	}
	return img
}

// CountNear counts pixels within tol of the colour (r, g, b) on each channel.
func CountNear(img image.Image, r, g, b, tol int) int {
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
