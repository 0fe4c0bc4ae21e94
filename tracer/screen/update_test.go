package screen_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/tracer-oss/tracer/sanctions"
	"github.com/tracer-oss/tracer/sanctions/ofac"
	"github.com/tracer-oss/tracer/sanctions/tags"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/tracer/screen"
	"github.com/tracer-oss/tracer/tracer/screen/screentest"
)

// riskyPack is a deterministic tag pack of groups risky entities with per
// addresses each, taken from the store's own outputs spread over the
// chain: every entity a ransomware, scam or mixing actor, so several
// groups share a category.
func riskyPack(t testing.TB, st *store.Store, groups, per int) *tags.Pack {
	t.Helper()
	state := st.State()
	want := groups * per
	stride := max(uint64(state.NextTx)/uint64(want+1), 1)
	abuses := []string{tags.AbuseRansomware, tags.AbuseScam, tags.AbuseMixing}
	p := &tags.Pack{Title: "bench risky entities", Source: "risky.yaml"}
	seen := map[string]bool{}
	for n := stride; n < uint64(state.NextTx) && len(p.Tags) < want; n += stride {
		tx, err := st.TxByNum(store.TxNum(n))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range tx.Outputs {
			a := o.Addr.String(screentest.Params)
			if a == "" || seen[a] {
				continue
			}
			seen[a] = true
			g := len(p.Tags) % groups
			p.Tags = append(p.Tags, sanctions.Tag{Address: a, Currency: "BTC", Label: fmt.Sprintf("risky-%03d", g), Actor: fmt.Sprintf("risky-%03d", g),
				Abuse: abuses[g%len(abuses)], Confidence: "forensic", Pack: "risky.yaml"})
			break
		}
	}
	return p
}

