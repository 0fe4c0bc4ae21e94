package chaingen

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"gopkg.in/yaml.v3"
)

func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeterminism(t *testing.T) {
	gen := func(seed uint64, workers int) map[string][]byte {
		dir := t.TempDir()
		_, err := Generate(context.Background(), Config{OutDir: dir, Txs: 1500, Seed: seed, XOR: true,
			Shuffle: true, Forks: 3, MaxFileSize: 256 << 10, Workers: workers}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return readTree(t, dir)
	}
	a, b, c := gen(11, 1), gen(11, 4), gen(12, 2)
	if len(a) < 5 {
		t.Fatalf("only %d files", len(a))
	}
	for name, x := range a {
		if !bytes.Equal(x, b[name]) {
			t.Errorf("%s differs between runs with the same seed", name)
		}
	}
	if len(a) != len(b) {
		t.Errorf("file count %d vs %d", len(a), len(b))
	}
	for _, name := range []string{"blocks/blk00000.dat", "blocks/xor.dat", "truth.json", "sanctions/sdn_advanced.xml"} {
		if bytes.Equal(a[name], c[name]) {
			t.Errorf("%s identical for different seeds", name)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want error
	}{
		{"no out", Config{Txs: 1}, ErrBadConfig},
		{"negative txs", Config{OutDir: "x", Txs: -1}, ErrBadConfig},
		{"negative forks", Config{OutDir: "x", Forks: -1}, ErrBadConfig},
		{"scenario", Config{OutDir: "x", Scenarios: []string{"scam-centre,nope"}}, ErrUnknownScenario},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Generate(context.Background(), tc.cfg, nil); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Generate(ctx, Config{OutDir: t.TempDir(), Txs: 100}, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

// TestTinyChainIsFast guards the promise other packages' tests rely on.
func TestTinyChainIsFast(t *testing.T) {
	start := time.Now()
	var calls int
	sum, err := Generate(context.Background(), Config{OutDir: t.TempDir(), Txs: 2000, Seed: 1}, func(Progress) { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	if sum.Txs != 2000 || calls == 0 {
		t.Fatalf("txs %d, progress calls %d", sum.Txs, calls)
	}
	if el := time.Since(start); el > 10*time.Second && !raceEnabled {
		t.Fatalf("2,000 txs took %s", el)
	}
	t.Logf("2,000 txs in %s", time.Since(start))
}

type chainIndex struct {
	tx     map[chainhash.Hash]*wire.MsgTx
	height map[chainhash.Hash]int32
}

// TestTruthConsistency parses the blk files back and checks every claim of
// truth.json against the chain, recomputing the taint independently.
func TestTruthConsistency(t *testing.T) {
	dir := t.TempDir()
	sum, err := Generate(context.Background(), Config{OutDir: dir, Txs: 4000, Seed: 21, XOR: true, Shuffle: true, Forks: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := ReadTruth(filepath.Join(dir, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	if tr.TipHash != sum.TipHash || len(tr.Paths) == 0 || len(tr.Deposits) < 10 || len(tr.Seeds) < 3 {
		t.Fatalf("thin truth: tip %s paths %d deposits %d seeds %d", tr.TipHash, len(tr.Paths), len(tr.Deposits), len(tr.Seeds))
	}
	chain, _, err := mainChain(readBlocks(t, dir), sum.TipHash)
	if err != nil {
		t.Fatal(err)
	}
	ix := chainIndex{tx: map[chainhash.Hash]*wire.MsgTx{}, height: map[chainhash.Hash]int32{}}
	for h, b := range chain {
		for _, tx := range b.Transactions {
			ix.tx[tx.TxHash()] = tx
			ix.height[tx.TxHash()] = int32(h)
		}
	}
	get := func(s string) (*wire.MsgTx, int32) {
		t.Helper()
		h, err := chainhash.NewHashFromStr(s)
		if err != nil {
			t.Fatal(err)
		}
		tx, ok := ix.tx[*h]
		if !ok {
			t.Fatalf("tx %s not in the main chain", s)
		}
		return tx, ix.height[*h]
	}
	pays := func(tx *wire.MsgTx, vout uint32, addr string, value int64) {
		t.Helper()
		if int(vout) >= len(tx.TxOut) {
			t.Fatalf("%s has no output %d", tx.TxHash(), vout)
		}
		o := tx.TxOut[vout]
		if got := scriptAddress(o.PkScript); got != addr || o.Value != value {
			t.Fatalf("%s:%d pays %s %d, truth says %s %d", tx.TxHash(), vout, got, o.Value, addr, value)
		}
	}
	spends := func(tx *wire.MsgTx, op wire.OutPoint) bool {
		for _, in := range tx.TxIn {
			if in.PreviousOutPoint == op {
				return true
			}
		}
		return false
	}
	// Seeds: their funding outputs pay them.
	for _, s := range tr.Seeds {
		for _, f := range s.Funding {
			tx, h := get(f.Txid)
			pays(tx, f.Vout, s.Address, f.Value)
			if h != f.Height {
				t.Fatalf("funding %s at %d, truth says %d", f.Txid, h, f.Height)
			}
		}
	}
	// Paths: a chain of spends from the funding output to the deposit.
	for i, p := range tr.Paths {
		if p.Hops != len(p.Txids) || p.Hops == 0 || p.Txids[len(p.Txids)-1] != p.DepositTxid {
			t.Fatalf("path %d malformed: %+v", i, p)
		}
		fh, _ := chainhash.NewHashFromStr(p.FundingTxid)
		prev := wire.OutPoint{Hash: *fh, Index: p.FundingVout}
		var prevTx *wire.MsgTx
		for k, id := range p.Txids {
			tx, _ := get(id)
			if k == 0 {
				if !spends(tx, prev) {
					t.Fatalf("path %d: %s does not spend the funding output", i, id)
				}
			} else {
				ok := false
				for _, in := range tx.TxIn {
					ok = ok || in.PreviousOutPoint.Hash == prevTx.TxHash()
				}
				if !ok {
					t.Fatalf("path %d hop %d: %s does not spend %s", i, k, id, prevTx.TxHash())
				}
			}
			prevTx = tx
		}
		tx, h := get(p.DepositTxid)
		pays(tx, p.DepositVout, p.DepositAddress, p.Amount)
		if h != p.Height {
			t.Fatalf("path %d: deposit at %d, truth %d", i, h, p.Height)
		}
	}
	// Taint: recompute from the chain over the scenario's transactions.
	taint := map[wire.OutPoint]Taint{}
	seedOut := map[wire.OutPoint]bool{}
	for _, s := range tr.Seeds {
		for _, f := range s.Funding {
			h, _ := chainhash.NewHashFromStr(f.Txid)
			op := wire.OutPoint{Hash: *h, Index: f.Vout}
			taint[op] = Taint{f.Value, f.Value, f.Value, f.Value, f.Value}
			seedOut[op] = true
		}
	}
	for _, id := range tr.Txids {
		tx, _ := get(id)
		ins := make([]Coin, len(tx.TxIn))
		for _, model := range TaintModels {
			var T int64
			for i, in := range tx.TxIn {
				prev, _ := get(in.PreviousOutPoint.Hash.String())
				ins[i] = Coin{Value: prev.TxOut[in.PreviousOutPoint.Index].Value, Tainted: taint[in.PreviousOutPoint].Get(model)}
				T += ins[i].Tainted
			}
			outs := make([]int64, len(tx.TxOut))
			for j, o := range tx.TxOut {
				outs[j] = o.Value
			}
			got, fee, err := Propagate(model, ins, outs)
			if err != nil {
				t.Fatal(err)
			}
			var s int64
			for j, x := range got {
				s += x
				op := wire.OutPoint{Hash: tx.TxHash(), Index: uint32(j)}
				if seedOut[op] {
					continue // a victim payment into a seed: fully tainted by definition
				}
				tt := taint[op]
				tt.set(model, x)
				taint[op] = tt
			}
			if model != Poison && s+fee != T {
				t.Fatalf("%s %s: taint not conserved: Σout %d + fee %d != %d", model, id, s, fee, T)
			}
		}
	}
	for _, d := range tr.Deposits {
		tx, _ := get(d.Txid)
		pays(tx, d.Vout, d.Address, d.Value)
		h, _ := chainhash.NewHashFromStr(d.Txid)
		got := taint[wire.OutPoint{Hash: *h, Index: d.Vout}]
		if got != d.Taint {
			t.Fatalf("deposit %s:%d taint %+v, recomputed %+v", d.Txid, d.Vout, d.Taint, got)
		}
		if d.Taint.Poison != d.Value {
			t.Fatalf("deposit %s:%d reachable from a seed but not poisoned", d.Txid, d.Vout)
		}
		if d.SweepTxid != "" {
			sw, _ := get(d.SweepTxid)
			if !spends(sw, wire.OutPoint{Hash: *h, Index: d.Vout}) || scriptAddress(sw.TxOut[0].PkScript) != d.HotWallet {
				t.Fatalf("sweep %s does not move deposit %s:%d to %s", d.SweepTxid, d.Txid, d.Vout, d.HotWallet)
			}
		}
	}
	models := map[string]bool{}
	for _, c := range tr.Clean {
		tx, _ := get(c.Txid)
		pays(tx, c.Vout, c.Address, c.Value)
		h, _ := chainhash.NewHashFromStr(c.Txid)
		got := taint[wire.OutPoint{Hash: *h, Index: c.Vout}]
		for _, m := range c.CleanUnder {
			if got.Get(m) != 0 {
				t.Fatalf("clean %s:%d has %s taint %d", c.Txid, c.Vout, m, got.Get(m))
			}
			models[string(m)] = true
		}
	}
	if !models["fifo"] || !models["poison"] {
		t.Fatalf("clean list lacks outputs clean under fifo/poison: %v", models)
	}
	// Models must disagree somewhere, or the scenario tests nothing.
	differ := false
	for _, d := range tr.Deposits {
		differ = differ || d.Taint.Haircut != d.Taint.FIFO || d.Taint.FIFO != d.Taint.LIFO
	}
	if !differ {
		t.Fatal("all deposits have the same taint under every model")
	}
	checkScenarioShape(t, tr)
	checkSanctions(t, dir, tr)
	checkTagPack(t, dir, tr)
}

func checkSanctions(t *testing.T, dir string, tr *Truth) {
	b, err := os.ReadFile(filepath.Join(dir, "sanctions", "sdn_advanced.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName xml.Name
		Parties []struct {
			FixedRef string `xml:"FixedRef,attr"`
		} `xml:"DistinctParties>DistinctParty"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil || doc.XMLName.Local != "Sanctions" || len(doc.Parties) != len(tr.Entities) {
		t.Fatalf("sdn xml: %v, root %q, %d parties", err, doc.XMLName.Local, len(doc.Parties))
	}
	s := string(b)
	for _, want := range []string{sdnNamespace, "<DateOfIssue", "Digital Currency Address - XBT", "<DistinctParty ", "<SanctionsEntry "} {
		if !strings.Contains(s, want) {
			t.Fatalf("sdn xml lacks %q", want)
		}
	}
	if strings.Contains(s, `FeatureType ID="344"`) {
		t.Fatal("XBT feature type must not use OFAC's id 344")
	}
	for _, e := range tr.Entities {
		for _, a := range e.Addresses {
			if !strings.Contains(s, ">"+a+"</VersionDetail>") {
				t.Fatalf("sdn xml lacks %s", a)
			}
		}
	}
}

func checkTagPack(t *testing.T, dir string, tr *Truth) {
	b, err := os.ReadFile(filepath.Join(dir, "tags", "exchanges.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tp tagPack
	if err := yaml.Unmarshal(b, &tp); err != nil {
		t.Fatal(err)
	}
	tagged := map[string]bool{}
	for _, tg := range tp.Tags {
		tagged[tg.Address] = true
	}
	for _, ex := range tr.Exchanges {
		for _, a := range append(append([]string{}, ex.HotWallets...), ex.TaggedDeposits...) {
			if !tagged[a] {
				t.Fatalf("%s (%s) not in the tag pack", a, ex.Name)
			}
		}
	}
	for _, d := range tr.Deposits {
		if d.Tagged != tagged[d.Address] {
			t.Fatalf("deposit %s tagged=%v but tag pack says %v", d.Address, d.Tagged, tagged[d.Address])
		}
	}
}

// checkScenarioShape: the scam-centre truth exercises what a tracer must
// handle: long paths, tagged and untagged deposits, sweeps into tagged hot
// wallets, the CoinJoin's clean participants, clean everyday deposits.
func checkScenarioShape(t *testing.T, tr *Truth) {
	t.Helper()
	maxHops, minHops := 0, 1<<30
	for _, p := range tr.Paths {
		maxHops, minHops = max(maxHops, p.Hops), min(minHops, p.Hops)
	}
	if maxHops < 10 || minHops != 1 {
		t.Errorf("hops range %d..%d, want 1..>=10", minHops, maxHops)
	}
	hot := map[string]bool{}
	for _, ex := range tr.Exchanges {
		for _, a := range ex.HotWallets {
			hot[a] = true
		}
	}
	var tagged, untagged, sweptUntagged, cleanUser int
	exchanges := map[string]bool{}
	for _, d := range tr.Deposits {
		exchanges[d.Exchange] = true
		if d.Tagged {
			tagged++
		} else {
			untagged++
			if d.SweepTxid != "" && hot[d.HotWallet] {
				sweptUntagged++
			}
		}
		if d.CleanUser {
			cleanUser++
		}
	}
	if tagged == 0 || untagged == 0 || sweptUntagged == 0 || cleanUser == 0 || len(exchanges) < 3 {
		t.Errorf("deposits: %d tagged, %d untagged (%d swept to hot wallets), %d by clean users, %d exchanges",
			tagged, untagged, sweptUntagged, cleanUser, len(exchanges))
	}
	kinds := map[string]int{}
	for _, c := range tr.Clean {
		kinds[c.Kind]++
	}
	for _, k := range []string{"victim-change", "otc-change", "coinjoin-participant", "clean-deposit"} {
		if kinds[k] == 0 {
			t.Errorf("no clean outputs of kind %s: %v", k, kinds)
		}
	}
}

func TestShape(t *testing.T) {
	dir := t.TempDir()
	sum, err := Generate(context.Background(), Config{OutDir: dir, Txs: 20000, Seed: 5, XOR: true, Shuffle: true,
		Forks: 3, MaxFileSize: 2 << 20}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for typ, share := range map[string]float64{"p2wpkh": 0.53, "p2tr": 0.2, "p2sh-p2wpkh": 0.11, "p2pkh": 0.1, "p2wsh-2of3": 0.03, "p2pk": 0.01} {
		got := float64(sum.ScriptMix[typ]) / float64(sum.Outputs)
		if got < share*0.6 || got > share*1.5 {
			t.Errorf("%s outputs %.3f, documented about %.2f", typ, got, share)
		}
		if sum.InputMix[typ] == 0 {
			t.Errorf("no %s output is ever spent", typ)
		}
	}
	for _, k := range kindNames {
		if sum.TxKinds[k] == 0 {
			t.Errorf("no %s transactions", k)
		}
	}
	if sum.ScriptMix["op_return"] == 0 {
		t.Error("no OP_RETURN outputs")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "blocks", "blk00000.dat"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(raw[:4], RegtestMagic[:]) {
		t.Error("blk00000.dat is not obfuscated")
	}
	// Shuffled: some block precedes its parent in file order.
	seen := map[chainhash.Hash]bool{}
	early := 0
	blocks := readBlocks(t, dir)
	for _, b := range blocks[1:] {
		if !seen[b.Header.PrevBlock] {
			early++
		}
		seen[b.BlockHash()] = true
	}
	if early == 0 {
		t.Error("--shuffle wrote every block after its parent")
	}
	if sum.Files < 3 {
		t.Errorf("%d files with a 2 MiB limit", sum.Files)
	}
	t.Logf("%d of %d blocks precede their parent; inputs %v", early, len(blocks), sum.InputMix)
}
