// Package storetest holds helpers for tests that need real block data or
// a populated store: it locates the mainnet blocks the btcd module ships,
// writes block-file directories in Bitcoin Core's layout, and compares two
// stores key by key.
package storetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/ingest"
)

var (
	btcdDirOnce sync.Once
	btcdDir     string
	btcdDirErr  error
)

// BtcdModuleDir returns the btcd module's directory in the module cache.
func BtcdModuleDir(t testing.TB) string {
	t.Helper()
	btcdDirOnce.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/btcsuite/btcd").Output()
		if err != nil {
			btcdDirErr = fmt.Errorf("go list -m github.com/btcsuite/btcd: %v", err)
			return
		}
		btcdDir = strings.TrimSpace(string(out))
		if btcdDir == "" {
			btcdDirErr = fmt.Errorf("btcd module not downloaded: run go mod download")
		}
	})
	if btcdDirErr != nil {
		t.Fatal(btcdDirErr)
	}
	return btcdDir
}

// BtcdTestdata returns the path of a file in btcd's blockchain/testdata:
// blk_0_to_14131.dat holds mainnet blocks 0–14131, 277647.dat.bz2 block 277647.
func BtcdTestdata(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(BtcdModuleDir(t), "blockchain", "testdata", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("btcd test data: %v", err)
	}
	return p
}

// RawBlocks reads every framed block of a file (magic, length, block).
func RawBlocks(t testing.TB, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var blocks [][]byte
	for off := 0; off+8 <= len(data); {
		if binary.LittleEndian.Uint32(data[off:]) == 0 {
			break
		}
		n := int(binary.LittleEndian.Uint32(data[off+4:]))
		blocks = append(blocks, data[off+8:off+8+n])
		off += 8 + n
	}
	return blocks
}

// Layout says how WriteBlocksDir lays blocks out.
type Layout struct {
	Magic     wire.BitcoinNet
	Files     int     // number of blk files (blocks split evenly)
	XOR       [8]byte // non-zero: write xor.dat and obfuscate
	Shuffle   int64   // non-zero: seed for a local shuffle of the order
	Window    int     // shuffle window in blocks (default 16)
	PadZeroes int     // zero bytes appended to each file (preallocation)
}

// WriteBlocksDir writes blocks into dir/blk00000.dat … in Core's framing.
func WriteBlocksDir(t testing.TB, dir string, blocks [][]byte, l Layout) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	order := make([]int, len(blocks))
	for i := range order {
		order[i] = i
	}
	if l.Shuffle != 0 {
		w := l.Window
		if w <= 0 {
			w = 16
		}
		r := rand.New(rand.NewSource(l.Shuffle))
		for s := 0; s < len(order); s += w {
			e := min(s+w, len(order))
			r.Shuffle(e-s, func(i, j int) { order[s+i], order[s+j] = order[s+j], order[s+i] })
		}
	}
	files := max(l.Files, 1)
	per := (len(order) + files - 1) / files
	for f := 0; f < files; f++ {
		var buf bytes.Buffer
		for _, i := range order[min(f*per, len(order)):min((f+1)*per, len(order))] {
			var hdr [8]byte
			binary.LittleEndian.PutUint32(hdr[:], uint32(l.Magic))
			binary.LittleEndian.PutUint32(hdr[4:], uint32(len(blocks[i])))
			buf.Write(hdr[:])
			buf.Write(blocks[i])
		}
		buf.Write(make([]byte, l.PadZeroes))
		data := buf.Bytes()
		if l.XOR != ([8]byte{}) {
			for j := range data {
				data[j] ^= l.XOR[j%8]
			}
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("blk%05d.dat", f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if l.XOR != ([8]byte{}) {
		if err := os.WriteFile(filepath.Join(dir, "xor.dat"), l.XOR[:], 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Open opens (creating) a store in a new temporary directory.
func Open(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return st
}

// Equal fails the test unless a and b hold the same keys and values.
func Equal(t testing.TB, a, b *store.Store) {
	t.Helper()
	equal(t, a, b, func([]byte) bool { return false })
}

func equal(t testing.TB, a, b *store.Store, skip func(k []byte) bool) {
	t.Helper()
	type kv struct{ k, v []byte }
	var as []kv
	if err := a.Dump(func(k, v []byte) error {
		if !skip(k) {
			as = append(as, kv{k, v})
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	i, diffs := 0, 0
	if err := b.Dump(func(k, v []byte) error {
		if skip(k) {
			return nil
		}
		switch {
		case i >= len(as):
			diffs++
			if diffs < 5 {
				t.Errorf("extra key %x in second store", k)
			}
		case !bytes.Equal(as[i].k, k):
			diffs++
			if diffs < 5 {
				t.Errorf("key %d: %x vs %x", i, as[i].k, k)
			}
		case !bytes.Equal(as[i].v, v):
			diffs++
			if diffs < 5 {
				t.Errorf("key %x: values differ: %x vs %x", k, as[i].v, v)
			}
		}
		i++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if i < len(as) {
		t.Errorf("second store lacks %d keys, first missing %x", len(as)-i, as[i].k)
	}
	if diffs > 0 {
		t.Fatalf("stores differ in %d places", diffs)
	}
}

// EqualChain is Equal without the watch list (and its generation), the alert outbox and the
// follow-* metadata, which a fresh ingest of the same chain does not have.
func EqualChain(t testing.TB, a, b *store.Store) {
	t.Helper()
	equal(t, a, b, func(k []byte) bool {
		return k[0] == 'w' || k[0] == 'W' || bytes.HasPrefix(k, []byte("mfollow-")) || bytes.Equal(k, []byte("mwatch-gen"))
	})
}

// GenerateChain generates a chain with chaingen (cfg.OutDir is set to a new
// temporary directory) and returns its blocks directory.
func GenerateChain(t testing.TB, cfg chaingen.Config) string {
	t.Helper()
	cfg.OutDir = t.TempDir()
	if _, err := chaingen.Generate(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(cfg.OutDir, "blocks")
}

// GeneratedStore is a new store holding a whole chain made by
// GenerateChain(cfg).
func GeneratedStore(t testing.TB, cfg chaingen.Config) *store.Store {
	t.Helper()
	blocks := GenerateChain(t, cfg)
	st := Open(t)
	if _, err := ingest.Run(context.Background(), st, ingest.Config{Paths: []string{blocks}, StartHeight: -1, ToHeight: -1}); err != nil {
		t.Fatal(err)
	}
	return st
}
