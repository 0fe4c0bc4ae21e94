package chaingen

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/database"
	_ "github.com/btcsuite/btcd/database/ffldb"
	"github.com/btcsuite/btcd/txscript"
)

// TestBtcdAcceptsChain runs btcd's own consensus code over a generated chain
// long enough for SegWit and Taproot to activate, forks included.
func TestBtcdAcceptsChain(t *testing.T) {
	dir := t.TempDir()
	sum, err := Generate(context.Background(), Config{OutDir: dir, Txs: 3000, Seed: 7, XOR: true,
		Shuffle: true, Forks: 6, MaxFileSize: 1 << 20}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.TipHeight < ActivationHeight+40 || sum.Files < 2 || sum.ForkBlocks != 6 {
		t.Fatalf("summary too small: %+v", sum)
	}
	blocks := readBlocks(t, dir)
	chain, forks, err := mainChain(blocks, sum.TipHash)
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != sum.Blocks || len(forks) != sum.ForkBlocks {
		t.Fatalf("chain %d/%d blocks, forks %d/%d", len(chain), sum.Blocks, len(forks), sum.ForkBlocks)
	}
	params := chaincfg.RegressionNetParams
	db, err := database.Create("ffldb", t.TempDir(), params.Net)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	bc, err := blockchain.New(&blockchain.Config{DB: db, ChainParams: &params,
		TimeSource: blockchain.NewMedianTime(), SigCache: txscript.NewSigCache(1000)})
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range chain[1:] {
		isMain, orphan, err := bc.ProcessBlock(btcutil.NewBlock(b), blockchain.BFNone)
		if err != nil || orphan || !isMain {
			t.Fatalf("block %d (%s): main=%v orphan=%v err=%v", i+1, b.BlockHash(), isMain, orphan, err)
		}
	}
	for _, b := range parentsFirst(chain, forks) {
		isMain, orphan, err := bc.ProcessBlock(btcutil.NewBlock(b), blockchain.BFNone)
		if err != nil || orphan || isMain {
			t.Fatalf("fork block %s: main=%v orphan=%v err=%v", b.BlockHash(), isMain, orphan, err)
		}
	}
	tr, err := ReadTruth(filepath.Join(dir, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.StaleBlocks) != len(forks) {
		t.Fatalf("truth lists %d stale blocks, files hold %d", len(tr.StaleBlocks), len(forks))
	}
	for _, b := range forks {
		if !slices.Contains(tr.StaleBlocks, b.BlockHash().String()) {
			t.Fatalf("fork block %s not in truth", b.BlockHash())
		}
	}
	best := bc.BestSnapshot()
	if best.Hash.String() != sum.TipHash || best.Height != sum.TipHeight {
		t.Fatalf("btcd tip %d %s, generator %d %s", best.Height, best.Hash, sum.TipHeight, sum.TipHash)
	}
	for _, d := range []uint32{chaincfg.DeploymentSegwit, chaincfg.DeploymentTaproot, chaincfg.DeploymentCSV} {
		ok, err := bc.IsDeploymentActive(d)
		if err != nil || !ok {
			t.Fatalf("deployment %d not active at tip: %v", d, err)
		}
	}
	t.Logf("%+v", sum)
}
