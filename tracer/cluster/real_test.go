package cluster_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer/cluster"
)

// refAddr names the owner of an output script the way btcd's txscript sees
// it: P2PK as its key's P2PKH address; "" for scripts that are not a
// single-owner address (multisig, nonstandard, OP_RETURN).
func refAddr(script []byte) string {
	class, addrs, _, err := txscript.ExtractPkScriptAddrs(script, &chaincfg.MainNetParams)
	if err != nil || len(addrs) != 1 {
		return ""
	}
	switch class {
	case txscript.PubKeyTy:
		return addrs[0].(*btcutil.AddressPubKey).AddressPubKeyHash().EncodeAddress()
	case txscript.PubKeyHashTy, txscript.ScriptHashTy, txscript.WitnessV0PubKeyHashTy,
		txscript.WitnessV0ScriptHashTy, txscript.WitnessV1TaprootTy:
		return addrs[0].EncodeAddress()
	}
	return ""
}

// refClass is an output script's class for the PayJoin rule: P2PK counts
// as P2PKH, as the store's address classes do.
func refClass(script []byte) txscript.ScriptClass {
	c := txscript.GetScriptClass(script)
	if c == txscript.PubKeyTy {
		return txscript.PubKeyHashTy
	}
	return c
}

// refCoinJoin is the documented multi-owner rule (CoinJoin shapes, a
// Whirlpool Tx0 excepted, and PayJoin), written again from its
// description; prev holds every output spent so far.
func refCoinJoin(tx *wire.MsgTx, prev map[wire.OutPoint]*wire.TxOut) bool {
	var values []int64
	opReturn := false
	for _, o := range tx.TxOut {
		if len(o.PkScript) == 0 || o.PkScript[0] != txscript.OP_RETURN {
			values = append(values, o.Value)
		} else {
			opReturn = true
		}
	}
	in, out := len(tx.TxIn), len(values)
	// PayJoin: 2 in, 2 out of one class; the larger input pays the larger output and the fee.
	if in == 2 && len(tx.TxOut) == 2 && out == 2 {
		c := refClass(tx.TxOut[0].PkScript)
		same := refClass(tx.TxOut[1].PkScript) == c && c != txscript.NonStandardTy && c != txscript.MultiSigTy
		var vin, maxIn int64
		for _, ti := range tx.TxIn {
			p := prev[ti.PreviousOutPoint]
			same = same && refClass(p.PkScript) == c
			vin += p.Value
			maxIn = max(maxIn, p.Value)
		}
		fee := vin - values[0] - values[1]
		if same && maxIn >= max(values[0], values[1])+fee {
			return true
		}
	}
	if in < 2 || out < 3 {
		return false
	}
	best, bestN := int64(0), 0
	wasabi := map[int64]int{}
	count := map[int64]int{}
	for _, v := range values {
		count[v]++
		if v >= 9e6 && v <= 11e6 {
			wasabi[v]++
		}
	}
	for v, n := range count {
		if n > bestN || n == bestN && v > best {
			best, bestN = v, n
		}
	}
	// A Tx0: OP_RETURN, >= 2 outputs of one value just above a pool, <= 2 others.
	if opReturn {
		for v, n := range count {
			for _, d := range []int64{1e5, 1e6, 5e6, 5e7} {
				if v > d && v <= d+50_000 && n >= 2 && out-n <= 2 {
					return false
				}
			}
		}
	}
	if in == 5 && out == 5 && bestN == 5 {
		return true
	}
	std, rep := 0, false
	for v, n := range count {
		if cluster.IsWabiSabiDenomination(v) {
			std += n
			rep = rep || n >= 2
		}
	}
	if in >= 20 && out >= 20 && 2*std >= out && rep {
		return true
	}
	for _, n := range wasabi {
		if in >= 10 && n >= 10 {
			return true
		}
	}
	if out == 4 && bestN == 2 && len(count) == 3 {
		return true
	}
	if best == 546 || best == 2730 {
		return false
	}
	return bestN >= 3 && in >= bestN || bestN == (out+1)/2 && bestN <= in
}

// refUF is a plain union-find over address strings.
type refUF map[string]string

