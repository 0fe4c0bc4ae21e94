package live_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/tracer/live"
	"github.com/tracer-oss/tracer/tracer/screen"
	"github.com/tracer-oss/tracer/tracer/screen/api"
)

// status reads GET /v1/status.
func (r *running) status(t testing.TB) api.StatusResponse {
	t.Helper()
	var st api.StatusResponse
	if code, err := getJSON(r.srv.URL+"/v1/status", &st); err != nil || code != 200 {
		t.Fatalf("GET /v1/status: %d %v", code, err)
	}
	return st
}

// lastTainted is the height of the chain's last tainted deposit.
func (c *chainFix) lastTainted() int32 {
	last := int32(0)
	for _, d := range c.truth.Deposits {
		if d.Taint.Haircut > 0 {
			last = max(last, d.Height)
		}
	}
	return last
}

// lostBy counts the deposits whose exposure differs between the tips a
// and b: a reorganisation between them that changes none shows nothing.
func (c *chainFix) lostBy(a, b int32) int {
	lost, wa := 0, c.want(a)
	for addr, v := range c.want(b) {
		if v != wa[addr] {
			lost++
		}
	}
	return lost
}

// TestReorgAtMaxReorg: the exposure index keeps undo records as deep as
// --max-reorg, so a reorganisation as deep as the follower accepts is
// undone in the index exactly — the same generation brought back and
// forward, no rebuild, no answer held — and screens give the new chain's
// truth. (With the index's own default depth of 10, this 15-block
// reorganisation rebuilt the index.)
func TestReorgAtMaxReorg(t *testing.T) {
	const depth = 15
	c := genChain(t)
	st := listStore(t, c)
	n := min(c.lastTainted()+2, int32(len(c.blocks)-1)) // the tip: tainted deposits in its last blocks
	fork := n - depth
	if c.lostBy(fork, n) == 0 {
		t.Fatalf("no tainted deposit in the last %d of %d blocks: the test would show nothing", depth, n)
	}
	node := &memNode{}
	node.set(c.blocks[:n+1], c.hashes[:n+1])
	var builds atomic.Int32
	r := startWith(t, st, node, func(cfg *live.Config) {
		cfg.Follow.Sync.MaxReorg = depth
		live.WithBuildGate(cfg, func(context.Context) { builds.Add(1) })
	})
	r.waitTip(t, c.hashes[n])
	before := r.status(t)
	if before.Index == nil || builds.Load() != 1 {
		t.Fatalf("after the first sync: %d builds, index %+v", builds.Load(), before.Index)
	}
	blocks, hashes := c.branch(t, fork, n+1) // depth blocks undone, depth+1 applied
	node.set(blocks, hashes)
	deadline := time.Now().Add(60 * time.Second)
	for {
		s := r.status(t)
		if s.Pending != nil || s.Stale != "" {
			t.Fatalf("the reorganisation of %d blocks (--max-reorg %d) held the view for a rebuild: pending %+v, stale %q", depth, depth, s.Pending, s.Stale)
		}
		if s.TipHash == hashes[len(hashes)-1].String() && s.Index != nil && len(s.Index.Stale) == 0 {
			if s.Index.Gen != before.Index.Gen || builds.Load() != 1 {
				t.Fatalf("index generation %d after the reorganisation, %d before; %d builds: it was rebuilt, not undone", s.Index.Gen, before.Index.Gen, builds.Load())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the view never reached the branch's tip: %+v", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.checkExposures(t, c.want(fork), hashes[len(hashes)-1])
}

// TestReorgDeeperThanUndoRecords: a reorganisation deeper than the
// exposure index's undo records makes the index rebuild. Until the new
// index is ready, every answer comes from the last consistent view —
// its own tip (no longer on the best chain), its own amounts — and says
// so in "stale"; /v1/status shows the build and why. Then the view
// switches to the new chain's tip with the truth's amounts and no marker.
func TestReorgDeeperThanUndoRecords(t *testing.T) {
	c := genChain(t)
	st := listStore(t, c)
	n := min(c.lastTainted()+2, int32(len(c.blocks)-1))
	fork := n - 6 // deeper than the 3 blocks of undo records below
	if c.lostBy(fork, n) == 0 {
		t.Fatalf("no tainted deposit in the last blocks: the test would show nothing")
	}
	node := &memNode{}
	node.set(c.blocks[:n+1], c.hashes[:n+1])
	var builds atomic.Int32
	release := make(chan struct{})
	r := startWith(t, st, node, func(cfg *live.Config) {
		cfg.Screen.UndoDepth = 3
		live.WithBuildGate(cfg, func(ctx context.Context) {
			if builds.Add(1) > 1 {
				select {
				case <-release:
				case <-ctx.Done():
				}
			}
		})
	})
	r.waitTip(t, c.hashes[n])
	before := r.status(t)
	blocks, hashes := c.branch(t, fork, n+1)
	branchTip := hashes[len(hashes)-1]
	node.set(blocks, hashes)

	// The store follows the branch; the view stays where it was.
	deadline := time.Now().Add(60 * time.Second)
	var held api.StatusResponse
	for held = r.status(t); held.Stale == "" || held.Pending == nil || !strings.Contains(held.Stale, fmt.Sprintf("the store is at tip %d", n+1)); held = r.status(t) {
		if time.Now().After(deadline) {
			t.Fatalf("no held view after the deep reorganisation: %+v", held)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if held.TipHash != c.hashes[n].String() || held.Index == nil || held.Index.Gen != before.Index.Gen {
		t.Fatalf("held view at %d %s, index %+v; want the last view (tip %s, generation %d)", held.TipHeight, held.TipHash, held.Index, c.hashes[n], before.Index.Gen)
	}
	for _, want := range []string{"no longer on the best chain", "undo records (3 blocks", "rebuilt"} {
		if !strings.Contains(held.Stale, want) {
			t.Errorf("stale %q does not say %q", held.Stale, want)
		}
	}
	if !strings.Contains(held.Pending.Reason, "reorganised") {
		t.Errorf("pending %+v does not say why it rebuilds", held.Pending)
	}
	if code, page := getBody(t, r.srv.URL+"/?address="+c.truth.Deposits[0].Address); code != 200 || !strings.Contains(page, `<b id="stale">stale</b>: answered from tip`) {
		t.Errorf("the page while held: %d, no stale marker", code)
	}
	old := c.want(n)
	for addr, amount := range old {
		s := r.screen(addr)
		if s.Err != nil || s.Code != 200 {
			t.Fatalf("screen %s while held: %d %v", addr, s.Code, s.Err)
		}
		if s.TipHash != c.hashes[n].String() || s.Stale == "" || s.Method != screen.MethodIndex || s.Sanctioned().Amount != amount {
			t.Fatalf("screen %s while held: tip %s, stale %q, %s %d sat; want tip %s marked stale, %d sat from the index",
				addr, s.TipHash, s.Stale, s.Method, s.Sanctioned().Amount, c.hashes[n], amount)
		}
	}

	close(release)
	r.waitTip(t, branchTip)
	r.checkExposures(t, c.want(fork), branchTip)
	after := r.status(t)
	if after.Stale != "" || after.Pending != nil || after.Index.Gen == before.Index.Gen {
		t.Errorf("after the rebuild: stale %q, pending %+v, generation %d (was %d)", after.Stale, after.Pending, after.Index.Gen, before.Index.Gen)
	}
	for addr := range old {
		if s := r.screen(addr); s.Stale != "" {
			t.Fatalf("screen %s after the rebuild still marked stale: %q", addr, s.Stale)
		}
		break
	}
}

// TestRestartDuringDeepReorgRebuild: a service stopped while the index
// rebuilds after a reorganisation deeper than its undo records (its
// generation in force partly undone) starts again on the new chain's tip
// and, until the rebuild ends, answers with fresh walks — the truth of
// that tip, the index marked stale in /v1/status — never from the partly
// undone index; then from the rebuilt index.
func TestRestartDuringDeepReorgRebuild(t *testing.T) {
	c := genChain(t)
	st := listStore(t, c)
	n := min(c.lastTainted()+2, int32(len(c.blocks)-1))
	fork := n - 6
	node := &memNode{}
	node.set(c.blocks[:n+1], c.hashes[:n+1])
	gate := func(release <-chan struct{}, pass int32) func(*live.Config) {
		var builds atomic.Int32
		return func(cfg *live.Config) {
			cfg.Screen.UndoDepth = 3
			live.WithBuildGate(cfg, func(ctx context.Context) {
				if builds.Add(1) > pass {
					select {
					case <-release:
					case <-ctx.Done():
					}
				}
			})
		}
	}
	never := make(chan struct{})
	r := startWith(t, st, node, gate(never, 1))
	r.waitTip(t, c.hashes[n])
	blocks, hashes := c.branch(t, fork, n+1)
	branchTip := hashes[len(hashes)-1]
	node.set(blocks, hashes)
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(r.status(t).Stale, fmt.Sprintf("the store is at tip %d", n+1)) {
		if time.Now().After(deadline) {
			t.Fatalf("no held view after the deep reorganisation: %+v", r.status(t))
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.stop()

	release := make(chan struct{})
	r2 := startWith(t, st, node, gate(release, 0))
	s := r2.status(t)
	if s.TipHash != branchTip.String() || s.Index == nil || len(s.Index.Stale) == 0 {
		t.Fatalf("after the restart: tip %s, index %+v; want the branch's tip %s and the index marked stale", s.TipHash, s.Index, branchTip)
	}
	want := c.want(fork)
	for addr, amount := range want {
		a := r2.screen(addr)
		if a.Err != nil || a.Code != 200 {
			t.Fatalf("screen %s after the restart: %d %v", addr, a.Code, a.Err)
		}
		// A fresh walk floors once per edge (README: index and fresh walks
		// agree within floor rounding), the truth and the index do not.
		got := a.Sanctioned().Amount
		if a.TipHash != branchTip.String() || a.Method == screen.MethodIndex || got > amount || amount-got > 100 {
			t.Fatalf("screen %s after the restart: tip %s, %s, %d sat; want tip %s, not the index, %d sat (less floor rounding)", addr, a.TipHash, a.Method, got, branchTip, amount)
		}
	}
	close(release)
	r2.waitTip(t, branchTip)
	r2.checkExposures(t, want, branchTip)
}

func getBody(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
