package screen_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/sanctions/tags"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/screen"
	"github.com/tracer-oss/tracer/tracer/screen/screentest"
)

// TestRiskCategories tags a few busy background addresses as a mixing
// service and as ransomware, rebuilds the index, and checks that downstream
// addresses carry exposure to those categories, equal in the index and in a
// fresh walk, while the sanctioned exposure stays what it was.
func TestRiskCategories(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opt := screen.Options{Params: screentest.Params, MaxHops: 200}
	db, err := screentest.Build(ctx, dir, 3000, 11, opt)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Spent outputs of background transactions in the middle of the chain,
	// paid to untagged addresses.
	var picked []string
	seen := map[string]bool{}
	for n := st.State().NextTx / 3; len(picked) < 3; n += 97 {
		tx, err := st.TxByNum(n)
		if err != nil {
			t.Fatal(err)
		}
		sp, err := st.Spenders(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := sp[0]; !ok || tx.Coinbase || !tx.Outputs[0].Addr.Kind.HasAddress() {
			continue
		}
		a := tx.Outputs[0].Addr.String(screentest.Params)
		tagged, err := st.Tags().For(a) // an exchange's hot wallet is no background address
		if err != nil {
			t.Fatal(err)
		}
		if !seen[a] && !strings.Contains(a, ":") && len(tagged) == 0 {
			seen[a] = true
			picked = append(picked, a)
		}
	}
	yaml := fmt.Sprintf(`title: risky test pack
creator: test
currency: BTC
network: regtest
source: test fixture
lastmod: "2025-01-01"
tags:
    - {address: %s, label: Mixer A, category: mixing_service, actor: mixer-a}
    - {address: %s, label: Mixer B, category: mixing_service, actor: mixer-b}
    - {address: %s, label: Locker gang, category: perpetrator, abuse: ransomware}
`, picked[0], picked[1], picked[2])
	packFile := filepath.Join(dir, "risky.yaml")
	if err := os.WriteFile(packFile, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	pack, err := tags.ParsePackFile(ctx, packFile, tags.Options{Network: screentest.Params})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Tags().SavePack(ctx, pack); err != nil {
		t.Fatal(err)
	}
	stale, err := screen.New(st, opt)
	if err != nil {
		t.Fatal(err)
	}
	if stale.IndexUsable() {
		t.Fatal("a new tag pack did not make the index stale")
	}
	if _, err := screen.BuildIndex(ctx, st, opt); err != nil {
		t.Fatal(err)
	}
	s, err := screen.New(st, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !s.IndexUsable() || len(s.Sources().Groups) < 5 {
		t.Fatalf("index usable %v, %d source groups", s.IndexUsable(), len(s.Sources().Groups))
	}
	// Addresses downstream of the tagged ones, and some background.
	check := map[string]bool{}
	for _, p := range picked {
		a, _ := parse(p)
		res, err := tracer.Forward(ctx, st, s.Sources().Labels, []tracer.Seed{{Addr: a}}, tracer.Options{Params: screentest.Params, MaxHops: 6, MaxTxs: 200})
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range res.Edges {
			if i < 60 && e.Address != p && !strings.Contains(e.Address, ":") {
				check[e.Address] = true
			}
		}
	}
	addrs := make([]string, 0, len(check))
	for a := range check {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	byCat := map[string]int{}
	for _, a := range addrs {
		ix, err := s.Lookup(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		fr, err := s.Fresh(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if ix.Method == screen.MethodDirect {
			continue
		}
		for _, cat := range []string{"mixing_service", "ransomware", screen.CategorySanctioned} {
			ie, fe := ix.Get(cat), fr.Get(cat)
			tol := int64(fe.Hops+ie.Hops) * 4
			if d := ie.Amount - fe.Amount; d > tol || -d > tol {
				t.Errorf("%s %s: index %d, fresh %d", a, cat, ie.Amount, fe.Amount)
			}
			if ie.Amount > 0 {
				byCat[cat]++
				if ie.Nearest != fe.Nearest || ie.Hops != fe.Hops {
					t.Errorf("%s %s: nearest index %s@%d, fresh %s@%d", a, cat, ie.Nearest, ie.Hops, fe.Nearest, fe.Hops)
				}
			}
		}
		if ix.Risk != fr.Risk {
			t.Errorf("%s: risk index %s, fresh %s", a, ix.Risk, fr.Risk)
		}
	}
	t.Logf("%d addresses downstream of the tagged ones: exposed to %v", len(addrs), byCat)
	if byCat["mixing_service"] == 0 || byCat["ransomware"] == 0 {
		t.Fatalf("no risk-category exposure found: %v", byCat)
	}
	// The tagged addresses themselves are direct.
	r, err := s.Lookup(ctx, picked[0])
	if err != nil || r.Risk != screen.RiskRisky || r.Method != screen.MethodDirect || len(r.Tags) != 1 || r.Tags[0].Risk != "mixing_service" {
		t.Fatalf("tagged mixer: %v %+v", err, r)
	}
}
