package ingest_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/store/address"
	"github.com/tracer-oss/tracer/store/blockfile"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer/chaingen"
)

// checkScan compares scanBlock with btcd's decoding of raw; it returns false
// when btcd refuses raw.
func checkScan(t testing.TB, raw []byte) bool {
	t.Helper()
	var blk wire.MsgBlock
	r := bytes.NewReader(raw)
	werr := blk.Deserialize(r)
	if werr == nil && r.Len() != 0 {
		werr = bytes.ErrTooLarge
	}
	for _, tx := range blk.Transactions {
		for _, o := range tx.TxOut {
			if o.Value < 0 || o.Value > ingest.MaxSatoshi {
				werr = bytes.ErrTooLarge
			}
		}
	}
	d, err := ingest.ScanBlock(raw)
	if werr != nil {
		if err == nil {
			t.Fatalf("btcd refuses the block (%v), scanBlock accepts it", werr)
		}
		return false
	}
	if err != nil {
		t.Fatalf("btcd decodes the block, scanBlock refuses it: %v", err)
	}
	if d.Header != blk.Header {
		t.Fatalf("header %+v, btcd %+v", d.Header, blk.Header)
	}
	if len(d.Txs) != len(blk.Transactions) {
		t.Fatalf("%d txs, btcd %d", len(d.Txs), len(blk.Transactions))
	}
	if w := blk.SerializeSizeStripped()*3 + blk.SerializeSize(); d.Weight != w {
		t.Fatalf("weight %d, btcd %d", d.Weight, w)
	}
	for i, tx := range blk.Transactions {
		got := &d.Txs[i]
		base, size := tx.SerializeSizeStripped(), tx.SerializeSize()
		if got.ID != tx.TxHash() || got.Size != size || got.Base != base || got.VSize != (base*3+size+3)/4 {
			t.Fatalf("tx %d: id %s size %d base %d vsize %d; btcd %s %d %d", i, got.ID, got.Size, got.Base, got.VSize, tx.TxHash(), size, base)
		}
		if len(got.Ins) != len(tx.TxIn) || len(got.Outs) != len(tx.TxOut) {
			t.Fatalf("tx %d: %d inputs %d outputs; btcd %d %d", i, len(got.Ins), len(got.Outs), len(tx.TxIn), len(tx.TxOut))
		}
		for j, in := range tx.TxIn {
			if got.Ins[j] != in.PreviousOutPoint {
				t.Fatalf("tx %d input %d spends %v; btcd %v", i, j, got.Ins[j], in.PreviousOutPoint)
			}
		}
		for j, o := range tx.TxOut {
			if got.Outs[j].Value != o.Value || got.Outs[j].Addr != address.Classify(o.PkScript) {
				t.Fatalf("tx %d output %d: %+v; btcd %d %x", i, j, got.Outs[j], o.Value, o.PkScript)
			}
		}
	}
	return true
}

// TestScanBlockParity: scanBlock reads real mainnet blocks and generated
// segwit blocks as btcd does.
func TestScanBlockParity(t *testing.T) {
	t.Run("mainnet 0-14131", func(t *testing.T) {
		for _, raw := range storetest.RawBlocks(t, storetest.BtcdTestdata(t, "blk_0_to_14131.dat")) {
			checkScan(t, raw)
		}
	})
	t.Run("generated", func(t *testing.T) {
		for _, raw := range generatedBlocks(t) {
			checkScan(t, raw)
		}
	})
}

// generatedBlocks returns the blocks of a small generated chain (P2WPKH,
// P2TR and legacy spends, so witness and non-witness transactions).
func generatedBlocks(t testing.TB) [][]byte {
	t.Helper()
	dir := t.TempDir()
	if _, err := chaingen.Generate(t.Context(), chaingen.Config{OutDir: dir, Txs: 3000, Seed: 1}, nil); err != nil {
		t.Fatal(err)
	}
	src, err := blockfile.Open(filepath.Join(dir, "blocks"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var blocks [][]byte
	err = src.Scan(t.Context(), func(rec blockfile.Record, _ []byte) error {
		raw, err := src.ReadBlock(rec, nil)
		blocks = append(blocks, raw)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return blocks
}

// FuzzScanBlock: on any bytes scanBlock agrees with btcd: both refuse, or
// both decode to the same transactions.
func FuzzScanBlock(f *testing.F) {
	mainnet := storetest.RawBlocks(f, storetest.BtcdTestdata(f, "blk_0_to_14131.dat"))
	for _, raw := range [][]byte{mainnet[0], mainnet[len(mainnet)-1]} {
		f.Add(raw)
	}
	gen := generatedBlocks(f)
	for _, raw := range gen[len(gen)-3:] {
		if len(raw) < 64<<10 {
			f.Add(raw)
		}
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkScan(t, raw)
	})
}