// loadSources loads the chain's sanctions list and exchange tags, and a
// risky pack, as scamstore.Load does after ingest.
func loadSources(t testing.TB, ctx context.Context, st *store.Store, chain string, risky *tags.Pack) {
	t.Helper()
	list, err := ofac.ParseFiles(ctx, filepath.Join(chain, "sanctions", "sdn_advanced.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Lists().Save(ctx, list); err != nil {
		t.Fatal(err)
	}
	pack, err := tags.ParsePackFile(ctx, filepath.Join(chain, "tags", "exchanges.yaml"), tags.Options{Network: screentest.Params})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Tags().SavePack(ctx, pack); err != nil {
		t.Fatal(err)
	}
	if risky != nil {
		if _, err := st.Tags().SavePack(ctx, risky); err != nil {
			t.Fatal(err)
		}
	}
}

// generation reads every record (drawn by a Reader, as JSON) and
// accumulator of an index generation.
func generation(t *testing.T, st *store.Store, gen uint32) (recs, accs map[string][]byte) {
	t.Helper()
	recs, accs = map[string][]byte{}, map[string][]byte{}
	hdr, err := st.Exposure().Header(gen)
	if err != nil {
		t.Fatal(err)
	}
	r, err := screen.NewReader(st, hdr, screentest.Params, 0)
	if err != nil {
		t.Fatal(err)
	}
	err = r.ForEach(context.Background(), func(a string, rec screen.Record) error {
		recs[a], err = json.Marshal(&rec)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Exposure().ForEachAcc(gen, func(a string, v []byte) error { accs[a] = v; return nil }); err != nil {
		t.Fatal(err)
	}
	return recs, accs
}

// sameIndex checks, address by address, that generation got equals want
// exactly: the stored records (amounts, hops, sources, paths, received)
// and the accumulators behind them.
func sameIndex(t *testing.T, st *store.Store, got, want uint32, step string) {
	t.Helper()
	gr, ga := generation(t, st, got)
	wr, wa := generation(t, st, want)
	if len(wr) == 0 {
		t.Fatalf("%s: the rebuild has no exposed address: the test would prove nothing", step)
	}
	// The headers count the same addresses, and as many as there are.
	gh, err := st.Exposure().Header(got)
	if err != nil {
		t.Fatal(err)
	}
	wh, err := st.Exposure().Header(want)
	if err != nil {
		t.Fatal(err)
	}
	if gh.Addresses != len(ga) || wh.Addresses != len(wa) {
		t.Errorf("%s: headers count %d (incremental) and %d (rebuild) addresses; they hold %d and %d", step, gh.Addresses, wh.Addresses, len(ga), len(wa))
	}
	bad := 0
	for a, w := range wr {
		if g, ok := gr[a]; !ok || !bytes.Equal(g, w) {
			if bad++; bad <= 3 {
				t.Errorf("%s: %s: incremental %s\nrebuild %s", step, a, g, w)
			}
		}
		if !bytes.Equal(ga[a], wa[a]) {
			if bad++; bad <= 3 {
				t.Errorf("%s: %s: accumulators differ", step, a)
			}
		}
	}
	for a, g := range gr {
		if _, ok := wr[a]; !ok {
			if bad++; bad <= 3 {
				t.Errorf("%s: %s: only the incremental index has it: %s", step, a, g)
			}
		}
	}
	// The per-transaction shares too, past the tip: an undone block's
	// must be gone.
	for n := store.TxNum(0); n < st.State().NextTx+500; n++ {
		g, gok, err := st.Exposure().TxShares(got, n)
		if err != nil {
			t.Fatal(err)
		}
		w, wok, err := st.Exposure().TxShares(want, n)
		if err != nil {
			t.Fatal(err)
		}
		if gok != wok || !bytes.Equal(g, w) {
			if bad++; bad <= 3 {
				t.Errorf("%s: shares of tx %d: incremental %x (%v), rebuild %x (%v)", step, n, g, gok, w, wok)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d differences over %d addresses", step, bad, len(wr))
	}
}

// TestUpdateEqualsRebuild applies random sequences of blocks and
// reorganisations (rollbacks of the store, then the same or more blocks
// again) to an index kept by UpdateIndex, and after every step checks it
// address by address against a full one-pass rebuild of the same store.
func TestUpdateEqualsRebuild(t *testing.T) {
	ctx := context.Background()
	chain := filepath.Join(t.TempDir(), "chain")
	if _, err := chaingen.Generate(ctx, chaingen.Config{OutDir: chain, Txs: 2500, Seed: 11, TxsPerBlock: 40}, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opt  screen.Options
	}{
		{"haircut", screen.Options{MaxHops: 200}},
		{"poison", screen.Options{MaxHops: 200, Poison: true}},
		{"haircut hop limit and dust", screen.Options{MaxHops: 4, MinValue: 20_000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			blocks := filepath.Join(chain, "blocks")
			ingestTo := func(h int32) {
				t.Helper()
				if _, err := ingest.Run(ctx, st, ingest.Config{Paths: []string{blocks}, StartHeight: -1, ToHeight: h}); err != nil {
					t.Fatal(err)
				}
			}
			ingestTo(-1)
			top := st.State().Height
			rng := rand.New(rand.NewPCG(uint64(len(tc.name)), 5))
			risky := riskyPack(t, st, 6, 4)
			low := heightAt(t, st, 0.5)
			if _, err := st.Rollback(ctx, low); err != nil {
				t.Fatal(err)
			}
			loadSources(t, ctx, st, chain, risky)
			opt := tc.opt
			opt.Params, opt.UndoDepth = screentest.Params, 40
			hdr, err := screen.BuildIndex(ctx, st, opt)
			if err != nil {
				t.Fatal(err)
			}
			gen := hdr.Gen
			rebuild := opt
			rebuild.UndoDepth, rebuild.Pending = -1, true
			check := func(step string) {
				t.Helper()
				b, err := screen.BuildIndex(ctx, st, rebuild)
				if err != nil {
					t.Fatal(err)
				}
				if cur, err := st.Exposure().Info(); err != nil || cur.Gen != gen {
					t.Fatalf("%s: a pending build changed the index in force: %+v %v", step, cur, err)
				}
				sameIndex(t, st, gen, b.Gen, step)
			}
			check("built")
			var undone, applied int
			for i := 0; i < 14; i++ {
				h := st.State().Height
				var step string
				if h > low+3 && rng.IntN(3) == 0 {
					to := max(low, h-1-rng.Int32N(5))
					if _, err := st.Rollback(ctx, to); err != nil {
						t.Fatal(err)
					}
					step = fmt.Sprintf("step %d: rollback %d→%d", i, h, to)
				} else {
					to := min(top, h+1+rng.Int32N(6))
					ingestTo(to)
					step = fmt.Sprintf("step %d: ingest %d→%d", i, h, to)
				}
				got, stats, err := screen.UpdateIndex(ctx, st, 0, opt)
				if err != nil {
					t.Fatalf("%s: %v", step, err)
				}
				if s := st.State(); got.TipHeight != s.Height || got.TipHash != s.Hash.String() {
					t.Fatalf("%s: index tip %d %s, store %d %s", step, got.TipHeight, got.TipHash, s.Height, s.Hash)
				}
				undone += stats.BlocksUndone
				applied += stats.BlocksApplied
				check(step)
				scr, err := screen.New(st, opt)
				if err != nil {
					t.Fatal(err)
				}
				if !scr.IndexUsable() {
					t.Fatalf("%s: screener finds the updated index stale: %v", step, scr.Status().Index.Stale)
				}
			}
			if undone == 0 || applied == 0 {
				t.Fatalf("the sequence undid %d and applied %d blocks: it must do both", undone, applied)
			}
			t.Logf("%d blocks undone, %d applied", undone, applied)
		})
	}
}

// heightAt is the height of the block holding transaction frac·NextTx:
// the generated chains begin with coinbase-only blocks.
func heightAt(t testing.TB, st *store.Store, frac float64) int32 {
	t.Helper()
	s := st.State()
	n := store.TxNum(float64(s.NextTx) * frac)
	tx, err := st.TxByNum(n)
	if err != nil {
		t.Fatal(err)
	}
	return tx.Height
}

// TestUpdateStale: an index built for other options, another list or tag
// packs, or behind a reorganisation deeper than its undo records, is
// ErrIndexStale, and nothing of it changes.
func TestUpdateStale(t *testing.T) {
	ctx := context.Background()
	chain := filepath.Join(t.TempDir(), "chain")
	if _, err := chaingen.Generate(ctx, chaingen.Config{OutDir: chain, Txs: 1200, Seed: 3, TxsPerBlock: 40}, nil); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := ingest.Run(ctx, st, ingest.Config{Paths: []string{filepath.Join(chain, "blocks")}, StartHeight: -1, ToHeight: -1}); err != nil {
		t.Fatal(err)
	}
	loadSources(t, ctx, st, chain, nil)
	opt := screen.Options{Params: screentest.Params, UndoDepth: 2}
	hdr, err := screen.BuildIndex(ctx, st, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opt  screen.Options
	}{
		{"model", screen.Options{Params: screentest.Params, Poison: true}},
		{"max hops", screen.Options{Params: screentest.Params, MaxHops: 7}},
		{"min value", screen.Options{Params: screentest.Params, MinValue: 99}},
	} {
		if _, _, err := screen.UpdateIndex(ctx, st, 0, tc.opt); !errors.Is(err, screen.ErrIndexStale) {
			t.Errorf("%s: got %v, want ErrIndexStale", tc.name, err)
		}
	}
	if _, err := st.Tags().SavePack(ctx, riskyPack(t, st, 2, 2)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := screen.UpdateIndex(ctx, st, 0, opt); !errors.Is(err, screen.ErrIndexStale) {
		t.Errorf("tag pack loaded: got %v, want ErrIndexStale", err)
	}
	// Back to the sources it was built for (a new pack generation is
	// still a change): rebuild, then roll back deeper than UndoDepth.
	if hdr, err = screen.BuildIndex(ctx, st, opt); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Rollback(ctx, hdr.TipHeight-4); err != nil {
		t.Fatal(err)
	}
	_, stats, err := screen.UpdateIndex(ctx, st, 0, opt)
	if !errors.Is(err, screen.ErrIndexStale) {
		t.Fatalf("reorg deeper than the undo records: got %v, want ErrIndexStale", err)
	}
	if stats.BlocksUndone != 2 {
		t.Errorf("undid %d blocks before the stale one, want the 2 it had records of", stats.BlocksUndone)
	}
	if _, err := screen.BuildIndex(ctx, st, opt); err != nil {
		t.Fatal(err)
	}
}

// TestUpdateDamaged: damaged share records, accumulators or undo records in
// the store make UpdateIndex fail with store.ErrCorrupt, never panic.
func TestUpdateDamaged(t *testing.T) {
	ctx := context.Background()
	chain := filepath.Join(t.TempDir(), "chain")
	if _, err := chaingen.Generate(ctx, chaingen.Config{OutDir: chain, Txs: 1500, Seed: 11, TxsPerBlock: 40}, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		damage func(u *store.ExposureUpdate, st *store.Store) error
		reorg  bool
	}{
		{"tx shares truncated", func(u *store.ExposureUpdate, st *store.Store) error {
			return damageAll(u, st, func(v []byte) []byte { return v[:len(v)-1] })
		}, false},
		{"tx shares trailing bytes", func(u *store.ExposureUpdate, st *store.Store) error {
			return damageAll(u, st, func(v []byte) []byte { return append(v, 1, 2) })
		}, false},
		{"tx shares huge count", func(u *store.ExposureUpdate, st *store.Store) error {
			return damageAll(u, st, func([]byte) []byte { return []byte{0xff, 0xff, 0xff, 0xff, 0x0f} })
		}, false},
		{"undo record", func(u *store.ExposureUpdate, st *store.Store) error {
			return u.PutUndo(u.Header().TipHeight, []byte{1, 2, 3})
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, top, opt := indexBehind(t, chain, 6)
			if err := st.Exposure().Update(0, func(u *store.ExposureUpdate) error { return tc.damage(u, st) }); err != nil {
				t.Fatal(err)
			}
			if tc.reorg {
				if _, err := st.Rollback(ctx, top-8); err != nil {
					t.Fatal(err)
				}
			} else if _, err := ingest.Run(ctx, st, ingest.Config{Paths: []string{filepath.Join(chain, "blocks")}, StartHeight: -1, ToHeight: -1}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := screen.UpdateIndex(ctx, st, 0, opt); !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("got %v, want store.ErrCorrupt", err)
			}
		})
	}
}

// indexBehind ingests chain into a new store (closed when the test ends),
// loads its list and a risky pack of 4 entities, rolls the store back
// behind blocks and builds the exposure index there; it returns the store,
// the chain's top height and the build's options.
func indexBehind(t *testing.T, chain string, behind int32) (*store.Store, int32, screen.Options) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := ingest.Run(ctx, st, ingest.Config{Paths: []string{filepath.Join(chain, "blocks")}, StartHeight: -1, ToHeight: -1}); err != nil {
		t.Fatal(err)
	}
	top := st.State().Height
	risky := riskyPack(t, st, 4, 4)
	if _, err := st.Rollback(ctx, top-behind); err != nil {
		t.Fatal(err)
	}
	loadSources(t, ctx, st, chain, risky)
	opt := screen.Options{Params: screentest.Params}
	if _, err := screen.BuildIndex(ctx, st, opt); err != nil {
		t.Fatal(err)
	}
	return st, top, opt
}

// damageAll rewrites every tx shares record of the index.
func damageAll(u *store.ExposureUpdate, st *store.Store, f func([]byte) []byte) error {
	n := 0
	for tx := store.TxNum(0); tx < st.State().NextTx; tx++ {
		v, ok, err := u.TxShares(tx)
		if err != nil {
			return err
		}
		if ok {
			n++
			if err := u.PutTxShares(tx, f(v)); err != nil {
				return err
			}
		}
	}
	if n == 0 {
		return errors.New("no shares record to damage")
	}
	return nil
}

// flakyBlocks fails BlockByHeight at one height: the first call only
// (transient) or every call.
type flakyBlocks struct {
	screen.IndexStore
	height int32
	always bool
	failed atomic.Bool
}

var errFlakyBlock = errors.New("flaky block read")

func (f *flakyBlocks) BlockByHeight(h int32) (*store.Block, error) {
	if h == f.height && (f.always || !f.failed.Swap(true)) {
		return nil, errFlakyBlock
	}
	return f.IndexStore.BlockByHeight(h)
}

// TestUpdateBlockReadFails: a block whose read fails while it is read
// ahead is read again by its update (a transient failure costs nothing),
// and one that keeps failing is the update's error, never a panic.
func TestUpdateBlockReadFails(t *testing.T) {
	ctx := context.Background()
	chain := filepath.Join(t.TempDir(), "chain")
	if _, err := chaingen.Generate(ctx, chaingen.Config{OutDir: chain, Txs: 1500, Seed: 11, TxsPerBlock: 40}, nil); err != nil {
		t.Fatal(err)
	}
	for _, always := range []bool{false, true} {
		t.Run(fmt.Sprintf("always=%v", always), func(t *testing.T) {
			st, top, opt := indexBehind(t, chain, 6)
			if _, err := ingest.Run(ctx, st, ingest.Config{Paths: []string{filepath.Join(chain, "blocks")}, StartHeight: -1, ToHeight: -1}); err != nil {
				t.Fatal(err)
			}
			// Its first read is the one ahead, while top-4 is applied.
			f := &flakyBlocks{IndexStore: st, height: top - 3, always: always}
			hdr, _, err := screen.UpdateIndex(ctx, f, 0, opt)
			switch {
			case always && !errors.Is(err, errFlakyBlock):
				t.Fatalf("block %d unreadable: got %v, want its error", f.height, err)
			case !always && (err != nil || hdr.TipHeight != top):
				t.Fatalf("block %d unreadable once: tip %d, %v; want %d", f.height, hdr.TipHeight, err, top)
			case !f.failed.Load() && !always:
				t.Fatalf("block %d was never read", f.height)
			}
		})
	}
}
