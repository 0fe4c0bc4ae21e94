package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemo runs the README's first command end to end on a small chain.
func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo") // a new folder, as a user's first run
	code, out, errs := runCLI(t, "demo", "--out", dir, "--txs", "3000")
	if code != 0 {
		t.Fatalf("demo: exit %d: %s", code, errs)
	}
	for _, want := range []string{"ingested regtest blocks", "stored sanctions list version 1", "BTC tags stored", "Hits (", "demo done"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), "<svg") || !strings.Contains(string(html), "GOLDEN LOTUS") {
		t.Fatalf("report lacks the graph or the entity (%d bytes)", len(html))
	}
}
