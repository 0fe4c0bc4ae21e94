package main

import (
	"fmt"
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
	if !strings.Contains(string(html), "<svg") || !strings.Contains(string(html), "GOLDEN LOTUS") || !strings.Contains(string(html), "TracerGraph.mount") {
		t.Fatalf("report lacks the graph, the viewer or the entity (%d bytes)", len(html))
	}
	// The summary speaks of what was traced: the ground truth of the
	// traced seeds' deposits, the trace's hits, the case's, all equal here.
	var want, hits, found, caseHits int
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "ground truth: ") {
			if _, err := fmt.Sscanf(line, "ground truth: %d deposits", &want); err != nil {
				t.Fatal(err)
			}
			if i := strings.Index(line, "the trace has "); i >= 0 {
				if _, err := fmt.Sscanf(line[i:], "the trace has %d hits, %d of them", &hits, &found); err != nil {
					t.Fatal(err)
				}
			}
		}
		if strings.HasPrefix(line, "case 1: ") {
			if i := strings.Index(line, "seeds, "); i >= 0 {
				if _, err := fmt.Sscanf(line[i:], "seeds, %d hits", &caseHits); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if want == 0 || hits != want || found != want || caseHits != hits {
		t.Errorf("summary: %d true deposits from the traced seeds, %d hits, %d of them true, the case %d hits:\n%s", want, hits, found, caseHits, out)
	}
	if !strings.Contains(out, "trace: matches") || !strings.Contains(out, "files: intact") {
		t.Errorf("the demo's bundle does not verify:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "The interactive report: ") || !strings.HasSuffix(last, "report.html") {
		t.Errorf("the demo ends with %q, not the interactive report", last)
	}
}
