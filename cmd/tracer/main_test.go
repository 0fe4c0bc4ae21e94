package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/store/storetest"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"tracer"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// TestCLI ingests real mainnet blocks through the command line and checks
// lookups, JSON output, flags after arguments and exit codes.
func TestCLI(t *testing.T) {
	file := storetest.BtcdTestdata(t, "blk_0_to_14131.dat")
	db := filepath.Join(t.TempDir(), "db")
	if code, _, errs := runCLI(t, "--db", db, "ingest", "--blocks", file, "--to-height", "2000"); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errs)
	}
	// Flags after the arguments, global --db after the subcommand.
	code, out, errs := runCLI(t, "ingest", "--blocks", file, "--db", db, "--json")
	if code != 0 {
		t.Fatalf("second ingest: exit %d: %s", code, errs)
	}
	var res struct {
		FromHeight int32 `json:"from_height"`
		ToHeight   int32 `json:"to_height"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.FromHeight != 2001 || res.ToHeight != 14131 {
		t.Fatalf("ingest --json: %v %s", err, out)
	}
	code, out, _ = runCLI(t, "tx", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16", "--json", "--db", db)
	if code != 0 {
		t.Fatalf("tx: exit %d", code)
	}
	var tx txView
	if err := json.Unmarshal([]byte(out), &tx); err != nil {
		t.Fatal(err)
	}
	if tx.Height != 170 || len(tx.Outputs) != 2 || tx.Outputs[0].Address != "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3" || tx.Outputs[0].Value != 10e8 ||
		tx.Outputs[1].Address != "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S" || !tx.Outputs[1].Spent || tx.Inputs[0].Address != "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S" ||
		*tx.Inputs[0].Value != 50e8 || tx.Fee == nil || *tx.Fee != 0 {
		t.Fatalf("tx view: %+v", tx)
	}
	code, out, _ = runCLI(t, "--db", db, "address", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "--json", "--limit", "2")
	var av addressView
	if code != 0 || json.Unmarshal([]byte(out), &av) != nil {
		t.Fatalf("address: exit %d %s", code, out)
	}
	if av.Received != av.Sent+av.Balance || len(av.Page) != 2 || av.Next == "" || av.FirstSeen != 9 {
		t.Fatalf("address view: %+v", av)
	}
	code, out, _ = runCLI(t, "--db", db, "address", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "--json", "--limit", "2", "--after", av.Next)
	var av2 addressView
	if code != 0 || json.Unmarshal([]byte(out), &av2) != nil || len(av2.Page) == 0 || av2.Page[0].Txid == av.Page[0].Txid {
		t.Fatalf("second page: exit %d %s", code, out)
	}
	for _, args := range [][]string{{"block", "170"}, {"block", "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee"}, {"status"}, {"verify"}} {
		if code, _, errs := runCLI(t, append([]string{"--db", db}, args...)...); code != 0 {
			t.Errorf("%v: exit %d: %s", args, code, errs)
		}
	}
	// Bad input: one line, exit code 2.
	for _, args := range [][]string{
		{"tx", "nothex"},
		{"tx", strings.Repeat("0", 64)},
		{"address", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"},
		{"address", "bc1qnotanaddress"},
		{"block", "999999"},
		{"block", "abc"},
		{"ingest"},
		{"nosuchcommand"},
	} {
		code, _, errs := runCLI(t, append([]string{"--db", db}, args...)...)
		if code != 2 || strings.Count(strings.TrimSpace(errs), "\n") > 3 || strings.Contains(errs, "goroutine") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and a short message", args, code, errs)
		}
	}
	// A valid address the chain never paid is an answer, not an error.
	if code, out, _ := runCLI(t, "--db", db, "address", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"); code != 0 || !strings.Contains(out, "never paid") {
		t.Errorf("unpaid address: exit %d, %q", code, out)
	}
	if code, _, _ := runCLI(t, "--db", filepath.Join(t.TempDir(), "none"), "status"); code != 2 {
		t.Errorf("status of a missing store: exit %d", code)
	}
}
