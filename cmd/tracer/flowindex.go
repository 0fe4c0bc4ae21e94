package main

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/tracer"
)

var noIndexFlag = &cli.BoolFlag{Name: "no-index", Usage: "walk the store itself, not its trace index (DB/flow, built or extended before a forward walk; about 99 bytes per transaction, 5x faster walks)"}

// openFlow opens the store's trace index (store/flow) for forward walks,
// building or extending it first. It returns nil with --no-index, and nil
// with a note when the index cannot be written (a read-only store).
func openFlow(c *cli.Context, st *store.Store) (*flow.Index, error) {
	if c.Bool("no-index") {
		return nil, nil
	}
	x, err := buildFlow(c, st)
	if err != nil {
		if cerr := c.Context.Err(); cerr != nil {
			return nil, cerr
		}
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
			fmt.Fprintf(c.App.ErrWriter, "trace: cannot write the trace index (%v); walking the store itself (slower)\n", err)
			return nil, nil
		}
		return nil, fmt.Errorf("trace index: %w", err)
	}
	return x, nil
}

// buildFlow opens the store's trace index, building or extending it first
// with progress, and says what it did.
func buildFlow(c *cli.Context, st *store.Store) (*flow.Index, error) {
	if fs, cur, err := flow.Describe(st); err == nil && !cur {
		state := st.State()
		todo := uint64(state.NextTx) - min(fs.Txs, uint64(state.NextTx))
		if todo > 1_000_000 {
			fmt.Fprintf(c.App.ErrWriter, "trace index: indexing %d transactions for fast walks (%.1f GB under %s in all; --no-index walks the store instead)\n",
				todo, float64(flow.Size(state))/1e9, flow.Dir(st.Dir()))
		}
	}
	prog := newProgress(c.App.ErrWriter)
	start := time.Now()
	var first uint64
	x, err := flow.Open(c.Context, st, flow.Options{Progress: func(done, total uint64) {
		if first == 0 {
			first = max(done, 1)
		}
		line := fmt.Sprintf("trace index: %d of %d transactions", done, total)
		if s := time.Since(start).Seconds(); s > 1 && done > first {
			rate := float64(done-first) / s
			line += fmt.Sprintf(", %.0f tx/s, %s left", rate, (time.Duration(float64(total-done)/rate) * time.Second).Round(time.Second))
		}
		prog.line(line)
	}})
	prog.finish()
	if err != nil {
		return nil, err
	}
	s := x.Stats()
	if s.Damage != "" {
		fmt.Fprintf(c.App.ErrWriter, "trace index: the old one was damaged (%s); rebuilt from the store\n", s.Damage)
	}
	if s.Cut > 0 {
		fmt.Fprintf(c.App.ErrWriter, "trace index: a reorg took %d transactions off\n", s.Cut)
	}
	if s.Built > 0 {
		what := "extended by"
		if s.Rebuilt || s.Built == s.Txs {
			what = "built for"
		}
		fmt.Fprintf(c.App.ErrWriter, "trace index %s %d transactions in %s (%.0f MB in %s)\n",
			what, s.Built, time.Since(start).Round(time.Millisecond), float64(s.Bytes)/1e6, flow.Dir(st.Dir()))
	}
	return x, nil
}

// forwardGraph is what a forward walk reads: the trace index when there is
// one, else g.
func forwardGraph(g tracer.Graph, x *flow.Index) tracer.Graph {
	if x == nil {
		return g
	}
	return &tracer.FlowGraph{Graph: g, Flow: x}
}
