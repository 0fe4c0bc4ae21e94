package ingest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/sanctions/testfiles"
)

// BenchmarkDecodeRaw decodes and checks real mainnet block 866,342 (4,864
// transactions, 4,806 of them segwit): the scanner, the merkle root and
// the witness commitment. Run it beside the same benchmark of an older
// checkout to see what a check costs.
func BenchmarkDecodeRaw(b *testing.B) {
	m, _ := filepath.Glob(filepath.Join(testfiles.Shared(b, "blocks"), "mainnet_866342_*.bin"))
	if len(m) != 1 {
		b.Skipf("shared data holds %d files of block 866342, want 1", len(m))
	}
	raw, err := os.ReadFile(m[0])
	if err != nil {
		b.Fatal(err)
	}
	var h wire.BlockHeader
	if err := h.Deserialize(&headerReader{raw[:80]}); err != nil {
		b.Fatal(err)
	}
	hash := h.BlockHash()
	var txs int
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, err := decodeRaw(raw, 866342, chainhash.Hash(hash))
		if err != nil {
			b.Fatal(err)
		}
		txs = len(d.txs)
	}
	b.ReportMetric(float64(txs*b.N)/b.Elapsed().Seconds(), "tx/s")
}
