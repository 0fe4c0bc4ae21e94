package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEntityNamesOneRule is issue 17 #11: watch add --entity refused a
// name trace --entity matches, and the same entity could be watched twice
// in another case. One rule names entities everywhere; the same entity or
// address in another case or spacing is one watch.
func TestEntityNamesOneRule(t *testing.T) {
	src, _ := study(t)
	db := filepath.Join(t.TempDir(), "db")
	if out, err := exec.Command("cp", "-r", src, db).CombinedOutput(); err != nil {
		t.Fatal(string(out))
	}
	for _, name := range []string{"golden lotus", "GOLDEN LOTUS", "  Golden   Lotus "} {
		if code, _, errs := runCLI(t, "--db", db, "trace", "--entity", name, "--format", "json"); code != 0 {
			t.Fatalf("trace --entity %q: exit %d %s", name, code, errs)
		}
	}
	code, out, errs := runCLI(t, "--db", db, "watch", "add", "--entity", "golden lotus")
	if code != 0 || !strings.Contains(out, "watching entity") || !strings.Contains(out, "GOLDEN LOTUS") {
		t.Fatalf("watch add --entity: exit %d %s %s", code, out, errs)
	}
	for _, name := range []string{"GOLDEN LOTUS", "  Golden   Lotus "} {
		if code, out, errs := runCLI(t, "--db", db, "watch", "add", "--entity", name); code != 0 || !strings.Contains(out, "already watched") {
			t.Errorf("watch add --entity %q again: exit %d %s %s", name, code, out, errs)
		}
	}
	// An address in upper case (bech32 is case-insensitive) is the same watch.
	_, out, _ = runCLI(t, "--db", db, "sanctions", "list", "--asset", "XBT", "--json")
	i := strings.Index(out, `"address": "bcrt1`) + len(`"address": "`)
	addr := out[i : i+strings.IndexByte(out[i:], '"')]
	if code, _, errs := runCLI(t, "--db", db, "watch", "add", addr); code != 0 {
		t.Fatalf("watch add %s: %s", addr, errs)
	}
	if code, out, _ := runCLI(t, "--db", db, "watch", "add", strings.ToUpper(addr)); code != 0 || !strings.Contains(out, "already watched") {
		t.Errorf("watch add upper-case %s: exit %d %s", addr, code, out)
	}
	if code, out, _ := runCLI(t, "--db", db, "watch", "list"); code != 0 || strings.Count(out, "\n") != 2 {
		t.Errorf("watch list: want 2 watches:\n%s", out)
	}
	if code, _, errs := runCLI(t, "--db", db, "watch", "rm", "--entity", "Golden Lotus"); code != 0 {
		t.Errorf("watch rm in another case: exit %d %s", code, errs)
	}
	if code, _, errs := runCLI(t, "--db", db, "watch", "add", "--entity", "no such entity at all"); code != exitUsage {
		t.Errorf("watch add of an unknown entity: exit %d %s", code, errs)
	}
}
