package ingest_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
)

// joinConfig makes a bulk load whose input cache overflows at once: the
// cache holds cacheTxs transactions and every block is a commit, so the
// cache evicts from the second block on and the inputs it misses go to the
// join.
func joinConfig(blocks string, cacheTxs int) ingest.Config {
	return ingest.Config{Paths: []string{blocks}, StartHeight: -1, ToHeight: -1, CacheTxs: cacheTxs, CommitTxs: 1, BulkMinBlocks: 1}
}

// openRuns opens a store whose bulk loads sort in runs of runBytes.
func openRuns(t *testing.T, runBytes int) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{BulkRunBytes: runBytes})
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

// TestJoinEqualsCache: a bulk load whose unspent outputs outgrow the input
// cache resolves the inputs it misses by the join, and stores exactly what
// a load with a cache large enough for the whole chain stores, and what
// ordinary batches store reading the missed outputs from the store: every
// record, spent-by key, fee and the state's totals. Tiny runs put the
// join's spends, outputs and patches across many run files.
func TestJoinEqualsCache(t *testing.T) {
	blocks := storetest.GenerateChain(t, chaingen.Config{Txs: 3000, Seed: 3, TxsPerBlock: 20})
	want := storetest.Open(t)
	wantRes, err := ingest.Run(context.Background(), want, ingest.Config{Paths: []string{blocks}, StartHeight: -1, ToHeight: -1, BulkMinBlocks: 1})
	if err != nil {
		t.Fatal(err)
	}
	if wantRes.CacheMisses != 0 || wantRes.Joined != 0 {
		t.Fatalf("the reference load missed its cache %d times (joined %d)", wantRes.CacheMisses, wantRes.Joined)
	}
	for _, tc := range []struct {
		name     string
		runBytes int
		cacheTxs int
		bulk     bool
	}{
		{"join, one run", 0, 30, true},
		{"join, runs of 4 KB", 4 << 10, 30, true},
		{"join, cache of one tx, runs of 1 KB", 1 << 10, 1, true},
		{"ordinary batches reading the store", 0, 30, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := openRuns(t, tc.runBytes)
			cfg := joinConfig(blocks, tc.cacheTxs)
			if !tc.bulk {
				cfg.BulkMinBlocks = -1
			}
			var phases []ingest.Phase
			cfg.Progress = func(p ingest.Progress) {
				if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
					phases = append(phases, p.Phase)
				}
			}
			res, err := ingest.Run(context.Background(), st, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.CacheMisses == 0 || res.CacheEvicted == 0 {
				t.Fatalf("the cache of %d txs never overflowed (misses %d, evicted %d)", tc.cacheTxs, res.CacheMisses, res.CacheEvicted)
			}
			if tc.bulk {
				if res.Joined != res.CacheMisses || res.BulkTo != wantRes.ToHeight {
					t.Errorf("joined %d of %d missed inputs, bulk loaded to %d of %d", res.Joined, res.CacheMisses, res.BulkTo, wantRes.ToHeight)
				}
				// Blocks are reported once a second and when the run ends
				// (after the merge); the join and the merge in between.
				if got := strings.Join(phaseNames(phases), " "); !strings.Contains(got, "join merge") || !strings.HasPrefix(got, "headers") || !strings.HasSuffix(got, "blocks") {
					t.Errorf("progress phases %v, want headers, blocks, join, merge, blocks", phases)
				}
			} else if res.Joined != 0 {
				t.Errorf("ordinary batches joined %d inputs", res.Joined)
			}
			if res.Inputs != wantRes.Inputs || res.External != wantRes.External || res.Txs != wantRes.Txs {
				t.Errorf("inputs %d, external %d, txs %d; want %d, %d, %d", res.Inputs, res.External, res.Txs, wantRes.Inputs, wantRes.External, wantRes.Txs)
			}
			storetest.Equal(t, st, want)
		})
	}
}

func phaseNames(ps []ingest.Phase) []string {
	var s []string
	for _, p := range ps {
		s = append(s, string(p))
	}
	return s
}

// joinChain mines genesis-based regtest blocks: coinbase-only blocks
// 1…n, then one block per extra list of transactions.
type joinChain struct {
	t      *testing.T
	blocks []*wire.MsgBlock
}

func newJoinChain(t *testing.T, n int) *joinChain {
	c := &joinChain{t: t, blocks: []*wire.MsgBlock{chaincfg.RegressionNetParams.GenesisBlock}}
	for i := 0; i < n; i++ {
		c.mine()
	}
	return c
}

