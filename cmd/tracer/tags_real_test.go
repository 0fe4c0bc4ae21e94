package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/sanctions/testfiles"
	"github.com/tracer-oss/tracer/tracer/lists"
)

// TestTagsRealAttribution loads the shared GraphSense tag packs, then the
// GraphSense ActorPack: the 42 exchange tags of the shared derived list
// that are exchanges only through their actor count as exchanges after the
// actor pack and not before, and all 780 do after. DefiLlama's reserve CSV
// (no label column) is refused naming the columns, then loaded with --map.
func TestTagsRealAttribution(t *testing.T) {
	derived := testfiles.Shared(t, "tags/btc_exchange_tags_graphsense.csv")
	dir := filepath.Join(filepath.Dir(derived), "graphsense-tagpacks")
	defillama := filepath.Join(filepath.Dir(derived), "btc_cex_reserve_addresses_defillama.csv")
	packs, _ := filepath.Glob(filepath.Join(dir, "packs", "*.yaml"))
	if len(packs) != 33 {
		t.Fatalf("%d packs in %s, want 33", len(packs), dir)
	}
	f, err := os.Open(derived)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 781 || rows[0][0] != "address" || rows[0][3] != "category" || rows[0][8] != "pack" {
		t.Fatalf("%s: %d rows %v", derived, len(rows), err)
	}
	db := filepath.Join(t.TempDir(), "db")
	code, out, errs := runCLI(t, append([]string{"--db", db, "tags", "load", "--skip-invalid"}, packs...)...)
	if code != 0 || !strings.Contains(out, "ofac.yaml: 384 BTC tags stored, 1 rejected (bad address 1)") || !strings.Contains(out, "plustoken.yaml: 10 BTC tags stored, 2 rejected (bad address 2)") {
		t.Fatalf("load packs: exit %d\n%s\n%.2000s", code, out, errs)
	}
	exchanges := func() map[string]bool {
		t.Helper()
		code, out, errs := runCLI(t, "--db", db, "tags", "list", "--category", "exchange", "--limit", "0", "--json")
		var tv []tagView
		if code != 0 || json.Unmarshal([]byte(out), &tv) != nil {
			t.Fatalf("tags list: exit %d %s", code, errs)
		}
		m := map[string]bool{}
		for _, v := range tv {
			m[v.Address+" "+v.Pack] = true
		}
		return m
	}
	missing := func(m map[string]bool, onlyActor bool) int {
		n := 0
		for _, r := range rows[1:] {
			if (r[3] != "exchange") == onlyActor && !m[r[0]+" "+r[8]] {
				n++
			}
		}
		return n
	}
	before := exchanges()
	if n, k := missing(before, true), missing(before, false); n != 42 || k != 0 {
		t.Fatalf("before the actor pack: %d actor-only exchange tags missing (want 42), %d others (want 0)", n, k)
	}
	code, out, _ = runCLI(t, "--db", db, "tags", "load", filepath.Join(dir, "actors", "graphsense.actorpack.yaml"))
	if code != 0 || !strings.Contains(out, "3813 actors stored") {
		t.Fatalf("load actors: exit %d %s", code, out)
	}
	after := exchanges()
	if n, k := missing(after, true), missing(after, false); n != 0 || k != 0 || len(after) != len(before)+42 {
		t.Fatalf("after the actor pack: %d actor-only and %d other exchange tags missing; %d exchange tags, %d before", n, k, len(after), len(before))
	}
	// One of them, shown: its actor's categories.
	var one string
	for _, r := range rows[1:] {
		if r[3] != "exchange" {
			one = r[0]
			break
		}
	}
	code, out, _ = runCLI(t, "--db", db, "tags", "show", one)
	if code != 0 || !strings.Contains(out, "exchange") {
		t.Fatalf("tags show %s: %s", one, out)
	}
	// --min-confidence: miners_additional.yaml's tags have none (unknown, level 5).
	code, out, _ = runCLI(t, "--db", db, "tags", "list", "--pack", "miners_additional.yaml", "--min-confidence", "heuristic", "--json")
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("--min-confidence heuristic on unknown-confidence tags: %s", out)
	}
	code, out, _ = runCLI(t, "--db", db, "tags", "list", "--pack", "miners_additional.yaml", "--min-confidence", "unknown", "--limit", "0", "--json")
	var tv []tagView
	if code != 0 || json.Unmarshal([]byte(out), &tv) != nil || len(tv) != 234 {
		t.Fatalf("--min-confidence unknown: %d tags", len(tv))
	}
	// DefiLlama: refused without a label column, loaded with --map.
	code, _, errs = runCLI(t, "--db", db, "tags", "load", defillama)
	if code != exitUsage || !strings.Contains(errs, "no label column (the header has address, entity, entity_type, defillama_key); name one with --map label=COLUMN; nothing stored") {
		t.Fatalf("defillama without --map: exit %d %s", code, errs)
	}
	code, out, errs = runCLI(t, "--db", db, "tags", "load", "--skip-invalid", "--map", "label=entity,category=entity_type", "--json", defillama)
	var lv []lists.PackSummary
	if code != 0 || json.Unmarshal([]byte(out), &lv) != nil || len(lv) != 1 || lv[0].Tags != 1612 || lv[0].RejectedByKind["unknown category"] != 2881 {
		t.Fatalf("defillama --map: exit %d %.500s %.500s", code, out, errs)
	}
	code, out, _ = runCLI(t, "--db", db, "tags", "remove", "btc_cex_reserve_addresses_defillama.csv", "graphsense.actorpack.yaml")
	if code != 0 || !strings.Contains(out, "removed (1612 tags or actors)") || len(exchanges()) != len(before) {
		t.Fatalf("tags remove: exit %d %s", code, out)
	}
	if code, _, _ := runCLI(t, "--db", db, "tags", "remove", "nope.yaml"); code != exitUsage {
		t.Fatalf("remove an unknown pack: exit %d", code)
	}
}
