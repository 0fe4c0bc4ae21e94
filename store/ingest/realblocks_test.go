package ingest_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/sanctions/testfiles"
	"github.com/tracer-oss/tracer/store/blockfile"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
)

// sharedBlock returns the path of the real mainnet block at height in the
// shared data (raw .bin or .hex), or skips.
func sharedBlock(t *testing.T, height int) string {
	t.Helper()
	dir := testfiles.Shared(t, "blocks")
	for _, ext := range []string{".bin", ".hex"} {
		m, _ := filepath.Glob(filepath.Join(dir, "mainnet_"+strconv.Itoa(height)+"_*"+ext))
		if len(m) == 1 {
			return m[0]
		}
	}
	t.Fatalf("no shared block at height %d", height)
	return ""
}

// TestRealRawBlocks ingests each real mainnet block of the shared data as
// it comes (raw .bin, or .hex text): the format is detected, the height
// comes from BIP34, and the merkle root and witness commitment check out.
func TestRealRawBlocks(t *testing.T) {
	dir := testfiles.Shared(t, "blocks")
	files, _ := filepath.Glob(filepath.Join(dir, "mainnet_*_*"))
	n := 0
	for _, p := range files {
		parts := strings.Split(filepath.Base(p), "_")
		if len(parts) != 3 || !strings.HasSuffix(p, ".bin") && !strings.HasSuffix(p, ".hex") {
			continue
		}
		height, _ := strconv.Atoi(parts[1])
		hash := strings.TrimSuffix(strings.TrimSuffix(parts[2], ".bin"), ".hex")
		n++
		t.Run(parts[1], func(t *testing.T) {
			st := storetest.Open(t)
			cfg := ingest.Config{Paths: []string{p}}
			if height < 227931 {
				cfg.StartHeight = int32(height) // before BIP34: no height in the block
			}
			res, err := ingestErr(st, cfg)
			if err != nil {
				t.Fatal(err)
			}
			s := st.State()
			if res.Network != "mainnet" || res.FromHeight != int32(height) || s.Height != int32(height) || s.Hash.String() != hash {
				t.Fatalf("result %+v, state %+v", res, s)
			}
		})
	}
	if n < 10 {
		t.Fatalf("found %d shared blocks", n)
	}
}

// TestStartHeightContradictsBIP34 (issue 17 #2): block 866,342 says its
// height in its coinbase; --start-height 100 is refused, nothing stored.
func TestStartHeightContradictsBIP34(t *testing.T) {
	p := sharedBlock(t, 866342)
	st := storetest.Open(t)
	_, err := ingestErr(st, ingest.Config{Paths: []string{p}, StartHeight: 100})
	if !errors.Is(err, ingest.ErrStartHeight) || !strings.Contains(err.Error(), "866342") || !strings.Contains(err.Error(), p) {
		t.Fatalf("err = %v", err)
	}
	if s := st.State(); !s.Empty() {
		t.Fatalf("stored %+v", s)
	}
	// The right height is accepted.
	if _, err := ingestErr(st, ingest.Config{Paths: []string{p}, StartHeight: 866342}); err != nil || st.State().Height != 866342 {
		t.Fatalf("--start-height 866342: %v, tip %d", err, st.State().Height)
	}
	// Regtest enforces BIP34 from height 1.
	blocks := regtestChain(t)
	_, err = ingestErr(storetest.Open(t), ingest.Config{Paths: []string{writeDir(t, blocks[100:110])}, StartHeight: 50})
	if !errors.Is(err, ingest.ErrStartHeight) {
		t.Fatalf("regtest at the wrong height: %v", err)
	}
	// Files that start at genesis take no other start height.
	_, err = ingestErr(storetest.Open(t), ingest.Config{Paths: []string{writeDir(t, blocks[:10])}, StartHeight: 7})
	if !errors.Is(err, ingest.ErrStartHeight) {
		t.Fatalf("genesis at height 7: %v", err)
	}
}

