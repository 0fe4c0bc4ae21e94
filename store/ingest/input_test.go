package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/blockfile"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
)

// frame puts blocks in Core's framing.
func frame(magic wire.BitcoinNet, blocks ...[]byte) []byte {
	var buf bytes.Buffer
	for _, b := range blocks {
		var hdr [8]byte
		binary.LittleEndian.PutUint32(hdr[:], uint32(magic))
		binary.LittleEndian.PutUint32(hdr[4:], uint32(len(b)))
		buf.Write(hdr[:])
		buf.Write(b)
	}
	return buf.Bytes()
}

func hashOf(t testing.TB, raw []byte) chainhash.Hash {
	t.Helper()
	var h wire.BlockHeader
	if err := h.Deserialize(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	return h.BlockHash()
}

func ingestErr(st *store.Store, cfg ingest.Config) (ingest.Result, error) {
	if cfg.StartHeight == 0 {
		cfg.StartHeight = -1
	}
	cfg.ToHeight = -1
	return ingest.Run(context.Background(), st, cfg)
}

// TestInputFormats runs the empty, all-zero, garbage and truncated cases
// through every way blocks come in: a blocks/ directory, a single file,
// gzip and bzip2, an obfuscated directory, raw and hex serialized blocks,
// and a node's RPC. Nothing panics; an input without blocks is ErrNoBlocks
// or a not-a-block-file error naming the file; a truncated input stores
// its complete blocks and reports the tail (a node's truncated block is
// refused, naming its height).
func TestInputFormats(t *testing.T) {
	blocks := storetest.RawBlocks(t, storetest.BtcdTestdata(t, "blk_0_to_14131.dat"))[:12]
	garbage := make([]byte, 5000)
	rand.New(rand.NewSource(1)).Read(garbage)
	garbage[0], garbage[1], garbage[2], garbage[3] = 0xde, 0xad, 0xbe, 0xef
	framed := frame(wire.MainNet, blocks...)
	truncFramed := framed[:len(framed)-100]
	raw := bytes.Join(blocks, nil)
	truncRaw := raw[:len(raw)-100]
	key := [8]byte{9, 8, 7, 6, 5, 4, 3, 2}

	type input func(t *testing.T, data []byte, isRaw bool) string
	file := func(name string, enc func(*testing.T, []byte) []byte) input {
		return func(t *testing.T, data []byte, _ bool) string {
			p := filepath.Join(t.TempDir(), name)
			if err := os.WriteFile(p, enc(t, data), 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	plain := func(_ *testing.T, b []byte) []byte { return b }
	gz := func(t *testing.T, b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	bz2 := func(t *testing.T, b []byte) []byte {
		if _, err := exec.LookPath("bzip2"); err != nil {
			t.Skip("bzip2 not installed: cannot write a .bz2 fixture")
		}
		cmd := exec.Command("bzip2", "-c")
		cmd.Stdin = bytes.NewReader(b)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	hexEnc := func(_ *testing.T, b []byte) []byte { return []byte(hex.EncodeToString(b) + "\n") }
	dir := func(xor bool) input {
		return func(t *testing.T, data []byte, _ bool) string {
			d := filepath.Join(t.TempDir(), "blocks")
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			data = append([]byte(nil), data...)
			if xor {
				for i := range data {
					data[i] ^= key[i%8]
				}
				if err := os.WriteFile(filepath.Join(d, "xor.dat"), key[:], 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(d, "blk00000.dat"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			return d
		}
	}
	formats := []struct {
		name string
		raw  bool // takes serialized blocks, not framed ones
		in   input
	}{
		{"blk dir", false, dir(false)},
		{"xor dir", false, dir(true)},
		{"single file", false, file("bootstrap.dat", plain)},
		{"gz", false, file("bootstrap.dat.gz", gz)},
		{"bz2", false, file("bootstrap.dat.bz2", bz2)},
		{"raw", true, file("blocks.bin", plain)},
		{"hex", true, file("blocks.hex", hexEnc)},
		{"raw gz", true, file("blocks.bin.gz", gz)},
	}
	cases := []struct {
		name        string
		framed, raw []byte
		stored      int32 // tip after a good run; -1: an error
		errs        []error
		tails       int
	}{
		{"empty", nil, nil, -1, []error{ingest.ErrNoBlocks}, 0},
		{"zeros", make([]byte, 1<<20), make([]byte, 1<<20), -1, []error{ingest.ErrNoBlocks, blockfile.ErrNotBlocks}, 0},
		{"garbage", garbage, garbage, -1, []error{blockfile.ErrNotBlocks, blockfile.ErrBadMagic}, 0},
		{"truncated", truncFramed, truncRaw, 10, nil, 1},
		{"only a truncated block", framed[:200], raw[:200], -1, []error{ingest.ErrNoBlocks}, 0},
	}
	for _, f := range formats {
		for _, c := range cases {
			t.Run(f.name+"/"+c.name, func(t *testing.T) {
				data := c.framed
				if f.raw {
					data = c.raw
				}
				path := f.in(t, data, f.raw)
				st := storetest.Open(t)
				res, err := ingestErr(st, ingest.Config{Paths: []string{path}})
				if c.stored < 0 {
					ok := false
					for _, e := range c.errs {
						ok = ok || errors.Is(err, e)
					}
					if !ok || !strings.Contains(err.Error(), path) && !strings.Contains(err.Error(), filepath.Join(path, "blk00000.dat")) {
						t.Fatalf("err = %v, want one of %v naming %s", err, c.errs, path)
					}
					if s := st.State(); !s.Empty() {
						t.Fatalf("store holds %+v after a failed run", s)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if res.ToHeight != c.stored || len(res.Tails) != c.tails || res.Gap != nil || res.Stale != 0 {
					t.Fatalf("result %+v, want tip %d and %d tails", res, c.stored, c.tails)
				}
			})
		}
	}
	// A node that serves the same: its block is refused naming its height;
	// the blocks before it stay.
	for _, c := range cases {
		t.Run("rpc/"+c.name, func(t *testing.T) {
			chain := append(append([][]byte(nil), blocks[:5]...), c.raw)
			if c.name == "truncated" {
				chain[5] = blocks[5][:len(blocks[5])-20]
			}
			node := storetest.NewMemNode(t, nil)
			for i, b := range chain {
				node.Append(hashOf(t, blocks[i]), b)
			}
			st := storetest.Open(t)
			_, err := ingest.Sync(context.Background(), st, node, ingest.Config{Network: "mainnet", CommitTxs: 1, BulkMinBlocks: -1})
			if !errors.Is(err, ingest.ErrBadBlock) || !strings.Contains(err.Error(), "height 5") {
				t.Fatalf("err = %v, want a bad block at height 5", err)
			}
			if h := st.State().Height; h != 4 {
				t.Fatalf("store tip %d, want 4", h)
			}
		})
	}
}
