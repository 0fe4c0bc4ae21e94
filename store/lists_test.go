package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/sanctions"
	"github.com/tracer-oss/tracer/sanctions/ofac"
	"github.com/tracer-oss/tracer/sanctions/tags"
	"github.com/tracer-oss/tracer/sanctions/testfiles"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/storetest"
)

func parseFixture(t testing.TB, paths ...string) *sanctions.List {
	t.Helper()
	for i, p := range paths {
		if !filepath.IsAbs(p) {
			paths[i] = testfiles.Fixture(t, filepath.Join("ofac", p))
		}
	}
	l, err := ofac.ParseFiles(context.Background(), paths...)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Entries) == 0 {
		t.Fatalf("%v: no entries", paths)
	}
	return l
}

func TestSanctionsListVersions(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	if _, err := st.Lists().Hits("", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("hits before any load: err %v, want ErrNotFound", err)
	}
	if vs, err := st.Lists().Versions(); err != nil || len(vs) != 0 {
		t.Fatalf("versions of an empty store: %v %v", vs, err)
	}
	older := parseFixture(t, "sdn_advanced_2023.xml")
	newer := parseFixture(t, "sdn_advanced.xml")

	if _, err := st.Lists().Diff(0, 0, sanctions.Filter{}); !errors.Is(err, store.ErrNoList) {
		t.Errorf("diff of an empty store: %v, want ErrNoList", err)
	}
	v1, err := st.Lists().Save(ctx, older)
	if err != nil || v1 != 1 {
		t.Fatalf("save 1: %d %v", v1, err)
	}
	if _, err := st.Lists().Diff(0, 0, sanctions.Filter{}); !errors.Is(err, store.ErrNoPrevious) {
		t.Errorf("diff with one version: %v, want ErrNoPrevious", err)
	}
	v2, err := st.Lists().Save(ctx, newer)
	if err != nil || v2 != 2 {
		t.Fatalf("save 2: %d %v", v2, err)
	}
	for _, tt := range []struct {
		name       string
		old, new   uint32
		f          sanctions.Filter
		wOld, wNew uint32
	}{{"current against previous", 0, 0, sanctions.Filter{}, 1, 2}, {"named", 1, 2, sanctions.Filter{}, 1, 2}, {"reversed, XBT", 2, 1, sanctions.Filter{Asset: "XBT"}, 2, 1}} {
		d, err := st.Lists().Diff(tt.old, tt.new, tt.f)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		o, n := older, newer
		if tt.old == 2 {
			o, n = newer, older
		}
		wa, wr := sanctions.DiffMatching(o, n, tt.f)
		if d.Old.Version != tt.wOld || d.New.Version != tt.wNew || len(d.Added) != len(wa) || len(d.Removed) != len(wr) {
			t.Errorf("%s: versions %d→%d, %d added, %d removed; want %d added, %d removed", tt.name, d.Old.Version, d.New.Version, len(d.Added), len(d.Removed), len(wa), len(wr))
		}
	}
	if _, err := st.Lists().Diff(1, 9, sanctions.Filter{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("diff with an absent version: %v, want ErrNotFound", err)
	}
	vs, err := st.Lists().Versions()
	if err != nil || len(vs) != 2 || vs[0].Current || !vs[1].Current || vs[1].Entries != len(newer.Entries) ||
		!vs[1].DateOfIssue.Equal(newer.DateOfIssue) || vs[1].Format != sanctions.FormatSDNAdvanced {
		t.Fatalf("versions: %+v %v", vs, err)
	}
	sum := 0
	for _, n := range vs[1].Assets {
		sum += n
	}
	if sum != len(newer.Entries) {
		t.Errorf("assets %v sum to %d, want %d", vs[1].Assets, sum, len(newer.Entries))
	}

	// Round trip: both versions read back equal to what was saved.
	for _, tc := range []struct {
		name    string
		version uint32
		want    *sanctions.List
	}{{"current", 0, newer}, {"v1", 1, older}, {"v2", 2, newer}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := st.Lists().List(tc.version)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Entries) != len(tc.want.Entries) {
				t.Fatalf("%d entries, want %d", len(got.Entries), len(tc.want.Entries))
			}
			for i := range got.Entries {
				g, w := got.Entries[i], tc.want.Entries[i]
				if !g.Designated.Equal(w.Designated) {
					t.Errorf("entry %d designated %v, want %v", i, g.Designated, w.Designated)
				}
				g.Designated, w.Designated = time.Time{}, time.Time{}
				if !reflect.DeepEqual(g, w) {
					t.Errorf("entry %d:\n got %+v\nwant %+v", i, g, w)
				}
			}
		})
	}
	if _, err := st.Lists().List(9); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("version 9: %v, want ErrNotFound", err)
	}

	// Every entry of the current version is a hit for its address and asset.
	for _, e := range newer.Entries {
		hits, err := st.Lists().Hits(e.Asset, e.Address)
		if err != nil || !slices.ContainsFunc(hits, func(h sanctions.Entry) bool { return h.Key() == e.Key() }) {
			t.Errorf("hits(%s, %s) = %+v, %v; want profile %d", e.Asset, e.Address, hits, err, e.ProfileID)
		}
		all, _ := st.Lists().Hits("", e.Address)
		if len(all) < len(hits) {
			t.Errorf("hits for every asset (%d) fewer than for %s (%d)", len(all), e.Asset, len(hits))
		}
	}
	// Bech32 matches in upper case too.
	for _, a := range newer.Addresses(sanctions.AssetXBT) {
		if strings.HasPrefix(a, "bc1") {
			if hits, err := st.Lists().Hits("xbt", strings.ToUpper(a)); err != nil || len(hits) == 0 {
				t.Errorf("hits(xbt, %s) = %v, %v", strings.ToUpper(a), hits, err)
			}
		}
	}
	// A prefix of a listed address is not a hit, nor is another asset.
	e := newer.Entries[0]
	for _, q := range [][2]string{{"", e.Address[:len(e.Address)-1]}, {"", e.Address + "x"}, {"NOPE", e.Address}, {"", ""}} {
		if hits, err := st.Lists().Hits(q[0], q[1]); err != nil || len(hits) != 0 {
			t.Errorf("hits(%q, %q) = %+v, %v; want none", q[0], q[1], hits, err)
		}
	}
	// An address only in the older version is not a hit of the current one.
	added, removed := sanctions.Diff(older, newer)
	for _, r := range removed {
		if len(added) > 0 && slices.Contains(newer.Addresses(r.Asset), r.Address) {
			continue
		}
		if hits, _ := st.Lists().Hits(r.Asset, r.Address); len(hits) != 0 {
			t.Errorf("%s %s was removed in v2 but is still a hit", r.Asset, r.Address)
		}
	}
}

