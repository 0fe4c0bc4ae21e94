package chaingen

import (
	"bytes"
	"context"
	"testing"
)

// TestMainnetDeterminism: the mainnet shape gives the same bytes for the
// same seed, whatever the number of workers, and other bytes than the
// standard shape.
func TestMainnetDeterminism(t *testing.T) {
	gen := func(shape string, workers int) map[string][]byte {
		dir := t.TempDir()
		_, err := Generate(context.Background(), Config{OutDir: dir, Txs: 3000, Seed: 4, Shape: shape, TxsPerBlock: 10,
			Unsigned: true, Workers: workers}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return readTree(t, dir)
	}
	a, b, std := gen(ShapeMainnet, 1), gen(ShapeMainnet, 3), gen(ShapeStandard, 1)
	if len(a) != len(b) || len(a) < 5 {
		t.Fatalf("file counts %d and %d", len(a), len(b))
	}
	for name, x := range a {
		if !bytes.Equal(x, b[name]) {
			t.Errorf("%s differs between runs with the same seed", name)
		}
	}
	if bytes.Equal(a["blocks/blk00000.dat"], std["blocks/blk00000.dat"]) {
		t.Error("the mainnet shape wrote the standard shape's blocks")
	}
}

// TestMainnetShape measures the mainnet shape's statistics on generated
// chains of about 5,400 and 10,400 blocks (longer than a month of
// ten-minute blocks; 20 transactions a block keep the test fast) against
// the bounds doc.go states: the unspent set within 20% of UTXOsPerTx per
// transaction at both lengths (it grows with the chain), spends by age
// near mainnet's 80/15/5 with some older than a month, address reuse of
// 35–55% of outputs, 2–3 inputs and outputs per transaction. The standard
// shape fails the age and reuse bounds (so the test can fail).
func TestMainnetShape(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: generates 210,000 transactions")
	}
	type stats struct{ utxoPerTx, day, month, older, reuse, in, out float64 }
	measure := func(shape string, txs int) stats {
		s, err := Generate(context.Background(), Config{OutDir: t.TempDir(), Txs: txs, Seed: 3, Shape: shape,
			TxsPerBlock: 20, Unsigned: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		spends := float64(s.SpendAges["under-1-day"] + s.SpendAges["1-day-to-1-month"] + s.SpendAges["over-1-month"])
		st := stats{
			utxoPerTx: float64(s.Unspent) / float64(s.Txs),
			day:       float64(s.SpendAges["under-1-day"]) / spends,
			month:     float64(s.SpendAges["1-day-to-1-month"]) / spends,
			older:     float64(s.SpendAges["over-1-month"]) / spends,
			reuse:     float64(s.ReusedOutputs) / float64(s.AddressOutputs),
			in:        float64(s.Inputs) / float64(s.Txs),
			out:       float64(s.Outputs) / float64(s.Txs+s.Coinbases),
		}
		t.Logf("%s %d txs (tip %d): %+v", shape, txs, s.TipHeight, st)
		return st
	}
	within := func(what string, v, lo, hi float64) bool {
		if v < lo || v > hi {
			t.Errorf("%s %.4f, want %.3f–%.3f", what, v, lo, hi)
			return false
		}
		return true
	}
	short, long := measure(ShapeMainnet, 100_000), measure(ShapeMainnet, 200_000)
	for _, st := range []stats{short, long} {
		within("unspent outputs per tx", st.utxoPerTx, 0.8*UTXOsPerTx, 1.2*UTXOsPerTx)
		within("address reuse", st.reuse, 0.35, 0.55)
		within("inputs per tx", st.in, 2, 3)
		within("outputs per tx", st.out, 2, 3)
	}
	// 7,500 blocks: spends of every age class.
	within("spends under a day", long.day, 0.75, 0.9)
	within("spends of a day to a month", long.month, 0.08, 0.2)
	within("spends older than a month", long.older, 0.002, 0.05)

	std := measure(ShapeStandard, 100_000)
	if std.month+std.older > 0.05 && std.reuse > 0.35 {
		t.Errorf("the standard shape meets the mainnet bounds too (%+v): the test cannot tell them apart", std)
	}
}
