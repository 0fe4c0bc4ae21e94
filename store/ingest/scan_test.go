package ingest_test

import (
	"bytes"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store/blockfile"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
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
	f.Add(segwitNoWitness(1))
	f.Add(segwitNoWitness(0))
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkScan(t, raw)
	})
}

// segwitNoWitness is a block of one transaction that carries the segwit
// marker and flag but no witness data (with one input, or with none).
func segwitNoWitness(inputs int) []byte {
	b := make([]byte, 80) // header: zeros
	b = append(b, 1)      // one transaction
	b = append(b, 1, 0, 0, 0, 0x00, 0x01, byte(inputs))
	for i := 0; i < inputs; i++ {
		b = append(b, make([]byte, 36)...) // previous outpoint
		b = append(b, 0, 0xff, 0xff, 0xff, 0xff)
	}
	b = append(b, 1)                  // one output
	b = append(b, make([]byte, 8)...) // value 0
	b = append(b, 0)                  // empty script
	for i := 0; i < inputs; i++ {
		b = append(b, 0) // no witness items
	}
	return append(b, 0, 0, 0, 0) // lock time
}

// TestScanRefusesEmptyWitness: a transaction with the segwit marker and no
// witness data is refused, as btcd and Bitcoin Core refuse it.
func TestScanRefusesEmptyWitness(t *testing.T) {
	for _, n := range []int{1, 0} {
		raw := segwitNoWitness(n)
		if _, err := ingest.ScanBlock(raw); err == nil {
			t.Errorf("%d inputs: scanBlock accepts a segwit transaction without witness data", n)
		}
		checkScan(t, raw)
	}
}

// TestScanHostileCount: a block claiming far more transactions than it
// holds fails without allocating for them.
func TestScanHostileCount(t *testing.T) {
	raw := make([]byte, 80, 4<<20)
	raw = append(raw, 0xfe, 0x00, 0x1a, 0x06, 0x00) // 400,000 transactions
	raw = raw[:cap(raw)]
	// The scan's refusal is checked below; here only its allocations count.
	allocs := testing.AllocsPerRun(3, func() { _, _ = ingest.ScanBlock(raw) })
	var ms1, ms2 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	if _, err := ingest.ScanBlock(raw); err == nil {
		t.Fatal("a block of zeros decodes")
	}
	runtime.ReadMemStats(&ms2)
	if got := ms2.TotalAlloc - ms1.TotalAlloc; got > 16<<20 {
		t.Errorf("scanning a 4 MB block claiming 400,000 transactions allocated %d MB (%.0f allocations)", got>>20, allocs)
	}
}