// TestSanctionsSaveAtomic checks that a save that fails part way leaves the
// previous version current and no trace of the failed one.
func TestSanctionsSaveAtomic(t *testing.T) {
	st := storetest.Open(t)
	good := parseFixture(t, "sdn_advanced.xml")
	if _, err := st.Lists().Save(context.Background(), good); err != nil {
		t.Fatal(err)
	}
	bad := parseFixture(t, "sdn_advanced_2023.xml")
	bad.Entries = append(bad.Entries, sanctions.Entry{Asset: "XBT", Address: "bad\x00address", ProfileID: 1})
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		list *sanctions.List
	}{{"bad entry", context.Background(), bad}, {"cancelled", cancelled, good}, {"nil", context.Background(), nil}} {
		t.Run(tc.name, func(t *testing.T) {
			if v, err := st.Lists().Save(tc.ctx, tc.list); err == nil {
				t.Fatalf("saved as version %d, want an error", v)
			}
			if v, err := st.Lists().Current(); err != nil || v != 1 {
				t.Fatalf("current after a failed save: %d %v, want 1", v, err)
			}
			if vs, _ := st.Lists().Versions(); len(vs) != 1 {
				t.Fatalf("versions after a failed save: %+v", vs)
			}
			if hits, err := st.Lists().Hits("", bad.Entries[0].Address); err != nil || (len(hits) == 0) == slices.Contains(good.Addresses(""), bad.Entries[0].Address) {
				t.Fatalf("hits of an entry of the failed save: %+v %v", hits, err)
			}
		})
	}
	// The next good save takes version 2, and the store survives a reopen.
	if v, err := st.Lists().Save(context.Background(), good); err != nil || v != 2 {
		t.Fatalf("save after failures: %d %v", v, err)
	}
}

