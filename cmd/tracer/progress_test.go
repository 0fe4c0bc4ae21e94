package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/store/ingest"
)

// TestIngestProgressETA: every phase's ETA comes from that phase's own
// rate and says "?" until one is known — not "0s" on its first line, as
// the merge phase printed at 1% of a 30 M-transaction load.
func TestIngestProgressETA(t *testing.T) {
	type event struct {
		pr   ingest.Progress
		want string // in the printed line; "" when nothing is printed
	}
	sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
	for _, tc := range []struct {
		name   string
		events []event
	}{
		{"merge", []event{
			{ingest.Progress{Phase: ingest.PhaseBlocks, Height: 9, TargetHeight: 9, Elapsed: sec(50)}, "ETA ?"},
			{ingest.Progress{Phase: ingest.PhaseMerge, Step: 1, Steps: 100, Elapsed: sec(100)}, "(1%) of blocks to 0  ETA ?"},
			{ingest.Progress{Phase: ingest.PhaseMerge, Step: 11, Steps: 100, Elapsed: sec(110)}, "(11%) of blocks to 0  ETA 1m29s"},
		}},
		{"join then merge", []event{
			{ingest.Progress{Phase: ingest.PhaseJoin, Steps: 200, Elapsed: sec(10)}, ""}, // a phase's start is not printed
			{ingest.Progress{Phase: ingest.PhaseJoin, Step: 100, Steps: 200, Elapsed: sec(30)}, "joined 100 of 200 sorted spends and outputs (50%) of blocks to 0  ETA 20s"},
			{ingest.Progress{Phase: ingest.PhaseMerge, Step: 50, Steps: 1000, Elapsed: sec(40)}, "merged 50 of 1000 sorted writes (5%) of blocks to 0  ETA ?"},
			{ingest.Progress{Phase: ingest.PhaseMerge, Step: 100, Steps: 1000, Elapsed: sec(50)}, "ETA 3m0s"},
		}},
		{"blocks", []event{
			{ingest.Progress{Phase: ingest.PhaseBlocks, Height: 0, TargetHeight: 99, Blocks: 1, Txs: 10, Elapsed: 0}, "height 0/99"},
			{ingest.Progress{Phase: ingest.PhaseBlocks, Height: 49, TargetHeight: 99, Blocks: 50, Txs: 500, Elapsed: sec(10)}, "blocks ETA 10s"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Create(filepath.Join(t.TempDir(), "progress"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			p := newProgress(f)
			var printed int64
			for i, ev := range tc.events {
				p.last = time.Time{} // past the 5 s between lines
				p.ingest(ev.pr)
				b, err := os.ReadFile(f.Name())
				if err != nil {
					t.Fatal(err)
				}
				line := string(b[printed:])
				printed = int64(len(b))
				if ev.want == "" {
					if line != "" {
						t.Errorf("event %d printed %q, want nothing", i, line)
					}
					continue
				}
				if line == "" {
					t.Errorf("event %d printed nothing, want %q", i, ev.want)
					continue
				}
				if !strings.Contains(line, ev.want) || strings.Contains(line, "ETA 0s") {
					t.Errorf("event %d printed %q, want %q", i, line, ev.want)
				}
			}
		})
	}
}