// mine adds a block holding a coinbase and txs.
func (c *joinChain) mine(txs ...*wire.MsgTx) *wire.MsgBlock {
	prev := c.blocks[len(c.blocks)-1]
	h := int32(len(c.blocks))
	b := storetest.CoinbaseBlock(prev.BlockHash(), prev.Header.Timestamp, h, []byte{byte(h), byte(h >> 8)})
	if len(txs) > 0 {
		b.Transactions = append(b.Transactions, txs...)
		var utxs []*btcutil.Tx
		for _, tx := range b.Transactions {
			utxs = append(utxs, btcutil.NewTx(tx))
		}
		b.Header.MerkleRoot = blockchain.CalcMerkleRoot(utxs, false)
		target := blockchain.CompactToBig(b.Header.Bits)
		for {
			hash := b.Header.BlockHash()
			if blockchain.HashToBig(&hash).Cmp(target) <= 0 {
				break
			}
			b.Header.Nonce++
		}
	}
	c.blocks = append(c.blocks, b)
	return b
}

// coinbase is the outpoint of block h's coinbase output.
func (c *joinChain) coinbase(h int, vout uint32) wire.OutPoint {
	return wire.OutPoint{Hash: c.blocks[h].Transactions[0].TxHash(), Index: vout}
}

// write puts the chain in a blocks/ directory.
func (c *joinChain) write() string {
	dir := filepath.Join(c.t.TempDir(), "blocks")
	var raw [][]byte
	for _, b := range c.blocks {
		raw = append(raw, storetest.Serialize(c.t, b))
	}
	storetest.WriteBlocksDir(c.t, dir, raw, storetest.Layout{Magic: wire.TestNet})
	return dir
}

// spend is a transaction spending prevs and paying value to one P2WPKH.
func spend(value int64, prevs ...wire.OutPoint) *wire.MsgTx {
	tx := wire.NewMsgTx(2)
	for _, p := range prevs {
		tx.AddTxIn(&wire.TxIn{PreviousOutPoint: p, SignatureScript: []byte{txscript.OP_TRUE}, Sequence: wire.MaxTxInSequenceNum})
	}
	pk := append([]byte{txscript.OP_0, 20}, make([]byte, 20)...)
	pk[2] = byte(value)
	tx.AddTxOut(wire.NewTxOut(value, pk))
	return tx
}

// TestJoinSpendBeyondCache: an input whose output left the cache long
// before is resolved by the join: it is a known input, the output's
// spent-by names it, its fee is known, and the store equals a load that
// kept every output in the cache.
func TestJoinSpendBeyondCache(t *testing.T) {
	c := newJoinChain(t, 6)
	subsidy := c.blocks[1].Transactions[0].TxOut[0].Value
	tx := spend(subsidy-1000, c.coinbase(1, 0), c.coinbase(6, 0)) // block 6's coinbase is still cached
	c.mine(tx)
	c.mine()
	blocks := c.write()

	st := openRuns(t, 0)
	res, err := ingest.Run(context.Background(), st, joinConfig(blocks, 1))
	if err != nil {
		t.Fatal(err)
	}
	if res.Joined != 1 {
		t.Fatalf("joined %d inputs, want 1 (block 1's coinbase is beyond a one-transaction cache; misses %d)", res.Joined, res.CacheMisses)
	}
	got, err := st.Tx(tx.TxHash())
	if err != nil {
		t.Fatal(err)
	}
	if !got.FeeKnown || got.Fee != subsidy+1000 {
		t.Errorf("fee %d (known %v), want %d", got.Fee, got.FeeKnown, subsidy+1000)
	}
	cb1, err := st.Tx(c.coinbase(1, 0).Hash)
	if err != nil {
		t.Fatal(err)
	}
	if in := got.Inputs[0]; in.Kind != store.InputKnown || in.Prev != (store.OutPoint{Tx: cb1.Num, Vout: 0}) {
		t.Errorf("input 0 is %+v, want a known input spending tx %d:0", in, cb1.Num)
	}
	sp, err := st.Spenders(cb1.Num)
	if err != nil || len(sp) != 1 || sp[0] != (store.InPoint{Tx: got.Num, Vin: 0}) {
		t.Errorf("spenders of block 1's coinbase: %+v %v, want %d:0", sp, err, got.Num)
	}
	cb7, err := st.Tx(c.blocks[7].Transactions[0].TxHash())
	if err != nil || !cb7.FeeKnown {
		t.Errorf("block 7's coinbase: fees known %v (%v), want known", cb7 != nil && cb7.FeeKnown, err)
	}

	want := storetest.Open(t)
	if _, err := ingest.Run(context.Background(), want, ingest.Config{Paths: []string{blocks}, StartHeight: -1, ToHeight: -1, BulkMinBlocks: 1}); err != nil {
		t.Fatal(err)
	}
	storetest.Equal(t, st, want)
}

