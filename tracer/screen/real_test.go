package screen_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/sanctions"
	"github.com/tracer-oss/tracer/sanctions/ofac"
	"github.com/tracer-oss/tracer/sanctions/testfiles"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer/screen"
)

// TestRealListDirectHits loads the real OFAC SDN advanced list of
// 2025-11-19 into a mainnet store (real blocks 0–300) and screens every
// listed XBT address: each is a direct hit naming its entity and profile,
// from the index and fresh alike.
func TestRealListDirectHits(t *testing.T) {
	file := testfiles.Shared(t, "ofac/sdn_advanced_2025-11-19.xml.bz2")
	blocks := storetest.BtcdTestdata(t, "blk_0_to_14131.dat")
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := ingest.Run(ctx, st, ingest.Config{Paths: []string{blocks}, StartHeight: -1, ToHeight: 300}); err != nil {
		t.Fatal(err)
	}
	list, err := ofac.ParseFiles(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Lists().Save(ctx, list); err != nil {
		t.Fatal(err)
	}
	params := &chaincfg.MainNetParams
	if _, err := screen.BuildIndex(ctx, st, screen.Options{Params: params}); err != nil {
		t.Fatal(err)
	}
	s, err := screen.New(st, screen.Options{Params: params})
	if err != nil {
		t.Fatal(err)
	}
	if !s.IndexUsable() {
		t.Fatalf("fresh index not usable: %+v", s.Status().Index)
	}
	n, invalid := 0, 0
	for _, e := range list.Entries {
		if e.Asset != sanctions.AssetXBT {
			continue
		}
		n++
		for _, method := range []func(context.Context, string) (*screen.Result, error){s.Lookup, s.Fresh} {
			r, err := method(ctx, e.Address)
			if err != nil {
				t.Fatalf("%s (%s): %v", e.Address, e.PrimaryName, err)
			}
			found := false
			for _, d := range r.Direct {
				found = found || d.Entity == e.PrimaryName && d.ProfileID == e.ProfileID
			}
			if r.Risk != screen.RiskSanctioned || !found {
				t.Errorf("%s: listed for %s (profile %d), screened %s %+v", e.Address, e.PrimaryName, e.ProfileID, r.Risk, r.Direct)
			}
			if r.Note != "" {
				invalid++
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d XBT entries in the real list", n)
	}
	t.Logf("%d listed XBT addresses screen as direct hits (%d screens of addresses that are not valid mainnet addresses, reported as listed)", n, invalid)
}