func TestSanctionsReopen(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := parseFixture(t, "sdn_advanced.xml")
	if _, err := st.Lists().Save(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := store.Open(dir, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if s := ro.State(); !s.Empty() {
		t.Errorf("chain state of a lists-only store is not empty: %+v", ro.State())
	}
	e := l.Entries[len(l.Entries)-1]
	if hits, err := ro.Lists().Hits(e.Asset, e.Address); err != nil || len(hits) == 0 {
		t.Errorf("read-only hits: %v %v", hits, err)
	}
	if _, err := ro.Lists().Save(context.Background(), l); !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("save on read-only store: %v", err)
	}
}

func TestTagPackReload(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	p, err := tags.ParsePackFile(ctx, testfiles.Fixture(t, "tags/pack.yaml"), tags.Options{SkipInvalid: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tags) < 2 {
		t.Fatalf("fixture has %d tags", len(p.Tags))
	}
	if n, err := st.Tags().SavePack(ctx, p); err != nil || n != 0 {
		t.Fatalf("first save: %d %v", n, err)
	}
	byAddr := map[string]int{}
	for _, tg := range p.Tags {
		byAddr[tg.Address]++
	}
	for a, n := range byAddr {
		got, err := st.Tags().For(a)
		if err != nil || len(got) != n || got[0].Pack != "pack.yaml" {
			t.Errorf("TagsFor(%s) = %+v, %v; want %d tags of pack.yaml", a, got, err, n)
		}
	}
	// A second pack tagging the same address adds to it.
	other := &tags.Pack{Source: "/x/other.csv", Tags: []sanctions.Tag{{Address: p.Tags[0].Address, Label: "Other", Currency: "BTC"}}}
	if _, err := st.Tags().SavePack(ctx, other); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Tags().For(p.Tags[0].Address); len(got) != byAddr[p.Tags[0].Address]+1 {
		t.Errorf("after a second pack: %+v", got)
	}
	// Reloading pack.yaml with one tag replaces all its old tags.
	keep := p.Tags[len(p.Tags)-1]
	reload := &tags.Pack{Source: p.Source, Title: "v2", Tags: []sanctions.Tag{keep}}
	if n, err := st.Tags().SavePack(ctx, reload); err != nil || n != len(p.Tags) {
		t.Fatalf("reload replaced %d (%v), want %d", n, err, len(p.Tags))
	}
	for a := range byAddr {
		got, _ := st.Tags().For(a)
		var mine []string
		for _, g := range got {
			if g.Pack == "pack.yaml" {
				mine = append(mine, g.Label)
			}
		}
		want := 0
		if a == keep.Address {
			want = 1
		}
		if len(mine) != want {
			t.Errorf("after reload %s has pack.yaml tags %v, want %d", a, mine, want)
		}
	}
	if got, _ := st.Tags().For(p.Tags[0].Address); !slices.ContainsFunc(got, func(g sanctions.Tag) bool { return g.Pack == "other.csv" }) {
		t.Errorf("reload of pack.yaml removed other.csv's tag: %+v", got)
	}
	packs, err := st.Tags().Packs()
	if err != nil || len(packs) != 2 || !sort.SliceIsSorted(packs, func(i, j int) bool { return packs[i].Name < packs[j].Name }) ||
		packs[1].Title != "v2" || packs[1].Tags != 1 {
		t.Errorf("packs: %+v %v", packs, err)
	}
}

// TestUseSanctionsVersion: an earlier version can be made current again;
// checks answer from it, and the next load still gets a new number.
func TestUseSanctionsVersion(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	if err := st.Lists().Use(1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("use before any load: %v", err)
	}
	older := parseFixture(t, "sdn.xml")
	newer := parseFixture(t, "sdn_advanced.xml")
	for _, l := range []*sanctions.List{older, newer} {
		if _, err := st.Lists().Save(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	// An address on exactly one of the two versions.
	added, removed := sanctions.Diff(older, newer)
	var addr string
	inV1 := false
	switch {
	case len(added) > 0:
		addr = added[0].Address
	case len(removed) > 0:
		addr, inV1 = removed[0].Address, true
	default:
		t.Fatal("fixtures do not differ")
	}
	listed := func() bool {
		hits, err := st.Lists().Hits("", addr)
		if err != nil {
			t.Fatal(err)
		}
		return len(hits) > 0
	}
	if listed() == inV1 {
		t.Fatalf("%s: listed %v in version 2", addr, !inV1)
	}
	if err := st.Lists().Use(1); err != nil {
		t.Fatal(err)
	}
	if v, err := st.Lists().Current(); err != nil || v != 1 {
		t.Fatalf("current %d %v, want 1", v, err)
	}
	if listed() != inV1 {
		t.Fatalf("%s: listed %v after going back to version 1", addr, !inV1)
	}
	if err := st.Lists().Use(7); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("use 7: %v", err)
	}
	if v, err := st.Lists().Save(ctx, newer); err != nil || v != 3 {
		t.Fatalf("load after use: version %d %v, want 3", v, err)
	}
}

// TestActorPacks: tags read their actor's categories from the stored
// actor packs, loaded before or after the tags; removing a pack removes
// its tags (or its actors).
func TestActorPacks(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	const a, b = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"
	p := &tags.Pack{Source: "pool.yaml", Tags: []sanctions.Tag{
		{Address: a, Label: "X Pool", Category: "miner", Actor: "xex", Currency: "BTC"},
		{Address: b, Label: "loner", Category: "miner", Currency: "BTC"}}}
	if _, err := st.Tags().SavePack(ctx, p); err != nil {
		t.Fatal(err)
	}
	exchange := func() bool {
		ts, err := st.Tags().For(a)
		if err != nil || len(ts) != 1 {
			t.Fatalf("TagsFor: %v %v", ts, err)
		}
		return ts[0].HasCategory("exchange") && ts[0].LabelCategory() == "exchange"
	}
	if exchange() {
		t.Fatal("an exchange before any actor pack")
	}
	ap := &tags.ActorPack{Source: "/x/actors.yaml", Actors: []tags.Actor{{ID: "xex", Label: "X Exchange", Categories: []string{"organization", "exchange"}}}}
	if n, err := st.Tags().SaveActorPack(ctx, ap); err != nil || n != 0 {
		t.Fatalf("save actors: %d %v", n, err)
	}
	if !exchange() {
		t.Fatal("the tag's actor is an exchange, the tag does not say so")
	}
	var seen []sanctions.Tag
	if err := st.Tags().Each(func(t sanctions.Tag) error { seen = append(seen, t); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || !slices.Equal(seen[0].ActorCategories, []string{"organization", "exchange"}) || seen[1].ActorCategories != nil {
		t.Fatalf("ForEachTag: %+v", seen)
	}
	aps, err := st.Tags().ActorPacks()
	if err != nil || len(aps) != 1 || aps[0].Name != "actors.yaml" || aps[0].Gen == 0 {
		t.Fatalf("ActorPacks: %+v %v", aps, err)
	}
	if n, err := st.Tags().RemovePack("actors.yaml"); err != nil || n != 1 {
		t.Fatalf("remove actors: %d %v", n, err)
	}
	if exchange() {
		t.Fatal("actor categories after the actor pack was removed")
	}
	if n, err := st.Tags().RemovePack("pool.yaml"); err != nil || n != 2 {
		t.Fatalf("remove tags: %d %v", n, err)
	}
	if ts, _ := st.Tags().For(a); len(ts) != 0 {
		t.Fatalf("tags after removal: %+v", ts)
	}
	if ps, _ := st.Tags().Packs(); len(ps) != 0 {
		t.Fatalf("packs after removal: %+v", ps)
	}
	if _, err := st.Tags().RemovePack("pool.yaml"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("remove twice: %v", err)
	}
}

// TestStageSanctionsList: a staged list is stored but not in force; a
// snapshot seen through WithSanctionsVersion has it in force, without
// changing the store or the plain snapshot.
func TestStageSanctionsList(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	v1, err := st.Lists().Save(ctx, parseFixture(t, "sdn_advanced_2023.xml"))
	if err != nil {
		t.Fatal(err)
	}
	v2, err := st.Lists().Stage(ctx, parseFixture(t, "sdn_advanced.xml"))
	if err != nil || v2 != v1+1 {
		t.Fatalf("stage: %d %v; want version %d", v2, err, v1+1)
	}
	snap, release, err := st.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if _, err := st.WithSanctionsVersion(v2); err == nil {
		t.Error("WithSanctionsVersion of the store itself succeeded; want an error")
	}
	if _, err := snap.WithSanctionsVersion(v2 + 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("WithSanctionsVersion of a version not stored: %v; want ErrNotFound", err)
	}
	over, err := snap.WithSanctionsVersion(v2)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		s    *store.Store
		want uint32
	}{{"store", st, v1}, {"snapshot", snap, v1}, {"snapshot with the staged version", over, v2}} {
		if got, err := tt.s.Lists().Current(); err != nil || got != tt.want {
			t.Errorf("%s: version in force %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
	if err := st.Lists().Use(v2); err != nil {
		t.Fatal(err)
	}
	if got, _ := snap.Lists().Current(); got != v1 {
		t.Errorf("the snapshot after the switch: version %d; want %d (as of the snapshot)", got, v1)
	}
}
