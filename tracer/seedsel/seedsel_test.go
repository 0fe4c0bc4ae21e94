package seedsel_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracer-oss/tracer/tracer/internal/scamstore"
	"github.com/tracer-oss/tracer/tracer/seedsel"
)

func TestMain(m *testing.M) {
	code := m.Run()
	scamstore.Remove()
	os.Exit(code)
}

func TestSeeds(t *testing.T) {
	st := scamstore.Open(t)
	fx := scamstore.Get(t)
	sel := seedsel.New(st, scamstore.Params)
	lotus := 0
	for _, s := range fx.Truth.Seeds {
		if s.Entity == "GOLDEN LOTUS HOLDINGS LTD." {
			lotus++
		}
	}
	// The generator's tag pack tags every exchange's hot wallets and its
	// tagged deposit addresses; its sanctions list names the seeds.
	tagged, listed := 0, 0
	for _, e := range fx.Truth.Exchanges {
		tagged += len(e.HotWallets) + len(e.TaggedDeposits)
	}
	for _, e := range fx.Truth.Entities {
		listed += len(e.Addresses)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "s.csv"), []byte("address,label\n"+fx.Truth.Seeds[0].Address+",x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		sel  seedsel.Selection
		n    int
		err  error
	}{
		{"program", seedsel.Selection{Program: "cyber2"}, lotus, nil},
		{"entity", seedsel.Selection{Entity: "golden LOTUS"}, lotus, nil},
		{"program and address, deduplicated", seedsel.Selection{Program: "CYBER2", Addresses: []string{fx.Truth.Seeds[0].Address}}, lotus, nil},
		{"file relative to Dir", seedsel.Selection{File: "s.csv", Dir: dir}, 1, nil},
		{"tag category", seedsel.Selection{TagCategory: "Exchange"}, tagged, nil},
		{"tag pack", seedsel.Selection{TagPack: "exchanges.yaml"}, tagged, nil},
		{"no such program", seedsel.Selection{Program: "NOPE"}, 0, seedsel.ErrNoMatch},
		{"no such pack", seedsel.Selection{TagPack: "nope.yaml"}, 0, seedsel.ErrNoMatch},
		{"bad address", seedsel.Selection{Addresses: []string{"1BoatSLRHtKNngkdXEeobR76b53LETtpyT"}}, 0, seedsel.ErrBadAddress},
		{"missing file", seedsel.Selection{File: filepath.Join(dir, "none.csv")}, 0, os.ErrNotExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seeds, _, err := sel.Seeds(context.Background(), tc.sel)
			if !errors.Is(err, tc.err) || len(seeds) != tc.n {
				t.Fatalf("%d seeds, err %v; want %d, %v", len(seeds), err, tc.n, tc.err)
			}
		})
	}
	fwd, err := sel.Labels(false)
	if err != nil {
		t.Fatal(err)
	}
	back, _ := sel.Labels(true)
	if len(fwd) != tagged || len(back) != tagged+listed || tagged == 0 {
		t.Errorf("labels: %d forward, %d backward; want %d tags, plus %d listed addresses backward", len(fwd), len(back), tagged, listed)
	}
}