func (u refUF) find(a string) string {
	if _, ok := u[a]; !ok {
		u[a] = a
	}
	for u[a] != a {
		u[a] = u[u[a]]
		a = u[a]
	}
	return a
}

func (u refUF) union(a, b string) { u[u.find(a)] = u.find(b) }

// TestMainnetAgainstReference clusters btcd's mainnet blocks 0–14131 and
// compares every cluster with an independent union-find built straight from
// the raw blocks (prevouts resolved with a map, addresses by txscript).
func TestMainnetAgainstReference(t *testing.T) {
	file := storetest.BtcdTestdata(t, "blk_0_to_14131.dat")
	st, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if _, err := ingest.Run(ctx, st, ingest.Config{Paths: []string{file}, StartHeight: -1, ToHeight: -1}); err != nil {
		t.Fatal(err)
	}
	res, err := cluster.Run(ctx, st, cluster.Options{MaxMerge: cluster.DefaultMaxMerge, CommitEvery: 997})
	if err != nil {
		t.Fatal(err)
	}

	// The reference.
	scripts := map[wire.OutPoint][]byte{}
	prev := map[wire.OutPoint]*wire.TxOut{}
	uf := refUF{}
	var txs, multi, joins int
	for _, raw := range storetest.RawBlocks(t, file) {
		var blk wire.MsgBlock
		if err := blk.Deserialize(bytes.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
		for i, tx := range blk.Transactions {
			txs++
			h := tx.TxHash()
			if i > 0 {
				var ins []string
				for _, in := range tx.TxIn {
					s, ok := scripts[in.PreviousOutPoint]
					if !ok {
						t.Fatalf("tx %s spends unknown %v", h, in.PreviousOutPoint)
					}
					if a := refAddr(s); a != "" {
						ins = append(ins, a)
					}
				}
				switch {
				case refCoinJoin(tx, prev):
					joins++
				case len(ins) > 1:
					multi++
					for _, a := range ins[1:] {
						if a != ins[0] {
							uf.union(ins[0], a)
						}
					}
				}
			}
			for j, o := range tx.TxOut {
				scripts[wire.OutPoint{Hash: h, Index: uint32(j)}] = o.PkScript
				prev[wire.OutPoint{Hash: h, Index: uint32(j)}] = o
			}
		}
	}
	groups := map[string][]string{}
	for a := range uf {
		r := uf.find(a)
		groups[r] = append(groups[r], a)
	}
	t.Logf("reference: %d txs, %d multi-input, %d coinjoin-like; %d addresses in %d clusters", txs, multi, joins, len(uf), len(groups))
	t.Logf("tracer: %d txs, unions %d, coinjoins %v; %d addresses in %d clusters, largest %d",
		res.Txs, res.Unions, res.CoinJoins, res.State.Addresses, res.State.Clusters, res.State.Largest)

	if int64(len(uf)) != res.State.Addresses || int64(len(groups)) != res.State.Clusters || int64(txs) != res.Txs {
		t.Fatalf("reference has %d addresses in %d clusters over %d txs; tracer %d in %d over %d",
			len(uf), len(groups), txs, res.State.Addresses, res.State.Clusters, res.Txs)
	}
	c := st.Clusters()
	largest := 0
	for _, g := range groups {
		largest = max(largest, len(g))
		var root store.AddrID
		for i, s := range g {
			a, err := address.Parse(s, &chaincfg.MainNetParams)
			if err != nil {
				t.Fatal(err)
			}
			id, ok, err := c.Lookup(a)
			if err != nil || !ok {
				t.Fatalf("%s: not clustered (%v)", s, err)
			}
			r, size, err := c.Root(id)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				root = r
				if size != int64(len(g)) {
					t.Errorf("cluster of %s: %d addresses, reference %d", s, size, len(g))
				}
			} else if r != root {
				t.Errorf("%s and %s: one reference cluster, two tracer clusters", g[0], s)
			}
		}
	}
	if int64(largest) != res.State.Largest || largest < 2 {
		t.Errorf("largest cluster: reference %d, tracer %d", largest, res.State.Largest)
	}
}
