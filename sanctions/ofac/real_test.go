package ofac

import (
	"bufio"
	"context"
	"encoding/csv"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/sanctions"
	"github.com/tracer-oss/tracer/sanctions/testfiles"
)

func readLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func readCSV(t testing.TB, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs[1:]
}

// realLists caches the parsed real files: each takes seconds.
var realLists = map[string]*sanctions.List{}

func parseReal(t testing.TB, rel string) *sanctions.List {
	t.Helper()
	if l, ok := realLists[rel]; ok {
		return l
	}
	start := time.Now()
	l, err := ParseFiles(context.Background(), testfiles.Shared(t, rel))
	if err != nil {
		t.Fatalf("parse %s: %v", rel, err)
	}
	t.Logf("%s: %d entries, %d XBT addresses, %d warnings in %v", rel, len(l.Entries), len(l.Addresses("XBT")), len(l.Warnings), time.Since(start))
	realLists[rel] = l
	return l
}

func TestRealAdvanced20251119(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the 121 MB file")
	}
	l := parseReal(t, "ofac/sdn_advanced_2025-11-19.xml.bz2")
	if got, want := l.DateOfIssue, sanctions.Date(2025, 11, 19); !got.Equal(want) {
		t.Errorf("DateOfIssue = %v, want %v", got, want)
	}
	xbt := l.Addresses("XBT")
	if len(xbt) != 517 {
		t.Errorf("unique XBT addresses = %d, want 517", len(xbt))
	}
	if n := len(l.Filter(sanctions.Filter{Asset: "xbt"})); n != 519 {
		t.Errorf("XBT entries = %d, want 519 (features)", n)
	}
	brave := readLines(t, testfiles.Shared(t, "ofac/brave_sanctioned_addresses_XBT_2025-11-19.txt"))
	slices.Sort(brave)
	if !slices.Equal(xbt, brave) {
		t.Errorf("XBT addresses differ from brave's list: only ours %v, only brave %v", minus(xbt, brave), minus(brave, xbt))
	}
	// The one invalid XBT entry: a TRON address OFAC filed under XBT. Kept, warned.
	if len(l.Warnings) != 1 || !strings.Contains(l.Warnings[0], "profile 45404") || !strings.Contains(l.Warnings[0], "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq") {
		t.Errorf("warnings = %q, want the one for profile 45404", l.Warnings)
	}

	// Chen Zhi.
	chen := l.Filter(sanctions.Filter{ProfileID: 55505, Asset: "XBT"})
	if len(chen) != 29 {
		t.Fatalf("profile 55505 XBT entries = %d, want 29", len(chen))
	}
	for _, e := range chen {
		if e.PrimaryName != "Chen Zhi" || !slices.Equal(e.Programs, []string{"TCO"}) ||
			!e.Designated.Equal(sanctions.Date(2025, 10, 14)) || e.EntityType != sanctions.EntityTypeIndividual {
			t.Errorf("Chen Zhi entry = %+v", e)
			break
		}
	}
	if n := len(l.Filter(sanctions.Filter{Entity: "chen zhi", Asset: "XBT"})); n != 29 {
		t.Errorf("Filter{Entity: chen zhi} = %d entries, want 29", n)
	}
	var want []string
	for _, r := range readCSV(t, testfiles.Shared(t, "prince_group/chen_zhi_ofac_xbt_addresses.csv")) {
		want = append(want, r[0])
	}
	slices.Sort(want)
	var got []string
	for _, e := range chen {
		got = append(got, e.Address)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Chen Zhi addresses differ: only ours %v, only csv %v", minus(got, want), minus(want, got))
	}

	// Every digital-currency feature of the derived CSV, all assets.
	derived := readCSV(t, testfiles.Shared(t, "ofac/ofac_digital_currency_addresses_2025-11-19.csv"))
	if len(l.Entries) != len(derived) {
		t.Errorf("entries = %d, derived CSV has %d", len(l.Entries), len(derived))
	}
	have := map[string]sanctions.Entry{}
	for _, e := range l.Entries {
		have[e.Asset+" "+e.Address+" "+itoa(e.FeatureID)] = e
	}
	for _, r := range derived {
		e, ok := have[r[0]+" "+r[1]+" "+r[7]]
		if !ok {
			t.Errorf("missing %v", r)
			continue
		}
		if itoa(e.ProfileID) != r[2] || e.EntityType != r[3] || e.PrimaryName != r[4] ||
			strings.Join(e.Programs, ";") != sortedPrograms(r[5]) || e.Designated.Format("2006-01-02") != r[6] {
			t.Errorf("entry %+v does not match derived row %v", e, r)
		}
	}
}