// TestAlteredWitness (issue 17 #3): a real block whose witness data was
// altered keeps its merkle root (txids do not cover witnesses) but fails its
// witness commitment: refused, naming the file and offset.
func TestAlteredWitness(t *testing.T) {
	raw, err := os.ReadFile(sharedBlock(t, 866342))
	if err != nil {
		t.Fatal(err)
	}
	var blk wire.MsgBlock
	if err := blk.Deserialize(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	tx := blk.Transactions[len(blk.Transactions)/2]
	if !tx.HasWitness() {
		t.Fatal("the chosen transaction has no witness")
	}
	tx.TxIn[0].Witness[0][len(tx.TxIn[0].Witness[0])/2] ^= 0x01
	altered := storetest.Serialize(t, &blk)
	if blk.Header.MerkleRoot != hashMerkle(t, altered) {
		t.Fatal("altering the witness changed the merkle root: the test would not test the commitment")
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name   string
		data   []byte
		offset int64
	}{{"866342.bin", altered, 0}, {"866342.dat", frame(wire.MainNet, altered), 8}} {
		p := filepath.Join(dir, tc.name)
		if err := os.WriteFile(p, tc.data, 0o644); err != nil {
			t.Fatal(err)
		}
		st := storetest.Open(t)
		_, err := ingestErr(st, ingest.Config{Paths: []string{p}})
		var bfErr *blockfile.Error
		if !errors.Is(err, ingest.ErrBadBlock) || !errors.As(err, &bfErr) || bfErr.File != p || bfErr.Offset != tc.offset || !strings.Contains(err.Error(), "witness") {
			t.Fatalf("%s: err = %v", tc.name, err)
		}
		if s := st.State(); !s.Empty() {
			t.Fatalf("stored %+v", s)
		}
	}
}

// hashMerkle is the merkle root of a serialized block's txids.
func hashMerkle(t *testing.T, raw []byte) chainhash.Hash {
	var blk wire.MsgBlock
	if err := blk.Deserialize(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	return ingest.MerkleRoot(&blk)
}

// TestNotConnected (issue 17 #24): blocks below the store's first height
// are "not connected to the stored chain", not a fork; a block far above
// its tip is a gap.
func TestNotConnected(t *testing.T) {
	st := storetest.Open(t)
	if _, err := ingestErr(st, ingest.Config{Paths: []string{sharedBlock(t, 481815)}}); err != nil || st.State().Height != 481815 {
		t.Fatalf("481815: %v", err)
	}
	below := sharedBlock(t, 363703)
	_, err := ingestErr(st, ingest.Config{Paths: []string{below}})
	if !errors.Is(err, ingest.ErrNotConnected) || !strings.Contains(err.Error(), "below the store's first block 481815") || !strings.Contains(err.Error(), below) {
		t.Fatalf("below the first height: %v", err)
	}
	above := sharedBlock(t, 866342)
	res, err := ingestErr(st, ingest.Config{Paths: []string{above}})
	if err != nil || res.Gap == nil || res.Gap.After != 481815 || res.Gap.NextHeight != 866342 || res.Gap.File != above || res.Stale != 0 || res.Blocks != 0 {
		t.Fatalf("far above the tip: %+v %v", res, err)
	}
	if st.State().Height != 481815 {
		t.Fatal("the store moved")
	}

	// Generated: a short chain whose parent is neither stored nor in the
	// files, at heights the store holds.
	blocks := regtestChain(t)
	st = ingestBlocks(t, blocks[:60], ingest.Config{})
	var unrelated [][]byte
	parent := blocks[30]
	parent = append([]byte(nil), parent...)
	parent[76] ^= 0xff // a block that exists nowhere
	unrelated = branch(t, parent, 30, 3, 77)
	res, err = ingestErr(st, ingest.Config{Paths: []string{writeDir(t, unrelated)}})
	if !errors.Is(err, ingest.ErrNotConnected) || !strings.Contains(err.Error(), "neither in the files nor in the store") || res.Stale != 0 {
		t.Fatalf("unrelated blocks: %+v %v", res, err)
	}
}
