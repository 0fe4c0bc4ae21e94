package sanctions

import (
	"slices"
	"strings"
	"testing"
)

func testList() *List {
	l := &List{Entries: []Entry{
		{Asset: "XBT", Address: "b", ProfileID: 2, PrimaryName: "Chen Zhi", Programs: []string{"TCO"}, Designated: Date(2025, 10, 14)},
		{Asset: "ETH", Address: "0x1", ProfileID: 1, PrimaryName: "SUEX OTC", Aliases: []string{"Suex"}, Programs: []string{"CYBER2"}, Designated: Date(2021, 9, 21)},
		{Asset: "XBT", Address: "a", ProfileID: 1, PrimaryName: "SUEX OTC", Aliases: []string{"Suex"}, Programs: []string{"CYBER2"}, Designated: Date(2021, 9, 21)},
		{Asset: "XBT", Address: "a", ProfileID: 3, PrimaryName: "Unknown date"},
	}}
	l.Sort()
	return l
}

func TestHelpers(t *testing.T) {
	l := testList()
	if got := l.Assets(); !slices.Equal(got, []string{"ETH", "XBT"}) {
		t.Errorf("Assets = %v", got)
	}
	if got := l.Addresses("xbt"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Addresses = %v", got)
	}
	if got := l.ByAddress()["a"]; len(got) != 2 || got[0].ProfileID != 1 {
		t.Errorf("ByAddress[a] = %v", got)
	}
	if l.Entries[0].Asset != "ETH" || l.Entries[1].ProfileID != 1 || l.Entries[2].ProfileID != 3 {
		t.Errorf("order = %v", l.Entries)
	}
	var nl *List
	if nl.Assets() != nil || nl.ByAddress() != nil || nl.Filter(Filter{}) != nil {
		t.Error("nil list helpers")
	}
}

func TestFilter(t *testing.T) {
	l := testList()
	tests := []struct {
		name string
		f    Filter
		want int
	}{
		{"all", Filter{}, 4},
		{"entity substring, case-insensitive", Filter{Entity: "chen"}, 1},
		{"entity alias", Filter{Entity: "SUEX"}, 2},
		{"profile", Filter{ProfileID: 1}, 2},
		{"program", Filter{Program: "tco"}, 1},
		{"asset", Filter{Asset: "eth"}, 1},
		{"from", Filter{DesignatedFrom: Date(2025, 10, 14)}, 1},
		{"to", Filter{DesignatedTo: Date(2021, 9, 21)}, 2},
		{"range excludes unknown dates", Filter{DesignatedFrom: Date(2000, 1, 1), DesignatedTo: Date(2030, 1, 1)}, 3},
		{"combined", Filter{Asset: "XBT", Program: "CYBER2", Entity: "suex"}, 1},
		{"no match", Filter{Entity: "nobody"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := l.Filter(tt.f); len(got) != tt.want {
				t.Errorf("%d entries, want %d: %v", len(got), tt.want, got)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	old := testList()
	newer := testList()
	newer.Entries = append(newer.Entries[1:], Entry{Asset: "XBT", Address: "c", ProfileID: 2}, Entry{Asset: "XBT", Address: "c", ProfileID: 2, FeatureID: 9})
	newer.Sort()
	added, removed := Diff(old, newer)
	if len(added) != 1 || added[0].Address != "c" {
		t.Errorf("added = %v", added)
	}
	if len(removed) != 1 || removed[0].Asset != "ETH" {
		t.Errorf("removed = %v", removed)
	}
	if a, r := Diff(nil, old); len(a) != 4 || len(r) != 0 {
		t.Errorf("Diff(nil, l) = %v, %v", a, r)
	}
	if a, r := Diff(old, old); len(a)+len(r) != 0 {
		t.Errorf("Diff(l, l) = %v, %v", a, r)
	}
}

func TestDiffMatching(t *testing.T) {
	old := testList()
	newer := testList()
	newer.Entries = append(newer.Entries[1:], Entry{Asset: "XBT", Address: "c", ProfileID: 2}, Entry{Asset: "ETH", Address: "0xd", ProfileID: 2})
	newer.Sort()
	tests := []struct {
		name           string
		f              Filter
		added, removed int
	}{
		{"no filter is Diff", Filter{}, 2, 1},
		{"XBT only", Filter{Asset: "xbt"}, 1, 0},
		{"ETH only", Filter{Asset: "ETH"}, 1, 1},
		{"no match", Filter{Asset: "XMR"}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			added, removed := DiffMatching(old, newer, tt.f)
			if len(added) != tt.added || len(removed) != tt.removed {
				t.Fatalf("added %v, removed %v; want %d and %d", added, removed, tt.added, tt.removed)
			}
			for _, e := range append(added, removed...) {
				if !tt.f.Match(e) {
					t.Errorf("%+v does not match the filter", e)
				}
			}
		})
	}
}

func TestConfidenceLevel(t *testing.T) {
	if l, ok := ConfidenceLevel("Service_Data"); !ok || l != 50 {
		t.Errorf("service_data = %d %v", l, ok)
	}
	if _, ok := ConfidenceLevel("nope"); ok {
		t.Error("unknown id accepted")
	}
}

func TestParseConfidence(t *testing.T) {
	for in, want := range map[string]int{"web_crawl": 20, " Service_Data ": 50, "0": 0, "60": 60, "100": 100} {
		if got, err := ParseConfidence(in); err != nil || got != want {
			t.Errorf("ParseConfidence(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "sure", "101", "-1", "5.5"} {
		if _, err := ParseConfidence(in); err == nil || !strings.Contains(err.Error(), "web_crawl") {
			t.Errorf("ParseConfidence(%q): %v", in, err)
		}
	}
	if (Tag{Confidence: "forensic"}).ConfidenceLevel() != 50 || (Tag{}).ConfidenceLevel() != 0 {
		t.Error("Tag.ConfidenceLevel")
	}
	tg := Tag{Category: "miner", ActorCategories: []string{"organization", "exchange"}}
	if !tg.HasCategory("exchange") || tg.HasCategory("") || tg.LabelCategory() != "exchange" || (Tag{Abuse: "scam"}).LabelCategory() != "scam" ||
		(Tag{ActorCategories: []string{"defi_dex"}}).LabelCategory() != "defi_dex" || (Tag{Category: "miner"}).LabelCategory() != "miner" {
		t.Error("HasCategory/LabelCategory")
	}
}
