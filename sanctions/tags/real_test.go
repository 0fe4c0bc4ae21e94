package tags

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/sanctions/testfiles"
)

func TestRealTagPacks(t *testing.T) {
	dir := filepath.Join(testfiles.SharedDir(t), "tags", "graphsense-tagpacks")
	packs, _ := filepath.Glob(filepath.Join(dir, "packs", "*.yaml"))
	if len(packs) == 0 {
		t.Skip("no packs under " + dir)
	}
	if len(packs) != 33 {
		t.Errorf("%d packs, PROVENANCE lists 33", len(packs))
	}
	ctx := context.Background()
	byName := map[string]*Pack{}
	total := 0
	// Strict parsing stops at the two published packs with a bad BTC
	// address, naming file and line.
	wantStrict := map[string]string{
		"ofac.yaml":      `ofac.yaml:1069: invalid BTC address "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq"`,
		"plustoken.yaml": `plustoken.yaml:11: invalid BTC address "1MFgcyJ7ZNSknbTBRaih6zWDE6V1A64tRYs"`,
	}
	for _, path := range packs {
		_, err := ParsePackFile(ctx, path, Options{})
		want, bad := wantStrict[filepath.Base(path)]
		var pe *ParseError
		switch {
		case bad && (!errors.As(err, &pe) || !errors.Is(err, ErrBadAddress) || !strings.Contains(err.Error(), want)):
			t.Errorf("strict %s: err = %v, want %s", filepath.Base(path), err, want)
		case !bad && err != nil:
			t.Errorf("strict: %v", err)
		}
	}
	for _, path := range packs {
		start := time.Now()
		p, err := ParsePackFile(ctx, path, Options{SkipInvalid: true})
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if want := map[string]int{"ofac.yaml": 1, "plustoken.yaml": 2}[filepath.Base(path)]; len(p.Invalid) != want {
			t.Errorf("%s: invalid = %+v", filepath.Base(path), p.Invalid)
		}
		byName[filepath.Base(path)] = p
		total += len(p.Tags)
		t.Logf("%s: %d BTC tags, skipped %v, no address %d, %d warnings, %v", filepath.Base(path), len(p.Tags), p.Skipped, p.NoAddress, len(p.Warnings), time.Since(start))
	}
	t.Logf("%d packs, %d BTC tags", len(byName), total)

	we := byName["walletexplorer.yaml"]
	if we == nil {
		t.Fatal("walletexplorer.yaml missing")
	}
	if len(we.Tags) != 386 {
		t.Errorf("walletexplorer.yaml: %d BTC tags, want 386", len(we.Tags))
	}
	cats := map[string]int{}
	for _, g := range we.Tags {
		cats[g.Category]++
		if !g.IsClusterDefiner || g.Confidence != "service_data" || g.LastMod.Format("2006-01-02") != "2021-11-11" {
			t.Errorf("header not inherited: %+v", g)
			break
		}
	}
	// PROVENANCE: 120 exchange / 133 service / 58 gambling / 37 mixer / 20 miner.
	if cats["exchange"] != 120 || cats["gambling"] != 58 || cats["miner"] != 20 {
		t.Errorf("walletexplorer categories = %v", cats)
	}
	t.Logf("walletexplorer categories: %v", cats)

	bn := byName["exchange-wallets-binance.yaml"]
	if bn == nil || len(bn.Tags) == 0 || bn.Skipped["ETH"] == 0 {
		t.Fatalf("exchange-wallets-binance.yaml: %+v", bn)
	}
	for _, g := range bn.Tags {
		if g.Actor != "binance" || g.Category != "exchange" {
			t.Errorf("binance tag %+v", g)
		}
	}
	if n := len(byName["exchange-wallets-bitmex_0.yaml"].Tags); n != 50000 {
		t.Errorf("bitmex_0: %d tags, want 50000", n)
	}
	ab := map[string]int{}
	for _, g := range byName["hacks.yaml"].Tags {
		ab[g.Abuse]++
	}
	if ab["service_hack"] == 0 {
		t.Errorf("hacks.yaml abuse = %v", ab)
	}
}

func TestRealActorPack(t *testing.T) {
	path := filepath.Join(testfiles.SharedDir(t), "tags", "graphsense-tagpacks", "actors", "graphsense.actorpack.yaml")
	if _, err := os.Stat(path); err != nil {
		t.Skip(err)
	}
	ap, err := ParseActorPackFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d actors", len(ap.Actors))
	bn, ok := ap.ByID()["binance"]
	if !ok || len(bn.Categories) == 0 {
		t.Fatalf("binance actor = %+v", bn)
	}
	found := false
	for _, c := range bn.Categories {
		found = found || c == "exchange"
	}
	if !found {
		t.Errorf("binance categories = %v", bn.Categories)
	}
}

func TestRealTagCSV(t *testing.T) {
	path := filepath.Join(testfiles.SharedDir(t), "tags", "btc_exchange_tags_graphsense.csv")
	f, err := os.Open(path)
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	p, err := ParseCSV(context.Background(), f, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tags) != 780 {
		t.Errorf("%d tags, want 780", len(p.Tags))
	}
}
