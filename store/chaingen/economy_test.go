package chaingen

import (
	"crypto/sha256"
	"encoding/binary"
	"os"
	"strconv"
	"testing"

	"github.com/btcsuite/btcd/blockchain"
)

// TestEconomyLongRun plans a long chain without signing or writing it (the
// planner alone) and checks the economy neither starves nor grows: the
// pool's value and size stay healthy and the transaction target is met.
// CHAINGEN_LONGRUN_TXS raises the size (e.g. 10000000).
func TestEconomyLongRun(t *testing.T) {
	txs := 300_000
	if testing.Short() {
		txs = 100_000
	}
	if v, err := strconv.Atoi(os.Getenv("CHAINGEN_LONGRUN_TXS")); err == nil {
		txs = v
	}
	cfg := Config{OutDir: t.TempDir(), Txs: txs, Seed: 3}
	if err := cfg.normalize(); err != nil {
		t.Fatal(err)
	}
	g := newGenerator(cfg)
	var n uint64
	poolValue := func() int64 { return sum(g.pool) }
	var minValue int64 = 1 << 62
	for h := int32(1); ; h++ {
		if h > g.planned && g.doneTxs >= int64(txs) && (g.scam == nil || g.scam.done(h)) {
			break
		}
		if h > g.planned+200 {
			t.Fatalf("still short of the target %d blocks after the plan: %d txs, pool %d worth %d",
				h-g.planned, g.doneTxs, len(g.pool), poolValue())
		}
		g.height = h
		g.block, g.blockWt = g.block[:0], 0
		if h >= ActivationHeight {
			g.plan(h)
		}
		if g.bug != nil {
			t.Fatal(g.bug)
		}
		g.fresh = g.fresh[:0]
		var fees int64
		for _, p := range g.block {
			n++
			var b [8]byte
			binary.BigEndian.PutUint64(b[:], n)
			p.txid = sha256.Sum256(b[:])
			fees += p.fee
		}
		payTo := &address{typ: P2WPKH}
		g.cbq = append(g.cbq, &utxo{value: blockchain.CalcBlockSubsidy(h, g.params) + fees, addr: payTo, height: h})
		g.commitTxs(h)
		g.forget()
		if h > ActivationHeight+20 {
			minValue = min(minValue, poolValue())
		}
		if h%500 == 0 {
			t.Logf("height %d: %d txs, pool %d outputs worth %.2f BTC", h, g.doneTxs, len(g.pool), float64(poolValue())/coin)
		}
	}
	if g.doneTxs != int64(txs) {
		t.Fatalf("%d txs, want %d", g.doneTxs, txs)
	}
	if minValue < 1000*coin {
		t.Fatalf("pool value fell to %.2f BTC", float64(minValue)/coin)
	}
	if len(g.pool) > 3*g.poolGoal {
		t.Fatalf("pool %d above its cap %d", len(g.pool), 3*g.poolGoal)
	}
	var ins int64
	for _, n := range g.spent {
		ins += n
	}
	t.Logf("%d txs in %d blocks; pool %d outputs worth %.2f BTC (minimum %.2f); kinds %v; %.2f inputs/tx", g.doneTxs, g.height,
		len(g.pool), float64(poolValue())/coin, float64(minValue)/coin, g.kinds, float64(ins)/float64(g.doneTxs))
}