func TestRealAdvancedDiff(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the 121 MB files")
	}
	older := parseReal(t, "ofac/sdn_advanced_2025-09-24.xml.bz2")
	newer := parseReal(t, "ofac/sdn_advanced_2025-11-19.xml.bz2")
	if n := len(older.Addresses("XBT")); n != 485 {
		t.Errorf("2025-09-24 unique XBT = %d, want 485", n)
	}
	if got, want := older.DateOfIssue, sanctions.Date(2025, 9, 24); !got.Equal(want) {
		t.Errorf("DateOfIssue = %v, want %v", got, want)
	}
	added, removed := sanctions.Diff(older, newer)
	var addedXBT []string
	for _, e := range added {
		if e.Asset == "XBT" {
			addedXBT = append(addedXBT, e.Address)
		}
	}
	var removedXBT []sanctions.Entry
	for _, e := range removed {
		if e.Asset == "XBT" {
			removedXBT = append(removedXBT, e)
		}
	}
	var want []string
	for _, r := range readCSV(t, testfiles.Shared(t, "ofac/ofac_xbt_list_history_brave.csv")) {
		if r[1] > "2025-09-24" && r[1] <= "2025-11-19" {
			want = append(want, r[0])
		}
	}
	slices.Sort(want)
	addedXBT = slices.Compact(addedXBT)
	if len(addedXBT) != 32 || !slices.Equal(addedXBT, want) {
		t.Errorf("added XBT = %d, want 32 = history (%d): only ours %v, only history %v",
			len(addedXBT), len(want), minus(addedXBT, want), minus(want, addedXBT))
	}
	if len(removedXBT) != 0 {
		t.Errorf("removed XBT = %v, want none", removedXBT)
	}
}

func TestRealExcerpt(t *testing.T) {
	l := parseReal(t, "ofac/sdn_advanced_2025-11-19_excerpt.xml")
	if n := len(l.Filter(sanctions.Filter{Asset: "XBT"})); n != 62 {
		t.Errorf("excerpt XBT features = %d, want 62", n)
	}
	profiles := map[int64]bool{}
	for _, e := range l.Entries {
		profiles[e.ProfileID] = true
	}
	for _, p := range []int64{55505, 29585, 33151, 42496} {
		if !profiles[p] {
			t.Errorf("profile %d missing", p)
		}
	}
	kar := l.Filter(sanctions.Filter{ProfileID: 29585})
	if assets := (&sanctions.List{Entries: kar}).Assets(); len(assets) != 8 {
		t.Errorf("Karasavidi assets = %v, want 8", assets)
	}
	if len(kar) > 0 && !slices.Contains(kar[0].Aliases, "КАРАСАВИДИ Дмитрий") {
		t.Errorf("Karasavidi aliases = %q", kar[0].Aliases)
	}
}

func TestRealSDNCSVAlone(t *testing.T) {
	l := parseReal(t, "ofac/sdn_2024-05-03.csv")
	var cutWarning string
	for _, w := range l.Warnings {
		if strings.Contains(w, "cut at exactly 1000") {
			cutWarning = w
		}
	}
	if !strings.Contains(cutWarning, "18 remarks cut") || !strings.Contains(cutWarning, "16 of them hold currency addresses") {
		t.Errorf("cut warning = %q, want 18 remarks / 16 with addresses", cutWarning)
	}
	for _, e := range l.Entries {
		if strings.HasPrefix(e.Address, "1B11Ezqg3AXj") {
			t.Errorf("truncated Hydra address emitted: %+v", e)
		}
	}
	// OFAC lists a TRON address as XBT on ent_num 45404: kept, warned.
	var invalid []string
	for _, w := range l.Warnings {
		if strings.Contains(w, "invalid XBT") {
			invalid = append(invalid, w)
		}
	}
	if len(invalid) != 1 || !strings.Contains(invalid[0], "ent_num 45404") || !strings.Contains(invalid[0], "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq") {
		t.Errorf("invalid-address warnings = %q, want one for ent_num 45404", invalid)
	}
	xbt := l.Addresses("XBT")
	// 204 XBT mentions, 203 unique, some truncated: all truncated ones are
	// dropped, so every address left must be on the 0xB10C list of the day
	// before (derived from sdn_advanced.xml).
	ref := readLines(t, testfiles.Shared(t, "ofac/0xb10c_sanctioned_addresses_XBT_2024-05-02.txt"))
	if extra := minus(xbt, ref); len(extra) > 0 {
		t.Errorf("addresses not on the 2024-05-02 list (truncated?): %v", extra)
	}
	t.Logf("sdn.csv alone: %d unique XBT addresses (sdn_advanced-derived list: %d)", len(xbt), len(ref))
	if len(xbt) < 190 || len(xbt) > 203 {
		t.Errorf("unique XBT = %d, want about 200", len(xbt))
	}
	hydra := l.Filter(sanctions.Filter{Entity: "hydra market", Asset: "XBT"})
	if len(hydra) == 0 || !slices.Equal(hydra[0].Programs, []string{"CYBER2"}) || hydra[0].EntityType != sanctions.EntityTypeEntity {
		t.Errorf("Hydra entries = %+v", hydra)
	}
}

// sortedPrograms sorts the ";"-joined programs of the derived CSV (which
// keeps document order).
func sortedPrograms(s string) string {
	p := strings.Split(s, ";")
	slices.Sort(p)
	return strings.Join(p, ";")
}

func minus(a, b []string) []string {
	m := map[string]bool{}
	for _, s := range b {
		m[s] = true
	}
	var out []string
	for _, s := range a {
		if !m[s] {
			out = append(out, s)
		}
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
