package cases_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/sanctions/ofac"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/cases"
	"github.com/tracer-oss/tracer/tracer/graphview"
	"github.com/tracer-oss/tracer/tracer/internal/scamstore"
	"github.com/tracer-oss/tracer/tracer/spec"
)

func TestMain(m *testing.M) {
	code := m.Run()
	scamstore.Remove()
	os.Exit(code)
}

// writable returns a writable store holding the scam-centre chain.
func writable(t *testing.T) (*store.Store, scamstore.Fixture) {
	t.Helper()
	f := scamstore.Get(t)
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := scamstore.Load(context.Background(), st, f.Chain); err != nil {
		t.Fatal(err)
	}
	return st, f
}

func TestCaseLifecycle(t *testing.T) {
	ctx := context.Background()
	st, f := writable(t)
	svc := cases.ForStore(st, spec.NewRunner(st, scamstore.Params, nil), st, scamstore.Params)
	seeds := f.Truth.Entities[0].Addresses
	c, err := svc.Create(ctx, "alice", "scam centre", seeds, cases.Params{})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != 1 || c.Hits == 0 || c.Params.Model != "haircut" || c.Versions.ListSHA256 == "" || len(c.Versions.TagPacks) != 1 {
		t.Fatalf("created %+v", c)
	}
	g, err := svc.Graph(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if g.Counts.Hits != c.Hits || g.Counts.Transactions == 0 {
		t.Fatalf("graph counts %+v, case has %d hits", g.Counts, c.Hits)
	}
	// A hit deposit address the exchange has spent from (so a forward
	// expansion has something to add).
	var hit *graphview.Node
	for i := range g.Nodes {
		if !g.Nodes[i].Hit || g.Nodes[i].Kind != graphview.KindAddress {
			continue
		}
		a, err := address.Parse(g.Nodes[i].Address, scamstore.Params)
		if err != nil {
			t.Fatal(err)
		}
		spent := false
		if err := st.AddressOutputs(a, store.OutPoint{}, func(o store.AddrOutput) bool { spent = spent || o.Spent; return !spent }); err != nil {
			t.Fatal(err)
		}
		if spent {
			hit = &g.Nodes[i]
			break
		}
	}
	if hit == nil {
		t.Fatal("no spent hit address in the graph")
	}
	if hit.Time == "" {
		t.Errorf("hit node without a time: %+v", hit)
	}

	// A note, by node id or by key.
	if _, err := svc.SetNote(c.ID, "bob", graphview.AddrID(hit.Address), "deposit: ask the exchange"); err != nil {
		t.Fatal(err)
	}
	// An expansion forward from the deposit address adds the exchange's
	// transactions spending it.
	before, beforeEdges := len(g.Nodes), len(g.Edges)
	g2, err := svc.Expand(ctx, c.ID, "bob", hit.Address, "forward")
	if err != nil {
		t.Fatal(err)
	}
	// The spending transaction may be in the trace already (another path
	// reached it): then the expansion adds the edge to it.
	if len(g2.Nodes) < before || len(g2.Edges) <= beforeEdges {
		t.Errorf("expanding %s forward: %d nodes and %d edges, were %d and %d", hit.Address, len(g2.Nodes), len(g2.Edges), before, beforeEdges)
	}
	if n := g2.Node(graphview.AddrID(hit.Address)); n == nil || n.Note != "deposit: ask the exchange" {
		t.Errorf("note lost: %+v", n)
	}

	// Re-run with other parameters: notes and expansions stay.
	c2, err := svc.Rerun(ctx, c.ID, "carol", cases.Params{Model: "poison", MaxHops: 3})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Runs != 2 || c2.Params.Model != "poison" || c2.Notes[hit.Address].Text == "" || len(c2.Expansions) != 1 {
		t.Errorf("after re-run: %+v", c2)
	}
	log, err := svc.Log(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range log {
		got = append(got, e.Who+" "+e.Action)
		if e.Time.IsZero() {
			t.Errorf("log entry without a time: %+v", e)
		}
	}
	if want := []string{"alice create", "bob note", "bob expand", "carol rerun"}; !slices.Equal(got, want) {
		t.Errorf("log %q, want %q", got, want)
	}
	list, err := svc.List()
	if err != nil || len(list) != 1 || list[0].ID != c.ID {
		t.Errorf("list: %v %+v", err, list)
	}
}

func TestCaseBadInput(t *testing.T) {
	ctx := context.Background()
	st, f := writable(t)
	svc := cases.ForStore(st, spec.NewRunner(st, scamstore.Params, nil), st, scamstore.Params)
	if _, err := svc.Get(7); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("Get(7): %v", err)
	}
	for _, tc := range []struct {
		name  string
		seeds []string
		p     cases.Params
	}{
		{"no seeds", nil, cases.Params{}},
		{"bad seed", []string{"not-an-address"}, cases.Params{}},
		{"bad direction", f.Truth.Entities[0].Addresses, cases.Params{Direction: "sideways"}},
		{"bad model", f.Truth.Entities[0].Addresses, cases.Params{Model: "magic"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := svc.Create(ctx, "x", "", tc.seeds, tc.p); !errors.Is(err, cases.ErrBadInput) {
				t.Errorf("Create: %v, want ErrBadInput", err)
			}
		})
	}
	c, err := svc.Create(ctx, "x", "", f.Truth.Entities[0].Addresses, cases.Params{MaxHops: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Expand(ctx, c.ID, "x", strings.Repeat("ab", 32), "forward"); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("expand an unknown txid: %v", err)
	}
	if _, err := svc.Expand(ctx, c.ID, "x", "nonsense", "forward"); !errors.Is(err, cases.ErrBadInput) {
		t.Errorf("expand nonsense: %v", err)
	}
	if _, err := svc.Expand(ctx, c.ID, "x", f.Truth.Entities[0].Addresses[0], "up"); !errors.Is(err, cases.ErrBadInput) {
		t.Errorf("expand up: %v", err)
	}
	if _, err := svc.SetNote(c.ID, "x", "bc1-typo", "note"); !errors.Is(err, cases.ErrBadInput) {
		t.Errorf("note on nonsense: %v", err)
	}
	if _, err := svc.SetNote(99, "x", f.Truth.Entities[0].Addresses[0], "note"); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("note on case 99: %v", err)
	}
	if l, _ := svc.Log(c.ID); len(l) != 1 {
		t.Errorf("failed changes were logged: %+v", l)
	}
}

// TestBundleRoundTrip exports a bundle, verifies it on the same store
// (matches), after a tampered file (detected by its hash), and after the
// sanctions list changed (says what differs).
func TestBundleRoundTrip(t *testing.T) {
	ctx := context.Background()
	st, f := writable(t)
	svc := cases.ForStore(st, spec.NewRunner(st, scamstore.Params, nil), st, scamstore.Params)
	c, err := svc.Create(ctx, "alice", "", f.Truth.Entities[0].Addresses, cases.Params{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetNote(c.ID, "alice", f.Truth.Entities[0].Addresses[0], "the seed"); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := svc.Bundle(ctx, c.ID, &b); err != nil {
		t.Fatal(err)
	}
	files := unzip(t, b.Bytes())
	for _, name := range []string{"report.html", "hits.csv", "graph.json", "result.json", "notes.json", "params.json", "data-versions.json", "command.txt", "log.json", "MANIFEST.sha256"} {
		if len(files[name]) == 0 {
			t.Errorf("bundle lacks %s", name)
		}
	}
	if !strings.Contains(string(files["notes.json"]), "the seed") || !strings.Contains(string(files["command.txt"]), "tracer --db STORE trace --direction forward") {
		t.Errorf("notes or command wrong:\n%s\n%s", files["notes.json"], files["command.txt"])
	}
	if n := strings.Count(string(files["MANIFEST.sha256"]), "\n"); n != len(files)-1 {
		t.Errorf("manifest lists %d files, bundle has %d besides it", n, len(files)-1)
	}

	verify := func(data []byte) *cases.Verification {
		t.Helper()
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		v, err := svc.Verify(ctx, zr)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := verify(b.Bytes()); !v.OK() {
		t.Fatalf("fresh bundle does not verify: %+v", v)
	}

	// A tampered file: one satoshi changed in hits.csv.
	files["hits.csv"] = []byte(strings.Replace(string(files["hits.csv"]), "0", "1", 1))
	if v := verify(rezip(t, files)); v.Intact || !slices.Equal(v.Tampered, []string{"hits.csv"}) || !v.Matches {
		t.Errorf("tampered hits.csv: %+v", v)
	}

	// The sanctions list reloaded (a new version in force).
	list, err := ofac.ParseFiles(ctx, filepath.Join(f.Chain, "sanctions", "sdn_advanced.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Lists().Save(ctx, list); err != nil {
		t.Fatal(err)
	}
	v := verify(b.Bytes())
	if v.Matches || !v.Intact || len(v.Differences) == 0 || !strings.Contains(v.Differences[0], "sanctions list: bundle") || !strings.Contains(v.Differences[0], "version 2") {
		t.Errorf("after a list change: %+v", v)
	}
}

func unzip(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	return out
}

func rezip(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, data := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestViewCappedNotIndexed: View caps the graph (Graph stays whole) and,
// on a store without an exposure index, says every address is not
// indexed, in the view and in the bundle's graph.json.
func TestViewCappedNotIndexed(t *testing.T) {
	ctx := context.Background()
	st, f := writable(t)
	svc := cases.ForStore(st, spec.NewRunner(st, scamstore.Params, nil), st, scamstore.Params)
	c, err := svc.Create(ctx, "alice", "", f.Truth.Entities[0].Addresses, cases.Params{})
	if err != nil {
		t.Fatal(err)
	}
	full, err := svc.Graph(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	v, err := svc.View(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Capped || len(v.Nodes) != len(full.Nodes) {
		t.Fatalf("view of %d nodes under the default cap: capped %v, %d nodes", len(full.Nodes), v.Capped, len(v.Nodes))
	}
	addrs := 0
	for _, n := range v.Nodes {
		if n.Kind == graphview.KindAddress && n.Address != "" {
			addrs++
			if n.Exposure != cases.NotIndexed {
				t.Fatalf("address %s: exposure %q, want %q", n.Address, n.Exposure, cases.NotIndexed)
			}
		} else if n.Exposure != "" {
			t.Errorf("%s node %s has an exposure %q", n.Kind, n.ID, n.Exposure)
		}
	}
	if addrs == 0 {
		t.Fatal("no address node")
	}
	svc.MaxNodes = len(full.Nodes) / 2
	v, err = svc.View(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Capped || v.Omitted == 0 || v.Omitted != len(full.Nodes)-len(v.Nodes) {
		t.Errorf("view capped at %d of %d nodes: capped %v, omitted %d, %d nodes", svc.MaxNodes, len(full.Nodes), v.Capped, v.Omitted, len(v.Nodes))
	}
	if g, err := svc.Graph(ctx, c.ID); err != nil || len(g.Nodes) != len(full.Nodes) || g.Capped {
		t.Errorf("Graph after a capped View: %d nodes (was %d), %v", len(g.Nodes), len(full.Nodes), err)
	}
	var b bytes.Buffer
	if err := svc.Bundle(ctx, c.ID, &b); err != nil {
		t.Fatal(err)
	}
	gj := string(unzip(t, b.Bytes())["graph.json"])
	if n := strings.Count(gj, `"exposure": "not indexed"`); n != addrs {
		t.Errorf("bundle graph.json: %d address exposures, want %d", n, addrs)
	}
}

// labelsFail fails as spec.Runner does when cluster labelling met a store
// error partway through the walk, after budget good traces.
type labelsFail struct {
	next   cases.Tracer
	budget int
}

func (f *labelsFail) Trace(ctx context.Context, p spec.Spec) (*tracer.Result, error) {
	if f.budget--; f.budget < 0 {
		return nil, fmt.Errorf("%w: store: cluster root of address 1234: read failed", spec.ErrLabels)
	}
	return f.next.Trace(ctx, p)
}

func failingService(st *store.Store, budget int) *cases.Service {
	txNum := func(txid string) (store.TxNum, error) {
		h, err := chainhash.NewHashFromStr(txid)
		if err != nil {
			return 0, err
		}
		return st.TxNumOf(*h)
	}
	tr := &labelsFail{next: cases.SpecTracer{Runner: spec.NewRunner(st, scamstore.Params, nil)}, budget: budget}
	return cases.New(st.Cases(), tr, st, txNum, scamstore.Params)
}

// TestLabellingFailsPartway: a trace whose cluster labelling fails
// partway is an ErrLabels error, and no case is created or re-run from it.
func TestLabellingFailsPartway(t *testing.T) {
	ctx := context.Background()
	st, f := writable(t)
	seeds := f.Truth.Entities[0].Addresses
	svc := failingService(st, 1)
	good, err := svc.Create(ctx, "alice", "", seeds, cases.Params{})
	if err != nil || good.Hits == 0 {
		t.Fatalf("control: %v, %+v", err, good)
	}
	if c, err := svc.Create(ctx, "alice", "", seeds, cases.Params{}); !errors.Is(err, cases.ErrLabels) || !strings.Contains(err.Error(), "read failed") {
		t.Fatalf("create with labelling failing partway: %+v, %v; want ErrLabels naming the store error", c, err)
	}
	if l, err := svc.List(); err != nil || len(l) != 1 {
		t.Errorf("after the failed create: %d cases (%v), want only the control", len(l), err)
	}
	if _, err := svc.Rerun(ctx, good.ID, "bob", cases.Params{Model: "poison"}); !errors.Is(err, cases.ErrLabels) {
		t.Errorf("rerun: %v, want ErrLabels", err)
	}
	if c, err := svc.Get(good.ID); err != nil || c.Runs != 1 || c.Params.Model != "haircut" || c.Hits != good.Hits {
		t.Errorf("the case changed after a failed re-run: %+v, %v", c, err)
	}
}

// chainBlocks reads a chaingen blocks directory, in height order from the
// genesis block.
func chainBlocks(t *testing.T, dir string) [][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "blk*.dat"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no block files in %s (%v)", dir, err)
	}
	slices.Sort(files)
	var out [][]byte
	for _, f := range files {
		out = append(out, storetest.RawBlocks(t, f)...)
	}
	return out
}

// coinbaseBranch mines n coinbase-only blocks on parent (at height ph).
func coinbaseBranch(t *testing.T, parent []byte, ph int32, n int, tag byte) [][]byte {
	t.Helper()
	var prev wire.MsgBlock
	if err := prev.Deserialize(bytes.NewReader(parent)); err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for i := 0; i < n; i++ {
		blk := storetest.CoinbaseBlock(prev.BlockHash(), prev.Header.Timestamp, ph+1+int32(i), []byte{tag, byte(i)})
		out = append(out, storetest.Serialize(t, blk))
		prev = *blk
	}
	return out
}

// reorg ingests blocks (a chain from the genesis block) into st, which
// switches to it as the best chain, and returns how many blocks it undid.
func reorg(t *testing.T, st *store.Store, blocks [][]byte) int {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "blocks")
	storetest.WriteBlocksDir(t, dir, blocks, storetest.Layout{Magic: wire.TestNet})
	res, err := ingest.Run(context.Background(), st, ingest.Config{Paths: []string{dir}, StartHeight: -1, ToHeight: -1, MaxReorg: len(blocks)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Reorgs != 1 || st.State().Height != int32(len(blocks)-1) {
		t.Fatalf("ingest: %d reorgs, tip %d; want 1 reorg to tip %d", res.Reorgs, st.State().Height, len(blocks)-1)
	}
	return res.Undone
}

// TestBundleVerifyAfterReorg: a bundle verified after the store's chain
// was reorganised says what differs: the tip, the hits the reorg undid
// (lost) and, reorganised back, the hits found again (gained).
func TestBundleVerifyAfterReorg(t *testing.T) {
	ctx := context.Background()
	st, f := writable(t)
	svc := cases.ForStore(st, spec.NewRunner(st, scamstore.Params, nil), st, scamstore.Params)
	seeds := f.Truth.Entities[0].Addresses
	bundle := func() ([]byte, *tracer.Result) {
		t.Helper()
		c, err := svc.Create(ctx, "alice", "", seeds, cases.Params{})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := svc.Bundle(ctx, c.ID, &b); err != nil {
			t.Fatal(err)
		}
		r, err := svc.Result(c.ID)
		if err != nil {
			t.Fatal(err)
		}
		return b.Bytes(), r
	}
	verify := func(data []byte) *cases.Verification {
		t.Helper()
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		v, err := svc.Verify(ctx, zr)
		if err != nil {
			t.Fatal(err)
		}
		if !v.Intact {
			t.Fatalf("bundle not intact: %+v", v)
		}
		return v
	}
	has := func(v *cases.Verification, prefix string) string {
		for _, d := range v.Differences {
			if strings.HasPrefix(d, prefix) {
				return d
			}
		}
		return ""
	}

	blocks := chainBlocks(t, filepath.Join(f.Chain, "blocks"))
	tip := st.State().Height
	if int32(len(blocks)-1) != tip {
		t.Fatalf("%d blocks read, store tip %d", len(blocks), tip)
	}
	b1, r1 := bundle()
	if v := verify(b1); !v.Matches {
		t.Fatalf("fresh bundle differs: %v", v.Differences)
	}
	// Replace the blocks from the last hit's on with a longer branch of
	// empty blocks: that hit (and any after it) is gone.
	fork := int32(0)
	for _, h := range r1.Hits {
		fork = max(fork, h.Height)
	}
	var lost []string
	for _, h := range r1.Hits {
		if h.Height >= fork {
			lost = append(lost, h.Txid)
		}
	}
	depth := int(tip - fork + 1)
	side := append(slices.Clone(blocks[:fork]), coinbaseBranch(t, blocks[fork-1], fork-1, depth+1, 0xb1)...)
	if undone := reorg(t, st, side); undone != depth {
		t.Fatalf("reorg undid %d blocks, want %d", undone, depth)
	}
	v := verify(b1)
	d := has(v, "chain tip: bundle")
	if v.Matches || !strings.Contains(d, fmt.Sprintf("bundle %d %s, store now %d ", tip, r1.Data.TipHash, tip+1)) {
		t.Errorf("after the reorg, tip difference %q in %v", d, v.Differences)
	}
	d = has(v, fmt.Sprintf("%d hits in the bundle, not found now", len(lost)))
	for _, txid := range lost {
		if !strings.Contains(d, txid) {
			t.Errorf("lost hit %s not named in %q (all: %v)", txid, d, v.Differences)
		}
	}
	if d := has(v, "total hits: bundle"); d != fmt.Sprintf("total hits: bundle %d, now %d", r1.Totals.Hits, r1.Totals.Hits-len(lost)) {
		t.Errorf("total hits difference %q", d)
	}

	// A bundle made on the side chain, verified after the store went back
	// to the main chain (grown by two empty blocks): the hits are gained.
	b2, r2 := bundle()
	main := append(slices.Clone(blocks), coinbaseBranch(t, blocks[tip], tip, 2, 0xb2)...)
	reorg(t, st, main)
	v = verify(b2)
	d = has(v, fmt.Sprintf("%d hits found now, not in the bundle", len(lost)))
	for _, txid := range lost {
		if !strings.Contains(d, txid) {
			t.Errorf("gained hit %s not named in %q (all: %v)", txid, d, v.Differences)
		}
	}
	if d := has(v, "chain tip: bundle"); v.Matches || !strings.Contains(d, fmt.Sprintf("bundle %d %s, store now %d ", tip+1, r2.Data.TipHash, tip+2)) {
		t.Errorf("back on the main chain, tip difference %q", d)
	}
	// The first bundle: only the tip moved (two empty blocks on top), so
	// that is all verify reports.
	if v := verify(b1); v.Matches || len(v.Differences) != 1 || has(v, "chain tip: bundle") == "" {
		t.Errorf("first bundle on the grown main chain: %v", v.Differences)
	}
}
