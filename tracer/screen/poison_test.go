package screen_test

import (
	"context"
	"path/filepath"
	"sort"
	"testing"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/tracer/screen"
	"github.com/tracer-oss/tracer/tracer/screen/screentest"
)

// TestPoisonIndexEqualsFresh: under poison the index and a fresh walk agree
// exactly on every address of the truth (an output is tainted in full or
// not at all, so there is no rounding), and a tainted deposit address's
// exposure is the truth's poison taint of its deposits.
func TestPoisonIndexEqualsFresh(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opt := screen.Options{Params: screentest.Params, MaxHops: 200, Poison: true}
	db, err := screentest.Build(ctx, dir, 3000, 42, opt)
	if err != nil {
		t.Fatal(err)
	}
	truth, err := chaingen.ReadTruth(filepath.Join(dir, "chain", "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := screen.New(st, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !s.IndexUsable() {
		t.Fatalf("poison index not usable: %+v", s.Status().Index)
	}
	want := map[string]int64{}
	for _, d := range truth.Deposits {
		want[d.Address] += d.Taint.Poison
	}
	addrs := truthAddresses(truth)
	keys := make([]string, 0, len(addrs))
	for a := range addrs {
		keys = append(keys, a)
	}
	sort.Strings(keys)
	exposed, deposits := 0, 0
	for _, a := range keys {
		ix, err := s.Lookup(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		fr, err := s.Fresh(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		ie, fe := ix.Sanctioned(), fr.Sanctioned()
		if ie.Amount != fe.Amount || ie.Hops != fe.Hops || ie.Nearest != fe.Nearest || len(ie.Sources) != len(fe.Sources) {
			t.Errorf("%s (%s): index %d sat at %d hops (%s), fresh %d at %d (%s)", a, addrs[a], ie.Amount, ie.Hops, ie.Nearest, fe.Amount, fe.Hops, fe.Nearest)
		}
		for i := range min(len(ie.Sources), len(fe.Sources)) {
			if ie.Sources[i].Entity != fe.Sources[i].Entity || ie.Sources[i].Amount != fe.Sources[i].Amount {
				t.Errorf("%s: source %d: index %+v, fresh %+v", a, i, ie.Sources[i], fe.Sources[i])
			}
		}
		if ie.Amount > 0 {
			exposed++
		}
		if w, ok := want[a]; ok && w > 0 {
			deposits++
			if ie.Amount != w {
				t.Errorf("deposit address %s: poison exposure %d, truth %d", a, ie.Amount, w)
			}
		}
	}
	t.Logf("%d truth addresses: %d exposed under poison, %d tainted deposit addresses equal the truth", len(keys), exposed, deposits)
	if exposed == 0 || deposits == 0 {
		t.Fatal("nothing exposed")
	}
}