// TestJoinBadInputs: an input the join cannot resolve is one clear error
// naming the block, the transaction's position and the input, and the
// failed load leaves the store empty, as a bad input resolved through the
// cache does.
func TestJoinBadInputs(t *testing.T) {
	var nowhere chainhash.Hash
	nowhere[0] = 0xab
	tests := []struct {
		name  string
		build func(c *joinChain)
		err   error
		want  string
	}{
		{"prevout in no block", func(c *joinChain) {
			c.mine(spend(1000, wire.OutPoint{Hash: nowhere, Index: 0}))
		}, ingest.ErrMissingInput, nowhere.String() + ":0 is in no earlier transaction"},
		{"output index beyond the transaction's", func(c *joinChain) {
			c.mine(spend(1000, c.coinbase(1, 3)))
		}, ingest.ErrMissingInput, "has 1 outputs, input spends 3"},
		{"output spent twice", func(c *joinChain) {
			c.mine(spend(1000, c.coinbase(1, 0)))
			c.mine()
			c.mine(spend(1000, c.coinbase(1, 0)))
		}, ingest.ErrMissingInput, "already spent"},
		{"output of a later transaction", func(c *joinChain) {
			later := spend(1000, c.coinbase(2, 0))
			c.mine(spend(500, wire.OutPoint{Hash: later.TxHash(), Index: 0}))
			c.mine()
			c.mine(later)
		}, ingest.ErrMissingInput, "is in no earlier transaction"},
		{"pays more than it spends", func(c *joinChain) {
			c.mine(spend(c.blocks[1].Transactions[0].TxOut[0].Value+1, c.coinbase(1, 0)))
		}, ingest.ErrBadBlock, "spends"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newJoinChain(t, 6)
			tc.build(c)
			c.mine()
			st := openRuns(t, 0)
			res, err := ingest.Run(context.Background(), st, joinConfig(c.write(), 1))
			if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %v saying %q", err, tc.err, tc.want)
			}
			if !strings.Contains(err.Error(), "block 7, transaction 1 of the block, input 0") && tc.err == ingest.ErrMissingInput && tc.name != "output spent twice" {
				t.Errorf("error %q does not name the block, transaction and input", err)
			}
			if res.Joined == 0 {
				t.Errorf("the input was not left to the join (misses %d)", res.CacheMisses)
			}
			if s := st.State(); !s.Empty() {
				t.Errorf("the failed load left the store at height %d", s.Height)
			}
		})
	}
}

// TestJoinPrunedStart: in a range that starts after genesis, inputs the
// join finds nowhere are the range's external inputs, exactly as with a
// cache that holds the whole range (external inputs, unknown fees, the
// coinbases' fees unknown in their blocks), with runs of 2 KB.
func TestJoinPrunedStart(t *testing.T) {
	blocks := generatedBlocks(t)
	const start = 40
	dir := filepath.Join(t.TempDir(), "blocks")
	storetest.WriteBlocksDir(t, dir, blocks[start:], storetest.Layout{Magic: wire.TestNet})

	want := storetest.Open(t)
	wantRes, err := ingest.Run(context.Background(), want, ingest.Config{Paths: []string{dir}, StartHeight: start, ToHeight: -1, BulkMinBlocks: 1})
	if err != nil {
		t.Fatal(err)
	}
	st := openRuns(t, 2<<10)
	cfg := joinConfig(dir, 10)
	cfg.StartHeight = start
	res, err := ingest.Run(context.Background(), st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if wantRes.External == 0 || res.Joined == 0 {
		t.Fatalf("external inputs %d in the reference, %d inputs joined: the test tests nothing", wantRes.External, res.Joined)
	}
	if res.External != wantRes.External {
		t.Errorf("external inputs %d, want %d", res.External, wantRes.External)
	}
	storetest.Equal(t, st, want)
}
