package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/sanctions/testfiles"
)

// TestIngestBadInput (issue 17 #1, #12, #21): every kind of block input
// that holds no blocks is exit 2 with one line naming the file, never a
// panic, and nothing is stored; raw and hex blocks are read.
func TestIngestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	emptyDir := filepath.Join(dir, "emptyblocks")
	if err := os.MkdirAll(emptyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	zeroDir := filepath.Join(dir, "zeroblocks")
	if err := os.MkdirAll(zeroDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(zeroDir, "blk00000.dat"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"empty file", []string{"--blocks", write("e.dat", nil)}, "no blocks in " + filepath.Join(dir, "e.dat")},
		{"zeros", []string{"--blocks", write("z.dat", make([]byte, 1<<20))}, "no blocks in " + filepath.Join(dir, "z.dat")},
		{"zero blk dir", []string{"--blocks", zeroDir}, "no blocks in " + zeroDir},
		{"dir without blk files", []string{"--blocks", emptyDir}, "no blk*.dat in " + emptyDir},
		{"nonexistent", []string{"--blocks", filepath.Join(dir, "nonexistent")}, "does not exist"},
		{"text", []string{"--blocks", write("t.txt", []byte("txid,amount\nabc,1\n"))}, "is text"},
		{"bad hex", []string{"--blocks", write("b.hex", []byte("0100zz"))}, "not a block file"},
		{"unknown format", []string{"--blocks", write("x.dat", nil), "--format", "json"}, "unknown format"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "db")
			code, _, errs := runCLI(t, append([]string{"--db", db, "ingest"}, tc.args...)...)
			if code != 2 || !strings.Contains(errs, tc.want) || strings.Contains(errs, "panic") || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errs, tc.want)
			}
		})
	}
	// A real raw block and a real hex block are read; the second is given
	// as an argument, as people type it ("tracer ingest PATH").
	for i, rel := range []string{"blocks/mainnet_481829_000000000000000000917cba69f69b758fe396c8e30ae97bbcf08c4eb975e726.bin",
		"blocks/mainnet_514492_00000000000000000008513c860373da0484f065983aeb063ebf81c172e81d48.hex"} {
		p := testfiles.Shared(t, rel)
		height := strings.Split(filepath.Base(p), "_")[1]
		db := filepath.Join(t.TempDir(), "db")
		args := []string{"--db", db, "ingest", "--blocks", p}
		if i == 1 {
			args = []string{"ingest", p, "--db", db}
		}
		code, out, errs := runCLI(t, args...)
		if code != 0 || !strings.Contains(out, "ingested mainnet blocks "+height+"–"+height) {
			t.Fatalf("%s: exit %d %s %s", rel, code, out, errs)
		}
	}
}

// TestIngestUnreachableNode (issue 17 #17): a node address where nothing
// listens fails within seconds, saying so.
func TestIngestUnreachableNode(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	for _, cmd := range []string{"ingest", "follow"} {
		start := time.Now()
		code, _, errs := runCLI(t, "--db", filepath.Join(t.TempDir(), "db"), cmd, "--rpc", url, "--rpc-user", "u", "--rpc-pass", "p")
		if code == 0 || !strings.Contains(errs, "cannot reach the node at "+url) || time.Since(start) > 5*time.Second {
			t.Fatalf("%s: exit %d after %s: %s", cmd, code, time.Since(start), errs)
		}
	}
}
