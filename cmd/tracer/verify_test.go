package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/store/storetest"
)

func flipByte(t *testing.T, file string, off int64) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off += int64(len(b))
	}
	b[off] ^= 0x10
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func dirSizes(t *testing.T, dir string) string {
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range es {
		if fi, err := e.Info(); err == nil && !e.IsDir() {
			fmt.Fprintf(&b, "%s:%d:%v ", e.Name(), fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return b.String()
}

// TestVerifyDamage: verify names a damaged table and a damaged trace index
// and exits 1; every lookup and every writing command refuses the damaged
// store without changing it; --repair rebuilds the trace index.
func TestVerifyDamage(t *testing.T) {
	file := storetest.BtcdTestdata(t, "blk_0_to_14131.dat")
	db := filepath.Join(t.TempDir(), "db")
	if code, _, errs := runCLI(t, "--db", db, "ingest", "--blocks", file, "--to-height", "300"); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errs)
	}
	// Build the trace index.
	if code, _, errs := runCLI(t, "--db", db, "trace", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"); code > 1 {
		t.Logf("trace: exit %d: %s", code, errs)
	}
	if code, out, errs := runCLI(t, "--db", db, "verify"); code != 0 {
		t.Fatalf("verify of an intact store: exit %d: %s %s", code, out, errs)
	}

	// The trace index: found, and rebuilt by --repair.
	if _, err := os.Stat(filepath.Join(db, "flow", "out.dat")); err == nil {
		flipByte(t, filepath.Join(db, "flow", "out.dat"), 40)
		code, out, errs := runCLI(t, "--db", db, "verify")
		if code != 1 || !strings.Contains(out+errs, "out.dat") {
			t.Fatalf("verify of a damaged trace index: exit %d: %s %s", code, out, errs)
		}
		if code, out, errs := runCLI(t, "--db", db, "verify", "--repair"); code != 0 || !strings.Contains(errs, "rebuilt") {
			t.Fatalf("verify --repair: exit %d: %s %s", code, out, errs)
		}
	} else {
		t.Fatal("trace did not build the trace index")
	}

	// A table.
	ssts, _ := filepath.Glob(filepath.Join(db, "*.sst"))
	if len(ssts) == 0 {
		t.Fatal("no table")
	}
	flipByte(t, ssts[0], 100)
	before := dirSizes(t, db)
	code, out, errs := runCLI(t, "--db", db, "verify")
	if code != 1 || !strings.Contains(out, filepath.Base(ssts[0])) {
		t.Fatalf("verify of a damaged table: exit %d: %s %s", code, out, errs)
	}
	for _, args := range [][]string{
		{"status"},
		{"tx", "0e3e2357e806b6cdb1f70b54c3a3a17b6714ee1f0e68bebb44a74b1efd512098"},
		{"address", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"},
		{"ingest", "--blocks", file, "--to-height", "300"},
		{"trace", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"},
	} {
		code, out, errs := runCLI(t, append([]string{"--db", db}, args...)...)
		if code != 1 || !strings.Contains(errs, "is damaged") || !strings.Contains(errs, "tracer --db") {
			t.Errorf("%s on a damaged store: exit %d: %s %s", args[0], code, out, errs)
		}
	}
	if after := dirSizes(t, db); after != before {
		t.Errorf("commands changed a damaged store: %s → %s", before, after)
	}
	code, out, _ = runCLI(t, "--db", db, "verify", "--repair")
	if code != 1 || !strings.Contains(out, "not changed") {
		t.Fatalf("verify --repair of a damaged store: exit %d: %s", code, out)
	}
	t.Log(out)
}
